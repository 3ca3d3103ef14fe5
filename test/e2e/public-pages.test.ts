import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type RunningKluis, startKluis, watchPage } from './harness.js';

describe('public pages in a real browser', () => {
  let server: RunningKluis;
  let browser: Browser;
  beforeAll(async () => {
    server = await startKluis();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows the front page in Dutch, switches to English, and keeps the choice per request', async () => {
    const page = await browser.newPage();
    const watch = watchPage(page);
    await page.goto(`${server.url}/`);
    expect(await page.getAttribute('html', 'lang')).toBe('nl');
    await page.getByRole('link', { name: 'English' }).click();
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    // The choice is remembered: a later page without ?lang= stays English.
    await page.goto(`${server.url}/`);
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await page.getByRole('link', { name: 'Nederlands' }).click();
    expect(await page.getAttribute('html', 'lang')).toBe('nl');
    expect(watch.problems, watch.problems.join('\n')).toEqual([]);
    await page.close();
  });

  it('offers a skip link as the first focusable element that moves focus to the main content', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() =>
      (
        globalThis as unknown as {
          document: { activeElement: { getAttribute(n: string): string | null; id: string } | null };
        }
      ).document.activeElement?.getAttribute('href'),
    );
    expect(focused).toBe('#main');
    await page.keyboard.press('Enter');
    const mainFocused = await page.evaluate(
      () =>
        (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document
          .activeElement?.id,
    );
    expect(mainFocused).toBe('main');
    await page.close();
  });
});
