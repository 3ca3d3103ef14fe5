/**
 * Tables of the privacy statement (P13, P18). Migration range 0950-0999.
 *
 * - `statement_sections`: the privacy officer's free-text sections (markdown), per org, section
 *   and language. They are the draft: the rest of the statement is generated from the register.
 * - `statement_versions`: published versions. Each stores the rendered markdown AND html in both
 *   languages at publication, so later changes of the catalogue, the register or the code's
 *   wording never alter what an old version said. Rows are immutable: the service has no update
 *   or delete, and triggers refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL) on both dialects.
 */
import { type Migration, sql } from 'kysely';
import { isPostgres, type MigrationDb } from '../../db/dialect.js';

export interface StatementSectionsTable {
  org_id: string;
  section: string;
  locale: string;
  markdown: string;
  updated_at: string;
}

export interface StatementVersionsTable {
  id: string;
  org_id: string;
  /** 1, 2, 3, ... per org. */
  number: number;
  published_at: string;
  published_by_user_id: string | null;
  change_summary_nl: string;
  change_summary_en: string;
  /** SHA-256 of the generated source (markdown, both languages) this version was published from. */
  source_hash: string;
  markdown_nl: string;
  markdown_en: string;
  html_nl: string;
  html_en: string;
}

export interface StatementTables {
  statement_sections: StatementSectionsTable;
  statement_versions: StatementVersionsTable;
}

export const statementMigrations: Record<string, Migration> = {
  '0950_statement_sections': {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('statement_sections')
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('section', 'text', (c) => c.notNull())
        .addColumn('locale', 'text', (c) => c.notNull().check(sql`locale in ('nl', 'en')`))
        .addColumn('markdown', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('statement_sections_pk', ['org_id', 'section', 'locale'])
        .execute();
    },
  },
  '0951_statement_versions': {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('statement_versions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('number', 'integer', (c) => c.notNull().check(sql`number > 0`))
        .addColumn('published_at', 'text', (c) => c.notNull())
        .addColumn('published_by_user_id', 'text')
        .addColumn('change_summary_nl', 'text', (c) => c.notNull())
        .addColumn('change_summary_en', 'text', (c) => c.notNull())
        .addColumn('source_hash', 'text', (c) => c.notNull())
        .addColumn('markdown_nl', 'text', (c) => c.notNull())
        .addColumn('markdown_en', 'text', (c) => c.notNull())
        .addColumn('html_nl', 'text', (c) => c.notNull())
        .addColumn('html_en', 'text', (c) => c.notNull())
        .addUniqueConstraint('statement_versions_org_number', ['org_id', 'number'])
        .execute();
      // Published versions are immutable: refuse every change below the application too.
      if (isPostgres(db)) {
        // kluis_refuse_change() is created by 0301_security_audit_append_only.
        await sql`create trigger statement_versions_immutable before update or delete on statement_versions
          for each row execute function kluis_refuse_change()`.execute(db);
        await sql`create trigger statement_versions_no_truncate before truncate on statement_versions
          for each statement execute function kluis_refuse_change()`.execute(db);
      } else {
        for (const op of ['update', 'delete'] as const) {
          await sql`create trigger ${sql.raw(`statement_versions_no_${op}`)} before ${sql.raw(op)} on statement_versions
            begin select raise(abort, 'statement_versions is append-only'); end`.execute(db);
        }
      }
    },
  },
};
