/**
 * The incident page in a real browser (issue 14): a security officer records an incident, sees
 * the 72-hour clock and the timeline chart, assesses the risk, is refused a late filing without
 * reasons (the message next to the field, the input kept), files with reasons, and finds the
 * prepared notification for the authority. No script, no CSP violation.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixedClock, HOUR } from '../../src/shared/clock.js';
import { createOrg, createStaffUser, type StaffCredentials } from '../factories.js';
import { launchBrowser, type RunningKluis, startKluis, watchPage } from './harness.js';

// The server's clock starts at the browser's now (cookies expire by the browser's clock) and jumps.
const clock = createFixedClock(new Date());
/** `YYYY-MM-DDTHH:MM` (UTC) of the server's clock moved by `ms`. */
const field = (ms: number) => new Date(clock.now().getTime() + ms).toISOString().slice(0, 16);

async function submitForm(page: Page, action: string): Promise<void> {
  await Promise.all([
    page.waitForLoadState('load'),
    page.locator(`form[action$="${action}"] button[type="submit"]`).click(),
  ]);
}

describe('the incident page', () => {
  let server: RunningKluis;
  let browser: Browser;
  let security: StaffCredentials;

  beforeAll(async () => {
    // The session outlives the three days the clock jumps (idle and absolute limits raised).
    server = await startKluis({
      clock,
      env: { KLUIS_SESSION_IDLE_MINUTES: '10000', KLUIS_SESSION_ABSOLUTE_HOURS: '1000' },
    });
    const operator = await createOrg(server.kluis, 'operator', 'Ambrix');
    security = await createStaffUser(server.kluis, { orgId: operator.id, roles: ['security'] });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('records an incident, shows its clock and timeline, and refuses a late filing without reasons', async () => {
    const page = await browser.newPage();
    const watch = watchPage(page, [400]);
    await page.goto(`${server.url}/login`);
    await page.getByLabel('E-mailadres').fill(security.email);
    await page.getByLabel('Wachtwoord').fill(security.password);
    await Promise.all([
      page.waitForLoadState('load'),
      page.locator('main form button[type="submit"]').click(),
    ]);

    await page.goto(`${server.url}/staff/incidents`);
    expect(await page.locator('h1').textContent()).toBe('Incidentenregister');
    await page.getByLabel('Korte omschrijving').fill('Verkeerde bijlage verstuurd');
    await page
      .getByLabel('Aard van de inbreuk')
      .fill('Een bijlage met klantgegevens ging naar de verkeerde klant.');
    await page.getByLabel('Begin van de periode (UTC)').fill(field(-HOUR));
    await page.getByLabel('Einde van de periode (UTC)').fill(field(0));
    await submitForm(page, '/staff/incidents');
    expect(new URL(page.url()).pathname).toMatch(/^\/staff\/incidents\/[0-9a-f-]{36}$/);
    expect(await page.locator('.incident-clock').first().textContent()).toContain('nog 72 uur');
    expect(await page.locator('svg[role="img"] .incident-deadline').count()).toBe(1);
    expect(await page.locator('.incident-timeline li').count()).toBe(1);

    await page.getByLabel('Risico voor betrokkenen').selectOption('risk');
    await page
      .locator('form[action$="/assess"]')
      .getByLabel('Redenen')
      .fill('Eén ontvanger, die heeft verwijderd.');
    await submitForm(page, '/assess');
    expect(await page.locator('.incident-risk').textContent()).toBe('Risico');

    // Three days and an hour later: the filing needs the reasons for the delay.
    clock.advance(73 * HOUR);
    await page.reload();
    expect(await page.locator('.incident-clock').first().textContent()).toContain('uur over de termijn');
    await page.getByLabel('Kenmerk van de melding').fill('AP-2026-0042');
    await submitForm(page, '/file');
    expect(await page.locator('.error-summary').textContent()).toContain('na 72 uur');
    expect(await page.getByLabel('Kenmerk van de melding').inputValue()).toBe('AP-2026-0042');
    await page
      .getByLabel('Redenen voor de vertraging')
      .fill('De ontvanger was pas na drie dagen bereikbaar.');
    await submitForm(page, '/file');
    expect(await page.locator('main').textContent()).toContain('AP-2026-0042');
    expect(await page.locator('.incident-timeline li').count()).toBe(3);

    await page.getByRole('link', { name: 'Voorbereide melding (afdrukbaar)' }).click();
    await page.waitForLoadState('load');
    expect(await page.locator('h1').textContent()).toBe('Melding datalek aan de Autoriteit Persoonsgegevens');
    expect(await page.locator('body').textContent()).toContain(
      'De ontvanger was pas na drie dagen bereikbaar.',
    );
    expect(watch.problems).toEqual([]);
  });
});
