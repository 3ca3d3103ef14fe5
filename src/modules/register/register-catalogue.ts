/**
 * The field catalogue (P5): every column that stores personal data, with its data category,
 * purposes, legal basis, data subjects, retention policy, who may read it and how it is
 * protected. The processing register and the public statement are generated from it, and a test
 * (`test/catalogue.test.ts`) fails when a table gains a column that is neither declared here nor
 * listed as not personal. Each module declares its own fields in `<module>-fields.ts`.
 */
import type { Role } from '../../shared/actor.js';
import { authFields } from '../auth/auth-fields.js';
import { intakeFields } from '../intake/intake-fields.js';
import { jobsFields } from '../jobs/jobs-fields.js';
import { orgsFields } from '../orgs/orgs-fields.js';
import { relationsFields } from '../relations/relations-fields.js';
import { retentionFields } from '../retention/retention-fields.js';
import { rightsFields } from '../rights/rights-fields.js';
import { securityFields } from '../security/security-fields.js';
import { statementFields } from '../statement/statement-fields.js';
import { subjectsFields } from '../subjects/subjects-fields.js';
import { registerFields } from './register-fields.js';

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
export function isStructuralColumn(column: string): boolean {
  return column === 'id' || column === 'at' || /_(id|at|until)$/.test(column);
}

const moduleCatalogues: readonly ModuleCatalogue[] = [
  orgsFields,
  authFields,
  securityFields,
  jobsFields,
  subjectsFields,
  intakeFields,
  registerFields,
  statementFields,
  relationsFields,
  retentionFields,
  rightsFields,
];

export const catalogue: readonly CatalogueField[] = moduleCatalogues.flatMap((m) => m.fields);

export const notPersonal: NotPersonal = Object.assign({}, ...moduleCatalogues.map((m) => m.notPersonal));

/** The tables of the framework itself (migrations), which hold nothing about people. */
export const frameworkTables: readonly string[] = ['kysely_migration', 'kysely_migration_lock'];

export function findField(table: string, column: string): CatalogueField | undefined {
  return catalogue.find((f) => f.table === table && f.column === column);
}

/** May `roles` read this field? Used by repositories that decrypt for callers (P5). */
export function canRead(field: CatalogueField, roles: readonly Role[]): boolean {
  return field.readRoles.some((r) => roles.includes(r));
}
