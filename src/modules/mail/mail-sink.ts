/**
 * The development SMTP sink: a real SMTP server (smtp-server) on loopback only that parses
 * what it receives (mailparser) and keeps the last messages in memory, for the dev-only staff
 * page and for tests that read real messages instead of mocking the transport. Never in
 * production: `kluis serve` starts it only outside production and without KLUIS_SMTP_URL.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { type Clock, systemClock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';

export interface SinkMessage {
  readonly id: string;
  /** The From header as text. */
  readonly from: string;
  /** The envelope recipients (RCPT TO). */
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly html: string | undefined;
  /** Header lines by lower-case name (the first of repeated headers), unfolded. */
  readonly headers: Readonly<Record<string, string>>;
  readonly messageId: string | undefined;
  readonly inReplyTo: string | undefined;
  readonly receivedAt: string;
}

export interface MailSinkOptions {
  /** 0 picks a free port; read `port` afterwards. */
  port: number;
  /** Loopback only: 127.0.0.0/8, ::1 or localhost. */
  host?: string;
  /** Messages kept; the oldest go first (default 200). */
  maxMessages?: number;
  /** Largest message accepted (default 10 MiB). */
  maxMessageBytes?: number;
  clock?: Clock;
  logger?: Logger;
  /** Implicit TLS (`smtps://`) with this certificate, as a production relay speaks (deployment tests). */
  tls?: { readonly key: Buffer; readonly cert: Buffer };
}

export interface MailSink {
  readonly host: string;
  /** The bound port. */
  readonly port: number;
  /** `smtp://host:port` (or `smtps://` with TLS), for a mailer. */
  readonly url: string;
  /** Received messages, oldest first. */
  messages(): SinkMessage[];
  /** Resolves with the first message (already received or arriving) that matches. */
  waitFor(predicate: (m: SinkMessage) => boolean, timeoutMs?: number): Promise<SinkMessage>;
  clear(): void;
  close(): Promise<void>;
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** `Key: value` (possibly folded over lines) to `value`. */
function headerValue(line: string): string {
  return line
    .slice(line.indexOf(':') + 1)
    .replace(/\r?\n[ \t]+/g, ' ')
    .trim();
}

export async function createMailSink(options: MailSinkOptions): Promise<MailSink> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) {
    throw new AppError('ERR_VALIDATION', { message: `the mail sink listens on loopback only, not ${host}` });
  }
  const maxMessages = options.maxMessages ?? 200;
  const clock = options.clock ?? systemClock;
  const received: SinkMessage[] = [];
  const events = new EventEmitter();

  const server = new SMTPServer({
    ...(options.tls === undefined
      ? { secure: false }
      : { secure: true, key: options.tls.key, cert: options.tls.cert }),
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    hideSTARTTLS: true,
    size: options.maxMessageBytes ?? 10 * 1024 * 1024,
    banner: 'Kluis development mail sink',
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream, { skipImageLinks: true, skipTextLinks: true })
        .then((parsed) => {
          if (stream.sizeExceeded) {
            callback(Object.assign(new Error('message too large'), { responseCode: 552 }));
            return;
          }
          const headers: Record<string, string> = {};
          for (const { key, line } of parsed.headerLines) {
            if (headers[key] === undefined) headers[key] = headerValue(line);
          }
          const message: SinkMessage = {
            id: randomUUID(),
            from: parsed.from?.text ?? (session.envelope.mailFrom ? session.envelope.mailFrom.address : ''),
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: parsed.html === false ? undefined : parsed.html,
            headers,
            messageId: parsed.messageId,
            inReplyTo: parsed.inReplyTo,
            receivedAt: clock.now().toISOString(),
          };
          received.push(message);
          while (received.length > maxMessages) received.shift();
          events.emit('message', message);
          callback();
        })
        .catch((error: unknown) => {
          options.logger?.warn({ err: error }, 'mail sink could not parse a message');
          callback(Object.assign(new Error('message could not be parsed'), { responseCode: 554 }));
        });
    },
  });

  let listening = false;
  const port = await new Promise<number>((resolve, reject) => {
    // smtp-server re-emits listen and connection errors on itself.
    server.on('error', (error) => {
      if (!listening) reject(error);
      else options.logger?.warn({ code: (error as { code?: unknown }).code }, 'mail sink connection error');
    });
    server.listen(options.port, host, () => {
      listening = true;
      const address = server.server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : options.port);
    });
  });

  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    host,
    port,
    url: `${options.tls === undefined ? 'smtp' : 'smtps'}://${urlHost}:${port}`,
    messages: () => [...received],
    waitFor(predicate, timeoutMs = 5000) {
      const already = received.find(predicate);
      if (already !== undefined) return Promise.resolve(already);
      return new Promise<SinkMessage>((resolve, reject) => {
        const onMessage = (m: SinkMessage) => {
          if (!predicate(m)) return;
          clearTimeout(timer);
          events.off('message', onMessage);
          resolve(m);
        };
        const timer = setTimeout(() => {
          events.off('message', onMessage);
          reject(
            new AppError('ERR_INTERNAL', {
              message: `mail sink: no matching message within ${timeoutMs} ms`,
            }),
          );
        }, timeoutMs);
        events.on('message', onMessage);
      });
    },
    clear() {
      received.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}
