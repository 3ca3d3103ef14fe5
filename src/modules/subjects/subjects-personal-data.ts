/**
 * What the subjects module knows about data subjects (P3, P15, P6): the subject row itself (only
 * blind indexes, no value to open), erased by the retention engine once nothing references it,
 * and made a tombstone by an erasure. A hold on a subject holds everything about it.
 */
import type { ErasedRows, PersonalDataProvider } from '../personal-data.js';
import { subjectsTarget } from './subjects-retention.js';
import { tombstoneSubject } from './subjects-service.js';

export const subjectsPersonalData: PersonalDataProvider = {
  module: 'subjects',
  subjectLinks: [{ table: 'data_subjects', via: 'self', orderBy: ['created_at'], auditType: 'data_subject' }],
  retentionTargets: [subjectsTarget],
  holdable: ['data_subjects'],
  erasure: {
    tables: ['data_subjects'],
    clears: { data_subjects: ['email_bidx', 'phone_bidx'] },
    // A hold on the subject itself is a hold on the subject's id, which the orchestrator checks.
    heldRecords: async () => [],
    /** The subject row stays as a tombstone: blind indexes cleared, `erased_at` set. */
    async erase(trx, ctx, subjectId): Promise<ErasedRows> {
      const n = await tombstoneSubject(trx, ctx, subjectId, ctx.asOf.toISOString());
      const cleared: Record<string, number> = n > 0 ? { data_subjects: n } : {};
      return { deleted: {}, cleared, retained: [] };
    },
  },
};
