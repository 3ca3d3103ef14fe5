/**
 * Names of uploaded files, stored and sent back (ASVS 5.4.1, 5.4.2). Kluis keeps uploads sealed in
 * the database, never as files, so a name never becomes a path; still every name an uploader
 * chose loses its directory part and control characters before it is stored, and is encoded for
 * the Content-Disposition header when it is downloaded. Attacked through each way a file comes
 * in: a relation's signed agreement (multipart form), a processor agreement (register), and an
 * email attachment (inbound mail).
 */
import { validateHeaderValue } from 'node:http';
import type { FastifyInstance } from 'fastify';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { Org } from '../../src/modules/orgs/index.js';
import type { Actor } from '../../src/shared/actor.js';
import { attachmentDisposition } from '../../src/shared/http/responses.js';
import { createTestKluis, type TestKluis } from '../dialects.js';
import { createOrg, createStaffUser, type LoggedIn, loginAs, staffRequests } from '../factories.js';
import { multipartBody } from '../multipart.js';

/** RFC 8187 ext-value: charset, empty language, then only attr-chars and %XX. */
const extValue = /filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+)$/;

/** The file name a browser takes from the header: `filename*` when present (RFC 6266 §4.3). */
function downloadName(header: string): string {
  const ext = extValue.exec(header)?.[1];
  if (ext === undefined) throw new Error(`no valid filename* in ${header}`);
  return decodeURIComponent(ext);
}

function fallbackName(header: string): string {
  return /^attachment; filename="([^"]*)";/.exec(header)?.[1] ?? '(none)';
}

const hostileNames = [
  '../../etc/passwd',
  '..\\..\\Windows\\System32\\boot.ini',
  "rapport\"; filename*=UTF-8''evil.exe",
  'regel\r\nSet-Cookie: kluis_session=x.pdf',
  "it's (final) *copy*.pdf",
  'Umowa łódź – € 2030.pdf',
  'émoji 📄 and a lone \uD800 surrogate.pdf',
  '%2e%2e%2fetc%2fpasswd',
];

describe('Content-Disposition for any file name (5.4.2)', () => {
  it('is a valid header whose filename* decodes to the name, minus path separators', () => {
    for (const name of hostileNames) {
      const header = attachmentDisposition(name);
      expect(() => validateHeaderValue('content-disposition', header), name).not.toThrow();
      const decoded = downloadName(header);
      expect(decoded, name).not.toMatch(/[/\\\r\n]/);
      // A lone surrogate cannot be encoded: it becomes U+FFFD, everything else is kept.
      expect(decoded, name).toBe(name.replace(/[/\\\r\n]/g, '_').replace('\uD800', '\uFFFD'));
      expect(fallbackName(header), name).toMatch(/^[\x20-\x7e]*$/);
      expect(fallbackName(header), name).not.toMatch(/["\\/]/);
    }
  });

  it('percent-encodes the characters encodeURIComponent leaves alone but RFC 8187 does not allow', () => {
    const header = attachmentDisposition("it's (1)*.pdf");
    expect(header).toContain("filename*=UTF-8''it%27s%20%281%29%2A.pdf");
  });
});

describe('uploaded file names, stored and downloaded (5.4.1, 5.4.2)', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;
  let operator: Org;
  let support: LoggedIn;
  let finance: LoggedIn;
  let officer: LoggedIn;
  let officerActor: Actor;
  const pdf = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n');

  beforeAll(async () => {
    kluis = await createTestKluis();
    app = await buildApp(kluis);
    operator = await createOrg(kluis, 'operator');
    support = await loginAs(app, await createStaffUser(kluis, { orgId: operator.id, roles: ['support'] }));
    finance = await loginAs(app, await createStaffUser(kluis, { orgId: operator.id, roles: ['finance'] }));
    const po = await createStaffUser(kluis, { orgId: operator.id, roles: ['privacy_officer'] });
    officer = await loginAs(app, po);
    officerActor = {
      kind: 'user',
      orgId: operator.id,
      orgKind: operator.kind,
      userId: po.user.id,
      roles: ['privacy_officer'],
    };
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  it('a relation’s signed agreement: the name loses its path and control characters, the download is encoded', async () => {
    const created = await staffRequests(app).post(support, '/staff/relations', {
      kind: 'person',
      formOfAddress: 'mr',
      givenName: 'Jan',
      familyName: 'van der Wiel',
      email: 'jan.upload@example.nl',
      phone: '',
      status: 'active',
      startedAt: '2029-01-01',
      endedAt: '',
    });
    expect(created.statusCode).toBe(303);
    const id = /\/staff\/relations\/([0-9a-f-]{36})/.exec(String(created.headers.location))?.[1] ?? '';
    const body = multipartBody(
      { _csrf: support.csrfToken, title: 'Hostingovereenkomst', version: '1', effectiveFrom: '2030-01-01' },
      { field: 'document', name: '../../../etc/łódź\tcontract.pdf', content: pdf },
    );
    const upload = await app.inject({
      method: 'POST',
      url: `/staff/relations/${id}/agreements`,
      headers: { cookie: support.cookie, 'content-type': body.contentType },
      payload: body.payload,
    });
    expect(upload.statusCode).toBe(303);
    const agreement = await kluis.db
      .selectFrom('relation_agreements')
      .select('id')
      .where('relation_id', '=', id)
      .executeTakeFirstOrThrow();
    const download = await staffRequests(app).get(
      finance,
      `/staff/relations/${id}/agreements/${agreement.id}/document`,
    );
    expect(download.statusCode).toBe(200);
    const header = String(download.headers['content-disposition']);
    expect(downloadName(header)).toBe('łódź_contract.pdf');
    expect(fallbackName(header)).toBe('__d__contract.pdf');
  });

  it('a processor agreement: a name in any script is kept and downloads (it broke the header before)', async () => {
    const client = await createOrg(kluis, 'tenant', 'Łódź Hosting');
    const agreement = await kluis.services.register.createAgreement({
      actor: officerActor,
      values: {
        counterparty: `client:${client.id}`,
        version: '1.0',
        signedOn: '2030-01-15',
        parties: 'Ambrix; Łódź',
      },
      document: { filename: '..\\..\\Umowa powierzenia łódź.pdf', contentType: 'application/pdf', data: pdf },
    });
    expect(agreement.document?.filename).toBe('Umowa powierzenia łódź.pdf');
    const download = await staffRequests(app).get(officer, `/staff/agreements/${agreement.id}/document`);
    expect(download.statusCode).toBe(200);
    expect(downloadName(String(download.headers['content-disposition']))).toBe('Umowa powierzenia łódź.pdf');
    expect(download.rawPayload.equals(pdf)).toBe(true);
  });

  it('an email attachment: directory parts and line breaks are gone from the stored name', async () => {
    const raw = await new MailComposer({
      from: 'bas@example.nl',
      to: 'contact@example.test',
      subject: 'Bijlage',
      text: 'Zie bijlage.',
      attachments: [
        { filename: '..\\..\\evil/../factuur "2030".pdf', content: pdf, contentType: 'application/pdf' },
      ],
    })
      .compile()
      .build();
    const outcome = await kluis.services.inboundMail.receive({ orgId: operator.id, mailbox: 'contact', raw });
    if (outcome.kind !== 'opened') throw new Error(`not opened: ${outcome.kind}`);
    const detail = await kluis.services.inbox.getConversation({
      actor: {
        kind: 'system',
        orgId: operator.id,
        orgKind: operator.kind,
        reason: 'test',
        roles: ['support'],
      },
      id: outcome.conversationId,
    });
    const stored = detail.attachments[0];
    expect(stored?.filename).not.toMatch(/[/\\\r\n]/);
    const download = await staffRequests(app).get(
      support,
      `/staff/conversations/${outcome.conversationId}/attachments/${stored?.id}`,
    );
    expect(download.statusCode).toBe(200);
    const header = String(download.headers['content-disposition']);
    expect(downloadName(header)).toBe(stored?.filename);
    expect(fallbackName(header)).not.toContain('"');
  });
});
