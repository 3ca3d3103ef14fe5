/**
 * P8: operator staff see a tenant's data only under the tenant's grant — explicit (who, which
 * roles, why, under which agreement), time-limited, revocable — and the tenant sees everything
 * done under it. Attacks: entering without a grant, someone else's grant, after expiry or
 * revocation, asking for owner/admin, a tampered grant row.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import {
  createOrg,
  createStaffUser,
  type LoggedIn,
  loginAs,
  setCookies,
  staffRequests,
} from '../../../test/factories.js';
import { buildApp } from '../../app.js';
import { createFixedClock } from '../../shared/clock.js';
import { SESSION_COOKIE } from './auth-sessions.js';

const MARKER = 'Vraag onder opdracht marker-grant-3b7e';

describe('operator access under a tenant’s grant (P8)', () => {
  const clock = createFixedClock('2031-04-01T09:00:00.000Z');
  let kluis: TestKluis;
  let app: FastifyInstance;
  let tenantAdmin: LoggedIn;
  let operatorEmail: string;
  let operatorLogin: () => Promise<LoggedIn>;
  let otherOperator: LoggedIn;
  let conversationId: string;
  let tenantId: string;

  beforeAll(async () => {
    kluis = await createTestKluis({ clock, env: { KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: '100000' } });
    app = await buildApp(kluis);
    const tenant = await createOrg(kluis, 'tenant', 'Klant Met Opdracht');
    tenantId = tenant.id;
    const operator = await createOrg(kluis, 'operator', 'Beheerder');
    tenantAdmin = await loginAs(app, await createStaffUser(kluis, { orgId: tenant.id, roles: ['admin'] }));
    const operatorStaff = await createStaffUser(kluis, { orgId: operator.id, roles: ['support', 'admin'] });
    operatorEmail = operatorStaff.email;
    operatorLogin = () => loginAs(app, operatorStaff);
    otherOperator = await loginAs(
      app,
      await createStaffUser(kluis, { orgId: operator.id, roles: ['support'] }),
    );
    conversationId = (
      await kluis.services.intake.submitContactRequest({
        actor: { kind: 'anonymous', orgId: tenant.id, ref: 'ip:test' },
        channel: 'web',
        request: {
          name: 'Klant Persoon',
          email: 'klant.persoon@example.nl',
          phone: undefined,
          message: MARKER,
        },
        locale: 'nl',
      })
    ).conversationId;
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  const get = (who: { cookie: string }, url: string) => staffRequests(app).get(who, url);
  const post = (who: LoggedIn, url: string, fields: Record<string, string | string[]> = {}) =>
    staffRequests(app).post(who, url, fields);
  /** The same browser after a response that set a new session cookie. */
  const withNewSession = (who: LoggedIn, res: LightMyRequestResponse): LoggedIn => {
    const token = setCookies(res).get(SESSION_COOKIE);
    if (token === undefined || token === '') throw new Error(`no new session (status ${res.statusCode})`);
    return {
      ...who,
      sessionToken: token,
      cookie: who.cookie.replace(`${SESSION_COOKIE}=${who.sessionToken}`, `${SESSION_COOKIE}=${token}`),
    };
  };
  const grantValues = (over: Record<string, string | string[]> = {}) => ({
    granteeEmail: operatorEmail,
    roles: ['support'],
    purpose: 'Storing in de contactformulieren onderzoeken (ticket 4711)',
    agreementRef: 'Verwerkersovereenkomst Ambrix 2031',
    days: '2',
    ...over,
  });
  const grantIdsOfTenant = async () =>
    (await kluis.db.selectFrom('operator_grants').select('id').orderBy('created_at').execute()).map(
      (g) => g.id,
    );

  it('shows operator staff nothing of the tenant without a grant', async () => {
    const operator = await operatorLogin();
    const res = await get(operator, `/staff/conversations/${conversationId}`);
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain(MARKER);
  });

  it('refuses grants of owner or admin, beyond 30 days, to an unknown address, and from operator staff', async () => {
    for (const bad of [
      grantValues({ roles: ['admin'] }),
      grantValues({ roles: ['owner', 'support'] }),
      grantValues({ days: '31' }),
      grantValues({ purpose: 'kort' }),
      grantValues({ granteeEmail: 'niemand@example.nl' }),
    ]) {
      const res = await post(tenantAdmin, '/staff/grants', bad);
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
    }
    // An operator admin cannot grant itself access to anything.
    const operator = await operatorLogin();
    expect((await post(operator, '/staff/grants', grantValues())).statusCode).toBe(403);
    expect(await grantIdsOfTenant()).toEqual([]);
  });

  it('refuses a grant to staff of another organisation than the operator: another tenant’s or its own', async () => {
    const elsewhere = await createOrg(kluis, 'tenant', 'Andere Klant');
    const otherTenantStaff = await createStaffUser(kluis, {
      orgId: elsewhere.id,
      roles: ['support', 'admin'],
    });
    const ownStaff = await createStaffUser(kluis, { orgId: tenantId, roles: ['support'] });
    for (const email of [otherTenantStaff.email, ownStaff.email]) {
      const res = await post(tenantAdmin, '/staff/grants', grantValues({ granteeEmail: email }));
      expect(res.statusCode, email).toBe(400);
    }
    expect(await grantIdsOfTenant()).toEqual([]);
  });

  it('lets the grantee act with the granted roles only, and shows the tenant everything done', async () => {
    expect((await post(tenantAdmin, '/staff/grants', grantValues())).statusCode).toBe(303);
    const [grantId] = await grantIdsOfTenant();
    if (grantId === undefined) throw new Error('no grant');

    const operator = await operatorLogin();
    // Someone else's grant cannot be entered.
    expect((await post(otherOperator, `/staff/grants/${grantId}/enter`)).statusCode).toBe(404);
    expect((await get(operator, '/staff/grants/mine')).body).toContain('Klant Met Opdracht');
    const entered = await post(operator, `/staff/grants/${grantId}/enter`);
    expect(entered.statusCode).toBe(303);
    const under = withNewSession(operator, entered);
    // The session was rotated: the old cookie is dead.
    expect((await get(operator, '/staff')).statusCode).toBe(303);

    const page = await get(under, `/staff/conversations/${conversationId}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(MARKER);
    expect(page.body).toContain('U werkt voor een klant onder diens opdracht');
    const who = JSON.parse((await get(under, '/api/v1/whoami')).body) as {
      org: { kind: string };
      roles: string[];
    };
    expect(who).toMatchObject({ org: { kind: 'tenant' }, roles: ['support'] });
    // The user's own admin role does not come along.
    expect((await get(under, '/staff/users')).statusCode).toBe(403);

    const uses = await get(tenantAdmin, `/staff/grants/${grantId}`);
    expect(uses.statusCode).toBe(200);
    expect(uses.body).toContain('auth.grant.entered');
    expect(uses.body).toContain('intake.conversation.read');

    // The person's access export names it as the operator acting on the tenant's instruction.
    const subject = await kluis.db
      .selectFrom('conversations')
      .select(['subject_id', 'org_id'])
      .where('id', '=', conversationId)
      .executeTakeFirstOrThrow();
    const exported = await kluis.services.rights.compileExport(
      { orgId: subject.org_id },
      subject.subject_id,
      { asOf: clock.now() },
    );
    expect(exported.consultations.filter((c) => c.action === 'intake.conversation.read')).toEqual([
      expect.objectContaining({ recordId: conversationId, by: 'operator' }),
    ]);

    const left = await post(under, '/staff/grants/leave');
    expect(left.statusCode).toBe(303);
    const back = withNewSession(under, left);
    expect((await get(back, `/staff/conversations/${conversationId}`)).statusCode).toBe(404);
  });

  it('never gives more than grantable roles, whatever the stored row says', async () => {
    const [grantId] = await grantIdsOfTenant();
    if (grantId === undefined) throw new Error('no grant');
    await kluis.db
      .updateTable('operator_grants')
      .set({ roles: JSON.stringify(['owner', 'admin', 'support']) })
      .where('id', '=', grantId)
      .execute();
    const under = withNewSession(
      await operatorLogin(),
      await post(await operatorLogin(), `/staff/grants/${grantId}/enter`),
    );
    const who = JSON.parse((await get(under, '/api/v1/whoami')).body) as { roles: string[] };
    expect(who.roles).toEqual(['support']);
  });

  it('ends a session under a grant at the next request after revocation, and after expiry', async () => {
    const [grantId] = await grantIdsOfTenant();
    if (grantId === undefined) throw new Error('no grant');
    const operator = await operatorLogin();
    const under = withNewSession(operator, await post(operator, `/staff/grants/${grantId}/enter`));
    expect((await get(under, `/staff/conversations/${conversationId}`)).statusCode).toBe(200);
    expect((await post(tenantAdmin, `/staff/grants/${grantId}/revoke`)).statusCode).toBe(303);
    const revoked = await get(under, `/staff/conversations/${conversationId}`);
    expect(revoked.statusCode).toBe(303);
    expect(revoked.body).not.toContain(MARKER);
    expect((await post(await operatorLogin(), `/staff/grants/${grantId}/enter`)).statusCode).toBe(404);

    // A new grant for one day: the session under it ends no later than the grant, and the grant's
    // end is checked at every request (here moved to the past directly in the database).
    expect((await post(tenantAdmin, '/staff/grants', grantValues({ days: '1' }))).statusCode).toBe(303);
    const newest = (await grantIdsOfTenant()).at(-1);
    if (newest === undefined) throw new Error('no grant');
    const second = await operatorLogin();
    const underAgain = withNewSession(second, await post(second, `/staff/grants/${newest}/enter`));
    expect((await get(underAgain, `/staff/conversations/${conversationId}`)).statusCode).toBe(200);
    const rows = await kluis.db
      .selectFrom('sessions')
      .innerJoin('operator_grants', 'operator_grants.id', 'sessions.grant_id')
      .select(['sessions.expires_at as session_end', 'operator_grants.expires_at as grant_end'])
      .where('sessions.grant_id', '=', newest)
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.session_end ?? '').not.toBe('');
    expect((rows[0]?.session_end ?? '') <= (rows[0]?.grant_end ?? '')).toBe(true);
    await kluis.db
      .updateTable('operator_grants')
      .set({ expires_at: new Date(clock.now().getTime() - 1000).toISOString() })
      .where('id', '=', newest)
      .execute();
    expect((await get(underAgain, `/staff/conversations/${conversationId}`)).statusCode).toBe(303);

    // Revocation is checked on every request too, not only by deleting the grant's sessions.
    expect((await post(tenantAdmin, '/staff/grants', grantValues())).statusCode).toBe(303);
    const third = (await grantIdsOfTenant()).at(-1);
    if (third === undefined) throw new Error('no grant');
    const op = await operatorLogin();
    const underThird = withNewSession(op, await post(op, `/staff/grants/${third}/enter`));
    expect((await get(underThird, `/staff/conversations/${conversationId}`)).statusCode).toBe(200);
    await kluis.db
      .updateTable('operator_grants')
      .set({ revoked_at: clock.now().toISOString() })
      .where('id', '=', third)
      .execute();
    expect((await get(underThird, `/staff/conversations/${conversationId}`)).statusCode).toBe(303);
  });
});
