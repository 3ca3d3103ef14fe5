/**
 * Migration 1010 widens the CHECK lists of the rights tables for OpenDSR (channel `opendsr`,
 * method `controller`, status and event `cancelled`). On SQLite that is a table rebuild: every row
 * and its timeline must survive, the lists must still be enforced, and the foreign keys and
 * indexes must be back as they were.
 */
import { type Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis, testDialect } from '../../../test/dialects.js';
import { createOrg } from '../../../test/factories.js';
import { mainMigrations, migrateToLatest } from '../../db/migrations.js';

const MIGRATION = '1010_rights_controller_requests';

async function insertRequest(db: Kysely<unknown>, id: string, orgId: string, values: Record<string, string>) {
  const row = {
    channel: 'portal',
    status: 'received',
    verification_method: null,
    ...values,
  };
  await sql`insert into rights_requests (id, org_id, channel, locale, status, token_hash, token_expires_at,
      received_at, verification_method, due_on, created_at, updated_at)
    values (${id}, ${orgId}, ${row.channel}, 'nl', ${row.status}, ${`hash-${id}`}, '2030-01-15T00:00:00.000Z',
      '2030-01-01T00:00:00.000Z', ${row.verification_method}, '2030-02-01', '2030-01-01T00:00:00.000Z',
      '2030-01-01T00:00:00.000Z')`.execute(db);
}

async function insertEvent(db: Kysely<unknown>, id: string, orgId: string, requestId: string, kind: string) {
  await sql`insert into rights_request_events (id, org_id, request_id, at, kind, actor_ref)
    values (${id}, ${orgId}, ${requestId}, '2030-01-01T00:00:00.000Z', ${kind}, 'system')`.execute(db);
}

describe(`migration ${MIGRATION}`, () => {
  let kluis: TestKluis | undefined;
  afterEach(async () => {
    await kluis?.destroy();
    kluis = undefined;
  });

  it('keeps every request and its timeline, then takes the new values and still refuses unknown ones', async () => {
    kluis = await createTestKluis({ migrate: false });
    const db = kluis.db as unknown as Kysely<unknown>;
    await migrateToLatest(
      db,
      Object.fromEntries(Object.entries(mainMigrations()).filter(([name]) => name !== MIGRATION)),
    );
    const org = await createOrg(kluis, 'tenant');
    await insertRequest(db, 'r-old', org.id, {
      channel: 'email',
      status: 'verified',
      verification_method: 'staff_review',
    });
    await insertEvent(db, 'e-1', org.id, 'r-old', 'received');
    await insertEvent(db, 'e-2', org.id, 'r-old', 'verified');
    // Before: the new values are refused.
    await expect(insertRequest(db, 'r-early', org.id, { channel: 'opendsr' })).rejects.toThrow();

    expect((await migrateToLatest(db, mainMigrations())).applied).toEqual([MIGRATION]);

    const kept = await kluis.db.selectFrom('rights_requests').selectAll().where('id', '=', 'r-old').execute();
    expect(kept).toMatchObject([
      { channel: 'email', status: 'verified', verification_method: 'staff_review' },
    ]);
    const events = await kluis.db
      .selectFrom('rights_request_events')
      .select('kind')
      .where('request_id', '=', 'r-old')
      .execute();
    expect(events.map((e) => e.kind).sort()).toEqual(['received', 'verified']);

    await insertRequest(db, 'r-new', org.id, {
      channel: 'opendsr',
      status: 'cancelled',
      verification_method: 'controller',
    });
    await insertEvent(db, 'e-3', org.id, 'r-new', 'cancelled');
    await expect(insertRequest(db, 'r-bad', org.id, { channel: 'fax' })).rejects.toThrow();
    await expect(insertRequest(db, 'r-bad', org.id, { status: 'forgotten' })).rejects.toThrow();
    await expect(insertRequest(db, 'r-bad', org.id, { verification_method: 'passport' })).rejects.toThrow();
    await expect(insertEvent(db, 'e-bad', org.id, 'r-new', 'teleported')).rejects.toThrow();

    // The foreign keys hold again: a timeline entry of no request is refused, and deleting a
    // request takes its timeline with it.
    await expect(insertEvent(db, 'e-orphan', org.id, 'no-such-request', 'received')).rejects.toThrow();
    await sql`delete from rights_requests where id = 'r-old'`.execute(db);
    expect(
      await kluis.db
        .selectFrom('rights_request_events')
        .select('id')
        .where('request_id', '=', 'r-old')
        .execute(),
    ).toEqual([]);
    if (testDialect === 'sqlite') {
      const indexes = await sql<{ name: string }>`select name from sqlite_master
        where type = 'index' and tbl_name in ('rights_requests', 'rights_request_events') and sql is not null
        order by name`.execute(db);
      expect(indexes.rows.map((r) => r.name)).toEqual([
        'rights_request_events_request',
        'rights_requests_conversation',
        'rights_requests_queue',
        'rights_requests_subject',
      ]);
    }
  });
});
