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

/** An entry as listeners see it once it is in the chain (ids and names only, like the entry). */
export interface AppendedAuditEntry {
  readonly seq: number;
  readonly at: string;
  readonly orgId: string | null;
  /** `user:<id>`, `system:<reason>`, `anonymous`, … */
  readonly actor: string;
  readonly action: string;
  readonly targetType: string | null;
  readonly targetId: string | null;
  readonly meta: Readonly<Record<string, string | number | boolean | null>>;
}

/**
 * Called in the appending transaction, after the entry is written and while the chain head is
 * still locked: listeners see appends one at a time, in seq order. A listener that throws fails
 * the action, like a failed append (vault's rule), so listeners keep to small writes of their own.
 */
export type AuditListener = (trx: Kysely<DB>, entry: AppendedAuditEntry) => Promise<void>;

/** Which actions a listener hears: exact names, or a test on the name. */
export type AuditActionMatch = readonly string[] | ((action: string) => boolean);

function withAuditErrors<T>(event: AuditEvent, run: () => Promise<T>): Promise<T> {
  return run().catch((cause: unknown) => {
    if (cause instanceof AppError && cause.code === 'ERR_AUDIT_WRITE_FAILED') throw cause;
    throw new AppError('ERR_AUDIT_WRITE_FAILED', {
      message: `audit append failed for ${event.action}`,
      cause,
    });
  });
}

/**
 * Appends one entry within `db` (pass the use case's transaction). Returns the new seq.
 * Called with a plain `Kysely` (no transaction), it opens its own so the three statements stay
 * atomic.
 */
export async function appendAudit(db: Kysely<DB>, clock: Clock, event: AuditEvent): Promise<number> {
  return withAuditErrors(event, async () => {
    if (!db.isTransaction)
      return (await db.transaction().execute((trx) => appendInTransaction(trx, clock, event))).seq;
    return (await appendInTransaction(db, clock, event)).seq;
  });
}

async function appendInTransaction(
  trx: Kysely<DB>,
  clock: Clock,
  event: AuditEvent,
): Promise<Omit<ChainFields, 'prev_hash'>> {
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
  return entry;
}

/**
 * The audit trail as other modules use it: `append` inside the use case's transaction (Vault's
 * rule: if the entry cannot be written, the action does not happen), and `subscribe` to hear
 * named actions as they are appended (the incident register's signals, issue 14).
 */
export function createAuditService(deps: { clock: Clock }) {
  const listeners: { match: (action: string) => boolean; listener: AuditListener }[] = [];

  async function appendAndNotify(trx: Kysely<DB>, event: AuditEvent): Promise<number> {
    const entry = await appendInTransaction(trx, deps.clock, event);
    const heard = listeners.filter((l) => l.match(entry.action));
    if (heard.length > 0) {
      const appended: AppendedAuditEntry = {
        seq: entry.seq,
        at: entry.at,
        orgId: entry.org_id,
        actor: entry.actor,
        action: entry.action,
        targetType: entry.target_type,
        targetId: entry.target_id,
        meta: { ...(event.meta ?? {}) },
      };
      for (const l of heard) await l.listener(trx, appended);
    }
    return entry.seq;
  }

  return {
    append: (db: Kysely<DB>, event: AuditEvent): Promise<number> =>
      withAuditErrors(event, () =>
        db.isTransaction
          ? appendAndNotify(db, event)
          : db.transaction().execute((trx) => appendAndNotify(trx, event)),
      ),
    /** Calls `listener` for every appended entry whose action matches, in the appending transaction. */
    subscribe(match: AuditActionMatch, listener: AuditListener): void {
      const test = typeof match === 'function' ? match : (action: string) => match.includes(action);
      listeners.push({ match: test, listener });
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
