/**
 * The field catalogue (P5): every column that stores personal data, with its data category,
 * purposes, legal basis, data subjects, retention policy, who may read it and how it is
 * protected. Each module declares its own fields in `<module>-fields.ts` and names them in its
 * manifest; `modules/index.ts` gathers them and installs the catalogue here at load. The
 * processing register and the public statement are generated from it, and a test
 * (`test/catalogue.test.ts`) fails when a table gains a column that is neither declared nor
 * listed as not personal.
 *
 * The catalogue is code, not state: the same for every running Kluis, so it is installed once
 * from the module list (like the message catalogues) rather than passed around.
 */
import type { Role } from './actor.js';

export const dataCategories = [
  'contact_details',
  'message_content',
  'form_of_address',
  'billing_address',
  'signature',
  'direct_debit',
  'agreement',
  'consent',
  'rights_request',
  'staff_account',
  'staff_credentials',
  'technical_metadata',
] as const;
export type DataCategory = (typeof dataCategories)[number];

export const purposes = [
  'handle_requests',
  'contract_administration',
  'bookkeeping',
  'direct_debit_collection',
  'marketing',
  'rights_handling',
  'system_security',
  'staff_access',
] as const;
export type Purpose = (typeof purposes)[number];

export const legalBases = ['contract', 'legal_obligation', 'legitimate_interest', 'consent'] as const;
export type LegalBasis = (typeof legalBases)[number];

export const dataSubjectCategories = ['contact', 'client', 'staff', 'visitor'] as const;
export type DataSubjectCategory = (typeof dataSubjectCategories)[number];

/** How a stored value is protected beyond the encrypted database file. */
export type Protection =
  /** AES-256-GCM under the data subject's key: erased by destroying that key. */
  | 'subject_key'
  /** AES-256-GCM under the organisation's key (secrets that belong to no data subject). */
  | 'org_key'
  /** Only a one-way hash is stored (passwords, tokens). */
  | 'hash'
  /** An HMAC blind index for look-ups; the value itself is stored elsewhere, encrypted. */
  | 'blind_index'
  /** Stored as is, readable only by `readRoles`, cut down (truncated) after a period. */
  | 'truncated_later'
  /** Stored as is (still inside the encrypted database), readable only by `readRoles`. */
  | 'plain';

/** Retention policies by id; the retention engine (issue 6) gives each its trigger and period. */
export const retentionPolicies = [
  'staff_account',
  'staff_session',
  'access_log',
  'login_throttle',
  'audit_trail',
  'job_queue',
  'data_subject',
  'contact_request',
  'processor_agreement',
  'client_relation',
  'fiscal_7y',
  'rights_request',
  'consent_record',
] as const;
export type RetentionPolicyId = (typeof retentionPolicies)[number];

export interface CatalogueField {
  readonly table: string;
  readonly column: string;
  readonly category: DataCategory;
  readonly purposes: readonly Purpose[];
  readonly legalBasis: LegalBasis;
  /**
   * A purpose served on another legal basis than `legalBasis`: a client's email address is kept
   * for the contract, and used for the newsletter only with the person's consent.
   */
  readonly basisFor?: Readonly<Partial<Record<Purpose, LegalBasis>>>;
  readonly subjects: DataSubjectCategory;
  readonly retention: RetentionPolicyId;
  /** Roles that may read the value (in clear, where it is encrypted). */
  readonly readRoles: readonly Role[];
  readonly protection: Protection;
}

/** Columns that hold no personal data, per table, with the reason (kept next to the fields). */
export type NotPersonal = Readonly<Record<string, Readonly<Record<string, string>>>>;

export interface ModuleCatalogue {
  readonly fields: readonly CatalogueField[];
  readonly notPersonal: NotPersonal;
}

/**
 * Columns that only structure data (ids, foreign keys, timestamps) are never personal values
 * themselves and need no declaration.
 */
/** The legal basis on which `field` serves `purpose`. */
export function basisOf(field: CatalogueField, purpose: Purpose): LegalBasis {
  return field.basisFor?.[purpose] ?? field.legalBasis;
}

/** Every legal basis `field` is processed on, over all its purposes. */
export function basesOf(field: CatalogueField): LegalBasis[] {
  return [...new Set(field.purposes.map((p) => basisOf(field, p)))];
}

export function isStructuralColumn(column: string): boolean {
  return column === 'id' || column === 'at' || /_(id|at|until)$/.test(column);
}

/** The rights a data subject can exercise (Art. 15–22 GDPR) through the portal or by mail. */
export const rightKinds = [
  'access',
  'portability',
  'rectification',
  'erasure',
  'objection',
  'withdraw_consent',
] as const;
export type RightKind = (typeof rightKinds)[number];

/** The tables of the framework itself (migrations), which hold nothing about people. */
export const frameworkTables: readonly string[] = ['kysely_migration', 'kysely_migration_lock'];

/** The gathered catalogue: every module's fields and the columns that hold none. */
export interface Catalogue {
  readonly fields: readonly CatalogueField[];
  readonly notPersonal: NotPersonal;
}

let installed: Catalogue | undefined;

/** Installs the gathered catalogue (modules/index.ts, at load). */
export function installCatalogue(modules: readonly ModuleCatalogue[]): Catalogue {
  installed = {
    fields: modules.flatMap((m) => m.fields),
    notPersonal: Object.assign({}, ...modules.map((m) => m.notPersonal)),
  };
  return installed;
}

/** The installed catalogue; throws when read before the module list has loaded (a bug). */
export function fieldCatalogue(): Catalogue {
  if (installed === undefined)
    throw new Error('the field catalogue is read before modules/index.ts installed it');
  return installed;
}

export function findField(table: string, column: string): CatalogueField | undefined {
  return fieldCatalogue().fields.find((f) => f.table === table && f.column === column);
}

/** May `roles` read this field? Used by repositories that decrypt for callers (P5). */
export function canRead(field: CatalogueField, roles: readonly Role[]): boolean {
  return field.readRoles.some((r) => roles.includes(r));
}
