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

/** Yields every non-blank line of `file` (nothing when it does not exist), parsed by `parse`. */
export async function* readJsonLines<T>(
  file: string,
  parse: (value: unknown) => T | undefined,
): AsyncGenerator<JsonLineRead<T>> {
  if (!existsSync(file)) return;
  const lines = createInterface({
    input: createReadStream(file, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
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
