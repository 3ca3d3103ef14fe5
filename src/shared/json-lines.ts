/**
 * Reading an append-only JSON-lines file (the audit witness, the erasure ledger) line by line,
 * so memory stays flat however long the file grows. Blank lines are skipped; a line that is not
 * JSON, or that `parse` refuses, is reported by its number (a verifier says where a file was
 * damaged), never thrown.
 */
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

export type JsonLineRead<T> = { readonly lineNo: number } & (
  | { readonly ok: true; readonly line: T }
  | { readonly ok: false }
);

/**
 * Where the lines of such a log live: a file path, or (on PostgreSQL, a cluster's shared ledger
 * schema) a reader of its stored lines in order.
 */
export type LineSource = string | { readonly where: string; lines(): AsyncIterable<string> };

export function whereOf(source: LineSource): string {
  return typeof source === 'string' ? source : source.where;
}

/** Whether the source has anything to read (a missing file has not). */
export function sourcePresent(source: LineSource): boolean {
  return typeof source === 'string' ? existsSync(source) : true;
}

function textLines(source: LineSource): AsyncIterable<string> {
  if (typeof source !== 'string') return source.lines();
  return createInterface({ input: createReadStream(source, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
}

/** Yields every non-blank line of `source` (nothing when a file does not exist), parsed by `parse`. */
export async function* readJsonLines<T>(
  source: LineSource,
  parse: (value: unknown) => T | undefined,
): AsyncGenerator<JsonLineRead<T>> {
  if (!sourcePresent(source)) return;
  const lines = textLines(source);
  let lineNo = 0;
  for await (const text of lines) {
    lineNo++;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      yield { lineNo, ok: false };
      continue;
    }
    const line = parse(value);
    yield line === undefined ? { lineNo, ok: false } : { lineNo, ok: true, line };
  }
}
