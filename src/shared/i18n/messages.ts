/**
 * Message catalogues, Dutch (default) and English. Each module owns its catalogue
 * (`<module>-messages.ts`, nl as source, en typed against it so a missing translation fails the
 * type check) and names it in its manifest; the module list installs them here at load. Only
 * the key type is gathered here, type-only. Formatting (placeholders, plurals) is ICU
 * MessageFormat through FormatJS.
 */
import { IntlMessageFormat } from 'intl-messageformat';
import type { authNl } from '../../modules/auth/auth-messages.js';
import type { disclosureNl } from '../../modules/disclosure/disclosure-messages.js';
import type { incidentsNl } from '../../modules/incidents/incidents-messages.js';
import type { intakeNl } from '../../modules/intake/intake-messages.js';
import type { jobsNl } from '../../modules/jobs/jobs-messages.js';
import type { mailNl } from '../../modules/mail/mail-messages.js';
import type { offboardingNl } from '../../modules/offboarding/offboarding-messages.js';
import type { opendsrNl } from '../../modules/opendsr/opendsr-messages.js';
import type { registerNl } from '../../modules/register/register-messages.js';
import type { relationsNl } from '../../modules/relations/relations-messages.js';
import type { retentionNl } from '../../modules/retention/retention-messages.js';
import type { rightsConsentNl } from '../../modules/rights/rights-consent-messages.js';
import type { rightsErasureNl } from '../../modules/rights/rights-erasure-messages.js';
import type { rightsExportNl } from '../../modules/rights/rights-export-messages.js';
import type { rightsNl } from '../../modules/rights/rights-messages.js';
import type { securityNl } from '../../modules/security/security-messages.js';
import type { statementNl } from '../../modules/statement/statement-messages.js';
import type { tenantsNl } from '../../modules/tenants/tenants-messages.js';
import { coreEn, coreNl } from './core-messages.js';

/**
 * Every key of every module's Dutch catalogue (type-only: the values come from the module list,
 * which installs them at load with `installMessages`).
 */
type AllMessages = typeof coreNl &
  typeof authNl &
  typeof jobsNl &
  typeof mailNl &
  typeof securityNl &
  typeof intakeNl &
  typeof registerNl &
  typeof statementNl &
  typeof relationsNl &
  typeof retentionNl &
  typeof rightsNl &
  typeof rightsConsentNl &
  typeof rightsErasureNl &
  typeof rightsExportNl &
  typeof opendsrNl &
  typeof offboardingNl &
  typeof disclosureNl &
  typeof incidentsNl &
  typeof tenantsNl;

export type MessageKey = keyof AllMessages;
export const locales = ['nl', 'en'] as const;
export type Locale = (typeof locales)[number];
export const defaultLocale: Locale = 'nl';

const catalogues: Record<Locale, Record<string, string>> = { nl: { ...coreNl }, en: { ...coreEn } };

/**
 * Adds a module's catalogues (modules/index.ts, at load, for every module of the list). A key
 * defined twice is a bug: the later module would silently change the earlier one's text.
 */
export function installMessages(
  nl: Readonly<Record<string, string>>,
  en: Readonly<Record<string, string>>,
): void {
  for (const key of Object.keys(nl)) {
    if (Object.hasOwn(catalogues.nl, key) && catalogues.nl[key] !== nl[key]) {
      throw new Error(`message key ${key} is defined by two catalogues`);
    }
    const english = en[key];
    if (english === undefined) throw new Error(`message key ${key} has no English text`);
  }
  Object.assign(catalogues.nl, nl);
  Object.assign(catalogues.en, en);
}
const cache = new Map<string, IntlMessageFormat>();

export type MessageValues = Record<string, string | number>;

/** Translate `key` into `locale`, filling ICU placeholders from `values`. */
export function t(locale: Locale, key: MessageKey, values?: MessageValues): string {
  const source = catalogues[locale][key];
  if (source === undefined)
    throw new Error(`message key ${key} is not installed (is modules/index.ts loaded?)`);
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
  return Object.hasOwn(catalogues.nl, value);
}

/** A translator bound to one locale, handed to views. */
export type Translate = (key: MessageKey, values?: MessageValues) => string;
export function translator(locale: Locale): Translate {
  return (key, values) => t(locale, key, values);
}
