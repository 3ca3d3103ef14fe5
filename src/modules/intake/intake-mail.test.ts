import type { FastifyInstance } from 'fastify';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Browser } from '../../../test/browser.js';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg, createStaffUser, type StaffCredentials } from '../../../test/factories.js';
import { findPlaintext, intakeCounts } from '../../../test/intake-fixtures.js';
import { buildApp } from '../../app.js';
import type { Actor } from '../../shared/actor.js';
import { createFixedClock } from '../../shared/clock.js';
import { createWorker } from '../jobs/jobs-worker.js';
import { createMailSink, type MailSink } from '../mail/mail-sink.js';
import type { Org } from '../orgs/orgs-repository.js';
import type { InboundOutcome } from './intake-mail.js';
import { type InboundSmtp, startInboundSmtp } from './intake-smtp.js';

/** The CLI or a job acting for support (system actors carry the roles their reason needs). */
function supportSystem(org: Pick<Org, 'id' | 'kind'>): Actor {
  return { kind: 'system', orgId: org.id, orgKind: org.kind, reason: 'test', roles: ['support'] };
}

const CONTACT = 'contact@ambrix.example';
const PRIVACY = 'privacy@ambrix.example';
const MAX_BYTES = 200_000;

// The first bytes of a real PDF and of a Windows executable.
const pdf = Buffer.concat([
  Buffer.from('%PDF-1.4\n'),
  Buffer.from('factuur 2030-17 pdf-marker-93bd\n%%EOF\n'),
]);
const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200, 1)]);

describe('inbound email and replies over real SMTP (P1, P3)', () => {
  const clock = createFixedClock('2030-07-01T10:00:00.000Z');
  let sink: MailSink;
  let kluis: TestKluis;
  let app: FastifyInstance;
  let smtp: InboundSmtp;
  let operator: Org;
  let support: StaffCredentials;
  const outcomes: InboundOutcome[] = [];

  beforeAll(async () => {
    sink = await createMailSink({ port: 0, host: '127.0.0.1' });
    kluis = await createTestKluis({
      clock,
      env: { KLUIS_SMTP_URL: sink.url, KLUIS_CONTACT_ADDRESS: CONTACT, KLUIS_PRIVACY_ADDRESS: PRIVACY },
    });
    app = await buildApp(kluis);
    operator = await createOrg(kluis, 'operator', 'Ambrix');
    support = await createStaffUser(kluis, {
      orgId: operator.id,
      roles: ['support'],
      displayName: 'Sam Support',
    });
    smtp = await startInboundSmtp(kluis, {
      port: 0,
      host: '127.0.0.1',
      maxBytes: MAX_BYTES,
      contactAddress: CONTACT,
      privacyAddress: PRIVACY,
      onReceived: (o) => outcomes.push(o),
    });
  });
  afterAll(async () => {
    await smtp.close();
    await app.close();
    await kluis.destroy();
    await sink.close();
  });
  beforeEach(() => {
    sink.clear();
    outcomes.length = 0;
  });

  const inbox = () => kluis.services.inbox;
  const transport = () =>
    nodemailer.createTransport({ host: '127.0.0.1', port: smtp.port, secure: false, ignoreTLS: true });

  async function send(mail: SendMailOptions) {
    const t = transport();
    try {
      return await t.sendMail(mail);
    } finally {
      t.close();
    }
  }

  function lastOutcome(): InboundOutcome {
    const o = outcomes.at(-1);
    if (o === undefined) throw new Error('nothing received');
    return o;
  }

  function conversationIdOf(o: InboundOutcome): string {
    if (o.kind !== 'opened' && o.kind !== 'threaded') throw new Error(`not a conversation: ${o.kind}`);
    return o.conversationId;
  }

  async function deliverReplies(): Promise<number> {
    return (await createWorker({ kluis, registry: kluis.jobRegistry, scheduler: false }).runOnce()).done;
  }

  it('opens a conversation from a mail, the support reply arrives by SMTP and the answer threads back', async () => {
    const first = await send({
      from: '"Petra de Vries" <petra@example.nl>',
      to: CONTACT,
      subject: 'Vraag over mijn abonnement',
      text: 'Goedemiddag, kunt u mij helpen? mail-marker-5e1a',
      messageId: '<first-5e1a@mail.example.nl>',
    });
    expect(first.accepted).toEqual([CONTACT]);
    const opened = lastOutcome();
    expect(opened.kind).toBe('opened');
    const id = conversationIdOf(opened);

    const detail = await inbox().getConversation({ actor: supportSystem(operator), id });
    expect(detail).toMatchObject({
      channel: 'email',
      status: 'open',
      name: 'Petra de Vries',
      email: 'petra@example.nl',
      subjectLine: 'Vraag over mijn abonnement',
      possibleRightsRequest: false,
    });
    expect(detail.entries.map((e) => [e.kind, e.body, e.messageId])).toEqual([
      ['inbound', 'Goedemiddag, kunt u mij helpen? mail-marker-5e1a', '<first-5e1a@mail.example.nl>'],
    ]);

    // Support replies from the conversation page; the worker sends it over real SMTP.
    const b = new Browser(app);
    await b.login(support.email, support.password);
    await b.get(`/staff/conversations/${id}`);
    const replied = await b.post(`/staff/conversations/${id}/reply`, {
      reply: 'Natuurlijk, wat is uw vraag?',
    });
    expect(replied.statusCode).toBe(303);
    expect(await deliverReplies()).toBe(1);
    const mail = await sink.waitFor((m) => m.to.includes('petra@example.nl'));
    expect(mail.subject).toBe('Re: Vraag over mijn abonnement');
    expect(mail.text).not.toContain('Autoriteit Persoonsgegevens');
    expect(mail.text).toContain('Natuurlijk, wat is uw vraag?');
    expect(mail.text).toContain('Petra de Vries');
    // Replies thread back, so the mail invites one (issue 16: it used to say one cannot reply).
    expect(mail.text).toContain('U kunt op dit bericht antwoorden');
    expect(mail.text).not.toContain('niet op antwoorden');
    expect(mail.inReplyTo).toBe('<first-5e1a@mail.example.nl>');
    expect(mail.headers.references).toContain('<first-5e1a@mail.example.nl>');
    expect(mail.headers['reply-to']).toContain(CONTACT);
    const afterReply = await inbox().getConversation({ actor: supportSystem(operator), id });
    const outbound = afterReply.entries.find((e) => e.kind === 'outbound');
    expect(outbound).toMatchObject({ delivery: 'sent' });
    expect(mail.messageId).toBe(outbound?.messageId);
    expect(afterReply.status).toBe('waiting');

    // The visitor answers from their mail program: In-Reply-To names our reply.
    await send({
      from: 'petra@example.nl',
      to: CONTACT,
      subject: 'Re: Vraag over mijn abonnement',
      text: 'Mijn abonnement loopt af. antwoord-marker-77aa',
      inReplyTo: mail.messageId,
      references: [String(mail.messageId)],
    });
    expect(lastOutcome()).toMatchObject({ kind: 'threaded', conversationId: id });
    const threaded = await inbox().getConversation({ actor: supportSystem(operator), id });
    expect(threaded.entries.map((e) => e.kind)).toEqual(['inbound', 'outbound', 'inbound']);
    expect(threaded.entries.at(-1)?.body).toBe('Mijn abonnement loopt af. antwoord-marker-77aa');
    expect(threaded.status).toBe('open');

    // Sending the reply job again sends nothing twice.
    expect(await deliverReplies()).toBe(0);
    // P3: neither message is in clear anywhere in the database.
    expect(await findPlaintext(kluis, 'mail-marker-5e1a')).toEqual([]);
    expect(await findPlaintext(kluis, 'antwoord-marker-77aa')).toEqual([]);
    expect(await findPlaintext(kluis, 'Natuurlijk, wat is uw vraag?')).toEqual([]);
  });

  it("does not thread a stranger's mail into someone else's conversation, even with the right In-Reply-To", async () => {
    await send({
      from: 'anna@example.nl',
      to: CONTACT,
      subject: 'Hulp',
      text: 'Vraag',
      messageId: '<anna-1@example.nl>',
    });
    const annas = conversationIdOf(lastOutcome());
    await send({
      from: 'mallory@example.com',
      to: CONTACT,
      subject: 'Re: Hulp',
      text: 'Ingevoegd?',
      inReplyTo: '<anna-1@example.nl>',
    });
    const stranger = lastOutcome();
    expect(stranger.kind).toBe('opened');
    expect(conversationIdOf(stranger)).not.toBe(annas);
    const anna = await inbox().getConversation({ actor: supportSystem(operator), id: annas });
    expect(anna.entries).toHaveLength(1);
  });

  it('does not thread a mail from another address of the same person into a conversation, even with the right In-Reply-To', async () => {
    // Bob and Anna gave the same phone number: one data subject, two addresses.
    const submit = (name: string, email: string) =>
      kluis.services.intake.submitContactRequest({
        actor: { kind: 'anonymous', orgId: operator.id, ref: 'test' },
        channel: 'web',
        request: { name, email, phone: '+31612345678', message: `Vraag van ${name}` },
        locale: 'nl',
      });
    const bob = await submit('Bob', 'bob.shared@example.nl');
    const anna = await submit('Anna', 'anna.shared@example.nl');
    const subjects = await kluis.db
      .selectFrom('conversations')
      .select('subject_id')
      .where('id', 'in', [bob.conversationId, anna.conversationId])
      .execute();
    expect(new Set(subjects.map((x) => x.subject_id)).size).toBe(1);
    // Anna's conversation carries the Message-ID of a reply we sent her.
    await kluis.db
      .updateTable('conversations')
      .set({ thread_key: '<reply-to-anna@kluis.test>' })
      .where('id', '=', anna.conversationId)
      .execute();
    await send({
      from: 'bob.shared@example.nl',
      to: CONTACT,
      subject: 'Re: uw vraag',
      text: 'Ingevoegd bij Anna?',
      inReplyTo: '<reply-to-anna@kluis.test>',
    });
    const outcome = lastOutcome();
    expect(outcome.kind).toBe('opened');
    expect(conversationIdOf(outcome)).not.toBe(anna.conversationId);
    const annas = await inbox().getConversation({ actor: supportSystem(operator), id: anna.conversationId });
    expect(annas.entries).toHaveLength(1);
  });

  it('quarantines a bounce without Auto-Submitted: null sender, a delivery report, or the mailer-daemon', async () => {
    const before = await intakeCounts(kluis);
    // 1. The envelope's null sender (MAIL FROM:<>), headers of an ordinary mail.
    await send({
      envelope: { from: '', to: [CONTACT] },
      raw: 'From: Mail System <noreply@mx.example.net>\r\nTo: contact@localhost\r\nSubject: Undelivered Mail\r\n\r\nThis is the mail system.\r\n',
    });
    expect(lastOutcome()).toMatchObject({ kind: 'quarantined', reason: 'bounce' });
    // 2. A delivery status notification from an ordinary-looking sender.
    await send({
      envelope: { from: 'relay@mx.example.net', to: [CONTACT] },
      raw: [
        'From: relay@mx.example.net',
        'To: contact@localhost',
        'Subject: Delivery Status Notification (Failure)',
        'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
        '',
        '--b1',
        'Content-Type: text/plain',
        '',
        'Delivery to the following recipient failed permanently.',
        '--b1',
        'Content-Type: message/delivery-status',
        '',
        'Reporting-MTA: dns; mx.example.net',
        '',
        'Final-Recipient: rfc822; someone@example.org',
        'Action: failed',
        'Status: 5.1.1',
        '--b1--',
        '',
      ].join('\r\n'),
    });
    expect(lastOutcome()).toMatchObject({ kind: 'quarantined', reason: 'bounce' });
    // 3. The mailer-daemon, with a plain text body.
    await send({
      from: 'MAILER-DAEMON@mx.example.net',
      to: CONTACT,
      subject: 'Returned mail: see transcript for details',
      text: 'The original message was received but could not be delivered.',
    });
    expect(lastOutcome()).toMatchObject({ kind: 'quarantined', reason: 'bounce' });
    expect(await intakeCounts(kluis)).toMatchObject({
      conversations: before.conversations,
      quarantine: before.quarantine + 3,
    });
  });

  it('strips NUL, ESC and bidi overrides from a mail before staff see it', async () => {
    await send({
      from: '"Eve\u202e" <eve@example.nl>',
      to: CONTACT,
      subject: 'Factuur \u202egpj.exe',
      text: 'Hallo\u0000 \u001b[31mrood\u001b[0m \u2066x\u2069',
    });
    const id = conversationIdOf(lastOutcome());
    const c = await inbox().getConversation({ actor: supportSystem(operator), id });
    expect(c.subjectLine).toBe('Factuur gpj.exe');
    expect(c.entries[0]?.body).toBe('Hallo [31mrood[0m x');
    expect(c.name).toBe('Eve');
  });

  it("decides the org by the recipient address only: a tenant's answer threads at its address, a forged one opens nothing there", async () => {
    const tenant = await createOrg(kluis, 'tenant', 'Bakkerij Jansen');
    const tenantContact = `contact+${tenant.slug}@ambrix.example`;
    await kluis.services.orgs.addAddress(tenant.id, tenantContact, 'contact', clock.now().toISOString());
    const { conversationId } = await kluis.services.intake.submitContactRequest({
      actor: { kind: 'anonymous', orgId: tenant.id, ref: 'test' },
      channel: 'web',
      request: {
        name: 'Wim',
        email: 'wim@example.nl',
        phone: undefined,
        message: 'Bezorgt u ook op zondag?',
      },
      locale: 'nl',
    });
    await inbox().reply({
      actor: supportSystem(tenant),
      id: conversationId,
      body: 'Nee, alleen doordeweeks.',
    });
    expect(await deliverReplies()).toBe(1);
    const reply = await sink.waitFor((m) => m.to.includes('wim@example.nl'));
    expect(reply.subject).toBe('Uw bericht aan Bakkerij Jansen');
    // The Message-ID names no organisation; the mail names the tenant as sender and replies go to its address.
    expect(reply.messageId).not.toContain(tenant.id);
    expect(reply.from).toContain('Bakkerij Jansen');
    expect(reply.headers['reply-to']).toContain(tenantContact);
    const tenantRows = async () =>
      kluis.db.selectFrom('conversations').select('id').where('org_id', '=', tenant.id).execute();

    // A forged answer to the operator's address with the tenant's Message-ID (and the tenant's
    // org id in a Kluis-looking id) opens a conversation in the operator, nothing in the tenant.
    await send({
      from: 'wim@example.nl',
      to: CONTACT,
      subject: `Re: ${reply.subject}`,
      text: 'Vervalst',
      inReplyTo: reply.messageId,
      references: [`<kluis.${tenant.id}.${conversationId}@ambrix.example>`],
    });
    const forged = lastOutcome();
    expect(forged.kind).toBe('opened');
    const forgedRow = await kluis.db
      .selectFrom('conversations')
      .select('org_id')
      .where('id', '=', conversationIdOf(forged))
      .executeTakeFirstOrThrow();
    expect(forgedRow.org_id).toBe(operator.id);
    expect(await tenantRows()).toHaveLength(1);
    const tenantConversation = await inbox().getConversation({
      actor: supportSystem(tenant),
      id: conversationId,
    });
    expect(tenantConversation.entries).toHaveLength(2);

    // The real answer, to the tenant's own address, threads into the tenant's conversation.
    await send({
      from: 'wim@example.nl',
      to: tenantContact,
      subject: `Re: ${reply.subject}`,
      text: 'Jammer!',
      inReplyTo: reply.messageId,
    });
    expect(lastOutcome()).toMatchObject({ kind: 'threaded', conversationId });
    expect(await tenantRows()).toHaveLength(1);
  });

  it("opens a tenant's mail in the tenant's inbox and refuses the address of a suspended tenant", async () => {
    const tenant = await createOrg(kluis, 'tenant', 'Fietsen Fenna');
    const address = 'privacy@fietsen-fenna.example';
    await kluis.services.orgs.addAddress(tenant.id, address, 'privacy', clock.now().toISOString());
    await send({ from: 'piet@example.nl', to: address, subject: 'Inzage', text: 'Wat weet u van mij?' });
    const row = await kluis.db
      .selectFrom('conversations')
      .select(['org_id', 'possible_rights_request'])
      .where('id', '=', conversationIdOf(lastOutcome()))
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ org_id: tenant.id, possible_rights_request: 1 });
    await kluis.services.orgs.setStatus(tenant.id, 'suspended');
    await expect(
      send({ from: 'piet@example.nl', to: address, subject: 'Nog eens', text: 'Hallo?' }),
    ).rejects.toThrow(/550|No such mailbox/);
    await expect(
      send({ from: 'piet@example.nl', to: 'contact+nobody@ambrix.example', subject: 'X', text: 'Y' }),
    ).rejects.toThrow(/550|No such mailbox/);
  });

  it('flags mail to the privacy address as a possible rights request', async () => {
    await send({
      from: 'ruud@example.nl',
      to: PRIVACY,
      subject: 'Inzageverzoek',
      text: 'Ik wil mijn gegevens inzien.',
    });
    const id = conversationIdOf(lastOutcome());
    const row = await kluis.db
      .selectFrom('conversations')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ channel: 'email', possible_rights_request: 1 });
    const list = await inbox().listConversations({
      actor: supportSystem(operator),
      filters: { rightsOnly: true, sort: 'updated', dir: 'desc', page: 1 },
    });
    expect(list.items.map((c) => c.id)).toContain(id);
    expect(list.items.every((c) => c.possibleRightsRequest)).toBe(true);

    // A reply from the inbox to mail sent to the privacy address names the complaint route (AP).
    const b = new Browser(app);
    await b.login(support.email, support.password);
    await b.get(`/staff/conversations/${id}`);
    expect(
      (await b.post(`/staff/conversations/${id}/reply`, { reply: 'Wij nemen uw verzoek in behandeling.' }))
        .statusCode,
    ).toBe(303);
    expect(await deliverReplies()).toBe(1);
    const mail = await sink.waitFor((m) => m.to.includes('ruud@example.nl'));
    expect(mail.text).toContain('Wij nemen uw verzoek in behandeling.');
    expect(mail.text).toContain('klacht indienen bij de Autoriteit Persoonsgegevens');
    expect(mail.text).toContain('https://autoriteitpersoonsgegevens.nl');
  });

  it('quarantines malformed and automatic mail with its raw bytes, never losing it', async () => {
    const before = await intakeCounts(kluis);
    const raw =
      'Subject: geen afzender\r\nX-Probe: quarantine-marker-c0de\r\n\r\nDit bericht heeft geen From-regel.\r\n';
    const info = await send({ envelope: { from: 'bounce@example.net', to: [CONTACT] }, raw });
    expect(info.accepted).toEqual([CONTACT]);
    const q = lastOutcome();
    expect(q).toMatchObject({ kind: 'quarantined', reason: 'no_sender' });

    await send({
      from: 'afwezig@example.nl',
      to: CONTACT,
      subject: 'Automatisch antwoord: afwezig',
      text: 'Ik ben afwezig tot maandag.',
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    expect(lastOutcome()).toMatchObject({ kind: 'quarantined', reason: 'auto_submitted' });

    const after = await intakeCounts(kluis);
    expect(after).toMatchObject({ conversations: before.conversations, quarantine: before.quarantine + 2 });
    const items = await inbox().listQuarantine({ actor: supportSystem(operator) });
    expect(items.map((i) => i.reason)).toEqual(expect.arrayContaining(['no_sender', 'auto_submitted']));
    // Sealed with the org key at rest, and given back byte for byte (support can download it).
    expect(await findPlaintext(kluis, 'quarantine-marker-c0de')).toEqual([]);
    if (q.kind !== 'quarantined') throw new Error('expected quarantine');
    const back = await inbox().readQuarantined({ actor: supportSystem(operator), id: q.id });
    expect(back.toString('utf8')).toContain('X-Probe: quarantine-marker-c0de');
    expect(back.toString('utf8')).toContain('Dit bericht heeft geen From-regel.');
    const b = new Browser(app);
    await b.login(support.email, support.password);
    const page = await b.get('/staff/conversations/quarantine');
    expect(page.body).toContain('Geen geldige afzender');
    const download = await b.get(`/staff/conversations/quarantine/${q.id}/raw`);
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toContain('message/rfc822');
    expect(download.body).toContain('quarantine-marker-c0de');
  });

  it('refuses an oversized message at SMTP level and unknown recipients, storing nothing', async () => {
    const before = await intakeCounts(kluis);
    await expect(
      send({ from: 'groot@example.nl', to: CONTACT, subject: 'Groot', text: 'x'.repeat(MAX_BYTES + 10_000) }),
    ).rejects.toMatchObject({ responseCode: 552 });
    await expect(
      send({ from: 'iemand@example.nl', to: 'ceo@ambrix.example', subject: 'Hoi', text: 'Hallo' }),
    ).rejects.toMatchObject({ responseCode: 550 });
    expect(await intakeCounts(kluis)).toEqual(before);
  });

  it('keeps allowed attachments sealed with the subject key and refuses the rest, noting type and size', async () => {
    await send({
      from: 'bas@example.nl',
      to: CONTACT,
      subject: 'Factuur',
      text: 'Zie bijlage.',
      attachments: [
        { filename: 'factuur.pdf', content: pdf, contentType: 'application/pdf' },
        { filename: 'programma.exe', content: exe, contentType: 'application/octet-stream' },
        { filename: 'nep.pdf', content: exe, contentType: 'application/pdf' },
      ],
    });
    const id = conversationIdOf(lastOutcome());
    const detail = await inbox().getConversation({ actor: supportSystem(operator), id });
    expect(detail.attachments.map((a) => [a.filename, a.contentType, a.size])).toEqual([
      ['factuur.pdf', 'application/pdf', pdf.length],
    ]);
    expect(detail.entries[0]?.refused).toEqual([
      { contentType: 'application/octet-stream', size: exe.length },
      { contentType: 'application/pdf', size: exe.length },
    ]);
    expect(await findPlaintext(kluis, 'pdf-marker-93bd')).toEqual([]);

    const b = new Browser(app);
    await b.login(support.email, support.password);
    const attachmentId = detail.attachments[0]?.id ?? '';
    const file = await b.get(`/staff/conversations/${id}/attachments/${attachmentId}`);
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-type']).toBe('application/pdf');
    expect(file.headers['content-disposition']).toContain('attachment; filename="factuur.pdf"');
    expect(file.rawPayload.equals(pdf)).toBe(true);
    const read = await kluis.db
      .selectFrom('audit_log')
      .select(['purpose', 'target_id'])
      .where('action', '=', 'intake.attachment.read')
      .execute();
    expect(read).toContainEqual({ purpose: 'handle_requests', target_id: attachmentId });

    // Deleting the conversation takes its entries and attachments with it.
    const deleted = await b.post(`/staff/conversations/${id}/delete`);
    expect(deleted.statusCode).toBe(303);
    expect(
      await kluis.db
        .selectFrom('conversation_attachments')
        .select('id')
        .where('conversation_id', '=', id)
        .execute(),
    ).toEqual([]);
    expect(
      await kluis.db
        .selectFrom('conversation_entries')
        .select('id')
        .where('conversation_id', '=', id)
        .execute(),
    ).toEqual([]);
    expect((await b.get(`/staff/conversations/${id}`)).statusCode).toBe(404);
  });

  it('takes the same message only once when a server delivers it twice', async () => {
    const mail = {
      from: 'twee@example.nl',
      to: CONTACT,
      subject: 'Dubbel',
      text: 'Eén keer',
      messageId: '<dup-1@example.nl>',
    };
    await send(mail);
    const before = await intakeCounts(kluis);
    await send(mail);
    expect(lastOutcome()).toEqual({ kind: 'duplicate' });
    expect(await intakeCounts(kluis)).toEqual(before);
  });
});
