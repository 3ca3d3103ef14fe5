/**
 * The retention target of the rights module (P6): a closed rights request (completed, refused or
 * lapsed) is kept `rights_request` months after closing — to show how it was handled — and then
 * deleted with its timeline and any export left. Consent records that name it keep their history
 * (the link to the request is cleared by the foreign key).
 */
import { type ExpressionBuilder, type Kysely, sql } from 'kysely';
import type { DB } from '../../db/schema.js';
import {
  bucketByExpiry,
  chunks,
  countOf,
  firstKeptDay,
  inOrg,
  nextBatch,
  type RetentionTarget,
  stillExpired,
  type TargetContext,
} from '../retention/index.js';
import { closedStatuses } from './rights-schema.js';

function requestExpired(ctx: TargetContext) {
  const p = ctx.policies.rights_request;
  const before = firstKeptDay(p, p.value, ctx.asOf);
  return (eb: ExpressionBuilder<DB, 'rights_requests'>) =>
    eb.and([
      inOrg(ctx, 'rights_requests.org_id'),
      eb('rights_requests.status', 'in', [...closedStatuses]),
      eb('rights_requests.closed_at', 'is not', null),
      eb('rights_requests.closed_at', '<', before),
    ]);
}

const expired = (db: Kysely<DB>, ctx: TargetContext) =>
  db.selectFrom('rights_requests').where(requestExpired(ctx));

export const rightsRequestsTarget: RetentionTarget = {
  id: 'rights.requests',
  phase: 'records',
  policy: 'rights_request',
  action: 'delete',
  table: 'rights_requests',
  covers: [
    'rights_requests.requester_email',
    'rights_requests.requester_phone',
    'rights_requests.requester_email_bidx',
    'rights_requests.requester_phone_bidx',
    'rights_requests.details',
    'rights_requests.identity_note',
    'rights_requests.extension_reason',
    'rights_requests.outcome_reason',
    'rights_exports.content',
  ],

  async listExpired(db, ctx, limit, after) {
    const query = expired(db, ctx).select(['id', 'subject_id']);
    const rows = await nextBatch(query, ctx, 'rights_requests', after, limit).execute();
    return rows.map((r) => ({
      id: r.id,
      cursor: String(r.cursor),
      subjectIds: r.subject_id === null ? [] : [r.subject_id],
      parents: [],
    }));
  },

  countExpired: (db, ctx) => countOf(expired(db, ctx)),

  async apply(trx, ctx, ids, mode) {
    if (ids.length === 0) return { applied: 0 };
    let applied = 0;
    for (const part of chunks(ids)) {
      const still = await stillExpired(mode, part, (some) =>
        expired(trx, ctx).select('id').where('id', 'in', some).execute(),
      );
      if (still.length === 0) continue;
      await trx
        .deleteFrom('rights_exports')
        .where(inOrg(ctx, 'rights_exports.org_id'))
        .where('request_id', 'in', still)
        .execute();
      await trx
        .deleteFrom('rights_request_events')
        .where(inOrg(ctx, 'rights_request_events.org_id'))
        .where('request_id', 'in', still)
        .execute();
      await trx
        .updateTable('consent_records')
        .set({ request_id: null })
        .where(inOrg(ctx, 'consent_records.org_id'))
        .where('request_id', 'in', still)
        .execute();
      const result = await trx
        .deleteFrom('rights_requests')
        .where(inOrg(ctx, 'rights_requests.org_id'))
        .where('id', 'in', still)
        .executeTakeFirst();
      applied += Number(result.numDeletedRows);
    }
    return { applied };
  },

  async countExpiringByMonth(db, ctx, months) {
    const rows = await db
      .selectFrom('rights_requests')
      .select([sql<string>`substr(closed_at, 1, 10)`.as('day'), (eb) => eb.fn.countAll<number>().as('n')])
      .where('org_id', '=', ctx.orgId)
      .where('status', 'in', [...closedStatuses])
      .where('closed_at', 'is not', null)
      .groupBy(sql`substr(closed_at, 1, 10)`)
      .execute();
    const p = ctx.policies.rights_request;
    return bucketByExpiry(rows, p, p.value, months);
  },
};

/**
 * An access export's sealed copy goes at its expiry (`EXPORT_DAYS` after it was made), downloaded
 * or not (P17, P6): the download link stops working then, and the copy must not outlive it. Before
 * this target an export never downloaded kept its content until the request itself was deleted
 * (~24 months later), and with it its subject from erasure (issue 16). The row stays, without
 * content, so the request page can say the download expired; it goes with its request. The
 * 14 days are part of answering the request, not a configurable policy: the target runs under
 * `rights_request`, the policy of everything a request holds.
 */
function exportExpired(ctx: TargetContext) {
  const now = ctx.asOf.toISOString();
  return (eb: ExpressionBuilder<DB, 'rights_exports'>) =>
    eb.and([
      inOrg(ctx, 'rights_exports.org_id'),
      eb('rights_exports.content', 'is not', null),
      eb('rights_exports.expires_at', '<=', now),
    ]);
}

const expiredExports = (db: Kysely<DB>, ctx: TargetContext) =>
  db.selectFrom('rights_exports').where(exportExpired(ctx));

export const rightsExportsTarget: RetentionTarget = {
  id: 'rights.exports',
  phase: 'records',
  policy: 'rights_request',
  action: 'delete',
  table: 'rights_exports',
  covers: ['rights_exports.content'],

  async listExpired(db, ctx, limit, after) {
    const query = expiredExports(db, ctx).select(['id', 'subject_id']);
    const rows = await nextBatch(query, ctx, 'rights_exports', after, limit).execute();
    return rows.map((r) => ({
      id: r.id,
      cursor: String(r.cursor),
      subjectIds: [r.subject_id],
      parents: [],
    }));
  },

  countExpired: (db, ctx) => countOf(expiredExports(db, ctx)),

  async apply(trx, ctx, ids, mode) {
    let applied = 0;
    for (const part of chunks(ids)) {
      const still = await stillExpired(mode, part, (some) =>
        expiredExports(trx, ctx).select('id').where('id', 'in', some).execute(),
      );
      if (still.length === 0) continue;
      const result = await trx
        .updateTable('rights_exports')
        .set({ content: null })
        .where(inOrg(ctx, 'rights_exports.org_id'))
        .where('id', 'in', still)
        .executeTakeFirst();
      applied += Number(result.numUpdatedRows);
    }
    return { applied };
  },

  async countExpiringByMonth(db, ctx, months) {
    const rows = await db
      .selectFrom('rights_exports')
      .select([sql<string>`substr(expires_at, 1, 10)`.as('day'), (eb) => eb.fn.countAll<number>().as('n')])
      .where('org_id', '=', ctx.orgId)
      .where('content', 'is not', null)
      .groupBy(sql`substr(expires_at, 1, 10)`)
      .execute();
    // The day is the expiry itself: bucket with a zero-length period.
    return bucketByExpiry(rows, { trigger: 'record_created', unit: 'days' }, 0, months);
  },
};
