/**
 * The rows of `npm run bench`'s closing table. Each suite runs as its own process (the dialect
 * of test/dialects.ts is fixed when it loads, and a suite that seeds a million rows should not
 * leave them in the next suite's heap); a suite hands its rows to the runner by appending JSON
 * lines to the file named in KLUIS_BENCH_ROWS, and prints its own detail as it goes. Run alone
 * (no KLUIS_BENCH_ROWS), a suite prints its rows as a table at the end.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

export interface ResultRow {
  readonly suite: string;
  readonly measure: string;
  readonly value: string;
  readonly baseline: string;
  /** Value against the baseline, as printed (e.g. `57.1%`), or `-`. */
  readonly ratio: string;
  readonly target: string;
  /** Undefined: a figure printed without a target. */
  readonly met: boolean | undefined;
}

export const ROWS_ENV = 'KLUIS_BENCH_ROWS';

export const percent = (x: number, digits = 1): string =>
  Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : '-';
export const perSecond = (x: number): string =>
  Number.isFinite(x) ? `${x >= 10_000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0)}/s` : '-';
export const millis = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(x < 10 ? 2 : 1)} ms` : '-');
export const micros = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(0)} µs` : '-');

/** Hands rows to the runner, or prints them when the suite runs on its own. */
export function emitRows(rows: readonly ResultRow[]): void {
  const file = process.env[ROWS_ENV];
  if (file === undefined || file === '') {
    process.stdout.write(`\n${formatTable(rows)}\n`);
    return;
  }
  appendFileSync(file, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

export function readRows(file: string): ResultRow[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ResultRow);
}

const verdict = (met: boolean | undefined) => (met === undefined ? '' : met ? 'yes' : 'NO');

/** suite | measure | value | baseline | ratio | target | met? */
export function formatTable(rows: readonly ResultRow[]): string {
  const header = ['suite', 'measure', 'value', 'baseline', 'ratio', 'target', 'met?'];
  const lines = rows.map((r) => [r.suite, r.measure, r.value, r.baseline, r.ratio, r.target, verdict(r.met)]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join(' | ')
      .trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...lines.map(fmt)].join('\n');
}
