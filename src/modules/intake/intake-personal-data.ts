/**
 * What intake knows about data subjects (P1–P3, P15, P6): every channel (web form, email, phone,
 * API) is a conversation of one subject, with its messages and attachments. The access export
 * reads them by these links, a conversation keeps its subject alive, the retention engine deletes
 * closed ones after their period, and erasure deletes all of a subject's conversations at once.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { ErasedRows, PersonalDataProvider } from '../personal-data.js';
import { chunks } from '../retention/index.js';
import { conversationsTarget, quarantineTarget } from './intake-retention.js';

function conversationIdsOf(db: Kysely<DB>, orgId: string, subjectId: string): Promise<{ id: string }[]> {
  return db
    .selectFrom('conversations')
    .select('id')
    .where('org_id', '=', orgId)
    .where('subject_id', '=', subjectId)
    .execute();
}

async function countIn(
  trx: Kysely<DB>,
  table: 'conversation_entries' | 'conversation_attachments',
  orgId: string,
  conversationIds: readonly string[],
): Promise<number> {
  const row = await trx
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('org_id', '=', orgId)
    .where('conversation_id', 'in', conversationIds)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

export const intakePersonalData: PersonalDataProvider = {
  module: 'intake',
  subjectLinks: [
    { table: 'conversations', via: 'subject', orderBy: ['created_at'], auditType: 'conversation' },
    {
      table: 'conversation_entries',
      via: 'parent',
      column: 'conversation_id',
      parent: 'conversations',
      orderBy: ['conversation_id', 'seq'],
    },
    {
      table: 'conversation_attachments',
      via: 'parent',
      column: 'conversation_id',
      parent: 'conversations',
      orderBy: ['conversation_id', 'created_at'],
      files: { content: 'filename' },
      auditType: 'conversation_attachment',
    },
  ],
  notLinked: {
    inbound_quarantine:
      'mail that could not be taken in: its sender is unknown (sealed with the organisation’s key), so it cannot be attributed to anyone',
    intake_spent_tokens:
      'hashes of spent contact-form tokens and their expiry, so a form is taken once across nodes; no value of a person, pruned an hour after expiry',
  },
  subjectReferences: [{ table: 'conversations', column: 'subject_id' }],
  retentionTargets: [conversationsTarget, quarantineTarget],
  holdable: ['conversations', 'inbound_quarantine'],
  erasure: {
    tables: ['conversations', 'conversation_entries', 'conversation_attachments'],

    async heldRecords(db, ctx, subjectId) {
      return (await conversationIdsOf(db, ctx.orgId, subjectId)).map((c) => `conversations:${c.id}`);
    },

    /** Contact requests of every channel are deleted with their messages and attachments. */
    async erase(trx, ctx, subjectId): Promise<ErasedRows> {
      const ids = (await conversationIdsOf(trx, ctx.orgId, subjectId)).map((c) => c.id);
      const deleted: Record<string, number> = {};
      const add = (table: string, n: number) => {
        deleted[table] = (deleted[table] ?? 0) + n;
      };
      for (const part of chunks(ids)) {
        const entries = await countIn(trx, 'conversation_entries', ctx.orgId, part);
        const attachments = await countIn(trx, 'conversation_attachments', ctx.orgId, part);
        const result = await conversationsTarget.apply(trx, ctx, part, 'replay');
        add('conversations', result.applied);
        add('conversation_entries', entries);
        if (attachments > 0) add('conversation_attachments', attachments);
      }
      return { deleted, cleared: {}, retained: [] };
    },
  },
};
