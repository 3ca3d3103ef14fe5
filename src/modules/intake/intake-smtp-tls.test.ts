/**
 * The inbound listener offers STARTTLS with its own certificate (KLUIS_INBOUND_TLS_CERT_FILE /
 * KEY_FILE), made for this test by a throwaway authority: a sender that insists on TLS and trusts
 * only that authority delivers; without the inbound certificate the listener offers no STARTTLS,
 * and such a sender gives up before sending anything.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCertificates, type TestCertificates } from '../../../test/deploy/certs.js';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg } from '../../../test/factories.js';
import type { InboundOutcome } from './intake-mail.js';
import { startInboundSmtp } from './intake-smtp.js';

const CONTACT = 'contact@ambrix.example';
const PRIVACY = 'privacy@ambrix.example';

async function deliver(port: number, ca: Buffer): Promise<void> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    requireTLS: true,
    tls: { ca: [ca], servername: 'localhost' },
  });
  try {
    await transport.sendMail({
      from: 'petra@example.nl',
      to: CONTACT,
      subject: 'Over TLS',
      text: 'Versleuteld verstuurd.',
    });
  } finally {
    transport.close();
  }
}

describe('inbound SMTP STARTTLS (P11)', () => {
  let dir: string;
  let certs: TestCertificates;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kluis-inbound-tls-'));
    certs = makeCertificates(dir, ['localhost', '127.0.0.1']);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function listener(env: Record<string, string>) {
    const kluis: TestKluis = await createTestKluis({
      env: { KLUIS_CONTACT_ADDRESS: CONTACT, KLUIS_PRIVACY_ADDRESS: PRIVACY, ...env },
    });
    await createOrg(kluis, 'operator', 'Ambrix');
    const outcomes: InboundOutcome[] = [];
    const smtp = await startInboundSmtp(kluis, {
      port: 0,
      host: '127.0.0.1',
      maxBytes: 100_000,
      contactAddress: CONTACT,
      privacyAddress: PRIVACY,
      onReceived: (o) => outcomes.push(o),
    });
    return {
      kluis,
      smtp,
      outcomes,
      close: async () => {
        await smtp.close();
        await kluis.destroy();
      },
    };
  }

  it('takes mail in over STARTTLS with the inbound certificate, and reports the transport as such', async () => {
    const l = await listener({
      KLUIS_INBOUND_TLS_CERT_FILE: certs.certFile,
      KLUIS_INBOUND_TLS_KEY_FILE: certs.keyFile,
      KLUIS_INBOUND_SMTP_PORT: '2599',
      KLUIS_INBOUND_SMTP_HOST: '0.0.0.0',
    });
    try {
      expect(l.kluis.config.transport.inboundSmtp).toBe('starttls');
      await deliver(l.smtp.port, certs.ca);
      expect(l.outcomes.map((o) => o.kind)).toEqual(['opened']);
    } finally {
      await l.close();
    }
  });

  it('offers no STARTTLS without the inbound certificate: a sender requiring TLS sends nothing', async () => {
    const l = await listener({});
    try {
      await expect(deliver(l.smtp.port, certs.ca)).rejects.toThrow(/STARTTLS/i);
      expect(l.outcomes).toEqual([]);
    } finally {
      await l.close();
    }
  });
});
