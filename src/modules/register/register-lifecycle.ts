/**
 * The rules of a sub-processor's lifecycle (Art. 28(2) and (4), Art. 44-46): proposed →
 * announced (the clients get a notice period in which they may object) → active → ended.
 * Active needs a processor agreement on file; outside the EEA also the transfer mechanism
 * (adequacy decision, standard contractual clauses with their date, or binding corporate rules)
 * and a short transfer assessment. Pure functions: the service applies them before any write.
 */
import { DAY } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { MessageKey } from '../../shared/i18n/messages.js';
import type { SubprocessorLifecycle, TransferMechanism } from './register-schema.js';

export interface ActivationFacts {
  readonly inEea: boolean;
  readonly hasAgreement: boolean;
  readonly transferMechanism: TransferMechanism | '' | null;
  readonly sccDate: string | null;
  readonly transferAssessment: string;
}

/** What is missing before a sub-processor may be active: form field → message. */
export function activationProblems(f: ActivationFacts): Record<string, MessageKey> {
  const problems: Record<string, MessageKey> = {};
  if (!f.hasAgreement) problems.agreementVersion = 'register.sp.activeNeedsAgreement';
  if (!f.inEea) {
    if (f.transferMechanism === null || f.transferMechanism === '') {
      problems.transferMechanism = 'register.sp.activeNeedsMechanism';
    } else if (f.transferMechanism === 'scc' && (f.sccDate ?? '') === '') {
      problems.sccDate = 'register.sp.sccNeedsDate';
    }
    if (f.transferAssessment.trim() === '') problems.transferAssessment = 'register.sp.activeNeedsAssessment';
  }
  return problems;
}

/** Refuses (400, per field) to make a sub-processor active without what Art. 28 and 46 require. */
export function assertMayBeActive(f: ActivationFacts): void {
  const fields = activationProblems(f);
  if (Object.keys(fields).length > 0) {
    throw new AppError('ERR_VALIDATION', {
      message: `a sub-processor cannot be active without: ${Object.keys(fields).join(', ')}`,
      fields,
    });
  }
}

/** The calendar date (UTC) of `now`, YYYY-MM-DD. */
export function dateOf(now: Date): string {
  return now.toISOString().slice(0, 10);
}

/** `date` (YYYY-MM-DD) plus `days`. */
export function addDays(date: string, days: number): string {
  return dateOf(new Date(new Date(`${date}T00:00:00.000Z`).getTime() + days * DAY));
}

/**
 * Whether a change of lifecycle is allowed, given the notice rule: the operator with clients
 * brings a new sub-processor in only through an announcement whose notice period has run.
 * Returns the refusal's message, or undefined when allowed.
 */
export function transitionProblem(o: {
  from: SubprocessorLifecycle | undefined;
  to: SubprocessorLifecycle;
  needsNotice: boolean;
  effectiveOn: string | null;
  today: string;
}): MessageKey | undefined {
  const { from, to } = o;
  if (from === to) return undefined;
  if (to === 'announced') return 'register.sp.useAnnounce';
  if (to === 'proposed') return from === undefined ? undefined : 'register.sp.cannotPropose';
  if (to === 'active' && o.needsNotice) {
    if (from !== 'announced') return 'register.sp.activeNeedsNotice';
    if (o.effectiveOn !== null && o.today < o.effectiveOn) return 'register.sp.activeBeforeDate';
  }
  return undefined;
}

/** Whether the public (and the clients) see a sub-processor in this state as working for the org. */
export function isPublished(lifecycle: SubprocessorLifecycle | undefined): boolean {
  return lifecycle === 'active' || lifecycle === 'ended';
}
