/**
 * The orphan-key sweep: a process that dies between minting an org's key in the key store and
 * committing (or rolling back) the org in the main database leaves a key without an org. The
 * nightly job removes it, audited — but never a key that another node may still be about to use,
 * never one that wraps subject keys, and nothing at all when the main database has no operator.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg, systemActor } from '../../../test/factories.js';
import { createFixedClock, HOUR, MINUTE } from '../../shared/clock.js';
import { createWorker, enqueue, ensureSchedules } from '../jobs/index.js';
import { ORPHAN_KEYS_JOB, sweepOrphanOrgKeys } from './tenants-orphan-keys.js';

const loc = { table: 'crash_test', column: 'value', rowId: 'r1' };

describe('the orphan org-key sweep', () => {
  const clock = createFixedClock('2030-11-02T10:00:00.000Z');
  let kluis: TestKluis;
  const sweep = () =>
    sweepOrphanOrgKeys({
      db: kluis.db,
      clock,
      keyring: kluis.keyring,
      orgs: kluis.services.orgs,
      audit: kluis.services.audit,
    });
  const keyIds = async () =>
    (await kluis.keystore.selectFrom('org_keys').select('org_id').execute()).map((r) => r.org_id).sort();

  beforeAll(async () => {
    kluis = await createTestKluis({ clock });
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  it('touches nothing while the main database has no operator (a wrong or empty database)', async () => {
    const crashed = randomUUID();
    await kluis.keyring.encryptForOrg(crashed, loc, 'sealed in the rolled-back transaction');
    clock.advance(2 * HOUR);
    expect(await sweep()).toEqual({ removed: 0, young: 0, withSubjectKeys: 0, skipped: true });
    expect(await keyIds()).toContain(crashed);
    await kluis.keyring.forgetUnbornOrg(crashed);
  });

  it('removes a key whose org never committed once it is an hour old, audited, and keeps the rest', async () => {
    const operator = await createOrg(kluis, 'operator');
    const tenant = await kluis.services.tenants.create({
      actor: systemActor(operator),
      values: {
        slug: 'echt-klant',
        name: 'Echt',
        ownerEmail: 'eigenaar@echt.example',
        agreementVersion: '1.0',
      },
      agreement: { kind: 'standard' },
      locale: 'nl',
    });
    const real = await keyIds();
    expect(real).toContain(tenant.id);

    // A crash between the key store's write and the main commit: a key, and no org.
    const crashed = randomUUID();
    await kluis.keyring.encryptForOrg(crashed, loc, 'sealed in the rolled-back transaction');
    // A key that wraps subject keys but has no org is not a failed onboarding: left alone.
    const mixedUp = randomUUID();
    await kluis.keyring.encryptForSubject(mixedUp, randomUUID(), loc, 'a subject’s field');

    // Too young: another node may be committing that org right now.
    clock.advance(59 * MINUTE);
    expect(await sweep()).toEqual({ removed: 0, young: 2, withSubjectKeys: 0, skipped: false });
    expect(await keyIds()).toEqual([...real, crashed, mixedUp].sort());

    clock.advance(2 * MINUTE);
    const headBefore = await kluis.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow();
    expect(await sweep()).toEqual({ removed: 1, young: 0, withSubjectKeys: 1, skipped: false });
    expect(await keyIds()).toEqual([...real, mixedUp].sort());
    const entries = await kluis.db
      .selectFrom('audit_log')
      .select(['action', 'target_id', 'org_id', 'actor'])
      .where('seq', '>', headBefore.seq)
      .execute();
    expect(entries).toEqual([
      {
        action: 'keys.orphan_removed',
        target_id: crashed,
        org_id: operator.id,
        actor: `system:${ORPHAN_KEYS_JOB}`,
      },
    ]);
    // The tenant's data still opens: its key was not touched.
    expect((await kluis.services.tenants.showById(systemActor(operator), tenant.id)).slug).toBe('echt-klant');

    // A second run has nothing left to do.
    expect(await sweep()).toEqual({ removed: 0, young: 0, withSubjectKeys: 1, skipped: false });
  });

  it('runs nightly as a scheduled job of its own', async () => {
    await ensureSchedules(kluis);
    const schedule = await kluis.db
      .selectFrom('job_schedules')
      .select(['type', 'daily_at'])
      .where('name', '=', ORPHAN_KEYS_JOB)
      .executeTakeFirst();
    expect(schedule).toEqual({ type: ORPHAN_KEYS_JOB, daily_at: '04:25' });
    const crashed = randomUUID();
    await kluis.keyring.encryptForOrg(crashed, loc, 'sealed in the rolled-back transaction');
    clock.advance(2 * HOUR);
    await enqueue(kluis.db, clock, { type: ORPHAN_KEYS_JOB, payload: {} });
    expect(
      await createWorker({ kluis, registry: kluis.jobRegistry, scheduler: false }).runOnce(),
    ).toMatchObject({
      done: 1,
    });
    expect(await keyIds()).not.toContain(crashed);
  });
});
