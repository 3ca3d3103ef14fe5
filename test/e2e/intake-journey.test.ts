/**
 * The intake journey in a real browser (P1–P3): a visitor sends the contact form in Dutch and in
 * English, errors first; support signs in, finds the request in the inbox and replies; the reply
 * arrives in the SMTP sink with its Message-ID; the visitor's emailed answer (In-Reply-To set)
 * comes in through the inbound SMTP listener and threads into the same conversation.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InboundSmtp, startInboundSmtp } from '../../src/modules/intake/intake-smtp.js';
import { createWorker } from '../../src/modules/jobs/jobs-worker.js';
import { createMailSink, type MailSink } from '../../src/modules/mail/mail-sink.js';
import { createFixedClock } from '../../src/shared/clock.js';
import { createOrg, createStaffUser, type StaffCredentials } from '../factories.js';
import { intakeCounts } from '../intake-fixtures.js';
import { launchBrowser, type RunningKluis, sendToKluis, startKluis, watchPage } from './harness.js';

const CONTACT = 'contact@ambrix.example';
const PRIVACY = 'privacy@ambrix.example';

// The server's clock is fixed and moved by the test: the form's minimum fill time is checked
// against it, so "a person took a while to write" is deterministic.
const clock = createFixedClock(new Date());

async function click(page: Page, name: string): Promise<void> {
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name }).click()]);
}

describe('a contact request from form to threaded email answer', () => {
  let sink: MailSink;
  let server: RunningKluis;
  let smtp: InboundSmtp;
  let browser: Browser;
  let support: StaffCredentials;
  let operatorId = '';

  beforeAll(async () => {
    sink = await createMailSink({ port: 0, host: '127.0.0.1' });
    server = await startKluis({
      clock,
      env: { KLUIS_SMTP_URL: sink.url, KLUIS_CONTACT_ADDRESS: CONTACT, KLUIS_PRIVACY_ADDRESS: PRIVACY },
    });
    const operator = await createOrg(server.kluis, 'operator', 'Ambrix');
    operatorId = operator.id;
    support = await createStaffUser(server.kluis, {
      orgId: operator.id,
      roles: ['support'],
      displayName: 'Sam Support',
    });
    smtp = await startInboundSmtp(server.kluis, {
      port: 0,
      host: '127.0.0.1',
      maxBytes: 1_000_000,
      contactAddress: CONTACT,
      privacyAddress: PRIVACY,
    });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await smtp?.close();
    await server?.close();
    await sink?.close();
  });

  it('takes the form in Dutch and English, lets support reply by mail, and threads the answer back', async () => {
    const page = await browser.newPage();
    const watch = watchPage(page, [400]);

    // --- Dutch, errors first ---------------------------------------------------------------
    await page.goto(`${server.url}/contact`);
    expect(await page.locator('h1').textContent()).toBe('Contact opnemen met Ambrix');
    await page.getByLabel('E-mailadres').fill('geen-adres');
    await page.getByLabel('Bericht', { exact: true }).fill('Kan ik een afspraak maken? e2e-nl');
    clock.advance(15_000);
    await click(page, 'Bericht versturen');
    await expect.poll(() => page.locator('.error-summary').count()).toBe(1);
    const summary = await page.locator('.error-summary').textContent();
    expect(summary).toContain('Vul uw naam in.');
    expect(summary).toContain('Vul een geldig e-mailadres in');
    expect(await page.getByLabel('Bericht', { exact: true }).inputValue()).toBe(
      'Kan ik een afspraak maken? e2e-nl',
    );
    expect((await intakeCounts(server.kluis)).conversations).toBe(0);
    // The error summary links to the field.
    await page.locator('.error-summary a[href="#f-name"]').click();
    await page.getByLabel('Naam').fill('Lotte de Graaf');
    await page.getByLabel('E-mailadres').fill('lotte@example.nl');
    await click(page, 'Bericht versturen');
    expect(new URL(page.url()).pathname).toBe('/contact/sent');
    expect(await page.locator('h1').textContent()).toBe('Bedankt voor uw bericht');

    // --- English, errors first -------------------------------------------------------------
    await page.goto(`${server.url}/en/contact`);
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    clock.advance(15_000);
    await click(page, 'Send message');
    await expect.poll(() => page.locator('.error-summary').count()).toBe(1);
    const enSummary = await page.locator('.error-summary').textContent();
    expect(enSummary).toContain('Enter your name.');
    expect(enSummary).toContain('Enter an email address or a phone number');
    expect(enSummary).toContain('Write your message.');
    expect((await intakeCounts(server.kluis)).conversations).toBe(1);
    await page.getByLabel('Name').fill('Tom Baker');
    await page.getByLabel('Phone number').fill('+44 20 7946 0958');
    await page.getByLabel('Message', { exact: true }).fill('Please call me about hosting.');
    await click(page, 'Send message');
    expect(new URL(page.url()).pathname).toBe('/en/contact/sent');
    expect(await page.locator('h1').textContent()).toBe('Thank you for your message');
    expect((await intakeCounts(server.kluis)).conversations).toBe(2);

    // --- support signs in, finds it, replies -----------------------------------------------------
    await page.goto(`${server.url}/staff/conversations?lang=nl`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.getByLabel('E-mailadres').fill(support.email);
    await page.getByLabel('Wachtwoord').fill(support.password);
    await Promise.all([
      page.waitForLoadState('load'),
      page.locator('main form button[type="submit"]').first().click(),
    ]);
    expect(new URL(page.url()).pathname).toBe('/staff/conversations');
    const row = page.locator('tbody tr', { hasText: 'Lotte de Graaf' });
    expect(await row.count()).toBe(1);
    expect(await page.locator('tbody tr', { hasText: 'Tom Baker' }).count()).toBe(1);
    await Promise.all([page.waitForLoadState('load'), row.getByRole('link').first().click()]);
    expect(await page.locator('main').textContent()).toContain('Kan ik een afspraak maken? e2e-nl');
    await page.getByLabel('Uw antwoord').fill('Zeker, dinsdag om tien uur schikt het ons.');
    await click(page, 'Antwoord versturen');
    expect(await page.locator('.notice').first().textContent()).toContain('wordt nu verstuurd');
    const conversationUrl = page.url().split('?')[0] ?? '';

    // The worker sends it over SMTP; it arrives in the sink with a Message-ID of ours.
    const worker = createWorker({
      kluis: server.kluis,
      registry: server.kluis.jobRegistry,
      scheduler: false,
    });
    expect((await worker.runOnce()).done).toBe(1);
    const reply = await sink.waitFor((m) => m.to.includes('lotte@example.nl'));
    expect(reply.text).toContain('Zeker, dinsdag om tien uur schikt het ons.');
    // One id (the entry's), no organisation id: the recipient address alone decides the org.
    expect(reply.messageId).toMatch(/^<kluis\.[0-9a-f-]{36}@/);
    expect(reply.messageId).not.toContain(operatorId);
    expect(reply.headers['reply-to']).toContain(CONTACT);

    // --- the visitor answers by email ----------------------------------------------------------
    await sendToKluis(smtp.port, {
      from: 'Lotte de Graaf <lotte@example.nl>',
      to: CONTACT,
      subject: `Re: ${reply.subject}`,
      text: 'Dinsdag om tien uur is prima, tot dan!',
      inReplyTo: reply.messageId,
      references: [String(reply.messageId)],
    });
    expect((await intakeCounts(server.kluis)).conversations).toBe(2);

    await page.goto(conversationUrl);
    const thread = await page.locator('ol.entries').textContent();
    expect(thread).toContain('Kan ik een afspraak maken? e2e-nl');
    expect(thread).toContain('Zeker, dinsdag om tien uur schikt het ons.');
    expect(thread).toContain('Dinsdag om tien uur is prima, tot dan!');
    expect(await page.locator('ol.entries > li').count()).toBe(3);
    expect(watch.problems, watch.problems.join('\n')).toEqual([]);
    await page.close();
  });
});
