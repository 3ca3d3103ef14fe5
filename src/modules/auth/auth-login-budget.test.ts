/**
 * The sign-in work budget and the group commit of failures (issue 15), on the service: hashing
 * is counted through an injected hasher (never timed). A full untrusted lane refuses without any
 * hashing or write while a trusted sign-in is still served; failed sign-ins written in groups
 * are each audited, answered exactly, and leave a chain that verifies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg, createStaffUser } from '../../../test/factories.js';
import { isAppError } from '../../shared/errors.js';
import { auditVerifyOptionsOf } from '../security/audit-checkpoint.js';
import { verifyAuditChain } from '../security/audit-verify.js';
import { createLoginBudget } from './auth-login-budget.js';
import { createLoginJournal } from './auth-login-journal.js';
import { createPasswordHasher, type PasswordHasher } from './auth-passwords.js';
import { type AuthService, createAuthService } from './auth-service.js';
import { createThrottleRepository } from './auth-throttle-repository.js';

/** A real hasher that counts its checks and can hold them until `open()`. */
function countingHasher() {
  const real = createPasswordHasher();
  let gate: Promise<void> | undefined;
  let open = () => {};
  const counts = { verify: 0 };
  const hasher: PasswordHasher = {
    ...real,
    async verify(hash, password) {
      counts.verify++;
      if (gate !== undefined) await gate;
      return real.verify(hash, password);
    },
    async verifyDummy(password) {
      counts.verify++;
      if (gate !== undefined) await gate;
      return real.verifyDummy(password);
    },
  };
  return {
    hasher,
    counts,
    hold() {
      gate = new Promise((resolve) => {
        open = resolve;
      });
    },
    release() {
      gate = undefined;
      open();
    },
  };
}

const codeOf = (error: unknown) => (isAppError(error) ? error.code : String(error));

describe('the budget lanes', () => {
  it('refuses past the lane and its short queue, hands a freed slot to the next waiter, and counts refusals', async () => {
    const budget = createLoginBudget({ untrusted: 1, trusted: 1, waitMs: 60_000 });
    const first = await budget.acquire('untrusted');
    const waiting = [1, 2, 3, 4].map(() => budget.acquire('untrusted'));
    // The queue holds four per slot: the fifth waiter is refused without waiting.
    await expect(budget.acquire('untrusted')).rejects.toMatchObject({ code: 'ERR_RATE_LIMITED' });
    // The trusted lane is untouched by all this.
    const trusted = await budget.acquire('trusted');
    expect(budget.usage('untrusted')).toEqual({ active: 1, waiting: 4 });
    first();
    first(); // a second release gives nothing back twice
    const [head] = waiting;
    if (head === undefined) throw new Error('no waiter');
    const next = await head;
    expect(budget.usage('untrusted')).toEqual({ active: 1, waiting: 3 });
    next();
    for (const w of waiting.slice(1)) (await w)();
    trusted();
    expect(budget.usage('untrusted')).toEqual({ active: 0, waiting: 0 });
    expect(budget.takeRefused()).toEqual({ trusted: 0, untrusted: 1 });
    expect(budget.takeRefused()).toEqual({ trusted: 0, untrusted: 0 });
  });

  it('refuses a waiter whose wait ran out', async () => {
    const budget = createLoginBudget({ untrusted: 1, trusted: 1, waitMs: 1 });
    const held = await budget.acquire('untrusted');
    await expect(budget.acquire('untrusted')).rejects.toMatchObject({
      code: 'ERR_RATE_LIMITED',
      details: { retry_after_seconds: 1 },
    });
    expect(budget.usage('untrusted')).toEqual({ active: 1, waiting: 0 });
    held();
  });
});

describe('sign-in under a full budget, and failures in groups', () => {
  let kluis: TestKluis;
  let orgId: string;
  const counting = countingHasher();
  let auth: AuthService;

  beforeAll(async () => {
    kluis = await createTestKluis();
    orgId = (await createOrg(kluis, 'tenant')).id;
    auth = createAuthService({
      ...kluis,
      ...kluis.services,
      hasher: counting.hasher,
      config: { ...kluis.config, loginBudget: { untrusted: 2, trusted: 1, waitMs: 1 } },
    });
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  it('refuses untrusted attempts without hashing or writing while the lane is busy, and serves a trusted one', async () => {
    const user = await createStaffUser(kluis, { orgId, roles: ['support'] });
    const calm = await auth.loginWithPassword({
      email: user.email,
      password: user.password,
      ip: '192.0.2.1',
    });
    if (calm.kind !== 'signed_in' || calm.device === undefined) throw new Error('no device cookie');
    const deviceCookie = calm.device.value;

    counting.hold();
    // Two slow checks fill the untrusted lane.
    const slow = [1, 2].map((n) =>
      auth.loginWithPassword({ email: user.email, password: `Wrong-${n}`, ip: `192.0.2.${10 + n}` }),
    );
    const slowSettled = Promise.allSettled(slow);
    while (counting.counts.verify < 3) await new Promise((resolve) => setImmediate(resolve));
    const hashedBefore = counting.counts.verify;
    const rowsBefore = await kluis.db.selectFrom('login_attempts').selectAll().execute();
    const refusals = await Promise.allSettled(
      [20, 21, 22].map((n) =>
        auth.loginWithPassword({ email: user.email, password: user.password, ip: `192.0.2.${n}` }),
      ),
    );
    expect(refusals.map((r) => (r.status === 'rejected' ? codeOf(r.reason) : 'served'))).toEqual([
      'ERR_RATE_LIMITED',
      'ERR_RATE_LIMITED',
      'ERR_RATE_LIMITED',
    ]);
    expect(counting.counts.verify).toBe(hashedBefore);
    expect(await kluis.db.selectFrom('login_attempts').selectAll().execute()).toEqual(rowsBefore);

    // The trusted lane still takes the real user (its check is the one hash more).
    const trusted = auth.loginWithPassword({
      email: user.email,
      password: user.password,
      ip: '192.0.2.30',
      deviceCookie,
    });
    while (counting.counts.verify < hashedBefore + 1) await new Promise((resolve) => setImmediate(resolve));
    counting.release();
    expect((await trusted).kind).toBe('signed_in');
    const slowResults = await slowSettled;
    expect(slowResults.map((r) => (r.status === 'rejected' ? codeOf(r.reason) : 'served'))).toEqual([
      'ERR_AUTH_INVALID_CREDENTIALS',
      'ERR_AUTH_INVALID_CREDENTIALS',
    ]);
    expect(await auth.reportLoginRefusals()).toBe(3);
  });

  it('writes concurrent failures through the group commit, each audited and answered, and the chain verifies', async () => {
    const auth8 = createAuthService({
      ...kluis,
      ...kluis.services,
      config: { ...kluis.config, loginBudget: { untrusted: 8, trusted: 1, waitMs: 60_000 } },
    });
    const victim = await createStaffUser(kluis, { orgId, roles: ['support'] });
    const seqBefore = await kluis.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .executeTakeFirstOrThrow();
    const attempts = Array.from({ length: 12 }, (_, n) =>
      auth8.loginWithPassword({
        email: n % 2 === 0 ? victim.email : `nobody-${n % 4}@example.test`,
        password: `Wrong-${n}`,
        ip: `198.51.100.${n + 1}`,
      }),
    );
    const results = await Promise.allSettled(attempts);
    const codes = results.map((r) => (r.status === 'rejected' ? codeOf(r.reason) : 'served'));
    // Six guesses at one account: five count and the fifth locks it, the sixth finds it locked
    // (or, racing, counts after the lock): never an answer that lets a guess through unrecorded.
    expect(codes.filter((c) => c === 'served')).toEqual([]);
    expect(codes.filter((c) => c === 'ERR_AUTH_LOCKED').length).toBeGreaterThanOrEqual(1);
    const entries = await kluis.db
      .selectFrom('audit_log')
      .select(['action', 'target_id'])
      .where('seq', '>', Number(seqBefore.seq))
      .execute();
    expect(entries.filter((e) => e.action === 'auth.login.failure')).toHaveLength(12);
    expect(
      entries.filter((e) => e.action === 'auth.account.locked' && e.target_id === victim.user.id),
    ).toHaveLength(1);
    // One row per failure for every address.
    for (let n = 0; n < 12; n++) {
      expect(
        await createThrottleRepository(kluis.db).countAttempts(`ip:198.51.100.${n + 1}`, '2000-01-01'),
      ).toBe(1);
    }
    expect((await verifyAuditChain(kluis.db, auditVerifyOptionsOf(kluis))).ok).toBe(true);
  });
});

describe('the group-commit journal', () => {
  let kluis: TestKluis;
  beforeAll(async () => {
    kluis = await createTestKluis();
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  it('commits what arrives together in one transaction, counts it as pending until then, and fails a bad entry alone', async () => {
    const journal = createLoginJournal({ db: kluis.db, delayMs: 60_000 });
    const at = new Date().toISOString();
    const written = Array.from({ length: 20 }, (_, n) =>
      journal.record(['ip:a'], (trx) => createThrottleRepository(trx).recordAttempt(`journal:${n}`, at)),
    );
    expect(journal.pending('ip:a')).toBe(20);
    expect(
      await kluis.db.selectFrom('login_attempts').where('key', 'like', 'journal:%').selectAll().execute(),
    ).toEqual([]);
    await journal.flush();
    await Promise.all(written);
    expect(journal.batches).toBe(1);
    expect(journal.pending('ip:a')).toBe(0);
    const rows = await kluis.db
      .selectFrom('login_attempts')
      .where('key', 'like', 'journal:%')
      .selectAll()
      .execute();
    expect(rows).toHaveLength(20);

    const good = journal.record(['ip:b'], (trx) =>
      createThrottleRepository(trx).recordAttempt('journal:good', at),
    );
    const bad = journal.record(['ip:b'], async () => {
      throw new Error('this entry cannot be written');
    });
    await journal.flush();
    await expect(bad).rejects.toThrow('cannot be written');
    await good;
    expect(journal.pending('ip:b')).toBe(0);
    expect(await createThrottleRepository(kluis.db).countAttempts('journal:good', '2000-01-01')).toBe(1);
  });
});
