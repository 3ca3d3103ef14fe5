import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../../../test/browser.js';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg, createStaffUser, type StaffCredentials } from '../../../test/factories.js';
import { findPlaintext, intakeCounts } from '../../../test/intake-fixtures.js';
import { buildApp } from '../../app.js';
import type { Actor, Role } from '../../shared/actor.js';
import { createFixedClock, MINUTE } from '../../shared/clock.js';
import type { Org } from '../orgs/orgs-repository.js';

/** The CLI or a job acting for support (system actors carry the roles their reason needs). */
function supportSystem(org: Pick<Org, 'id' | 'kind'>): Actor {
  return { kind: 'system', orgId: org.id, orgKind: org.kind, reason: 'test', roles: ['support'] };
}

function userActor(org: Org, user: StaffCredentials, roles: readonly Role[]): Actor {
  return { kind: 'user', orgId: org.id, orgKind: org.kind, userId: user.user.id, roles };
}

describe('the staff inbox: who reads what (P3, P5)', () => {
  const clock = createFixedClock('2030-08-01T08:00:00.000Z');
  let kluis: TestKluis;
  let app: FastifyInstance;
  let org: Org;
  let other: Org;
  let support: StaffCredentials;
  let admin: StaffCredentials;
  let finance: StaffCredentials;
  let otherSupport: StaffCredentials;

  beforeAll(async () => {
    kluis = await createTestKluis({ clock });
    app = await buildApp(kluis);
    org = await createOrg(kluis, 'tenant', 'Bakkerij Jansen');
    other = await createOrg(kluis, 'tenant', 'Slagerij Smit');
    support = await createStaffUser(kluis, { orgId: org.id, roles: ['support'], displayName: 'Sam Support' });
    admin = await createStaffUser(kluis, {
      orgId: org.id,
      roles: ['owner', 'admin'],
      displayName: 'Ada Admin',
    });
    finance = await createStaffUser(kluis, {
      orgId: org.id,
      roles: ['finance'],
      displayName: 'Fien Financiën',
    });
    otherSupport = await createStaffUser(kluis, { orgId: other.id, roles: ['support'] });
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  const intake = () => kluis.services.intake;
  const inbox = () => kluis.services.inbox;

  async function request(
    message: string,
    contact: { email?: string; phone?: string } = { email: 'klant@example.nl' },
  ) {
    clock.advance(MINUTE);
    const { conversationId } = await intake().submitContactRequest({
      actor: { kind: 'anonymous', orgId: org.id, ref: 'test' },
      channel: 'web',
      request: { name: 'Karel Klant', email: contact.email, phone: contact.phone, message },
      locale: 'nl',
    });
    return conversationId;
  }

  async function signedIn(user: StaffCredentials): Promise<Browser> {
    const b = new Browser(app);
    const res = await b.login(user.email, user.password);
    if (res.statusCode !== 303) throw new Error(`login failed: ${res.statusCode}`);
    return b;
  }

  it('lets support read a conversation; admin and finance get 403 and an empty list; an assigned admin may read', async () => {
    const id = await request('Vraag over brood inbox-marker-1');
    const s = await signedIn(support);
    const page = await s.get(`/staff/conversations/${id}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Vraag over brood inbox-marker-1');
    expect(page.body).toContain('klant@example.nl');
    expect((await s.get('/staff/conversations')).body).toContain('Karel Klant');

    for (const who of [admin, finance]) {
      const b = await signedIn(who);
      const res = await b.get(`/staff/conversations/${id}`);
      expect(res.statusCode).toBe(403);
      expect(res.body).not.toContain('inbox-marker-1');
      const list = await b.get('/staff/conversations');
      expect(list.statusCode).toBe(200);
      expect(list.body).not.toContain('Karel Klant');
      expect(list.body).toContain('U ziet alleen de gesprekken die aan u zijn toegewezen.');
      expect((await b.post(`/staff/conversations/${id}/note`, { note: 'mag niet' })).statusCode).toBe(403);
      expect((await b.post(`/staff/conversations/${id}/delete`)).statusCode).toBe(403);
    }
    await expect(
      inbox().getConversation({ actor: userActor(org, admin, ['owner', 'admin']), id }),
    ).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' });

    // Support assigns it to the admin: now (and only now) the admin may read and answer it.
    await s.get(`/staff/conversations/${id}`);
    expect((await s.post(`/staff/conversations/${id}/assign`, { userId: admin.user.id })).statusCode).toBe(
      303,
    );
    const a = await signedIn(admin);
    const readable = await a.get(`/staff/conversations/${id}`);
    expect(readable.statusCode).toBe(200);
    expect(readable.body).toContain('inbox-marker-1');
    expect((await a.get('/staff/conversations')).body).toContain('Karel Klant');
    // An admin without support may not reassign it or delete it.
    expect((await a.post(`/staff/conversations/${id}/assign`, { userId: finance.user.id })).statusCode).toBe(
      403,
    );
    expect((await a.post(`/staff/conversations/${id}/delete`)).statusCode).toBe(403);
    // Assigning to someone of another org is refused with a clear message.
    const wrong = await s.post(`/staff/conversations/${id}/assign`, { userId: otherSupport.user.id });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.body).toContain('Kies een actieve medewerker van deze organisatie.');
  });

  it("answers another organisation's conversation with 404 on every route and changes nothing", async () => {
    const id = await request('Geheim van de bakker');
    const b = await signedIn(otherSupport);
    const before = await intakeCounts(kluis);
    const snapshot = await kluis.db
      .selectFrom('conversations')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    expect((await b.get(`/staff/conversations/${id}`)).statusCode).toBe(404);
    expect((await b.get(`/staff/conversations/${id}/attachments/${crypto.randomUUID()}`)).statusCode).toBe(
      404,
    );
    for (const [path, fields] of [
      ['reply', { reply: 'x' }],
      ['note', { note: 'x' }],
      ['phone', { summary: 'x' }],
      ['status', { status: 'closed' }],
      ['assign', { userId: otherSupport.user.id }],
      ['contact', { name: 'Overgenomen', email: 'ander@example.org', phone: '' }],
      ['delete', {}],
    ] as const) {
      const res = await b.post(`/staff/conversations/${id}/${path}`, fields);
      expect(res.statusCode, path).toBe(404);
    }
    expect((await b.get('/staff/conversations')).body).not.toContain('Karel Klant');
    expect(await intakeCounts(kluis)).toEqual(before);
    expect(
      await kluis.db.selectFrom('conversations').selectAll().where('id', '=', id).executeTakeFirst(),
    ).toEqual(snapshot);
    expect((await b.get('/staff/conversations/not-a-uuid')).statusCode).toBe(404);
  });

  it('lets support correct the requester’s contact details (Art. 16), audited by field name only; others cannot', async () => {
    const id = await request('Mijn adres was verkeerd', { email: 'karel.typfout@example.nl' });
    const s = await signedIn(support);
    const page = await s.get(`/staff/conversations/${id}`);
    expect(page.body).toContain(`action="/staff/conversations/${id}/contact"`);
    expect(page.body).toContain('value="karel.typfout@example.nl"');
    const stored = () =>
      kluis.db.selectFrom('conversations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const before = await stored();

    // Malformed input: every problem named, nothing changed.
    const bad = await s.post(`/staff/conversations/${id}/contact`, {
      name: 'Karel\r\nBcc: x',
      email: 'geen-adres',
      phone: '12',
    });
    expect(bad.statusCode).toBe(400);
    const neither = await s.post(`/staff/conversations/${id}/contact`, {
      name: 'Karel',
      email: '',
      phone: '',
    });
    expect(neither.statusCode).toBe(400);
    expect(await stored()).toEqual(before);

    // Finance (not assigned) and an admin cannot correct it; another org's support gets a 404 (above).
    for (const user of [finance, admin]) {
      const b = await signedIn(user);
      const res = await b.post(`/staff/conversations/${id}/contact`, {
        name: 'Karel',
        email: 'ander@example.org',
        phone: '',
      });
      expect(res.statusCode).toBe(403);
    }
    expect(await stored()).toEqual(before);

    const ok = await s.post(`/staff/conversations/${id}/contact`, {
      name: 'Karel Klant',
      email: 'karel@example.nl',
      phone: '06 1234 5678',
    });
    expect([ok.statusCode, ok.headers.location]).toEqual([303, `/staff/conversations/${id}?done=contact`]);
    const detail = await inbox().getConversation({ actor: userActor(org, support, ['support']), id });
    expect([detail.name, detail.email, detail.phone]).toEqual([
      'Karel Klant',
      'karel@example.nl',
      '+31612345678',
    ]);
    const after = await stored();
    expect(after.requester_name).toEqual(before.requester_name);
    expect(after.requester_email).not.toEqual(before.requester_email);
    // Neither the old nor the new value is anywhere in clear; the audit entry names fields only.
    expect(await findPlaintext(kluis, 'karel.typfout')).toEqual([]);
    expect(await findPlaintext(kluis, 'karel@example.nl')).toEqual([]);
    const entry = await kluis.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'intake.contact.corrected')
      .where('target_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(entry).toMatchObject({
      actor: `user:${support.user.id}`,
      purpose: 'handle_requests',
      org_id: org.id,
    });
    expect(JSON.parse(entry.fields ?? '[]')).toEqual(['requester_email', 'requester_phone']);
    // The same values again change nothing and write no second entry.
    await s.post(`/staff/conversations/${id}/contact`, {
      name: 'Karel Klant',
      email: 'karel@example.nl',
      phone: '+31612345678',
    });
    const entries = await kluis.db
      .selectFrom('audit_log')
      .select('seq')
      .where('action', '=', 'intake.contact.corrected')
      .where('target_id', '=', id)
      .execute();
    expect(entries).toHaveLength(1);
  });

  it('audits every opening of a conversation with its purpose, by field name and never by value', async () => {
    const id = await request('Audit mij audit-marker-9');
    const s = await signedIn(support);
    await s.get(`/staff/conversations/${id}`);
    await s.get(`/staff/conversations/${id}`);
    const reads = await kluis.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'intake.conversation.read')
      .where('target_id', '=', id)
      .execute();
    expect(reads).toHaveLength(2);
    expect(reads[0]).toMatchObject({
      purpose: 'handle_requests',
      actor: `user:${support.user.id}`,
      org_id: org.id,
    });
    expect(JSON.parse(reads[0]?.fields ?? '[]')).toContain('body');
    const all = await kluis.db.selectFrom('audit_log').selectAll().execute();
    expect(JSON.stringify(all)).not.toMatch(/audit-marker-9|klant@example\.nl|Karel/);
    // The 403 of a finance user opened nothing and is not a read.
    const f = await signedIn(finance);
    await f.get(`/staff/conversations/${id}`);
    expect(
      await kluis.db
        .selectFrom('audit_log')
        .select('seq')
        .where('action', '=', 'intake.conversation.read')
        .where('actor', '=', `user:${finance.user.id}`)
        .execute(),
    ).toEqual([]);
  });

  it('records a phone call: errors first and nothing stored, then a phone conversation; and a call on an existing one', async () => {
    const s = await signedIn(support);
    await s.get('/staff/conversations/new-call');
    const before = await intakeCounts(kluis);
    const bad = await s.post('/staff/conversations/new-call', {
      name: '',
      phone: 'abc',
      email: '',
      message: '',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('Naam van de beller: Vul uw naam in.');
    expect(bad.body).toContain('Vul een bestaand telefoonnummer in');
    expect(bad.body).toContain('Samenvatting van het gesprek: Vat het gesprek samen.');
    expect(await intakeCounts(kluis)).toEqual(before);

    const good = await s.post('/staff/conversations/new-call', {
      name: 'Gerrit Beller',
      phone: '020 123 4567',
      email: '',
      message: 'Belde over de levering van morgen.',
    });
    expect(good.statusCode).toBe(303);
    const id =
      /\/staff\/conversations\/([0-9a-f-]{36})\?done=phone/.exec(good.headers.location ?? '')?.[1] ?? '';
    const detail = await inbox().getConversation({ actor: supportSystem(org), id });
    expect(detail).toMatchObject({
      channel: 'phone',
      name: 'Gerrit Beller',
      phone: '+31201234567',
      email: undefined,
      assignedUserId: support.user.id,
    });
    expect(detail.entries.map((e) => [e.kind, e.body, e.authorUserId])).toEqual([
      ['phone', 'Belde over de levering van morgen.', support.user.id],
    ]);
    // No email address: replying by email is explained, not offered; a forced reply is refused.
    const page = await s.get(`/staff/conversations/${id}`);
    expect(page.body).toContain('Deze persoon heeft geen e-mailadres gegeven');
    const forced = await s.post(`/staff/conversations/${id}/reply`, { reply: 'Hallo' });
    expect(forced.statusCode).toBe(400);

    // A second call about the same matter, an internal note, then closing it.
    await s.get(`/staff/conversations/${id}`);
    expect(
      (await s.post(`/staff/conversations/${id}/phone`, { summary: 'Terugbelverzoek afgehandeld.' }))
        .statusCode,
    ).toBe(303);
    expect((await s.post(`/staff/conversations/${id}/note`, { note: '' })).statusCode).toBe(400);
    expect((await s.post(`/staff/conversations/${id}/note`, { note: 'Klant is tevreden.' })).statusCode).toBe(
      303,
    );
    expect((await s.post(`/staff/conversations/${id}/status`, { status: 'closed' })).statusCode).toBe(303);
    const closed = await inbox().getConversation({ actor: supportSystem(org), id });
    expect(closed.entries.map((e) => e.kind)).toEqual(['phone', 'phone', 'note']);
    expect(closed.status).toBe('closed');
    expect(closed.closedAt).not.toBeNull();
  });

  it('filters, sorts and pages the list through the URL', async () => {
    for (let i = 0; i < 27; i++) await request(`Bericht ${i}`, { email: `k${i}@example.nl` });
    const s = await signedIn(support);
    const first = await s.get('/staff/conversations?status=open&channel=web&sort=created&dir=asc');
    expect(first.statusCode).toBe(200);
    expect(first.body).toMatch(/pagina 1 van \d+/);
    expect(first.body).toContain('rel="next"');
    expect(first.body).toContain('aria-sort="ascending"');
    const mine = await s.get('/staff/conversations?mine=1');
    expect(mine.body).not.toContain('Karel Klant');
    const phone = await s.get('/staff/conversations?channel=phone');
    expect(phone.body).not.toContain('Karel Klant');
    // Nonsense in the URL falls back to the defaults instead of failing.
    expect((await s.get('/staff/conversations?status=nope&sort=evil&page=-3')).statusCode).toBe(200);
    const page = await inbox().listConversations({
      actor: userActor(org, support, ['support']),
      filters: { channel: 'web', sort: 'created', dir: 'asc', page: 2 },
    });
    expect(page.page).toBe(2);
    expect(page.items.length).toBeGreaterThan(0);
  });

  it('gives a job or CLI actor only what its roles allow: without support it opens, assigns and deletes nothing', async () => {
    const id = await request('Systeemvraag system-marker-2b');
    const bare: Actor = { kind: 'system', orgId: org.id, orgKind: org.kind, reason: 'test', roles: [] };
    const before = await intakeCounts(kluis);
    await expect(inbox().getConversation({ actor: bare, id })).rejects.toMatchObject({
      code: 'ERR_FORBIDDEN',
    });
    await expect(inbox().addNote({ actor: bare, id, body: 'x' })).rejects.toMatchObject({
      code: 'ERR_FORBIDDEN',
    });
    await expect(inbox().assign({ actor: bare, id, userId: support.user.id })).rejects.toMatchObject({
      code: 'ERR_FORBIDDEN',
    });
    await expect(inbox().deleteConversation({ actor: bare, id })).rejects.toMatchObject({
      code: 'ERR_FORBIDDEN',
    });
    await expect(inbox().listQuarantine({ actor: bare })).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' });
    const listed = await inbox().listConversations({
      actor: bare,
      filters: { sort: 'updated', dir: 'desc', page: 1 },
    });
    expect(listed.items).toEqual([]);
    expect(await intakeCounts(kluis)).toEqual(before);
    const row = await kluis.db
      .selectFrom('conversations')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    expect(row?.assigned_user_id).toBeNull();
  });

  it('refuses a contact request from an API key without intake.submit in the use case too, storing nothing', async () => {
    const before = await intakeCounts(kluis);
    const key: Actor = {
      kind: 'api_key',
      orgId: org.id,
      orgKind: org.kind,
      apiKeyId: 'finance-key',
      roles: ['finance'],
      scopes: ['api'],
    };
    await expect(
      intake().submitContactRequest({
        actor: key,
        channel: 'api',
        request: {
          name: 'Sluiproute',
          email: 'sluip@example.nl',
          phone: undefined,
          message: 'via de service',
        },
        locale: 'nl',
      }),
    ).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' });
    expect(await intakeCounts(kluis)).toEqual(before);
  });

  it('keeps message bodies out of the raw database: only sealed bytes', async () => {
    await request('Persoonlijk detail raw-marker-4f4f');
    expect(await findPlaintext(kluis, 'raw-marker-4f4f')).toEqual([]);
    const sealed = await sql<{ body: Buffer }>`select body from conversation_entries`.execute(kluis.db);
    expect(sealed.rows.length).toBeGreaterThan(0);
    for (const r of sealed.rows) expect(Buffer.from(r.body)[0]).toBe(1);
  });
});

describe('POST /api/v1/contact-requests (P1, P2)', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;
  let org: Org;
  let supportToken: string;
  let financeToken: string;

  beforeAll(async () => {
    kluis = await createTestKluis();
    app = await buildApp(kluis);
    org = await createOrg(kluis, 'tenant', 'Bakkerij Jansen');
    const admin = await createStaffUser(kluis, { orgId: org.id, roles: ['admin', 'support', 'finance'] });
    const auth = kluis.services.auth;
    supportToken = (
      await auth.createApiKey({
        actor: userActor(org, admin, ['admin', 'support', 'finance']),
        name: 'chat',
        roles: ['support'],
      })
    ).token;
    financeToken = (
      await auth.createApiKey({
        actor: userActor(org, admin, ['admin', 'support', 'finance']),
        name: 'fin',
        roles: ['finance'],
      })
    ).token;
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  const post = (token: string | undefined, payload: unknown) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/contact-requests',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      payload: JSON.stringify(payload),
    });

  it('opens a conversation on the api channel for an API key holding support', async () => {
    const res = await post(supportToken, {
      name: 'Chat Bezoeker',
      email: 'chat@example.nl',
      message: 'Via de chat api-marker-3',
      locale: 'en',
    });
    expect(res.statusCode).toBe(201);
    const { id, channel } = res.json() as { id: string; channel: string };
    expect(channel).toBe('api');
    const row = await kluis.db
      .selectFrom('conversations')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ org_id: org.id, channel: 'api', locale: 'en', status: 'open' });
    expect(await findPlaintext(kluis, 'api-marker-3')).toEqual([]);
  });

  it('validates with the same rules as the form, refuses any other field, and stores nothing', async () => {
    const before = await intakeCounts(kluis);
    const missing = await post(supportToken, { name: '', message: 'x' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({
      error: {
        code: 'ERR_VALIDATION',
        fields: {
          name: 'Vul uw naam in.',
          email: expect.stringContaining('e-mailadres of een telefoonnummer'),
        },
      },
    });
    const badPhone = await post(supportToken, { name: 'A', phone: '123', message: 'x' });
    expect(badPhone.json().error.fields.phone).toContain('bestaand telefoonnummer');
    // P2: nothing beyond name, email, phone and message.
    const extra = await post(supportToken, {
      name: 'A',
      email: 'a@example.nl',
      message: 'x',
      birthDate: '1980-01-01',
    });
    expect(extra.statusCode).toBe(400);
    expect(await intakeCounts(kluis)).toEqual(before);
  });

  it('refuses a key without the role (403), a bad key (401) and a request without credentials', async () => {
    const body = { name: 'A', email: 'a@example.nl', message: 'x' };
    expect((await post(financeToken, body)).statusCode).toBe(403);
    expect((await post('kluis_nope', body)).statusCode).toBe(401);
    // Without a bearer key the request is treated as a browser's: refused before access (CSRF).
    expect([401, 403]).toContain((await post(undefined, body)).statusCode);
  });
});
