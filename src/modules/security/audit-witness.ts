/**
 * The witness: every signed checkpoint is also appended as one JSON line to a file outside the
 * database (`<KLUIS_DATA_DIR>/audit-witness.jsonl`). A hash chain only proves that nobody
 * rewrote history if its head is kept where the same attacker cannot also rewrite it; someone
 * with write access to the database can recompute every hash, but cannot make the chain match
 * a checkpoint that was already copied elsewhere. Operators copy this file off the host
 * (see docs/security.md); `kluis audit verify` compares the chain with it.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { LedgerStore } from '../../db/ledger-store.js';
import { type JsonLineRead, type LineSource, readJsonLines } from '../../shared/json-lines.js';

export const WITNESS_FILE_NAME = 'audit-witness.jsonl';

export function witnessPathOf(config: { readonly dataDir: string }): string {
  return resolve(config.dataDir, WITNESS_FILE_NAME);
}

const witnessLineSchema = z.object({
  v: z.literal(1),
  seq: z.number().int().nonnegative(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  at: z.string().min(1),
  signature: z.string().min(1),
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  publicKey: z.string().min(1),
});

export type WitnessLine = z.infer<typeof witnessLineSchema>;

/** Appends one line and forces it to disk before returning (the file is only ever appended to). */
export function appendWitnessLine(file: string, line: WitnessLine): void {
  mkdirSync(dirname(file), { recursive: true });
  const fd = openSync(file, 'a', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(line)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

type WitnessRead = JsonLineRead<WitnessLine>;

/**
 * Where this installation's witness lives: on PostgreSQL the shared ledger schema, which every
 * node of a cluster appends to and which a restore of the main schema leaves alone
 * (db/ledger-store.ts); on SQLite the file in the data directory.
 */
export interface Witness {
  readonly source: LineSource;
  /** The file or schema, for messages. */
  readonly where: string;
  append(line: WitnessLine): Promise<void>;
}

export function witnessOf(core: {
  readonly config: { readonly dataDir: string };
  readonly ledgerStore: LedgerStore | undefined;
}): Witness {
  const store = core.ledgerStore;
  if (store === undefined) {
    const file = witnessPathOf(core.config);
    return { source: file, where: file, append: async (line) => appendWitnessLine(file, line) };
  }
  return {
    source: { where: store.where, lines: () => store.witnessLines() },
    where: store.where,
    append: (line) => store.appendWitness(JSON.stringify(line)),
  };
}

/** Streams the witness line by line (memory stays flat however long it grows). */
export function readWitness(file: LineSource): AsyncGenerator<WitnessRead> {
  return readJsonLines(file, (value) => {
    const result = witnessLineSchema.safeParse(value);
    return result.success ? result.data : undefined;
  });
}
