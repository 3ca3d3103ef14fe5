/**
 * The retention target of the rights module (P6): a closed rights request (completed, refused or
 * lapsed) is kept `rights_request` months after closing — to show how it was handled — and then
 * deleted with its timeline and any export left. Consent records that name it keep their history
 * (the link to the request is cleared by the foreign key).
 */
import type { ExpressionBuilder } from 'kysely';
import type { DB } from '../../db/schema.js';
import * as retention from '../retention/index.js';
import { closedStatuses } from './rights-schema.js';

function requestExpired(ctx: retention.TargetContext) {
  const before = retention.policyCutoff(ctx, 'rights_request');
  return (eb: ExpressionBuilder<DB, 'rights_requests'>) =>
    eb.and([
      retention.inOrg(ctx, 'rights_requests.org_id'),
      eb('rights_requests.status', 'in', [...closedStatuses]),
      eb('rights_requests.closed_at', 'is not', null),
      eb('rights_requests.closed_at', '<', before),
    ]);
}

const requests = retention.subjectRecords('rights_requests', (db, ctx) =>
  db.selectFrom('rights_requests').where(requestExpired(ctx)),
);

export const rightsRequestsTarget: retention.RetentionTarget = {
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

  listExpired: requests.list,
  countExpired: requests.count,

  async apply(trx, ctx, ids, mode) {
    if (ids.length === 0) return { applied: 0 };
    let applied = 0;
    for (const part of retention.chunks(ids)) {
      const still = await requests.still(trx, ctx, mode, part);
      if (still.length === 0) continue;
      // The request's timeline and any export go with it.
      for (const table of ['rights_exports', 'rights_request_events'] as const) {
        await trx
          .deleteFrom(table)
          .where(retention.inOrg(ctx, `${table}.org_id`))
          .where('request_id', 'in', still)
          .execute();
      }
      await trx
        .updateTable('consent_records')
        .set({ request_id: null })
        .where(retention.inOrg(ctx, 'consent_records.org_id'))
        .where('request_id', 'in', still)
        .execute();
      const result = await trx
        .deleteFrom('rights_requests')
        .where(retention.inOrg(ctx, 'rights_requests.org_id'))
        .where('id', 'in', still)
        .executeTakeFirst();
      applied += Number(result.numDeletedRows);
    }
    return { applied };
  },

  countExpiringByMonth(db, ctx, months) {
    const closed = db
      .selectFrom('rights_requests')
      .where('org_id', '=', ctx.orgId)
      .where('status', 'in', [...closedStatuses])
      .where('closed_at', 'is not', null);
    const p = ctx.policies.rights_request;
    return retention.expiringByMonth(closed, { from: 'closed_at', period: p, value: p.value, months });
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
function exportExpired(ctx: retention.TargetContext) {
  const now = ctx.asOf.toISOString();
  return (eb: ExpressionBuilder<DB, 'rights_exports'>) =>
    eb.and([
      retention.inOrg(ctx, 'rights_exports.org_id'),
      eb('rights_exports.content', 'is not', null),
      eb('rights_exports.expires_at', '<=', now),
    ]);
}

const exports = retention.subjectRecords('rights_exports', (db, ctx) =>
  db.selectFrom('rights_exports').where(exportExpired(ctx)),
);

export const rightsExportsTarget: retention.RetentionTarget = {
  id: 'rights.exports',
  phase: 'records',
  policy: 'rights_request',
  action: 'delete',
  table: 'rights_exports',
  covers: ['rights_exports.content'],

  listExpired: exports.list,
  countExpired: exports.count,

  async apply(trx, ctx, ids, mode) {
    let applied = 0;
    for (const part of retention.chunks(ids)) {
      const still = await exports.still(trx, ctx, mode, part);
      if (still.length === 0) continue;
      const result = await trx
        .updateTable('rights_exports')
        .set({ content: null })
        .where(retention.inOrg(ctx, 'rights_exports.org_id'))
        .where('id', 'in', still)
        .executeTakeFirst();
      applied += Number(result.numUpdatedRows);
    }
    return { applied };
  },

  countExpiringByMonth(db, ctx, months) {
    const sealed = db
      .selectFrom('rights_exports')
      .where('org_id', '=', ctx.orgId)
      .where('content', 'is not', null);
    // The day is the expiry itself: bucket with a zero-length period.
    const period = { trigger: 'record_created', unit: 'days' } as const;
    return retention.expiringByMonth(sealed, { from: 'expires_at', period, value: 0, months });
  },
};
