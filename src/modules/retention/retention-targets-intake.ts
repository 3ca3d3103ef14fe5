/**
 * Retention targets for intake (P3, P6): a contact request (conversation) is deleted with its
 * entries and attachments `contact_request` months after it was closed; a quarantined inbound
 * mail `contact_request` months after it arrived (its sender was never known, so it never became
 * a request that could be closed).
 *
 * Built against `src/modules/intake/intake-schema.ts` (conversations, conversation_entries,
 * conversation_attachments, inbound_quarantine). The retention engine is the one place allowed
 * to delete another module's rows directly (architecture: "no unscoped query path outside
 * migrations and the retention engine"); every statement is still filtered by org.
 */
import { type Kysely, sql } from 'kysely';
import type { DB } from '../../db/schema.js';
import { firstKeptDay } from './retention-policies.js';
import {
  bucketByExpiry,
  countOf,
  inOrg,
  type RetentionTarget,
  type TargetContext,
  walkAfter,
  walkKey,
} from './retention-target.js';

function cutoff(ctx: TargetContext): string {
  const p = ctx.policies.contact_request;
  return firstKeptDay(p, p.value, ctx.asOf);
}

function expiredConversations(db: Kysely<DB>, ctx: TargetContext) {
  return db
    .selectFrom('conversations')
    .where(inOrg(ctx, 'conversations.org_id'))
    .where('status', '=', 'closed')
    .where('closed_at', 'is not', null)
    .where('closed_at', '<', cutoff(ctx));
}

export const conversationsTarget: RetentionTarget = {
  id: 'intake.conversations',
  policy: 'contact_request',
  action: 'delete',
  table: 'conversations',
  covers: [
    'conversations.requester_name',
    'conversations.requester_email',
    'conversations.requester_phone',
    'conversations.subject_line',
    'conversations.thread_key',
    'conversation_entries.body',
    'conversation_entries.message_id',
    'conversation_entries.in_reply_to',
    'conversation_attachments.filename',
    'conversation_attachments.content',
  ],

  async listExpired(db, ctx, limit, after) {
    const rows = await expiredConversations(db, ctx)
      .select(['id', 'subject_id', walkKey(ctx, 'conversations').as('cursor')])
      .where(walkAfter(ctx, 'conversations', after))
      .orderBy(walkKey(ctx, 'conversations'))
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: r.id, cursor: String(r.cursor), subjectIds: [r.subject_id], parents: [] }));
  },

  countExpired: (db, ctx) => countOf(expiredConversations(db, ctx)),

  async apply(trx, ctx, ids, mode) {
    if (ids.length === 0) return { applied: 0 };
    // In a sweep, only what is still expired now (a conversation reopened meanwhile stays).
    const still =
      mode === 'sweep'
        ? (await expiredConversations(trx, ctx).select('id').where('id', 'in', ids).execute()).map(
            (r) => r.id,
          )
        : [...ids];
    if (still.length === 0) return { applied: 0 };
    await trx
      .deleteFrom('conversation_attachments')
      .where(inOrg(ctx, 'conversation_attachments.org_id'))
      .where('conversation_id', 'in', still)
      .execute();
    await trx
      .deleteFrom('conversation_entries')
      .where(inOrg(ctx, 'conversation_entries.org_id'))
      .where('conversation_id', 'in', still)
      .execute();
    const result = await trx
      .deleteFrom('conversations')
      .where(inOrg(ctx, 'conversations.org_id'))
      .where('id', 'in', still)
      .executeTakeFirst();
    return { applied: Number(result.numDeletedRows) };
  },

  async countExpiringByMonth(db, ctx, months) {
    const rows = await db
      .selectFrom('conversations')
      .select([sql<string>`substr(closed_at, 1, 10)`.as('day'), (eb) => eb.fn.countAll<number>().as('n')])
      .where('org_id', '=', ctx.orgId)
      .where('status', '=', 'closed')
      .where('closed_at', 'is not', null)
      .groupBy(sql`substr(closed_at, 1, 10)`)
      .execute();
    const p = ctx.policies.contact_request;
    return bucketByExpiry(rows, p, p.value, months);
  },
};

function expiredQuarantine(db: Kysely<DB>, ctx: TargetContext) {
  return db
    .selectFrom('inbound_quarantine')
    .where(inOrg(ctx, 'inbound_quarantine.org_id'))
    .where('created_at', '<', cutoff(ctx));
}

export const quarantineTarget: RetentionTarget = {
  id: 'intake.quarantine',
  policy: 'contact_request',
  action: 'delete',
  table: 'inbound_quarantine',
  covers: ['inbound_quarantine.raw'],

  async listExpired(db, ctx, limit, after) {
    const rows = await expiredQuarantine(db, ctx)
      .select(['id', walkKey(ctx, 'inbound_quarantine').as('cursor')])
      .where(walkAfter(ctx, 'inbound_quarantine', after))
      .orderBy(walkKey(ctx, 'inbound_quarantine'))
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: r.id, cursor: String(r.cursor), subjectIds: [], parents: [] }));
  },

  countExpired: (db, ctx) => countOf(expiredQuarantine(db, ctx)),

  async apply(trx, ctx, ids, mode) {
    if (ids.length === 0) return { applied: 0 };
    const query =
      mode === 'sweep'
        ? trx.deleteFrom('inbound_quarantine').where('created_at', '<', cutoff(ctx))
        : trx.deleteFrom('inbound_quarantine');
    const result = await query
      .where(inOrg(ctx, 'inbound_quarantine.org_id'))
      .where('id', 'in', ids)
      .executeTakeFirst();
    return { applied: Number(result.numDeletedRows) };
  },

  async countExpiringByMonth(db, ctx, months) {
    const rows = await db
      .selectFrom('inbound_quarantine')
      .select([sql<string>`substr(created_at, 1, 10)`.as('day'), (eb) => eb.fn.countAll<number>().as('n')])
      .where('org_id', '=', ctx.orgId)
      .groupBy(sql`substr(created_at, 1, 10)`)
      .execute();
    const p = ctx.policies.contact_request;
    return bucketByExpiry(rows, { trigger: 'record_created', unit: p.unit }, p.value, months);
  },
};
