/**
 * The ASVS 5.0 Level 2 map (docs/asvs.md) stays true to the standard and to the tree: every
 * Level 1 and 2 requirement once, with its level and a valid status, every named test file present.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  checkMap,
  countsOf,
  mapFile,
  parseCsv,
  parseMap,
  readRequirements,
  withSkeleton,
} from '../scripts/asvs.js';

describe('the ASVS 5.0 Level 2 map', () => {
  const requirements = readRequirements();
  const rows = parseMap(readFileSync(mapFile, 'utf8'));

  it('has every Level 1 and 2 requirement of the standard once, each sound, naming only test files that exist', () => {
    expect(requirements).toHaveLength(253);
    expect(checkMap(requirements, rows)).toEqual([]);
    const c = countsOf(rows);
    expect(c.total).toBe(253);
    expect(c.verified + c.gap + c.notApplicable).toBe(253);
  });

  it('catches a missing row, a wrong level, a verified row without tests and a test file that does not exist', () => {
    const [first, second, ...rest] = rows;
    if (first === undefined || second === undefined) throw new Error('empty map');
    const broken = [
      { ...first, level: first.level === '1' ? '2' : '1' },
      { ...second, status: 'verified', tests: ['test/no-such-file.test.ts'] },
      { ...second, status: 'verified', tests: [] },
      ...rest.slice(1),
    ];
    const problems = checkMap(requirements, broken).join('\n');
    expect(problems).toContain(`${first.id}: level`);
    expect(problems).toContain(`${second.id}: test/no-such-file.test.ts does not exist`);
    expect(problems).toContain(`${second.id}: verified, but names no test`);
    expect(problems).toContain(`${rest[0]?.id}: missing from the map`);
    expect(parseMap(withSkeleton('', requirements.slice(0, 2)))).toMatchObject([
      { id: requirements[0]?.id, status: 'gap' },
      { id: requirements[1]?.id, status: 'gap' },
    ]);
  });

  it('reads quoted CSV fields with commas, doubled quotes and line breaks', () => {
    expect(parseCsv('a,b\n"x, ""y""\nz",2\n')).toEqual([
      ['a', 'b'],
      ['x, "y"\nz', '2'],
    ]);
  });
});
