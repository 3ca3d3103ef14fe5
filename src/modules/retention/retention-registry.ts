/**
 * The retention targets, gathered from the modules' personal-data providers. The order a sweep
 * runs them per organisation (and reports, forecasts and dry runs list them in) does not depend on
 * where a module sits in the module list: records first and the data subjects they free last (so
 * a subject whose last record goes in this run is erased in the same run); within a phase by
 * policy, in the order of `managedPolicyIds` (as the statement lists them); then module order and
 * each provider's own order. The engine names no table itself.
 */
import type { PersonalDataProvider } from '../personal-data.js';
import { managedPolicyIds } from './retention-policies.js';
import type { RetentionTarget, SubjectReference, TargetPhase } from './retention-target.js';

/** The installation-wide access-log step (P12), reported like a target. */
export const ACCESS_LOG_TARGET = 'security.access_log';

const phases: readonly TargetPhase[] = ['records', 'subjects'];

/** What a sweep runs, in order. */
export function sweepTargets(providers: readonly PersonalDataProvider[]): RetentionTarget[] {
  const rank = (t: RetentionTarget) =>
    phases.indexOf(t.phase) * managedPolicyIds.length + managedPolicyIds.indexOf(t.policy);
  // A stable sort: module and provider order stay within a phase and policy.
  return providers.flatMap((p) => p.retentionTargets ?? []).sort((a, b) => rank(a) - rank(b));
}

/** What the ledger replay applies: the sweep's targets and the erasures no sweep runs. */
export function replayTargets(providers: readonly PersonalDataProvider[]): RetentionTarget[] {
  return [...sweepTargets(providers), ...providers.flatMap((p) => p.replayTargets ?? [])];
}

/** The rows that keep a data subject, from every provider. */
export function subjectReferencesOf(providers: readonly PersonalDataProvider[]): SubjectReference[] {
  return providers.flatMap((p) => p.subjectReferences ?? []);
}

/** Every category a report or forecast can name. */
export function retentionCategories(providers: readonly PersonalDataProvider[]): string[] {
  return [...sweepTargets(providers).map((t) => t.id), ACCESS_LOG_TARGET];
}

export function findTarget(id: string, targets: readonly RetentionTarget[]): RetentionTarget | undefined {
  return targets.find((t) => t.id === id);
}
