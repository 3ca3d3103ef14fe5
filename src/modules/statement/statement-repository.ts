/**
 * The statement module's tables, scoped by org. Published versions can only be inserted and read:
 * there is deliberately no update or delete here (and triggers refuse them in the database).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { OrgScope } from '../../shared/actor.js';
import type { StatementSectionsTable, StatementVersionsTable } from './statement-schema.js';

export type SectionRow = StatementSectionsTable;
export type VersionRow = StatementVersionsTable;
export type VersionSummaryRow = Pick<
  VersionRow,
  'id' | 'org_id' | 'number' | 'published_at' | 'change_summary_nl' | 'change_summary_en' | 'source_hash'
>;

const summaryColumns = [
  'id',
  'org_id',
  'number',
  'published_at',
  'change_summary_nl',
  'change_summary_en',
  'source_hash',
] as const;

export function createStatementRepository(db: Kysely<DB>) {
  return {
    listSections(scope: OrgScope): Promise<SectionRow[]> {
      return db.selectFrom('statement_sections').selectAll().where('org_id', '=', scope.orgId).execute();
    },

    async upsertSection(scope: OrgScope, row: Omit<SectionRow, 'org_id'>): Promise<void> {
      await db
        .insertInto('statement_sections')
        .values({ ...row, org_id: scope.orgId })
        .onConflict((oc) =>
          oc
            .columns(['org_id', 'section', 'locale'])
            .doUpdateSet({ markdown: row.markdown, updated_at: row.updated_at }),
        )
        .execute();
    },

    /** Every version of the org, newest first, without the texts. */
    listVersions(scope: OrgScope): Promise<VersionSummaryRow[]> {
      return db
        .selectFrom('statement_versions')
        .select(summaryColumns)
        .where('org_id', '=', scope.orgId)
        .orderBy('number', 'desc')
        .execute();
    },

    findLatestSummary(scope: OrgScope): Promise<VersionSummaryRow | undefined> {
      return db
        .selectFrom('statement_versions')
        .select(summaryColumns)
        .where('org_id', '=', scope.orgId)
        .orderBy('number', 'desc')
        .limit(1)
        .executeTakeFirst();
    },

    findVersion(scope: OrgScope, number: number): Promise<VersionRow | undefined> {
      return db
        .selectFrom('statement_versions')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('number', '=', number)
        .executeTakeFirst();
    },

    async maxNumber(scope: OrgScope): Promise<number> {
      const row = await db
        .selectFrom('statement_versions')
        .select((eb) => eb.fn.max('number').as('n'))
        .where('org_id', '=', scope.orgId)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },

    async insertVersion(row: VersionRow): Promise<void> {
      await db.insertInto('statement_versions').values(row).execute();
    },
  };
}
