/**
 * Browser-test harness: a real Kluis server on an ephemeral loopback port, on a fresh test
 * database, driven by Debian's Chromium through playwright-core.
 */
import { existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { type Browser, chromium, type Page } from 'playwright-core';
import { buildApp } from '../../src/app.js';
import { createTestKluis, type TestKluis, type TestKluisOptions } from '../dialects.js';

export const chromiumPath = process.env.KLUIS_CHROMIUM ?? '/usr/bin/chromium';

export interface RunningKluis {
  kluis: TestKluis;
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export async function startKluis(options: TestKluisOptions = {}): Promise<RunningKluis> {
  const kluis = await createTestKluis(options);
  const app = await buildApp(kluis);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  return {
    kluis,
    app,
    url: `http://127.0.0.1:${address.port}`,
    async close() {
      await app.close();
      await kluis.destroy();
    },
  };
}

/** Chromium with the harness's flags; `extraArgs` adds some (e.g. `--host-resolver-rules=…`). */
export async function launchBrowser(extraArgs: readonly string[] = []): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `Chromium not found at ${chromiumPath}: apt-get install -y chromium (or set KLUIS_CHROMIUM)`,
    );
  }
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...extraArgs,
    ],
  });
}

/**
 * Collects CSP violations, script errors and failed loads so a test can assert there were none.
 * `expectedStatuses` names HTTP statuses the journey provokes on purpose (a refused login is 401).
 */
export function watchPage(page: Page, expectedStatuses: readonly number[] = []): { problems: string[] } {
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const status = /status of (\d{3})/.exec(msg.text())?.[1];
    if (status !== undefined && expectedStatuses.includes(Number(status))) return;
    problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  return { problems };
}

/** Sends one mail over plain SMTP to Kluis's inbound listener on loopback, as a mail server would. */
export async function sendToKluis(port: number, mail: Mail.Options): Promise<void> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  try {
    await transport.sendMail(mail);
  } finally {
    transport.close();
  }
}
