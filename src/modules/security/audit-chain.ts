/**
 * Appending to the audit trail (P11, ASVS 16.4.2). Called inside the use case's own transaction:
 * if the entry cannot be written, the transaction — and so the action — fails ("vault's rule").
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isPostgres } from '../../db/dialect.js';
import type { DB } from '../../db/schema.js';
import { type Actor, actorRef } from '../../shared/actor.js';
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

function sortedJson(meta: AuditEvent['meta']): string {
  if (meta === undefined) return '{}';
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(meta).sort()) sorted[k] = meta[k];
  return JSON.stringify(sorted);
}

function refOf(actor: AuditEvent['actor']): string {
  if (actor.kind === 'anonymous') return actor.ref ?? 'anonymous';
  return actorRef(actor);
}

/** Appends one entry within `db` (pass the use case's transaction). Returns the new seq. */
export async function appendAudit(db: Kysely<DB>, clock: Clock, event: AuditEvent): Promise<number> {
  try {
    let headQuery = db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1);
    if (isPostgres(db as Kysely<unknown>)) headQuery = headQuery.forUpdate();
    const head = await headQuery.executeTakeFirstOrThrow();
    const entry: Omit<ChainFields, 'prev_hash'> = {
      seq: Number(head.seq) + 1,
      at: clock.now().toISOString(),
      org_id: event.actor.orgId,
      actor: refOf(event.actor),
      action: event.action,
      target_type: event.target?.type ?? null,
      target_id: event.target?.id ?? null,
      purpose: event.purpose ?? null,
      fields: JSON.stringify([...(event.fields ?? [])].sort()),
      meta: sortedJson(event.meta),
    };
    const hash = chainHash(head.hash, entry);
    await db
      .insertInto('audit_log')
      .values({ ...entry, prev_hash: head.hash, hash })
      .execute();
    await db.updateTable('audit_head').set({ seq: entry.seq, hash }).where('id', '=', 1).execute();
    return entry.seq;
  } catch (cause) {
    throw new AppError('ERR_AUDIT_WRITE_FAILED', {
      message: `audit append failed for ${event.action}`,
      cause,
    });
  }
}
