/**
 * Outgoing mail over real SMTP (nodemailer). In development and tests the transport points at
 * the local SMTP sink (mail-sink.ts) on loopback; production sets KLUIS_SMTP_URL.
 * Message bodies are never logged.
 */
import nodemailer from 'nodemailer';
import type { Config } from '../../config/env.js';
import { AppError, isAppError } from '../../shared/errors.js';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Threading headers for replies. */
  inReplyTo?: string;
  references?: string[];
  /** Extra non-personal headers, e.g. X-Kluis-Template. */
  headers?: Record<string, string>;
  /** A fixed Message-ID (`<id@host>`), so a retried send is recognisable as the same message. */
  messageId?: string;
  /** The sender's display name (a tenant's name), with the configured From address. */
  fromName?: string;
  /** Where answers go (a tenant's own contact address). */
  replyTo?: string;
}

/** The address part of a From setting (`Name <a@b>` or `a@b`). */
function addressOf(from: string): string {
  return /<([^<>\s]+)>\s*$/.exec(from)?.[1] ?? from.trim();
}

export interface SentMail {
  messageId: string;
}

export interface Mailer {
  /** The SMTP URL mail goes to (its host is checked against the egress registry, P14). */
  readonly relay: string;
  send(mail: OutgoingMail): Promise<SentMail>;
  close(): void;
}

/**
 * A mailer that asks `check` before every send whether its relay is a registered recipient (P14);
 * `check` throws (and records the refusal) when it is not, and nothing is sent.
 */
export function guardMailer(inner: Mailer, check: (relay: string) => Promise<unknown>): Mailer {
  return {
    relay: inner.relay,
    async send(mail) {
      await check(inner.relay);
      return inner.send(mail);
    },
    close: () => inner.close(),
  };
}

export function smtpUrlOf(config: Config): string {
  return config.smtpUrl ?? `smtp://127.0.0.1:${config.devMailSinkPort}`;
}

export interface MailerOptions {
  /** Overrides the SMTP URL from the configuration (e.g. a sink on a port picked at start). */
  url?: string;
}

/**
 * The TLS failure behind a failed send, if it was one (ASVS 16.3.4): the relay's certificate was
 * not trusted, did not match its name, or the handshake failed. Returns a short code (OpenSSL's,
 * e.g. `DEPTH_ZERO_SELF_SIGNED_CERT`, or `TLS_HANDSHAKE`), never the relay's message text.
 */
export function relayTlsFailure(error: unknown): string | undefined {
  const cause = isAppError(error) ? error.cause : error;
  if (typeof cause !== 'object' || cause === null) return undefined;
  const { originalCode, code, message } = cause as {
    originalCode?: unknown;
    code?: unknown;
    message?: unknown;
  };
  const text = typeof message === 'string' ? message : '';
  for (const candidate of [originalCode, code]) {
    if (typeof candidate !== 'string') continue;
    if (/CERT|SELF_SIGNED|ERR_TLS|ERR_SSL|HOSTNAME|ALTNAME|UNABLE_TO_(GET|VERIFY)/.test(candidate))
      return candidate;
  }
  return /certificate|self[- ]signed|handshake|ssl routines|wrong version number|tls/i.test(text)
    ? 'TLS_HANDSHAKE'
    : undefined;
}

export function createMailer(config: Config, options: MailerOptions = {}): Mailer {
  const relay = options.url ?? smtpUrlOf(config);
  // Bounded timeouts: a hanging server must fail the send well within a job's lease.
  const transport = nodemailer.createTransport({
    url: relay,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
  });
  return {
    relay,
    async send(mail) {
      try {
        const info = await transport.sendMail({
          from:
            mail.fromName === undefined
              ? config.mailFrom
              : { name: mail.fromName, address: addressOf(config.mailFrom) },
          ...(mail.replyTo === undefined ? {} : { replyTo: mail.replyTo }),
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          ...(mail.html === undefined ? {} : { html: mail.html }),
          ...(mail.inReplyTo === undefined ? {} : { inReplyTo: mail.inReplyTo }),
          ...(mail.references === undefined ? {} : { references: mail.references }),
          ...(mail.headers === undefined ? {} : { headers: mail.headers }),
          ...(mail.messageId === undefined ? {} : { messageId: mail.messageId }),
        });
        return { messageId: String(info.messageId) };
      } catch (cause) {
        throw new AppError('ERR_MAIL_SEND_FAILED', { message: 'SMTP delivery failed', cause });
      }
    },
    close() {
      transport.close();
    },
  };
}
