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
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Config } from '../../config/env.js';
import type { DB } from '../../db/schema.js';
import { type Actor, scopeOf } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import type { SafeHtml } from '../../shared/html/html.js';
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
import { type ClaimGap, claimFactsOf, claimsOf, gapsOf } from './statement-claims.js';
import {
  defaultSections,
  type GeneratedStatement,
  generateStatement,
  type SectionId,
  type StatementSections,
  sectionIds,
} from './statement-generate.js';
import { createStatementRepository } from './statement-repository.js';
import {
  createVersionReader,
  insertNextVersion,
  renderForPublication,
  toSummary,
  type VersionSummary,
} from './statement-versions.js';

export interface StatementStatus {
  readonly latest: VersionSummary | undefined;
  /** True when nothing was published yet, or the generated statement differs from the newest version. */
  readonly outOfDate: boolean;
  readonly nextNumber: number;
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
  config: Pick<
    Config,
    | 'publicOrigin'
    | 'accessLog'
    | 'sessionAbsoluteHours'
    | 'transport'
    | 'insecureOverrides'
    | 'requireTotpForOperator'
  >;
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
      claims: claimsOf(claimFactsOf(config), snapshot),
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

    /** The claims the statement cannot make today, with what is missing (the dashboard's gaps). */
    async getClaimGaps(input: { actor: Actor }): Promise<ClaimGap[]> {
      assertCan(input.actor, 'statement.read');
      const snapshot = await register.snapshotOf(input.actor.orgId);
      return gapsOf(claimsOf(claimFactsOf(config), snapshot));
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
      const html = renderForPublication(generated);
      return db.transaction().execute(async (trx) => {
        const inserted = await insertNextVersion(trx, clock, {
          actor: input.actor,
          generated,
          html,
          changeSummary: {
            nl: v.changeSummaryNl,
            en: v.changeSummaryEn === '' ? v.changeSummaryNl : v.changeSummaryEn,
          },
        });
        await audit.append(trx, {
          actor: input.actor,
          action: 'statement.publish',
          target: { type: 'statement_version', id: inserted.id },
          meta: { number: inserted.summary.number, sourceHash: generated.hash },
        });
        return inserted.summary;
      });
    },

    ...createVersionReader(db),
  };
}

export type StatementService = ReturnType<typeof createStatementService>;
