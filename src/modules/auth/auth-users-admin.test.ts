import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../../../test/browser.js';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg, createStaffUser, type StaffCredentials, systemActor } from '../../../test/factories.js';
import { buildApp } from '../../app.js';
import type { Role } from '../../shared/actor.js';
import { createFixedClock, HOUR, MINUTE } from '../../shared/clock.js';
import type { Org } from '../orgs/orgs-repository.js';
import { SESSION_COOKIE } from './auth-sessions.js';

const otpOf = (body: string) => /id="one-time-password">([^<]+)</.exec(body)?.[1] ?? '';

/** Names in the user table, in page order. */
const namesOf = (body: string) =>
  [...body.matchAll(/<td><a href="\/staff\/users\/[0-9a-f-]{36}">([^<]+)<\/a><\/td>/g)].map((m) => m[1]);

describe('user management for owners and admins', () => {
  const clock = createFixedClock('2030-06-03T08:00:00.000Z');
  let kluis: TestKluis;
  let app: FastifyInstance;
  let tenant: Org;
  let operator: Org;
  let admin: StaffCredentials;

  beforeAll(async () => {
    kluis = await createTestKluis({ clock, env: { KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: '100000' } });
    app = await buildApp(kluis);
    tenant = await createOrg(kluis, 'tenant');
    operator = await createOrg(kluis, 'operator');
    admin = await createStaffUser(kluis, { orgId: tenant.id, roles: ['admin'] });
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  async function signedIn(who: StaffCredentials): Promise<Browser> {
    const b = new Browser(app);
    const res = await b.login(who.email, who.password);
    expect(res.statusCode).toBe(303);
    return b;
  }

  it('lets an admin create a user who signs in with the one-time password and must choose a new one', async () => {
    const b = await signedIn(admin);
    const form = await b.get('/staff/users/new');
    expect(form.statusCode).toBe(200);
    expect(form.body).toContain('<legend>Rollen</legend>');
    // An admin cannot hand out the owner role, so it is not offered.
    expect(form.body).not.toContain('value="owner"');
    const created = await b.post('/staff/users', {
      email: 'Nieuwe.Collega@Example.test',
      displayName: 'Nieuwe Collega',
      roles: ['support', 'finance'],
    });
    expect(created.statusCode).toBe(200);
    const otp = otpOf(created.body);
    expect(otp).toMatch(/^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
    const row = await kluis.db
      .selectFrom('users')
      .selectAll()
      .where('org_id', '=', tenant.id)
      .where('email', '=', 'nieuwe.collega@example.test')
      .executeTakeFirstOrThrow();
    expect(row.must_change_password).toBe(1);
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    const roles = await kluis.db
      .selectFrom('user_roles')
      .select('role')
      .where('user_id', '=', row.id)
      .execute();
    expect(roles.map((r) => r.role).sort()).toEqual(['finance', 'support']);

    // Shown once: not on the user's page, not in the list, not in the audit trail.
    expect((await b.get(`/staff/users/${row.id}`)).body).not.toContain(otp);
    expect((await b.get('/staff/users')).body).not.toContain(otp);
    const audit = await kluis.db
      .selectFrom('audit_log')
      .selectAll()
      .where('target_id', '=', row.id)
      .execute();
    expect(audit.map((a) => a.action)).toContain('auth.user.created');
    expect(JSON.stringify(audit)).not.toContain(otp);
    expect(JSON.stringify(audit)).not.toContain('example.test');

    clock.advance(MINUTE);
    const newcomer = new Browser(app);
    const login = await newcomer.login('nieuwe.collega@example.test', otp);
    expect(login.statusCode).toBe(303);
    expect(login.headers.location).toBe('/staff/account/password');
    expect((await newcomer.get('/staff')).headers.location).toBe('/staff/account/password');
    const strong = 'zeilboot lantaarn december rabarber';
    const changed = await newcomer.post('/staff/account/password', {
      newPassword: strong,
      confirmPassword: strong,
    });
    expect(changed.statusCode).toBe(303);
    expect((await newcomer.get('/staff')).statusCode).toBe(200);
    // The list now shows when the user last signed in.
    const list = await b.get('/staff/users?sort=lastLogin&dir=desc');
    expect(namesOf(list.body)[0]).toBe('Nieuwe Collega');
  });

  it('keeps the form input and explains the problem when the email is invalid or taken, or no role is chosen', async () => {
    const b = await signedIn(admin);
    await b.get('/staff/users/new');
    const invalid = await b.post('/staff/users', { email: 'geen-adres', displayName: 'Iemand' });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.body).toContain('class="error-summary"');
    expect(invalid.body).toContain('value="Iemand"');
    expect(invalid.body).toContain('Kies minstens één rol.');
    const taken = await b.post('/staff/users', {
      email: admin.email,
      displayName: 'Dubbel',
      roles: 'support',
    });
    expect(taken.statusCode).toBe(409);
    expect(taken.body).toContain('Er is in deze organisatie al een gebruiker met dit e-mailadres.');
    expect(taken.body).toContain('value="support" checked');
  });

  it('refuses a support user with 403 on every /staff/users and /staff/api-keys route', async () => {
    const support = await createStaffUser(kluis, {
      orgId: tenant.id,
      roles: ['support', 'finance', 'security'],
    });
    const target = await createStaffUser(kluis, { orgId: tenant.id, roles: ['support'] });
    const b = await signedIn(support);
    await b.get('/staff');
    const routes = app.routeTable.filter(
      (r) => r.url.startsWith('/staff/users') || r.url.startsWith('/staff/api-keys'),
    );
    expect(routes.length).toBeGreaterThanOrEqual(12);
    for (const route of routes) {
      const url = route.url.replace(':id', target.user.id);
      const res =
        route.method === 'GET' ? await b.get(url) : await b.post(url, { roles: 'owner', name: 'x' });
      expect(res.statusCode, `${route.method} ${route.url}`).toBe(403);
    }
    const after = await kluis.services.auth.findUserById({
      actor: systemActor(tenant),
      userId: target.user.id,
    });
    expect(after).toMatchObject({ roles: ['support'], disabled: false, mustChangePassword: false });
    expect(
      await kluis.db.selectFrom('api_keys').select('id').where('org_id', '=', tenant.id).execute(),
    ).toEqual([]);
    // Nor is the menu entry shown.
    expect((await b.get('/staff')).body).not.toContain('href="/staff/users"');
    expect((await (await signedIn(admin)).get('/staff')).body).toContain('href="/staff/users"');
  });

  it('answers 404 when a tenant admin opens or changes an operator user, and the other way round', async () => {
    const operatorAdmin = await createStaffUser(kluis, { orgId: operator.id, roles: ['owner', 'admin'] });
    const operatorUser = await createStaffUser(kluis, { orgId: operator.id, roles: ['support'] });
    const tenantUser = await createStaffUser(kluis, { orgId: tenant.id, roles: ['support'] });
    const snapshot = async () =>
      JSON.stringify(
        await kluis.db
          .selectFrom('users')
          .select(['id', 'password_hash', 'disabled', 'locked_until', 'totp_enabled', 'updated_at'])
          .orderBy('id')
          .execute(),
      ) +
      JSON.stringify(
        await kluis.db.selectFrom('user_roles').selectAll().orderBy('user_id').orderBy('role').execute(),
      );

    const pairs: [StaffCredentials, StaffCredentials][] = [
      [admin, operatorUser],
      [operatorAdmin, tenantUser],
    ];
    for (const [attacker, victim] of pairs) {
      const b = await signedIn(attacker);
      const before = await snapshot();
      const id = victim.user.id;
      expect((await b.get(`/staff/users/${id}`)).statusCode).toBe(404);
      for (const action of ['roles', 'disable', 'enable', 'unlock', 'reset-password', 'reset-totp']) {
        const res = await b.post(`/staff/users/${id}/${action}`, { roles: 'admin' });
        expect(res.statusCode, action).toBe(404);
        expect(res.body).not.toContain('id="one-time-password"');
      }
      const list = await b.get(`/staff/users?role=support`);
      expect(list.body).not.toContain(victim.email);
      expect(await snapshot()).toBe(before);
    }
    // A malformed id is a 404 too, not a 500.
    const b = await signedIn(admin);
    expect((await b.get('/staff/users/not-a-uuid')).statusCode).toBe(404);
  });

  it('changes roles, disables, enables, unlocks and resets password and TOTP, each audited', async () => {
    const b = await signedIn(admin);
    const bob = await createStaffUser(kluis, { orgId: tenant.id, roles: ['support'], totp: true });
    const bobBrowser = new Browser(app);
    await bobBrowser.login(bob.email, bob.password, () => bob.totp());
    expect((await bobBrowser.get('/staff')).statusCode).toBe(200);
    const base = `/staff/users/${bob.user.id}`;
    await b.get(base);

    const roles = await b.post(`${base}/roles`, { roles: ['support', 'privacy_officer'] });
    expect(roles.statusCode).toBe(303);
    expect(roles.headers.location).toBe(`${base}?done=roles`);
    const page = await b.get(roles.headers.location ?? '');
    expect(page.body).toContain('De rollen zijn opgeslagen.');
    expect(page.body).toContain('value="privacy_officer" checked');
    const none = await b.post(`${base}/roles`, {});
    expect(none.statusCode).toBe(400);
    expect(none.body).toContain('Kies minstens één rol.');

    expect((await b.post(`${base}/disable`)).headers.location).toBe(`${base}?done=disabled`);
    expect((await bobBrowser.get('/staff')).statusCode).toBe(303);
    expect((await new Browser(app).login(bob.email, bob.password)).statusCode).toBe(401);
    expect((await b.post(`${base}/enable`)).headers.location).toBe(`${base}?done=enabled`);

    const wrong = new Browser(app);
    for (let i = 0; i < 5; i++) await wrong.login(bob.email, 'wrong-password-123');
    const locked = await b.get(base);
    expect(locked.body).toContain('Geblokkeerd');
    expect(locked.body).toContain(`action="${base}/unlock"`);
    expect((await b.post(`${base}/unlock`)).headers.location).toBe(`${base}?done=unlocked`);

    await b.get(base);
    expect((await b.post(`${base}/reset-totp`)).headers.location).toBe(`${base}?done=totp`);
    await b.get(base);
    const reset = await b.post(`${base}/reset-password`);
    expect(reset.statusCode).toBe(200);
    const otp = otpOf(reset.body);
    expect(otp).not.toBe('');
    expect((await new Browser(app).login(bob.email, bob.password)).statusCode).toBe(401);
    const fresh = await new Browser(app).login(bob.email, otp);
    expect(fresh.headers.location).toBe('/staff/account/password');

    const actions = (
      await kluis.db
        .selectFrom('audit_log')
        .select(['action', 'actor'])
        .where('target_id', '=', bob.user.id)
        .orderBy('seq')
        .execute()
    ).filter((a) => a.actor === `user:${admin.user.id}`);
    expect(actions.map((a) => a.action)).toEqual([
      'auth.user.roles_changed',
      'auth.user.disabled',
      'auth.user.enabled',
      'auth.user.unlocked',
      'auth.totp.reset',
      'auth.user.password_reset',
    ]);
    const row = await kluis.db
      .selectFrom('users')
      .select(['totp_enabled', 'locked_until', 'must_change_password'])
      .where('id', '=', bob.user.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ totp_enabled: 0, locked_until: null, must_change_password: 1 });
  });

  it('refuses an admin giving themself a purpose role, changes nothing, and lets a second admin give it', async () => {
    const org = await createOrg(kluis, 'tenant');
    const self = await createStaffUser(kluis, { orgId: org.id, roles: ['admin'] });
    const second = await createStaffUser(kluis, { orgId: org.id, roles: ['admin'] });
    const b = await signedIn(self);
    const base = `/staff/users/${self.user.id}`;
    const rolesOf = async () =>
      (await kluis.db.selectFrom('user_roles').select('role').where('user_id', '=', self.user.id).execute())
        .map((r) => r.role)
        .sort();

    // The own page does not offer purpose roles, and says who gives them.
    const page = await b.get(base);
    expect(page.body).not.toContain('value="finance"');
    expect(page.body).toContain('van een andere eigenaar of beheerder');

    // The attack: the form is forged with `finance` anyway.
    const attack = await b.post(`${base}/roles`, { roles: ['admin', 'finance'] });
    expect(attack.statusCode).toBe(403);
    expect(attack.body).toContain('U kunt uzelf geen rol geven die toegang geeft tot persoonsgegevens');
    expect(await rolesOf()).toEqual(['admin']);
    expect((await b.get('/staff/relations')).statusCode).toBe(403);
    const refused = await kluis.db
      .selectFrom('audit_log')
      .select(['actor', 'meta'])
      .where('action', '=', 'auth.user.roles_refused')
      .where('target_id', '=', self.user.id)
      .execute();
    expect(refused).toEqual([
      { actor: `user:${self.user.id}`, meta: '{"reason":"self_purpose_role","roles":"finance"}' },
    ]);

    // Another admin gives it, audited as theirs; it takes effect at the next request.
    const other = await signedIn(second);
    await other.get(base);
    const given = await other.post(`${base}/roles`, { roles: ['admin', 'finance'] });
    expect(given.headers.location).toBe(`${base}?done=roles`);
    expect(await rolesOf()).toEqual(['admin', 'finance']);
    expect((await b.get('/staff/relations')).statusCode).toBe(200);
    const changed = await kluis.db
      .selectFrom('audit_log')
      .select('actor')
      .where('action', '=', 'auth.user.roles_changed')
      .where('target_id', '=', self.user.id)
      .execute();
    expect(changed).toEqual([{ actor: `user:${second.user.id}` }]);
  });

  it('keeps an admin away from an owner’s account and explains why an owner cannot disable themself', async () => {
    const org = await createOrg(kluis, 'tenant');
    const owner = await createStaffUser(kluis, { orgId: org.id, roles: ['owner'] });
    const orgAdmin = await createStaffUser(kluis, { orgId: org.id, roles: ['admin'] });
    const a = await signedIn(orgAdmin);
    const ownerPage = await a.get(`/staff/users/${owner.user.id}`);
    expect(ownerPage.statusCode).toBe(200);
    expect(ownerPage.body).toContain('Alleen een eigenaar kan het account van een eigenaar beheren.');
    expect(ownerPage.body).not.toContain('/disable"');
    expect((await a.post(`/staff/users/${owner.user.id}/disable`)).statusCode).toBe(403);
    expect((await a.post(`/staff/users/${owner.user.id}/reset-password`)).statusCode).toBe(403);
    // Only an owner grants the owner role.
    expect(
      (await a.post(`/staff/users/${orgAdmin.user.id}/roles`, { roles: ['admin', 'owner'] })).statusCode,
    ).toBe(403);

    const o = await signedIn(owner);
    await o.get(`/staff/users/${owner.user.id}`);
    const self = await o.post(`/staff/users/${owner.user.id}/disable`);
    expect(self.statusCode).toBe(409);
    expect(self.body).toContain('U kunt uw eigen account niet uitschakelen.');
    const last = await o.post(`/staff/users/${owner.user.id}/roles`, { roles: 'admin' });
    expect(last.statusCode).toBe(409);
    expect(last.body).toContain('Dit is de laatste actieve eigenaar van de organisatie.');
    const roles = await kluis.services.auth.findUserById({
      actor: systemActor(org),
      userId: owner.user.id,
    });
    expect(roles?.roles).toEqual(['owner']);
  });

  it('sorts the list by name, email and last sign-in, filters by role and status, and pages by 25', async () => {
    const org = await createOrg(kluis, 'tenant');
    const auth = kluis.services.auth;
    const actor = systemActor(org);
    const made: { id: string; name: string }[] = [];
    for (let i = 0; i < 27; i++) {
      const n = String(i).padStart(2, '0');
      const roles: Role[] = i % 3 === 0 ? ['finance'] : ['support'];
      const { user } = await auth.createUser({
        actor,
        orgId: org.id,
        // Email order is the reverse of name order.
        email: `u${String(99 - i)}@example.test`,
        displayName: `Gebruiker ${n}`,
        roles,
      });
      made.push({ id: user.id, name: user.displayName });
    }
    const orgAdmin = await createStaffUser(kluis, {
      orgId: org.id,
      roles: ['admin'],
      displayName: 'Zz Beheerder',
      email: 'zz-beheer@example.test',
    });
    const first = made[0];
    const second = made[1];
    const third = made[2];
    if (first === undefined || second === undefined || third === undefined) throw new Error('no users');
    await auth.setDisabled({ actor, userId: second.id, disabled: true });
    await kluis.db
      .updateTable('users')
      .set({ locked_until: new Date(clock.now().getTime() + HOUR).toISOString() })
      .where('id', '=', third.id)
      .execute();
    await kluis.db
      .updateTable('users')
      .set({ last_login_at: new Date(clock.now().getTime() - 10 * MINUTE).toISOString() })
      .where('id', '=', first.id)
      .execute();

    const b = await signedIn(orgAdmin);
    const byName = await b.get('/staff/users');
    expect(byName.body).toContain('28 gebruikers, pagina 1 van 2.');
    expect(namesOf(byName.body)).toHaveLength(25);
    expect(namesOf(byName.body).slice(0, 2)).toEqual(['Gebruiker 00', 'Gebruiker 01']);
    expect(byName.body).toContain('aria-sort="ascending"');
    expect(byName.body).toContain('rel="next" href="/staff/users?page=2"');
    const page2 = await b.get('/staff/users?page=2');
    expect(namesOf(page2.body)).toEqual(['Gebruiker 25', 'Gebruiker 26', 'Zz Beheerder']);
    const desc = await b.get('/staff/users?dir=desc');
    expect(namesOf(desc.body)[0]).toBe('Zz Beheerder');
    const byEmail = await b.get('/staff/users?sort=email');
    expect(namesOf(byEmail.body)[0]).toBe('Gebruiker 26');
    // Last sign-in, newest first: the admin (just now), then user 00; never-signed-in users last.
    const byLogin = await b.get('/staff/users?sort=lastLogin&dir=desc');
    expect(namesOf(byLogin.body).slice(0, 2)).toEqual(['Zz Beheerder', 'Gebruiker 00']);
    const byLoginAsc = await b.get('/staff/users?sort=lastLogin&dir=asc');
    expect(namesOf(byLoginAsc.body).slice(0, 2)).toEqual(['Gebruiker 00', 'Zz Beheerder']);

    const finance = await b.get('/staff/users?role=finance');
    expect(finance.body).toContain('9 gebruikers');
    expect(
      namesOf(finance.body).every((n) =>
        ['00', '03', '06', '09', '12', '15', '18', '21', '24'].includes(n?.slice(-2) ?? ''),
      ),
    ).toBe(true);
    expect((await b.get('/staff/users?status=disabled')).body).toContain('1 gebruiker,');
    expect(namesOf((await b.get('/staff/users?status=disabled')).body)).toEqual(['Gebruiker 01']);
    expect(namesOf((await b.get('/staff/users?status=locked')).body)).toEqual(['Gebruiker 02']);
    expect((await b.get('/staff/users?status=active')).body).toContain('26 gebruikers');
    expect((await b.get('/staff/users?status=active&role=finance')).body).toContain('9 gebruikers');
    // Nonsense in the query string falls back to the defaults instead of failing.
    const odd = await b.get('/staff/users?sort=password_hash&dir=sideways&role=god&status=x&page=-3');
    expect(odd.statusCode).toBe(200);
    expect(odd.body).toContain('28 gebruikers, pagina 1 van 2.');
  });

  it('serves the user pages in English', async () => {
    const b = await signedIn(admin);
    const res = await b.get('/staff/users?lang=en');
    expect(res.body).toContain('<html lang="en">');
    expect(res.body).toContain('Last signed in');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(b.cookies.get(SESSION_COOKIE)).toBeTruthy();
  });
});
