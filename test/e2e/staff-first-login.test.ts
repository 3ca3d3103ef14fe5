/**
 * The newcomer's first sign-in, in a real browser: the demo admin printed by `npm start` signs in
 * with the one-time password, must choose a new password, must set up two-step verification
 * (operator staff), sees the dashboard, signs out, and signs in again with password + TOTP.
 */
import * as OTPAuth from 'otpauth';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ADMIN_EMAIL, seedDemo } from '../../src/cli/demo-seed.js';
import { createFixedClock } from '../../src/shared/clock.js';
import { launchBrowser, type RunningKluis, startKluis, watchPage } from './harness.js';

const NEW_PASSWORD = 'Fjord-lantaarn-97-kwispel';

// The server's clock is fixed and moved by the test, so second factors are deterministic.
const clock = createFixedClock(new Date());

function totpNow(secret: string): string {
  return new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30 }).generate({
    timestamp: clock.now().getTime(),
  });
}

async function submit(page: Page): Promise<void> {
  await Promise.all([
    page.waitForLoadState('load'),
    page.locator('main form button[type="submit"]').first().click(),
  ]);
}

describe('first sign-in of the demo admin', () => {
  let server: RunningKluis;
  let browser: Browser;
  let oneTimePassword: string;

  beforeAll(async () => {
    server = await startKluis({ clock, env: { KLUIS_REQUIRE_TOTP_OPERATOR: 'true' } });
    const banner = await seedDemo(server.kluis);
    const line = banner.find((l) => l.includes('One-time password:'));
    const match = /One-time password: (\S+)/.exec(line ?? '');
    if (match?.[1] === undefined) throw new Error(`no one-time password in the banner: ${banner.join('\n')}`);
    oneTimePassword = match[1];
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('changes the one-time password, enrols TOTP, reaches the dashboard and signs in again', async () => {
    const page = await browser.newPage();
    const watch = watchPage(page, [401]);

    // Staff pages send a visitor to the login page.
    await page.goto(`${server.url}/staff`);
    expect(new URL(page.url()).pathname).toBe('/login');

    // A wrong password first: the error summary names the problem, the email is kept.
    await page.getByLabel('E-mailadres').fill(DEMO_ADMIN_EMAIL);
    await page.getByLabel('Wachtwoord').fill('not-the-password');
    await submit(page);
    await expect.poll(() => page.locator('.error-summary').count()).toBe(1);
    expect(await page.getByLabel('E-mailadres').inputValue()).toBe(DEMO_ADMIN_EMAIL);

    await page.getByLabel('Wachtwoord').fill(oneTimePassword);
    await submit(page);
    expect(new URL(page.url()).pathname).toBe('/staff/account/password');

    // Nothing else is reachable before the password is changed.
    await page.goto(`${server.url}/staff`);
    expect(new URL(page.url()).pathname).toBe('/staff/account/password');

    await page.locator('#f-newPassword').fill(NEW_PASSWORD);
    await page.locator('#f-confirmPassword').fill(NEW_PASSWORD);
    await submit(page);
    expect(new URL(page.url()).pathname).toBe('/staff/account/totp');

    // The QR code is inline SVG; the secret is also shown as text for manual entry.
    expect(await page.locator('main svg').count()).toBeGreaterThan(0);
    const secret = ((await page.locator('#totp-secret').textContent()) ?? '').replace(/\s+/g, '');
    expect(secret).toMatch(/^[A-Z2-7]+=*$/);
    await page.locator('#f-code').fill(totpNow(secret));
    await submit(page);

    // Recovery codes are shown once; then on to the dashboard.
    expect(await page.locator('main').textContent()).toMatch(/herstelcode/i);
    await page.goto(`${server.url}/staff`);
    expect(new URL(page.url()).pathname).toBe('/staff');
    expect(await page.locator('h1').textContent()).toBe('Overzicht');

    await page.getByRole('button', { name: 'Uitloggen' }).click();
    await page.waitForLoadState('load');
    await page.goto(`${server.url}/staff`);
    expect(new URL(page.url()).pathname).toBe('/login');

    // Second sign-in: the new password and a second factor.
    await page.getByLabel('E-mailadres').fill(DEMO_ADMIN_EMAIL);
    await page.getByLabel('Wachtwoord').fill(NEW_PASSWORD);
    await submit(page);
    expect(new URL(page.url()).pathname).toBe('/login/totp');
    // The code used at enrolment is spent (replay refused); a minute later there is a fresh one.
    await page.locator('#f-code').fill(totpNow(secret));
    await submit(page);
    await expect.poll(() => page.locator('.error-summary').count()).toBe(1);
    clock.advance(60_000);
    await page.locator('#f-code').fill(totpNow(secret));
    await submit(page);
    await page.goto(`${server.url}/staff`);
    expect(new URL(page.url()).pathname).toBe('/staff');
    expect(watch.problems, watch.problems.join('\n')).toEqual([]);
    await page.close();
  });
});
