/**
 * The one list of retention targets, in the order a sweep runs them per organisation: records
 * first, the data subjects they free last (so a subject whose last record goes in this run is
 * erased in the same run). A module that stores personal data adds its target here (one import,
 * one entry) and its subject-referencing tables to `subjectReferences`.
 */
import { rightsRequestsTarget } from '../rights/rights-retention-target.js';
import type { RetentionTarget } from './retention-target.js';
import { conversationsTarget, quarantineTarget } from './retention-targets-intake.js';
import {
  clientDataTarget,
  endedMandatesTarget,
  fiscalCollectionsTarget,
  fiscalMandatesTarget,
  fiscalRelationsTarget,
} from './retention-targets-relations.js';
import { subjectReferences, subjectsTarget } from './retention-targets-subjects.js';

export const retentionTargets: readonly RetentionTarget[] = [
  conversationsTarget,
  quarantineTarget,
  clientDataTarget,
  endedMandatesTarget,
  fiscalCollectionsTarget,
  fiscalMandatesTarget,
  fiscalRelationsTarget,
  rightsRequestsTarget,
  subjectsTarget,
];

export { subjectReferences };

/** The installation-wide access-log step (P12), reported like a target. */
export const ACCESS_LOG_TARGET = 'security.access_log';

/** Every category a report or forecast can name. */
export const retentionCategories: readonly string[] = [
  ...retentionTargets.map((t) => t.id),
  ACCESS_LOG_TARGET,
];

export function findTarget(
  id: string,
  targets: readonly RetentionTarget[] = retentionTargets,
): RetentionTarget | undefined {
  return targets.find((t) => t.id === id);
}
