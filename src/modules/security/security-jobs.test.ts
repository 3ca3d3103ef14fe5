import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createFixedClock, DAY } from '../../shared/clock.js';
import { ensureSchedules } from '../jobs/index.js';
import { createWorker } from '../jobs/jobs-worker.js';
import { createAccessLogRepository } from './access-log-repository.js';
import { appendAudit } from './audit-chain.js';
import { securityModule } from './index.js';

const clock = createFixedClock('2025-08-10T04:00:00.000Z');

describe('the security jobs', () => {
  let kluis: TestKluis;
  beforeEach(async () => {
    kluis = await createTestKluis({ clock });
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  it('sweeps the access log and signs a checkpoint when the scheduler runs them', async () => {
    await createAccessLogRepository(kluis.db).insertMany([
      {
        at: new Date(clock.now().getTime() - 100 * DAY).toISOString(),
        org_id: null,
        ip: '192.0.2.1',
        ip_truncated: 0,
        user_agent: null,
        method: 'GET',
        route: '/',
        status: 200,
        request_id: randomUUID(),
      },
    ]);
    await appendAudit(kluis.db, clock, { actor: { kind: 'anonymous', orgId: null }, action: 'test.before' });
    await ensureSchedules({ ...kluis, schedules: securityModule.schedules ?? [] });
    // The sweep is daily at 03:17 UTC; the checkpoint is due at once.
    clock.advance(DAY);
    const worker = createWorker({ kluis, registry: kluis.jobRegistry, random: () => 0 });
    let done = 0;
    for (let round = 0; round < 3; round++) done += (await worker.runOnce()).done;
    expect(done).toBe(2);
    expect(await kluis.db.selectFrom('access_log').select('id').execute()).toHaveLength(0);
    const checkpoints = await kluis.db.selectFrom('audit_checkpoints').selectAll().execute();
    expect(checkpoints.length).toBe(1);
    const swept = await kluis.db
      .selectFrom('audit_log')
      .select('meta')
      .where('action', '=', 'security.access_log.swept')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(swept.meta)).toMatchObject({ deleted: 1 });
  });
});
