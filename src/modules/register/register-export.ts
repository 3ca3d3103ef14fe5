/**
 * The register as exports (Art. 30: "kept in writing, including in electronic form"): CSV (one
 * row per activity, csv-stringify) and JSON (ids and labels), in the reader's language. CSV cells
 * that a spreadsheet would read as a formula are prefixed with an apostrophe.
 */
import { stringify } from 'csv-stringify/sync';
import type { Locale, Translate } from '../../shared/i18n/messages.js';
import { countryName } from './register-derive.js';
import { joinList, label, type RetentionValues } from './register-labels.js';
import type { ProcessingActivity, RegisterSnapshot } from './register-service.js';

const csvColumns = [
  'register.activity.name',
  'register.activity.purpose',
  'register.activity.legalBasis',
  'register.activity.categories',
  'register.activity.subjects',
  'register.activity.recipients',
  'register.activity.transfers',
  'register.activity.retention',
  'register.activity.security',
  'register.activity.description',
  'register.activity.fields',
] as const;

/** A CSV cell that cannot start a formula (=, +, -, @, tab, carriage return). */
export function csvSafe(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

export interface ActivityTexts {
  readonly id: string;
  readonly name: string;
  readonly purpose: string;
  readonly legalBasis: string;
  readonly categories: string;
  readonly subjects: string;
  readonly recipients: string;
  readonly transfers: string;
  readonly retention: string;
  readonly security: string;
  readonly description: string;
  readonly fields: string;
}

/** One activity as readable texts (the register page, the print page and the CSV share them). */
export function activityTexts(
  a: ProcessingActivity,
  t: Translate,
  locale: Locale,
  retention: RetentionValues,
): ActivityTexts {
  const join = (items: readonly string[]) =>
    items.length === 0 ? t('register.activity.none') : joinList(locale, items);
  const outside = a.subprocessors.filter((s) => !s.inEea);
  return {
    id: a.purpose,
    name: label(t, 'purpose', a.purpose),
    purpose: label(t, 'purposeHint', a.purpose),
    legalBasis: join(a.legalBases.map((b) => label(t, 'basis', b))),
    categories: join(a.categories.map((c) => label(t, 'category', c))),
    subjects: join(a.subjects.map((s) => label(t, 'subjects', s))),
    recipients: join([
      ...a.subprocessors.map((s) =>
        t('register.activity.subprocessorRecipient', {
          name: s.name,
          country: countryName(s.country, locale),
        }),
      ),
      ...(a.recipients === '' ? [] : [a.recipients]),
    ]),
    transfers:
      outside.length === 0 && a.transfers === ''
        ? t('register.activity.noTransfers')
        : joinList(locale, [
            ...outside.map((s) =>
              t('register.activity.subprocessorTransfer', {
                name: s.name,
                country: countryName(s.country, locale),
              }),
            ),
            ...(a.transfers === '' ? [] : [a.transfers]),
          ]),
    retention: join(a.retention.map((r) => label(t, 'retention', r, retention))),
    security: join([
      ...a.protections.map((p) => label(t, 'protection', p)),
      ...(a.securityMeasures === '' ? [] : [a.securityMeasures]),
    ]),
    description: a.description,
    fields: a.fields.join(', '),
  };
}

export function registerCsv(
  snapshot: RegisterSnapshot,
  t: Translate,
  locale: Locale,
  retention: RetentionValues,
): string {
  const rows = snapshot.activities.map((a) => {
    const x = activityTexts(a, t, locale, retention);
    return [
      x.name,
      x.purpose,
      x.legalBasis,
      x.categories,
      x.subjects,
      x.recipients,
      x.transfers,
      x.retention,
      x.security,
      x.description,
      x.fields,
    ].map(csvSafe);
  });
  // A byte-order mark so spreadsheet programs read UTF-8 (é, ë) correctly.
  return `\ufeff${stringify([csvColumns.map((k) => t(k)), ...rows], { record_delimiter: 'windows' })}`;
}

export function registerJson(
  snapshot: RegisterSnapshot,
  t: Translate,
  locale: Locale,
  retention: RetentionValues,
  generatedAt: string,
): unknown {
  const s = snapshot.settings;
  const labelled = (kind: Parameters<typeof label>[1], ids: readonly string[]) =>
    ids.map((id) => ({ id, label: label(t, kind, id, kind === 'retention' ? retention : undefined) }));
  return {
    format: 'kluis-processing-register/1',
    generatedAt,
    locale,
    controller: {
      name: s.name,
      address: s.contactAddress,
      email: s.contactEmail,
      privacyEmail: s.privacyEmail,
      phone: s.phone,
      website: s.website,
    },
    activities: snapshot.activities.map((a) => ({
      id: a.purpose,
      name: label(t, 'purpose', a.purpose),
      purpose: label(t, 'purposeHint', a.purpose),
      description: a.description,
      legalBases: labelled('basis', a.legalBases),
      dataCategories: labelled('category', a.categories),
      dataSubjects: labelled('subjects', a.subjects),
      recipients: {
        subprocessors: a.subprocessors.map((p) => ({
          id: p.id,
          name: p.name,
          country: p.country,
          inEea: p.inEea,
        })),
        other: a.recipients,
      },
      transfersOutsideEea: {
        subprocessors: a.subprocessors
          .filter((p) => !p.inEea)
          .map((p) => ({ id: p.id, name: p.name, country: p.country })),
        other: a.transfers,
      },
      retention: labelled('retention', a.retention),
      securityMeasures: { protections: labelled('protection', a.protections), other: a.securityMeasures },
      readRoles: a.readRoles,
      fields: a.fields,
    })),
    subprocessors: snapshot.subprocessors.map((p) => ({
      id: p.id,
      name: p.name,
      service: p.service,
      location: p.location,
      country: p.country,
      inEea: p.inEea,
      dataCategories: p.dataCategories,
      status: p.status,
      agreement:
        p.agreement === undefined ? null : { version: p.agreement.version, signedOn: p.agreement.signedOn },
    })),
  };
}
