import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Browser } from '../../../test/browser.js';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg } from '../../../test/factories.js';
import {
  findPlaintext,
  formControlNames,
  intakeCounts,
  openContactForm,
} from '../../../test/intake-fixtures.js';
import { buildApp } from '../../app.js';
import type { Actor } from '../../shared/actor.js';
import { createFixedClock, HOUR, MINUTE } from '../../shared/clock.js';
import { createLogger } from '../../shared/logger.js';
import type { Org } from '../orgs/orgs-repository.js';

/** The CLI or a job acting for support (system actors carry the roles their reason needs). */
function supportSystem(org: Pick<Org, 'id' | 'kind'>): Actor {
  return { kind: 'system', orgId: org.id, orgKind: org.kind, reason: 'test', roles: ['support'] };
}

const SECOND = 1000;

describe('the public contact form (P1, P2)', () => {
  const clock = createFixedClock('2030-05-06T09:00:00.000Z');
  const logLines: string[] = [];
  let kluis: TestKluis;
  let app: FastifyInstance;
  let operator: Org;
  let tenant: Org;

  beforeAll(async () => {
    const logSink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    kluis = await createTestKluis({
      clock,
      logger: createLogger('trace', logSink),
      env: { KLUIS_CONTACT_RATE_LIMIT_PER_HOUR: '5' },
    });
    app = await buildApp(kluis);
    operator = await createOrg(kluis, 'operator', 'Ambrix');
    tenant = await createOrg(kluis, 'tenant', 'Bakkerij Jansen');
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });
  beforeEach(() => {
    // Each test starts a fresh rate-limit window.
    clock.advance(2 * HOUR);
  });

  const inbox = () => kluis.services.inbox;

  async function conversationsOf(org: Org) {
    return kluis.db
      .selectFrom('conversations')
      .selectAll()
      .where('org_id', '=', org.id)
      .orderBy('created_at')
      .execute();
  }

  it('asks exactly name, email address, phone number and message, plus hidden anti-spam fields (P2)', async () => {
    for (const path of ['/contact', '/en/contact', `/o/${tenant.slug}/contact`]) {
      const res = await new Browser(app).get(path);
      expect(res.statusCode, path).toBe(200);
      const { all, visible } = formControlNames(res.body);
      expect(visible, path).toEqual(['name', 'email', 'phone', 'message']);
      expect([...all].sort(), path).toEqual([
        '_csrf',
        'email',
        'message',
        'name',
        'phone',
        'started',
        'website',
      ]);
      // The honeypot: hidden from sight and from assistive technology, skipped by the keyboard.
      expect(res.body).toMatch(/<div class="visually-hidden" aria-hidden="true">\s*<label for="f-website">/);
      expect(res.body).toMatch(
        /<input type="text" id="f-website" name="website" value="" tabindex="-1" autocomplete="off">/,
      );
      for (const field of ['name', 'email', 'phone', 'message']) {
        expect(res.body, `${path} ${field}`).toContain(`<label for="f-${field}">`);
      }
    }
    const nl = await new Browser(app).get('/contact');
    expect(nl.body).toContain('<html lang="nl">');
    expect(nl.body).toContain('Contact opnemen met Ambrix');
    const en = await new Browser(app).get('/en/contact');
    expect(en.body).toContain('<html lang="en">');
    expect(en.body).toContain('Contact Ambrix');
  });

  it('answers an invalid Dutch submission with errors per field, keeps the input, stores nothing; then accepts it', async () => {
    const b = new Browser(app);
    const started = await openContactForm(b, '/contact');
    clock.advance(20 * SECOND);
    const before = await intakeCounts(kluis);

    const bad = await b.post('/contact', {
      started,
      name: '',
      email: 'geen-adres',
      phone: '',
      message: 'Mijn vraag over de factuur nl-marker-71c2',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('class="error-summary"');
    expect(bad.body).toContain('<a href="#f-name">Naam: Vul uw naam in.</a>');
    expect(bad.body).toContain('<a href="#f-email">E-mailadres: Vul een geldig e-mailadres in');
    expect(bad.body).toMatch(/id="f-name-error"/);
    expect(bad.body).toContain('value="geen-adres"');
    expect(bad.body).toContain('Mijn vraag over de factuur nl-marker-71c2</textarea>');
    expect(await intakeCounts(kluis)).toEqual(before);

    // Neither email nor phone: one clear error; a phone number that cannot exist: another.
    const none = await b.post('/contact', { started, name: 'Jan', email: '', phone: '', message: 'Hallo' });
    expect(none.body).toContain('Vul een e-mailadres of een telefoonnummer in');
    const wrongPhone = await b.post('/contact', {
      started,
      name: 'Jan',
      email: '',
      phone: '12',
      message: 'Hallo',
    });
    expect(wrongPhone.body).toContain(
      '<a href="#f-phone">Telefoonnummer: Vul een bestaand telefoonnummer in',
    );
    expect(await intakeCounts(kluis)).toEqual(before);

    const good = await b.post('/contact', {
      started,
      name: 'Jan Jansen',
      email: 'jan@example.nl',
      phone: '06 1234 5678',
      message: 'Mijn vraag over de factuur nl-marker-71c2',
    });
    expect(good.statusCode).toBe(303);
    expect(good.headers.location).toBe('/contact/sent');
    const sent = await b.get('/contact/sent');
    expect(sent.body).toContain('Bedankt voor uw bericht');

    const [conversation] = (await conversationsOf(operator)).slice(-1);
    expect(conversation).toMatchObject({ channel: 'web', status: 'open', locale: 'nl' });
    // Linked to one data subject by blind index; the phone number was normalised to E.164.
    const subject = await kluis.db
      .selectFrom('data_subjects')
      .selectAll()
      .where('id', '=', conversation?.subject_id ?? '')
      .executeTakeFirstOrThrow();
    expect(subject.phone_bidx).toBe(await kluis.keyring.blindIndex(operator.id, 'phone', '+31612345678'));
    expect(subject.email_bidx).toBe(await kluis.keyring.blindIndex(operator.id, 'email', 'jan@example.nl'));

    const detail = await inbox().getConversation({
      actor: supportSystem(operator),
      id: conversation?.id ?? '',
    });
    expect(detail).toMatchObject({ name: 'Jan Jansen', email: 'jan@example.nl', phone: '+31612345678' });
    expect(detail.entries.map((e) => [e.kind, e.body])).toEqual([
      ['inbound', 'Mijn vraag over de factuur nl-marker-71c2'],
    ]);
    // P3: never in clear in the database, never in a log line.
    expect(await findPlaintext(kluis, 'nl-marker-71c2')).toEqual([]);
    expect(logLines.join('')).not.toContain('nl-marker-71c2');
    expect(logLines.join('')).not.toContain('jan@example.nl');
  });

  it('does the same in English, with English errors, and answers in English later', async () => {
    const b = new Browser(app);
    const started = await openContactForm(b, '/en/contact');
    clock.advance(30 * SECOND);
    const before = await intakeCounts(kluis);
    const bad = await b.post('/en/contact', { started, name: 'Mary', email: '', phone: '', message: '' });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('<html lang="en">');
    expect(bad.body).toContain('There is a problem');
    expect(bad.body).toContain('Email address: Enter an email address or a phone number');
    expect(bad.body).toContain('Message: Write your message.');
    expect(bad.body).toContain('value="Mary"');
    expect(await intakeCounts(kluis)).toEqual(before);

    const good = await b.post('/en/contact', {
      started,
      name: 'Mary Smith',
      email: '',
      phone: '+44 20 7946 0958',
      message: 'Please call me back.',
    });
    expect(good.statusCode).toBe(303);
    expect(good.headers.location).toBe('/en/contact/sent');
    expect((await b.get('/en/contact/sent')).body).toContain('Thank you for your message');
    const last = (await conversationsOf(operator)).at(-1);
    expect(last).toMatchObject({ channel: 'web', locale: 'en' });
    expect(last?.requester_email).toBeNull();
    expect(await intakeCounts(kluis)).toMatchObject({ conversations: before.conversations + 1 });
  });

  it('refuses a filled-in honeypot politely and stores nothing', async () => {
    const b = new Browser(app);
    const started = await openContactForm(b, '/contact');
    clock.advance(20 * SECOND);
    const before = await intakeCounts(kluis);
    const res = await b.post('/contact', {
      started,
      name: 'Bot',
      email: 'bot@example.com',
      phone: '',
      message: 'Buy now',
      website: 'https://spam.example',
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('Uw bericht is niet verstuurd');
    expect(res.body).toContain('Er is niets van wat u invulde bewaard.');
    expect(res.body).toContain('href="/contact"');
    expect(res.body).not.toContain('Buy now');
    expect(await intakeCounts(kluis)).toEqual(before);
  });

  it('refuses a form sent faster than a person can write, and a forged or missing start time, storing nothing', async () => {
    const b = new Browser(app);
    const started = await openContactForm(b, '/en/contact');
    const before = await intakeCounts(kluis);
    const fields = { name: 'Fast', email: 'fast@example.com', phone: '', message: 'Hi' };
    clock.advance(SECOND);
    const fast = await b.post('/en/contact', { started, ...fields });
    expect(fast.statusCode).toBe(400);
    expect(fast.body).toContain('Your message was not sent');
    expect(fast.body).toContain('faster than anyone can write a message');

    clock.advance(20 * SECOND);
    const [issued = '', nonce = '', mac = ''] = started.split('.');
    const earlier = `${Number(issued) - 60_000}.${nonce}.${mac}`;
    const otherNonce = `${issued}.${'A'.repeat(16)}.${mac}`;
    for (const forged of [earlier, otherNonce, `${issued}.${nonce}.${'0'.repeat(64)}`, 'nonsense', '']) {
      const res = await new Browser(app).post('/en/contact', { started: forged, ...fields });
      expect(res.statusCode, forged).toBe(400);
      expect(res.body, forged).toContain('Your message was not sent');
    }
    // A token of another organisation's form does not fit this one.
    const other = await openContactForm(new Browser(app), `/o/${tenant.slug}/contact`);
    clock.advance(20 * SECOND);
    expect((await new Browser(app).post('/en/contact', { started: other, ...fields })).statusCode).toBe(400);
    expect(await intakeCounts(kluis)).toEqual(before);
    // The same form, given time, goes through.
    expect((await b.post('/en/contact', { started, ...fields })).statusCode).toBe(303);
  });

  it('strips NUL, ESC and right-to-left overrides from the public form before staff see it', async () => {
    clock.advance(2 * HOUR); // a fresh rate-limit window
    const b = new Browser(app);
    const started = await openContactForm(b, '/contact');
    clock.advance(20 * SECOND);
    const res = await b.post('/contact', {
      started,
      name: 'Mallory\u202e\u0000',
      email: 'rtl@example.nl',
      phone: '',
      message: 'Factuur\u0000 \u001b[2Jwissen \u202egpj.exe \u2067x\u2069 \u200fmark\r\nregel',
    });
    expect(res.statusCode).toBe(303);
    const last = (await conversationsOf(operator)).at(-1);
    const detail = await inbox().getConversation({ actor: supportSystem(operator), id: last?.id ?? '' });
    expect(detail.name).toBe('Mallory');
    expect(detail.entries[0]?.body).toBe('Factuur [2Jwissen gpj.exe x \u200fmark\nregel');
    // A message of nothing but control characters is empty, not stored.
    const before = await intakeCounts(kluis);
    const again = await openContactForm(b, '/contact');
    clock.advance(20 * SECOND);
    const empty = await b.post('/contact', {
      started: again,
      name: 'Leeg',
      email: 'leeg@example.nl',
      phone: '',
      message: '\u0000\u001b\u202e',
    });
    expect(empty.statusCode).toBe(400);
    expect(empty.body).toContain('class="error-summary"');
    expect(await intakeCounts(kluis)).toEqual(before);
  });

  it('takes a form once: its fill-time token cannot carry a second post, which stores nothing', async () => {
    clock.advance(2 * HOUR); // a fresh rate-limit window
    const b = new Browser(app);
    const started = await openContactForm(b, '/contact');
    clock.advance(20 * SECOND);
    const fields = {
      started,
      name: 'Eenmalig',
      email: 'eenmalig@example.nl',
      phone: '',
      message: 'Eén keer',
    };
    expect((await b.post('/contact', fields)).statusCode).toBe(303);
    const before = await intakeCounts(kluis);
    for (const browser of [b, new Browser(app)]) {
      clock.advance(MINUTE);
      if (browser !== b) await browser.get('/contact');
      const again = await browser.post('/contact', { ...fields, message: 'Nog een keer' });
      expect(again.statusCode).toBe(400);
      expect(again.body).toContain('hetzelfde formulier wordt maar één keer aangenomen');
    }
    expect(await intakeCounts(kluis)).toEqual(before);
  });

  it('shows a form left open for days again with the input kept, instead of taking it', async () => {
    const b = new Browser(app);
    const started = await openContactForm(b, '/contact');
    clock.advance(25 * HOUR);
    const before = await intakeCounts(kluis);
    const res = await b.post('/contact', {
      started,
      name: 'Traag',
      email: 'traag@example.nl',
      phone: '',
      message: 'Oud',
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('Het formulier stond lang open');
    expect(res.body).toContain('value="Traag"');
    expect(await intakeCounts(kluis)).toEqual(before);
  });

  it('limits submissions per IP address with a polite page, and lets the address in again after the hour', async () => {
    const b = new Browser(app);
    const started = await openContactForm(b, '/contact');
    clock.advance(20 * SECOND);
    const fields = { started, name: 'Veel', email: 'veel@example.nl', phone: '', message: 'Bericht' };
    expect((await b.post('/contact', fields)).statusCode).toBe(303);
    for (let i = 1; i < 5; i++) {
      const fresh = await openContactForm(b, '/contact');
      clock.advance(20 * SECOND);
      expect((await b.post('/contact', { ...fields, started: fresh })).statusCode).toBe(303);
    }
    const before = await intakeCounts(kluis);
    const limited = await b.post('/contact', { ...fields, started: await openContactForm(b, '/contact') });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('3600');
    expect(limited.body).toContain('Uw bericht is niet verstuurd');
    expect(limited.body).toContain('in korte tijd veel berichten');
    expect(await intakeCounts(kluis)).toEqual(before);

    // Another address is not affected.
    const other = new Browser(app);
    const otherStarted = await openContactForm(other, '/contact');
    clock.advance(20 * SECOND);
    expect((await other.post('/contact', { ...fields, started: otherStarted })).statusCode).toBe(303);

    clock.advance(HOUR);
    const again = await openContactForm(b, '/contact');
    clock.advance(MINUTE);
    expect((await b.post('/contact', { ...fields, started: again })).statusCode).toBe(303);
  });

  it("takes a tenant's form into the tenant's own conversations, in both languages, and 404s an unknown slug", async () => {
    for (const path of [`/o/${tenant.slug}/contact`, `/en/o/${tenant.slug}/contact`]) {
      const b = new Browser(app);
      const started = await openContactForm(b, path);
      expect((await b.get(path)).body).toContain('Bakkerij Jansen');
      clock.advance(20 * SECOND);
      const res = await b.post(path, {
        started,
        name: 'Klant',
        email: 'klant@example.nl',
        phone: '',
        message: 'Brood',
      });
      expect(res.statusCode, path).toBe(303);
      expect(res.headers.location).toBe(`${path}/sent`);
    }
    const mine = await conversationsOf(tenant);
    expect(mine.map((c) => [c.channel, c.locale])).toEqual([
      ['web', 'nl'],
      ['web', 'en'],
    ]);
    // Same address, same org: one data subject.
    expect(new Set(mine.map((c) => c.subject_id)).size).toBe(1);
    expect((await new Browser(app).get('/o/no-such-org/contact')).statusCode).toBe(404);
    expect((await new Browser(app).get('/o/NOT_A_SLUG/contact')).statusCode).toBe(404);
  });

  it('refuses a post without the CSRF cookie and token (the form is a browser form)', async () => {
    const before = await intakeCounts(kluis);
    const res = await app.inject({
      method: 'POST',
      url: '/contact',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'name=x&email=x%40example.nl&message=y',
    });
    expect(res.statusCode).toBe(403);
    expect(await intakeCounts(kluis)).toEqual(before);
  });
});
