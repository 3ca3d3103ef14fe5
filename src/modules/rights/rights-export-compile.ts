/**
 * The access and portability export's content (P15, Art. 15 and 20 GDPR): everything the
 * organisation holds about one data subject, compiled from the field catalogue and the subject
 * links every module's personal-data provider declares (`rights-export-tables.ts`), never from a
 * hand-picked list of queries. Then what applies to it: purposes and legal bases per category,
 * the retention the organisation applies (the retention service), the controller and recipients
 * (the register service), who consulted the records (the audit trail, through the security
 * module) and the access log's rule (never linked to people, P12).
 *
 * Records kept only for a legal duty (restricted, P6) are included: the right of access covers
 * them. Values sealed with a destroyed key (an erased person) are reported as erased, not as an
 * error. Pure reading: no audit entry, no state; the request workflow around it does that.
 */
import type { Config } from '../../config/env.js';
import type { Keyring } from '../../crypto/keyring.js';
import type { OrgKind, OrgScope } from '../../shared/actor.js';
import {
  basisOf,
  type CatalogueField,
  type DataCategory,
  fieldCatalogue,
  type LegalBasis,
  legalBases,
  type Purpose,
  purposes as purposeOrder,
  type RetentionPolicyId,
} from '../../shared/catalogue.js';
import { AppError } from '../../shared/errors.js';
import type { KluisCore } from '../module.js';
import type { RegisterFacts, RegisterService } from '../register/index.js';
import { type DerivedCategory, deriveCategories } from '../register/index.js';
import {
  type EffectivePolicies,
  isManagedPolicy,
  type PeriodUnit,
  type RetentionAction,
  type RetentionService,
  type RetentionTrigger,
} from '../retention/index.js';
import type { SecurityService } from '../security/index.js';
import type { SubjectsService } from '../subjects/index.js';
import { consultationsOf, type ExportConsultation } from './rights-export-consultations.js';
import { type ExportTable, exportTable, type RowInfo, type TableReader } from './rights-export-tables.js';

export type { ExportColumn, ExportRow, ExportScalar, ExportTable } from './rights-export-tables.js';

export const EXPORT_FORMAT = 'kluis.subject-export/1';

export interface ExportUse {
  readonly purposes: readonly Purpose[];
  readonly legalBasis: LegalBasis;
  readonly retention: RetentionPolicyId;
  /** `table.column` of the subject's fields used this way. */
  readonly fields: readonly string[];
}

export interface ExportCategory {
  readonly category: DataCategory;
  readonly uses: readonly ExportUse[];
  /** Ids of the active sub-processors that handle this category. */
  readonly recipients: readonly string[];
}

export interface ExportPurpose {
  readonly purpose: Purpose;
  readonly legalBases: readonly LegalBasis[];
  readonly categories: readonly DataCategory[];
  /** Other recipients the register names for this purpose (free text), '' when none. */
  readonly otherRecipients: string;
}

/** A sub-processor that receives some of the subject's data (as the register lists it). */
export type ExportRecipient = Pick<
  RegisterFacts['subprocessors'][number],
  'id' | 'name' | 'service' | 'location' | 'country' | 'inEea' | 'dataCategories'
>;

export interface ExportRetention {
  readonly policy: RetentionPolicyId;
  /** The period the organisation applies, for the policies the retention engine runs. */
  readonly period: {
    readonly value: number;
    readonly unit: PeriodUnit;
    readonly trigger: RetentionTrigger;
    readonly action: RetentionAction;
    readonly customised: boolean;
  } | null;
}

export interface SubjectExport {
  readonly format: typeof EXPORT_FORMAT;
  readonly generatedAt: string;
  readonly org: { readonly id: string; readonly name: string; readonly kind: OrgKind };
  readonly controller: {
    readonly name: string;
    readonly privacyEmail: string;
    readonly contactEmail: string;
    readonly contactAddress: string;
    readonly phone: string;
    readonly website: string;
  };
  readonly subject: {
    readonly id: string;
    readonly createdAt: string;
    readonly erasedAt: string | null;
    /** The subject's key was destroyed: every value sealed with it is erased. */
    readonly keyDestroyed: boolean;
  };
  readonly tables: readonly ExportTable[];
  readonly categories: readonly ExportCategory[];
  readonly purposes: readonly ExportPurpose[];
  readonly recipients: readonly ExportRecipient[];
  readonly retention: readonly ExportRetention[];
  /** Who consulted or changed these records and when, from the audit trail (C-579/21). */
  readonly consultations: readonly ExportConsultation[];
  /** P12: the access log (IP address, browser) is never linked to people. */
  readonly accessLog: {
    readonly linked: false;
    readonly truncateIpAfterDays: number | null;
    readonly deleteAfterDays: number;
  };
}

export type CompileDeps = Pick<KluisCore, 'db' | 'personalData'> & {
  readonly keyring: Pick<Keyring, 'decryptForSubject' | 'decryptForOrg' | 'isSubjectKeyDestroyed'>;
  readonly config: Pick<Config, 'accessLog'>;
  readonly retention: Pick<RetentionService, 'activeHolds' | 'restrictionMarks' | 'policiesOf'>;
  readonly register: Pick<RegisterService, 'factsOf'>;
  readonly security: Pick<SecurityService, 'entriesAbout'>;
  readonly subjects: Pick<SubjectsService, 'findById'>;
  /** The catalogue's fields (tests pass an extended list). */
  readonly fields?: readonly CatalogueField[];
};

type Snapshot = RegisterFacts;

/** Categories of the subject's fields, each with its uses and the active sub-processors that get it. */
function categoriesOf(
  usedFields: readonly CatalogueField[],
  derived: readonly DerivedCategory[],
  snapshot: Snapshot,
): ExportCategory[] {
  const active = snapshot.subprocessors.filter((s) => s.status === 'active');
  return derived.map((d) => {
    const uses = new Map<
      string,
      { purposes: Purpose[]; legalBasis: LegalBasis; retention: RetentionPolicyId; fields: string[] }
    >();
    for (const f of usedFields.filter((u) => u.category === d.category)) {
      const key = `${f.purposes.join(',')}|${f.legalBasis}|${f.retention}`;
      const use = uses.get(key) ?? {
        purposes: [...f.purposes],
        legalBasis: f.legalBasis,
        retention: f.retention,
        fields: [],
      };
      use.fields.push(`${f.table}.${f.column}`);
      uses.set(key, use);
    }
    return {
      category: d.category,
      uses: [...uses.values()],
      recipients: active.filter((s) => s.dataCategories.includes(d.category)).map((s) => s.id),
    };
  });
}

function purposesOf(
  usedFields: readonly CatalogueField[],
  derived: readonly DerivedCategory[],
  snapshot: Snapshot,
): ExportPurpose[] {
  const activities = new Map(snapshot.activities.map((a) => [a.purpose, a]));
  return purposeOrder
    .filter((p) => usedFields.some((f) => f.purposes.includes(p)))
    .map((purpose) => {
      const serving = usedFields.filter((f) => f.purposes.includes(purpose));
      return {
        purpose,
        legalBases: legalBases.filter((b) => serving.some((f) => basisOf(f, purpose) === b)),
        categories: derived.map((d) => d.category).filter((c) => serving.some((f) => f.category === c)),
        otherRecipients: activities.get(purpose)?.recipients ?? '',
      };
    });
}

function retentionOf(derived: readonly DerivedCategory[], effective: EffectivePolicies): ExportRetention[] {
  const used = [...new Set(derived.flatMap((d) => d.retention))];
  return used.map((policy) => {
    if (!isManagedPolicy(policy)) return { policy, period: null };
    const p = effective[policy];
    return {
      policy,
      period: {
        value: p.value,
        unit: p.unit,
        trigger: p.trigger,
        action: p.action,
        customised: p.customised,
      },
    };
  });
}

function recipientsOf(snapshot: Snapshot, categories: readonly ExportCategory[]): ExportRecipient[] {
  const ids = new Set(categories.flatMap((c) => c.recipients));
  return snapshot.subprocessors
    .filter((s) => s.status === 'active' && ids.has(s.id))
    .map((s) => ({
      id: s.id,
      name: s.name,
      service: s.service,
      location: s.location,
      country: s.country,
      inEea: s.inEea,
      dataCategories: s.dataCategories,
    }));
}

/** Compiles everything the organisation holds about `subjectId` (ERR_NOT_FOUND outside `scope`). */
export async function compileSubjectExport(
  deps: CompileDeps,
  scope: OrgScope,
  subjectId: string,
  options: { asOf: Date },
): Promise<SubjectExport> {
  const catalogue = deps.fields ?? fieldCatalogue().fields;
  const orgId = scope.orgId;
  const asOf = options.asOf.toISOString();
  const subject = await deps.subjects.findById(deps.db, scope, subjectId);
  if (subject === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'data subject not found' });
  const reader: TableReader = {
    ...deps,
    orgId,
    subjectId,
    subject: { ...subject },
    holds: await deps.retention.activeHolds(deps.db, scope, asOf),
    destroyed: new Set<string>(),
    infos: new Map<string, Map<string, RowInfo>>(),
  };
  const tables: ExportTable[] = [];
  const usedFields: CatalogueField[] = [];
  const auditTypes = new Map<string, string>();
  for (const provider of deps.personalData.all()) {
    for (const link of provider.subjectLinks ?? []) {
      tables.push(await exportTable(reader, provider, link, catalogue, usedFields));
      if (link.auditType !== undefined) auditTypes.set(link.table, link.auditType);
    }
  }
  const snapshot = await deps.register.factsOf(orgId);
  const effective = await deps.retention.policiesOf(orgId);
  // The subject's own fields' categories (not the register's): derived once for the three sections.
  const derived = deriveCategories(usedFields);
  const categories = categoriesOf(usedFields, derived, snapshot);
  const records = new Map([...reader.infos].map(([table, rows]) => [table, [...rows.keys()]]));
  const settings = snapshot.settings;
  return {
    format: EXPORT_FORMAT,
    generatedAt: asOf,
    org: { id: snapshot.org.id, name: snapshot.org.name, kind: snapshot.org.kind },
    controller: {
      name: settings.name,
      privacyEmail: settings.privacyEmail,
      contactEmail: settings.contactEmail,
      contactAddress: settings.contactAddress,
      phone: settings.phone,
      website: settings.website,
    },
    subject: {
      id: subject.id,
      createdAt: subject.created_at,
      erasedAt: subject.erased_at,
      keyDestroyed:
        reader.destroyed.has(subjectId) || (await deps.keyring.isSubjectKeyDestroyed(orgId, subjectId)),
    },
    tables,
    categories,
    purposes: purposesOf(usedFields, derived, snapshot),
    recipients: recipientsOf(snapshot, categories),
    retention: retentionOf(derived, effective),
    consultations: await consultationsOf(deps.security, orgId, records, auditTypes),
    accessLog: {
      linked: false,
      truncateIpAfterDays: deps.config.accessLog.truncateIpAfterDays,
      deleteAfterDays: effective.access_log.value,
    },
  };
}
