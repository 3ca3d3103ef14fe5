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
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import * as OTPAuth from 'otpauth';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keystoreEncryptionKey } from '../../src/config/env.js';
import { rawSqlcipherKey } from '../../src/db/database.js';
import { type InboundSmtp, startInboundSmtp } from '../../src/modules/intake/intake-smtp.js';
import { createWorker } from '../../src/modules/jobs/jobs-worker.js';
import { createMailSink, type MailSink, type SinkMessage } from '../../src/modules/mail/mail-sink.js';
import { registerOffboardingCommands } from '../../src/modules/offboarding/offboarding-commands.js';
import { createBackup } from '../../src/modules/ops/ops-backup.js';
import { restoreBackup } from '../../src/modules/ops/ops-restore.js';
import { openSqliteFile } from '../../src/modules/ops/ops-sqlite.js';
import { canonicalJson } from '../../src/shared/canonical-json.js';
import { createFixedClock } from '../../src/shared/clock.js';
import { testCli } from '../cli.js';
import { testDialect } from '../dialects.js';
import { createOrg, createStaffUser, type StaffCredentials } from '../factories.js';
import { decryptSqlcipherPages, decryptSqlcipherWal, fileBytes } from '../retention-fixtures.js';
import { unzip } from '../zip.js';
import { launchBrowser, type RunningKluis, sendToKluis, startKluis, watchPage } from './harness.js';

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
const sqlite = testDialect === 'sqlite';

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
  let supportCtx: BrowserContext;
  let ownerSecret = '';
  let colleagueSecret = '';
  let tenantId = '';
  let site = '';
  let relationPath = '';
  const problems: string[][] = [];

  const drain = () =>
    createWorker({ kluis: server.kluis, registry: server.kluis.jobRegistry, scheduler: false }).drain();

  /** Runs a `kluis` command on this installation, as the operator would on the server. */
  async function runCli(argv: readonly string[]): Promise<{ out: string; code: number }> {
    const cli = testCli({ kluis: server.kluis });
    const program = new Command().exitOverride();
    registerOffboardingCommands(program, cli.io);
    await program.parseAsync(['node', 'kluis', ...argv]);
    return { out: cli.out.text(), code: cli.code() };
  }

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
    supportCtx = await browser.newContext();
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
    await Promise.all([page.waitForLoadState('load'), page.locator('form[action$="/hosts"] button').click()]);
    await page.locator('#f-address').fill(TENANT_ADDRESS);
    await page.locator('#f-mailbox').selectOption('contact');
    await Promise.all([
      page.waitForLoadState('load'),
      page.locator('form[action$="/addresses"] button').click(),
    ]);
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
    // The owner's organisation page points at these pages on the tenant's host.
    const own = await open(ownerCtx);
    await own.goto(`${server.url}/staff/organisation`);
    const href = new URL(
      (await own.getByRole('link', { name: 'Uw openbare pagina’s' }).getAttribute('href')) ?? 'http://x/',
    );
    expect([href.hostname, href.pathname]).toEqual([HOST, '/privacy']);
    await own.close();
    // Its archive, on the same host.
    await Promise.all([
      visitor.waitForLoadState('load'),
      visitor.locator('main a[href="/privacy/versions"]').click(),
    ]);
    expect(visitor.url()).toBe(`${site}/privacy/versions`);
    expect(await visitor.locator('main table').textContent()).toContain(
      'Eerste versie van onze privacyverklaring.',
    );
    await visitor.close();
  });
  it('a visitor writes and asks for access on the tenant’s host; a mail to its address arrives; all of it is the tenant’s', async () => {
    const page = await open(visitorCtx);
    await page.goto(`${site}/contact`);
    expect(await page.locator('h1').textContent()).toBe(`Contact opnemen met ${TENANT_NAME}`);
    await page.getByLabel('Naam').fill(VISITOR.name);
    await page.getByLabel('E-mailadres').fill(VISITOR.email);
    await page.getByLabel('Bericht', { exact: true }).fill('Bakken jullie ook glutenvrij? e2e-form-msg');
    clock.advance(15_000);
    await submit(page, 'Bericht versturen');
    expect(page.url()).toBe(`${site}/contact/sent`);

    // The rights portal on the same host, for the tenant.
    await page.goto(`${site}/rights`);
    expect(await page.locator('h1').textContent()).toBe(`Uw privacyrechten bij ${TENANT_NAME}`);
    await page.getByLabel('Inzage in mijn gegevens').check();
    await page.getByLabel('Uw e-mailadres').fill(VISITOR.email);
    await submit(page, 'Verzoek versturen');
    expect(page.url()).toBe(`${site}/rights/sent`);
    await drain();
    const confirm = await sink.waitFor((m) => m.to.includes(VISITOR.email) && m.subject.includes('Bevestig'));
    // The tenant's mail names the tenant, and its link leads back to the tenant's host.
    expect(confirm.from).toContain(TENANT_NAME);
    const link = /(https?:\/\/\S+\/rights\/r\/[A-Za-z0-9_-]{43})/.exec(confirm.text)?.[1] ?? 'http://x/';
    expect(new URL(link).hostname).toBe(HOST);
    await page.goto(`${site}${new URL(link).pathname}`);
    await submit(page, 'Ja, ik heb dit verzoek gedaan');
    expect(await page.locator('main').textContent()).toContain('Bevestigd');

    // Another host name is not the tenant's: the operator's own pages stay the operator's.
    await page.goto(`${server.url}/contact`);
    expect(await page.locator('h1').textContent()).toBe('Contact opnemen met Ambrix');
    await page.close();

    // A mail to the tenant's inbound address, over SMTP to Kluis's listener.
    await sendToKluis(smtp.port, {
      from: `${WRITER.name} <${WRITER.email}>`,
      to: TENANT_ADDRESS,
      subject: 'Bestelling taart e2e-mail-subject',
      text: 'Graag een verjaardagstaart voor zaterdag. e2e-mail-body',
    });

    // The tenant's support (the colleague) finds both in its inbox, and the request in its queue.
    const colleague = await open(colleagueCtx);
    await colleague.goto(`${server.url}/staff/conversations`);
    expect(path(colleague)).toBe('/staff/conversations');
    const inbox = (await colleague.locator('main').textContent()) ?? '';
    expect(inbox).toContain(VISITOR.name);
    expect(inbox).toContain(WRITER.name);
    await Promise.all([
      colleague.waitForLoadState('load'),
      colleague.locator('tbody tr', { hasText: WRITER.name }).getByRole('link').first().click(),
    ]);
    expect(await colleague.locator('main').textContent()).toContain(
      'Graag een verjaardagstaart voor zaterdag.',
    );
    // The answer goes out in the tenant's name, replies to the tenant's address, and the
    // writer's answer threads back into the same conversation.
    const conversationUrl = colleague.url().split('?')[0] ?? '';
    await colleague.getByLabel('Uw antwoord').fill('Zaterdag om tien uur ligt de taart klaar.');
    await submit(colleague, 'Antwoord versturen');
    await drain();
    const answer = await sink.waitFor((m) => m.to.includes(WRITER.email));
    expect(answer.from).toContain(TENANT_NAME);
    expect(answer.from).not.toContain('Ambrix');
    expect(answer.headers['reply-to']).toContain(TENANT_ADDRESS);
    expect(answer.messageId).not.toContain(tenantId);
    await sendToKluis(smtp.port, {
      from: `${WRITER.name} <${WRITER.email}>`,
      to: TENANT_ADDRESS,
      subject: `Re: ${answer.subject}`,
      text: 'Top, ik haal hem om tien uur op. e2e-mail-answer',
      inReplyTo: answer.messageId,
      references: [String(answer.messageId)],
    });
    await colleague.goto(conversationUrl);
    expect(await colleague.locator('ol.entries > li').count()).toBe(3);
    expect(await colleague.locator('ol.entries').textContent()).toContain('e2e-mail-answer');
    await colleague.goto(`${server.url}/staff/rights`);
    const request = colleague.locator('tr', { hasText: 'Inzage in mijn gegevens' });
    expect(await request.count()).toBe(1);
    // The tenant's privacy officer compiles the export; the person downloads it on the tenant's host.
    await Promise.all([colleague.waitForLoadState('load'), request.getByRole('link').first().click()]);
    await submit(colleague, 'Gegevens verzamelen en klaarzetten');
    await drain();
    const ready = await sink.waitFor((m) => m.to.includes(VISITOR.email) && m.text.includes('staan klaar'));
    expect(ready.from).toContain(TENANT_NAME);
    const readyLink = new URL(
      /(https?:\/\/\S+\/rights\/r\/[A-Za-z0-9_-]{43})/.exec(ready.text)?.[1] ?? 'http://x/',
    );
    expect(readyLink.hostname).toBe(HOST);
    const person = await open(visitorCtx);
    await person.goto(`${site}${readyLink.pathname}`);
    const [download] = await Promise.all([
      person.waitForEvent('download'),
      person.getByRole('link', { name: 'Uw gegevens downloaden (zip)' }).click(),
    ]);
    const personal = await unzip(await readFile((await download.path()) ?? ''));
    const data = personal.get('data.json')?.toString('utf8') ?? '';
    expect(data).toContain(VISITOR.email);
    expect(data).toContain('e2e-form-msg');
    expect(data).not.toContain(WRITER.email);
    await person.close();

    // A client relation of the tenant, recorded by its support.
    await colleague.goto(`${server.url}/staff/relations/new`);
    await colleague.locator('input[name="kind"][value="person"]').check();
    await colleague.locator('input[name="formOfAddress"][value="ms"]').check();
    await colleague.locator('#f-givenName').fill('Anouk');
    await colleague.locator('#f-familyName').fill('Krentenbol-e2e');
    await colleague.locator('#f-email').fill(VISITOR.email);
    await colleague.locator('#f-phone').fill('+31 6 1234 9876');
    await submit(colleague);
    expect(path(colleague)).toMatch(/^\/staff\/relations\/[0-9a-f-]{36}$/);
    relationPath = path(colleague);
    await colleague.close();

    // The operator's own support sees none of it.
    const operator = await open(supportCtx, [404]);
    await signIn(operator, operatorSupport.email, operatorSupport.password);
    await operator.goto(`${server.url}/staff/conversations`);
    const theirs = (await operator.locator('main').textContent()) ?? '';
    expect(theirs).not.toContain(VISITOR.name);
    expect(theirs).not.toContain(WRITER.name);
    const foreign = await operator.request.get(`${server.url}${relationPath}`);
    expect(foreign.status()).toBe(404);
    await operator.close();
  });
  it('the tenant grants operator support for a day; the engineer opens one relation; the tenant sees that read', async () => {
    const owner = await open(ownerCtx);
    await owner.goto(`${server.url}/staff/grants`);
    await owner.locator('#f-granteeEmail').fill(operatorSupport.email);
    await owner.locator('input[name="roles"][value="support"]').check();
    await owner.locator('#f-purpose').fill('Storing in het contactformulier onderzoeken');
    await owner.locator('#f-agreementRef').fill('Verwerkersovereenkomst 2030.1');
    await owner.locator('#f-days').fill('1');
    await Promise.all([
      owner.waitForLoadState('load'),
      owner.locator('form[action="/staff/grants"] button[type="submit"]').click(),
    ]);
    expect(path(owner)).toBe('/staff/grants');
    const grants = await server.kluis.db
      .selectFrom('operator_grants')
      .select(['id', 'created_at', 'expires_at'])
      .where('org_id', '=', tenantId)
      .execute();
    expect(grants).toHaveLength(1);
    const grant = grants[0];
    // For a day, no longer.
    expect(Date.parse(grant?.expires_at ?? '') - Date.parse(grant?.created_at ?? '')).toBe(24 * 3600_000);

    // The engineer enters the grant and opens the relation.
    const engineer = await open(supportCtx);
    await engineer.goto(`${server.url}/staff/grants/mine`);
    const mine = engineer.locator('main tbody tr', { hasText: TENANT_NAME });
    expect(await mine.count()).toBe(1);
    await Promise.all([engineer.waitForLoadState('load'), mine.locator('button[type="submit"]').click()]);
    expect(path(engineer)).toBe('/staff');
    await engineer.goto(`${server.url}${relationPath}`);
    expect(await engineer.locator('main').textContent()).toContain('Krentenbol-e2e');
    await engineer.goto(`${server.url}/staff/grants/mine`);
    await Promise.all([
      engineer.waitForLoadState('load'),
      engineer.locator('form[action="/staff/grants/leave"] button[type="submit"]').click(),
    ]);
    // Out of the grant, the relation is another org's again.
    expect((await engineer.request.get(`${server.url}${relationPath}`)).status()).toBe(404);
    await engineer.close();

    // The tenant's owner sees the read, with the relation, on the grant's page.
    await owner.goto(`${server.url}/staff/grants/${grant?.id}`);
    const uses = (await owner.locator('main table').textContent()) ?? '';
    expect(uses).toContain('relations.relation.read');
    expect(uses).toContain(relationPath.split('/').pop());
    await owner.close();
  });
  it('the tenant offboards: export downloaded, certificate verified, no seeded value left, a restored older backup stays erased', async () => {
    const kluis = server.kluis;
    const dbFile = kluis.dbFile ?? '';
    const dbKey = rawSqlcipherKey(kluis.config.databaseKey?.value ?? '');
    // What the tenant's data looks like at rest: plain staff addresses, sealed person fields.
    const sealed = await kluis.db
      .selectFrom('relations')
      .select(['family_name', 'email'])
      .where('org_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    const probes = [sealed.family_name, sealed.email].flatMap((b) => (b === null ? [] : [b.subarray(1, 29)]));
    expect(probes).toHaveLength(2);
    const seeded = [
      OWNER.email,
      OWNER.name,
      COLLEAGUE.email,
      COLLEAGUE.name,
      VISITOR.email,
      VISITOR.name,
      WRITER.email,
      WRITER.name,
      'Krentenbol-e2e',
      'e2e-form-msg',
      'e2e-mail-subject',
      'e2e-mail-body',
      'e2e-mail-answer',
      'Zaterdag om tien uur ligt de taart klaar.',
    ];
    const leftIn = (bytes: Buffer) => [
      ...seeded.filter((v) => bytes.includes(Buffer.from(v, 'utf8'))),
      ...probes.filter((p) => bytes.includes(p)).map((p) => `sealed:${p.toString('hex').slice(0, 12)}`),
    ];
    const older = join(kluis.dir, 'backup-before');
    const olderKeys = join(kluis.dir, 'backup-before-keys');
    if (sqlite) {
      await createBackup({ kluis, kind: 'database', outDir: older });
      await createBackup({ kluis, kind: 'keystore', outDir: olderKeys });
      await kluis.checkpoint();
      // Positive control: before, the decrypted pages hold the staff addresses and sealed fields.
      const before = leftIn(decryptSqlcipherPages(fileBytes(dbFile), dbKey));
      expect(before).toEqual(expect.arrayContaining([OWNER.email, COLLEAGUE.email]));
      expect(before.filter((v) => v.startsWith('sealed:'))).toHaveLength(2);
    }

    // The operator's tenant pages show metadata and counts, none of the tenant's values.
    const operator = await open(operatorCtx);
    for (const url of ['/staff/tenants', `/staff/tenants/${tenantId}`]) {
      await operator.goto(`${server.url}${url}`);
      expect(path(operator)).toBe(url);
      expect(leftIn(Buffer.from(await operator.content(), 'utf8')), url).toEqual([]);
    }
    await operator.close();

    // The owner starts it on its own page and downloads the export.
    const owner = await open(ownerCtx);
    await owner.goto(`${server.url}/staff/offboarding`);
    await owner.locator('input[name="confirm"]').check();
    await submit(owner, 'Vertrek starten');
    expect(path(owner)).toBe('/staff/offboarding');
    const [download] = await Promise.all([
      owner.waitForEvent('download'),
      owner.getByRole('link', { name: 'Export downloaden' }).click(),
    ]);
    const zip = await unzip(await readFile((await download.path()) ?? ''));
    const text = (name: string) => zip.get(name)?.toString('utf8') ?? '';
    expect(JSON.parse(text('manifest.json'))).toMatchObject({ org: tenantId });
    expect(text('tables/relations.json')).toContain('Krentenbol-e2e');
    expect([...zip.keys()]).toEqual(expect.arrayContaining(['tables/relations.csv', 'register.json']));

    // From the start of the notice period, its address takes no mail (and its site is closed).
    await expect(
      sendToKluis(smtp.port, {
        from: WRITER.email,
        to: TENANT_ADDRESS,
        subject: 'Nog een taart?',
        text: 'e2e-late',
      }),
    ).rejects.toThrow(/No such mailbox/);
    await owner.close();

    // The export is downloaded, so the operator finishes at once (`kluis offboarding finish --early`).
    const finish = await runCli(['offboarding', 'finish', '--tenant', SLUG, '--early']);
    expect(finish.code).toBe(0);
    const certificate = finish.out.trim();
    expect((await kluis.services.orgs.findById(tenantId))?.status).toBe('offboarded');

    // The certificate verifies with plain node:crypto and the key published on the site…
    const page = await open(visitorCtx);
    const res = await page.request.get(`${server.url}/.well-known/kluis-audit-key`);
    expect(res.status()).toBe(200);
    const published = (await res.json()) as { publicKey: string; keyId: string };
    await page.close();
    const publicKey = createPublicKey({
      key: Buffer.concat([
        Buffer.from('302a300506032b6570032100', 'hex'),
        Buffer.from(published.publicKey, 'base64'),
      ]),
      format: 'der',
      type: 'spki',
    });
    const file = JSON.parse(certificate) as {
      certificate: {
        tenant: { id: string };
        deleted: Record<string, number>;
        destroyed_keys: { org: string };
      };
      signature: string;
      key_id: string;
    };
    expect(file.key_id).toBe(published.keyId);
    expect(
      verify(
        null,
        Buffer.from(canonicalJson(file.certificate)),
        publicKey,
        Buffer.from(file.signature, 'base64'),
      ),
    ).toBe(true);
    expect(file.certificate.tenant.id).toBe(tenantId);
    expect(file.certificate.destroyed_keys.org).toBe(tenantId);
    expect(file.certificate.deleted.relations).toBe(1);
    const forged = { ...file.certificate, deleted: { ...file.certificate.deleted, relations: 0 } };
    expect(
      verify(null, Buffer.from(canonicalJson(forged)), publicKey, Buffer.from(file.signature, 'base64')),
    ).toBe(false);
    // … and with `kluis certificate verify`.
    const certFile = join(kluis.dir, 'certificate.json');
    writeFileSync(certFile, certificate);
    const verified = await runCli(['certificate', 'verify', certFile]);
    expect(verified).toMatchObject({
      code: 0,
      out: expect.stringContaining(`OK deletion certificate of ${SLUG}`),
    });

    // Its pages are gone, and so are its staff accounts: the owner's session ends.
    const gone = await open(visitorCtx, [404]);
    expect((await gone.goto(`${site}/contact`))?.status()).toBe(404);
    await gone.close();
    const signedOut = await open(ownerCtx);
    await signedOut.goto(`${server.url}/staff`);
    expect(path(signedOut)).toBe('/login');
    await signedOut.close();

    if (!sqlite) return;
    // No seeded value in the decrypted pages (free pages included), the WAL as the finish left
    // it, or a fresh backup.
    expect(leftIn(decryptSqlcipherPages(fileBytes(dbFile), dbKey)), 'in the database file').toEqual([]);
    expect(leftIn(decryptSqlcipherWal(fileBytes(`${dbFile}-wal`), dbKey)), 'in the WAL').toEqual([]);
    const fresh = join(kluis.dir, 'backup-after');
    await createBackup({ kluis, kind: 'database', outDir: fresh });
    expect(
      leftIn(decryptSqlcipherPages(fileBytes(join(fresh, 'kluis.db')), dbKey)),
      'in a fresh backup',
    ).toEqual([]);

    // The older backup, restored, replays the erasure ledger: the tenant stays erased.
    mkdirSync(join(kluis.dir, 'restored'));
    const target = join(kluis.dir, 'restored', 'kluis.db');
    const restored = await restoreBackup({ dir: older, to: target, config: kluis.config, clock });
    expect(restored.steps.find((x) => x.name === 'replay the erasure ledger')?.result).toMatch(/erasures/);
    const handle = openSqliteFile(target, kluis.config.databaseKey?.value, { readonly: true });
    const rows = (table: string) =>
      (handle.prepare(`select count(*) as n from ${table} where org_id = ?`).get(tenantId) as { n: number })
        .n;
    const counts = ['relations', 'users', 'conversations', 'rights_requests'].map(rows);
    handle.close();
    expect(counts).toEqual([0, 0, 0, 0]);
    expect(leftIn(decryptSqlcipherPages(fileBytes(target), dbKey)), 'in the restored backup').toEqual([]);
    const keysTarget = join(kluis.dir, 'restored', 'kluis-keys.db');
    await restoreBackup({ dir: olderKeys, to: keysTarget, config: kluis.config, clock });
    const ks = openSqliteFile(keysTarget, keystoreEncryptionKey(kluis.config), { readonly: true });
    const keyRows = (table: string) =>
      (ks.prepare(`select count(*) as n from ${table} where org_id = ?`).get(tenantId) as { n: number }).n;
    const keyCounts = ['org_keys', 'subject_keys'].map(keyRows);
    ks.close();
    expect(keyCounts).toEqual([0, 0]);

    // Chromium ignores (and says so) the Cross-Origin-Opener-Policy header of plain http on a host
    // name other than localhost: the test serves the tenant's host without TLS, production with it.
    const untrustworthy =
      /Cross-Origin-Opener-Policy header has been ignored, because the URL's origin was untrustworthy/;
    const seen = problems.flat().filter((p) => !untrustworthy.test(p));
    expect(seen, seen.join('\n')).toEqual([]);
  });
});
