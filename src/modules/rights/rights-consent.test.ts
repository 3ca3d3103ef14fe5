/**
 * The consent registry (P15): append-only history, the newest record decides, withdrawal and
 * objection take effect at once (the newsletter list honours them), a consent record export after
 * ISO/IEC TS 27560, and the staff pages.
 */

import { parse } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import {
  createOrg,
  createStaffUser,
  type LoggedIn,
  loginAs,
  staffRequests,
} from '../../../test/factories.js';
import { buildApp } from '../../app.js';
import type { Actor, Role } from '../../shared/actor.js';
import { createFixedClock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { Org } from '../orgs/orgs-repository.js';
import { createSubjectsService } from '../subjects/subjects-service.js';
import { objectionPurposes } from './rights-consent.js';

function staff(org: Org, ...roles: Role[]): Actor {
  return { kind: 'user', orgId: org.id, orgKind: org.kind, userId: `user-${roles.join('-')}`, roles };
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

/** A client relation for a person with this address; returns the person's data subject. */
async function client(kluis: TestKluis, org: Org, givenName: string, email: string): Promise<string> {
  await kluis.services.relations.createRelation({
    actor: staff(org, 'support'),
    values: {
      kind: 'person',
      formOfAddress: 'neutral',
      givenName,
      familyName: 'Test',
      email,
      status: 'active',
    },
  });
  const found = await createSubjectsService(kluis).findByContact(kluis.db, { orgId: org.id }, { email });
  return found[0]?.id ?? '';
}

describe('the consent registry', () => {
  const clock = createFixedClock('2030-03-01T10:00:00.000Z');
  let kluis: TestKluis;
  let org: Org;
  let other: Org;
  beforeEach(async () => {
    clock.set('2030-03-01T10:00:00.000Z');
    kluis = await createTestKluis({ clock });
    org = await createOrg(kluis, 'tenant');
    other = await createOrg(kluis, 'tenant');
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  it('keeps every event, lets the newest decide and honours a withdrawal at once', async () => {
    const consents = kluis.services.consent;
    const support = staff(org, 'support');
    const subjectId = await client(kluis, org, 'Ada', 'ada@example.test');
    const scope = { orgId: org.id };
    expect(await kluis.services.consent.mayUse(scope, subjectId, 'newsletter')).toBe(false);
    await consents.record({
      actor: support,
      values: { subjectId, purpose: 'newsletter', event: 'given', method: 'web_form', statementVersion: 2 },
    });
    expect(await kluis.services.consent.mayUse(scope, subjectId, 'newsletter')).toBe(true);
    expect(await kluis.services.consent.mayUse(scope, subjectId, 'reference_customer')).toBe(false);
    clock.set('2030-03-01T10:05:00.000Z');
    await consents.record({
      actor: support,
      values: { subjectId, purpose: 'newsletter', event: 'withdrawn', method: 'email' },
    });
    expect(await kluis.services.consent.mayUse(scope, subjectId, 'newsletter')).toBe(false);
    // A paper form dated before the withdrawal does not revive the consent.
    clock.set('2030-03-02T09:00:00.000Z');
    await consents.record({
      actor: support,
      values: {
        subjectId,
        purpose: 'newsletter',
        event: 'given',
        method: 'paper',
        at: '2030-02-15T00:00:00.000Z',
      },
    });
    expect(await kluis.services.consent.mayUse(scope, subjectId, 'newsletter')).toBe(false);
    const { records } = await consents.history(support, subjectId);
    expect(records.map((r) => [r.event, r.method])).toEqual([
      ['withdrawn', 'email'],
      ['given', 'web_form'],
      ['given', 'paper'],
    ]);
    const states = await consents.states(support, subjectId);
    expect(states.find((s) => s.purpose === 'newsletter')).toMatchObject({
      state: 'withdrawn',
      legalBasis: 'consent',
    });
    const audit = await kluis.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'rights.consent.withdrawn')
      .executeTakeFirstOrThrow();
    expect(audit.target_id).toBe(subjectId);
    expect(JSON.parse(audit.meta ?? '{}')).toMatchObject({
      purpose: 'newsletter',
      event: 'withdrawn',
      method: 'email',
    });
    expect(JSON.stringify(audit)).not.toContain('ada@');
  });

  it('records objections to purposes based on legitimate interest, and only there', async () => {
    expect(objectionPurposes()).toContain('handle_requests');
    expect(objectionPurposes()).not.toContain('rights_handling');
    expect(objectionPurposes()).not.toContain('bookkeeping');
    const consents = kluis.services.consent;
    const officer = staff(org, 'privacy_officer');
    const subjectId = await client(kluis, org, 'Bo', 'bo@example.test');
    const scope = { orgId: org.id };
    expect(await kluis.services.consent.mayUse(scope, subjectId, 'handle_requests')).toBe(true);
    await consents.record({
      actor: officer,
      values: { subjectId, purpose: 'handle_requests', event: 'objected', method: 'email' },
    });
    expect(await kluis.services.consent.mayUse(scope, subjectId, 'handle_requests')).toBe(false);
    clock.set('2030-03-01T11:00:00.000Z');
    await consents.record({
      actor: officer,
      values: { subjectId, purpose: 'handle_requests', event: 'objection_lifted', method: 'email' },
    });
    expect(await kluis.services.consent.mayUse(scope, subjectId, 'handle_requests')).toBe(true);

    const wrongEvent = await refusal(
      consents.record({
        actor: officer,
        values: { subjectId, purpose: 'newsletter', event: 'objected', method: 'email' },
      }),
    );
    expect(wrongEvent.fields).toEqual({ event: 'rights.consent.eventNotForPurpose' });
    const notObjectable = await refusal(
      consents.record({
        actor: officer,
        values: { subjectId, purpose: 'bookkeeping', event: 'objected', method: 'email' },
      }),
    );
    expect(notObjectable.fields).toMatchObject({ purpose: 'rights.consent.invalidPurpose' });
    const future = await refusal(
      consents.record({
        actor: officer,
        values: {
          subjectId,
          purpose: 'newsletter',
          event: 'given',
          method: 'email',
          at: '2031-01-01T00:00:00.000Z',
        },
      }),
    );
    expect(future.fields).toEqual({ at: 'rights.consent.invalidAt' });
    const elsewhere = await refusal(
      consents.record({
        actor: staff(other, 'privacy_officer'),
        values: { subjectId, purpose: 'newsletter', event: 'given', method: 'email' },
      }),
    );
    expect(elsewhere.status).toBe(404);
    const finance = await refusal(
      consents.record({
        actor: staff(org, 'finance'),
        values: { subjectId, purpose: 'newsletter', event: 'given', method: 'email' },
      }),
    );
    expect(finance.status).toBe(403);
    const count = await kluis.db
      .selectFrom('consent_records')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirst();
    expect(Number(count?.n)).toBe(2);
  });

  it('exports a consent record per purpose with its full history (ISO/IEC TS 27560)', async () => {
    const consents = kluis.services.consent;
    const support = staff(org, 'support');
    const subjectId = await client(kluis, org, 'Cas', 'cas@example.test');
    await consents.record({
      actor: support,
      values: { subjectId, purpose: 'newsletter', event: 'given', method: 'web_form', statementVersion: 3 },
    });
    clock.set('2030-04-01T10:00:00.000Z');
    await consents.record({
      actor: support,
      values: { subjectId, purpose: 'newsletter', event: 'withdrawn', method: 'portal', statementVersion: 4 },
    });
    const [doc, ...rest] = await kluis.services.consent.exportRecords(support, subjectId, 'en');
    expect(rest).toEqual([]);
    expect(doc).toMatchObject({
      pii_principal_id: subjectId,
      controller: { id: org.id },
      purpose: { id: 'newsletter', legal_basis: 'consent', personal_data_categories: ['contact_details'] },
      state: 'withdrawn',
      notice: { statement_version: 4 },
      method: 'portal',
      timestamps: { first_recorded: '2030-03-01T10:00:00.000Z', last_changed: '2030-04-01T10:00:00.000Z' },
    });
    expect(doc?.schema).toContain('27560');
    expect(doc?.record_id).toBe(doc?.history[0]?.record_id);
    expect(doc?.history.map((h) => [h.event, h.method, h.notice_version])).toEqual([
      ['given', 'web_form', 3],
      ['withdrawn', 'portal', 4],
    ]);
    expect(
      (await refusal(kluis.services.consent.exportRecords(staff(other, 'privacy_officer'), subjectId, 'en')))
        .status,
    ).toBe(404);
  });

  it('lists as newsletter recipients exactly who consents now, with the address from their relation', async () => {
    const consents = kluis.services.consent;
    const support = staff(org, 'support');
    const give = (subjectId: string) =>
      consents.record({
        actor: support,
        values: { subjectId, purpose: 'newsletter', event: 'given', method: 'web_form' },
      });
    const ada = await client(kluis, org, 'Ada', 'ada@example.test');
    const bo = await client(kluis, org, 'Bo', 'bo@example.test');
    await client(kluis, org, 'Cas', 'cas@example.test');
    const dirk = await client(kluis, org, 'Dirk', 'dirk@example.test');
    const { id: company } = await kluis.services.relations.createRelation({
      actor: support,
      values: { kind: 'organisation', organisationName: 'Eend B.V.', status: 'active' },
    });
    await kluis.services.relations.addContact({
      actor: support,
      relationId: company,
      values: { role: 'general', formOfAddress: 'neutral', familyName: '=Eend', email: 'eva@example.test' },
    });
    const eva =
      (
        await createSubjectsService(kluis).findByContact(
          kluis.db,
          { orgId: org.id },
          { email: 'eva@example.test' },
        )
      )[0]?.id ?? '';
    for (const s of [ada, bo, dirk, eva]) await give(s);
    clock.set('2030-03-01T10:01:00.000Z');
    await consents.record({
      actor: support,
      values: { subjectId: bo, purpose: 'newsletter', event: 'withdrawn', method: 'email' },
    });
    await kluis.services.rights.eraseSubject(
      { orgId: org.id },
      { subjectId: dirk, actor: staff(org, 'privacy_officer') },
    );

    expect((await refusal(kluis.services.consent.exportNewsletter(support, 'nl'))).status).toBe(403);
    const result = await kluis.services.consent.exportNewsletter(staff(org, 'admin'), 'en');
    const rows = parse(result.csv.replace(/^\ufeff/, ''), { skip_empty_lines: true }) as string[][];
    expect(rows[0]).toEqual(['email address', 'name', 'consent since']);
    expect(
      rows
        .slice(1)
        .map((r) => r[0])
        .sort(),
    ).toEqual(['ada@example.test', 'eva@example.test']);
    expect(rows.find((r) => r[0] === 'ada@example.test')?.[1]).toBe('Ada Test');
    // A cell that would start a formula in a spreadsheet is defused.
    expect(rows.find((r) => r[0] === 'eva@example.test')?.[1]).toBe("'=Eend");
    expect(result.recipients).toBe(2);
    const audit = await kluis.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'rights.consent.newsletter_exported')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(audit.meta ?? '{}')).toMatchObject({ recipients: 2 });
    expect(JSON.stringify(audit)).not.toContain('example.test');
  });
});

describe('the consent pages', () => {
  const clock = createFixedClock('2030-03-01T10:00:00.000Z');
  let kluis: TestKluis;
  let app: FastifyInstance;
  let org: Org;
  let officer: LoggedIn;
  let support: LoggedIn;
  let otherOfficer: LoggedIn;
  let subjectId: string;
  beforeAll(async () => {
    kluis = await createTestKluis({ clock });
    app = await buildApp(kluis);
    org = await createOrg(kluis, 'tenant');
    const other = await createOrg(kluis, 'tenant');
    officer = await loginAs(app, await createStaffUser(kluis, { orgId: org.id, roles: ['privacy_officer'] }));
    support = await loginAs(app, await createStaffUser(kluis, { orgId: org.id, roles: ['support'] }));
    otherOfficer = await loginAs(
      app,
      await createStaffUser(kluis, { orgId: other.id, roles: ['privacy_officer'] }),
    );
    subjectId = await client(kluis, org, 'Fenna', 'fenna@example.test');
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  const get = (who: LoggedIn, url: string) => staffRequests(app).get(who, url);
  const post = (who: LoggedIn, url: string, fields: Record<string, string>) =>
    staffRequests(app).post(who, url, fields);

  it('finds a person by address, records consent and a withdrawal, and the download follows at once', async () => {
    const found = await post(support, '/staff/consents/lookup', { email: 'Fenna@Example.test' });
    expect(found.statusCode).toBe(303);
    expect(found.headers.location).toBe(`/staff/consents/subjects/${subjectId}`);
    const unknown = await post(support, '/staff/consents/lookup', { email: 'nobody@example.test' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).toContain('Er is geen persoon met dit e-mailadres bekend.');

    const page = `/staff/consents/subjects/${subjectId}`;
    const given = await post(support, page, {
      purpose: 'newsletter',
      event: 'given',
      method: 'web_form',
      date: '',
      statementVersion: '',
    });
    expect(given.statusCode).toBe(303);
    const csv = await get(officer, '/staff/consents/newsletter.csv');
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.body).toContain('fenna@example.test');

    clock.set('2030-03-01T10:02:00.000Z');
    const withdrawn = await post(support, page, {
      purpose: 'newsletter',
      event: 'withdrawn',
      method: 'email',
      date: '',
      statementVersion: '',
    });
    expect(withdrawn.statusCode).toBe(303);
    expect((await get(officer, '/staff/consents/newsletter.csv')).body).not.toContain('fenna@example.test');
    const history = await get(officer, page);
    expect(history.statusCode).toBe(200);
    expect(history.body).toContain('toestemming ingetrokken');
    expect(history.body).toContain('toestemming gegeven');
    // An officer reads but support records; the form is there for both roles that may record.
    expect(history.body).toContain(`action="/staff/consents/subjects/${subjectId}"`);

    const json = await get(officer, `${page}/consent-records.json`);
    expect(json.statusCode).toBe(200);
    const docs = JSON.parse(json.body) as { state: string; history: unknown[] }[];
    expect(docs[0]).toMatchObject({ state: 'withdrawn' });
    expect(docs[0]?.history).toHaveLength(2);
  });

  it('shows what to fix when the event does not fit the purpose, and stores nothing', async () => {
    const res = await post(support, `/staff/consents/subjects/${subjectId}`, {
      purpose: 'newsletter',
      event: 'objected',
      method: 'email',
      date: '2031-01-01',
      statementVersion: 'x',
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('class="error-summary"');
    expect(res.body).toContain('Vul een datum in het verleden in');
    const fixed = await post(support, `/staff/consents/subjects/${subjectId}`, {
      purpose: 'newsletter',
      event: 'objected',
      method: 'email',
    });
    expect(fixed.statusCode).toBe(400);
    expect(fixed.body).toContain('Dit past niet bij het doel');
  });

  it('keeps the download to privacy officers, admins and owners, and another organisation out', async () => {
    expect((await get(support, '/staff/consents/newsletter.csv')).statusCode).toBe(403);
    expect((await get(otherOfficer, `/staff/consents/subjects/${subjectId}`)).statusCode).toBe(404);
    expect(
      (await get(otherOfficer, `/staff/consents/subjects/${subjectId}/consent-records.json`)).statusCode,
    ).toBe(404);
    const refused = await post(otherOfficer, `/staff/consents/subjects/${subjectId}`, {
      purpose: 'newsletter',
      event: 'given',
      method: 'email',
    });
    expect(refused.statusCode).toBe(404);
    expect((await get(officer, '/staff/consents')).body).toContain('Ontvangers downloaden (CSV)');
    expect((await get(support, '/staff/consents')).body).not.toContain('Ontvangers downloaden (CSV)');
  });
});
