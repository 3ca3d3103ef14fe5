/**
 * Personal-data providers: each module that owns personal data answers, for its own tables only,
 * which rows belong to a data subject (the access export and erasure follow these links), which
 * rows keep a subject alive, which records are past their period and how retention applies to
 * them, how a subject is erased, which records can be restricted or held, and how a subject can
 * be reached. Retention, erasure, the access export, tenant offboarding and compelled disclosure
 * orchestrate over the providers and name no table of another module themselves.
 *
 * A provider is a plain value, like a module's migrations and catalogue: its functions work on the
 * transaction and context they are handed and keep no state. That is what lets the erasure-ledger
 * replay run on a restored copy of the database with no Kluis around it (`kluis backup restore`
 * must not open the live databases). The list is installed when `modules/index.ts` loads and
 * checked then: a provider naming a table its module does not own stops the process.
 */
import type { Kysely } from 'kysely';
import type { Keyring } from '../crypto/keyring.js';
import type { DB } from '../db/schema.js';
import type { OrgScope } from '../shared/actor.js';
import type { DataCategory, RetentionPolicyId } from '../shared/catalogue.js';
import type { Clock } from '../shared/clock.js';
import { AppError } from '../shared/errors.js';
import type { AnyModule } from './module.js';
import type { RetentionTarget, SubjectReference, TargetContext } from './retention/index.js';
import type { AuditService } from './security/index.js';

/** How a table's rows belong to a data subject; a `parent` link comes after its parent's link. */
export type SubjectLink =
  | { readonly table: string; readonly via: 'self' }
  | { readonly table: string; readonly via: 'subject' }
  | { readonly table: string; readonly via: 'parent'; readonly column: string; readonly parent: string };

export interface LinkDetails {
  /** Sort keys of the rows in the export (the row id breaks ties). */
  readonly orderBy: readonly string[];
  /** Columns left out of the export, with the reason (besides `org_id`, which every table has). */
  readonly omit?: Readonly<Record<string, string>>;
  /**
   * Sealed columns that hold a file (base64 of the bytes, as the keyring seals text), with the
   * column that holds its name: the export's zip carries them as files as well.
   */
  readonly files?: Readonly<Record<string, string>>;
  /** Columns PostgreSQL returns as strings (bigint) that are numbers. */
  readonly numbers?: readonly string[];
  /** Plain columns of the parent shown next to each row, as context (never sealed ones). */
  readonly context?: { readonly via: string; readonly parent: string; readonly columns: readonly string[] };
  /** The `target.type` of this table's audit entries: the export lists who consulted the rows. */
  readonly auditType?: string;
}

/**
 * A link also says whose key seals the row's `subject_key` fields (the AAD is always
 * {table, column, row id}): `self` the subject row itself (only blind indexes), `subject` the
 * row's own `subject_id`, `parent` the subject key of the parent row.
 */
export type LinkedTable = SubjectLink & LinkDetails;

/** What an erasure runs in: the retention context plus what only an erasure on request has. */
export interface ErasureContext extends TargetContext {
  /** The rights request this erasure fulfils: its reply address stays until the request closes. */
  readonly keepRequestId?: string | undefined;
  /**
   * Present for an erasure on request, absent on a ledger replay: a module uses it to re-seal,
   * under a key of their own, the values a legal duty keeps, before the subject's key goes.
   */
  readonly keyring?: Keyring | undefined;
  /**
   * On a ledger replay: what this module's erasure carried in the ledger line (its `carry`), so
   * the replay can redo what needed a key it no longer has (decision 0010, the fiscal remnant).
   */
  readonly carried?: unknown;
}

/** Rows a legal duty keeps after an erasure, for the reply to the requester. */
export interface RetainedRows {
  readonly table: string;
  readonly count: number;
  /** The legal ground, as a retention policy id (`fiscal_7y`: AWR art. 52). */
  readonly reason: RetentionPolicyId;
  /** The day the rows are deleted (ISO date), when known. */
  readonly until: string | null;
  /** Readable only by the role that needs them from now on (Art. 18). */
  readonly restricted: boolean;
  /** The categories the reply names; the table's catalogue categories when omitted. */
  readonly categories?: readonly DataCategory[];
}

/** What one module's erasure did, per table (counts only). */
export interface ErasedRows {
  readonly deleted: Readonly<Record<string, number>>;
  /** Rows kept with the module's `clears` columns emptied. */
  readonly cleared: Readonly<Record<string, number>>;
  readonly retained: readonly RetainedRows[];
  /** Other counts worth telling (e.g. `ended_relations`), for the audit entry and the reply. */
  readonly notes?: Readonly<Record<string, number>>;
  /** Subjects this erasure created to hold what a duty keeps: their keys go if it rolls back. */
  readonly createdSubjects?: readonly string[];
  /**
   * What a ledger replay needs to redo this part without the erased subject's key (written to the
   * erasure's ledger line and handed back as `ErasureContext.carried`). Ids and values sealed under
   * a key the erasure created (one that a later erasure can destroy) — never a clear value.
   */
  readonly carry?: unknown;
}

export interface SubjectErasure {
  /** This module's tables the erasure reaches, in the order an outcome lists them. */
  readonly tables: readonly string[];
  /** Columns emptied in rows the erasure keeps (the rest of a kept row holds no personal value). */
  readonly clears?: Readonly<Record<string, readonly string[]>>;
  /** The subject's records a legal hold may name (`table:id`): erasure waits while one is held. */
  heldRecords(db: Kysely<DB>, ctx: ErasureContext, subjectId: string): Promise<readonly string[]>;
  /**
   * Erases everything about `subjectId` in this module's tables that no legal duty keeps, in the
   * caller's transaction. Unconditional and idempotent, so the ledger replay can apply it again.
   */
  erase(trx: Kysely<DB>, ctx: ErasureContext, subjectId: string): Promise<ErasedRows>;
}

/** An address to reach a data subject at, with the name to address them by. */
export interface ContactAddress {
  readonly email: string;
  readonly name: string;
}

/** Where a module keeps a way to reach its subjects. */
export interface ContactPoints {
  /** The fields (`table.column`) a look-up reads: the audit entry of each use names them. */
  readonly fields: readonly string[];
  /** The address of each of `subjectIds` it knows; records restricted for a legal duty are never used. */
  lookup(
    deps: ContactLookupDeps,
    scope: OrgScope,
    subjectIds: readonly string[],
  ): Promise<ReadonlyMap<string, ContactAddress>>;
}

export interface ContactLookupDeps {
  readonly db: Kysely<DB>;
  readonly keyring: Keyring;
  readonly clock: Clock;
  /** Reading someone's address is a read of personal data: the provider audits it. */
  readonly audit: AuditService;
}

export interface PersonalDataProvider {
  /** The module that provides it (its manifest's name). */
  readonly module: string;
  /** How rows of this module's tables belong to a data subject, in order. */
  readonly subjectLinks?: readonly LinkedTable[];
  /** This module's tables that are not linked to data subjects, with the reason. */
  readonly notLinked?: Readonly<Record<string, string>>;
  /** Rows that keep a data subject: a subject is erased only when none remain. */
  readonly subjectReferences?: readonly SubjectReference[];
  /** This module's tables with a `subject_id` whose rows do not keep their subject, and why. */
  readonly notReferencing?: Readonly<Record<string, string>>;
  /** What the retention engine sweeps in this module (by phase and policy, then in this order). */
  readonly retentionTargets?: readonly RetentionTarget[];
  /** Erasures the ledger records that no sweep runs (erasure on request): replayed after a restore. */
  readonly replayTargets?: readonly RetentionTarget[];
  /** Tables whose records can be restricted (kept only for a legal duty, Art. 18). */
  readonly restrictable?: readonly string[];
  /** Tables whose records a legal hold can name. */
  readonly holdable?: readonly string[];
  /** Erasing a subject from this module's tables (Art. 17). */
  readonly erasure?: SubjectErasure;
  /** How this module's subjects can be reached (for a use they agreed to, or about a breach). */
  readonly contactPoints?: ContactPoints;
}

export interface PersonalDataRegistry {
  /** Every provider, in module order. */
  all(): readonly PersonalDataProvider[];
  /** The module that owns `table` (from the manifests). */
  ownerOf(table: string): string | undefined;
  /** Every table of every module, in module order and each manifest's order (offboarding deletes in reverse). */
  tables(): readonly string[];
}

/**
 * Every table a provider names (for the ownership check). A replay target is left out: it reads
 * nothing itself (an erasure on request calls the providers), and its ids may be another module's
 * (data subjects).
 */
export function tablesNamedBy(p: PersonalDataProvider): string[] {
  const targets = p.retentionTargets ?? [];
  return [
    ...(p.subjectLinks ?? []).flatMap((l) => [
      l.table,
      ...(l.via === 'parent' ? [l.parent] : []),
      ...(l.context === undefined ? [] : [l.context.parent]),
    ]),
    ...Object.keys(p.notLinked ?? {}),
    ...(p.subjectReferences ?? []).map((r) => r.table),
    ...Object.keys(p.notReferencing ?? {}),
    ...targets.map((t) => t.table),
    ...(p.restrictable ?? []),
    ...(p.holdable ?? []),
    ...(p.erasure?.tables ?? []),
    ...Object.keys(p.erasure?.clears ?? {}),
  ];
}

/**
 * The providers of `list`, checked: one per module, each naming only its own module's tables,
 * retention targets with unique ids.
 */
export function personalDataOf(list: readonly AnyModule[]): PersonalDataRegistry {
  const owners = new Map<string, string>();
  for (const m of list) for (const table of m.tables ?? []) owners.set(table, m.name);
  const providers: PersonalDataProvider[] = [];
  const targetIds = new Set<string>();
  for (const m of list) {
    const p = m.personalData;
    if (p === undefined) continue;
    if (p.module !== m.name) throw new Error(`module ${m.name} declares the provider of ${p.module}`);
    for (const table of tablesNamedBy(p)) {
      if (owners.get(table) !== m.name) {
        throw new Error(`the personal-data provider of ${m.name} names ${table}, which it does not own`);
      }
    }
    for (const t of [...(p.retentionTargets ?? []), ...(p.replayTargets ?? [])]) {
      if (targetIds.has(t.id)) throw new Error(`retention target ${t.id} is declared twice`);
      targetIds.add(t.id);
    }
    providers.push(p);
  }
  return { all: () => providers, ownerOf: (table) => owners.get(table), tables: () => [...owners.keys()] };
}

/**
 * Refuses a generic read of `table` on behalf of `provider` unless its module owns the table: the
 * access export and the hold form read linked tables by their declared names, never others.
 */
export function assertOwnTable(
  registry: PersonalDataRegistry,
  provider: Pick<PersonalDataProvider, 'module'>,
  table: string,
): void {
  if (registry.ownerOf(table) !== provider.module) {
    throw new AppError('ERR_INTERNAL', { message: `${provider.module} may not read ${table}` });
  }
}

let installed: PersonalDataRegistry | undefined;

/** Installs the providers of the module list (modules/index.ts does, when it loads). */
export function installPersonalData(list: readonly AnyModule[]): PersonalDataRegistry {
  installed = personalDataOf(list);
  return installed;
}

/** The installed providers; throws when read before the module list has loaded (a bug). */
export function installedPersonalData(): PersonalDataRegistry {
  if (installed === undefined)
    throw new Error('the personal-data providers are read before modules/index.ts installed them');
  return installed;
}
