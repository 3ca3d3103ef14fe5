/**
 * Appending to the audit trail (P11, ASVS 16.4.2). Called inside the use case's own transaction:
 * if the entry cannot be written, the transaction — and so the action — fails ("vault's rule").
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { type Actor, actorRef } from '../../shared/actor.js';
import { canonicalJson } from '../../shared/canonical-json.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { AuditLogTable } from './audit-schema.js';

export interface AuditEvent {
  /** Who acted. */
  actor: Actor | { kind: 'anonymous'; orgId: string | null; ref?: string };
  /** What happened, `module.verb` e.g. `auth.login`, `relations.iban.read`. */
  action: string;
  target?: { type: string; id: string };
  /** Why, for reads of sensitive fields (P5). */
  purpose?: string;
  /** Names of personal fields touched or read: names only, never values. */
  fields?: readonly string[];
  /** Non-personal detail: counts, codes, ids. */
  meta?: Readonly<Record<string, string | number | boolean | null>>;
}

type ChainFields = Omit<AuditLogTable, 'hash'>;

/** Canonical JSON of an entry: fixed key order, so the hash is reproducible. */
export function canonicalEntry(e: Omit<ChainFields, 'prev_hash'>): string {
  return JSON.stringify([
    e.seq,
    e.at,
    e.org_id,
    e.actor,
    e.action,
    e.target_type,
    e.target_id,
    e.purpose,
    e.fields,
    e.meta,
  ]);
}

export function chainHash(prevHash: string, e: Omit<ChainFields, 'prev_hash'>): string {
  return createHash('sha256').update(prevHash).update(canonicalEntry(e)).digest('hex');
}

function refOf(actor: AuditEvent['actor']): string {
  if (actor.kind === 'anonymous') return actor.ref ?? 'anonymous';
  return actorRef(actor);
}

/**
 * Appends one entry within `db` (pass the use case's transaction). Returns the new seq.
 * Called with a plain `Kysely` (no transaction), it opens its own so the three statements stay
 * atomic.
 */
export async function appendAudit(db: Kysely<DB>, clock: Clock, event: AuditEvent): Promise<number> {
  try {
    if (!db.isTransaction)
      return await db.transaction().execute((trx) => appendInTransaction(trx, clock, event));
    return await appendInTransaction(db, clock, event);
  } catch (cause) {
    if (cause instanceof AppError && cause.code === 'ERR_AUDIT_WRITE_FAILED') throw cause;
    throw new AppError('ERR_AUDIT_WRITE_FAILED', {
      message: `audit append failed for ${event.action}`,
      cause,
    });
  }
}

async function appendInTransaction(trx: Kysely<DB>, clock: Clock, event: AuditEvent): Promise<number> {
  // Claim the next seq by writing the head row first: on PostgreSQL this takes the row lock, on
  // SQLite the write lock, so concurrent appenders (other transactions, other processes) queue
  // here instead of reading the same head and failing later (or, on SQLite, with BUSY_SNAPSHOT).
  const head = await trx
    .updateTable('audit_head')
    .set((eb) => ({ seq: eb('seq', '+', 1) }))
    .where('id', '=', 1)
    .returning(['seq', 'hash'])
    .executeTakeFirst();
  if (head === undefined) {
    throw new AppError('ERR_AUDIT_WRITE_FAILED', { message: 'the audit head row is missing' });
  }
  const entry: Omit<ChainFields, 'prev_hash'> = {
    seq: Number(head.seq),
    at: clock.now().toISOString(),
    org_id: event.actor.orgId,
    actor: refOf(event.actor),
    action: event.action,
    target_type: event.target?.type ?? null,
    target_id: event.target?.id ?? null,
    purpose: event.purpose ?? null,
    fields: JSON.stringify([...(event.fields ?? [])].sort()),
    meta: canonicalJson(event.meta ?? {}),
  };
  const hash = chainHash(head.hash, entry);
  await trx
    .insertInto('audit_log')
    .values({ ...entry, prev_hash: head.hash, hash })
    .execute();
  await trx.updateTable('audit_head').set({ hash }).where('id', '=', 1).execute();
  return entry.seq;
}

/**
 * The audit trail as other modules use it: `append` inside the use case's transaction (Vault's
 * rule: if the entry cannot be written, the action does not happen).
 */
export function createAuditService(deps: { clock: Clock }) {
  return {
    append: (db: Kysely<DB>, event: AuditEvent): Promise<number> => appendAudit(db, deps.clock, event),
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
