/**
 * P15–P17 in a real browser: a person who used the contact form, wrote by mail (through the real
 * inbound SMTP listener) and is a client (relation, billing address, signed agreement, SEPA
 * mandate) asks for access on the portal; confirms through the link mailed to the SMTP sink; the
 * privacy officer compiles the export; the person downloads the zip once. The zip holds every
 * value seeded through every channel, and nothing about another person.
 */
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InboundSmtp, startInboundSmtp } from '../../src/modules/intake/intake-smtp.js';
import { createWorker } from '../../src/modules/jobs/jobs-worker.js';
import { createMailSink, type MailSink } from '../../src/modules/mail/mail-sink.js';
import type { Actor } from '../../src/shared/actor.js';
import { createFixedClock } from '../../src/shared/clock.js';
import { createOrg, createStaffUser, type StaffCredentials } from '../factories.js';
import { unzip } from '../zip.js';
import { launchBrowser, type RunningKluis, sendToKluis, startKluis, watchPage } from './harness.js';

const CONTACT = 'contact@ambrix.example';
const PRIVACY = 'privacy@ambrix.example';
const clock = createFixedClock(new Date('2030-03-04T09:00:00.000Z'));

async function click(page: Page, name: string): Promise<void> {
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name }).click()]);
}

describe('a data subject asks for access and downloads everything Kluis holds about them', () => {
  let sink: MailSink;
  let server: RunningKluis;
  let smtp: InboundSmtp;
  let browser: Browser;
  let officer: StaffCredentials;
  const seeded: string[] = [];
  const person = { name: 'Marloes van Buuren', email: 'marloes.vanbuuren@example.nl', phone: '+31687654321' };

  beforeAll(async () => {
    sink = await createMailSink({ port: 0, host: '127.0.0.1' });
    server = await startKluis({
      clock,
      env: { KLUIS_SMTP_URL: sink.url, KLUIS_CONTACT_ADDRESS: CONTACT, KLUIS_PRIVACY_ADDRESS: PRIVACY },
    });
    const operator = await createOrg(server.kluis, 'operator', 'Ambrix');
    officer = await createStaffUser(server.kluis, {
      orgId: operator.id,
      roles: ['privacy_officer'],
      displayName: 'Pim Privacy',
    });
    const financeUser = await createStaffUser(server.kluis, {
      orgId: operator.id,
      roles: ['finance', 'support'],
    });
    smtp = await startInboundSmtp(server.kluis, {
      port: 0,
      host: '127.0.0.1',
      maxBytes: 1_000_000,
      contactAddress: CONTACT,
      privacyAddress: PRIVACY,
    });
    browser = await launchBrowser();

    // The client side, recorded by finance through the services the staff pages use.
    const finance: Actor = {
      kind: 'user',
      orgId: operator.id,
      orgKind: 'operator',
      userId: financeUser.user.id,
      roles: ['finance', 'support'],
    };
    const kluis = server.kluis;
    const { id: relationId } = await kluis.services.relations.createRelation({
      actor: finance,
      values: {
        kind: 'person',
        formOfAddress: 'ms',
        givenName: 'Marloes',
        familyName: 'van Buuren',
        email: person.email,
        phone: person.phone,
        status: 'active',
        startedAt: '2029-05-01',
      },
    });
    await kluis.services.relations.setAddress({
      actor: finance,
      relationId,
      values: {
        country: 'NL',
        city: 'Haarlem',
        postcode: '2011 AB',
        street: 'Grote Markt',
        houseNumber: '7',
      },
    });
    await kluis.services.relationAgreements.addAgreement({
      actor: finance,
      relationId,
      values: {
        title: 'Verwerkersovereenkomst',
        version: '2029.2',
        effectiveFrom: '2029-05-01',
        signedByName: 'M. van Buuren e2e-signer',
        signedAt: '2029-04-28',
        signatureChannel: 'email',
      },
    });
    await kluis.services.mandates.createMandate({
      actor: finance,
      relationId,
      values: {
        reference: 'AMBRIX-MVB-01',
        scheme: 'CORE',
        sequence: 'recurrent',
        accountHolder: 'M. van Buuren e2e-holder',
        iban: 'NL91 ABNA 0417 1643 00',
        bic: 'ABNANL2A',
        signedAt: '2029-05-02',
        signatureName: 'Marloes e2e-mandate',
        signatureChannel: 'paper',
      },
    });
    seeded.push(
      'Marloes',
      'van Buuren',
      'Haarlem',
      '2011 AB',
      'Grote Markt',
      'M. van Buuren e2e-signer',
      'M. van Buuren e2e-holder',
      'NL91ABNA0417164300',
      'ABNANL2A',
      'Marloes e2e-mandate',
      'AMBRIX-MVB-01',
    );
    // Someone else, whose values must not appear.
    await kluis.services.relations.createRelation({
      actor: finance,
      values: {
        kind: 'person',
        formOfAddress: 'mr',
        givenName: 'Onbekende',
        familyName: 'Derde-e2e',
        email: 'derde@example.nl',
        status: 'active',
      },
    });
  });
  afterAll(async () => {
    await browser?.close();
    await smtp?.close();
    await server?.close();
    await sink?.close();
  });

  it('verifies by email, lets the privacy officer compile the export, and hands the zip out once', async () => {
    const page = await browser.newPage();
    const watch = watchPage(page, [404]);
    const url = server.url;
    const worker = () =>
      createWorker({ kluis: server.kluis, registry: server.kluis.jobRegistry, scheduler: false }).drain();

    // --- the contact form and a mail ---------------------------------------------------------
    await page.goto(`${url}/contact`);
    await page.getByLabel('Naam').fill(person.name);
    await page.getByLabel('E-mailadres').fill(person.email);
    await page.getByLabel('Telefoonnummer').fill(person.phone);
    await page.getByLabel('Bericht', { exact: true }).fill('Graag een offerte voor hosting e2e-form-msg.');
    clock.advance(15_000);
    await click(page, 'Bericht versturen');
    expect(new URL(page.url()).pathname).toBe('/contact/sent');
    seeded.push(person.name, person.email, person.phone, 'Graag een offerte voor hosting e2e-form-msg.');

    await sendToKluis(smtp.port, {
      from: `${person.name} <${person.email}>`,
      to: CONTACT,
      subject: 'Factuurvraag e2e-mail-subject',
      text: 'Klopt mijn factuur wel? e2e-mail-body',
    });
    seeded.push('Factuurvraag e2e-mail-subject', 'Klopt mijn factuur wel? e2e-mail-body');

    // --- the portal ------------------------------------------------------------------------------
    await page.goto(`${url}/privacy`);
    await Promise.all([page.waitForLoadState('load'), page.locator('footer a[href="/rights"]').click()]);
    expect(await page.locator('h1').textContent()).toBe('Uw privacyrechten bij Ambrix');
    await page.getByLabel('Inzage in mijn gegevens').check();
    await page.getByLabel('Uw e-mailadres').fill(person.email);
    await click(page, 'Verzoek versturen');
    expect(new URL(page.url()).pathname).toBe('/rights/sent');

    await worker();
    const confirm = await sink.waitFor((m) => m.to.includes(person.email) && m.subject.includes('Bevestig'));
    // The mail links to the public origin; the test server listens on its own port.
    const local = (mailed: string) => `${url}${new URL(mailed).pathname}`;
    const link = local(/(http:\/\/\S+\/rights\/r\/[A-Za-z0-9_-]{43})/.exec(confirm.text)?.[1] ?? 'http://x/');
    expect(link).toMatch(/\/rights\/r\/[A-Za-z0-9_-]{43}$/);
    await page.goto(link);
    expect(await page.locator('main').textContent()).not.toContain('Inzage');
    await click(page, 'Ja, ik heb dit verzoek gedaan');
    expect(await page.locator('main').textContent()).toContain('Bevestigd');

    // --- the privacy officer ---------------------------------------------------------------------
    const staff = await browser.newPage();
    const staffWatch = watchPage(staff);
    await staff.goto(`${url}/login`);
    await staff.getByLabel('E-mailadres').fill(officer.email);
    await staff.getByLabel('Wachtwoord').fill(officer.password);
    await Promise.all([
      staff.waitForLoadState('load'),
      staff.locator('main form button[type="submit"]').first().click(),
    ]);
    await staff.goto(`${url}/staff/rights`);
    const row = staff.locator('tr', { hasText: 'Inzage in mijn gegevens' });
    expect(await row.count()).toBe(1);
    await Promise.all([staff.waitForLoadState('load'), row.getByRole('link').first().click()]);
    expect(await staff.locator('main').textContent()).toContain('Gekoppeld aan een bekende betrokkene');
    await click(staff, 'Gegevens verzamelen en klaarzetten');
    expect(await staff.locator('.notice').textContent()).toContain('Opgeslagen');
    await worker();
    const ready = await sink.waitFor((m) => m.to.includes(person.email) && m.text.includes('staan klaar'));
    expect(ready.text).toContain('Autoriteit Persoonsgegevens');
    const readyLink = local(
      /(http:\/\/\S+\/rights\/r\/[A-Za-z0-9_-]{43})/.exec(ready.text)?.[1] ?? 'http://x/',
    );

    // --- the person downloads the zip, once --------------------------------------------------
    await page.goto(readyLink);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Uw gegevens downloaden (zip)' }).click(),
    ]);
    const zip = await readFile((await download.path()) ?? '');
    const files = new Map([...(await unzip(zip))].map(([name, bytes]) => [name, bytes.toString('utf8')]));
    expect([...files.keys()]).toEqual(expect.arrayContaining(['data.json', 'summary.html']));
    const json = files.get('data.json') ?? '';
    const missing = seeded.filter((v) => !json.includes(JSON.stringify(v).slice(1, -1)));
    expect(missing).toEqual([]);
    expect(json).not.toContain('Derde-e2e');
    expect(json).not.toContain('derde@example.nl');
    expect(files.get('summary.html')).toContain('Autoriteit Persoonsgegevens');
    await page.goto(readyLink);
    expect(await page.locator('main').textContent()).toContain('gedownload');
    const again = await page.request.get(`${readyLink}/export`);
    expect(again.status()).toBe(410);

    expect(watch.problems, watch.problems.join('\n')).toEqual([]);
    expect(staffWatch.problems, staffWatch.problems.join('\n')).toEqual([]);
    await page.close();
    await staff.close();
  });
});
