/**
 * The requester's status link is bound to the site it was mailed for (P7, P15): a tenant's link
 * opens on the tenant's host name (or, for a tenant without one, under its `/o/<slug>` on the
 * installation's host), the operator's only on the installation's host. Anywhere else it is
 * answered exactly like a link that does not exist: a 404 that says nothing about the token.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, formBody } from '../../../test/browser.js';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { cookieHeader, createOrg, systemActor } from '../../../test/factories.js';
import { buildApp } from '../../app.js';
import type { Org } from '../orgs/index.js';
import { tokenHash } from './rights-records.js';

describe('status links bound to their organisation’s site', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;
  let operator: Org;
  let jansen: Org;
  let fenna: Org;
  let piet: Org;
  const JANSEN = 'privacy.bakkerij-jansen.example';
  const FENNA = 'privacy.fietsen-fenna.example';
  const INSTALL = 'localhost:3000';
  const tokens: Record<string, string> = {};
  /** A well-formed token that names no request anywhere. */
  const UNKNOWN = 'Z'.repeat(43);

  /** A portal request for `org`, with a known status-link secret (as if the mail had been read). */
  async function requestFor(org: Org, name: string): Promise<string> {
    const { id } = await kluis.services.rights.submit({
      orgId: org.id,
      right: 'access',
      email: `${name}@example.org`,
      locale: 'nl',
    });
    const token = `${name.padEnd(43, 'x')}`.slice(0, 43);
    await kluis.db
      .updateTable('rights_requests')
      .set({ token_hash: tokenHash(token) })
      .where('id', '=', id)
      .execute();
    return token;
  }

  beforeAll(async () => {
    kluis = await createTestKluis();
    app = await buildApp(kluis);
    operator = await createOrg(kluis, 'operator', 'Ambrix Hosting');
    jansen = await createOrg(kluis, 'tenant', 'Bakkerij Jansen');
    fenna = await createOrg(kluis, 'tenant', 'Fietsen Fenna');
    piet = await createOrg(kluis, 'tenant', 'Piet Zonder Host');
    const now = kluis.clock.now().toISOString();
    await kluis.services.orgs.addHost(jansen.id, JANSEN, now);
    await kluis.services.orgs.addHost(fenna.id, FENNA, now);
    tokens.operator = await requestFor(operator, 'operator');
    // Jansen's requester is a known data subject (she used the contact form), so her access request
    // can be answered with an export.
    await kluis.services.intake.submitContactRequest({
      actor: { kind: 'anonymous', orgId: jansen.id, ref: 'test' },
      channel: 'web',
      request: { name: 'Jan Jansen', email: 'jansen@example.org', phone: undefined, message: 'Open?' },
      locale: 'nl',
    });
    tokens.jansen = await requestFor(jansen, 'jansen');
    tokens.fenna = await requestFor(fenna, 'fenna');
    tokens.piet = await requestFor(piet, 'piet');
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  const get = (url: string, host: string) => app.inject({ method: 'GET', url, headers: { host } });
  /** Posts the confirm form as the requester's browser would, with its CSRF cookie and token. */
  const post = (b: Browser, url: string, host: string) =>
    app.inject({
      method: 'POST',
      url,
      remoteAddress: b.ip,
      headers: { host, cookie: cookieHeader(b.cookies), 'content-type': 'application/x-www-form-urlencoded' },
      payload: formBody({ _csrf: b.csrf }),
    });

  /** The answer to a link that names nothing, on the same host and path (the reference). */
  async function expectLikeUnknown(path: string, token: string, host: string, status = 404): Promise<void> {
    const res = await get(path.replace('TOKEN', token), host);
    const ref = await get(path.replace('TOKEN', UNKNOWN), host);
    expect(res.statusCode, `${host}${path}`).toBe(status);
    expect(res.statusCode).toBe(ref.statusCode);
    expect(res.headers['content-type']).toBe(ref.headers['content-type']);
    expect(res.body.replaceAll(token, UNKNOWN)).toBe(ref.body);
  }

  it('opens each link where it was mailed: the tenant’s host, /o/<slug> for a tenant without one, the installation for the operator', async () => {
    for (const [token, host, path] of [
      [tokens.jansen, JANSEN, '/rights/r/'],
      [tokens.jansen, JANSEN, '/en/rights/r/'],
      [tokens.fenna, FENNA, '/rights/r/'],
      [tokens.piet, INSTALL, `/o/${piet.slug}/rights/r/`],
      [tokens.piet, INSTALL, `/en/o/${piet.slug}/rights/r/`],
      [tokens.operator, INSTALL, '/rights/r/'],
    ] as const) {
      const res = await get(`${path}${token}`, host);
      expect(res.statusCode, `${host}${path}`).toBe(200);
      expect(res.body).toContain(`action="${path}${token}/confirm"`);
    }
  });

  it('answers a tenant’s link on the installation’s host, also under its own /o/<slug>, like an unknown link', async () => {
    await expectLikeUnknown('/rights/r/TOKEN', tokens.jansen ?? '', INSTALL);
    await expectLikeUnknown('/en/rights/r/TOKEN', tokens.jansen ?? '', INSTALL);
    await expectLikeUnknown(`/o/${jansen.slug}/rights/r/TOKEN`, tokens.jansen ?? '', INSTALL);
    await expectLikeUnknown('/rights/r/TOKEN', tokens.piet ?? '', INSTALL);
  });

  it('answers a tenant’s link on another tenant’s host like an unknown link', async () => {
    await expectLikeUnknown('/rights/r/TOKEN', tokens.jansen ?? '', FENNA);
    await expectLikeUnknown('/rights/r/TOKEN', tokens.fenna ?? '', JANSEN);
    await expectLikeUnknown(`/o/${jansen.slug}/rights/r/TOKEN`, tokens.jansen ?? '', FENNA);
    await expectLikeUnknown('/rights/r/TOKEN', tokens.piet ?? '', JANSEN);
    await expectLikeUnknown(`/o/${piet.slug}/rights/r/TOKEN`, tokens.piet ?? '', JANSEN);
  });

  it('answers the operator’s own link on a tenant’s host, and a tenant’s under another slug, like an unknown link', async () => {
    await expectLikeUnknown('/rights/r/TOKEN', tokens.operator ?? '', JANSEN);
    await expectLikeUnknown(`/o/${piet.slug}/rights/r/TOKEN`, tokens.operator ?? '', INSTALL);
    await expectLikeUnknown(`/o/${piet.slug}/rights/r/TOKEN`, tokens.fenna ?? '', INSTALL);
  });

  it('answers a host name nobody assigned the same for a real link and an unknown one', async () => {
    await expectLikeUnknown('/rights/r/TOKEN', tokens.jansen ?? '', 'evil.example');
    await expectLikeUnknown('/rights/r/TOKEN', tokens.operator ?? '', 'evil.example');
  });

  it('confirms nothing and hands out no export through a link on the wrong host', async () => {
    const statusOf = async (org: Org) =>
      (
        await kluis.db
          .selectFrom('rights_requests')
          .select('status')
          .where('org_id', '=', org.id)
          .executeTakeFirstOrThrow()
      ).status;
    const b = new Browser(app);
    expect((await b.get(`/rights/r/${tokens.jansen}`, { host: JANSEN })).statusCode).toBe(200);
    expect((await post(b, `/rights/r/${tokens.jansen}/confirm`, INSTALL)).statusCode).toBe(404);
    expect((await post(b, `/o/${jansen.slug}/rights/r/${tokens.jansen}/confirm`, INSTALL)).statusCode).toBe(
      404,
    );
    expect((await post(b, `/rights/r/${tokens.jansen}/confirm`, FENNA)).statusCode).toBe(404);
    expect(await statusOf(jansen)).toBe('received');
    // The same form on the right host confirms (so the refusals above were the host's doing).
    expect((await post(b, `/rights/r/${tokens.jansen}/confirm`, JANSEN)).statusCode).toBe(303);
    expect(await statusOf(jansen)).toBe('verified');
    // Jansen's export is ready: its one download is not handed out on another site.
    const { id } = await kluis.db
      .selectFrom('rights_requests')
      .select('id')
      .where('org_id', '=', jansen.id)
      .executeTakeFirstOrThrow();
    await kluis.services.rights.requestExport({ ...systemActor(jansen), roles: ['privacy_officer'] }, id);
    expect(await kluis.services.rights.runExport(jansen.id, id)).toBeDefined();
    // The reply mail carried a fresh link; the test knows it as the old secret again.
    const token = tokens.jansen ?? '';
    await kluis.db
      .updateTable('rights_requests')
      .set({ token_hash: tokenHash(token) })
      .where('id', '=', id)
      .execute();
    await expectLikeUnknown('/rights/r/TOKEN/export', tokens.jansen ?? '', FENNA, 410);
    await expectLikeUnknown('/rights/r/TOKEN/export', tokens.jansen ?? '', INSTALL, 410);
    await expectLikeUnknown(`/o/${jansen.slug}/rights/r/TOKEN/export`, tokens.jansen ?? '', INSTALL, 410);
    const download = await get(`/rights/r/${tokens.jansen}/export`, JANSEN);
    expect([download.statusCode, download.headers['content-type']]).toEqual([200, 'application/zip']);
  });
});
