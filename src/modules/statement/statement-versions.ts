/**
 * Published versions of the statement (P18): immutable, numbered per org, both languages stored
 * as markdown and as the HTML rendered at publication, so an old version never changes when the
 * catalogue or the code's wording does. Reading them needs no actor: published versions are public.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { type Actor, scopeOf } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { type SafeHtml, trustedHtml } from '../../shared/html/html.js';
import { renderMarkdown } from '../../shared/html/markdown.js';
import type { Locale } from '../../shared/i18n/messages.js';
import { diffStatements, type StatementDiff } from './statement-diff.js';
import type { GeneratedStatement } from './statement-generate.js';
import {
  createStatementRepository,
  type VersionRow,
  type VersionSummaryRow,
} from './statement-repository.js';

export interface VersionSummary {
  readonly number: number;
  readonly publishedAt: string;
  readonly changeSummary: Readonly<Record<Locale, string>>;
  readonly sourceHash: string;
}

export interface PublishedVersion extends VersionSummary {
  readonly markdown: Readonly<Record<Locale, string>>;
  readonly html: Readonly<Record<Locale, SafeHtml>>;
}

export function toSummary(row: VersionSummaryRow): VersionSummary {
  return {
    number: Number(row.number),
    publishedAt: row.published_at,
    changeSummary: { nl: row.change_summary_nl, en: row.change_summary_en },
    sourceHash: row.source_hash,
  };
}

function toVersion(row: VersionRow): PublishedVersion {
  return {
    ...toSummary(row),
    markdown: { nl: row.markdown_nl, en: row.markdown_en },
    // Stored at publication by renderMarkdown (raw HTML off, links checked): safe as stored.
    html: { nl: trustedHtml(row.html_nl), en: trustedHtml(row.html_en) },
  };
}

/** Both languages rendered for publication (before the transaction: rendering needs no database). */
export function renderForPublication(generated: GeneratedStatement): Readonly<Record<Locale, string>> {
  return { nl: renderMarkdown(generated.markdown.nl).value, en: renderMarkdown(generated.markdown.en).value };
}

/**
 * Inserts the next version of the actor's org inside the publication's transaction; refused when
 * the statement is the same as the newest version.
 */
export async function insertNextVersion(
  trx: Kysely<DB>,
  clock: Clock,
  o: {
    actor: Actor;
    generated: GeneratedStatement;
    html: Readonly<Record<Locale, string>>;
    changeSummary: Readonly<Record<Locale, string>>;
  },
): Promise<{ id: string; summary: VersionSummary }> {
  const repo = createStatementRepository(trx);
  const scope = scopeOf(o.actor);
  const latest = await repo.findLatestSummary(scope);
  if (latest?.source_hash === o.generated.hash) {
    throw new AppError('ERR_VALIDATION', {
      message: 'statement unchanged since the newest version',
      fields: { changeSummaryNl: 'statement.publish.unchanged' },
    });
  }
  const version: VersionRow = {
    id: randomUUID(),
    org_id: o.actor.orgId,
    number: (await repo.maxNumber(scope)) + 1,
    published_at: clock.now().toISOString(),
    published_by_user_id: o.actor.kind === 'user' ? o.actor.userId : null,
    change_summary_nl: o.changeSummary.nl,
    change_summary_en: o.changeSummary.en,
    source_hash: o.generated.hash,
    markdown_nl: o.generated.markdown.nl,
    markdown_en: o.generated.markdown.en,
    html_nl: o.html.nl,
    html_en: o.html.en,
  };
  try {
    await repo.insertVersion(version);
  } catch (cause) {
    throw new AppError('ERR_CONFLICT', { message: 'statement version number taken', cause });
  }
  return { id: version.id, summary: toSummary(version) };
}

/** Reading an org's published versions (its public pages, the editor's list). */
export function createVersionReader(db: Kysely<DB>) {
  return {
    async listVersions(orgId: string): Promise<VersionSummary[]> {
      return (await createStatementRepository(db).listVersions({ orgId })).map(toSummary);
    },

    async findVersion(orgId: string, number: number): Promise<PublishedVersion | undefined> {
      const row = await createStatementRepository(db).findVersion({ orgId }, number);
      return row === undefined ? undefined : toVersion(row);
    },

    async findLatestVersion(orgId: string): Promise<PublishedVersion | undefined> {
      const repo = createStatementRepository(db);
      const latest = await repo.findLatestSummary({ orgId });
      if (latest === undefined) return undefined;
      const row = await repo.findVersion({ orgId }, Number(latest.number));
      return row === undefined ? undefined : toVersion(row);
    },

    /** The differences between two versions in one language; undefined when either is missing. */
    async diff(orgId: string, from: number, to: number, locale: Locale): Promise<StatementDiff | undefined> {
      const repo = createStatementRepository(db);
      const a = await repo.findVersion({ orgId }, from);
      const b = await repo.findVersion({ orgId }, to);
      if (a === undefined || b === undefined) return undefined;
      return diffStatements(
        locale === 'nl' ? a.markdown_nl : a.markdown_en,
        locale === 'nl' ? b.markdown_nl : b.markdown_en,
      );
    },
  };
}
