/**
 * The rights workflow over HTTP with a real SMTP sink and the real job worker: the portal, the
 * confirmation link (P16), disclosure rules, the staff queue with deadlines, pauses, extensions,
 * reminders, lapses, the privacy mailbox, and fulfilment (export, erasure, consent withdrawal)
 * with replies that name the complaint route (P17).
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Browser } from '../../../test/browser.js';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import {
  createOrg,
  createStaffUser,
  formPost,
  type LoggedIn,
  loginAs,
  type StaffCredentials,
} from '../../../test/factories.js';
import { seedRelation } from '../../../test/retention-fixtures.js';
import { buildApp } from '../../app.js';
import { createFixedClock, DAY } from '../../shared/clock.js';
import { createWorker } from '../jobs/jobs-worker.js';
import { createMailSink, type MailSink, type SinkMessage } from '../mail/mail-sink.js';
import type { Org } from '../orgs/orgs-repository.js';
import { EXPORT_DAYS } from './rights-fulfil.js';
import { CONFIRM_DAYS, tokenHash } from './rights-records.js';

describe('the rights workflow', () => {
  const clock = createFixedClock('2026-01-12T09:00:00.000Z'); // a Monday
  let sink: MailSink;
  let kluis: TestKluis;
  let app: FastifyInstance;
  let org: Org;
  let other: Org;
  let officer: LoggedIn;
  let officerCredentials: StaffCredentials;
  let otherOfficer: LoggedIn;
  let support: LoggedIn;
  const known = 'anna.devries@example.nl';

  beforeAll(async () => {
    sink = await createMailSink({ port: 0, host: '127.0.0.1' });
    kluis = await createTestKluis({
      clock,
      env: { KLUIS_SMTP_URL: sink.url, KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: '100000' },
    });
    app = await buildApp(kluis);
    org = await createOrg(kluis, 'tenant', 'Bakkerij Jansen');
    other = await createOrg(kluis, 'tenant', 'Elders BV');
    await kluis.db.updateTable('orgs').set({ slug: 'jansen' }).where('id', '=', org.id).execute();
    officerCredentials = await createStaffUser(kluis, { orgId: org.id, roles: ['privacy_officer'] });
    otherOfficer = await loginAs(
      app,
      await createStaffUser(kluis, { orgId: other.id, roles: ['privacy_officer'] }),
    );
    support = await loginAs(
      app,
      await createStaffUser(kluis, { orgId: org.id, roles: ['support', 'admin', 'owner'] }),
    );
    // Anna used the contact form: she is a known data subject.
    await kluis.services.intake.submitContactRequest({
      actor: { kind: 'anonymous', orgId: org.id, ref: 'test' },
      channel: 'web',
      request: { name: 'Anna de Vries', email: known, phone: undefined, message: 'Wanneer bent u open?' },
      locale: 'nl',
    });
  });
  beforeEach(async () => {
    sink.clear();
    clock.set('2026-01-12T09:00:00.000Z');
    officer = await loginAs(app, officerCredentials);
  });
  /** Moves the clock (sessions expire when it jumps) and signs the privacy officer in again. */
  async function travel(to: string): Promise<void> {
    clock.set(to);
    officer = await loginAs(app, officerCredentials);
  }
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
    await sink.close();
  });

  async function deliver(): Promise<number> {
    const worker = createWorker({ kluis, registry: kluis.jobRegistry, scheduler: false });
    let done = 0;
    for (;;) {
      const ran = (await worker.runOnce()).done;
      if (ran === 0) return done;
      done += ran;
    }
  }

  async function mailTo(address: string, match?: (m: SinkMessage) => boolean): Promise<SinkMessage> {
    await deliver();
    return sink.waitFor((m) => m.to.includes(address) && (match === undefined || match(m)));
  }

  const linkIn = (m: SinkMessage) => /(http:\/\/\S+\/rights\/r\/[A-Za-z0-9_-]{43})/.exec(m.text)?.[1] ?? '';
  const pathOf = (url: string) => new URL(url).pathname;

  async function submit(email: string, right = 'access', b = new Browser(app), path = '/o/jansen/rights') {
    await b.get(path);
    return b.post(path, { right, email, details: '' });
  }

  /** Submits, confirms through the mailed link, returns the request id and the status path. */
  async function confirmedRequest(
    email: string,
    right: string,
  ): Promise<{ id: string; status: string; b: Browser }> {
    const b = new Browser(app);
    await deliver();
    sink.clear();
    expect((await submit(email, right, b)).statusCode).toBe(303);
    const status = pathOf(linkIn(await mailTo(email)));
    await b.get(status);
    expect((await b.post(`${status}/confirm`)).statusCode).toBe(303);
    const token = status.split('/').pop() ?? '';
    const row = await kluis.db
      .selectFrom('rights_requests')
      .select('id')
      .where('token_hash', '=', tokenHash(token))
      .executeTakeFirstOrThrow();
    return { id: row.id, status, b };
  }

  const staffGet = (who: LoggedIn, url: string) =>
    app.inject({ method: 'GET', url, headers: { cookie: who.cookie } });
  const staffPost = (who: LoggedIn, url: string, fields: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url, ...formPost(who.cookie, { _csrf: who.csrfToken, ...fields }) });
  const row = (id: string) =>
    kluis.db.selectFrom('rights_requests').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('shows the portal in Dutch and English with the six rights, and answers invalid input in the visitor’s language storing nothing', async () => {
    const nl = await app.inject({ method: 'GET', url: '/o/jansen/rights' });
    expect(nl.statusCode).toBe(200);
    for (const v of ['access', 'portability', 'rectification', 'erasure', 'objection', 'withdraw_consent']) {
      expect(nl.body).toContain(`value="${v}"`);
    }
    expect(nl.body).not.toContain('<script');
    expect(nl.body).toContain('identiteitsbewijs'); // "we never ask for a copy of an identity document"
    const before = await kluis.db.selectFrom('rights_requests').select('id').execute();
    const b = new Browser(app);
    await b.get('/en/o/jansen/rights');
    const bad = await b.post('/en/o/jansen/rights', { email: 'not-an-address', phone: '12' });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('Choose what you would like');
    expect(bad.body).toContain('Enter a valid email address');
    expect(bad.body).toContain('value="not-an-address"');
    const badNl = await submit('', 'nonsense');
    expect(badNl.statusCode).toBe(400);
    expect(badNl.body).toContain('Kies wat u wilt');
    expect(await kluis.db.selectFrom('rights_requests').select('id').execute()).toHaveLength(before.length);
  });

  it('answers a known and an unknown address the same way, mailing both a confirmation link', async () => {
    const unknown = 'nobody-here@example.org';
    const a = await submit(known);
    const b = await submit(unknown);
    expect([a.statusCode, a.headers.location]).toEqual([b.statusCode, b.headers.location]);
    const sentA = await app.inject({ method: 'GET', url: a.headers.location ?? '' });
    const sentB = await app.inject({ method: 'GET', url: b.headers.location ?? '' });
    expect(sentA.body.replace(/name="_csrf" value="[^"]+"/, '')).toBe(
      sentB.body.replace(/name="_csrf" value="[^"]+"/, ''),
    );
    const mailA = await mailTo(known);
    const mailB = await mailTo(unknown);
    const strip = (m: SinkMessage) =>
      m.text
        .replace(/\/rights\/r\/[A-Za-z0-9_-]{43}/, '/rights/r/X')
        .replace(known, 'E')
        .replace(unknown, 'E');
    expect(strip(mailA)).toBe(strip(mailB));
    // Neither request is linked to anyone before confirmation.
    const rows = await kluis.db
      .selectFrom('rights_requests')
      .select(['subject_id', 'status'])
      .where('org_id', '=', org.id)
      .execute();
    expect(rows.every((r) => r.subject_id === null && r.status === 'received')).toBe(true);
  });

  it('links a tenant’s requester back to the tenant’s own site: its host name, else its /o/<slug>', async () => {
    const publicOrigin = new URL(kluis.config.publicOrigin);
    await submit('no-host-link@example.org');
    // Without a host name of its own, the link names the tenant by its slug on the installation's host.
    const hostless = new URL(linkIn(await mailTo('no-host-link@example.org')));
    expect(hostless.hostname).toBe(publicOrigin.hostname);
    expect(hostless.pathname).toMatch(/^\/o\/jansen\/rights\/r\/[A-Za-z0-9_-]{43}$/);
    const host = 'privacy.jansen.example';
    await kluis.services.orgs.addHost(org.id, host, clock.now().toISOString());
    try {
      const address = 'host-link@example.org';
      await submit(address);
      const link = new URL(linkIn(await mailTo(address)));
      expect(link.hostname).toBe(host);
      expect([link.protocol, link.port]).toEqual([publicOrigin.protocol, publicOrigin.port]);
      expect(link.pathname).toMatch(/^\/rights\/r\/[A-Za-z0-9_-]{43}$/);
    } finally {
      await kluis.services.orgs.removeHost(org.id, host);
    }
  });

  it('discloses nothing behind an unconfirmed link: only a confirm button', async () => {
    const b = new Browser(app);
    await submit(known, 'access', b);
    const link = pathOf(linkIn(await mailTo(known)));
    const page = await b.get(link);
    expect(page.statusCode).toBe(200);
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.body).toContain('/confirm');
    for (const secret of [known, 'Anna', 'Inzage', 'uiterlijk', 'Bakkerij'])
      expect(page.body).not.toContain(secret);
    expect((await b.get('/rights/r/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).statusCode).toBe(404);
    expect((await b.get('/rights/r/short')).statusCode).toBe(404);
  });

  it('verifies by the mailed link, then matches a known address to its data subject — an unknown one to nobody', async () => {
    const { id } = await confirmedRequest(known, 'access');
    const r = await row(id);
    expect(r.status).toBe('verified');
    expect(r.verification_method).toBe('email_link');
    expect(r.subject_id).not.toBeNull();
    expect(r.paused_at).toBeNull();
    const stranger = await confirmedRequest('stranger@example.org', 'access');
    expect((await row(stranger.id)).subject_id).toBeNull();
    const detail = await staffGet(officer, `/staff/rights/${stranger.id}`);
    expect(detail.body).toContain('hoort bij niemand die wij kennen');
    // The status page now shows the request and the complaint route.
    const status = await stranger.b.get(stranger.status);
    expect(status.body).toContain('Autoriteit Persoonsgegevens');
    expect(status.body).toContain('Bevestigd');
  });

  /** The id of the request behind a status path. */
  async function idOf(statusPath: string): Promise<string> {
    const token = statusPath.split('/').pop() ?? '';
    const r = await kluis.db
      .selectFrom('rights_requests')
      .select('id')
      .where('token_hash', '=', tokenHash(token))
      .executeTakeFirstOrThrow();
    return r.id;
  }

  it('refuses an expired confirmation link at once, before the daily job lapses the request', async () => {
    const b = new Browser(app);
    await deliver();
    sink.clear();
    await submit('late-confirmer@example.org', 'access', b);
    const link = pathOf(linkIn(await mailTo('late-confirmer@example.org')));
    expect((await b.get(link)).statusCode).toBe(200); // the confirm button, and its form token
    clock.set(new Date(Date.parse('2026-01-12T09:00:00.000Z') + CONFIRM_DAYS * DAY).toISOString());
    expect((await b.post(`${link}/confirm`)).statusCode).toBe(404);
    expect((await b.get(link)).statusCode).toBe(404);
    // No daily job ran: the request is still `received`, and the link alone did not verify it.
    const r = await row(await idOf(link));
    expect([r.status, r.verified_at, r.subject_id]).toEqual(['received', null, null]);
  });

  it('refuses to link a request to a person before its requester is verified', async () => {
    await deliver();
    sink.clear();
    await submit(known, 'access');
    const id = await idOf(pathOf(linkIn(await mailTo(known))));
    expect((await row(id)).status).toBe('received');
    const early = await staffPost(officer, `/staff/rights/${id}/link`, { email: known });
    expect(early.statusCode).toBe(400);
    expect(early.body).toContain('Stel eerst de identiteit vast.');
    expect((await row(id)).subject_id).toBeNull();
    // Once verified by staff, the same link is accepted.
    await staffPost(officer, `/staff/rights/${id}/verify`, { note: 'Gebeld en gecontroleerd.' });
    expect((await row(id)).status).toBe('verified');
    expect((await staffPost(officer, `/staff/rights/${id}/link`, { email: known })).statusCode).toBe(303);
    expect((await row(id)).subject_id).not.toBeNull();
  });

  it('shows the queue to the privacy officer only, and another org’s request is a 404', async () => {
    const { id } = await confirmedRequest(known, 'rectification');
    const queue = await staffGet(officer, '/staff/rights');
    expect(queue.statusCode).toBe(200);
    expect(queue.body).toContain(`/staff/rights/${id}`);
    expect(queue.body).toContain('<svg');
    expect((await staffGet(support, '/staff/rights')).statusCode).toBe(403);
    expect((await staffGet(support, `/staff/rights/${id}`)).statusCode).toBe(403);
    expect((await staffGet(otherOfficer, `/staff/rights/${id}`)).statusCode).toBe(404);
    expect((await staffPost(otherOfficer, `/staff/rights/${id}/start`)).statusCode).toBe(404);
    expect((await row(id)).status).toBe('verified');
    const detail = await staffGet(officer, `/staff/rights/${id}`);
    expect(detail.body).toContain(known);
    const audit = await kluis.db
      .selectFrom('audit_log')
      .select(['action'])
      .where('target_id', '=', id)
      .execute();
    expect(audit.map((a) => a.action)).toContain('rights.request.read');
  });

  it('pauses the clock while waiting for the requester and adds the paused days on resume', async () => {
    const { id } = await confirmedRequest(known, 'rectification');
    const dueBefore = (await row(id)).due_on;
    expect(dueBefore).toBe('2026-02-12');
    const paused = await staffPost(officer, `/staff/rights/${id}/pause`, {
      reason: 'clarification',
      message: 'Welke gegevens kloppen niet?',
    });
    expect(paused.statusCode).toBe(303);
    const ask = await mailTo(known, (m) => m.text.includes('Welke gegevens kloppen niet?'));
    expect(ask.text).toContain('Autoriteit Persoonsgegevens');
    await travel('2026-01-18T09:00:00.000Z');
    expect((await staffPost(officer, `/staff/rights/${id}/resume`)).statusCode).toBe(303);
    const r = await row(id);
    expect(r.paused_days).toBe(6);
    expect(r.due_on).toBe('2026-02-18');
    clock.set('2026-01-12T09:00:00.000Z');
  });

  it('extends within the first month with reasons sent to the requester, and refuses more than two months or a late extension', async () => {
    const { id } = await confirmedRequest(known, 'access');
    const short = await staffPost(officer, `/staff/rights/${id}/extend`, { months: '1', reason: 'kort' });
    expect(short.statusCode).toBe(400);
    const ok = await staffPost(officer, `/staff/rights/${id}/extend`, {
      months: '1',
      reason: 'Uw gegevens staan in drie systemen.',
    });
    expect(ok.statusCode).toBe(303);
    expect((await row(id)).due_on).toBe('2026-03-12');
    const notice = await mailTo(known, (m) => m.text.includes('drie systemen'));
    expect(notice.text).toContain('12 maart 2026'); // the new due day, as the requester reads it
    expect(notice.text).toContain('Autoriteit Persoonsgegevens');
    const tooLong = await staffPost(officer, `/staff/rights/${id}/extend`, {
      months: '2',
      reason: 'Nog meer systemen gevonden.',
    });
    expect(tooLong.statusCode).toBe(400);
    expect((await row(id)).extended_months).toBe(1);
    const late = await confirmedRequest(known, 'access');
    await travel('2026-02-17T09:00:00.000Z');
    const refused = await staffPost(officer, `/staff/rights/${late.id}/extend`, {
      months: '1',
      reason: 'Te laat bedacht, helaas.',
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('alleen binnen de eerste maand');
    expect((await row(late.id)).extended_months).toBe(0);
    clock.set('2026-01-12T09:00:00.000Z');
  });

  it('reminds privacy officers a week and two days before the deadline and when overdue, once each; lapses unconfirmed requests', async () => {
    const rights = kluis.services.rights;
    const { id } = await confirmedRequest(known, 'rectification');
    const unconfirmed = await submit('lapse-me@example.org');
    expect(unconfirmed.statusCode).toBe(303);
    await deliver();
    sink.clear();
    clock.set('2026-02-06T07:00:00.000Z'); // 6 days before 12 February
    const first = await rights.dailyDuties();
    expect(first.reminders).toBeGreaterThanOrEqual(1);
    expect(first.lapsed).toBeGreaterThanOrEqual(1);
    const officerMail = await mailTo(officerCredentials.email, (m) => m.text.includes(`/staff/rights/${id}`));
    expect(officerMail.subject).toContain('2026-02-12');
    const again = await rights.dailyDuties();
    const events = await kluis.db
      .selectFrom('rights_request_events')
      .select('meta')
      .where('request_id', '=', id)
      .where('kind', '=', 'reminder_sent')
      .execute();
    expect(events).toHaveLength(1);
    expect(again.lapsed).toBe(0);
    clock.set('2026-02-13T07:00:00.000Z');
    await rights.dailyDuties();
    const after = await kluis.db
      .selectFrom('rights_request_events')
      .select('meta')
      .where('request_id', '=', id)
      .where('kind', '=', 'reminder_sent')
      .execute();
    expect(after.map((e) => JSON.parse(e.meta ?? '{}').threshold).sort()).toEqual(['overdue', 'week']);
    const lapsed = await kluis.db
      .selectFrom('rights_requests')
      .selectAll()
      .where('status', '=', 'lapsed')
      .execute();
    expect(lapsed.length).toBeGreaterThanOrEqual(1);
    expect(lapsed.every((l) => l.requester_email === null && l.requester_email_bidx === null)).toBe(true);
  });

  it('takes a mail to the privacy address into the workflow, unverified, without mailing the sender automatically', async () => {
    const raw = Buffer.from(
      [
        'From: Piet Mulder <piet@example.nl>',
        'To: privacy@localhost',
        'Subject: Verwijder mijn gegevens',
        'Message-ID: <privacy-1@example.nl>',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Graag al mijn gegevens verwijderen.',
      ].join('\r\n'),
    );
    const outcome = await kluis.services.inboundMail.receive({ orgId: org.id, mailbox: 'privacy', raw });
    expect(outcome.kind).toBe('opened');
    const r = await kluis.db
      .selectFrom('rights_requests')
      .selectAll()
      .where('channel', '=', 'email')
      .executeTakeFirstOrThrow();
    expect(r.status).toBe('received');
    expect(r.right_kind).toBeNull();
    expect(r.conversation_id).toBe(outcome.kind === 'opened' ? outcome.conversationId : '');
    // "Came in by email" links to the conversation's real page, not a raw id or a missing route.
    const page = await staffGet(officer, `/staff/rights/${r.id}`);
    const link = /href="(\/staff\/[a-z]+\/[0-9a-f-]+)">([^<]*)</.exec(
      page.body.slice(page.body.indexOf('Binnengekomen als e-mail')),
    );
    expect(link?.[1]).toBe(`/staff/conversations/${r.conversation_id}`);
    expect(link?.[2]).toBe('Open het gesprek');
    expect(app.hasRoute({ method: 'GET', url: '/staff/conversations/:id' })).toBe(true);
    expect(await deliver()).toBe(0);
    expect(sink.messages()).toHaveLength(0);
    expect((await staffPost(officer, `/staff/rights/${r.id}/right`, { right: 'erasure' })).statusCode).toBe(
      303,
    );
    expect((await staffPost(officer, `/staff/rights/${r.id}/send-confirmation`)).statusCode).toBe(303);
    const mail = await mailTo('piet@example.nl');
    expect(mail.text).toContain('verwijderen');
    expect(linkIn(mail)).not.toBe('');
  });

  it('delivers an access export once through the status link, with a reply that names the complaint route', async () => {
    const { id, status, b } = await confirmedRequest(known, 'access');
    expect((await staffPost(officer, `/staff/rights/${id}/export`)).statusCode).toBe(303);
    const ready = await mailTo(known, (m) => m.text.includes('staan klaar'));
    expect(ready.text).toContain('Autoriteit Persoonsgegevens');
    const latest = pathOf(linkIn(ready));
    expect((await b.get(status)).statusCode).toBe(404); // the newest mail's link replaces older ones
    const page = await b.get(latest);
    expect(page.body).toContain(`${latest}/export`);
    const zip = await b.get(`${latest}/export`);
    expect(zip.statusCode).toBe(200);
    expect(zip.headers['content-type']).toContain('application/zip');
    expect(zip.rawPayload.subarray(0, 2).toString()).toBe('PK');
    expect((await b.get(`${latest}/export`)).statusCode).toBe(410);
    const r = await row(id);
    expect([r.status, r.outcome]).toEqual(['completed', 'fulfilled']);
    const exp = await kluis.db
      .selectFrom('rights_exports')
      .selectAll()
      .where('request_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(exp.content).toBeNull();
    expect(exp.downloaded_at).not.toBeNull();
  });

  it('refuses the download once its 14 days are over, although it was never downloaded', async () => {
    const { id, b } = await confirmedRequest(known, 'access');
    expect((await staffPost(officer, `/staff/rights/${id}/export`)).statusCode).toBe(303);
    const ready = await mailTo(known, (m) => m.text.includes('staan klaar'));
    const latest = pathOf(linkIn(ready));
    clock.set(new Date(Date.parse('2026-01-12T09:00:00.000Z') + EXPORT_DAYS * DAY).toISOString());
    const late = await b.get(`${latest}/export`);
    expect(late.statusCode).toBe(410);
    expect(late.headers['content-type']).not.toContain('application/zip');
    const exp = await kluis.db
      .selectFrom('rights_exports')
      .select(['downloaded_at'])
      .where('request_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(exp.downloaded_at).toBeNull();
  });

  it('erases on request, tells the requester what the fiscal duty keeps and why, and then forgets who asked', async () => {
    const client = await seedRelation(kluis, org.id, {
      status: 'active',
      agreement: true,
      mandate: { collections: ['2025-11-01'] },
    });
    const email = `${client.subjectId}@example.test`;
    const { id } = await confirmedRequest(email, 'erasure');
    expect((await row(id)).subject_id).toBe(client.subjectId);
    const unconfirmedBox = await staffPost(officer, `/staff/rights/${id}/erase`, {});
    expect(unconfirmedBox.statusCode).toBe(400);
    expect((await staffPost(officer, `/staff/rights/${id}/erase`, { confirm: 'yes' })).statusCode).toBe(303);
    const reply = await mailTo(email, (m) => m.text.includes('gedeeltelijk'));
    expect(reply.text).toContain('fiscale bewaarplicht');
    expect(reply.text).toContain('Autoriteit Persoonsgegevens');
    // Issue 16: the agreement and its signed document are one sentence, not two; the kept
    // request has a date, a worded reason and the people who can see it (not finance).
    const body = reply.text.replace(/\s+/g, ' ');
    expect(body.split('"Overeenkomsten"').length - 1).toBe(1);
    expect(body).not.toContain('nog tot —');
    expect(body).not.toMatch(/rights_request|register\.category|rights\.erasure/);
    expect(body).toMatch(
      /Uw verzoeken zelf bewaren wij, zonder uw contactgegevens en toelichting, tot uiterlijk \d{4}-\d{2}-\d{2}/,
    );
    expect(body).toContain('Alleen wie privacyverzoeken behandelt, kan ze zien');
    expect(body.split('financiële administratie').length - 1).toBeLessThanOrEqual(
      body.split('fiscale bewaarplicht').length - 1,
    );
    const r = await row(id);
    expect([r.status, r.outcome]).toEqual(['completed', 'partly_fulfilled']);
    expect([r.requester_email, r.requester_email_bidx, r.details]).toEqual([null, null, null]);
    const subject = await kluis.db
      .selectFrom('data_subjects')
      .select('erased_at')
      .where('id', '=', client.subjectId)
      .executeTakeFirstOrThrow();
    expect(subject.erased_at).not.toBeNull();
  });

  it('records a withdrawal of consent at once, so the purpose is no longer used', async () => {
    const subject =
      (
        await kluis.db
          .selectFrom('rights_requests')
          .select('subject_id')
          .where('subject_id', 'is not', null)
          .where('org_id', '=', org.id)
          .executeTakeFirstOrThrow()
      ).subject_id ?? '';
    await kluis.services.consent.record({
      actor: { kind: 'system', orgId: org.id, orgKind: 'tenant', reason: 'test', roles: ['support'] },
      values: { subjectId: subject, purpose: 'newsletter', event: 'given', method: 'web_form' },
    });
    expect(await kluis.services.consent.mayUse({ orgId: org.id }, subject, 'newsletter')).toBe(true);
    const { id } = await confirmedRequest(known, 'withdraw_consent');
    const wrong = await staffPost(officer, `/staff/rights/${id}/consent`, { purpose: 'handle_requests' });
    expect(wrong.statusCode).toBe(400);
    expect(await kluis.services.consent.mayUse({ orgId: org.id }, subject, 'newsletter')).toBe(true);
    expect(
      (await staffPost(officer, `/staff/rights/${id}/consent`, { purpose: 'newsletter' })).statusCode,
    ).toBe(303);
    expect(await kluis.services.consent.mayUse({ orgId: org.id }, subject, 'newsletter')).toBe(false);
    expect(
      (
        await staffPost(officer, `/staff/rights/${id}/complete`, {
          outcome: 'fulfilled',
          reasons: 'U ontvangt de nieuwsbrief niet meer.',
        })
      ).statusCode,
    ).toBe(303);
    const reply = await mailTo(known, (m) => m.text.includes('nieuwsbrief niet meer'));
    expect(reply.text).toContain('Autoriteit Persoonsgegevens');
  });

  it('refuses a request with reasons and the complaint route; a refusal without reasons is refused', async () => {
    const { id } = await confirmedRequest('stranger@example.org', 'erasure');
    expect((await staffPost(officer, `/staff/rights/${id}/refuse`, { reasons: 'nee' })).statusCode).toBe(400);
    expect((await row(id)).status).toBe('verified');
    expect(
      (
        await staffPost(officer, `/staff/rights/${id}/refuse`, {
          reasons: 'Wij kennen dit adres niet en konden u niet identificeren.',
        })
      ).statusCode,
    ).toBe(303);
    const reply = await mailTo('stranger@example.org', (m) => m.text.includes('niet identificeren'));
    expect(reply.text).toContain('Autoriteit Persoonsgegevens');
    expect((await row(id)).status).toBe('refused');
  });
});
