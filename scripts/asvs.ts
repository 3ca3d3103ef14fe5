/**
 * The ASVS 5.0 Level 2 map (issue 16): `docs/asvs.md` has one row per Level 1 and 2 requirement of
 * `docs/reference/asvs-5.0.0-en.csv` — id | level | status | test files | note. This script
 * checks the map against the standard (every requirement exactly once, with its level; status
 * `verified`, `gap` or `n/a`; a verified row names tests; every named test file exists; a gap or
 * n/a row says why) and prints the counts. `--write` adds skeleton rows (status `gap`) for
 * requirements the map lacks, keeping every row already written. `asvs.test.ts` runs the check.
 *
 *   npx tsx scripts/asvs.ts [--write]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '..');
export const csvFile = join(root, 'docs', 'reference', 'asvs-5.0.0-en.csv');
export const mapFile = join(root, 'docs', 'asvs.md');

export const statuses = ['verified', 'gap', 'n/a'] as const;
export type Status = (typeof statuses)[number];

export interface Requirement {
  readonly id: string;
  readonly level: number;
  readonly section: string;
  readonly description: string;
}

export interface MapRow {
  readonly id: string;
  readonly level: string;
  readonly status: string;
  readonly tests: readonly string[];
  readonly note: string;
}

/** RFC 4180 CSV: quoted fields with doubled quotes and line breaks inside. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      if (row.some((f) => f !== '')) rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  row.push(field);
  if (row.some((f) => f !== '')) rows.push(row);
  return rows;
}

/** The Level 1 and 2 requirements, in the standard's order. */
export function readRequirements(text = readFileSync(csvFile, 'utf8')): Requirement[] {
  const [header, ...rows] = parseCsv(text);
  const col = (name: string) => header?.indexOf(name) ?? -1;
  const [id, level, section, description] = ['req_id', 'L', 'section_name', 'req_description'].map(col);
  if ([id, level, section, description].some((i) => i === undefined || i < 0)) {
    throw new Error('the ASVS CSV lacks req_id, L, section_name or req_description');
  }
  return rows
    .map((r) => ({
      id: r[id ?? 0] ?? '',
      level: Number(r[level ?? 0]),
      section: r[section ?? 0] ?? '',
      description: r[description ?? 0] ?? '',
    }))
    .filter((r) => r.level === 1 || r.level === 2);
}

const ROW = /^\|\s*(V\d+\.\d+\.\d+)\s*\|/;

/** The map's table rows (lines starting with `| V…`). */
export function parseMap(text: string): MapRow[] {
  return text
    .split('\n')
    .filter((line) => ROW.test(line))
    .map((line) => {
      const cells = line
        .trim()
        .replace(/^\|/, '')
        .replace(/\|$/, '')
        .split('|')
        .map((c) => c.trim());
      const [id = '', level = '', status = '', tests = '', ...note] = cells;
      const files = [...tests.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
      return { id, level, status, tests: files, note: note.join('|').trim() };
    });
}

export interface MapCounts {
  readonly total: number;
  readonly applicable: number;
  readonly verified: number;
  readonly gap: number;
  readonly notApplicable: number;
}

export function countsOf(rows: readonly MapRow[]): MapCounts {
  const n = (s: Status) => rows.filter((r) => r.status === s).length;
  return {
    total: rows.length,
    applicable: rows.length - n('n/a'),
    verified: n('verified'),
    gap: n('gap'),
    notApplicable: n('n/a'),
  };
}

/** Everything wrong with the map; empty when it is sound. */
export function checkMap(
  requirements: readonly Requirement[],
  rows: readonly MapRow[],
  fileExists: (path: string) => boolean = (p) => existsSync(join(root, p)),
): string[] {
  const problems: string[] = [];
  const byId = new Map(requirements.map((r) => [r.id, r]));
  const seen = new Set<string>();
  for (const row of rows) {
    const req = byId.get(row.id);
    if (req === undefined) problems.push(`${row.id}: not a Level 1 or 2 requirement of ASVS 5.0`);
    else if (String(req.level) !== row.level)
      problems.push(`${row.id}: level ${row.level}, the standard says ${req.level}`);
    if (seen.has(row.id)) problems.push(`${row.id}: listed twice`);
    seen.add(row.id);
    if (!(statuses as readonly string[]).includes(row.status))
      problems.push(`${row.id}: unknown status "${row.status}"`);
    if (row.status === 'verified' && row.tests.length === 0)
      problems.push(`${row.id}: verified, but names no test`);
    if (row.status !== 'verified' && row.note === '')
      problems.push(`${row.id}: ${row.status} without a note saying why`);
    for (const file of row.tests) {
      if (!/\.test\.ts$/.test(file)) problems.push(`${row.id}: ${file} is not a test file`);
      else if (!fileExists(file)) problems.push(`${row.id}: ${file} does not exist`);
    }
  }
  for (const req of requirements) if (!seen.has(req.id)) problems.push(`${req.id}: missing from the map`);
  return problems;
}

function skeletonRow(r: Requirement): string {
  return `| ${r.id} | ${r.level} | gap | | not assessed yet (${r.section}) |`;
}

/** Adds a skeleton row for each missing requirement, after the rows of its section, keeping the rest. */
export function withSkeleton(text: string, requirements: readonly Requirement[]): string {
  const present = new Set(parseMap(text).map((r) => r.id));
  const missing = requirements.filter((r) => !present.has(r.id));
  if (missing.length === 0) return text;
  return `${text.trimEnd()}\n${missing.map(skeletonRow).join('\n')}\n`;
}

function main(): void {
  const requirements = readRequirements();
  let text = existsSync(mapFile) ? readFileSync(mapFile, 'utf8') : '';
  if (process.argv.includes('--write')) {
    text = withSkeleton(text, requirements);
    writeFileSync(mapFile, text);
  }
  const rows = parseMap(text);
  const c = countsOf(rows);
  const pct = c.applicable === 0 ? 0 : Math.round((1000 * c.verified) / c.applicable) / 10;
  process.stdout.write(
    `ASVS 5.0 L1+L2: ${c.total} rows, ${c.applicable} applicable, ${c.verified} verified (${pct} %), ${c.gap} gap, ${c.notApplicable} n/a\n`,
  );
  const problems = checkMap(requirements, rows);
  for (const p of problems) process.stdout.write(`  ✗ ${p}\n`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) main();
