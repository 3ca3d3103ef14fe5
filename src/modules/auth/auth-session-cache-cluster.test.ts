/**
 * The exact session cache across nodes on PostgreSQL (decision 0020): each node keeps looked-up
 * sessions while nothing they depend on changed, and drops them when any node (or a tool) changes
 * sessions, users, roles, grants or orgs — heard through LISTEN/NOTIFY. While the listening
 * connection is down nothing is cached at all.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis, testDialect, testPgUrl } from '../../../test/dialects.js';
import { createOrg, createStaffUser, systemActor } from '../../../test/factories.js';
import type { Kluis } from '../../kluis.js';
import { createFixedClock } from '../../shared/clock.js';
import type { Org } from '../orgs/orgs-repository.js';
import { createAuthService } from './auth-service.js';

const clock = createFixedClock('2031-03-03T09:00:00.000Z');

describe.runIf(testDialect === 'postgres')('the session cache of a cluster on PostgreSQL', () => {
  let nodeA: TestKluis;
  let nodeB: Kluis;
  let org: Org;

  beforeEach(async () => {
    nodeA = await createTestKluis({ clock });
    nodeB = await nodeA.openPeer({ clock });
    org = await createOrg(nodeA, 'tenant');
  });
  afterEach(async () => {
    await nodeA.destroy();
  });

  async function signedIn(roles: Parameters<typeof createStaffUser>[1]['roles']) {
    const staff = await createStaffUser(nodeA, { orgId: org.id, roles });
    const issued = await nodeA.services.auth.sessions.issue(
      nodeA.db,
      { id: staff.user.id, org_id: org.id },
      [],
    );
    // The notifications of these writes arrive in their own time: wait for them here, so the
    // cache statistics below count only what the test does.
    await nodeA.changeFeed?.sync();
    return { staff, issued };
  }

  /** A node's answer to a request bearing `token`: its roles, or why it was refused. */
  async function rolesOn(node: Kluis, token: string) {
    const resolved = await node.services.auth.sessions.resolve(token);
    return resolved.kind === 'valid' ? resolved.actor.roles : resolved.kind;
  }

  it('answers repeated look-ups from memory, and refuses at once a session another node ended', async () => {
    const { issued } = await signedIn(['support']);
    const sessions = nodeA.services.auth.sessions;
    expect(await rolesOn(nodeA, issued.token)).toEqual(['support']);
    const before = sessions.cacheStats();
    expect(await rolesOn(nodeA, issued.token)).toEqual(['support']);
    expect(sessions.cacheStats().hits - before.hits).toBe(1);

    // Node B logs the session out; A hears of it through the database.
    await nodeB.services.auth.sessions.logout(systemActor(org), issued.id);
    await nodeA.changeFeed?.sync();
    expect(await rolesOn(nodeA, issued.token)).toBe('invalid');
  });

  it('sees a role taken away, a user disabled and a grant revoked on another node at the next request', async () => {
    const { staff, issued } = await signedIn(['support', 'finance']);
    expect(await rolesOn(nodeA, issued.token)).toEqual(['finance', 'support']);
    expect(await rolesOn(nodeA, issued.token)).toEqual(['finance', 'support']);

    const authB = createAuthService({ ...nodeB, ...nodeB.services });
    await authB.setRoles({ actor: systemActor(org), userId: staff.user.id, roles: ['support'] });
    await nodeA.changeFeed?.sync();
    expect(await rolesOn(nodeA, issued.token)).toEqual(['support']);
    expect(await rolesOn(nodeA, issued.token)).toEqual(['support']);

    // A tool outside Kluis (psql) disables the user.
    await sql`update users set disabled = 1 where id = ${staff.user.id}`.execute(nodeB.db);
    await nodeA.changeFeed?.sync();
    expect(await rolesOn(nodeA, issued.token)).toBe('invalid');
  });

  it('sees its own writes at once, before their notification comes back', async () => {
    const { staff, issued } = await signedIn(['support', 'finance']);
    expect(await rolesOn(nodeA, issued.token)).toEqual(['finance', 'support']);
    expect(await rolesOn(nodeA, issued.token)).toEqual(['finance', 'support']);
    await nodeA.db
      .deleteFrom('user_roles')
      .where('user_id', '=', staff.user.id)
      .where('role', '=', 'finance')
      .execute();
    // No sync: the stamp moved when this node wrote.
    expect(await rolesOn(nodeA, issued.token)).toEqual(['support']);
  });

  it('caches nothing while the listening connection is down, and again once it is back', async () => {
    const { staff, issued } = await signedIn(['support']);
    const feed = nodeA.changeFeed;
    expect(feed?.listening()).toBe(true);
    const sessions = nodeA.services.auth.sessions;

    // Kill the listener's backend, as a database restart or a network cut would.
    const schema = nodeA.ledgerStore?.schema.replace(/_ledger$/, '') ?? '';
    const killer = new pg.Client({ connectionString: testPgUrl });
    await killer.connect();
    try {
      const killed = await killer.query(
        'select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1',
        [`kluis-listen:${schema}`],
      );
      expect(killed.rowCount).toBeGreaterThanOrEqual(1);
    } finally {
      await killer.end();
    }
    for (let i = 0; i < 100 && feed?.listening(); i++) await delay(10);
    expect(feed?.listening()).toBe(false);
    expect(nodeA.changeStamp()).toBeUndefined();

    const down = sessions.cacheStats();
    expect(await rolesOn(nodeA, issued.token)).toEqual(['support']);
    expect(await rolesOn(nodeA, issued.token)).toEqual(['support']);
    expect(sessions.cacheStats().hits).toBe(down.hits);
    // A change nobody hears about (the listener is down) is still seen: every request reads.
    await sql`update users set disabled = 1 where id = ${staff.user.id}`.execute(nodeB.db);
    expect(await rolesOn(nodeA, issued.token)).toBe('invalid');

    for (let i = 0; i < 300 && !feed?.listening(); i++) await delay(10);
    expect(feed?.listening()).toBe(true);
    const other = await signedIn(['finance']);
    expect(await rolesOn(nodeA, other.issued.token)).toEqual(['finance']);
    const up = sessions.cacheStats();
    expect(await rolesOn(nodeA, other.issued.token)).toEqual(['finance']);
    expect(sessions.cacheStats().hits - up.hits).toBe(1);
  });
});
