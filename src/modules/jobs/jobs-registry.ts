/**
 * Job handlers by type. A worker runs only what its registry knows; a job of an unknown type
 * fails with ERR_JOB_UNKNOWN_TYPE. Payloads are validated with the type's zod schema before the
 * handler sees them (an invalid payload fails at once: retrying cannot fix it).
 */
import type { z } from 'zod';
import type { Kluis } from '../../kluis.js';
import { AppError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';

export interface JobInfo {
  readonly id: string;
  readonly type: string;
  /** 1 on the first run. */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly orgId: string | null;
}

export interface JobContext {
  readonly kluis: Kluis;
  readonly job: JobInfo;
  /** A child logger bound to the job id and type (never log payload values). */
  readonly logger: Logger;
  /** Extends this job's lease; long handlers call it so no other worker takes the job over. */
  heartbeat(): Promise<void>;
}

export type JobHandler<T> = (payload: T, ctx: JobContext) => Promise<void>;

export interface JobTypeOptions {
  /** How long a claim holds before another worker may take the job over (default: the worker's). */
  readonly leaseMs?: number;
  /** First retry delay; doubles per attempt (default: the worker's). */
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  /** Replace the payload with `{}` once the job is done (e.g. sealed mail envelopes). */
  readonly scrubPayloadWhenDone?: boolean;
}

export interface RegisteredJob {
  readonly type: string;
  readonly options: JobTypeOptions;
  run(payload: unknown, ctx: JobContext): Promise<void>;
}

export const jobTypePattern = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

export function createJobRegistry() {
  const jobs = new Map<string, RegisteredJob>();
  return {
    /** Registers `handler` for `type` (`module.verb`, e.g. `mail.send`). */
    register<S extends z.ZodType>(
      type: string,
      schema: S,
      handler: JobHandler<z.output<S>>,
      options: JobTypeOptions = {},
    ): void {
      if (!jobTypePattern.test(type)) throw new Error(`job type ${type} must look like module.verb`);
      if (jobs.has(type)) throw new Error(`job type ${type} is registered twice`);
      jobs.set(type, {
        type,
        options,
        async run(payload, ctx) {
          const parsed = schema.safeParse(payload);
          if (!parsed.success) {
            throw new AppError('ERR_VALIDATION', {
              message: `payload of ${type} does not match its schema (${parsed.error.issues
                .map((i) => `${i.path.join('.') || '(root)'}:${i.code}`)
                .join(', ')})`,
            });
          }
          await handler(parsed.data, ctx);
        },
      });
    },
    get(type: string): RegisteredJob | undefined {
      return jobs.get(type);
    },
    types(): string[] {
      return [...jobs.keys()].sort();
    },
  };
}

export type JobRegistry = ReturnType<typeof createJobRegistry>;
