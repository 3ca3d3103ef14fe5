/**
 * Personal-data providers: each module that owns personal data answers, for its own tables only,
 * which rows belong to a data subject (the access export and erasure follow these links), which
 * rows keep a subject alive, which records are past their period and how retention applies to
 * them, and which records can be restricted. Retention, erasure, the access export, tenant
 * offboarding and compelled disclosure orchestrate over the providers and name no table of
 * another module themselves; a test checks that every table a provider names is its module's.
 */
import type { AnyModule, KluisCore, KluisServices, PersonalDataRegistry } from './module.js';
import type { RetentionTarget, SubjectReference } from './retention/index.js';
import type { LinkedTable } from './rights/index.js';

export interface PersonalDataProvider {
  /** The module that provides it (its manifest's name). */
  readonly module: string;
  /**
   * How rows of this module's tables belong to a data subject, in order (a `parent` link after
   * its parent's link): the access export reads them, erasure reaches them.
   */
  readonly subjectLinks?: readonly LinkedTable[];
  /** This module's tables that are not linked to data subjects, with the reason. */
  readonly notLinked?: Readonly<Record<string, string>>;
  /** Rows that keep a data subject: a subject is erased only when none remain. */
  readonly subjectReferences?: readonly SubjectReference[];
  /** What the retention engine sweeps in this module, in the order it runs them. */
  readonly retentionTargets?: readonly RetentionTarget[];
  /** Tables whose records can be restricted (kept only for a legal duty, Art. 18). */
  readonly restrictable?: readonly string[];
}

/** The registry every Kluis core carries; filled once all services are built. */
export function createPersonalDataRegistry(): PersonalDataRegistry & {
  seal(list: readonly AnyModule[], core: KluisCore, services: KluisServices): void;
} {
  let providers: readonly PersonalDataProvider[] | undefined;
  return {
    all() {
      if (providers === undefined)
        throw new Error('personal-data providers are read before the services are built');
      return providers;
    },
    seal(list, core, services) {
      const deps = { ...core, ...services };
      providers = list.flatMap((m) => (m.personalData === undefined ? [] : [m.personalData(deps)]));
    },
  };
}
