import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrg } from '../factories.js';
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

  it('puts each radio of /rights beside its label, with the hint under the label (issue 16)', async () => {
    await createOrg(server.kluis, 'operator', 'Ambrix');
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${server.url}/rights`);
    const boxes = await page.evaluate(() => {
      const doc = (
        globalThis as unknown as {
          document: {
            querySelectorAll(s: string): ArrayLike<{
              querySelector(s: string): {
                getBoundingClientRect(): { left: number; right: number; top: number; bottom: number };
              } | null;
            }>;
          };
        }
      ).document;
      return Array.from(doc.querySelectorAll('.radio')).map((row) => {
        const rect = (sel: string) => {
          const r = row.querySelector(sel)?.getBoundingClientRect();
          return r === undefined ? undefined : { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
        };
        return { input: rect('input'), label: rect('label'), hint: rect('.hint') };
      });
    });
    expect(boxes).toHaveLength(6);
    for (const { input, label, hint } of boxes) {
      if (input === undefined || label === undefined || hint === undefined)
        throw new Error('radio row incomplete');
      expect(input.right).toBeLessThanOrEqual(label.left); // beside, to the left
      expect(input.bottom).toBeGreaterThan(label.top); // on the same line, not above it
      expect(input.right - input.left).toBeLessThan(40); // not stretched to the field's width
      expect(hint.top).toBeGreaterThanOrEqual(label.bottom - 1); // the hint under the label
      expect(Math.abs(hint.left - label.left)).toBeLessThan(2);
    }
    await page.close();
  });
});
