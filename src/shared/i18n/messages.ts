/**
 * Message catalogues, Dutch (default) and English. Each module owns its catalogue
 * (`<module>-messages.ts`, nl as source, en typed against it so a missing translation fails the
 * type check); this file merges them. Formatting (placeholders, plurals) is ICU MessageFormat
 * through FormatJS.
 */
import { IntlMessageFormat } from 'intl-messageformat';
import { authEn, authNl } from '../../modules/auth/auth-messages.js';
import { intakeEn, intakeNl } from '../../modules/intake/intake-messages.js';
import { jobsEn, jobsNl } from '../../modules/jobs/jobs-messages.js';
import { mailEn, mailNl } from '../../modules/mail/mail-messages.js';
import { registerEn, registerNl } from '../../modules/register/register-messages.js';
import { relationsEn, relationsNl } from '../../modules/relations/relations-messages.js';
import { retentionEn, retentionNl } from '../../modules/retention/retention-messages.js';
import { rightsConsentEn, rightsConsentNl } from '../../modules/rights/rights-consent-messages.js';
import { rightsErasureEn, rightsErasureNl } from '../../modules/rights/rights-erasure-messages.js';
import { rightsExportEn, rightsExportNl } from '../../modules/rights/rights-export-messages.js';
import { rightsEn, rightsNl } from '../../modules/rights/rights-messages.js';
import { securityEn, securityNl } from '../../modules/security/security-messages.js';
import { statementEn, statementNl } from '../../modules/statement/statement-messages.js';
import { coreEn, coreNl } from './core-messages.js';

const nl = {
  ...coreNl,
  ...authNl,
  ...jobsNl,
  ...mailNl,
  ...securityNl,
  ...intakeNl,
  ...registerNl,
  ...statementNl,
  ...relationsNl,
  ...retentionNl,
  ...rightsNl,
  ...rightsConsentNl,
  ...rightsErasureNl,
  ...rightsExportNl,
} as const;
const en: Record<keyof typeof nl, string> = {
  ...coreEn,
  ...authEn,
  ...jobsEn,
  ...mailEn,
  ...securityEn,
  ...intakeEn,
  ...registerEn,
  ...statementEn,
  ...relationsEn,
  ...retentionEn,
  ...rightsEn,
  ...rightsConsentEn,
  ...rightsErasureEn,
  ...rightsExportEn,
};

export type MessageKey = keyof typeof nl;
export const locales = ['nl', 'en'] as const;
export type Locale = (typeof locales)[number];
export const defaultLocale: Locale = 'nl';

const catalogues: Record<Locale, Record<MessageKey, string>> = { nl, en };
const cache = new Map<string, IntlMessageFormat>();

export type MessageValues = Record<string, string | number>;

/** Translate `key` into `locale`, filling ICU placeholders from `values`. */
export function t(locale: Locale, key: MessageKey, values?: MessageValues): string {
  const source = catalogues[locale][key];
  if (values === undefined) return source;
  const cacheKey = `${locale}\u0000${key}`;
  let fmt = cache.get(cacheKey);
  if (fmt === undefined) {
    fmt = new IntlMessageFormat(source, locale);
    cache.set(cacheKey, fmt);
  }
  return String(fmt.format(values));
}

export function isLocale(value: unknown): value is Locale {
  return value === 'nl' || value === 'en';
}

export function isMessageKey(value: string): value is MessageKey {
  return Object.hasOwn(nl, value);
}

/** A translator bound to one locale, handed to views. */
export type Translate = (key: MessageKey, values?: MessageValues) => string;
export function translator(locale: Locale): Translate {
  return (key, values) => t(locale, key, values);
}
