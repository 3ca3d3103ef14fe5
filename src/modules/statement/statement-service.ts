/**
 * The versioned privacy statement (P13, P18, and P10 for tenants: each org has its own).
 *
 * The statement is GENERATED from the register snapshot (catalogue-derived activities,
 * sub-processors, the org's details) plus the privacy officer's free-text sections, in Dutch and
 * English. Publishing stores the markdown and the rendered HTML of both languages, numbered and
 * dated, with a change summary: an old version never changes when the catalogue or the code's
 * wording does. Versions are immutable (no update/delete here; triggers in the database).
 * "Out of date" means the hash of what would be generated now differs from the newest version's.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Config } from '../../config/env.js';
import type { DB } from '../../db/schema.js';
import { type Actor, scopeOf } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { type SafeHtml, trustedHtml } from '../../shared/html/html.js';
import { renderMarkdown } from '../../shared/html/markdown.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import { type Locale, locales } from '../../shared/i18n/messages.js';
import { assertCan } from '../../shared/permissions.js';
import type { KluisServices } from '../module.js';
import {
  type OrgInfo,
  type RegisterService,
  type RegisterSnapshot,
  retentionValuesOf,
} from '../register/index.js';
import { diffStatements, type StatementDiff } from './statement-diff.js';
import {
  defaultSections,
  type GeneratedStatement,
  generateStatement,
  type SectionId,
  type StatementSections,
  sectionIds,
} from './statement-generate.js';
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

export interface StatementStatus {
  readonly latest: VersionSummary | undefined;
  /** True when nothing was published yet, or the generated statement differs from the newest version. */
  readonly outOfDate: boolean;
  readonly nextNumber: number;
}

function toSummary(row: VersionSummaryRow): VersionSummary {
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

const sectionText = z.string().max(20_000, { message: 'field.tooLong' });

/** Form fields `<section>_<locale>` (e.g. `intro_nl`). */
export const sectionsInput = z.object(
  Object.fromEntries(
    sectionIds.flatMap((s) => locales.map((l) => [`${s}_${l}`, sectionText.optional()])),
  ) as Record<`${SectionId}_${Locale}`, z.ZodOptional<typeof sectionText>>,
);
export type SectionsInput = z.input<typeof sectionsInput>;

export const publishInput = z.object({
  changeSummaryNl: z
    .string()
    .trim()
    .min(1, { message: 'field.required' })
    .max(1000, { message: 'field.tooLong' }),
  changeSummaryEn: z.string().trim().max(1000, { message: 'field.tooLong' }).default(''),
});
export type PublishInput = z.input<typeof publishInput>;

export interface StatementDeps {
  db: Kysely<DB>;
  clock: Clock;
  config: Pick<Config, 'publicOrigin' | 'accessLog' | 'sessionAbsoluteHours'>;
  register: Pick<RegisterService, 'snapshotOf'>;
  audit: Pick<KluisServices['audit'], 'append'>;
}

export function createStatementService(deps: StatementDeps) {
  const { db, clock, config, register, audit } = deps;

  async function sectionsOf(snapshot: RegisterSnapshot): Promise<StatementSections> {
    const defaults = defaultSections(snapshot);
    const stored = await createStatementRepository(db).listSections({ orgId: snapshot.org.id });
    const pick = (section: SectionId, locale: Locale) =>
      stored.find((r) => r.section === section && r.locale === locale)?.markdown ?? defaults[section][locale];
    return Object.fromEntries(sectionIds.map((s) => [s, { nl: pick(s, 'nl'), en: pick(s, 'en') }])) as Record<
      SectionId,
      Record<Locale, string>
    >;
  }

  /** What the statement of `orgId` would say if published now. */
  async function generateFor(
    orgId: string,
  ): Promise<{ snapshot: RegisterSnapshot; generated: GeneratedStatement }> {
    const snapshot = await register.snapshotOf(orgId);
    const generated = generateStatement({
      snapshot,
      sections: await sectionsOf(snapshot),
      origin: config.publicOrigin,
      retentionValues: retentionValuesOf(config),
    });
    return { snapshot, generated };
  }

  async function statusOf(orgId: string): Promise<StatementStatus> {
    const latestRow = await createStatementRepository(db).findLatestSummary({ orgId });
    const { generated } = await generateFor(orgId);
    const latest = latestRow === undefined ? undefined : toSummary(latestRow);
    return {
      latest,
      outOfDate: latest === undefined || latest.sourceHash !== generated.hash,
      nextNumber: (latest?.number ?? 0) + 1,
    };
  }

  return {
    generateFor,
    statusOf,

    /** The editor page: the sections as they stand, the status and every version. */
    async getEditor(input: { actor: Actor }): Promise<{
      org: OrgInfo;
      sections: StatementSections;
      status: StatementStatus;
      versions: VersionSummary[];
    }> {
      assertCan(input.actor, 'statement.read');
      const snapshot = await register.snapshotOf(input.actor.orgId);
      return {
        org: snapshot.org,
        sections: await sectionsOf(snapshot),
        status: await statusOf(input.actor.orgId),
        versions: (await createStatementRepository(db).listVersions(scopeOf(input.actor))).map(toSummary),
      };
    },

    /** The dashboard flag: is the published statement behind the register? */
    async getStatus(input: { actor: Actor }): Promise<StatementStatus> {
      assertCan(input.actor, 'statement.read');
      return statusOf(input.actor.orgId);
    },

    /** Saves the privacy officer's sections (a draft until published). */
    async saveSections(input: { actor: Actor; values: SectionsInput }): Promise<void> {
      assertCan(input.actor, 'statement.publish');
      const v = parseOrThrow(sectionsInput, input.values);
      await db.transaction().execute(async (trx) => {
        const repo = createStatementRepository(trx);
        const now = clock.now().toISOString();
        const changed: string[] = [];
        for (const section of sectionIds) {
          for (const locale of locales) {
            const markdown = v[`${section}_${locale}`];
            if (markdown === undefined) continue;
            await repo.upsertSection(scopeOf(input.actor), {
              section,
              locale,
              markdown: markdown.replace(/\r\n/g, '\n').trim(),
              updated_at: now,
            });
            changed.push(`${section}_${locale}`);
          }
        }
        await audit.append(trx, {
          actor: input.actor,
          action: 'statement.sections.update',
          target: { type: 'org', id: input.actor.orgId },
          meta: { sections: changed.join(',') },
        });
      });
    },

    /** The statement as it would be published now, rendered (not stored). */
    async preview(input: { actor: Actor; locale: Locale }): Promise<{ html: SafeHtml; nextNumber: number }> {
      assertCan(input.actor, 'statement.read');
      const { generated } = await generateFor(input.actor.orgId);
      const status = await statusOf(input.actor.orgId);
      return { html: renderMarkdown(generated.markdown[input.locale]), nextNumber: status.nextNumber };
    },

    /**
     * Publishes the next version: numbered, dated, both languages rendered and stored, audited.
     * Refused when nothing changed since the newest version.
     */
    async publish(input: { actor: Actor; values: PublishInput }): Promise<VersionSummary> {
      assertCan(input.actor, 'statement.publish');
      const v = parseOrThrow(publishInput, input.values);
      // Generate before the transaction (SQLite has one connection; the transaction holds it).
      const { generated } = await generateFor(input.actor.orgId);
      const rendered = {
        nl: renderMarkdown(generated.markdown.nl).value,
        en: renderMarkdown(generated.markdown.en).value,
      };
      const row = await db.transaction().execute(async (trx) => {
        const repo = createStatementRepository(trx);
        const scope = scopeOf(input.actor);
        const latest = await repo.findLatestSummary(scope);
        if (latest?.source_hash === generated.hash) {
          throw new AppError('ERR_VALIDATION', {
            message: 'statement unchanged since the newest version',
            fields: { changeSummaryNl: 'statement.publish.unchanged' },
          });
        }
        const version: VersionRow = {
          id: randomUUID(),
          org_id: input.actor.orgId,
          number: (await repo.maxNumber(scope)) + 1,
          published_at: clock.now().toISOString(),
          published_by_user_id: input.actor.kind === 'user' ? input.actor.userId : null,
          change_summary_nl: v.changeSummaryNl,
          change_summary_en: v.changeSummaryEn === '' ? v.changeSummaryNl : v.changeSummaryEn,
          source_hash: generated.hash,
          markdown_nl: generated.markdown.nl,
          markdown_en: generated.markdown.en,
          html_nl: rendered.nl,
          html_en: rendered.en,
        };
        try {
          await repo.insertVersion(version);
        } catch (cause) {
          throw new AppError('ERR_CONFLICT', { message: 'statement version number taken', cause });
        }
        await audit.append(trx, {
          actor: input.actor,
          action: 'statement.publish',
          target: { type: 'statement_version', id: version.id },
          meta: { number: version.number, sourceHash: generated.hash },
        });
        return version;
      });
      return toSummary(row);
    },

    // --- public reading (no actor: published versions are public) -------------------------

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

export type StatementService = ReturnType<typeof createStatementService>;
