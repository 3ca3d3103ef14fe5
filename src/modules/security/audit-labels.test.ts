/**
 * The audit page names every action in words (issue 16): each audit action the code appends has a
 * label in Dutch and (by the type of the English catalogue) in English, and none is left over.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMessageKey, translator } from '../../shared/i18n/messages.js';
import { auditActionNl } from './security-action-messages.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

const PREFIX = 'security.audit.action.';

describe('audit action labels', () => {
  const code = sources('src')
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');

  it('label every audit action the code appends by name, in Dutch and English', () => {
    const appended = new Set(
      [
        ...code.matchAll(
          /\baction: (?:[^,\n]*\? )?'([a-z_]+(?:\.[a-z_]+)+)'(?: : '([a-z_]+(?:\.[a-z_]+)+)')?/g,
        ),
      ]
        .flatMap((m) => [m[1], m[2]])
        .filter((a): a is string => a !== undefined),
    );
    expect(appended.size).toBeGreaterThan(80);
    const missing = [...appended].filter((a) => !isMessageKey(`${PREFIX}${a}`));
    expect(missing).toEqual([]);
    for (const action of appended) {
      const key = `${PREFIX}${action}`;
      for (const locale of ['nl', 'en'] as const) {
        if (isMessageKey(key)) expect(translator(locale)(key)).not.toBe('');
      }
    }
  });

  it('label no action the code does not append', () => {
    const unused: string[] = [];
    for (const key of Object.keys(auditActionNl)) {
      const action = key.slice(PREFIX.length);
      const parts = action.split('.');
      const last = parts.pop() ?? '';
      // Actions built from a list (`incidents.${kind}`, `rights.consent.${event}`): the prefix
      // with a placeholder, and the last part as one of the list's values.
      const found =
        code.includes(`'${action}'`) ||
        (code.includes(`${parts.join('.')}.\${`) && code.includes(`'${last}'`));
      if (!found) unused.push(action);
    }
    expect(unused).toEqual([]);
  });
});
