/**
 * What the rights module knows about data subjects (P15–P17, P6): the subject's own requests and
 * their timeline, and the consent registry. A request still being handled keeps its subject (an
 * access request compiles what is kept about them, and the reply is due within the legal
 * deadline), as does an export not yet downloaded (it is sealed with the subject's key). Closed
 * requests are deleted after their period; an erasure deletes consent records and export copies
 * and keeps closed requests' skeletons (right, dates, outcome) as proof they were handled.
 *
 * Erasure on request is replayed after a backup restore through `rightsErasureTarget`, which runs
 * every provider's erasure again (`rights-erasure-rows.ts`).
 */
import { type SqlBool, sql } from 'kysely';
import type { ErasedRows, PersonalDataProvider, SubjectErasure } from '../personal-data.js';
import { dayOf, expiresOn } from '../retention/index.js';
import { rightsErasureTarget } from './rights-erasure-rows.js';
import { createRightsRepository, requesterColumns } from './rights-repository.js';
import { rightsExportsTarget, rightsRequestsTarget } from './rights-retention.js';
import { openStatuses } from './rights-schema.js';

const rightsErasure: SubjectErasure = {
  tables: ['consent_records', 'rights_exports', 'rights_requests'],
  clears: { rights_requests: requesterColumns },
  heldRecords: async () => [],

  /**
   * Consent records and export copies go; closed requests keep their skeleton with contact details
   * and texts cleared; open ones (this erasure's own request among them) keep the address the
   * reply goes to until the workflow closes them.
   */
  async erase(trx, ctx, subjectId): Promise<ErasedRows> {
    const repo = createRightsRepository(trx);
    const deleted: Record<string, number> = {};
    const consents = await repo.deleteConsentRecordsOf(ctx, subjectId);
    if (consents > 0) deleted.consent_records = consents;
    const exports = await repo.deleteExportsOf(ctx, subjectId);
    if (exports > 0) deleted.rights_exports = exports;
    const cleared = await repo.clearClosedRequestsOf(ctx, subjectId, ctx.keepRequestId);
    const kept = await repo.countRequestsOf(ctx, subjectId);
    return {
      deleted,
      cleared: cleared > 0 ? { rights_requests: cleared } : {},
      retained:
        kept > 0
          ? [
              {
                table: 'rights_requests',
                count: kept,
                reason: 'rights_request',
                // The latest closes now (this erasure's own request): its period runs from today.
                until: expiresOn(
                  ctx.policies.rights_request,
                  ctx.policies.rights_request.value,
                  dayOf(ctx.asOf),
                ),
                restricted: false,
              },
            ]
          : [],
    };
  },
};

export const rightsPersonalData: PersonalDataProvider = {
  module: 'rights',
  subjectLinks: [
    {
      table: 'rights_requests',
      via: 'subject',
      orderBy: ['received_at'],
      omit: {
        token_hash: 'a hash of the secret in the status link: a credential, not data about the person',
      },
      auditType: 'rights_request',
    },
    {
      table: 'rights_request_events',
      via: 'parent',
      column: 'request_id',
      parent: 'rights_requests',
      orderBy: ['request_id', 'at'],
    },
    { table: 'consent_records', via: 'subject', orderBy: ['at', 'created_at'] },
  ],
  notLinked: {
    rights_exports: 'sealed copies of exports like this one, made for the subject and removed after download',
  },
  subjectReferences: [
    {
      table: 'rights_requests',
      column: 'subject_id',
      while: sql<SqlBool>`status in (${sql.join(openStatuses.map((s) => sql.lit(s)))})`,
    },
    // Sealed with the subject's key: destroying the key before the download would make it
    // unreadable. Once downloaded or expired its content is gone (expired: `rights.exports`).
    { table: 'rights_exports', column: 'subject_id', while: sql<SqlBool>`content is not null` },
  ],
  notReferencing: {
    consent_records:
      'the consent history of a person: every use asks whether the subject still exists, and an erasure deletes it',
  },
  retentionTargets: [rightsExportsTarget, rightsRequestsTarget],
  replayTargets: [rightsErasureTarget],
  erasure: rightsErasure,
};
