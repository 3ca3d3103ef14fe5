/**
 * The register module's tables. Every query is scoped to one org (`OrgScope`); the only other
 * look-up is a client reading agreements made WITH it (`listForClient`), scoped by the client's
 * own org id.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { findInOrg } from '../../db/scoped.js';
import type { OrgScope } from '../../shared/actor.js';
import type {
  EgressWebhooksTable,
  ProcessingActivitiesTable,
  ProcessorAgreementsTable,
  RegisterDocumentsTable,
  RegisterSettingsTable,
  SubprocessorObjectionsTable,
  SubprocessorsTable,
} from './register-schema.js';

export type SettingsRow = RegisterSettingsTable;
export type ActivityRow = ProcessingActivitiesTable;
export type SubprocessorRow = SubprocessorsTable;
export type AgreementRow = ProcessorAgreementsTable;
export type ObjectionRow = SubprocessorObjectionsTable;
export type WebhookRow = EgressWebhooksTable;
export type DocumentMeta = Omit<RegisterDocumentsTable, 'content'>;
export type DocumentRow = RegisterDocumentsTable;

const documentMetaColumns = [
  'id',
  'org_id',
  'filename',
  'content_type',
  'size_bytes',
  'sha256',
  'uploaded_at',
] as const;

/** The org's published details and its completion of the derived activities. */
function settingsQueries(db: Kysely<DB>) {
  return {
    findSettings(scope: OrgScope): Promise<SettingsRow | undefined> {
      return db
        .selectFrom('register_settings')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .executeTakeFirst();
    },

    async upsertSettings(scope: OrgScope, row: Omit<SettingsRow, 'org_id'>): Promise<void> {
      await db
        .insertInto('register_settings')
        .values({ ...row, org_id: scope.orgId })
        .onConflict((oc) => oc.column('org_id').doUpdateSet(row))
        .execute();
    },

    listActivities(scope: OrgScope): Promise<ActivityRow[]> {
      return db
        .selectFrom('processing_activities')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .orderBy('purpose')
        .execute();
    },

    async upsertActivity(scope: OrgScope, row: Omit<ActivityRow, 'org_id'>): Promise<void> {
      const { id: _id, purpose: _purpose, ...changes } = row;
      await db
        .insertInto('processing_activities')
        .values({ ...row, org_id: scope.orgId })
        .onConflict((oc) => oc.columns(['org_id', 'purpose']).doUpdateSet(changes))
        .execute();
    },
  };
}

/** Sub-processors. */
function subprocessorQueries(db: Kysely<DB>) {
  return {
    listSubprocessors(scope: OrgScope): Promise<SubprocessorRow[]> {
      return db
        .selectFrom('subprocessors')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .orderBy('name')
        .orderBy('id')
        .execute();
    },

    findSubprocessor(scope: OrgScope, id: string): Promise<SubprocessorRow | undefined> {
      return findInOrg(db, 'subprocessors', scope, id);
    },

    async insertSubprocessor(row: SubprocessorRow): Promise<void> {
      await db.insertInto('subprocessors').values(row).execute();
    },

    async updateSubprocessor(
      scope: OrgScope,
      id: string,
      changes: Omit<SubprocessorRow, 'id' | 'org_id' | 'created_at' | 'announced_at' | 'effective_on'>,
    ): Promise<void> {
      await db
        .updateTable('subprocessors')
        .set(changes)
        .where('org_id', '=', scope.orgId)
        .where('id', '=', id)
        .execute();
    },

    /** Announced → active when the notice period has run; false when it is no longer announced. */
    async activateAnnounced(scope: OrgScope, id: string, updatedAt: string): Promise<boolean> {
      const result = await db
        .updateTable('subprocessors')
        .set({ lifecycle: 'active', status: 'active', updated_at: updatedAt })
        .where('org_id', '=', scope.orgId)
        .where('id', '=', id)
        .where('lifecycle', '=', 'announced')
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    /** Proposed → announced; false when it is no longer proposed. */
    async announceSubprocessor(
      scope: OrgScope,
      id: string,
      changes: Pick<SubprocessorRow, 'announced_at' | 'effective_on' | 'updated_at'>,
    ): Promise<boolean> {
      const result = await db
        .updateTable('subprocessors')
        .set({ ...changes, lifecycle: 'announced', status: 'ended' })
        .where('org_id', '=', scope.orgId)
        .where('id', '=', id)
        .where('lifecycle', '=', 'proposed')
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async insertObjection(row: ObjectionRow): Promise<void> {
      await db.insertInto('subprocessor_objections').values(row).execute();
    },

    listWebhooks(scope: OrgScope): Promise<WebhookRow[]> {
      return db
        .selectFrom('egress_webhooks')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .orderBy('url')
        .execute();
    },

    async insertWebhook(row: WebhookRow): Promise<void> {
      await db.insertInto('egress_webhooks').values(row).execute();
    },

    async deleteWebhook(scope: OrgScope, id: string): Promise<boolean> {
      const result = await db
        .deleteFrom('egress_webhooks')
        .where('org_id', '=', scope.orgId)
        .where('id', '=', id)
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },

    /** Objections to the sub-processors the org keeps, newest first. */
    listObjections(scope: OrgScope): Promise<ObjectionRow[]> {
      return db
        .selectFrom('subprocessor_objections')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .execute();
    },
  };
}

/** Processor agreements: those an org keeps, and those kept with it as a client. */
function agreementQueries(db: Kysely<DB>) {
  return {
    listAgreements(scope: OrgScope): Promise<AgreementRow[]> {
      return db
        .selectFrom('processor_agreements')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .orderBy('signed_on', 'desc')
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .execute();
    },

    /** Agreements another org (the operator) keeps with the client org `scope.orgId`. */
    listForClient(scope: OrgScope): Promise<AgreementRow[]> {
      return db
        .selectFrom('processor_agreements')
        .selectAll()
        .where('counterparty_kind', '=', 'client')
        .where('client_org_id', '=', scope.orgId)
        .orderBy('signed_on', 'desc')
        .orderBy('created_at', 'desc')
        .execute();
    },

    findAgreement(scope: OrgScope, id: string): Promise<AgreementRow | undefined> {
      return findInOrg(db, 'processor_agreements', scope, id);
    },

    /** An agreement the org keeps, or one kept with it as the client. */
    findVisibleAgreement(scope: OrgScope, id: string): Promise<AgreementRow | undefined> {
      return db
        .selectFrom('processor_agreements')
        .selectAll()
        .where('id', '=', id)
        .where((eb) =>
          eb.or([
            eb('org_id', '=', scope.orgId),
            eb.and([eb('counterparty_kind', '=', 'client'), eb('client_org_id', '=', scope.orgId)]),
          ]),
        )
        .executeTakeFirst();
    },

    async insertAgreement(row: AgreementRow): Promise<void> {
      await db.insertInto('processor_agreements').values(row).execute();
    },

    async updateAgreement(
      scope: OrgScope,
      id: string,
      changes: Partial<
        Pick<AgreementRow, 'version' | 'signed_on' | 'parties' | 'document_id' | 'updated_at'>
      >,
    ): Promise<void> {
      await db
        .updateTable('processor_agreements')
        .set(changes)
        .where('org_id', '=', scope.orgId)
        .where('id', '=', id)
        .execute();
    },
  };
}

/** Agreement documents (sealed; the list reads names and sizes only). */
function documentQueries(db: Kysely<DB>) {
  return {
    async insertDocument(row: DocumentRow): Promise<void> {
      await db.insertInto('register_documents').values(row).execute();
    },

    listDocumentMeta(scope: OrgScope, ids: readonly string[]): Promise<DocumentMeta[]> {
      if (ids.length === 0) return Promise.resolve([]);
      return db
        .selectFrom('register_documents')
        .select(documentMetaColumns)
        .where('org_id', '=', scope.orgId)
        .where('id', 'in', [...ids])
        .execute();
    },

    /** A document by id, in the org that keeps it (`ownerOrgId`). */
    findDocument(ownerOrgId: string, id: string): Promise<DocumentRow | undefined> {
      return findInOrg(db, 'register_documents', { orgId: ownerOrgId }, id);
    },
  };
}

export function createRegisterRepository(db: Kysely<DB>) {
  return {
    ...settingsQueries(db),
    ...subprocessorQueries(db),
    ...agreementQueries(db),
    ...documentQueries(db),
  };
}
