import argon2 from 'argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg, createStaffUser, systemActor } from '../../../test/factories.js';
import { DEMO_ADMIN_EMAIL, seedDemo } from '../../cli/demo-seed.js';
import type { Actor, Role } from '../../shared/actor.js';
import { createFixedClock, DAY, HOUR, MINUTE } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { Org } from '../orgs/orgs-repository.js';
import { createPasswordHasher, generateOneTimePassword, passwordProblem } from './auth-passwords.js';
import { type AuthService, createAuthService } from './auth-service.js';
import { sessionIdOf } from './auth-sessions.js';
import { currentTotp, generateRecoveryCodes, looksLikeRecoveryCode } from './auth-totp.js';

function userActor(org: Org, userId: string, roles: readonly Role[]): Actor & { kind: 'user' } {
  return { kind: 'user', orgId: org.id, orgKind: org.kind, userId, roles };
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toSatisfy((e) => e instanceof AppError && e.code === code);
}

describe('password policy', () => {
  const ctx = { email: 'pieter.de.vries@example.nl', displayName: 'Pieter de Vries' };

  it('refuses short, long, personal and guessable passwords and accepts a long passphrase', () => {
    expect(passwordProblem('Kort-1!x', ctx)).toBe('auth.password.tooShort');
    expect(passwordProblem('x'.repeat(129), ctx)).toBe('auth.password.tooLong');
    expect(passwordProblem('pieter.de.vries@example.nl!', ctx)).toBe('auth.password.personal');
    expect(passwordProblem('IkBenPieter2030!!', ctx)).toBe('auth.password.personal');
    expect(passwordProblem('wachtwoord1234', ctx)).toBe('auth.password.weak');
    expect(passwordProblem('Password123456', ctx)).toBe('auth.password.weak');
    expect(passwordProblem('qwertyuiop123', ctx)).toBe('auth.password.weak');
    expect(passwordProblem('aaaaaaaaaaaaaaaa', ctx)).toBe('auth.password.weak');
    expect(passwordProblem('vlinder trapleuning oktober kaasschaaf', ctx)).toBeUndefined();
  });

  it('makes one-time passwords and recovery codes that are random and well-formed', () => {
    const otps = new Set(Array.from({ length: 50 }, () => generateOneTimePassword()));
    expect(otps.size).toBe(50);
    for (const otp of otps) expect(otp).toMatch(/^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
    const codes = generateRecoveryCodes();
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) {
      expect(c).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
      expect(looksLikeRecoveryCode(c)).toBe(true);
    }
    expect(looksLikeRecoveryCode('123456')).toBe(false);
  });
});

describe('the auth service', () => {
  const clock = createFixedClock('2030-01-10T08:00:00.000Z');
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

  const ip = (n: number) => `192.0.2.${n}`;

  it('creates a user with a one-time password that must be changed, and audits it without the email', async () => {
    const { user, oneTimePassword } = await auth.createUser({
      actor: systemActor(org),
      orgId: org.id,
      email: '  Anna.Bakker@Example.NL ',
      displayName: 'Anna Bakker',
      roles: ['admin', 'support', 'admin'],
    });
    expect(user.email).toBe('anna.bakker@example.nl');
    expect(user.roles).toEqual(['admin', 'support']);
    expect(user.mustChangePassword).toBe(true);
    const row = await kluis.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect(row.password_hash).not.toContain(oneTimePassword);
    const result = await auth.loginWithPassword({ email: user.email, password: oneTimePassword, ip: ip(1) });
    expect(result.kind === 'signed_in' && result.session.pending).toEqual(['password_change']);
    const audit = await kluis.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'auth.user.created')
      .where('target_id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(audit)).not.toMatch(/anna|bakker|@/i);
    expect(audit.fields).toBe('["display_name","email"]');
  });

  it('refuses a second user with the same email in one org but allows it in another org', async () => {
    const input = { email: 'dup@example.nl', displayName: 'Dup', roles: ['support'] as Role[] };
    await auth.createUser({ actor: systemActor(org), orgId: org.id, ...input });
    await expectCode(
      auth.createUser({ actor: systemActor(org), orgId: org.id, ...input, email: 'DUP@example.nl' }),
      'ERR_CONFLICT',
    );
    const again = await auth.createUser({ actor: systemActor(other), orgId: other.id, ...input });
    expect(again.user.orgId).toBe(other.id);
  });

  it('answers another org’s users as not found and refuses users without a managing role', async () => {
    const admin = await createStaffUser(kluis, { orgId: org.id, roles: ['admin'] });
    const stranger = await createStaffUser(kluis, { orgId: other.id, roles: ['support'] });
    const actor = userActor(org, admin.user.id, ['admin']);
    await expectCode(
      auth.createUser({
        actor,
        orgId: other.id,
        email: 'x@example.nl',
        displayName: 'X',
        roles: ['support'],
      }),
      'ERR_NOT_FOUND',
    );
    expect(await auth.findUserById({ actor, userId: stranger.user.id })).toBeUndefined();
    await expectCode(auth.resetPassword({ actor, userId: stranger.user.id }), 'ERR_NOT_FOUND');
    await expectCode(auth.setDisabled({ actor, userId: stranger.user.id, disabled: true }), 'ERR_NOT_FOUND');
    await expectCode(auth.setRoles({ actor, userId: stranger.user.id, roles: ['admin'] }), 'ERR_NOT_FOUND');
    const listed = await auth.listUsers({ actor });
    expect(listed.every((u) => u.orgId === org.id)).toBe(true);
    expect(listed.some((u) => u.id === stranger.user.id)).toBe(false);
    // Nothing changed on the other side.
    const row = await kluis.db
      .selectFrom('users')
      .select(['disabled', 'must_change_password'])
      .where('id', '=', stranger.user.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ disabled: 0, must_change_password: 0 });

    const support = userActor(org, admin.user.id, ['support', 'finance']);
    await expectCode(
      auth.createUser({
        actor: support,
        orgId: org.id,
        email: 'y@example.nl',
        displayName: 'Y',
        roles: ['support'],
      }),
      'ERR_FORBIDDEN',
    );
    await expectCode(auth.listUsers({ actor: support }), 'ERR_FORBIDDEN');
  });

  it('lets only owners grant or take the owner role, and never removes the last owner', async () => {
    const local = await createOrg(kluis, 'tenant');
    const owner = await createStaffUser(kluis, { orgId: local.id, roles: ['owner'] });
    const admin = await createStaffUser(kluis, { orgId: local.id, roles: ['admin'] });
    const adminActor = userActor(local, admin.user.id, ['admin']);
    const ownerActor = userActor(local, owner.user.id, ['owner']);
    await expectCode(
      auth.createUser({
        actor: adminActor,
        orgId: local.id,
        email: 'o@example.nl',
        displayName: 'O',
        roles: ['owner'],
      }),
      'ERR_FORBIDDEN',
    );
    await expectCode(
      auth.setRoles({ actor: adminActor, userId: admin.user.id, roles: ['owner'] }),
      'ERR_FORBIDDEN',
    );
    await expectCode(auth.resetPassword({ actor: adminActor, userId: owner.user.id }), 'ERR_FORBIDDEN');
    await expectCode(
      auth.setRoles({ actor: ownerActor, userId: owner.user.id, roles: ['admin'] }),
      'ERR_CONFLICT',
    );
    await expectCode(
      auth.setDisabled({ actor: systemActor(local), userId: owner.user.id, disabled: true }),
      'ERR_CONFLICT',
    );
    const promoted = await auth.setRoles({
      actor: ownerActor,
      userId: admin.user.id,
      roles: ['owner', 'admin'],
    });
    expect(promoted.roles).toEqual(['admin', 'owner']);
    // A purpose role is given by someone else (the new rule): the second owner demotes the first.
    const secondOwner = userActor(local, admin.user.id, ['admin', 'owner']);
    const demoted = await auth.setRoles({ actor: secondOwner, userId: owner.user.id, roles: ['security'] });
    expect(demoted.roles).toEqual(['security']);
  });

  it('refuses anyone giving themself a purpose role, audits the attempt, and lets another admin give it', async () => {
    const local = await createOrg(kluis, 'tenant');
    const owner = await createStaffUser(kluis, { orgId: local.id, roles: ['owner'] });
    const admin = await createStaffUser(kluis, { orgId: local.id, roles: ['admin'] });
    const other = await createStaffUser(kluis, { orgId: local.id, roles: ['admin'] });
    const adminActor = userActor(local, admin.user.id, ['admin']);
    const ownerActor = userActor(local, owner.user.id, ['owner']);
    for (const role of ['support', 'finance', 'privacy_officer', 'security'] as const) {
      await expectCode(
        auth.setRoles({ actor: adminActor, userId: admin.user.id, roles: ['admin', role] }),
        'ERR_FORBIDDEN',
      );
      await expectCode(
        auth.setRoles({ actor: ownerActor, userId: owner.user.id, roles: ['owner', role] }),
        'ERR_FORBIDDEN',
      );
    }
    const rolesOf = async (userId: string) =>
      (await kluis.db.selectFrom('user_roles').select('role').where('user_id', '=', userId).execute()).map(
        (r) => r.role,
      );
    expect(await rolesOf(admin.user.id)).toEqual(['admin']);
    expect(await rolesOf(owner.user.id)).toEqual(['owner']);
    const refusals = await kluis.db
      .selectFrom('audit_log')
      .select(['actor', 'target_id', 'meta'])
      .where('action', '=', 'auth.user.roles_refused')
      .where('org_id', '=', local.id)
      .orderBy('seq')
      .execute();
    expect(refusals).toHaveLength(8);
    expect(refusals[0]).toMatchObject({ actor: `user:${admin.user.id}`, target_id: admin.user.id });
    expect(JSON.parse(refusals[0]?.meta ?? '{}')).toEqual({ reason: 'self_purpose_role', roles: 'support' });

    // Dropping one's own purpose role, or keeping it, is no escalation; another admin may give it.
    const given = await auth.setRoles({
      actor: userActor(local, other.user.id, ['admin']),
      userId: admin.user.id,
      roles: ['admin', 'finance'],
    });
    expect(given.roles).toEqual(['admin', 'finance']);
    const kept = await auth.setRoles({
      actor: userActor(local, admin.user.id, ['admin', 'finance']),
      userId: admin.user.id,
      roles: ['admin', 'finance'],
    });
    expect(kept.roles).toEqual(['admin', 'finance']);
    const dropped = await auth.setRoles({
      actor: userActor(local, admin.user.id, ['admin', 'finance']),
      userId: admin.user.id,
      roles: ['admin'],
    });
    expect(dropped.roles).toEqual(['admin']);
    const changes = await kluis.db
      .selectFrom('audit_log')
      .select(['actor', 'meta'])
      .where('action', '=', 'auth.user.roles_changed')
      .where('target_id', '=', admin.user.id)
      .orderBy('seq')
      .execute();
    expect(changes[0]).toMatchObject({ actor: `user:${other.user.id}` });
    expect(JSON.parse(changes[0]?.meta ?? '{}')).toEqual({ from: 'admin', to: 'admin,finance' });
  });

  it('locks after 5 failures for 15 minutes, then 30, and resets the count after a success', async () => {
    const u = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const attempt = (password: string) => auth.loginWithPassword({ email: u.email, password, ip: ip(2) });
    for (let i = 0; i < 4; i++) await expectCode(attempt('wrong'), 'ERR_AUTH_INVALID_CREDENTIALS');
    await expectCode(attempt('wrong'), 'ERR_AUTH_LOCKED');
    await expectCode(attempt(u.password), 'ERR_AUTH_LOCKED');
    clock.advance(15 * MINUTE + 1);
    for (let i = 0; i < 4; i++) await expectCode(attempt('wrong'), 'ERR_AUTH_INVALID_CREDENTIALS');
    await expectCode(attempt('wrong'), 'ERR_AUTH_LOCKED');
    clock.advance(29 * MINUTE);
    await expectCode(attempt(u.password), 'ERR_AUTH_LOCKED');
    clock.advance(MINUTE + 1);
    expect((await attempt(u.password)).kind).toBe('signed_in');
    const row = await kluis.db
      .selectFrom('users')
      .select(['failed_logins', 'lockout_count', 'locked_until'])
      .where('id', '=', u.user.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ failed_logins: 0, lockout_count: 0, locked_until: null });
    const locks = await kluis.db
      .selectFrom('audit_log')
      .select('meta')
      .where('action', '=', 'auth.account.locked')
      .where('target_id', '=', u.user.id)
      .execute();
    expect(locks.map((l) => JSON.parse(l.meta).minutes)).toEqual([15, 30]);
  });

  it('answers an unknown email like a real account, including the lock after 5 failures', async () => {
    const attempt = () =>
      auth.loginWithPassword({ email: 'nobody-here@example.nl', password: 'whatever-123', ip: ip(3) });
    for (let i = 0; i < 4; i++) await expectCode(attempt(), 'ERR_AUTH_INVALID_CREDENTIALS');
    await expectCode(attempt(), 'ERR_AUTH_LOCKED');
    await expectCode(attempt(), 'ERR_AUTH_LOCKED');
    clock.advance(16 * MINUTE);
    await expectCode(attempt(), 'ERR_AUTH_INVALID_CREDENTIALS');
  });

  it('rehashes a password made with weaker parameters at the next sign-in', async () => {
    const u = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const weak = await argon2.hash(u.password, {
      type: argon2.argon2id,
      memoryCost: 4096,
      timeCost: 1,
      parallelism: 1,
    });
    await kluis.db.updateTable('users').set({ password_hash: weak }).where('id', '=', u.user.id).execute();
    expect((await auth.loginWithPassword({ email: u.email, password: u.password, ip: ip(4) })).kind).toBe(
      'signed_in',
    );
    const row = await kluis.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', u.user.id)
      .executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect(await createPasswordHasher().verify(row.password_hash, u.password)).toBe(true);
  });

  it('stores the TOTP secret sealed and bound to its row', async () => {
    const u = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const v = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const signedIn = await auth.loginWithPassword({ email: u.email, password: u.password, ip: ip(5) });
    if (signedIn.kind !== 'signed_in') throw new Error('sign-in failed');
    const actor = userActor(org, u.user.id, ['support']);
    const { secret, uri } = await auth.beginTotpEnrolment({ actor, sessionId: signedIn.session.id });
    expect(uri).toMatch(/^otpauth:\/\/totp\//);
    expect(uri).toContain('algorithm=SHA1');
    expect(uri).toContain('digits=6');
    expect(uri).toContain('period=30');
    const row = await kluis.db
      .selectFrom('users')
      .select('totp_secret')
      .where('id', '=', u.user.id)
      .executeTakeFirstOrThrow();
    const blob = Buffer.from(row.totp_secret ?? Buffer.alloc(0));
    expect(blob.length).toBeGreaterThan(29);
    expect(blob.toString('latin1')).not.toContain(secret);
    const loc = { table: 'users', column: 'totp_secret' };
    expect(await kluis.keyring.decryptForOrg(org.id, { ...loc, rowId: u.user.id }, blob)).toBe(secret);
    await expect(kluis.keyring.decryptForOrg(org.id, { ...loc, rowId: v.user.id }, blob)).rejects.toThrow();
    await expect(kluis.keyring.decryptForOrg(other.id, { ...loc, rowId: u.user.id }, blob)).rejects.toThrow();

    const { recoveryCodes, session } = await auth.confirmTotpEnrolment({
      actor,
      sessionId: signedIn.session.id,
      code: currentTotp(secret, clock.now()),
      // Enrolling by choice (not a set-up step) asks for the current password (ASVS 7.5.1).
      password: u.password,
    });
    expect(recoveryCodes).toHaveLength(10);
    expect(session.id).not.toBe(signedIn.session.id);
    const stored = await kluis.db
      .selectFrom('recovery_codes')
      .select('code_hash')
      .where('user_id', '=', u.user.id)
      .execute();
    expect(stored).toHaveLength(10);
    expect(JSON.stringify(stored)).not.toContain(recoveryCodes[0]?.replace('-', '') ?? 'x');
    const enabled = await kluis.db
      .selectFrom('audit_log')
      .select('action')
      .where('target_id', '=', u.user.id)
      .where('action', '=', 'auth.totp.enabled')
      .execute();
    expect(enabled).toHaveLength(1);
  });

  it('refuses a TOTP code for a time step already used, even a later code from the same step window', async () => {
    const u = await createStaffUser(kluis, { orgId: org.id, roles: ['support'], totp: true });
    const start = async () => {
      const r = await auth.loginWithPassword({ email: u.email, password: u.password, ip: ip(6) });
      if (r.kind !== 'signed_in') throw new Error('sign-in failed');
      expect(r.session.pending).toEqual(['totp']);
      return r.session.id;
    };
    const now = clock.now();
    const next = new Date(now.getTime() + 30_000);
    // The code of the next step is accepted early (window +1)...
    const s1 = await start();
    const done = await auth.verifySecondFactor({ sessionId: s1, code: u.totp(next), ip: ip(6) });
    expect(done.pending).toEqual([]);
    // ...after which the current step's code is older than the last used one: refused.
    const s2 = await start();
    await expectCode(
      auth.verifySecondFactor({ sessionId: s2, code: u.totp(now), ip: ip(6) }),
      'ERR_AUTH_TOTP_INVALID',
    );
    await expectCode(
      auth.verifySecondFactor({ sessionId: s2, code: u.totp(next), ip: ip(6) }),
      'ERR_AUTH_TOTP_INVALID',
    );
    clock.advance(60_000);
    expect((await auth.verifySecondFactor({ sessionId: s2, code: u.totp(), ip: ip(6) })).pending).toEqual([]);
    const failures = await kluis.db
      .selectFrom('audit_log')
      .select('meta')
      .where('target_id', '=', u.user.id)
      .where('action', '=', 'auth.login.failure')
      .execute();
    expect(failures.map((f) => JSON.parse(f.meta).reason)).toEqual(['totp_replay', 'totp_replay']);
  });

  it('gives a password-verified session ten minutes for the second factor', async () => {
    const u = await createStaffUser(kluis, { orgId: org.id, roles: ['support'], totp: true });
    const r = await auth.loginWithPassword({ email: u.email, password: u.password, ip: ip(7) });
    if (r.kind !== 'signed_in') throw new Error('sign-in failed');
    expect(r.session.expiresAt.getTime() - clock.now().getTime()).toBe(10 * MINUTE);
    const done = await auth.verifySecondFactor({ sessionId: r.session.id, code: u.totp(), ip: ip(7) });
    // The full session counts its 12 hours from the password step.
    expect(done.expiresAt.getTime() - clock.now().getTime()).toBe(12 * HOUR);
  });

  it('resets a password: new one-time password, lock cleared, every session ended', async () => {
    const u = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const r = await auth.loginWithPassword({ email: u.email, password: u.password, ip: ip(8) });
    if (r.kind !== 'signed_in') throw new Error('sign-in failed');
    expect((await auth.sessions.resolve(r.session.token)).kind).toBe('valid');
    const { oneTimePassword } = await auth.resetPassword({ actor: systemActor(org), userId: u.user.id });
    expect((await auth.sessions.resolve(r.session.token)).kind).toBe('invalid');
    await expectCode(
      auth.loginWithPassword({ email: u.email, password: u.password, ip: ip(8) }),
      'ERR_AUTH_INVALID_CREDENTIALS',
    );
    const again = await auth.loginWithPassword({ email: u.email, password: oneTimePassword, ip: ip(8) });
    expect(again.kind === 'signed_in' && again.session.pending).toEqual(['password_change']);
  });

  it('disabling ends sessions at once and later sign-ins fail with the generic answer', async () => {
    const u = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const r = await auth.loginWithPassword({ email: u.email, password: u.password, ip: ip(9) });
    if (r.kind !== 'signed_in') throw new Error('sign-in failed');
    await auth.disableUser({ actor: systemActor(org), userId: u.user.id });
    expect((await auth.sessions.resolve(r.session.token)).kind).toBe('invalid');
    await expectCode(
      auth.loginWithPassword({ email: u.email, password: u.password, ip: ip(9) }),
      'ERR_AUTH_INVALID_CREDENTIALS',
    );
    await auth.enableUser({ actor: systemActor(org), userId: u.user.id });
    expect((await auth.loginWithPassword({ email: u.email, password: u.password, ip: ip(9) })).kind).toBe(
      'signed_in',
    );
  });

  it('resolves sessions to the user actor with roles, and to nothing once idle or past the absolute limit', async () => {
    const u = await createStaffUser(kluis, { orgId: org.id, roles: ['finance', 'support'] });
    const r = await auth.loginWithPassword({ email: u.email, password: u.password, ip: ip(10) });
    if (r.kind !== 'signed_in') throw new Error('sign-in failed');
    const resolved = await auth.sessions.resolve(r.session.token);
    expect(resolved).toMatchObject({
      kind: 'valid',
      actor: {
        kind: 'user',
        orgId: org.id,
        orgKind: 'tenant',
        userId: u.user.id,
        roles: ['finance', 'support'],
      },
      session: { id: sessionIdOf(r.session.token), pending: [] },
    });
    expect((await auth.sessions.resolve('not a token')).kind).toBe('invalid');
    expect((await auth.sessions.resolve(undefined)).kind).toBe('none');
    const tampered = `${r.session.token.slice(0, 10)}${r.session.token[10] === 'x' ? 'y' : 'x'}${r.session.token.slice(11)}`;
    expect((await auth.sessions.resolve(tampered)).kind).toBe('invalid');
    // A disabled user's session resolves to nothing even if its row is still there.
    await kluis.db.updateTable('users').set({ disabled: 1 }).where('id', '=', u.user.id).execute();
    expect((await auth.sessions.resolve(r.session.token)).kind).toBe('invalid');
    await kluis.db.updateTable('users').set({ disabled: 0 }).where('id', '=', u.user.id).execute();
    const r2 = await auth.loginWithPassword({ email: u.email, password: u.password, ip: ip(10) });
    if (r2.kind !== 'signed_in') throw new Error('sign-in failed');
    clock.advance(30 * MINUTE);
    expect((await auth.sessions.resolve(r2.session.token)).kind).toBe('invalid');
    expect(
      await kluis.db.selectFrom('sessions').select('id').where('id', '=', r2.session.id).executeTakeFirst(),
    ).toBeUndefined();
  });

  it('lists only the actor’s own live sessions and sweeps expired ones', async () => {
    const u = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const a = await auth.loginWithPassword({ email: u.email, password: u.password, ip: ip(11) });
    clock.advance(5 * MINUTE);
    const b = await auth.loginWithPassword({ email: u.email, password: u.password, ip: ip(11) });
    if (a.kind !== 'signed_in' || b.kind !== 'signed_in') throw new Error('sign-in failed');
    const listed = await auth.sessions.listOwn(userActor(org, u.user.id, ['support']), b.session.id);
    expect(listed.map((s) => [s.id, s.current])).toEqual([
      [b.session.id, true],
      [a.session.id, false],
    ]);
    clock.advance(DAY);
    const swept = await auth.sweep();
    expect(swept.sessions).toBeGreaterThanOrEqual(2);
    expect(swept.loginAttempts).toBeGreaterThan(0);
    expect(await kluis.db.selectFrom('login_attempts').select('id').execute()).toEqual([]);
    expect(await auth.sessions.listOwn(userActor(org, u.user.id, ['support']), b.session.id)).toEqual([]);
  });

  it('refuses changing the password with a wrong current password, and throttles guessing it', async () => {
    const u = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const r = await auth.loginWithPassword({ email: u.email, password: u.password, ip: ip(12) });
    if (r.kind !== 'signed_in') throw new Error('sign-in failed');
    const actor = userActor(org, u.user.id, ['support']);
    const change = (currentPassword: string) =>
      auth.changePassword({
        actor,
        sessionId: r.session.id,
        currentPassword,
        newPassword: 'vlinder trapleuning oktober kaasschaaf',
      });
    for (let i = 0; i < 5; i++) await expectCode(change('guess'), 'ERR_AUTH_INVALID_CREDENTIALS');
    await expectCode(change(u.password), 'ERR_RATE_LIMITED');
    clock.advance(16 * MINUTE);
    const issued = await change(u.password);
    expect(issued.id).not.toBe(r.session.id);
  });

  it('makes every audit entry of this suite free of email addresses', async () => {
    const rows = await kluis.db.selectFrom('audit_log').selectAll().execute();
    expect(rows.length).toBeGreaterThan(20);
    expect(JSON.stringify(rows)).not.toContain('@');
  });
});

describe('the demo seed', () => {
  let kluis: TestKluis;
  beforeAll(async () => {
    kluis = await createTestKluis({ env: { KLUIS_REQUIRE_TOTP_OPERATOR: 'true' } });
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  it('creates the operator and its admin with a one-time password, once', async () => {
    const lines = await seedDemo(kluis);
    const otp = lines.join('\n').match(/One-time password: (\S+)/)?.[1] ?? '';
    expect(otp).toMatch(/^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
    expect(lines.join('\n')).toContain(DEMO_ADMIN_EMAIL);
    expect(lines.join('\n')).toContain('two-step verification');
    const auth = createAuthService({ ...kluis, ...kluis.services });
    const r = await auth.loginWithPassword({ email: DEMO_ADMIN_EMAIL, password: otp, ip: '192.0.2.99' });
    expect(r.kind === 'signed_in' && r.session.pending).toEqual(['password_change', 'totp_enrolment']);
    const operator = await kluis.db
      .selectFrom('orgs')
      .selectAll()
      .where('kind', '=', 'operator')
      .executeTakeFirstOrThrow();
    const admin = await auth.findUserByEmail({ actor: systemActor(operator), email: DEMO_ADMIN_EMAIL });
    expect(admin?.roles).toEqual(['admin', 'owner', 'privacy_officer', 'security']);
    const again = await seedDemo(kluis);
    expect(again.join('\n')).not.toContain('One-time password');
    expect(again.join('\n')).toContain('kluis user reset');
  });
});
