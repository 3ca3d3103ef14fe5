/**
 * The erasure ledger (P6, P15): an append-only, hash-chained file outside the database
 * (`<KLUIS_DATA_DIR>/erasure-ledger.jsonl`), one JSON line per batch of records a sweep deletes,
 * anonymises or restricts — ids only, never values — plus one report line per run with counts.
 *
 * Why a file: a database backup restored later would bring back everyone erased since it was
 * taken, and the ledger is what `kluis backup restore` replays to erase them again; a ledger
 * inside that same backup would be rolled back with it. Like the audit witness, copy it off the
 * host with the backups (docs/decisions/0008-retention-engine.md).
 *
 * Write-ahead: a batch's line is written and fsynced BEFORE the batch's transaction commits. If
 * the commit then fails, the ledger names records that were not erased yet; replaying it erases
 * records whose period had already ended (and that no hold protected), which is what the next
 * sweep does anyway. The other order could lose the line of a committed erasure.
 *
 * An erasure on request that keeps fiscal records for a legal duty also carries, on its line, the
 * ids of the "remnant" subjects it created and the kept values re-sealed under their keys: a
 * database restored from before the erasure holds those values under the erased person's key,
 * which is gone, and the replay puts the re-sealed ones back (decision 0010).
 *
 * Each line: `hash = SHA-256(prev || canonical(line without hash))`, `seq` counts from 1, so
 * `verifyErasureLedger` finds a removed, altered or reordered line.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import type { LedgerStore } from '../../db/ledger-store.js';
import { canonicalJson } from '../../shared/canonical-json.js';
import { type JsonLineRead, type LineSource, readJsonLines } from '../../shared/json-lines.js';
import { retentionActions } from './retention-schema.js';

export const LEDGER_FILE_NAME = 'erasure-ledger.jsonl';
export const GENESIS_HASH = '0'.repeat(64);

export function ledgerPathOf(config: { readonly dataDir: string }): string {
  return resolve(config.dataDir, LEDGER_FILE_NAME);
}

const countsSchema = z.record(
  z.string(),
  z.record(z.string(), z.object({ applied: z.number(), held: z.number(), anonymised: z.number() })),
);

const erasureBody = z.object({
  kind: z.literal('erasure'),
  run: z.string(),
  org: z.string(),
  target: z.string(),
  table: z.string(),
  action: z.enum(retentionActions),
  as_of: z.string(),
  ids: z.array(z.string()),
  /**
   * An erasure on request only: subjects it created to hold what a legal duty keeps (their keys
   * must exist in a restored key store), and what each module's replay needs to rebuild them
   * (sealed under those subjects' keys, never clear; decision 0010).
   */
  created: z.array(z.string()).optional(),
  carry: z.record(z.string(), z.unknown()).optional(),
});

const reportBody = z.object({
  kind: z.literal('report'),
  run: z.string(),
  as_of: z.string(),
  counts: countsSchema,
});

const bodySchema = z.discriminatedUnion('kind', [erasureBody, reportBody]);
export type LedgerBody = z.infer<typeof bodySchema>;

const chainSchema = z.object({
  v: z.literal(1),
  seq: z.number().int().positive(),
  at: z.string(),
  prev: z.string().regex(/^[0-9a-f]{64}$/),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});

export type LedgerLine = LedgerBody & z.infer<typeof chainSchema>;

export function ledgerHash(line: Omit<LedgerLine, 'hash'>): string {
  return createHash('sha256').update(line.prev).update(canonicalJson(line)).digest('hex');
}

/** A parsed line, or undefined when it is not a well-formed ledger line. */
function ledgerLineOf(raw: unknown): LedgerLine | undefined {
  const chain = chainSchema.safeParse(raw);
  const body = bodySchema.safeParse(raw);
  if (!chain.success || !body.success) return undefined;
  return { ...body.data, ...chain.data };
}

function parseLine(text: string): LedgerLine | undefined {
  try {
    return ledgerLineOf(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** The last complete line of the file and where it starts (reads backwards, not the whole file). */
function lastLine(fd: number): { text: string; start: number; end: number } | undefined {
  const size = fstatSync(fd).size;
  if (size === 0) return undefined;
  let chunk = 64 * 1024;
  for (;;) {
    const from = Math.max(0, size - chunk);
    const buf = Buffer.alloc(size - from);
    readSync(fd, buf, 0, buf.length, from);
    const text = buf.toString('utf8');
    const body = text.endsWith('\n') ? text.slice(0, -1) : text;
    const nl = body.lastIndexOf('\n');
    if (nl >= 0 || from === 0) {
      const start = from + (nl >= 0 ? Buffer.byteLength(body.slice(0, nl + 1)) : 0);
      return { text: body.slice(nl + 1), start, end: size };
    }
    chunk *= 4;
  }
}

export interface ErasureLedgerOptions {
  /** fsync after every append (default true: the line must be durable before the commit). */
  readonly fsync?: boolean;
  /** A lock file older than this is left over from a crashed process (ms, default 60 s). */
  readonly staleLockMs?: number;
}

export interface ErasureLedger {
  /** Where it lives: the file, or (PostgreSQL) the shared ledger schema. */
  readonly source: LineSource;
  /** The file path or schema, for messages. */
  readonly file: string;
  /** Appends one line (write-ahead: call before committing the transaction it describes). */
  append(body: LedgerBody, at: Date): Promise<LedgerLine>;
}

/**
 * Opens (lazily) the ledger at `file`. Appends are serialised within the process by a queue and
 * across processes by an exclusive lock file next to the ledger.
 */
export function createErasureLedger(file: string, options: ErasureLedgerOptions = {}): ErasureLedger {
  const path = resolve(file);
  const lockPath = `${path}.lock`;
  const fsync = options.fsync ?? true;
  const staleMs = options.staleLockMs ?? 60_000;
  let cached: { seq: number; hash: string; size: number } | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  async function lock(): Promise<void> {
    const started = Date.now();
    for (;;) {
      try {
        closeSync(openSync(lockPath, 'wx', 0o600));
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        try {
          if (Date.now() - statSync(lockPath).mtimeMs > staleMs) unlinkSync(lockPath);
        } catch {
          // Removed by its owner meanwhile: try again.
        }
        if (Date.now() - started > staleMs * 2) {
          throw new Error(`erasure ledger lock ${lockPath} is held by another process`);
        }
        await delay(10);
      }
    }
  }

  function appendLocked(body: LedgerBody, at: Date): LedgerLine {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(path, existsSync(path) ? 'r+' : 'w+', 0o600);
    try {
      let size = fstatSync(fd).size;
      let head = cached !== undefined && cached.size === size ? cached : undefined;
      if (head === undefined) {
        const last = lastLine(fd);
        if (last === undefined) {
          head = { seq: 0, hash: GENESIS_HASH, size };
        } else {
          let parsed = parseLine(last.text);
          if (parsed === undefined) {
            // A torn final line from a crash during its write: its transaction never committed
            // (the line is fsynced before the commit), so it is cut off.
            ftruncateSync(fd, last.start);
            size = last.start;
            const previous = lastLine(fd);
            parsed = previous === undefined ? undefined : parseLine(previous.text);
            if (previous !== undefined && parsed === undefined) {
              throw new Error(`erasure ledger ${path} is damaged: run \`kluis retention ledger verify\``);
            }
          }
          head = { seq: parsed?.seq ?? 0, hash: parsed?.hash ?? GENESIS_HASH, size };
        }
      }
      const line = chainedLine(body, at, head.seq === 0 ? undefined : head);
      const bytes = Buffer.from(`${JSON.stringify(line)}\n`, 'utf8');
      writeSync(fd, bytes, 0, bytes.length, size);
      if (fsync) fsyncSync(fd);
      cached = { seq: line.seq, hash: line.hash, size: size + bytes.length };
      return line;
    } finally {
      closeSync(fd);
    }
  }

  return {
    source: path,
    file: path,
    append(body, at) {
      const run = queue.then(async () => {
        await lock();
        try {
          return appendLocked(body, at);
        } finally {
          try {
            unlinkSync(lockPath);
          } catch {
            // Already gone (a stale-lock cleanup by another process): nothing to release.
          }
        }
      });
      queue = run.catch(() => undefined);
      return run;
    },
  };
}

export type LedgerRead = JsonLineRead<LedgerLine>;

/**
 * Streams the ledger line by line (memory stays flat however long it grows): the file, or on
 * PostgreSQL the shared ledger schema's rows in seq order.
 */
export function readErasureLedger(source: LineSource): AsyncGenerator<LedgerRead> {
  return readJsonLines(source, ledgerLineOf);
}

export interface LedgerVerifyReport {
  readonly ok: boolean;
  readonly lines: number;
  readonly erasures: number;
  readonly records: number;
  readonly broken?: {
    readonly lineNo: number;
    readonly reason: 'unreadable' | 'gap' | 'altered' | 'relinked';
  };
}

/** Walks the chain; reports the first line that is unreadable, out of sequence or altered. */
export async function verifyErasureLedger(source: LineSource): Promise<LedgerVerifyReport> {
  let prev = GENESIS_HASH;
  let seq = 0;
  let lines = 0;
  let erasures = 0;
  let records = 0;
  for await (const read of readErasureLedger(source)) {
    if (!read.ok)
      return { ok: false, lines, erasures, records, broken: { lineNo: read.lineNo, reason: 'unreadable' } };
    const { hash, ...unsigned } = read.line;
    if (unsigned.seq !== seq + 1) {
      return { ok: false, lines, erasures, records, broken: { lineNo: read.lineNo, reason: 'gap' } };
    }
    if (unsigned.prev !== prev) {
      return { ok: false, lines, erasures, records, broken: { lineNo: read.lineNo, reason: 'relinked' } };
    }
    if (ledgerHash(unsigned) !== hash) {
      return { ok: false, lines, erasures, records, broken: { lineNo: read.lineNo, reason: 'altered' } };
    }
    prev = hash;
    seq = unsigned.seq;
    lines++;
    if (read.line.kind === 'erasure') {
      erasures++;
      records += read.line.ids.length;
    }
  }
  return { ok: true, lines, erasures, records };
}

function chainedLine(
  body: LedgerBody,
  at: Date,
  head: { seq: number; hash: string } | undefined,
): LedgerLine {
  const unsigned = {
    ...body,
    v: 1 as const,
    seq: (head?.seq ?? 0) + 1,
    at: at.toISOString(),
    prev: head?.hash ?? GENESIS_HASH,
  };
  return { ...unsigned, hash: ledgerHash(unsigned) } as LedgerLine;
}

/** The shared ledger schema's erasure lines, as a source to read, verify or replay. */
export function erasureLedgerSource(store: LedgerStore): LineSource {
  return { where: store.where, lines: () => store.erasureLines() };
}

/**
 * The ledger of a cluster on PostgreSQL: the same lines, chained the same way, in the shared
 * ledger schema (db/ledger-store.ts). Every node appends under one cluster-wide lock; a line is
 * committed before `append` resolves, so before the erasure's own transaction commits.
 */
export function createSharedErasureLedger(store: LedgerStore): ErasureLedger {
  const source = erasureLedgerSource(store);
  return {
    source,
    file: store.where,
    async append(body, at) {
      const stored = await store.appendErasure((head) => {
        const line = chainedLine(body, at, head);
        return { seq: line.seq, hash: line.hash, text: JSON.stringify(line), line };
      });
      return stored.line;
    },
  };
}

/** This installation's erasure ledger: the shared schema on PostgreSQL, else the file. */
export function erasureLedgerOf(core: {
  readonly config: { readonly dataDir: string };
  readonly ledgerStore: LedgerStore | undefined;
}): ErasureLedger {
  return core.ledgerStore === undefined
    ? createErasureLedger(ledgerPathOf(core.config))
    : createSharedErasureLedger(core.ledgerStore);
}
