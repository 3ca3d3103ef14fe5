/**
 * The inbound SMTP listener (P1): receives mail for the operator's contact and privacy addresses
 * (KLUIS_CONTACT_ADDRESS, KLUIS_PRIVACY_ADDRESS) and for the addresses the operator assigned to
 * each active tenant (`kluis tenant address add`: on the tenant's own domain, or
 * `contact+<slug>@` / `privacy+<slug>@` on the operator's), and hands each message to
 * intake-mail.ts once per organisation it was addressed to. The recipient address alone decides
 * the organisation (never a header the sender wrote). Other recipients are refused at RCPT (550), messages over the size
 * limit at MAIL FROM (SIZE) or after DATA (552). A message is acknowledged (250) only once it is
 * stored — as a conversation entry or in quarantine — otherwise the answer is 451 and the
 * sending server tries again, so nothing is lost. Usually a mail server (MX) in front relays to
 * it; with TLS configured it offers STARTTLS. Message content is never logged.
 */

import { readFileSync } from 'node:fs';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { Kluis } from '../../kluis.js';
import { createOrgsRepository } from '../orgs/index.js';
import type { InboundOutcome, Mailbox } from './intake-mail.js';

export interface InboundSmtpOptions {
  /** 0 picks a free port; read `port` afterwards. */
  port: number;
  host: string;
  maxBytes: number;
  contactAddress: string;
  privacyAddress: string;
  /** Called after each message is taken in (tests wait on it). */
  onReceived?: (outcome: InboundOutcome) => void;
}

export interface InboundSmtp {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

/** What the listener needs: the inbound mail service (built once per Kluis) and the operator's org. */
export type InboundSmtpDeps = Pick<Kluis, 'db' | 'logger' | 'config' | 'services'>;

export async function startInboundSmtp(
  kluis: InboundSmtpDeps,
  options: InboundSmtpOptions,
): Promise<InboundSmtp> {
  const inbound = kluis.services.inboundMail;
  const orgs = createOrgsRepository(kluis.db);
  const log = kluis.logger.child({ component: 'inbound-smtp' });
  const operatorBoxes = new Map<string, Mailbox>([
    [options.contactAddress.toLowerCase(), 'contact'],
    [options.privacyAddress.toLowerCase(), 'privacy'],
  ]);
  /** The org and mailbox of a recipient: the operator's addresses, or an active tenant's. */
  const recipient = async (address: string): Promise<{ orgId: string; mailbox: Mailbox } | undefined> => {
    const lower = address.trim().toLowerCase();
    const own = operatorBoxes.get(lower);
    if (own !== undefined) {
      const operator = await orgs.findOperator();
      if (operator === undefined) throw new Error('no operator organisation yet');
      return { orgId: operator.id, mailbox: own };
    }
    const assigned = await orgs.findAddress(lower);
    if (assigned === undefined) return undefined;
    const org = await orgs.findById(assigned.org_id);
    return org?.status === 'active' ? { orgId: org.id, mailbox: assigned.mailbox } : undefined;
  };
  /** The orgs a message goes to, each with its mailbox (privacy when any privacy address was named). */
  const deliveries = async (addresses: readonly string[]): Promise<Map<string, Mailbox>> => {
    const out = new Map<string, Mailbox>();
    for (const address of addresses) {
      const found = await recipient(address);
      if (found === undefined) continue;
      if (out.get(found.orgId) !== 'privacy') out.set(found.orgId, found.mailbox);
    }
    return out;
  };
  // STARTTLS with the inbound listener's own certificate (KLUIS_INBOUND_TLS_*), not the web one:
  // the transport fact `inboundSmtp: 'starttls'` the statement relies on is made from the same.
  const tls = kluis.config.intake.tls;

  const serverOptions: SMTPServerOptions = {
    secure: false,
    authOptional: true,
    disabledCommands: tls === undefined ? ['AUTH', 'STARTTLS'] : ['AUTH'],
    hideSTARTTLS: tls === undefined,
    ...(tls === undefined ? {} : { key: readFileSync(tls.keyFile), cert: readFileSync(tls.certFile) }),
    size: options.maxBytes,
    banner: 'Kluis intake',
    logger: false,
    onRcptTo(address, _session, callback) {
      recipient(address.address).then(
        (found) => callback(found === undefined ? smtpError(550, '5.1.1 No such mailbox here') : undefined),
        () => callback(smtpError(451, '4.3.0 Try again later')),
      );
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      let total = 0;
      stream.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total <= options.maxBytes) chunks.push(chunk);
      });
      stream.on('error', () => callback(smtpError(451, '4.3.0 Try again later')));
      stream.on('end', () => {
        if (stream.sizeExceeded || total > options.maxBytes) {
          callback(smtpError(552, '5.3.4 Message exceeds the size limit'));
          return;
        }
        void (async () => {
          const raw = Buffer.concat(chunks);
          const mailFrom = session.envelope.mailFrom;
          const envelopeFrom = mailFrom === false ? undefined : mailFrom.address;
          const targets = await deliveries(session.envelope.rcptTo.map((r) => r.address));
          if (targets.size === 0) throw new Error('no recipient of this message is served here any more');
          for (const [orgId, mailbox] of targets) {
            const outcome = await inbound.receive({ orgId, mailbox, raw, envelopeFrom });
            log.info({ outcome: outcome.kind, mailbox, size: total }, 'inbound mail taken in');
            options.onReceived?.(outcome);
          }
        })().then(
          () => callback(),
          (error: unknown) => {
            log.error({ code: (error as { code?: unknown }).code ?? 'unknown' }, 'inbound mail not stored');
            callback(smtpError(451, '4.3.0 Temporary failure, try again later'));
          },
        );
      });
    },
  };
  const server = new SMTPServer(serverOptions);

  let listening = false;
  const port = await new Promise<number>((resolve, reject) => {
    server.on('error', (error) => {
      if (!listening) reject(error);
      else log.warn({ code: (error as { code?: unknown }).code }, 'inbound SMTP connection error');
    });
    server.listen(options.port, options.host, () => {
      listening = true;
      const address = server.server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : options.port);
    });
  });

  return {
    host: options.host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}

/**
 * For `kluis serve`: starts the listener when configured (development: 127.0.0.1:2526 by
 * default; production only with KLUIS_INBOUND_SMTP_PORT). A port in use is reported, not fatal.
 */
export async function startConfiguredInboundSmtp(
  kluis: InboundSmtpDeps,
  warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<{ smtp: InboundSmtp; banner: string } | undefined> {
  const c = kluis.config.intake;
  if (c.inboundSmtpPort === undefined || c.contactAddress === undefined || c.privacyAddress === undefined) {
    return undefined;
  }
  try {
    const smtp = await startInboundSmtp(kluis, {
      port: c.inboundSmtpPort,
      host: c.inboundSmtpHost,
      maxBytes: c.inboundMaxBytes,
      contactAddress: c.contactAddress,
      privacyAddress: c.privacyAddress,
    });
    return {
      smtp,
      banner: `  Inbound:   SMTP on ${c.inboundSmtpHost}:${smtp.port}${c.tls === undefined ? '' : ' with STARTTLS'} for ${c.contactAddress} and ${c.privacyAddress}`,
    };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    warn(
      `Inbound SMTP listener not started on ${c.inboundSmtpHost}:${c.inboundSmtpPort} (${String(code ?? 'error')}): set KLUIS_INBOUND_SMTP_PORT to a free port.`,
    );
    return undefined;
  }
}
