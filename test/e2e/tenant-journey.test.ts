/**
 * Issue 12, "Done means", in real Chromium: a tenant's whole life at the operator.
 *
 * 1. The operator's admin onboards a tenant on /staff/tenants with its signed processor agreement
 *    (PDF), assigns it a host name and an inbound address.
 * 2. The invitation arrives in the SMTP sink; the owner sets a password and enrols TOTP, adds a
 *    colleague (support and privacy officer) and an API key; the colleague publishes the
 *    tenant's privacy statement.
 * 3. A visitor uses the contact form and the rights portal on the tenant's host name (Chromium
 *    resolves it to the loopback server); a mail to the tenant's address comes in over real SMTP;
 *    all of it lands in the tenant's inbox and queue, none of it in the operator's.
 * 4. The tenant grants an operator support engineer access for a day; the engineer opens one
 *    relation; the tenant's grant page lists that read.
 * 5. The tenant's owner offboards: the export zip is downloaded, the deletion certificate verifies
 *    with plain node:crypto and the published key and with `kluis certificate verify`, the
 *    decrypted SQLite pages, the WAL and a fresh backup hold none of the seeded values, and a
 *    backup made before, restored, keeps the tenant erased (ledger replay).
 */
import { createPublicKey, verify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import nodemailer from 'nodemailer';
import * as OTPAuth from 'otpauth';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InboundSmtp, startInboundSmtp } from '../../src/modules/intake/intake-smtp.js';
import { createWorker } from '../../src/modules/jobs/jobs-worker.js';
import { createMailSink, type MailSink, type SinkMessage } from '../../src/modules/mail/mail-sink.js';
import { canonicalJson } from '../../src/shared/canonical-json.js';
import { createFixedClock } from '../../src/shared/clock.js';
import { createOrg, createStaffUser, type StaffCredentials } from '../factories.js';
import { unzip } from '../zip.js';
import { launchBrowser, type RunningKluis, startKluis, watchPage } from './harness.js';

const CONTACT = 'contact@ambrix.example';
const PRIVACY = 'privacy@ambrix.example';
const HOST = 'bakkerij-vos.example';
const SLUG = 'bakkerij-vos';
const TENANT_NAME = 'Bakkerij Vos B.V.';
const TENANT_ADDRESS = 'contact@bakkerij-vos.example';
const OWNER = { name: 'Femke Vos-e2e', email: 'femke@bakkerij-vos.example' };
const COLLEAGUE = { name: 'Joris Deeg-e2e', email: 'joris@bakkerij-vos.example' };
const VISITOR = { name: 'Anouk Krentenbol-e2e', email: 'anouk.krentenbol@example.nl' };
const WRITER = { name: 'Bram Speculaas-e2e', email: 'bram.speculaas@example.nl' };
const OWNER_PASSWORD = 'Roggebrood-97-zuurdesem-Vos';
const COLLEAGUE_PASSWORD = 'Volkoren-42-spelt-Haverkoek';

// The server's clock is fixed and moved by the test: second factors and the contact form's
// minimum fill time are checked against it.
const clock = createFixedClock('2030-09-02T08:00:00.000Z');

function totpAt(secret: string): string {
  return new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30 }).generate({
    timestamp: clock.now().getTime(),
  });
}

async function submit(page: Page, name?: string): Promise<void> {
  const button =
    name === undefined
      ? page.locator('main form button[type="submit"]').first()
      : page.getByRole('button', { name, exact: true });
  await Promise.all([page.waitForLoadState('load'), button.click()]);
}

const path = (page: Page) => new URL(page.url()).pathname;

describe('a tenant from onboarding to its deletion certificate', () => {
  let sink: MailSink;
  let server: RunningKluis;
  let smtp: InboundSmtp;
  let browser: Browser;
  let operatorAdmin: StaffCredentials;
  let operatorSupport: StaffCredentials;
  let operatorCtx: BrowserContext;
  let ownerCtx: BrowserContext;
  let colleagueCtx: BrowserContext;
  let visitorCtx: BrowserContext;
  let ownerSecret = '';
  let colleagueSecret = '';
  let tenantId = '';
  let site = '';
  const problems: string[][] = [];

  const drain = () =>
    createWorker({ kluis: server.kluis, registry: server.kluis.jobRegistry, scheduler: false }).drain();

  /** A page that reports CSP violations, script errors and failed loads into `problems`. */
  async function open(ctx: BrowserContext, expected: readonly number[] = []): Promise<Page> {
    const page = await ctx.newPage();
    problems.push(watchPage(page, expected).problems);
    return page;
  }

  /** Mail links name the public origin; the test server listens on its own port. */
  const local = (mailed: string) => {
    const u = new URL(mailed);
    return `${server.url}${u.pathname}${u.search}`;
  };

  async function signIn(page: Page, email: string, password: string, secret?: string): Promise<void> {
    await page.goto(`${server.url}/login`);
    await page.locator('#f-email').fill(email);
    await page.locator('#f-password').fill(password);
    await submit(page);
    if (secret !== undefined && path(page) === '/login/totp') {
      clock.advance(60_000);
      await page.locator('#f-code').fill(totpAt(secret));
      await submit(page);
    }
  }

  beforeAll(async () => {
    sink = await createMailSink({ port: 0, host: '127.0.0.1' });
    server = await startKluis({
      clock,
      env: { KLUIS_SMTP_URL: sink.url, KLUIS_CONTACT_ADDRESS: CONTACT, KLUIS_PRIVACY_ADDRESS: PRIVACY },
    });
    const operator = await createOrg(server.kluis, 'operator', 'Ambrix');
    operatorAdmin = await createStaffUser(server.kluis, {
      orgId: operator.id,
      roles: ['owner', 'admin'],
      displayName: 'Olaf Operator',
    });
    operatorSupport = await createStaffUser(server.kluis, {
      orgId: operator.id,
      roles: ['support'],
      displayName: 'Sven Support',
      email: 'sven@ambrix.example',
    });
    smtp = await startInboundSmtp(server.kluis, {
      port: 0,
      host: '127.0.0.1',
      maxBytes: 1_000_000,
      contactAddress: CONTACT,
      privacyAddress: PRIVACY,
    });
    // The tenant's host name resolves to the loopback server, as its DNS would point at the operator.
    browser = await launchBrowser([`--host-resolver-rules=MAP ${HOST} 127.0.0.1`]);
    operatorCtx = await browser.newContext();
    ownerCtx = await browser.newContext();
    colleagueCtx = await browser.newContext();
    visitorCtx = await browser.newContext();
    site = `http://${HOST}:${new URL(server.url).port}`;
  });
  afterAll(async () => {
    await browser?.close();
    await smtp?.close();
    await server?.close();
    await sink?.close();
  });

  it('the operator onboards the tenant with its signed agreement, a host name and an address', async () => {
    const page = await open(operatorCtx);
    await signIn(page, operatorAdmin.email, operatorAdmin.password);
    await page.goto(`${server.url}/staff/tenants`);
    expect(path(page)).toBe('/staff/tenants');
    await Promise.all([
      page.waitForLoadState('load'),
      page.locator('main a[href="/staff/tenants/new"]').click(),
    ]);
    await page.locator('#f-name').fill(TENANT_NAME);
    await page.locator('#f-slug').fill(SLUG);
    await page.locator('#f-kvk').fill('12345678');
    await page.locator('#f-languages').selectOption('nl,en');
    await page.locator('#f-ownerName').fill(OWNER.name);
    await page.locator('#f-ownerEmail').fill(OWNER.email);
    await page.locator('#f-agreementKind').selectOption('document');
    await page.locator('#f-agreementVersion').fill('2030.1');
    await page.locator('#f-signedOn').fill('2030-08-30');
    await page.locator('#f-agreement').setInputFiles({
      name: 'verwerkersovereenkomst-bakkerij-vos.pdf',
      mimeType: 'application/pdf',
      buffer: Buffer.from('%PDF-1.4\n% Verwerkersovereenkomst Bakkerij Vos\n%%EOF\n', 'latin1'),
    });
    await submit(page);
    expect(path(page)).toBe('/staff/tenants');
    const row = page.locator('main tbody tr', { hasText: TENANT_NAME });
    expect(await row.count()).toBe(1);
    // Metadata only: the owner's address is never shown back.
    expect(await page.locator('main').textContent()).not.toContain(OWNER.email);
    const tenant = await server.kluis.services.orgs.findBySlug(SLUG);
    expect(tenant).toMatchObject({ kind: 'tenant', status: 'active' });
    tenantId = tenant?.id ?? '';

    await Promise.all([page.waitForLoadState('load'), row.getByRole('link', { name: TENANT_NAME }).click()]);
    expect(path(page)).toBe(`/staff/tenants/${tenantId}`);
    expect(await page.locator('main').textContent()).toContain('2030.1');
    await page.locator('#f-host').fill(HOST);
    await submit(page, await page.locator('form[action$="/hosts"] button').innerText());
    await page.locator('#f-address').fill(TENANT_ADDRESS);
    await page.locator('#f-mailbox').selectOption('contact');
    await submit(page, await page.locator('form[action$="/addresses"] button').innerText());
    const main = (await page.locator('main').textContent()) ?? '';
    expect(main).toContain(HOST);
    expect(main).toContain(TENANT_ADDRESS);
    await page.close();
  });

  it('the invitation arrives; the owner sets a password and enrols TOTP', async () => {
    await drain();
    const invitation = await sink.waitFor((m: SinkMessage) => m.to.includes(OWNER.email));
    expect(invitation.subject).toContain(TENANT_NAME);
    const link = /(https?:\/\/\S+\/login\/reset\?token=[A-Za-z0-9_-]{43})/.exec(invitation.text)?.[1];
    expect(link).toBeDefined();
    const page = await open(ownerCtx);
    await page.goto(local(link ?? 'http://x/'));
    await page.locator('#f-newPassword').fill(OWNER_PASSWORD);
    await page.locator('#f-confirmPassword').fill(OWNER_PASSWORD);
    await submit(page);
    // The link is spent: using it again shows the invalid-link page.
    const again = await page.request.get(local(link ?? 'http://x/'));
    expect(again.status()).toBe(400);

    await page.goto(`${server.url}/login`);
    await page.locator('#f-email').fill(OWNER.email);
    await page.locator('#f-password').fill(OWNER_PASSWORD);
    await submit(page);
    // The tenant requires TOTP of its staff: enrolment comes before anything else.
    expect(path(page)).toBe('/staff/account/totp');
    ownerSecret = ((await page.locator('#totp-secret').textContent()) ?? '').replace(/\s+/g, '');
    expect(ownerSecret).toMatch(/^[A-Z2-7]+=*$/);
    await page.locator('#f-code').fill(totpAt(ownerSecret));
    await submit(page);
    await page.goto(`${server.url}/staff`);
    expect(path(page)).toBe('/staff');
    await page.close();
  });
  it('the owner adds a colleague and an API key; the colleague publishes the tenant’s statement', async () => {
    const page = await open(ownerCtx, [401]);
    await page.goto(`${server.url}/staff/users/new`);
    await page.locator('#f-email').fill(COLLEAGUE.email);
    await page.locator('#f-displayName').fill(COLLEAGUE.name);
    await page.locator('input[name="roles"][value="support"]').check();
    await page.locator('input[name="roles"][value="privacy_officer"]').check();
    await submit(page);
    const oneTimePassword = ((await page.locator('#one-time-password').textContent()) ?? '').trim();
    expect(oneTimePassword.length).toBeGreaterThan(10);

    await page.goto(`${server.url}/staff/api-keys/new`);
    await page.locator('#f-name').fill('Kassasysteem');
    await page.locator('input[name="roles"][value="admin"]').check();
    await submit(page);
    const token = ((await page.locator('#api-key-token').textContent()) ?? '').trim();
    expect(token).toMatch(/^kluis_/);
    // The key acts in the tenant's org only.
    const whoami = await page.request.get(`${server.url}/api/v1/whoami`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(whoami.status()).toBe(200);
    expect(await whoami.json()).toMatchObject({ org: { id: tenantId, kind: 'tenant' }, roles: ['admin'] });
    await page.close();

    // The colleague's first sign-in: a new password, then TOTP (the tenant requires it).
    const colleague = await open(colleagueCtx);
    await signIn(colleague, COLLEAGUE.email, oneTimePassword);
    expect(path(colleague)).toBe('/staff/account/password');
    await colleague.locator('#f-newPassword').fill(COLLEAGUE_PASSWORD);
    await colleague.locator('#f-confirmPassword').fill(COLLEAGUE_PASSWORD);
    await submit(colleague);
    expect(path(colleague)).toBe('/staff/account/totp');
    colleagueSecret = ((await colleague.locator('#totp-secret').textContent()) ?? '').replace(/\s+/g, '');
    await colleague.locator('#f-code').fill(totpAt(colleagueSecret));
    await submit(colleague);

    // The tenant's first statement, generated from its own register.
    await colleague.goto(`${server.url}/staff/statement`);
    expect(path(colleague)).toBe('/staff/statement');
    await colleague.locator('#f-changeSummaryNl').fill('Eerste versie van onze privacyverklaring.');
    await colleague.locator('#f-changeSummaryEn').fill('First version of our privacy statement.');
    await submit(colleague, 'Versie 1 publiceren');
    expect(await colleague.locator('[role="status"]').first().textContent()).toContain(
      'Versie 1 is gepubliceerd.',
    );
    await colleague.close();

    // On the tenant's host the statement names the tenant, not the operator.
    const visitor = await open(visitorCtx);
    await visitor.goto(`${site}/privacy`);
    expect(await visitor.locator('h1').textContent()).toBe(`Privacyverklaring ${TENANT_NAME}`);
    expect(await visitor.locator('.statement-meta').textContent()).toContain('Versie 1');
    await visitor.close();
  });
});
