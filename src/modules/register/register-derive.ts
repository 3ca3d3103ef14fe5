/**
 * The processing register derived from the field catalogue (P5, Art. 30): one activity per
 * purpose, with its data categories, data subjects, legal bases, retention policies and
 * protections computed from the fields that serve it. Pure functions: the same catalogue always
 * gives the same register, so the statement generated from it is reproducible (and hashable).
 */
import type { Role } from '../../shared/actor.js';
import {
  basesOf,
  basisOf,
  type CatalogueField,
  type DataCategory,
  type DataSubjectCategory,
  dataCategories,
  dataSubjectCategories,
  type LegalBasis,
  legalBases,
  type Protection,
  type Purpose,
  purposes,
  type RetentionPolicyId,
  retentionPolicies,
} from '../../shared/catalogue.js';

/** Orders ids by their position in the catalogue's list; unknown ids (none today) go last, sorted. */
function ordered<T extends string>(values: Iterable<T>, order: readonly string[]): T[] {
  const unique = [...new Set(values)];
  const rank = (v: string) => {
    const i = order.indexOf(v);
    return i === -1 ? order.length : i;
  };
  return unique.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

const protectionOrder: readonly Protection[] = [
  'subject_key',
  'org_key',
  'hash',
  'blind_index',
  'truncated_later',
  'plain',
];

/** What a group of fields says about subjects, legal bases, retention and protection (`commonFacts`). */
export interface CommonFacts {
  readonly subjects: readonly DataSubjectCategory[];
  readonly legalBases: readonly LegalBasis[];
  readonly retention: readonly RetentionPolicyId[];
  readonly protections: readonly Protection[];
}

export interface DerivedActivity extends CommonFacts {
  readonly purpose: Purpose;
  readonly categories: readonly DataCategory[];
  readonly readRoles: readonly Role[];
  /** `table.column` of every field serving this purpose. */
  readonly fields: readonly string[];
}

/** The distinct values `pick` gives over `fields`, in the catalogue's `order`. */
function distinct<T extends string>(
  fields: readonly CatalogueField[],
  pick: (f: CatalogueField) => T | readonly T[],
  order: readonly string[],
): T[] {
  return ordered(
    fields.flatMap((f) => pick(f)),
    order,
  );
}

/** The catalogue's fields grouped by `keysOf` (a field can serve several purposes), in `order`. */
function groupedBy<K extends string>(
  catalogue: readonly CatalogueField[],
  keysOf: (f: CatalogueField) => readonly K[],
  order: readonly string[],
): [K, CatalogueField[]][] {
  const groups = new Map<K, CatalogueField[]>();
  for (const field of catalogue) {
    for (const key of keysOf(field)) groups.set(key, [...(groups.get(key) ?? []), field]);
  }
  return ordered(groups.keys(), order).map((key) => [key, groups.get(key) ?? []]);
}

/** The common facts of a group of fields, each in canonical order. */
function commonFacts(fields: readonly CatalogueField[]): CommonFacts {
  return {
    subjects: distinct(fields, (f) => f.subjects, dataSubjectCategories),
    legalBases: distinct(fields, basesOf, legalBases),
    retention: distinct(fields, (f) => f.retention, retentionPolicies),
    protections: distinct(fields, (f) => f.protection, protectionOrder),
  };
}

/** One activity per purpose that at least one catalogue field serves, in the catalogue's order. */
export function deriveActivities(catalogue: readonly CatalogueField[]): DerivedActivity[] {
  return groupedBy(catalogue, (f) => f.purposes, purposes).map(([purpose, fields]) => ({
    purpose,
    categories: distinct(fields, (f) => f.category, dataCategories),
    ...commonFacts(fields),
    // The basis of this purpose only (an address kept for a contract is mailed on consent).
    legalBases: distinct(fields, (f) => basisOf(f, purpose), legalBases),
    readRoles: [...new Set(fields.flatMap((f) => f.readRoles))].sort(),
    fields: fields.map((f) => `${f.table}.${f.column}`).sort(),
  }));
}

export interface DerivedCategory extends CommonFacts {
  readonly category: DataCategory;
  readonly purposes: readonly Purpose[];
}

/** Every data category the catalogue holds, with what it is used for and how long it is kept. */
export function deriveCategories(catalogue: readonly CatalogueField[]): DerivedCategory[] {
  return groupedBy(catalogue, (f) => [f.category], dataCategories).map(([category, fields]) => ({
    category,
    purposes: distinct(fields, (f) => f.purposes, purposes),
    ...commonFacts(fields),
  }));
}

/** Retention policies and protections in use, for the statement's retention and security parts. */
export function usedRetentionPolicies(catalogue: readonly CatalogueField[]): RetentionPolicyId[] {
  return distinct(catalogue, (f) => f.retention, retentionPolicies);
}

export function usedProtections(catalogue: readonly CatalogueField[]): Protection[] {
  return distinct(catalogue, (f) => f.protection, protectionOrder);
}

/** The European Economic Area: the EU member states plus Iceland, Liechtenstein and Norway. */
export const eeaCountries: readonly string[] = [
  'AT',
  'BE',
  'BG',
  'CY',
  'CZ',
  'DE',
  'DK',
  'EE',
  'ES',
  'FI',
  'FR',
  'GR',
  'HR',
  'HU',
  'IE',
  'IS',
  'IT',
  'LI',
  'LT',
  'LU',
  'LV',
  'MT',
  'NL',
  'NO',
  'PL',
  'PT',
  'RO',
  'SE',
  'SI',
  'SK',
];

/** Countries outside the EEA offered in the sub-processor form (common hosting locations). */
const otherCountries: readonly string[] = [
  'AU',
  'BR',
  'CA',
  'CH',
  'GB',
  'IL',
  'IN',
  'JP',
  'KR',
  'NZ',
  'SG',
  'TR',
  'UA',
  'US',
  'ZA',
];

export const countryCodes: readonly string[] = [...eeaCountries, ...otherCountries];

export function isInEea(country: string): boolean {
  return eeaCountries.includes(country.toUpperCase());
}

/** The country's name in `locale` (from the runtime's ICU data), or the code itself. */
export function countryName(country: string, locale: string): string {
  try {
    return (
      new Intl.DisplayNames([locale === 'nl' ? 'nl-NL' : 'en-GB'], { type: 'region' }).of(country) ?? country
    );
  } catch {
    return country;
  }
}

/** A sub-processor's place: "Amsterdam, Nederland", or the country alone. */
export function placeName(
  s: { readonly location: string; readonly country: string },
  locale: string,
): string {
  const country = countryName(s.country, locale);
  return s.location === '' ? country : `${s.location}, ${country}`;
}
