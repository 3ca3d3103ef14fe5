/**
 * P6 for the rights module: a closed rights request is kept 24 months after closing (proof of
 * handling), then deleted with its timeline and export; an open one stays, whatever its age.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg } from '../../../test/factories.js';
import { createFixedClock } from '../../shared/clock.js';
import { requestRecords } from './rights-records.js';

describe('retention of rights requests', () => {
  const clock = createFixedClock('2026-01-10T10:00:00.000Z');
  let kluis: TestKluis;
  let orgId: string;
  const ids: Record<'closed' | 'open' | 'lapsed', string> = { closed: '', open: '', lapsed: '' };

  beforeAll(async () => {
    kluis = await createTestKluis({ clock });
    orgId = (await createOrg(kluis, 'tenant')).id;
    const records = requestRecords(kluis);
    for (const kind of ['closed', 'open', 'lapsed'] as const) {
      const { row } = await kluis.db.transaction().execute((trx) =>
        records.insertRequest(trx, {
          orgId,
          right: 'access',
          channel: 'portal',
          email: `${kind}@example.nl`,
          details: `details ${kind}`,
          locale: 'nl',
        }),
      );
      ids[kind] = row.id;
    }
    await kluis.db
      .updateTable('rights_requests')
      .set({ status: 'completed', outcome: 'fulfilled', closed_at: '2026-01-10T10:00:00.000Z' })
      .where('id', '=', ids.closed)
      .execute();
    await kluis.db
      .updateTable('rights_requests')
      .set({ status: 'lapsed', closed_at: '2026-01-12T10:00:00.000Z' })
      .where('id', '=', ids.lapsed)
      .execute();
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  const present = async () =>
    (await kluis.db.selectFrom('rights_requests').select('id').where('org_id', '=', orgId).execute())
      .map((r) => r.id)
      .sort();

  it('keeps a closed request until 24 months after closing, then deletes it with its timeline; an open one stays', async () => {
    clock.set('2028-01-09T12:00:00.000Z'); // the day before
    await kluis.services.retention.run();
    expect(await present()).toEqual([ids.closed, ids.open, ids.lapsed].sort());

    clock.set('2028-01-10T12:00:00.000Z'); // the day
    const result = await kluis.services.retention.run();
    expect(await present()).toEqual([ids.open, ids.lapsed].sort());
    expect(JSON.stringify(result)).toContain('rights.requests');
    const events = await kluis.db
      .selectFrom('rights_request_events')
      .select('request_id')
      .where('request_id', '=', ids.closed)
      .execute();
    expect(events).toEqual([]);

    clock.set('2030-01-01T12:00:00.000Z'); // years later: the open request is still there
    await kluis.services.retention.run();
    expect(await present()).toEqual([ids.open]);
  });
});
