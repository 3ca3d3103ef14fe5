/**
 * The worker: ticks the scheduler, claims due jobs (leased), runs their handlers, and records
 * done / retry with backoff / failed. `kluis serve` runs one in-process; `kluis worker` runs it
 * alone. Tests drive it with `runOnce()` and a fixed clock; `start()` polls with a timer.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kluis } from '../../kluis.js';
import { AppError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { backoffMs, describeJobError, isPermanentJobError } from './jobs-queue.js';
import type { JobContext, JobRegistry } from './jobs-registry.js';
import { createLeasesRepository, type JobRow } from './jobs-repository.js';
import { type ScheduledRun, tickSchedules } from './jobs-scheduler.js';

export interface WorkerOptions {
  kluis: Kluis;
  registry: JobRegistry;
  /** Jobs run at the same time by this worker (default 2). */
  concurrency?: number;
  /** Idle wait between polls when `start()`ed (default 1000 ms). */
  pollMs?: number;
  /** Default lease per claim (default 5 minutes). */
  leaseMs?: number;
  /** Default retry delay base and cap (30 s, doubling, at most 1 hour). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Jitter source in [0, 1) (default Math.random); tests pass a fixed one. */
  random?: () => number;
  /** Whether this worker also ticks the scheduler (default true). */
  scheduler?: boolean;
  workerId?: string;
}

export type JobOutcome = 'done' | 'retry' | 'failed' | 'lost';

export interface RunSummary {
  claimed: number;
  done: number;
  retried: number;
  failed: number;
  /** Finished after another worker took the job over (lease expired): nothing recorded. */
  lost: number;
  scheduled: ScheduledRun[];
}

interface RunnerDeps {
  readonly kluis: WorkerOptions['kluis'];
  readonly registry: WorkerOptions['registry'];
  readonly options: WorkerOptions;
  readonly repo: ReturnType<typeof createLeasesRepository>;
  readonly workerId: string;
  readonly leaseMs: number;
  readonly random: () => number;
  readonly logger: Logger;
  /** Now (plus `ms`) on the Kluis clock, as ISO text. */
  readonly iso: (ms?: number) => string;
}

/**
 * Runs one claimed job under its lease and records the outcome (done, retry with backoff, or
 * failed), reporting as `workerId`: a worker whose lease was taken over records nothing.
 */
function createJobRunner(deps: RunnerDeps): (job: JobRow) => Promise<JobOutcome> {
  const { kluis, registry, options, repo, workerId, leaseMs, random, logger, iso } = deps;
  async function runJob(job: JobRow): Promise<JobOutcome> {
    const def = registry.get(job.type);
    const jobLog = logger.child({ jobId: job.id, type: job.type, attempt: job.attempts });
    const jobLeaseMs = def?.options.leaseMs ?? leaseMs;
    try {
      if (def === undefined) {
        throw new AppError('ERR_JOB_UNKNOWN_TYPE', { message: `no handler registered for ${job.type}` });
      }
      if (jobLeaseMs !== leaseMs) {
        await repo.extendLease({ id: job.id, workerId, now: iso(), lockedUntil: iso(jobLeaseMs) });
      }
      let payload: unknown;
      try {
        payload = JSON.parse(job.payload);
      } catch (cause) {
        throw new AppError('ERR_VALIDATION', { message: 'payload is not JSON', cause });
      }
      const ctx: JobContext = {
        kluis,
        logger: jobLog,
        job: {
          id: job.id,
          type: job.type,
          attempt: job.attempts,
          maxAttempts: job.max_attempts,
          orgId: job.org_id,
        },
        heartbeat: async () => {
          await repo.extendLease({ id: job.id, workerId, now: iso(), lockedUntil: iso(jobLeaseMs) });
        },
      };
      await def.run(payload, ctx);
      const recorded = await repo.markDone({
        id: job.id,
        workerId,
        now: iso(),
        scrubPayload: def.options.scrubPayloadWhenDone ?? false,
      });
      jobLog.info(recorded ? 'job done' : 'job done after its lease was taken over');
      return recorded ? 'done' : 'lost';
    } catch (error) {
      const lastError = describeJobError(error);
      const code = lastError.split(':')[0];
      if (isPermanentJobError(error) || job.attempts >= job.max_attempts) {
        const recorded = await repo.markFailed({ id: job.id, workerId, now: iso(), lastError });
        jobLog.error({ code }, 'job failed');
        return recorded ? 'failed' : 'lost';
      }
      const delay = backoffMs(job.attempts, random, {
        baseMs: def?.options.backoffBaseMs ?? options.backoffBaseMs ?? 30_000,
        maxMs: def?.options.backoffMaxMs ?? options.backoffMaxMs ?? 3_600_000,
      });
      const recorded = await repo.markRetry({
        id: job.id,
        workerId,
        now: iso(),
        runAt: iso(delay),
        lastError,
      });
      jobLog.warn({ code, retryInMs: delay }, 'job will be retried');
      return recorded ? 'retry' : 'lost';
    }
  }
  return runJob;
}

function summarise(outcomes: JobOutcome[], scheduled: ScheduledRun[]): RunSummary {
  const count = (o: JobOutcome) => outcomes.filter((x) => x === o).length;
  return {
    claimed: outcomes.length,
    done: count('done'),
    retried: count('retry'),
    failed: count('failed'),
    lost: count('lost'),
    scheduled,
  };
}

export function createWorker(options: WorkerOptions) {
  const { kluis, registry } = options;
  const { clock } = kluis;
  const concurrency = Math.max(1, options.concurrency ?? 2);
  const pollMs = options.pollMs ?? 1000;
  const leaseMs = options.leaseMs ?? 5 * 60_000;
  const random = options.random ?? Math.random;
  const workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const logger = kluis.logger.child({ worker: workerId });
  const repo = createLeasesRepository(kluis.db);
  const inFlight = new Set<Promise<JobOutcome>>();

  let started = false;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let pumping: Promise<void> | undefined;
  let pumpAgain = false;

  const iso = (ms = 0) => new Date(clock.now().getTime() + ms).toISOString();
  const runJob = createJobRunner({ kluis, registry, options, repo, workerId, leaseMs, random, logger, iso });

  async function tick(): Promise<ScheduledRun[]> {
    if (options.scheduler === false) return [];
    const runs = await tickSchedules(kluis.db, clock);
    for (const r of runs)
      logger.info({ schedule: r.name, slot: r.slot, jobId: r.jobId }, 'schedule enqueued');
    return runs;
  }

  async function claim(limit: number): Promise<JobRow[]> {
    if (limit <= 0) return [];
    const now = iso();
    const exhausted = await repo.failExhaustedLeases(
      now,
      'ERR_JOB_LEASE_EXPIRED: lease expired on the last attempt',
    );
    if (exhausted > 0) logger.warn({ count: exhausted }, 'jobs failed after their last lease expired');
    return repo.claim({ now, workerId, lockedUntil: iso(leaseMs), limit });
  }

  function track(job: JobRow): Promise<JobOutcome> {
    const run = runJob(job).catch((error: unknown) => {
      // Recording the outcome failed (database down): the lease expires and the job comes back.
      logger.error(
        { jobId: job.id, code: describeJobError(error).split(':')[0] },
        'job outcome not recorded',
      );
      return 'lost' as const;
    });
    inFlight.add(run);
    void run.finally(() => {
      inFlight.delete(run);
      if (started && !stopping) void pump(false);
    });
    return run;
  }

  /** One loop step for `start()`: tick (on the timer only), then fill free slots. */
  async function step(fromTimer: boolean): Promise<void> {
    if (fromTimer) await tick();
    const jobs = await claim(concurrency - inFlight.size);
    for (const job of jobs) track(job);
  }

  function pump(fromTimer: boolean): Promise<void> {
    if (pumping !== undefined) {
      pumpAgain = true;
      return pumping;
    }
    pumping = (async () => {
      let timed = fromTimer;
      do {
        pumpAgain = false;
        try {
          await step(timed);
        } catch (error) {
          logger.error({ code: describeJobError(error).split(':')[0] }, 'worker poll failed');
        }
        timed = false;
      } while (pumpAgain && !stopping);
    })().finally(() => {
      pumping = undefined;
      if (started && !stopping) {
        if (timer !== undefined) clearTimeout(timer);
        timer = setTimeout(() => void pump(true), pollMs);
      }
    });
    return pumping;
  }

  /** Runs the scheduler tick and one batch of due jobs (up to `concurrency`) to the end. */
  async function runOnce(): Promise<RunSummary> {
    const scheduled = await tick();
    const jobs = await claim(concurrency - inFlight.size);
    const outcomes = await Promise.all(jobs.map((job) => track(job)));
    return summarise(outcomes, scheduled);
  }

  return {
    id: workerId,
    runOnce,

    /** Runs `runOnce` until no due job is left (bounded), for tests and `kluis jobs run`. */
    async drain(maxBatches = 100): Promise<RunSummary> {
      const total = summarise([], []);
      for (let i = 0; i < maxBatches; i++) {
        const s = await runOnce();
        total.claimed += s.claimed;
        total.done += s.done;
        total.retried += s.retried;
        total.failed += s.failed;
        total.lost += s.lost;
        total.scheduled.push(...s.scheduled);
        if (s.claimed === 0 && s.scheduled.length === 0) break;
      }
      return total;
    },

    tick,

    /** Starts polling. */
    start(): void {
      if (started) return;
      started = true;
      stopping = false;
      logger.info({ concurrency, pollMs, types: registry.types() }, 'worker started');
      void pump(true);
    },

    /** Stops claiming and waits for the running jobs to finish (graceful). */
    async stop(): Promise<void> {
      stopping = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      if (pumping !== undefined) await pumping;
      await Promise.allSettled([...inFlight]);
      if (started) logger.info('worker stopped');
      started = false;
    },

    /** Jobs running right now. */
    running(): number {
      return inFlight.size;
    },
  };
}

export type Worker = ReturnType<typeof createWorker>;
