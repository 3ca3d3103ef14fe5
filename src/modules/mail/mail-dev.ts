/**
 * Zero-configuration mail for development: `kluis serve` outside production and without
 * KLUIS_SMTP_URL starts the SMTP sink on loopback, points the mailer at it and adds the
 * `/staff/dev/mail` page. A port in use is reported, not fatal.
 */
import type { Config } from '../../config/env.js';
import type { AnyModule } from '../module.js';
import { createDevMailModule } from './mail-routes.js';
import { createMailSink, type MailSink } from './mail-sink.js';
import { createMailer, type Mailer } from './mailer.js';

export interface DevMail {
  readonly sink: MailSink;
  /** A mailer that sends to the sink (whatever port it bound). */
  readonly mailer: Mailer;
  /** The dev-only page, to add to the app's modules. */
  readonly module: AnyModule;
}

export async function startDevMail(
  config: Config,
  warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<DevMail | undefined> {
  if (config.env === 'production' || config.smtpUrl !== undefined) return undefined;
  let sink: MailSink;
  try {
    sink = await createMailSink({ port: config.devMailSinkPort, host: '127.0.0.1' });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    warn(
      `Development mail sink not started on 127.0.0.1:${config.devMailSinkPort} (${String(code ?? 'error')}): set KLUIS_DEV_MAIL_SINK_PORT to a free port, or KLUIS_SMTP_URL.`,
    );
    return undefined;
  }
  return { sink, mailer: createMailer(config, { url: sink.url }), module: createDevMailModule(sink) };
}
