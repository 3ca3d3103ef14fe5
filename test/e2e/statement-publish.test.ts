/**
 * P14 and P18 in a real browser: the demo data has published version 1 of Ambrix's statement; the
 * privacy officer adds a sub-processor (with its agreement as a PDF) and publishes version 2.
 * `/privacy` shows version 2, the archive lists versions 1 and 2, the diff shows the added
 * sub-processor (as `<ins>` with "toegevoegd:" for screen readers), and every tenant's owner got
 * the advance notice (Art. 28(2)) with the link to object, delivered by the job worker over real
 * SMTP to a sink. The notice period is 0 days here, so the sub-processor starts the same day.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../src/cli/demo-seed.js';
import { createWorker } from '../../src/modules/jobs/index.js';
import { createMailSink, type MailSink } from '../../src/modules/mail/mail-sink.js';
import { createFixedClock } from '../../src/shared/clock.js';
import { createOrg, createStaffUser, type StaffCredentials } from '../factories.js';
import { launchBrowser, type RunningKluis, startKluis, watchPage } from './harness.js';

const clock = createFixedClock('2030-05-06T08:00:00.000Z');

async function submit(page: Page, name?: string): Promise<void> {
  const button =
    name === undefined
      ? page.locator('main form button[type="submit"]').first()
      : page.getByRole('button', { name });
  await Promise.all([page.waitForLoadState('load'), button.click()]);
}

describe('publishing a new version of the privacy statement', () => {
  let sink: MailSink;
  let server: RunningKluis;
  let browser: Browser;
  let officer: StaffCredentials;
  let tenantAdmin: StaffCredentials;
  let tenantSupport: StaffCredentials;

  beforeAll(async () => {
    sink = await createMailSink({ port: 0, host: '127.0.0.1' });
    server = await startKluis({
      clock,
      env: { KLUIS_SMTP_URL: sink.url, KLUIS_SUBPROCESSOR_NOTICE_DAYS: '0' },
    });
    await seedDemo(server.kluis);
    const orgs = await server.kluis.db
      .selectFrom('orgs')
      .selectAll()
      .where('kind', '=', 'operator')
      .execute();
    const operatorId = orgs[0]?.id ?? '';
    officer = await createStaffUser(server.kluis, {
      orgId: operatorId,
      roles: ['privacy_officer'],
      displayName: 'Fenna Functionaris',
    });
    const tenant = await createOrg(server.kluis, 'tenant', 'Bakkerij Jansen');
    tenantAdmin = await createStaffUser(server.kluis, {
      orgId: tenant.id,
      roles: ['owner'],
      displayName: 'Jan Jansen',
    });
    tenantSupport = await createStaffUser(server.kluis, { orgId: tenant.id, roles: ['support'] });
    sink.clear();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await sink?.close();
  });

  it('adds a sub-processor, publishes version 2, shows the archive and the difference, and tells the tenants', async () => {
    const page = await browser.newPage();
    const watch = watchPage(page);
    const url = server.url;

    // Version 1 is there from the demo data.
    await page.goto(`${url}/privacy`);
    expect(await page.locator('h1').textContent()).toBe('Privacyverklaring Ambrix');
    expect(await page.locator('.statement-meta').textContent()).toContain('Versie 1');

    await page.goto(`${url}/login`);
    await page.getByLabel('E-mailadres').fill(officer.email);
    await page.getByLabel('Wachtwoord').fill(officer.password);
    if ((await page.locator('#f-org').count()) > 0) await page.locator('#f-org').fill('ambrix');
    await submit(page);
    await page.goto(`${url}/staff`);
    expect(new URL(page.url()).pathname).toBe('/staff');
    expect(await page.locator('[data-statement-status]').getAttribute('data-statement-status')).toBe(
      'up-to-date',
    );

    // Add the sub-processor, with its processor agreement as a PDF.
    await page.goto(`${url}/staff/subprocessors/new`);
    await page.getByLabel('Naam', { exact: true }).fill('Datakluis Cloud B.V.');
    await page.getByLabel('Dienst', { exact: true }).fill('Opslag van back-ups');
    await page.getByLabel('Locatie', { exact: true }).fill('Eindhoven');
    await page.getByLabel('Land', { exact: true }).selectOption('NL');
    await page.getByLabel('Contactgegevens', { exact: true }).check();
    await page.getByLabel('Inhoud van berichten', { exact: true }).check();
    await page.getByLabel('Versie van de overeenkomst').fill('1.0');
    await page.getByLabel('Getekend op').fill('2030-04-01');
    await page.getByLabel('Document (PDF, optioneel)').setInputFiles({
      name: 'verwerkersovereenkomst-datakluis.pdf',
      mimeType: 'application/pdf',
      buffer: Buffer.from('%PDF-1.4\n% Datakluis verwerkersovereenkomst\n%%EOF\n', 'latin1'),
    });
    await page.getByLabel('Status', { exact: true }).selectOption('proposed');
    await submit(page, 'Opslaan');
    expect(new URL(page.url()).pathname).toBe('/staff/subprocessors');
    expect(await page.locator('main table').textContent()).toContain('Datakluis Cloud B.V.');

    // Announce it to the clients, then start it when the notice period (0 days here) has run.
    await Promise.all([
      page.waitForLoadState('load'),
      page.locator('main table').getByRole('link', { name: 'Datakluis Cloud B.V.' }).click(),
    ]);
    const editPath = new URL(page.url()).pathname;
    await submit(page, 'Aankondigen aan klanten');
    expect(await page.locator('[role="status"]').textContent()).toContain('De subverwerker is aangekondigd.');
    await page.goto(`${url}${editPath}`);
    await page.getByLabel('Status', { exact: true }).selectOption('active');
    await submit(page, 'Opslaan');
    expect(new URL(page.url()).pathname).toBe('/staff/subprocessors');
    expect(await page.locator('main table').textContent()).toContain('actief');

    // The dashboard now says the statement is out of date.
    await page.goto(`${url}/staff`);
    expect(await page.locator('[data-statement-status]').textContent()).toContain(
      'Privacyverklaring verouderd',
    );

    // Preview, then publish version 2.
    await page.goto(`${url}/staff/statement/preview?show=nl`);
    expect(await page.locator('article.statement').textContent()).toContain('Datakluis Cloud B.V.');
    await page.goto(`${url}/staff/statement`);
    await page
      .getByLabel('Samenvatting van de wijzigingen (Nederlands)')
      .fill('Datakluis Cloud toegevoegd als subverwerker.');
    await page
      .getByLabel('Samenvatting van de wijzigingen (Engels)')
      .fill('Added Datakluis Cloud as a sub-processor.');
    await submit(page, 'Versie 2 publiceren');
    expect(await page.locator('[role="status"]').first().textContent()).toContain(
      'Versie 2 is gepubliceerd.',
    );

    // The stable URL shows version 2; the archive lists both; the diff shows what was added.
    await page.goto(`${url}/privacy`);
    expect(await page.locator('.statement-meta').textContent()).toContain('Versie 2');
    expect(await page.locator('article.statement').textContent()).toContain('Datakluis Cloud B.V.');
    await page.goto(`${url}/en/privacy`);
    expect(await page.locator('h1').textContent()).toBe('Privacy statement Ambrix');
    expect(await page.locator('.statement-meta').textContent()).toContain(
      'Added Datakluis Cloud as a sub-processor.',
    );

    await page.goto(`${url}/privacy/versions`);
    const archive = page.locator('main table');
    expect(await archive.getByRole('link', { name: 'Versie 1 lezen' }).count()).toBe(1);
    expect(await archive.getByRole('link', { name: 'Versie 2 lezen' }).count()).toBe(1);
    await Promise.all([
      page.waitForLoadState('load'),
      archive.getByRole('link', { name: 'Verschil met versie 1' }).click(),
    ]);
    expect(new URL(page.url()).pathname).toBe('/privacy/diff');
    const added = page.locator('ins.diff-added');
    expect(await added.count()).toBeGreaterThan(0);
    expect(await added.allInnerTexts()).toEqual(
      expect.arrayContaining([expect.stringMatching(/toegevoegd:[\s\S]*Datakluis Cloud B\.V\./)]),
    );
    expect((await page.locator('del.diff-removed').allInnerTexts()).join('\n')).not.toContain('Datakluis');

    // Version 1 is still there, unchanged, at its permanent URL.
    await page.goto(`${url}/privacy/v/1`);
    expect(await page.locator('article.statement').textContent()).not.toContain('Datakluis Cloud B.V.');

    // The tenant's owner (not its support staff) gets the announcement, over SMTP.
    // The worker as `kluis serve` builds it; the announcements are `mail.send` jobs.
    await createWorker({ kluis: server.kluis, registry: server.kluis.jobRegistry, scheduler: false }).drain();
    const failedMail = await server.kluis.db
      .selectFrom('jobs')
      .select(['last_error'])
      .where('type', '=', 'mail.send')
      .where('status', '!=', 'done')
      .execute();
    expect(failedMail).toEqual([]);
    const mail = await sink.waitFor((m) => m.to.includes(tenantAdmin.email), 10_000);
    expect(mail.subject).toBe(
      'Aankondiging nieuwe subverwerker bij Ambrix: Datakluis Cloud B.V. (vanaf 2030-05-06)',
    );
    expect(mail.text).toContain('Jan Jansen');
    expect(mail.text).toContain(`${server.kluis.config.publicOrigin}/staff/subprocessor-notices/`);
    expect(sink.messages().flatMap((m) => m.to)).not.toContain(tenantSupport.email);

    expect(watch.problems, watch.problems.join('\n')).toEqual([]);
    await page.close();
  });
});
