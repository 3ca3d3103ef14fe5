/**
 * Test factories: each test seeds its own organisation and staff users, so tests stay
 * independent (no global seed user).
 *
 *   const org = await createOrg(kluis, 'tenant');
 *   const alice = await createStaffUser(kluis, { orgId: org.id, roles: ['admin'] });
 *   const app = await buildApp(kluis);
 *   const session = await loginAs(app, alice);
 *   await app.inject({ method: 'POST', url: '/staff/x', headers: { cookie: session.cookie },
 *                      payload: { _csrf: session.csrfToken, ... } });
 *
 * Users made here have a known strong password, no pending password change and (unless
 * `totp: true`) no TOTP. Tests that exercise the first-login flow use `kluis.services.auth.createUser`.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Kluis } from '../src/kluis.js';
import { SESSION_COOKIE } from '../src/modules/auth/auth-sessions.js';
import { currentTotp, generateTotpSecret } from '../src/modules/auth/auth-totp.js';
import type { UserView } from '../src/modules/auth/auth-users.js';
import { createUsersRepository } from '../src/modules/auth/auth-users-repository.js';
import type { Org } from '../src/modules/orgs/index.js';
import type { Actor, OrgKind, Role } from '../src/shared/actor.js';

let counter = 0;
const unique = () => `${Date.now().toString(36)}${(++counter).toString(36)}${randomBytes(3).toString('hex')}`;

/**
 * A new organisation. There is only one operator per database: asking for a second one returns
 * the existing operator.
 */
export async function createOrg(kluis: Kluis, kind: OrgKind = 'tenant', name?: string): Promise<Org> {
  const orgs = kluis.services.orgs;
  if (kind === 'operator') {
    const existing = await orgs.findOperator();
    if (existing !== undefined) return existing;
  }
  const slug = `${kind}-${unique()}`;
  return orgs.insert({ kind, name: name ?? slug, slug, now: kluis.clock.now().toISOString() });
}

/** A system actor acting in `org` (as the CLI does). */
export function systemActor(org: Pick<Org, 'id' | 'kind'>, reason = 'test'): Actor {
  return { kind: 'system', orgId: org.id, orgKind: org.kind, reason, roles: ['owner'] };
}

export interface StaffCredentials {
  readonly user: UserView;
  readonly email: string;
  readonly password: string;
  /** Base32 TOTP secret when created with `totp: true`. */
  readonly totpSecret: string | undefined;
  /** The TOTP code for `at` (default: the Kluis clock's now). */
  totp(at?: Date): string;
}

/** A ready-to-use staff user in `orgId` with the given roles and a known password. */
export async function createStaffUser(
  kluis: Kluis,
  options: { orgId: string; roles: readonly Role[]; totp?: boolean; email?: string; displayName?: string },
): Promise<StaffCredentials> {
  const auth = kluis.services.auth;
  const org = await kluis.services.orgs.getById(options.orgId);
  const email = options.email ?? `staff-${unique()}@example.test`;
  const { user } = await auth.createUser({
    actor: systemActor(org),
    orgId: org.id,
    email,
    displayName: options.displayName ?? 'Test Medewerker',
    roles: options.roles,
  });
  const password = `Kluis-test-${randomBytes(12).toString('base64url')}`;
  const repo = createUsersRepository(kluis.db);
  const now = kluis.clock.now().toISOString();
  let totpSecret: string | undefined;
  let sealed: Buffer | null = null;
  if (options.totp) {
    totpSecret = generateTotpSecret();
    sealed = await kluis.keyring.encryptForOrg(
      org.id,
      { table: 'users', column: 'totp_secret', rowId: user.id },
      totpSecret,
    );
  }
  await repo.updateUser({ orgId: org.id }, user.id, {
    password_hash: await auth.hasher.hash(password),
    must_change_password: 0,
    totp_secret: sealed,
    totp_enabled: options.totp ? 1 : 0,
    updated_at: now,
  });
  const secret = totpSecret;
  return {
    user: { ...user, mustChangePassword: false, totpEnabled: options.totp === true },
    email: user.email,
    password,
    totpSecret,
    totp: (at) => {
      if (secret === undefined) throw new Error('this user has no TOTP');
      return currentTotp(secret, at ?? kluis.clock.now());
    },
  };
}

/** Cookies set by a response, as name -> value (a cleared cookie maps to ''). */
export function setCookies(res: LightMyRequestResponse): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of res.cookies as { name: string; value: string }[]) out.set(c.name, c.value);
  return out;
}

/** The `_csrf` token of the first form in an HTML page. */
export function csrfTokenOf(body: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(body);
  if (match?.[1] === undefined) throw new Error('no CSRF token on the page');
  return match[1];
}

/** A cookie header value from name -> value pairs (empty values are left out). */
export function cookieHeader(cookies: ReadonlyMap<string, string>): string {
  return [...cookies]
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');
}

/** Headers and body of a browser form post (urlencoded) with these cookies. */
export function formPost(
  cookies: ReadonlyMap<string, string> | string,
  fields: Record<string, string>,
): { headers: Record<string, string>; payload: string } {
  return {
    headers: {
      cookie: typeof cookies === 'string' ? cookies : cookieHeader(cookies),
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: new URLSearchParams(fields).toString(),
  };
}

/**
 * GET and form POST as a signed-in browser (`app.inject`). The POST carries the session's CSRF
 * token; a field given as a list is sent repeated (checkboxes). `accept` is sent only when given.
 */
export function staffRequests(app: FastifyInstance) {
  const acceptHeader = (accept: string | undefined) => (accept === undefined ? {} : { accept });
  return {
    get: (who: { cookie: string }, url: string, accept?: string) =>
      app.inject({ method: 'GET', url, headers: { cookie: who.cookie, ...acceptHeader(accept) } }),
    post: (
      who: Pick<LoggedIn, 'cookie' | 'csrfToken'>,
      url: string,
      fields: Record<string, string | readonly string[]> = {},
      accept?: string,
    ) => {
      const payload = new URLSearchParams({ _csrf: who.csrfToken });
      for (const [name, value] of Object.entries(fields)) {
        for (const v of typeof value === 'string' ? [value] : value) payload.append(name, v);
      }
      return app.inject({
        method: 'POST',
        url,
        headers: {
          cookie: who.cookie,
          'content-type': 'application/x-www-form-urlencoded',
          ...acceptHeader(accept),
        },
        payload: payload.toString(),
      });
    },
  };
}

export interface LoggedIn {
  /** The `cookie` header for `app.inject` (CSRF cookie + session cookie). */
  readonly cookie: string;
  /** A CSRF token to post as `_csrf` (or send as `x-csrf-token`). */
  readonly csrfToken: string;
  /** The raw session token (the `kluis_session` cookie value). */
  readonly sessionToken: string;
}

let addressCounter = 0;

/**
 * Signs in through the real pages (GET /login for the CSRF cookie and token, POST /login, and
 * POST /login/totp when `totpSecret` is given). Each call comes from its own loopback address
 * unless `remoteAddress` is set, so many logins in one test stay under the per-IP login limit.
 * Throws when sign-in does not end in a session.
 */
export async function loginAs(
  app: FastifyInstance,
  who: {
    email: string;
    password: string;
    /** Called for the second factor when the account has TOTP (StaffCredentials has one). */
    totp?: (() => string) | undefined;
    org?: string;
    remoteAddress?: string;
  },
): Promise<LoggedIn> {
  addressCounter = (addressCounter + 1) % 60_000;
  const remoteAddress =
    who.remoteAddress ?? `127.${Math.floor(addressCounter / 250) + 1}.${(addressCounter % 250) + 1}.9`;
  const form = await app.inject({ method: 'GET', url: '/login', remoteAddress });
  const cookies = setCookies(form);
  const csrfToken = csrfTokenOf(form.body);
  const res = await app.inject({
    method: 'POST',
    url: '/login',
    remoteAddress,
    ...formPost(cookies, {
      _csrf: csrfToken,
      email: who.email,
      password: who.password,
      ...(who.org === undefined ? {} : { org: who.org }),
    }),
  });
  for (const [k, v] of setCookies(res)) cookies.set(k, v);
  if (res.statusCode !== 303 || !cookies.get(SESSION_COOKIE)) {
    throw new Error(`login failed: ${res.statusCode}`);
  }
  if (res.headers.location?.startsWith('/login/totp')) {
    const code = who.totp?.();
    if (code === undefined) throw new Error('login needs a TOTP code: pass `totp`');
    const second = await app.inject({
      method: 'POST',
      url: '/login/totp',
      remoteAddress,
      ...formPost(cookies, { _csrf: csrfToken, code }),
    });
    for (const [k, v] of setCookies(second)) cookies.set(k, v);
    if (second.statusCode !== 303) throw new Error(`second factor failed: ${second.statusCode}`);
  }
  const sessionToken = cookies.get(SESSION_COOKIE) ?? '';
  return { cookie: cookieHeader(cookies), csrfToken, sessionToken };
}
