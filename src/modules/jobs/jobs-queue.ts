/**
 * Queue use cases: enqueue (inside the caller's transaction), retry timing, error records
 * without personal data, pruning and health figures (the staff's use cases: jobs-service.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../shared/clock.js';
import { DAY } from '../../shared/clock.js';
import { AppError, type ErrorCode, isAppError } from '../../shared/errors.js';
import { jobTypePattern } from './jobs-registry.js';
import { createJobsRepository, type DepthRow, type JobRow } from './jobs-repository.js';
import { createSchedulesRepository, type ScheduleRow } from './jobs-schedules-repository.js';

export const DEFAULT_MAX_ATTEMPTS = 5;
export const MAX_PAYLOAD_BYTES = 16 * 1024;

export interface EnqueueInput {
  /** `module.verb`, e.g. `mail.send`. */
  type: string;
  /** JSON object of ids and codes. Never personal values: seal them or reference the entity. */
  payload: Readonly<Record<string, unknown>>;
  /** Not before this time (default: now). */
  runAt?: Date;
  maxAttempts?: number;
  /** A second enqueue with the same key returns the first job instead of adding one. */
  dedupeKey?: string;
  /** The organisation the job works for, if any. */
  orgId?: string | null;
  /** A pre-generated id (e.g. when the payload is sealed with the job id as associated data). */
  id?: string;
}

export interface EnqueuedJob {
  id: string;
  /** False when the dedupe key already named a job. */
  created: boolean;
}

// Something that reads like an email address: payloads must carry ids, not addresses.
const emailLike = /[^\s@<>"'(),;:]+@[^\s@<>"'(),;:]+\.[a-z]{2,}/i;

function findPersonalLookingValue(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return emailLike.test(value) ? path : undefined;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const hit = findPersonalLookingValue(v, `${path}[${i}]`);
      if (hit !== undefined) return hit;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const hit = findPersonalLookingValue(v, path === '' ? k : `${path}.${k}`);
      if (hit !== undefined) return hit;
    }
  }
  return undefined;
}

function invalid(message: string): AppError {
  return new AppError('ERR_VALIDATION', { message });
}

/**
 * Adds a job. Pass the caller's transaction as `db` so the job exists exactly when the change
 * that asked for it commits. Idempotent with `dedupeKey`.
 */
export async function enqueue(db: Kysely<DB>, clock: Clock, input: EnqueueInput): Promise<EnqueuedJob> {
  if (!jobTypePattern.test(input.type)) throw invalid(`job type ${input.type} must look like module.verb`);
  const maxAttempts = input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100) {
    throw invalid('maxAttempts must be an integer from 1 to 100');
  }
  if (input.dedupeKey !== undefined && (input.dedupeKey.length === 0 || input.dedupeKey.length > 200)) {
    throw invalid('dedupeKey must be 1 to 200 characters');
  }
  const payload = JSON.stringify(input.payload);
  if (Buffer.byteLength(payload, 'utf8') > MAX_PAYLOAD_BYTES) throw invalid('job payload too large');
  const personal = findPersonalLookingValue(JSON.parse(payload), '');
  if (personal !== undefined) {
    throw invalid(`job payload field ${personal} looks like an email address: store ids or sealed values`);
  }
  const repo = createJobsRepository(db);
  const now = clock.now().toISOString();
  const id = input.id ?? randomUUID();
  const created = await repo.insert({
    id,
    type: input.type,
    payload,
    run_at: (input.runAt ?? clock.now()).toISOString(),
    attempts: 0,
    max_attempts: maxAttempts,
    status: 'queued',
    locked_by: null,
    locked_until: null,
    last_error: null,
    created_at: now,
    updated_at: now,
    org_id: input.orgId ?? null,
    dedupe_key: input.dedupeKey ?? null,
  });
  if (created || input.dedupeKey === undefined) return { id, created: true };
  const existing = await repo.findByDedupeKey(input.dedupeKey);
  if (existing === undefined) throw new AppError('ERR_CONFLICT', { message: 'job dedupe conflict' });
  return { id: existing.id, created: false };
}

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Up to this fraction of the delay is added at random, so retries of many jobs spread out. */
  jitterRatio?: number;
}

/** Delay before the retry that follows failed attempt `attempt` (1-based): base·2^(attempt−1), capped, plus jitter. */
export function backoffMs(attempt: number, random: () => number, o: BackoffOptions): number {
  const exponential = Math.min(o.maxMs, o.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential + exponential * (o.jitterRatio ?? 0.2) * random());
}

/** Codes that no retry can fix: the job fails at once. */
export const permanentErrorCodes: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ERR_JOB_UNKNOWN_TYPE',
  'ERR_VALIDATION',
  'ERR_CRYPTO_KEY_DESTROYED',
  'ERR_CRYPTO_DECRYPT_FAILED',
  'ERR_NOT_FOUND',
  // A destination that is not a registered recipient (P14) stays refused until someone registers it.
  'ERR_EGRESS_REFUSED',
]);

export function isPermanentJobError(error: unknown): boolean {
  return isAppError(error) && permanentErrorCodes.has(error.code);
}

/**
 * The error as stored in `last_error`: the AppError code and its internal message (which never
 * holds personal data), plus a system error code of the cause such as ECONNREFUSED. Other errors
 * are recorded by class name only: their messages may quote personal values.
 */
export function describeJobError(error: unknown): string {
  if (isAppError(error)) {
    const causeCode = (error.cause as { code?: unknown } | undefined)?.code;
    const suffix =
      typeof causeCode === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(causeCode) ? ` (${causeCode})` : '';
    return `${error.code}: ${error.message}${suffix}`.slice(0, 500);
  }
  const name = error instanceof Error ? error.constructor.name || 'Error' : typeof error;
  return `ERR_INTERNAL: unexpected ${name}`.slice(0, 500);
}

export interface PruneOptions {
  doneAfterDays?: number;
  failedAfterDays?: number;
}

/** Deletes finished jobs after a while, so the queue holds no history beyond what operations need. */
export async function pruneJobs(
  db: Kysely<DB>,
  clock: Clock,
  o: PruneOptions = {},
): Promise<{ done: number; failed: number }> {
  const repo = createJobsRepository(db);
  const now = clock.now().getTime();
  return {
    done: await repo.deleteFinishedBefore('done', new Date(now - (o.doneAfterDays ?? 7) * DAY).toISOString()),
    failed: await repo.deleteFinishedBefore(
      'failed',
      new Date(now - (o.failedAfterDays ?? 30) * DAY).toISOString(),
    ),
  };
}

export interface JobsHealth {
  depth: DepthRow[];
  failed: JobRow[];
  schedules: ScheduleRow[];
  oldestDueQueuedAt: string | undefined;
}

/** What the staff health page shows. */
export async function jobsHealth(db: Kysely<DB>, clock: Clock): Promise<JobsHealth> {
  const repo = createJobsRepository(db);
  return {
    depth: await repo.depthByTypeAndStatus(),
    failed: await repo.listFailed(50),
    schedules: await createSchedulesRepository(db).listSchedules(),
    oldestDueQueuedAt: await repo.oldestDueQueuedRunAt(clock.now().toISOString()),
  };
}

/** A due job waiting longer than this means no worker is taking jobs. */
export const STALL_AFTER_MS = 15 * 60_000;

/** For the public /healthz: one word, no figures. */
export async function queueState(db: Kysely<DB>, clock: Clock): Promise<'ok' | 'stalled'> {
  const now = clock.now();
  const oldest = await createJobsRepository(db).oldestDueQueuedRunAt(now.toISOString());
  return oldest !== undefined && now.getTime() - Date.parse(oldest) > STALL_AFTER_MS ? 'stalled' : 'ok';
}
