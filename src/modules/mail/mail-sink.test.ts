import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testConfig } from '../../../test/dialects.js';
import type { Config } from '../../config/env.js';
import { createFixedClock } from '../../shared/clock.js';
import { createMailSink, type MailSink } from './mail-sink.js';
import { createMailer, type Mailer } from './mailer.js';

describe('the development mail sink', () => {
  let dir: string;
  let config: Config;
  let sink: MailSink;
  let mailer: Mailer;
  const clock = createFixedClock('2030-01-02T03:04:05.000Z');

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kluis-sink-'));
    config = testConfig(dir, { KLUIS_MAIL_FROM: 'Kluis <kluis@kluis.example.nl>' });
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    sink = await createMailSink({ port: 0, host: '127.0.0.1', maxMessages: 3, clock });
    mailer = createMailer(config, { url: sink.url });
  });
  afterEach(async () => {
    mailer.close();
    await sink.close();
  });

  it('receives a message from the Mailer over real SMTP on an ephemeral loopback port', async () => {
    expect(sink.port).toBeGreaterThan(0);
    expect(sink.url).toBe(`smtp://127.0.0.1:${sink.port}`);
    const sent = await mailer.send({
      to: 'ontvanger@example.nl',
      subject: 'Testbericht één',
      text: 'Hallo,\n\nDit is een test.',
      html: '<p>Hallo</p>',
      inReplyTo: '<earlier@example.nl>',
      references: ['<earlier@example.nl>'],
      headers: { 'X-Kluis-Template': 'notification' },
      messageId: '<fixed-id@kluis.example.nl>',
    });
    expect(sent.messageId).toBe('<fixed-id@kluis.example.nl>');

    const got = await sink.waitFor((m) => m.messageId === '<fixed-id@kluis.example.nl>');
    expect(got).toMatchObject({
      from: '"Kluis" <kluis@kluis.example.nl>',
      to: ['ontvanger@example.nl'],
      subject: 'Testbericht één',
      text: 'Hallo,\n\nDit is een test.',
      html: '<p>Hallo</p>',
      inReplyTo: '<earlier@example.nl>',
      receivedAt: '2030-01-02T03:04:05.000Z',
    });
    expect(got.headers['x-kluis-template']).toBe('notification');
    expect(got.headers['message-id']).toBe('<fixed-id@kluis.example.nl>');
    expect(got.headers['content-type']).toMatch(/^multipart\/alternative/);
  });

  it('waits for a message that has not arrived yet, keeps a bounded list and can be cleared', async () => {
    const waiting = sink.waitFor((m) => m.subject === 'third');
    for (const subject of ['first', 'second', 'third', 'fourth']) {
      await mailer.send({ to: 'a@example.nl', subject, text: subject });
    }
    expect((await waiting).text.trim()).toBe('third');
    expect(sink.messages().map((m) => m.subject)).toEqual(['second', 'third', 'fourth']);
    sink.clear();
    expect(sink.messages()).toEqual([]);
  });

  it('refuses to listen on anything but loopback', async () => {
    await expect(createMailSink({ port: 0, host: '0.0.0.0' })).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
    });
    await expect(createMailSink({ port: 0, host: '192.168.1.10' })).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
    });
  });

  it('reports a port in use instead of taking it over', async () => {
    await expect(createMailSink({ port: sink.port, host: '127.0.0.1' })).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
  });
});
