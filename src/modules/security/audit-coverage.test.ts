import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditedKinds } from './audit-coverage.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('audit coverage (the statement claims only these kinds)', () => {
  it('names only audit actions the code really appends', () => {
    const code = sources('src')
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    for (const [kind, actions] of Object.entries(auditedKinds)) {
      for (const action of actions) {
        expect(code.includes(`action: '${action}'`), `${kind}: ${action}`).toBe(true);
      }
    }
  });
});
