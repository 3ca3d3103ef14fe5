/**
 * Restriction of processing in the relations pages and API (P6, Art. 18 GDPR): a relation,
 * agreement or mandate the retention sweep kept only for the fiscal duty is gone from support's
 * lists, counts, pages and API answers (a 404, as for another org's record), and still there for
 * finance. Records are restricted by the real sweep, not by hand.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import {
  createOrg,
  createStaffUser,
  type LoggedIn,
  loginAs,
  staffRequests,
} from '../../../test/factories.js';
import { countRows, type SeededRelation, seedRelation } from '../../../test/retention-fixtures.js';
import { buildApp } from '../../app.js';
import { createFixedClock } from '../../shared/clock.js';
import { isRestricted } from '../retention/retention-restriction.js';
import { creditorIdCheckDigits } from './relations-sepa.js';

interface ApiList {
  items: { id: string }[];
  total: number;
}

interface ApiDetail {
  id: string;
  restricted: boolean;
  agreements: { id: string; restricted: boolean }[];
  mandates: { id: string; reference: string; restricted: boolean }[];
}

const RESTRICTED_TAG = 'Beperkt (fiscale bewaarplicht)';
const tagsIn = (body: string) => body.split(RESTRICTED_TAG).length - 1;

const referenceOf = (mandateId: string) => `M-${mandateId.slice(0, 8)}`;

function only<T>(items: readonly T[]): T {
  const [first, ...rest] = items;
  if (first === undefined || rest.length > 0) throw new Error(`expected one item, got ${items.length}`);
  return first;
}

describe('restricted relations over HTTP', () => {
  // Three months after 1 January 2023 the ordinary purpose of a relation that ended then is over.
  const clock = createFixedClock('2023-06-01T09:00:00.000Z');
  let kluis: TestKluis;
  let app: FastifyInstance;
  let support: LoggedIn;
  let finance: LoggedIn;
  /** Ended with an agreement and a mandate: the relation, agreement and mandate are restricted. */
  let ended: SeededRelation;
  /** Running, with a mandate revoked long ago: only the mandate is restricted. */
  let running: SeededRelation;
  /** Running, with an active mandate: nothing restricted. */
  let plain: SeededRelation;

  beforeAll(async () => {
    kluis = await createTestKluis({ clock, env: { KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: '100000' } });
    const org = await createOrg(kluis, 'tenant');
    ended = await seedRelation(kluis, org.id, { endedAt: '2023-01-01', agreement: true, mandate: {} });
    running = await seedRelation(kluis, org.id, {
      status: 'active',
      mandate: { status: 'revoked', revokedAt: '2023-01-15T10:00:00.000Z' },
    });
    plain = await seedRelation(kluis, org.id, { status: 'active', mandate: {} });
    await kluis.services.retention.run();
    app = await buildApp(kluis);
    support = await loginAs(app, await createStaffUser(kluis, { orgId: org.id, roles: ['support'] }));
    finance = await loginAs(app, await createStaffUser(kluis, { orgId: org.id, roles: ['finance'] }));
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  const get = (who: LoggedIn, url: string, accept = 'text/html') => staffRequests(app).get(who, url, accept);
  const post = (who: LoggedIn, url: string, fields: Record<string, string>) =>
    staffRequests(app).post(who, url, fields, 'text/html');
  const getJson = async <T>(who: LoggedIn, url: string): Promise<T> => {
    const res = await get(who, url, 'application/json');
    expect(res.statusCode, url).toBe(200);
    return res.json<T>();
  };

  it('starts from what the sweep restricted (and nothing else)', async () => {
    expect(await isRestricted(kluis.db, 'relations', ended.id)).toBe(true);
    expect(await isRestricted(kluis.db, 'relation_agreements', only(ended.agreementIds))).toBe(true);
    expect(await isRestricted(kluis.db, 'relation_mandates', only(ended.mandateIds))).toBe(true);
    expect(await isRestricted(kluis.db, 'relations', running.id)).toBe(false);
    expect(await isRestricted(kluis.db, 'relation_mandates', only(running.mandateIds))).toBe(true);
    expect(await isRestricted(kluis.db, 'relations', plain.id)).toBe(false);
    expect(await isRestricted(kluis.db, 'relation_mandates', only(plain.mandateIds))).toBe(false);
  });

  it('leaves a restricted relation out of support’s list pages and API list, in every sort order', async () => {
    for (const sort of ['name', 'created', 'status', 'started']) {
      const page = await get(support, `/staff/relations?sort=${sort}`);
      expect(page.statusCode).toBe(200);
      expect(page.body).not.toContain(`/staff/relations/${ended.id}`);
      expect(page.body).toContain(`/staff/relations/${running.id}`);
      expect(page.body).toContain(`/staff/relations/${plain.id}`);
      const list = await getJson<ApiList>(support, `/api/v1/relations?sort=${sort}`);
      expect(list.items.map((r) => r.id).sort()).toEqual([running.id, plain.id].sort());
      expect(list.total).toBe(2);
    }
    const endedOnly = await getJson<ApiList>(support, '/api/v1/relations?status=ended');
    expect(endedOnly).toMatchObject({ items: [], total: 0 });
  });

  it('lists a restricted relation for finance', async () => {
    for (const sort of ['name', 'created']) {
      const page = await get(finance, `/staff/relations?sort=${sort}`);
      expect(page.body).toContain(`/staff/relations/${ended.id}`);
      // Marked, so finance does not use it for anything but the duty; only the ended one is.
      expect(tagsIn(page.body)).toBe(1);
      const list = await getJson<ApiList>(finance, `/api/v1/relations?sort=${sort}`);
      expect(list.items.map((r) => r.id).sort()).toEqual([ended.id, running.id, plain.id].sort());
      expect(list.total).toBe(3);
    }
  });

  it('answers 404 to support for a restricted relation’s page, forms, agreement and API, and changes nothing', async () => {
    const base = `/staff/relations/${ended.id}`;
    for (const url of [
      base,
      `${base}/edit`,
      `${base}/address`,
      `${base}/contacts/new`,
      `${base}/agreements/${only(ended.agreementIds)}`,
    ]) {
      expect((await get(support, url)).statusCode, url).toBe(404);
    }
    expect((await get(support, `/api/v1/relations/${ended.id}`, 'application/json')).statusCode).toBe(404);
    const before = await kluis.db
      .selectFrom('relations')
      .select(['status', 'updated_at'])
      .where('id', '=', ended.id)
      .executeTakeFirstOrThrow();
    const edit = await post(support, base, { organisationName: 'Overgenomen BV', status: 'active' });
    expect(edit.statusCode).toBe(404);
    const after = await kluis.db
      .selectFrom('relations')
      .select(['status', 'updated_at'])
      .where('id', '=', ended.id)
      .executeTakeFirstOrThrow();
    expect(after).toEqual(before);
  });

  it('shows finance the restricted relation with its agreement and mandate', async () => {
    const base = `/staff/relations/${ended.id}`;
    const page = await get(finance, base);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(referenceOf(only(ended.mandateIds)));
    // The relation, its agreement and its mandate each carry the mark, and the page says why.
    expect(tagsIn(page.body)).toBe(3);
    expect(page.body).toContain('fiscale bewaarplicht dat eist (AWR art. 52)');
    for (const url of [
      `${base}/agreements/${only(ended.agreementIds)}`,
      `${base}/mandates/${only(ended.mandateIds)}`,
    ]) {
      const sub = await get(finance, url);
      expect(sub.statusCode, url).toBe(200);
      expect(tagsIn(sub.body), url).toBe(1);
      expect(sub.body, url).toContain('fiscale bewaarplicht dat eist (AWR art. 52)');
    }
    // An unrestricted mandate's page carries no mark.
    const plainMandate = await get(
      finance,
      `/staff/relations/${plain.id}/mandates/${only(plain.mandateIds)}`,
    );
    expect(plainMandate.statusCode).toBe(200);
    expect(tagsIn(plainMandate.body)).toBe(0);
    const detail = await getJson<ApiDetail>(finance, `/api/v1/relations/${ended.id}`);
    expect(detail.agreements.map((a) => a.id)).toEqual(ended.agreementIds);
    expect(detail.mandates.map((m) => m.id)).toEqual(ended.mandateIds);
    expect([
      detail.restricted,
      ...detail.agreements.map((a) => a.restricted),
      ...detail.mandates.map((m) => m.restricted),
    ]).toEqual([true, true, true]);
  });

  it('hides a restricted mandate of a running relationship from support and keeps it for finance', async () => {
    const mandateId = only(running.mandateIds);
    const page = await get(support, `/staff/relations/${running.id}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain(referenceOf(mandateId));
    const forSupport = await getJson<ApiDetail>(support, `/api/v1/relations/${running.id}`);
    expect(forSupport.mandates).toEqual([]);
    // The unrestricted mandate of another relation is still shown to support (the filter is per record).
    const plainForSupport = await getJson<ApiDetail>(support, `/api/v1/relations/${plain.id}`);
    expect(plainForSupport.mandates.map((m) => m.id)).toEqual(plain.mandateIds);

    const financePage = (await get(finance, `/staff/relations/${running.id}`)).body;
    expect(financePage).toContain(referenceOf(mandateId));
    expect(tagsIn(financePage)).toBe(1);
    const forFinance = await getJson<ApiDetail>(finance, `/api/v1/relations/${running.id}`);
    expect(forFinance.mandates.map((m) => m.id)).toEqual([mandateId]);
    expect(forFinance).toMatchObject({ restricted: false, mandates: [{ restricted: true }] });
  });

  it('never offers or collects a restricted mandate, not even for finance', async () => {
    const creditor = await post(finance, '/staff/direct-debits/creditor', {
      name: 'Ambrix B.V.',
      creditorId: `NL${creditorIdCheckDigits('NL', '123456780000')}ZZZ123456780000`,
      iban: 'NL20 INGB 0001 2345 67',
      bic: 'INGBNL2A',
    });
    expect(creditor.statusCode).toBe(303);
    const page = await get(finance, '/staff/direct-debits');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(referenceOf(only(plain.mandateIds)));
    // Still `active`, but its relation ended and is restricted: kept for the fiscal duty only.
    expect(page.body).not.toContain(referenceOf(only(ended.mandateIds)));
    const exported = await post(finance, '/staff/direct-debits/export', {
      requestedDate: '2023-06-05',
      [`amount.${only(ended.mandateIds)}`]: '12,50',
    });
    expect(exported.statusCode).toBe(400);
    expect(await countRows(kluis, 'relation_collections')).toBe(0);
  });
});
