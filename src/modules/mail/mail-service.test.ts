import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { makeCertificates } from '../../../test/deploy/certs.js';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createFixedClock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import { createJobRegistry, createWorker } from '../jobs/index.js';
import { createJobsRepository } from '../jobs/jobs-repository.js';
import { enqueueMail, registerMailJobs } from './mail-service.js';
import { createMailSink, type MailSink } from './mail-sink.js';
import { relayTlsFailure } from './mailer.js';

const START = '2030-05-06T07:00:00.000Z';

/** A loopback port on which nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 1;
}

function mailRegistry(kluis: TestKluis) {
  const registry = createJobRegistry();
  registerMailJobs(registry, kluis);
  return registry;
}

describe('mail.send jobs', () => {
  let kluis: TestKluis | undefined;
  let sink: MailSink | undefined;
  const clock = createFixedClock(START);

  afterEach(async () => {
    await kluis?.destroy();
    await sink?.close();
    kluis = undefined;
    sink = undefined;
  });

  async function withSink() {
    sink = await createMailSink({ port: 0, host: '127.0.0.1' });
    kluis = await createTestKluis({ clock, env: { KLUIS_SMTP_URL: sink.url } });
    return { sink, kluis };
  }

  it('delivers a queued password reset through the worker over SMTP, with no address or link stored in clear', async () => {
    const { sink, kluis } = await withSink();
    const orgId = randomUUID();
    const resetUrl = `https://kluis.example.nl/reset/${randomUUID()}`;
    const { id } = await kluis.db.transaction().execute((trx) =>
      enqueueMail(trx, clock, kluis.keyring, {
        orgId,
        to: 'sanne.de.vries@example.nl',
        template: 'password_reset',
        locale: 'nl',
        vars: { recipientName: 'Sanne', resetUrl, expiresInMinutes: 30 },
      }),
    );
    const queued = await createJobsRepository(kluis.db).findById(id);
    const stored = JSON.stringify(queued);
    expect(queued).toMatchObject({ type: 'mail.send', org_id: orgId, status: 'queued' });
    expect(stored).not.toContain('sanne');
    expect(stored).not.toContain('example.nl');
    expect(stored).not.toContain(resetUrl);
    expect(JSON.parse(queued?.payload ?? '{}')).toMatchObject({ template: 'password_reset', locale: 'nl' });

    const worker = createWorker({ kluis, registry: mailRegistry(kluis) });
    expect(await worker.runOnce()).toMatchObject({ claimed: 1, done: 1 });

    const mail = await sink.waitFor((m) => m.headers['x-kluis-job'] === id);
    expect(mail.to).toEqual(['sanne.de.vries@example.nl']);
    expect(mail.subject).toBe('Nieuw wachtwoord instellen');
    expect(mail.text).toContain(resetUrl);
    expect(mail.text).toContain('Beste Sanne,');
    expect(mail.html).toContain(`href="${resetUrl}"`);
    expect(mail.messageId).toBe(`<job-${id}@localhost>`);
    expect(mail.headers['x-kluis-template']).toBe('password_reset');
    // Sent: the sealed envelope is gone from the queue.
    expect((await createJobsRepository(kluis.db).findById(id))?.payload).toBe('{}');
  });

  it('retries a send to an SMTP server that is down with backoff, then fails with a non-personal error', async () => {
    const port = await closedPort();
    kluis = await createTestKluis({ clock, env: { KLUIS_SMTP_URL: `smtp://127.0.0.1:${port}` } });
    const k = kluis;
    const { id } = await enqueueMail(k.db, clock, k.keyring, {
      orgId: randomUUID(),
      to: 'piet@example.nl',
      template: 'notification',
      locale: 'en',
      vars: { subject: 'Hello', body: 'A notification.' },
      maxAttempts: 3,
    });
    const worker = createWorker({
      kluis: k,
      registry: mailRegistry(k),
      backoffBaseMs: 30_000,
      random: () => 0,
    });
    const repo = createJobsRepository(k.db);

    expect(await worker.runOnce()).toMatchObject({ claimed: 1, retried: 1 });
    let row = await repo.findById(id);
    expect(row).toMatchObject({ status: 'queued', attempts: 1, run_at: '2030-05-06T07:00:30.000Z' });
    expect(row?.last_error).toBe('ERR_MAIL_SEND_FAILED: SMTP delivery failed (ESOCKET)');

    clock.advance(30_000);
    expect(await worker.runOnce()).toMatchObject({ claimed: 1, retried: 1 });
    row = await repo.findById(id);
    expect(row).toMatchObject({ status: 'queued', attempts: 2, run_at: '2030-05-06T07:01:30.000Z' });

    clock.advance(60_000);
    expect(await worker.runOnce()).toMatchObject({ claimed: 1, failed: 1 });
    row = await repo.findById(id);
    expect(row).toMatchObject({ status: 'failed', attempts: 3 });
    expect(row?.last_error).toBe('ERR_MAIL_SEND_FAILED: SMTP delivery failed (ESOCKET)');
    expect(JSON.stringify(row)).not.toContain('piet');
  });

  it('logs a relay whose certificate is not trusted as a TLS failure of its own, sending nothing (ASVS 16.3.4)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kluis-relay-tls-'));
    const lines: string[] = [];
    try {
      // A relay with a certificate from an authority this process does not trust.
      const certs = makeCertificates(dir, ['127.0.0.1']);
      sink = await createMailSink({ port: 0, tls: { key: certs.key, cert: certs.cert } });
      const logger = createLogger(
        'info',
        new Writable({
          write(chunk, _enc, done) {
            lines.push(String(chunk));
            done();
          },
        }),
      );
      kluis = await createTestKluis({
        clock,
        logger,
        env: { KLUIS_SMTP_URL: `smtps://127.0.0.1:${sink.port}` },
      });
      const k = kluis;
      await enqueueMail(k.db, clock, k.keyring, {
        orgId: randomUUID(),
        to: 'piet@example.nl',
        template: 'notification',
        locale: 'en',
        vars: { subject: 'Hello', body: 'A notification.' },
      });
      const worker = createWorker({ kluis: k, registry: mailRegistry(k), random: () => 0 });
      expect(await worker.runOnce()).toMatchObject({ claimed: 1, retried: 1 });
      const tls = lines
        .map((l) => JSON.parse(l) as { level: number; code?: string; tls?: string; msg?: string })
        .filter((l) => l.code === 'ERR_MAIL_RELAY_TLS');
      expect(tls).toHaveLength(1);
      expect(tls[0]?.level).toBe(50);
      expect(tls[0]?.tls).toMatch(/CERT|SELF_SIGNED|UNABLE_TO/);
      expect(lines.join('')).not.toContain('piet');
      expect(sink.messages).toHaveLength(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does not call a relay that is down a TLS failure', () => {
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ESOCKET' });
    expect(relayTlsFailure(new AppError('ERR_MAIL_SEND_FAILED', { cause: down }))).toBeUndefined();
    const refused = Object.assign(new Error('self-signed certificate'), {
      code: 'ESOCKET',
      originalCode: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
    expect(relayTlsFailure(new AppError('ERR_MAIL_SEND_FAILED', { cause: refused }))).toBe(
      'DEPTH_ZERO_SELF_SIGNED_CERT',
    );
  });

  it('does not send a mail whose data subject was erased before it went out', async () => {
    const { sink, kluis } = await withSink();
    const orgId = randomUUID();
    const subjectId = randomUUID();
    const { id } = await enqueueMail(kluis.db, clock, kluis.keyring, {
      orgId,
      subjectId,
      to: 'erased@example.nl',
      template: 'notification',
      locale: 'nl',
      vars: { subject: 'Uw verzoek', body: 'Ontvangen.' },
    });
    await kluis.keyring.destroySubjectKey(orgId, subjectId);
    expect(await createWorker({ kluis, registry: mailRegistry(kluis) }).runOnce()).toMatchObject({
      failed: 1,
    });
    expect((await createJobsRepository(kluis.db).findById(id))?.last_error).toMatch(
      /^ERR_CRYPTO_KEY_DESTROYED/,
    );
    expect(sink.messages()).toEqual([]);
  });

  it('refuses an envelope moved to another job (bound to its job id) without sending', async () => {
    const { sink, kluis } = await withSink();
    const orgId = randomUUID();
    const input = {
      orgId,
      template: 'notification' as const,
      locale: 'nl' as const,
      vars: { subject: 'S', body: 'B' },
      runAt: new Date('2031-01-01T00:00:00.000Z'),
    };
    const a = await enqueueMail(kluis.db, clock, kluis.keyring, { ...input, to: 'a@example.nl' });
    const b = await enqueueMail(kluis.db, clock, kluis.keyring, { ...input, to: 'b@example.nl' });
    const repo = createJobsRepository(kluis.db);
    const payloadOfA = (await repo.findById(a.id))?.payload ?? '';
    await kluis.db
      .updateTable('jobs')
      .set({ payload: payloadOfA, run_at: START })
      .where('id', '=', b.id)
      .execute();
    expect(await createWorker({ kluis, registry: mailRegistry(kluis) }).runOnce()).toMatchObject({
      claimed: 1,
      failed: 1,
    });
    expect((await repo.findById(b.id))?.last_error).toMatch(/^ERR_CRYPTO_DECRYPT_FAILED/);
    expect(sink.messages()).toEqual([]);
  });

  it('refuses a recipient that is not an address and variables that do not fit the template', async () => {
    const { kluis } = await withSink();
    const base = { orgId: randomUUID(), locale: 'nl' as const };
    await expect(
      enqueueMail(kluis.db, clock, kluis.keyring, {
        ...base,
        to: 'not an address',
        template: 'notification',
        vars: { subject: 'S', body: 'B' },
      }),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    await expect(
      enqueueMail(kluis.db, clock, kluis.keyring, {
        ...base,
        to: 'ok@example.nl',
        template: 'password_reset',
        vars: { resetUrl: 'javascript:alert(1)', expiresInMinutes: 5 },
      }),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    expect(await kluis.db.selectFrom('jobs').select('id').execute()).toEqual([]);
  });
});
