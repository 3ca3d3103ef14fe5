import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestKluis, type TestKluis, testDialect } from '../../../test/dialects.js';
import type { Actor } from '../../shared/actor.js';
import { createFixedClock, DAY, MINUTE } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import {
  backoffMs,
  createJobRegistry,
  createWorker,
  enqueue,
  ensureSchedule,
  pruneJobs,
  queueState,
  tickSchedules,
} from './index.js';
import { createJobsRepository, createLeasesRepository } from './jobs-repository.js';

const START = '2030-03-04T09:00:00.000Z';

describe('the job queue', () => {
  let kluis: TestKluis;
  let clock: ReturnType<typeof createFixedClock>;

  beforeEach(async () => {
    clock = createFixedClock(START);
    kluis = await createTestKluis({ clock });
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  const jobRow = (id: string) => createJobsRepository(kluis.db).findById(id);

  function countingRegistry() {
    const seen: string[] = [];
    const registry = createJobRegistry();
    registry.register('test.count', z.object({ n: z.number() }), async (payload, ctx) => {
      seen.push(`${ctx.job.id}:${payload.n}`);
    });
    return { registry, seen };
  }

  it('enqueues a job, claims it with a lease and records it done', async () => {
    const { registry, seen } = countingRegistry();
    const { id, created } = await enqueue(kluis.db, clock, { type: 'test.count', payload: { n: 7 } });
    expect(created).toBe(true);
    expect(await jobRow(id)).toMatchObject({ status: 'queued', attempts: 0, run_at: START });

    const claimed = await createLeasesRepository(kluis.db).claim({
      now: START,
      workerId: 'w-test',
      lockedUntil: new Date(Date.parse(START) + MINUTE).toISOString(),
      limit: 5,
    });
    expect(claimed.map((j) => j.id)).toEqual([id]);
    expect(claimed[0]).toMatchObject({ status: 'running', attempts: 1, locked_by: 'w-test' });
    // Claimed and leased: nobody else gets it while the lease holds.
    const again = await createLeasesRepository(kluis.db).claim({
      now: START,
      workerId: 'w-other',
      lockedUntil: START,
      limit: 5,
    });
    expect(again).toEqual([]);

    const other = await enqueue(kluis.db, clock, { type: 'test.count', payload: { n: 8 } });
    const worker = createWorker({ kluis, registry, concurrency: 4 });
    const summary = await worker.runOnce();
    expect(summary).toMatchObject({ claimed: 1, done: 1, failed: 0, retried: 0 });
    expect(seen).toEqual([`${other.id}:8`]);
    expect(await jobRow(other.id)).toMatchObject({ status: 'done', locked_by: null, locked_until: null });
  });

  it('does not run a job before its run_at', async () => {
    const { registry, seen } = countingRegistry();
    await enqueue(kluis.db, clock, {
      type: 'test.count',
      payload: { n: 1 },
      runAt: new Date(Date.parse(START) + 10 * MINUTE),
    });
    const worker = createWorker({ kluis, registry });
    expect((await worker.runOnce()).claimed).toBe(0);
    clock.advance(10 * MINUTE);
    expect((await worker.runOnce()).done).toBe(1);
    expect(seen).toHaveLength(1);
  });

  it('enqueues inside the caller’s transaction: a rolled-back change leaves no job behind', async () => {
    const rolledBack = randomUUID();
    await expect(
      kluis.db.transaction().execute(async (trx) => {
        await enqueue(trx, clock, { type: 'test.count', payload: { n: 1 }, id: rolledBack });
        throw new AppError('ERR_CONFLICT', { message: 'the caller’s change failed' });
      }),
    ).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
    expect(await jobRow(rolledBack)).toBeUndefined();

    const committed = await kluis.db
      .transaction()
      .execute((trx) => enqueue(trx, clock, { type: 'test.count', payload: { n: 2 } }));
    expect(await jobRow(committed.id)).toBeDefined();
  });

  it('returns the first job for a repeated dedupe key instead of adding a second', async () => {
    const first = await enqueue(kluis.db, clock, {
      type: 'test.count',
      payload: { n: 1 },
      dedupeKey: 'welcome:user-1',
    });
    const second = await kluis.db
      .transaction()
      .execute((trx) =>
        enqueue(trx, clock, { type: 'test.count', payload: { n: 2 }, dedupeKey: 'welcome:user-1' }),
      );
    expect(second).toEqual({ id: first.id, created: false });
    const count = await kluis.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(1);
    expect(JSON.parse((await jobRow(first.id))?.payload ?? '')).toEqual({ n: 1 });
  });

  it('refuses a payload that carries an email address, a malformed type or a silly attempt count', async () => {
    await expect(
      enqueue(kluis.db, clock, { type: 'mail.send', payload: { to: { address: 'jan@example.nl' } } }),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    await expect(enqueue(kluis.db, clock, { type: 'NoDots', payload: {} })).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
    });
    await expect(
      enqueue(kluis.db, clock, { type: 'test.count', payload: {}, maxAttempts: 0 }),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    const jobs = await kluis.db.selectFrom('jobs').select('id').execute();
    expect(jobs).toEqual([]);
  });

  it('never hands the same job to two concurrent claimers', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++)
      ids.add((await enqueue(kluis.db, clock, { type: 'test.count', payload: { n: i } })).id);
    const repo = createLeasesRepository(kluis.db);
    const lockedUntil = new Date(Date.parse(START) + MINUTE).toISOString();
    const claimers = ['a', 'b', 'c', 'd', 'e'].map((w) =>
      repo.claim({ now: START, workerId: w, lockedUntil, limit: 6 }),
    );
    // On PostgreSQL these run at once on separate pool connections; on SQLite one after another.
    const batches = await Promise.all(claimers);
    const claimed = batches.flat().map((j) => j.id);
    expect(claimed).toHaveLength(20);
    expect(new Set(claimed)).toEqual(ids);
  });

  it.runIf(testDialect === 'postgres')(
    'skips a job another transaction holds locked instead of waiting for it (SKIP LOCKED)',
    async () => {
      const a = await enqueue(kluis.db, clock, { type: 'test.count', payload: { n: 1 } });
      const b = await enqueue(kluis.db, clock, { type: 'test.count', payload: { n: 2 } });
      const lockedUntil = new Date(Date.parse(START) + MINUTE).toISOString();
      await kluis.db.transaction().execute(async (trx) => {
        const mine = await createLeasesRepository(trx).claim({
          now: START,
          workerId: 'a',
          lockedUntil,
          limit: 1,
        });
        expect(mine).toHaveLength(1);
        const other = mine[0]?.id === a.id ? b.id : a.id;
        // Still uncommitted: a claimer on another connection must not block and must not get it.
        const theirs = await createLeasesRepository(kluis.db).claim({
          now: START,
          workerId: 'b',
          lockedUntil,
          limit: 5,
        });
        expect(theirs.map((j) => j.id)).toEqual([other]);
      });
    },
  );

  it('runs each job exactly once when two workers poll at the same time', async () => {
    const calls = new Map<string, number>();
    const registry = createJobRegistry();
    registry.register('test.count', z.object({ n: z.number() }), async (_p, ctx) => {
      calls.set(ctx.job.id, (calls.get(ctx.job.id) ?? 0) + 1);
    });
    for (let i = 0; i < 12; i++) await enqueue(kluis.db, clock, { type: 'test.count', payload: { n: i } });
    const w1 = createWorker({ kluis, registry, concurrency: 5, workerId: 'w1' });
    const w2 = createWorker({ kluis, registry, concurrency: 5, workerId: 'w2' });
    for (let round = 0; round < 3; round++) await Promise.all([w1.runOnce(), w2.runOnce()]);
    expect(calls.size).toBe(12);
    expect([...calls.values()].every((n) => n === 1)).toBe(true);
  });

  it('hands a job whose lease expired to another worker and ignores the first worker’s late result', async () => {
    await enqueue(kluis.db, clock, { type: 'test.count', payload: { n: 1 } });
    const repo = createLeasesRepository(kluis.db);
    const lease = 5 * MINUTE;
    // Worker A claims and then "crashes" (never reports).
    const [taken] = await repo.claim({
      now: clock.now().toISOString(),
      workerId: 'crashed',
      lockedUntil: new Date(clock.now().getTime() + lease).toISOString(),
      limit: 1,
    });
    expect(taken).toBeDefined();
    const { registry, seen } = countingRegistry();
    const worker = createWorker({ kluis, registry, leaseMs: lease, workerId: 'rescuer' });
    clock.advance(lease - 1);
    expect((await worker.runOnce()).claimed).toBe(0);
    clock.advance(2);
    expect(await worker.runOnce()).toMatchObject({ claimed: 1, done: 1 });
    expect(seen).toHaveLength(1);
    const row = await jobRow(taken?.id ?? '');
    expect(row).toMatchObject({ status: 'done', attempts: 2 });
    // The crashed worker wakes up and reports: its lease is gone, nothing changes.
    expect(
      await repo.markFailed({
        id: row?.id ?? '',
        workerId: 'crashed',
        now: clock.now().toISOString(),
        lastError: 'x',
      }),
    ).toBe(false);
    expect(await jobRow(row?.id ?? '')).toMatchObject({ status: 'done' });
  });

  it('fails a job whose lease expired on its last attempt', async () => {
    const { id } = await enqueue(kluis.db, clock, { type: 'test.count', payload: { n: 1 }, maxAttempts: 1 });
    await createLeasesRepository(kluis.db).claim({
      now: START,
      workerId: 'crashed',
      lockedUntil: new Date(Date.parse(START) + MINUTE).toISOString(),
      limit: 1,
    });
    clock.advance(2 * MINUTE);
    const { registry, seen } = countingRegistry();
    expect((await createWorker({ kluis, registry }).runOnce()).claimed).toBe(0);
    expect(seen).toEqual([]);
    expect(await jobRow(id)).toMatchObject({
      status: 'failed',
      last_error: expect.stringMatching(/^ERR_JOB_LEASE_EXPIRED/),
    });
  });

  it('retries a failing job with exponential backoff and jitter, then marks it failed without personal data', async () => {
    const registry = createJobRegistry();
    let calls = 0;
    registry.register('test.flaky', z.object({}), async () => {
      calls++;
      // A library error whose message quotes a person: it must not reach the jobs table.
      throw new TypeError('mailbox piet@example.nl unavailable');
    });
    const { id } = await enqueue(kluis.db, clock, { type: 'test.flaky', payload: {}, maxAttempts: 4 });
    const worker = createWorker({
      kluis,
      registry,
      backoffBaseMs: 1000,
      backoffMaxMs: 60_000,
      random: () => 0.5,
    });
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(await worker.runOnce()).toMatchObject({ claimed: 1, retried: 1 });
      const row = await jobRow(id);
      expect(row).toMatchObject({ status: 'queued', attempts: attempt, locked_by: null });
      const delay = Date.parse(row?.run_at ?? '') - clock.now().getTime();
      delays.push(delay);
      // Not a millisecond early.
      clock.advance(delay - 1);
      expect((await worker.runOnce()).claimed).toBe(0);
      clock.advance(1);
    }
    // 1 s, 2 s, 4 s, each plus 20 % × 0.5 jitter.
    expect(delays).toEqual([1100, 2200, 4400]);
    expect(await worker.runOnce()).toMatchObject({ claimed: 1, failed: 1 });
    const row = await jobRow(id);
    expect(row).toMatchObject({ status: 'failed', attempts: 4 });
    expect(row?.last_error).toBe('ERR_INTERNAL: unexpected TypeError');
    expect(JSON.stringify(row)).not.toContain('piet');
    expect(calls).toBe(4);
    expect((await worker.runOnce()).claimed).toBe(0);
  });

  it('computes the backoff from the attempt, caps it and adds at most the jitter ratio', () => {
    const o = { baseMs: 30_000, maxMs: 3_600_000 };
    expect(backoffMs(1, () => 0, o)).toBe(30_000);
    expect(backoffMs(3, () => 0, o)).toBe(120_000);
    expect(backoffMs(20, () => 0, o)).toBe(3_600_000);
    expect(backoffMs(20, () => 0.999_999, o)).toBeLessThanOrEqual(3_600_000 * 1.2);
    expect(backoffMs(2, () => 0.5, { ...o, jitterRatio: 0 })).toBe(60_000);
  });

  it('fails a job of an unknown type at once with ERR_JOB_UNKNOWN_TYPE', async () => {
    const { id } = await enqueue(kluis.db, clock, { type: 'test.nobody_handles_this', payload: {} });
    const { registry } = countingRegistry();
    expect(await createWorker({ kluis, registry }).runOnce()).toMatchObject({ claimed: 1, failed: 1 });
    expect(await jobRow(id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_error: expect.stringMatching(/^ERR_JOB_UNKNOWN_TYPE: /),
    });
  });

  it('fails a job whose payload does not match its schema without retrying', async () => {
    const { id } = await enqueue(kluis.db, clock, { type: 'test.count', payload: { n: 'seven' } });
    const { registry, seen } = countingRegistry();
    expect(await createWorker({ kluis, registry }).runOnce()).toMatchObject({ failed: 1 });
    expect(seen).toEqual([]);
    const row = await jobRow(id);
    expect(row?.last_error).toMatch(
      /^ERR_VALIDATION: payload of test.count does not match its schema \(n:invalid_type\)/,
    );
    expect(row?.last_error).not.toContain('seven');
  });

  it('lets a long handler extend its lease so no other worker takes the job over', async () => {
    const registry = createJobRegistry();
    const lease = 5 * MINUTE;
    let rival: Awaited<ReturnType<ReturnType<typeof createLeasesRepository>['claim']>> = [];
    registry.register('test.long', z.object({}), async (_p, ctx) => {
      clock.advance(lease - 1000);
      await ctx.heartbeat();
      clock.advance(lease - 1000);
      rival = await createLeasesRepository(kluis.db).claim({
        now: clock.now().toISOString(),
        workerId: 'rival',
        lockedUntil: clock.now().toISOString(),
        limit: 1,
      });
    });
    await enqueue(kluis.db, clock, { type: 'test.long', payload: {} });
    expect(await createWorker({ kluis, registry, leaseMs: lease }).runOnce()).toMatchObject({ done: 1 });
    expect(rival).toEqual([]);
  });

  it('finishes running jobs before stop() resolves', async () => {
    let release: () => void = () => {};
    let started: () => void = () => {};
    const handlerStarted = new Promise<void>((r) => {
      started = r;
    });
    const registry = createJobRegistry();
    registry.register('test.slow', z.object({}), async () => {
      started();
      await new Promise<void>((r) => {
        release = r;
      });
    });
    const { id } = await enqueue(kluis.db, clock, { type: 'test.slow', payload: {} });
    const worker = createWorker({ kluis, registry, pollMs: 60_000 });
    worker.start();
    await handlerStarted;
    expect(worker.running()).toBe(1);
    let stopped = false;
    const stopping = worker.stop().then(() => {
      stopped = true;
    });
    await Promise.resolve();
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(await jobRow(id)).toMatchObject({ status: 'done' });
  });

  it('puts a failed job back in the queue for the operator’s staff, audited, and hides it from tenants', async () => {
    const { id } = await enqueue(kluis.db, clock, { type: 'test.unknown', payload: {} });
    const { registry } = countingRegistry();
    await createWorker({ kluis, registry }).runOnce();
    const tenantAdmin: Actor = {
      kind: 'user',
      orgId: randomUUID(),
      orgKind: 'tenant',
      userId: randomUUID(),
      roles: ['admin'],
    };
    await expect(kluis.services.jobs.retryFailed(tenantAdmin, id)).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
    });
    const operatorAdmin: Actor = { ...tenantAdmin, orgKind: 'operator' };
    await expect(kluis.services.jobs.retryFailed(operatorAdmin, randomUUID())).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
    });
    await kluis.services.jobs.retryFailed(operatorAdmin, id);
    expect(await jobRow(id)).toMatchObject({ status: 'queued', attempts: 0 });
    await expect(kluis.services.jobs.retryFailed(operatorAdmin, id)).rejects.toMatchObject({
      code: 'ERR_CONFLICT',
    });
    const audit = await kluis.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'jobs.retry')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      target_type: 'job',
      target_id: id,
      actor: `user:${operatorAdmin.userId}`,
    });
  });

  it('prunes finished jobs after their keep period and reports a stalled queue', async () => {
    const { registry } = countingRegistry();
    const done = await enqueue(kluis.db, clock, { type: 'test.count', payload: { n: 1 } });
    const failed = await enqueue(kluis.db, clock, { type: 'test.unknown', payload: {} });
    await createWorker({ kluis, registry, concurrency: 2 }).runOnce();
    clock.advance(8 * DAY);
    expect(await pruneJobs(kluis.db, clock)).toEqual({ done: 1, failed: 0 });
    expect(await jobRow(done.id)).toBeUndefined();
    clock.advance(30 * DAY);
    expect(await pruneJobs(kluis.db, clock)).toEqual({ done: 0, failed: 1 });
    expect(await jobRow(failed.id)).toBeUndefined();

    expect(await queueState(kluis.db, clock)).toBe('ok');
    await enqueue(kluis.db, clock, { type: 'test.count', payload: { n: 2 } });
    clock.advance(16 * MINUTE);
    expect(await queueState(kluis.db, clock)).toBe('stalled');
  });
});

describe('the scheduler', () => {
  let kluis: TestKluis;
  let clock: ReturnType<typeof createFixedClock>;

  beforeEach(async () => {
    clock = createFixedClock(START);
    kluis = await createTestKluis({ clock });
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  const jobsOf = (type: string) =>
    kluis.db.selectFrom('jobs').selectAll().where('type', '=', type).orderBy('run_at').execute();

  it('enqueues one job per slot even when several workers tick at the same moment', async () => {
    await ensureSchedule(kluis.db, clock, { name: 'test.sweep', type: 'test.sweep', everySeconds: 3600 });
    // Five processes tick at once (in parallel on PostgreSQL).
    const runs = (await Promise.all([1, 2, 3, 4, 5].map(() => tickSchedules(kluis.db, clock)))).flat();
    expect(runs).toHaveLength(1);
    expect(await jobsOf('test.sweep')).toHaveLength(1);
    // Same slot again: nothing new.
    expect(await tickSchedules(kluis.db, clock)).toEqual([]);
    clock.advance(3600_000 - 1);
    expect(await tickSchedules(kluis.db, clock)).toEqual([]);
    clock.advance(1);
    const next = await Promise.all([tickSchedules(kluis.db, clock), tickSchedules(kluis.db, clock)]);
    expect(next.flat()).toHaveLength(1);
    const jobs = await jobsOf('test.sweep');
    expect(jobs.map((j) => j.dedupe_key)).toEqual([
      `schedule:test.sweep:${START}`,
      'schedule:test.sweep:2030-03-04T10:00:00.000Z',
    ]);
  });

  it('collapses missed slots into one run and keeps the cadence', async () => {
    await ensureSchedule(kluis.db, clock, { name: 'test.sweep', type: 'test.sweep', everySeconds: 600 });
    await tickSchedules(kluis.db, clock);
    clock.advance(10 * 600_000 + 123);
    expect(await tickSchedules(kluis.db, clock)).toHaveLength(1);
    const schedule = await kluis.db.selectFrom('job_schedules').selectAll().executeTakeFirstOrThrow();
    expect(schedule.next_run_at).toBe('2030-03-04T10:50:00.000Z');
  });

  it('runs a daily schedule at its time (UTC) and the worker runs the job it enqueued', async () => {
    const registry = createJobRegistry();
    const seen: string[] = [];
    registry.register('test.daily', z.object({ scope: z.string() }), async (p) => {
      seen.push(p.scope);
    });
    await ensureSchedule(kluis.db, clock, {
      name: 'test.daily',
      type: 'test.daily',
      dailyAt: '03:30',
      payload: { scope: 'all' },
    });
    const worker = createWorker({ kluis, registry });
    expect(await worker.runOnce()).toMatchObject({ claimed: 0, scheduled: [] });
    clock.set('2030-03-05T03:29:59.999Z');
    expect((await worker.runOnce()).scheduled).toEqual([]);
    clock.set('2030-03-05T03:30:00.000Z');
    const summary = await worker.runOnce();
    expect(summary.scheduled).toHaveLength(1);
    expect(summary.done).toBe(1);
    expect(seen).toEqual(['all']);
    const schedule = await kluis.db.selectFrom('job_schedules').selectAll().executeTakeFirstOrThrow();
    expect(schedule).toMatchObject({
      next_run_at: '2030-03-06T03:30:00.000Z',
      last_run_at: '2030-03-05T03:30:00.000Z',
      last_job_id: summary.scheduled[0]?.jobId,
    });
  });

  it('keeps ensureSchedule idempotent and re-plans when the cadence changes', async () => {
    await ensureSchedule(kluis.db, clock, { name: 'test.sweep', type: 'test.sweep', everySeconds: 60 });
    await tickSchedules(kluis.db, clock);
    const before = await kluis.db.selectFrom('job_schedules').selectAll().executeTakeFirstOrThrow();
    await ensureSchedule(kluis.db, clock, { name: 'test.sweep', type: 'test.sweep', everySeconds: 60 });
    expect(await kluis.db.selectFrom('job_schedules').selectAll().executeTakeFirstOrThrow()).toEqual(before);
    await ensureSchedule(kluis.db, clock, { name: 'test.sweep', type: 'test.sweep', dailyAt: '23:00' });
    const after = await kluis.db.selectFrom('job_schedules').selectAll().executeTakeFirstOrThrow();
    expect(after).toMatchObject({
      daily_at: '23:00',
      every_seconds: null,
      next_run_at: '2030-03-04T23:00:00.000Z',
    });
    await expect(
      ensureSchedule(kluis.db, clock, { name: 'test.bad', type: 'test.bad', dailyAt: '25:00' }),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
  });
});
