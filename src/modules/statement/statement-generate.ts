/**
 * Generates the privacy statement (markdown, Dutch and English) from the register snapshot, the
 * privacy officer's sections and the configured log periods. Pure and deterministic: the same
 * inputs give the same text, so a hash of it tells whether anything changed since the last
 * published version (the dashboard's "statement out of date"). Every catalogue category and
 * purpose appears in it (P5 → P13/P18): the statement says what the code does.
 */
import { createHash } from 'node:crypto';
import { escapeMarkdown as esc, markdownLink } from '../../shared/html/markdown.js';
import { type Locale, translator } from '../../shared/i18n/messages.js';
import {
  joinList,
  label,
  placeName,
  publicPath,
  type RegisterSnapshot,
  type RetentionValues,
} from '../register/index.js';
import type { Claims } from './statement-claims.js';
import { type StatementTexts, statementTextsEn, statementTextsNl } from './statement-texts.js';

export const sectionIds = ['intro', 'clients', 'security', 'closing'] as const;
export type SectionId = (typeof sectionIds)[number];

export type StatementSections = Readonly<Record<SectionId, Readonly<Record<Locale, string>>>>;

const AUTHORITY_URL = 'https://autoriteitpersoonsgegevens.nl';

export interface StatementInput {
  readonly snapshot: RegisterSnapshot;
  readonly sections: StatementSections;
  /** The public origin (`https://kluis.example.nl`), for absolute links in the text. */
  readonly origin: string;
  readonly retentionValues: RetentionValues;
  /** What the enforced configuration and the register's data allow the statement to claim. */
  readonly claims: Claims;
}

export interface GeneratedStatement {
  readonly markdown: Readonly<Record<Locale, string>>;
  /** SHA-256 over both languages: equal hashes mean equal statements. */
  readonly hash: string;
}

const texts: Record<Locale, StatementTexts> = { nl: statementTextsNl, en: statementTextsEn };

/** The defaults of the privacy officer's sections, for an org that has not written its own. */
export function defaultSections(snapshot: Pick<RegisterSnapshot, 'org' | 'settings'>): StatementSections {
  const operator = snapshot.org.kind === 'operator';
  const org = esc(snapshot.settings.name);
  const by = (f: (x: StatementTexts) => string): Record<Locale, string> => ({
    nl: f(statementTextsNl),
    en: f(statementTextsEn),
  });
  return {
    intro: by((x) => x.defaultIntro({ org, operator })),
    clients: operator ? by((x) => x.defaultClients({ org })) : { nl: '', en: '' },
    security: by((x) => x.defaultSecurity({ org })),
    closing: { nl: '', en: '' },
  };
}

function capitalise(text: string): string {
  return text.charAt(0).toLocaleUpperCase() + text.slice(1);
}

function section(title: string, ...blocks: string[]): string {
  return [`## ${title}`, ...blocks.filter((b) => b.trim() !== '')].join('\n\n');
}

function list(items: readonly string[]): string {
  return items.map((i) => `- ${i}`).join('\n');
}

/** How to reach the organisation: the lines of the details it filled in. */
function contactLines(x: StatementTexts, s: RegisterSnapshot['settings']): string[] {
  const mail = (address: string) => markdownLink(address, `mailto:${address}`);
  return [
    s.contactAddress === '' ? '' : `${x.whoAddress}: ${esc(s.contactAddress)}`,
    s.contactEmail === '' ? '' : `${x.whoEmail}: ${mail(s.contactEmail)}`,
    s.phone === '' ? '' : `${x.whoPhone}: ${esc(s.phone)}`,
    s.website === '' ? '' : `${x.whoWebsite}: ${markdownLink(s.website, s.website)}`,
    s.privacyEmail === '' ? '' : `${x.whoPrivacy}: ${mail(s.privacyEmail)}`,
  ].filter((line) => line !== '');
}

/** The statement in one language, as markdown. */
/** The recipients the egress registry (P14) lets data go to: the statement's "where your data goes". */
function egressItemsOf(egress: RegisterSnapshot['egress'], x: StatementTexts, org: string): string[] {
  return [
    ...egress.flatMap((d) =>
      d.kind === 'smtp_relay' && d.mode === 'subprocessor'
        ? [x.egressRelay({ name: esc(d.subprocessor ?? '') })]
        : [],
    ),
    ...(egress.some((d) => d.kind === 'webhook') ? [x.egressWebhook({ org })] : []),
    ...(egress.some((d) => d.kind === 'data_subject') ? [x.egressSubject] : []),
  ];
}

function generateMarkdown(input: StatementInput, locale: Locale): string {
  const { snapshot, sections, origin } = input;
  const x = texts[locale];
  const t = translator(locale);
  const s = snapshot.settings;
  const org = esc(s.name);
  const join = (items: readonly string[]) => joinList(locale, items);
  const lower = (text: string) => text.toLocaleLowerCase(locale === 'nl' ? 'nl-NL' : 'en-GB');
  const categoryName = (c: string) => label(t, 'category', c);
  const inlineCategories = (cs: readonly string[]) => join(cs.map((c) => lower(categoryName(c))));
  const purposeName = (p: string) => label(t, 'purpose', p);
  const url = (page: string) => `${origin}${publicPath(snapshot.org, locale, page)}`;

  const who = contactLines(x, s);

  const channelText = join(s.channels.map((c) => label(t, 'channel', c)));
  const dataItems = snapshot.categories.map((c) =>
    x.dataItem({
      category: esc(categoryName(c.category)),
      hint: esc(label(t, 'categoryHint', c.category)),
      subjects: esc(join(c.subjects.map((j) => label(t, 'subjects', j)))),
      purposes: esc(join(c.purposes.map((p) => lower(purposeName(p))))),
    }),
  );

  const purposeBlocks = snapshot.activities.map((a) =>
    [
      `### ${esc(purposeName(a.purpose))}`,
      `${esc(capitalise(label(t, 'purposeHint', a.purpose)))}. ${x.purposeData({
        categories: esc(inlineCategories(a.categories)),
        bases: esc(join(a.legalBases.map((b) => label(t, 'basis', b)))),
      })}`,
      a.description,
    ]
      .filter((b) => b.trim() !== '')
      .join('\n\n'),
  );

  // One policy on the category's line; several as a nested list (they do not read as one sentence).
  const retentionItems = snapshot.categories.map((c) => {
    const texts = c.retention.map((r) => esc(label(t, 'retention', r, input.retentionValues)));
    const [only] = texts;
    if (texts.length === 1 && only !== undefined) {
      return x.retentionItem({ category: esc(categoryName(c.category)), retention: only });
    }
    return `**${esc(categoryName(c.category))}**:\n${texts.map((r) => `  - ${r}`).join('\n')}`;
  });

  const measures = [
    ...claimedMeasures(x, input.claims, join),
    ...snapshot.protections.map((p) => esc(label(t, 'protection', p))),
  ];
  const activityMeasures = snapshot.activities
    .filter((a) => a.securityMeasures !== '')
    .map((a) =>
      x.securityActivity({ purpose: esc(purposeName(a.purpose)), measures: esc(a.securityMeasures) }),
    );

  const active = snapshot.subprocessors.filter((p) => p.status === 'active');
  const mechanisms = input.claims.transferMechanisms;
  const spItems = active.map((p) =>
    x.subprocessorItem({
      name: esc(p.name),
      service: esc(p.service),
      location: esc(placeName(p, locale)),
      eea: p.inEea
        ? x.inEea
        : (mechanisms[p.id] ?? '') === ''
          ? x.outsideEea
          : `${x.outsideEea}; ${x.safeguard({ mechanism: esc(mechanisms[p.id] ?? '') })}`,
      categories: esc(
        p.dataCategories.length === 0 ? t('register.activity.none') : inlineCategories(p.dataCategories),
      ),
    }),
  );
  const transfers = snapshot.activities
    .filter((a) => a.transfers !== '')
    .map((a) => x.transferItem({ purpose: esc(purposeName(a.purpose)), transfers: esc(a.transfers) }));
  const recipients = snapshot.activities
    .filter((a) => a.recipients !== '')
    .map((a) => x.recipientItem({ purpose: esc(purposeName(a.purpose)), recipients: esc(a.recipients) }));
  const egressItems = egressItemsOf(snapshot.egress, x, org);
  const subprocessorsUrl = url('/subprocessors');

  const rightsUrl = url('/rights');
  const privacyLink = s.privacyEmail === '' ? '' : markdownLink(s.privacyEmail, `mailto:${s.privacyEmail}`);
  const statementUrl = url('/privacy');

  const parts = [
    `# ${x.title({ org })}`,
    section(
      x.whoTitle,
      sections.intro[locale],
      who.length === 0 ? '' : `${x.whoResponsible({ org })}\n\n${list(who)}`,
    ),
    section(
      x.dataTitle,
      snapshot.categories.length === 0 ? x.dataNone : x.dataChannels({ org, channels: esc(channelText) }),
      list(dataItems),
    ),
    section(x.purposesTitle, ...purposeBlocks, x.purposesProportional({ org })),
    section(x.retentionTitle, x.retentionIntro, list(retentionItems)),
    sections.clients[locale].trim() === '' ? '' : section(x.clientsTitle({ org }), sections.clients[locale]),
    section(
      x.securityTitle,
      sections.security[locale],
      `${x.securityMeasuresIntro}\n\n${list([...measures, ...activityMeasures])}`,
    ),
    section(
      x.metadataTitle,
      x.metadataText({
        org,
        truncateDays: input.retentionValues.truncateDays,
        deleteDays: input.retentionValues.deleteDays,
      }),
    ),
    section(
      x.subprocessorsTitle,
      x.subprocessorsIntro({ org }),
      spItems.length === 0 ? x.subprocessorsNone : list(spItems),
      agreementsText(x, org, input.claims, active.length, join),
      transfersClaim(x, input.claims, active.some((p) => !p.inEea) || transfers.length > 0, join),
      list(transfers),
      egressItems.length === 0 ? '' : `${x.egressTitle}\n\n${list(egressItems)}\n\n${x.egressOnly}`,
      recipients.length === 0 ? '' : `${x.recipientsTitle}\n\n${list(recipients)}`,
      x.subprocessorsLink({ url: subprocessorsUrl, link: markdownLink(subprocessorsUrl, subprocessorsUrl) }),
    ),
    section(
      x.rightsTitle,
      x.rightsText({ org }),
      x.rightsHow({ portal: markdownLink(rightsUrl, rightsUrl), privacy: privacyLink }),
    ),
    section(x.identificationTitle, x.identificationText({ org })),
    section(x.complaintTitle, x.complaintText({ org, link: markdownLink(AUTHORITY_URL, AUTHORITY_URL) })),
    s.termsUrl === ''
      ? ''
      : section(x.termsTitle, x.termsText({ org, link: markdownLink(s.termsUrl, s.termsUrl) })),
    sections.closing[locale],
    section(
      x.changesTitle,
      x.changesText({
        org,
        link: markdownLink(statementUrl, statementUrl),
        archive: markdownLink(x.archive, url('/privacy/versions')),
      }),
    ),
  ];
  return `${parts.filter((p) => p.trim() !== '').join('\n\n')}\n`;
}

/** The security measures the facts allow: TLS, staff access, the audit trail, named exceptions. */
function claimedMeasures(
  x: StatementTexts,
  claims: Claims,
  join: (items: readonly string[]) => string,
): string[] {
  const tls =
    claims.unencrypted.length === 0
      ? x.securityTls
      : x.securityTlsExcept({ connections: join(claims.unencrypted.map((c) => x.connection[c])) });
  return [
    `${tls}; ${x.securityStorage}`,
    claims.totpForAllStaff ? x.securityAccess : x.securityAccessNoTotp,
    claims.auditedKinds.length === 0
      ? ''
      : x.securityAudit({ kinds: join(claims.auditedKinds.map((k) => x.auditedKind[k])) }),
    claims.overrides.length === 0
      ? ''
      : x.securityOverrides({ items: join(claims.overrides.map((o) => x.override[o])) }),
  ].filter((m) => m !== '');
}

/** "Agreements with these sub-processors" only when every active one has an agreement on file. */
function agreementsText(
  x: StatementTexts,
  org: string,
  claims: Claims,
  activeCount: number,
  join: (items: readonly string[]) => string,
): string {
  if (activeCount === 0) return '';
  if (claims.withoutAgreement.length === 0) return x.subprocessorsAgreements({ org });
  return x.subprocessorsNoAgreement({ org, names: esc(join(claims.withoutAgreement)) });
}

/** "Only with appropriate safeguards" only when each sub-processor outside the EEA has a mechanism on record. */
function transfersClaim(
  x: StatementTexts,
  claims: Claims,
  relevant: boolean,
  join: (items: readonly string[]) => string,
): string {
  if (claims.withoutSafeguard.length > 0)
    return x.transfersMissing({ names: esc(join(claims.withoutSafeguard)) });
  return relevant ? x.transfersText : '';
}

function hashStatement(markdown: Readonly<Record<Locale, string>>): string {
  return createHash('sha256')
    .update('kluis/statement/v1\n')
    .update(markdown.nl)
    .update('\u0000')
    .update(markdown.en)
    .digest('hex');
}

/** Both languages and their hash. */
export function generateStatement(input: StatementInput): GeneratedStatement {
  const markdown = { nl: generateMarkdown(input, 'nl'), en: generateMarkdown(input, 'en') };
  return { markdown, hash: hashStatement(markdown) };
}
