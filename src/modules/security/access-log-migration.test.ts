/**
 * Migration 0304 gives the access log an integer key. It must keep every row and its values, in
 * time order, and leave a table the writer and the sweep work with.
 */
import { type Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { mainMigrations, migrateToLatest } from '../../db/migrations.js';
import { createFixedClock } from '../../shared/clock.js';
import { createAccessLogRepository } from './access-log-repository.js';

const MIGRATION = '0304_security_access_log_integer_id';

describe(`migration ${MIGRATION}`, () => {
  let kluis: TestKluis | undefined;
  afterEach(async () => {
    await kluis?.destroy();
    kluis = undefined;
  });

  it('keeps every row and value, numbered in time order, and the table takes new rows', async () => {
    kluis = await createTestKluis({ migrate: false, clock: createFixedClock('2025-05-01T12:00:00.000Z') });
    const db = kluis.db as unknown as Kysely<unknown>;
    const before = Object.fromEntries(
      Object.entries(mainMigrations()).filter(([name]) => name !== MIGRATION),
    );
    await migrateToLatest(db, before);

    // Old rows: text ids, deliberately not in time order.
    const old = [
      ['f0000000-0000-4000-8000-000000000001', '2025-04-30T10:00:00.000Z', '192.0.2.7', 0, 'GET', 200],
      ['a0000000-0000-4000-8000-000000000002', '2025-04-30T11:00:00.000Z', '192.0.2.0', 1, 'POST', 303],
      ['c0000000-0000-4000-8000-000000000003', '2025-04-29T09:00:00.000Z', null, 0, 'GET', 404],
    ] as const;
    for (const [id, at, ip, truncated, method, status] of old) {
      await sql`insert into access_log (id, at, org_id, ip, ip_truncated, user_agent, method, route, status, request_id)
        values (${id}, ${at}, ${null}, ${ip}, ${truncated}, ${'UA'}, ${method}, ${'/x'}, ${status}, ${`req-${id.slice(0, 1)}`})`.execute(
        db,
      );
    }
    const { applied } = await migrateToLatest(db, mainMigrations());
    expect(applied).toEqual([MIGRATION]);

    const rows = await kluis.db.selectFrom('access_log').selectAll().orderBy('id').execute();
    expect(rows.map((r) => r.request_id)).toEqual(['req-c', 'req-f', 'req-a']);
    expect(rows.map((r) => typeof r.id)).toEqual(['number', 'number', 'number']);
    expect(rows[1]).toMatchObject({
      at: '2025-04-30T10:00:00.000Z',
      org_id: null,
      ip: '192.0.2.7',
      ip_truncated: 0,
      user_agent: 'UA',
      method: 'GET',
      route: '/x',
      status: 200,
    });
    expect(rows[2]).toMatchObject({ ip: '192.0.2.0', ip_truncated: 1, method: 'POST', status: 303 });

    await createAccessLogRepository(kluis.db).insertMany([
      {
        at: '2025-05-01T12:00:00.000Z',
        org_id: null,
        ip: '198.51.100.1',
        ip_truncated: 0,
        user_agent: null,
        method: 'GET',
        route: '/',
        status: 200,
        request_id: 'req-new',
      },
    ]);
    const newest = await kluis.db
      .selectFrom('access_log')
      .select(['id', 'request_id'])
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(newest.request_id).toBe('req-new');
    expect(newest.id).toBeGreaterThan(rows[2]?.id ?? Number.POSITIVE_INFINITY);
  });
});
