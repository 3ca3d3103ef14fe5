/**
 * Session resolution on the request path: one query per request (session, user, roles and grant
 * together; the kind of the session's org, which never changes, is read once per process), and
 * every change to a session, a user or their roles visible at the next request.
 */
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryId,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis, testDialect } from '../../../test/dialects.js';
import { createOrg, createStaffUser, systemActor } from '../../../test/factories.js';
import { openSqlite } from '../../db/database.js';
import { createFixedClock, MINUTE } from '../../shared/clock.js';
import type { Org } from '../orgs/orgs-repository.js';
import { createOrgsService } from '../orgs/orgs-service.js';
import { type AuthService, createAuthService } from './auth-service.js';
import { createSessionService, type SessionService } from './auth-sessions.js';

/**
 * Records the kind of every statement run through a Kysely instance. A query compiled once and
 * run many times is built (transformQuery) once but answered (transformResult) at every run.
 */
class QueryCounter implements KyselyPlugin {
  readonly kinds: string[] = [];
  readonly #built = new WeakMap<QueryId, string>();
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.#built.set(args.queryId, args.node.kind);
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    this.kinds.push(this.#built.get(args.queryId) ?? 'unknown');
    return args.result;
  }
}

describe('session resolution', () => {
  const clock = createFixedClock('2031-03-03T09:00:00.000Z');
  let kluis: TestKluis;
  let auth: AuthService;
  let org: Org;
  let other: Org;

  beforeAll(async () => {
    kluis = await createTestKluis({ clock });
    auth = createAuthService({ ...kluis, ...kluis.services });
    org = await createOrg(kluis, 'tenant');
    other = await createOrg(kluis, 'tenant');
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  /** A signed-in session for a new user of `org` (no password step: issued directly). */
  async function signedIn(
    roles: Parameters<typeof createStaffUser>[1]['roles'],
    pending: [] | ['totp'] = [],
  ) {
    const staff = await createStaffUser(kluis, { orgId: org.id, roles });
    const issued = await auth.sessions.issue(kluis.db, { id: staff.user.id, org_id: org.id }, pending);
    return { staff, issued };
  }

  async function countingSessions(): Promise<{ sessions: SessionService; counter: QueryCounter }> {
    const counter = new QueryCounter();
    const db = kluis.db.withPlugin(counter);
    const orgs = createOrgsService({ db });
    const sessions = createSessionService({
      db,
      clock,
      config: kluis.config,
      orgs,
      audit: kluis.services.audit,
    });
    // The org's kind is learned once per process (one query), then never read again.
    await orgs.kindOf(org.id);
    expect(counter.kinds).toEqual(['SelectQueryNode']);
    await orgs.kindOf(org.id);
    expect(counter.kinds).toEqual(['SelectQueryNode']);
    counter.kinds.length = 0;
    return { sessions, counter };
  }

  it('resolves a session with one query, and writes last_seen_at at most once a minute', async () => {
    const { issued } = await signedIn(['support', 'finance']);
    const { sessions, counter } = await countingSessions();
    const lastSeen = async () =>
      (
        await kluis.db
          .selectFrom('sessions')
          .select('last_seen_at')
          .where('id', '=', issued.id)
          .executeTakeFirstOrThrow()
      ).last_seen_at;
    const signedInAt = await lastSeen();

    clock.advance(30_000);
    const first = await sessions.resolve(issued.token);
    expect(first).toMatchObject({ kind: 'valid', actor: { roles: ['finance', 'support'] } });
    expect(counter.kinds).toEqual(['SelectQueryNode']);
    expect(await lastSeen()).toBe(signedInAt);

    clock.advance(31_000);
    counter.kinds.length = 0;
    expect((await sessions.resolve(issued.token)).kind).toBe('valid');
    expect(counter.kinds).toEqual(['SelectQueryNode', 'UpdateQueryNode']);
    expect(await lastSeen()).toBe(clock.now().toISOString());

    counter.kinds.length = 0;
    expect((await sessions.resolve(issued.token)).kind).toBe('valid');
    expect(counter.kinds).toEqual(['SelectQueryNode']);
  });

  it('takes a role change into account at the very next request, down to no role at all', async () => {
    const { staff, issued } = await signedIn(['support']);
    const roles = async () => {
      const resolved = await auth.sessions.resolve(issued.token);
      return resolved.kind === 'valid' ? resolved.actor.roles : resolved.kind;
    };
    expect(await roles()).toEqual(['support']);
    await auth.setRoles({ actor: systemActor(org), userId: staff.user.id, roles: ['security', 'admin'] });
    expect(await roles()).toEqual(['admin', 'security']);
    await kluis.db.deleteFrom('user_roles').where('user_id', '=', staff.user.id).execute();
    expect(await roles()).toEqual([]);
  });

  it('never lends a role held in another organisation', async () => {
    const { staff, issued } = await signedIn(['support']);
    await kluis.db
      .insertInto('user_roles')
      .values({ user_id: staff.user.id, org_id: other.id, role: 'owner' })
      .execute();
    const resolved = await auth.sessions.resolve(issued.token);
    expect(resolved.kind === 'valid' && resolved.actor.roles).toEqual(['support']);
  });

  it('gives a session that waits for its second factor no role at all', async () => {
    const { issued } = await signedIn(['admin'], ['totp']);
    expect(await auth.sessions.resolve(issued.token)).toMatchObject({
      kind: 'valid',
      actor: { roles: [] },
      session: { pending: ['totp'] },
    });
  });

  it('refuses a session at the next request once it is logged out, ended everywhere, or its user disabled', async () => {
    const a = await signedIn(['support']);
    expect((await auth.sessions.resolve(a.issued.token)).kind).toBe('valid');
    const actor = {
      kind: 'user',
      orgId: org.id,
      orgKind: org.kind,
      userId: a.staff.user.id,
      roles: [],
    } as const;
    await auth.sessions.logout(actor, a.issued.id);
    expect((await auth.sessions.resolve(a.issued.token)).kind).toBe('invalid');

    const b = await signedIn(['support']);
    const b2 = await auth.sessions.issue(kluis.db, { id: b.staff.user.id, org_id: org.id }, []);
    expect((await auth.sessions.resolve(b2.token)).kind).toBe('valid');
    await auth.sessions.logoutEverywhere({ ...actor, userId: b.staff.user.id });
    expect((await auth.sessions.resolve(b.issued.token)).kind).toBe('invalid');
    expect((await auth.sessions.resolve(b2.token)).kind).toBe('invalid');

    const c = await signedIn(['support']);
    expect((await auth.sessions.resolve(c.issued.token)).kind).toBe('valid');
    await kluis.db.updateTable('users').set({ disabled: 1 }).where('id', '=', c.staff.user.id).execute();
    expect((await auth.sessions.resolve(c.issued.token)).kind).toBe('invalid');
  });

  it('refuses the old token at once when a session is rotated', async () => {
    const { issued } = await signedIn(['support']);
    const rotated = await auth.sessions.rotate(kluis.db, issued.id, []);
    expect((await auth.sessions.resolve(issued.token)).kind).toBe('invalid');
    expect((await auth.sessions.resolve(rotated.token)).kind).toBe('valid');
  });

  it('refuses and deletes a session whose user now belongs to another organisation', async () => {
    const { staff, issued } = await signedIn(['support']);
    await kluis.db.updateTable('users').set({ org_id: other.id }).where('id', '=', staff.user.id).execute();
    expect((await auth.sessions.resolve(issued.token)).kind).toBe('invalid');
    expect(
      await kluis.db.selectFrom('sessions').select('id').where('id', '=', issued.id).executeTakeFirst(),
    ).toBeUndefined();
  });

  it('still ends a session after the idle limit, counted from its last recorded use', async () => {
    const { issued } = await signedIn(['support']);
    clock.advance(29 * MINUTE);
    expect((await auth.sessions.resolve(issued.token)).kind).toBe('valid');
    clock.advance(29 * MINUTE);
    expect((await auth.sessions.resolve(issued.token)).kind).toBe('valid');
    clock.advance(kluis.config.sessionIdleMinutes * MINUTE);
    expect((await auth.sessions.resolve(issued.token)).kind).toBe('invalid');
  });

  it('answers a repeated look-up from memory only while nothing is written', async () => {
    const { issued } = await signedIn(['support']);
    await kluis.changeFeed?.sync();
    const sessions = createAuthService({ ...kluis, ...kluis.services }).sessions;
    expect((await sessions.resolve(issued.token)).kind).toBe('valid');
    const before = sessions.cacheStats();
    expect((await sessions.resolve(issued.token)).kind).toBe('valid');
    expect(sessions.cacheStats().hits - before.hits).toBe(1);

    // A write moves the change stamp (SQLite: every write; PostgreSQL: every write by this node, and
    // every change to the tables a look-up reads by any node): the next look-up reads.
    await kluis.db.updateTable('orgs').set({ name: 'Hernoemd' }).where('id', '=', other.id).execute();
    const afterWrite = sessions.cacheStats();
    expect((await sessions.resolve(issued.token)).kind).toBe('valid');
    expect(sessions.cacheStats().misses - afterWrite.misses).toBe(1);
    expect(sessions.cacheStats().hits).toBe(afterWrite.hits);
  });

  it('answers from memory only the very token that was looked up', async () => {
    const { issued } = await signedIn(['support']);
    await kluis.changeFeed?.sync();
    const sessions = createAuthService({ ...kluis, ...kluis.services }).sessions;
    expect((await sessions.resolve(issued.token)).kind).toBe('valid');
    expect((await sessions.resolve(issued.token)).kind).toBe('valid');
    const last = issued.token.at(-1) === 'A' ? 'B' : 'A';
    const forged = [`${issued.token.slice(0, -1)}${last}`, issued.token.toLowerCase(), ` ${issued.token}`];
    for (const token of forged) {
      if (token === issued.token) continue;
      expect((await sessions.resolve(token)).kind).toBe('invalid');
    }
    // The session itself is untouched by the forgeries.
    expect((await sessions.resolve(issued.token)).kind).toBe('valid');
  });

  it('hands out a cached resolution no request can change for the next one', async () => {
    const { issued } = await signedIn(['support']);
    await kluis.changeFeed?.sync();
    const sessions = createAuthService({ ...kluis, ...kluis.services }).sessions;
    const first = await sessions.resolve(issued.token);
    if (first.kind !== 'valid') throw new Error('expected a valid session');
    // A handler that tries to raise its own roles, or to drop a pending step, or to act in
    // another org, fails instead of changing what the cache hands the next request.
    expect(() => (first.actor.roles as string[]).push('owner')).toThrow(TypeError);
    expect(() => Object.assign(first.actor, { orgId: other.id })).toThrow(TypeError);
    expect(() => (first.session.pending as string[]).push('totp')).toThrow(TypeError);
    expect(() => Object.assign(first, { kind: 'none' })).toThrow(TypeError);
    const before = sessions.cacheStats();
    const second = await sessions.resolve(issued.token);
    expect(sessions.cacheStats().hits - before.hits).toBe(1);
    expect(second).toMatchObject({ kind: 'valid', actor: { orgId: org.id, roles: ['support'] } });
  });

  it.runIf(testDialect === 'sqlite')(
    'sees what another connection commits (a CLI, the worker) at the very next request',
    async () => {
      const sessions = createAuthService({ ...kluis, ...kluis.services }).sessions;
      const { staff, issued } = await signedIn(['support', 'finance']);
      const roles = async () => {
        const resolved = await sessions.resolve(issued.token);
        return resolved.kind === 'valid' ? resolved.actor.roles : resolved.kind;
      };
      expect(await roles()).toEqual(['finance', 'support']);
      expect(await roles()).toEqual(['finance', 'support']);
      const file = kluis.dbFile;
      if (file === undefined) throw new Error('expected a SQLite file');
      const elsewhere = openSqlite(file, { encryptionKey: kluis.config.databaseKey?.value });
      try {
        elsewhere.prepare("DELETE FROM user_roles WHERE user_id = ? AND role = 'finance'").run(staff.user.id);
        expect(await roles()).toEqual(['support']);
        expect(await roles()).toEqual(['support']);
        elsewhere.prepare('UPDATE users SET disabled = 1 WHERE id = ?').run(staff.user.id);
        expect(await roles()).toBe('invalid');
      } finally {
        elsewhere.close();
      }
    },
  );

  it.runIf(testDialect === 'sqlite')('gives no change stamp inside an open transaction', async () => {
    expect(kluis.changeStamp()).toMatch(/^\d+:\d+$/);
    await kluis.db.transaction().execute(async (trx) => {
      await trx.selectFrom('orgs').select('id').limit(1).execute();
      expect(kluis.changeStamp()).toBeUndefined();
    });
    expect(kluis.changeStamp()).toMatch(/^\d+:\d+$/);
  });
});
