/**
 * Retention targets for intake (P3, P6): a contact request (conversation) is deleted with its
 * entries and attachments `contact_request` months after it was closed; a quarantined inbound
 * mail `contact_request` months after it arrived (its sender was never known, so it never became
 * a request that could be closed).
 *
 * The intake module's own tables, run by the retention engine through the intake provider
 * (`intake-personal-data.ts`); every statement is filtered by org.
 */
import type { ExpressionBuilder, Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import * as retention from '../retention/index.js';

const cutoff = (ctx: retention.TargetContext) => retention.policyCutoff(ctx, 'contact_request');

/** The one definition of an expired contact request, for listing and for deleting alike. */
function conversationExpired(ctx: retention.TargetContext) {
  const before = cutoff(ctx);
  return (eb: ExpressionBuilder<DB, 'conversations'>) =>
    eb.and([
      retention.inOrg(ctx, 'conversations.org_id'),
      eb('conversations.status', '=', 'closed'),
      eb('conversations.closed_at', 'is not', null),
      eb('conversations.closed_at', '<', before),
    ]);
}

const conversations = retention.subjectRecords('conversations', (db, ctx) =>
  db.selectFrom('conversations').where(conversationExpired(ctx)),
);

/** Deletes the conversations `still` (already checked) with their messages and attachments. */
async function deleteConversations(trx: Kysely<DB>, ctx: retention.TargetContext, still: readonly string[]) {
  for (const part of retention.chunks(still, 10_000)) {
    for (const table of ['conversation_attachments', 'conversation_entries'] as const) {
      await trx
        .deleteFrom(table)
        .where(retention.inOrg(ctx, `${table}.org_id`))
        .where('conversation_id', 'in', part)
        .execute();
    }
  }
}

export const conversationsTarget: retention.RetentionTarget = {
  id: 'intake.conversations',
  phase: 'records',
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

  listExpired: conversations.list,
  countExpired: conversations.count,

  async apply(trx, ctx, ids, mode) {
    if (ids.length === 0) return { applied: 0 };
    // In a sweep, only what is still expired now (a conversation reopened meanwhile stays).
    const still = await conversations.still(trx, ctx, mode, ids);
    if (still.length === 0) return { applied: 0 };
    await deleteConversations(trx, ctx, still);
    const result = await trx
      .deleteFrom('conversations')
      .where(retention.inOrg(ctx, 'conversations.org_id'))
      .where('id', 'in', still)
      .executeTakeFirst();
    return { applied: Number(result.numDeletedRows) };
  },

  async applyWalked(trx, ctx, batch) {
    const inBatch = (eb: ExpressionBuilder<DB, 'conversations'>) =>
      eb.and([
        conversationExpired(ctx)(eb),
        retention.walkWithin(ctx, 'conversations', batch.after, batch.through),
        ...(batch.held.length > 0 ? [eb('conversations.id', 'not in', batch.held)] : []),
      ]);
    const still = (await trx.selectFrom('conversations').select('id').where(inBatch).execute()).map(
      (r) => r.id,
    );
    if (still.length === 0) return { applied: 0 };
    await deleteConversations(trx, ctx, still);
    const result = await trx.deleteFrom('conversations').where(inBatch).executeTakeFirst();
    return { applied: Number(result.numDeletedRows) };
  },

  countExpiringByMonth(db, ctx, months) {
    const closed = db
      .selectFrom('conversations')
      .where('org_id', '=', ctx.orgId)
      .where('status', '=', 'closed')
      .where('closed_at', 'is not', null);
    const p = ctx.policies.contact_request;
    return retention.expiringByMonth(closed, { from: 'closed_at', period: p, value: p.value, months });
  },
};

/** The one definition of an expired quarantined mail, for listing and for deleting alike. */
function quarantineExpired(ctx: retention.TargetContext) {
  const before = cutoff(ctx);
  return (eb: ExpressionBuilder<DB, 'inbound_quarantine'>) =>
    eb.and([
      retention.inOrg(ctx, 'inbound_quarantine.org_id'),
      eb('inbound_quarantine.created_at', '<', before),
    ]);
}

function expiredQuarantine(db: Kysely<DB>, ctx: retention.TargetContext) {
  return db.selectFrom('inbound_quarantine').where(quarantineExpired(ctx));
}

export const quarantineTarget: retention.RetentionTarget = {
  id: 'intake.quarantine',
  phase: 'records',
  policy: 'contact_request',
  action: 'delete',
  table: 'inbound_quarantine',
  covers: ['inbound_quarantine.raw'],

  async listExpired(db, ctx, limit, after) {
    const query = expiredQuarantine(db, ctx).select('id');
    const rows = await retention.nextBatch(query, ctx, 'inbound_quarantine', after, limit).execute();
    return rows.map((r) => ({ id: r.id, cursor: String(r.cursor), subjectIds: [], parents: [] }));
  },

  // The plain org comparison (not `inOrg`) on purpose: here the (org_id, created_at) index
  // answers the count alone, without reading (and decrypting) every expired row.
  countExpired: (db, ctx) =>
    retention.countOf(
      db
        .selectFrom('inbound_quarantine')
        .where('org_id', '=', ctx.orgId)
        .where('created_at', '<', cutoff(ctx)),
    ),

  async apply(trx, ctx, ids, mode) {
    if (ids.length === 0) return { applied: 0 };
    const query =
      mode === 'sweep'
        ? trx.deleteFrom('inbound_quarantine').where('created_at', '<', cutoff(ctx))
        : trx.deleteFrom('inbound_quarantine');
    const result = await query
      .where(retention.inOrg(ctx, 'inbound_quarantine.org_id'))
      .where('id', 'in', ids)
      .executeTakeFirst();
    return { applied: Number(result.numDeletedRows) };
  },

  async applyWalked(trx, ctx, batch) {
    let query = trx
      .deleteFrom('inbound_quarantine')
      .where(quarantineExpired(ctx))
      .where(retention.walkWithin(ctx, 'inbound_quarantine', batch.after, batch.through));
    if (batch.held.length > 0) query = query.where('id', 'not in', batch.held);
    const result = await query.executeTakeFirst();
    return { applied: Number(result.numDeletedRows) };
  },

  countExpiringByMonth(db, ctx, months) {
    const all = db.selectFrom('inbound_quarantine').where('org_id', '=', ctx.orgId);
    const p = ctx.policies.contact_request;
    const period = { trigger: 'record_created', unit: p.unit } as const;
    return retention.expiringByMonth(all, { from: 'created_at', period, value: p.value, months });
  },
};
