/**
 * Verifying the audit trail (P11, ASVS 16.4.2): walks `audit_log` in seq order, in batches so
 * memory stays flat, recomputing `hash = SHA-256(prev_hash || canonical(entry))`, and checks
 * seq continuity (1..n), every prev_hash link, the head row, every signed checkpoint, and the
 * off-database witness file. Reports the first broken link and why.
 *
 * What each check catches, for an attacker with write access to the database:
 * - a changed field (hash not recomputed) -> `altered`;
 * - a deleted row -> `gap`; rows moved to other seqs -> `reordered`;
 * - a forged row whose hash is recomputed but does not link to its predecessor -> `inserted`;
 * - rows cut from the tail, or appended without moving the head -> `head_mismatch`;
 * - the tail cut and the head moved back, or the whole chain recomputed: only a checkpoint or
 *   witness line signed earlier can tell (`truncated`, `checkpoint_mismatch`, `witness_mismatch`).
 *   The signing key is derived from the master key, which the database does not hold.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { type LineSource, sourcePresent, whereOf } from '../../shared/json-lines.js';
import { chainHash } from './audit-chain.js';
import { type AuditLogTable, GENESIS_HASH } from './audit-schema.js';
import {
  type AuditPublicKey,
  checkCheckpointSignature,
  type SignatureCheck,
  trustedKeyMap,
} from './audit-signing.js';
import { readWitness, type WitnessLine } from './audit-witness.js';
import type { AuditCheckpointsTable } from './security-schema.js';

export type AuditBreakReason =
  /** An entry's content no longer matches its hash. */
  | 'altered'
  /** Seqs are missing: entries were deleted. */
  | 'gap'
  /** An entry's content belongs to another seq: entries were moved. */
  | 'reordered'
  /** An entry is consistent in itself but does not link to its predecessor: forged and inserted. */
  | 'inserted'
  /** The head row does not match the end of the chain. */
  | 'head_mismatch'
  /** A checkpoint or witness line names a seq past the end of the chain: the tail was cut. */
  | 'truncated'
  /** A checkpoint's signature does not verify. */
  | 'checkpoint_signature'
  /** A checkpoint is signed with a key that is not trusted (not derived from a configured master key). */
  | 'checkpoint_unknown_key'
  /** The chain's hash at a checkpoint's seq differs from the signed hash: history was rewritten. */
  | 'checkpoint_mismatch'
  /** The chain's hash at a witnessed seq differs from the witness: history was rewritten. */
  | 'witness_mismatch'
  /** A witness line is malformed or its signature does not verify. */
  | 'witness_invalid';

export interface AuditBreak {
  /** The first seq at which the trail cannot be trusted (0 for a witness line with no readable seq). */
  readonly seq: number;
  readonly reason: AuditBreakReason;
  /** Human-readable explanation (ids and seqs only). */
  readonly detail: string;
}

export interface AuditVerifyOptions {
  /** Keys whose checkpoint signatures are accepted (derived from the configured master keys). */
  readonly trustedKeys: readonly AuditPublicKey[];
  /** The witness to compare with (a file, or the shared ledger schema on PostgreSQL); skipped when undefined or missing. */
  readonly witnessFile?: LineSource | undefined;
  readonly batchSize?: number;
  /** Called after every batch: entries checked so far and the head seq when the walk started. */
  readonly onProgress?: (checked: number, total: number) => void;
  /**
   * `latest-checkpoint`: start from the newest checkpoint (its signature and its hash in the chain
   * checked) instead of the first entry: a quick check of what was appended since.
   */
  readonly from?: 'genesis' | 'latest-checkpoint';
}

export interface AuditVerifyReport {
  readonly ok: boolean;
  /** Entries whose hash and link were recomputed. */
  readonly checked: number;
  /** The head row as found at the end of the walk. */
  readonly head: { readonly seq: number; readonly hash: string } | undefined;
  /** Where the walk started (0 from genesis). */
  readonly fromSeq: number;
  readonly checkpoints: {
    readonly checked: number;
    readonly latest: { readonly seq: number; readonly hash: string; readonly at: string } | undefined;
  };
  readonly witness: {
    readonly file: string;
    readonly present: boolean;
    readonly lines: number;
    readonly latestSeq: number | undefined;
  };
  readonly broken: AuditBreak | undefined;
  /** Not failures, but worth a look (e.g. checkpoints exist but there is no witness file). */
  readonly warnings: readonly string[];
}

type Row = AuditLogTable;

/** Where a walk from the latest checkpoint starts: its seq and hash, or why it cannot be trusted. */
async function latestCheckpointAnchor(
  db: Kysely<DB>,
  trusted: ReadonlyMap<string, AuditPublicKey>,
): Promise<{ seq: number; hash: string } | { broken: AuditBreak } | undefined> {
  const anchor = await db
    .selectFrom('audit_checkpoints')
    .selectAll()
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (anchor === undefined) return undefined;
  const problem = await checkCheckpoint(db, trusted, anchor);
  return problem === undefined ? { seq: Number(anchor.seq), hash: anchor.hash } : { broken: problem };
}

/** A checkpoint past the end of the chain means the tail was cut (and the head moved back). */
async function checkpointBeyondEnd(
  db: Kysely<DB>,
  trusted: ReadonlyMap<string, AuditPublicKey>,
  endSeq: number,
): Promise<AuditBreak | undefined> {
  const beyond = await db
    .selectFrom('audit_checkpoints')
    .selectAll()
    .where('seq', '>', endSeq)
    .orderBy('seq')
    .limit(1)
    .executeTakeFirst();
  if (beyond === undefined) return undefined;
  const signature = checkCheckpointSignature(trusted, { ...beyond, seq: Number(beyond.seq) });
  return signature === 'valid'
    ? {
        seq: endSeq + 1,
        reason: 'truncated',
        detail: `a signed checkpoint covers seq ${beyond.seq} but the chain ends at ${endSeq}: the tail was deleted`,
      }
    : signatureBreak(Number(beyond.seq), signature, 'checkpoint');
}

/** Walks and checks the whole audit trail; see the file comment for what it detects. */
export async function verifyAuditChain(
  db: Kysely<DB>,
  options: AuditVerifyOptions,
): Promise<AuditVerifyReport> {
  const batchSize = options.batchSize ?? 1000;
  const trusted = trustedKeyMap(options.trustedKeys);
  const warnings: string[] = [];
  const startHead = await readHead(db);
  const total = startHead?.seq ?? 0;

  let prevSeq = 0;
  let prevHash = GENESIS_HASH;
  let broken: AuditBreak | undefined;
  let checkpointsChecked = 0;

  if (options.from === 'latest-checkpoint') {
    const anchor = await latestCheckpointAnchor(db, trusted);
    if (anchor !== undefined) {
      checkpointsChecked++;
      if ('broken' in anchor) broken = anchor.broken;
      else ({ seq: prevSeq, hash: prevHash } = anchor);
    }
  }
  const fromSeq = prevSeq;
  let checked = 0;
  // The predecessor link of the entries accepted in the last MOVE_WINDOW seqs (see insertedBefore).
  const accepted = new Map<number, string>();
  let head = startHead;

  walk: while (broken === undefined) {
    const rows = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>', prevSeq)
      .orderBy('seq')
      .limit(batchSize)
      .execute();
    if (rows.length === 0) {
      head = await readHead(db);
      if (head !== undefined && head.seq > prevSeq) {
        // An append may have committed between the last batch and reading the head: look again.
        const more = await db
          .selectFrom('audit_log')
          .select('seq')
          .where('seq', '>', prevSeq)
          .limit(1)
          .executeTakeFirst();
        if (more !== undefined) continue;
      }
      broken = checkHead(head, prevSeq, prevHash);
      break;
    }
    const last = rows[rows.length - 1] as Row;
    const checkpoints = await checkpointsBetween(db, Number((rows[0] as Row).seq), Number(last.seq));
    for (const row of rows) {
      const seq = Number(row.seq);
      if (!Number.isSafeInteger(seq)) {
        broken = {
          seq: prevSeq + 1,
          reason: 'inserted',
          detail: `an entry with seq ${String(row.seq)} follows entry ${prevSeq}: seqs are whole numbers, so it was forged and inserted`,
        };
        break walk;
      }
      if (seq !== prevSeq + 1) {
        broken = {
          seq: prevSeq + 1,
          reason: 'gap',
          detail: `entries ${prevSeq + 1}..${seq - 1} are missing (deleted)`,
        };
        break walk;
      }
      if (chainHash(row.prev_hash, row) !== row.hash) {
        const mismatch = await classifyMismatch(db, row);
        const inserted = insertedBefore(mismatch.movedFrom, row, accepted);
        if (inserted !== undefined) checked -= seq - inserted.seq;
        broken = inserted ?? mismatch.broken;
        break walk;
      }
      if (row.prev_hash !== prevHash) {
        broken = {
          seq,
          reason: 'inserted',
          detail: `entry ${seq} does not link to entry ${prevSeq}: it was forged and inserted, or entry ${prevSeq} was rewritten with a recomputed hash`,
        };
        break walk;
      }
      for (const cp of checkpoints.get(seq) ?? []) {
        checkpointsChecked++;
        const problem = checkpointProblem(trusted, cp, row.hash);
        if (problem !== undefined) {
          broken = problem;
          break walk;
        }
      }
      prevSeq = seq;
      prevHash = row.hash;
      checked++;
      accepted.set(seq, row.prev_hash);
      if (accepted.size > MOVE_WINDOW) accepted.delete(seq - MOVE_WINDOW);
    }
    options.onProgress?.(checked, Math.max(total, prevSeq) - fromSeq);
  }

  if (broken === undefined) {
    const beyond = await checkpointBeyondEnd(db, trusted, prevSeq);
    if (beyond !== undefined) {
      checkpointsChecked++;
      broken = beyond;
    }
  }

  const witness = await checkWitness(db, trusted, options.witnessFile, prevSeq, broken?.seq);
  if (witness.broken !== undefined && (broken === undefined || witness.broken.seq < broken.seq)) {
    broken = witness.broken;
  }
  const latest = await db
    .selectFrom('audit_checkpoints')
    .select(['seq', 'hash', 'at'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (options.witnessFile !== undefined && !witness.present && latest !== undefined) {
    warnings.push(
      `checkpoints exist but the witness file ${whereOf(options.witnessFile)} is missing: restore it from its off-host copy`,
    );
  }
  if (latest === undefined && (head?.seq ?? 0) > 0) {
    warnings.push('no signed checkpoint yet: run `kluis audit checkpoint` (or let the scheduled job run)');
  }

  return {
    ok: broken === undefined,
    checked,
    head,
    fromSeq,
    checkpoints: {
      checked: checkpointsChecked,
      latest: latest === undefined ? undefined : { ...latest, seq: Number(latest.seq) },
    },
    witness: {
      file: options.witnessFile === undefined ? '' : whereOf(options.witnessFile),
      present: witness.present,
      lines: witness.lines,
      latestSeq: witness.latestSeq,
    },
    broken,
    warnings,
  };
}

async function readHead(db: Kysely<DB>): Promise<{ seq: number; hash: string } | undefined> {
  const head = await db
    .selectFrom('audit_head')
    .select(['seq', 'hash'])
    .where('id', '=', 1)
    .executeTakeFirst();
  return head === undefined ? undefined : { seq: Number(head.seq), hash: head.hash };
}

function checkHead(
  head: { seq: number; hash: string } | undefined,
  lastSeq: number,
  lastHash: string,
): AuditBreak | undefined {
  if (head === undefined) {
    return { seq: lastSeq + 1, reason: 'head_mismatch', detail: 'the audit head row is missing' };
  }
  if (head.seq > lastSeq) {
    return {
      seq: lastSeq + 1,
      reason: 'head_mismatch',
      detail: `the head says seq ${head.seq} but the chain ends at ${lastSeq}: entries ${lastSeq + 1}..${head.seq} were deleted`,
    };
  }
  if (head.seq < lastSeq) {
    return {
      seq: head.seq + 1,
      reason: 'head_mismatch',
      detail: `the chain continues past the head (seq ${head.seq}) to ${lastSeq}: entries were added without moving the head`,
    };
  }
  if (head.hash !== lastHash) {
    return {
      seq: lastSeq,
      reason: 'head_mismatch',
      detail: `the head's hash differs from entry ${lastSeq}'s hash`,
    };
  }
  return undefined;
}

/** How far (in seqs) a moved entry is looked for, and how many accepted entries are remembered. */
const MOVE_WINDOW = 1000;

/**
 * Entries forged and inserted in the middle, with the genuine ones after them shifted up: the
 * forged entries link correctly and pass, and the first shifted genuine entry then holds the
 * content of an earlier seq. When the walk accepted a different entry at that earlier seq with
 * the same predecessor, the accepted ones from there on are the inserted ones: the break is
 * `inserted` at that seq, and they are not counted as verified (issue 16: this was reported as
 * `reordered` one entry late, with the forged entry counted).
 */
function insertedBefore(
  from: number | undefined,
  row: Row,
  accepted: ReadonlyMap<number, string>,
): AuditBreak | undefined {
  const seq = Number(row.seq);
  if (from === undefined || from >= seq) return undefined;
  if (accepted.get(from) !== row.prev_hash) return undefined;
  const last = seq - 1;
  return {
    seq: from,
    reason: 'inserted',
    detail: `${from === last ? `entry ${from} was` : `entries ${from}..${last} were`} forged and inserted: entry ${seq} holds the content of entry ${from} and links to the same predecessor`,
  };
}

/**
 * The entry's hash does not match its content. If the content is consistent at another seq,
 * the entry was moved there from elsewhere (`reordered`, with `movedFrom`); otherwise it was
 * changed (`altered`).
 */
async function classifyMismatch(
  db: Kysely<DB>,
  row: Row,
): Promise<{ broken: AuditBreak; movedFrom: number | undefined }> {
  const seq = Number(row.seq);
  const candidates = new Set<number>();
  for (let d = 1; d <= MOVE_WINDOW; d++) {
    candidates.add(seq + d);
    if (seq - d > 0) candidates.add(seq - d);
  }
  // Where its neighbours in the original chain are now, wherever they were moved.
  const neighbours = await db
    .selectFrom('audit_log')
    .select(['seq', 'hash', 'prev_hash'])
    .where((eb) => eb.or([eb('hash', '=', row.prev_hash), eb('prev_hash', '=', row.hash)]))
    .limit(10)
    .execute();
  for (const n of neighbours) {
    if (n.hash === row.prev_hash) candidates.add(Number(n.seq) + 1);
    if (n.prev_hash === row.hash) candidates.add(Number(n.seq) - 1);
  }
  if (row.prev_hash === GENESIS_HASH) candidates.add(1);
  for (const s of candidates) {
    if (s !== seq && s > 0 && chainHash(row.prev_hash, { ...row, seq: s }) === row.hash) {
      return {
        broken: {
          seq,
          reason: 'reordered',
          detail: `entry ${seq} holds the content of entry ${s}: entries were moved`,
        },
        movedFrom: s,
      };
    }
  }
  return {
    broken: {
      seq,
      reason: 'altered',
      detail: `entry ${seq} does not match its hash: its content was changed`,
    },
    movedFrom: undefined,
  };
}

async function checkpointsBetween(
  db: Kysely<DB>,
  from: number,
  to: number,
): Promise<Map<number, AuditCheckpointsTable[]>> {
  const rows = await db
    .selectFrom('audit_checkpoints')
    .selectAll()
    .where('seq', '>=', from)
    .where('seq', '<=', to)
    .execute();
  const bySeq = new Map<number, AuditCheckpointsTable[]>();
  for (const cp of rows) {
    const seq = Number(cp.seq);
    bySeq.set(seq, [...(bySeq.get(seq) ?? []), { ...cp, seq }]);
  }
  return bySeq;
}

function signatureBreak(seq: number, check: SignatureCheck, what: 'checkpoint' | 'witness'): AuditBreak {
  if (what === 'witness') {
    return {
      seq,
      reason: 'witness_invalid',
      detail:
        check === 'unknown_key'
          ? `the witness line for seq ${seq} is signed with a key that is not trusted`
          : `the witness line for seq ${seq} has an invalid signature`,
    };
  }
  return check === 'unknown_key'
    ? {
        seq,
        reason: 'checkpoint_unknown_key',
        detail: `the checkpoint at seq ${seq} is signed with a key that is not trusted (configure the previous master key, or pass its public key)`,
      }
    : {
        seq,
        reason: 'checkpoint_signature',
        detail: `the checkpoint at seq ${seq} has an invalid signature`,
      };
}

function checkpointProblem(
  trusted: ReadonlyMap<string, AuditPublicKey>,
  cp: AuditCheckpointsTable,
  chainHashAtSeq: string,
): AuditBreak | undefined {
  const seq = Number(cp.seq);
  const signature = checkCheckpointSignature(trusted, { ...cp, seq });
  if (signature !== 'valid') return signatureBreak(seq, signature, 'checkpoint');
  if (cp.hash !== chainHashAtSeq) {
    return {
      seq,
      reason: 'checkpoint_mismatch',
      detail: `the chain's hash at seq ${seq} differs from the signed checkpoint: history up to ${seq} was rewritten`,
    };
  }
  return undefined;
}

async function checkCheckpoint(
  db: Kysely<DB>,
  trusted: ReadonlyMap<string, AuditPublicKey>,
  cp: AuditCheckpointsTable,
): Promise<AuditBreak | undefined> {
  const seq = Number(cp.seq);
  const row = await db.selectFrom('audit_log').select('hash').where('seq', '=', seq).executeTakeFirst();
  if (row === undefined) {
    const signature = checkCheckpointSignature(trusted, { ...cp, seq });
    if (signature !== 'valid') return signatureBreak(seq, signature, 'checkpoint');
    return {
      seq,
      reason: 'truncated',
      detail: `a signed checkpoint covers seq ${seq} but that entry is gone`,
    };
  }
  return checkpointProblem(trusted, cp, row.hash);
}

/**
 * Compares every witness line (signature first) with the chain. Lines are read in batches; only
 * seqs up to `verifiedTo` (and below a break already found) are compared, since a broken chain
 * past that point proves nothing either way.
 */
async function checkWitness(
  db: Kysely<DB>,
  trusted: ReadonlyMap<string, AuditPublicKey>,
  file: LineSource | undefined,
  verifiedTo: number,
  brokenAt: number | undefined,
): Promise<{
  present: boolean;
  lines: number;
  latestSeq: number | undefined;
  broken: AuditBreak | undefined;
}> {
  if (file === undefined) return { present: false, lines: 0, latestSeq: undefined, broken: undefined };
  const present = sourcePresent(file);
  let lines = 0;
  let latestSeq: number | undefined;
  let first: AuditBreak | undefined;
  const note = (b: AuditBreak) => {
    if (first === undefined || b.seq < first.seq) first = b;
  };
  let batch: WitnessLine[] = [];

  const compare = async () => {
    const seqs = [...new Set(batch.map((l) => l.seq))].filter((s) => s <= verifiedTo && s > 0);
    const rows =
      seqs.length === 0
        ? []
        : await db.selectFrom('audit_log').select(['seq', 'hash']).where('seq', 'in', seqs).execute();
    const hashes = new Map(rows.map((r) => [Number(r.seq), r.hash]));
    for (const line of batch) {
      if (brokenAt !== undefined && line.seq >= brokenAt) continue;
      if (line.seq > verifiedTo) {
        note({
          seq: verifiedTo + 1,
          reason: 'truncated',
          detail: `the witness holds a signed checkpoint at seq ${line.seq} but the chain ends at ${verifiedTo}: the tail was deleted`,
        });
      } else if (line.seq > 0 && hashes.get(line.seq) !== line.hash) {
        note({
          seq: line.seq,
          reason: 'witness_mismatch',
          detail: `the chain's hash at seq ${line.seq} differs from the witnessed checkpoint: history up to ${line.seq} was rewritten`,
        });
      }
    }
    batch = [];
  };

  for await (const read of readWitness(file)) {
    lines++;
    if (!read.ok) {
      note({ seq: 0, reason: 'witness_invalid', detail: `witness line ${read.lineNo} is malformed` });
      continue;
    }
    const { line } = read;
    const signature = checkCheckpointSignature(trusted, { ...line, key_id: line.keyId });
    if (signature !== 'valid') {
      note(signatureBreak(line.seq, signature, 'witness'));
      continue;
    }
    latestSeq = Math.max(latestSeq ?? 0, line.seq);
    batch.push(line);
    if (batch.length >= 500) await compare();
  }
  if (batch.length > 0) await compare();
  return { present, lines, latestSeq, broken: first };
}
