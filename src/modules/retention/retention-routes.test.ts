import { randomUUID } from 'node:crypto';
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
import { countRows, seedConversation, seedRelation, tableCounts } from '../../../test/retention-fixtures.js';
import { buildApp } from '../../app.js';
import { createFixedClock } from '../../shared/clock.js';

describe('the retention page', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;
  let officer: LoggedIn;
  let admin: LoggedIn;
  let support: LoggedIn;
  let otherOfficer: LoggedIn;
  let orgId: string;
  let conversationId: string;
  let subjectId: string;
  const clock = createFixedClock('2024-03-15T10:00:00.000Z');

  beforeAll(async () => {
    kluis = await createTestKluis({ clock });
    app = await buildApp(kluis);
    orgId = (await createOrg(kluis, 'tenant')).id;
    const other = await createOrg(kluis, 'tenant');
    officer = await loginAs(app, await createStaffUser(kluis, { orgId, roles: ['privacy_officer'] }));
    admin = await loginAs(app, await createStaffUser(kluis, { orgId, roles: ['admin'] }));
    support = await loginAs(app, await createStaffUser(kluis, { orgId, roles: ['support', 'finance'] }));
    otherOfficer = await loginAs(
      app,
      await createStaffUser(kluis, { orgId: other.id, roles: ['privacy_officer'] }),
    );
    // Expiring in June 2024, January 2025 and overdue now; a relation ending fiscal records in 2032.
    const c = await seedConversation(kluis, orgId, { closedAt: '2023-06-20T10:00:00.000Z' });
    conversationId = c.id;
    subjectId = c.subjectId;
    await seedConversation(kluis, orgId, { closedAt: '2024-01-05T10:00:00.000Z' });
    await seedConversation(kluis, orgId, { closedAt: '2022-01-05T10:00:00.000Z' });
    await seedRelation(kluis, orgId, { endedAt: '2024-02-01', mandate: {} });
    await seedConversation(kluis, other.id, { closedAt: '2023-06-20T10:00:00.000Z' });
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  const get = (who: LoggedIn, url = '/staff/retention') => staffRequests(app).get(who, url);
  const post = (who: LoggedIn, url: string, fields: Record<string, string>) =>
    staffRequests(app).post(who, url, fields);

  it('shows policies, a forecast chart with its table, and no edit forms to an admin', async () => {
    const res = await get(admin);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<svg class="data-map-svg"');
    expect(res.body).toContain('role="img" aria-labelledby="forecast-title forecast-desc"');
    expect(res.body).toContain('<caption>Verlopende gegevens per maand en soort');
    // The text alternative: March 2024 holds the overdue request, June 2024 one, January 2025 one,
    // May 2024 the relation's client data (3 months after 1 February).
    const row = (month: string) =>
      new RegExp(`<tr><th scope="row">${month}</th>((?:<td>\\d+</td>)+)</tr>`).exec(res.body)?.[1];
    expect(row('2024-03')).toMatch(/^<td>1<\/td>/);
    expect(row('2024-06')).toMatch(/^<td>1<\/td>/);
    expect(row('2025-01')).toMatch(/^<td>1<\/td>/);
    expect(row('2024-05')).toContain('<td>1</td>');
    expect(res.body).toContain('12 maanden');
    expect(res.body).not.toContain('action="/staff/retention/policies/');
    expect(res.body).toContain('Alleen de privacy officer kan termijnen aanpassen.');
  });

  it('refuses staff without a retention role', async () => {
    expect((await get(support)).statusCode).toBe(403);
    expect((await get(support, '/staff/retention/dry-run')).statusCode).toBe(403);
  });

  it('lets the privacy officer tighten a policy, and refuses loosening past the legal maximum with a clear message', async () => {
    const page = await get(officer);
    expect(page.body).toContain('action="/staff/retention/policies/contact_request"');
    const ok = await post(officer, '/staff/retention/policies/contact_request', { value: '9' });
    expect(ok.statusCode).toBe(303);
    const after = await get(officer, '/staff/retention?saved=policy');
    expect(after.body).toContain('De bewaartermijn is aangepast.');
    expect(after.body).toContain('9 maanden');

    const tooLong = await post(officer, '/staff/retention/policies/contact_request', { value: '30' });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.body).toContain('class="error-summary"');
    expect(tooLong.body).toContain('Langer dan toegestaan');
    expect(tooLong.body).toContain('value="30"');
    const tooShort = await post(officer, '/staff/retention/policies/fiscal_7y', { value: '60' });
    expect(tooShort.statusCode).toBe(400);
    expect(tooShort.body).toContain('Korter dan de wettelijke minimumtermijn');
    const configured = await post(officer, '/staff/retention/policies/access_log', { value: '30' });
    expect(configured.statusCode).toBe(400);
    const garbage = await post(officer, '/staff/retention/policies/contact_request', { value: 'veel' });
    expect(garbage.statusCode).toBe(400);
    expect(garbage.body).toContain('Vul een heel getal in');

    const row = await kluis.db
      .selectFrom('retention_policies')
      .selectAll()
      .where('org_id', '=', orgId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ policy_id: 'contact_request', period_value: 9 });
    const audit = await kluis.db
      .selectFrom('audit_log')
      .select('meta')
      .where('action', '=', 'retention.policy.changed')
      .execute();
    expect(audit.map((a) => JSON.parse(a.meta))).toEqual([{ from: 12, to: 9, unit: 'months' }]);
  });

  it('refuses policy changes by an admin (403) and keeps another org’s policies apart', async () => {
    expect((await post(admin, '/staff/retention/policies/contact_request', { value: '1' })).statusCode).toBe(
      403,
    );
    const theirs = await get(otherOfficer);
    expect(theirs.body).toContain('12 maanden');
  });

  it('shows a dry run that changes nothing', async () => {
    // The access log and sessions record the request itself; everything else must stay as it was.
    const counts = async () => {
      const { access_log: _log, sessions: _sessions, ...rest } = await tableCounts(kluis);
      return rest;
    };
    const before = await counts();
    const res = await get(admin, '/staff/retention/dry-run');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<th scope="row">Contactverzoeken</th>');
    expect(res.body).toMatch(/Contactverzoeken<\/th>\s*<td>wissen<\/td>\s*<td>\d+<\/td>/);
    expect(await counts()).toEqual(before);
  });

  it('puts a legal hold on a record of the org, refuses one on another org’s record, and releases it', async () => {
    const created = await post(officer, '/staff/retention/holds', {
      target: 'conversations',
      id: conversationId,
      reason: 'litigation',
      reference: 'Zaak 2024/17',
      until: '',
    });
    expect(created.statusCode).toBe(303);
    const hold = await kluis.db.selectFrom('legal_holds').selectAll().executeTakeFirstOrThrow();
    expect(hold).toMatchObject({
      record_table: 'conversations',
      record_id: conversationId,
      held_until: null,
    });

    const foreign = await seedConversation(kluis, (await createOrg(kluis, 'tenant')).id);
    const refused = await post(officer, '/staff/retention/holds', {
      target: 'data_subjects',
      id: foreign.subjectId,
      reason: 'other',
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('Dit id bestaat niet in uw organisatie.');
    const invalid = await post(officer, '/staff/retention/holds', {
      target: 'data_subjects',
      id: 'not-an-id',
      reason: 'other',
      until: '2020-01-01',
    });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.body).toContain('Vul een geldig id in');
    expect(invalid.body).toContain('Vul een datum in de toekomst in');
    expect(await countRows(kluis, 'legal_holds')).toBe(1);

    // Another org's officer cannot release it: 404, and nothing changes.
    expect((await post(otherOfficer, `/staff/retention/holds/${hold.id}/release`, {})).statusCode).toBe(404);
    expect((await post(officer, `/staff/retention/holds/${randomUUID()}/release`, {})).statusCode).toBe(404);
    const page = await get(officer);
    expect(page.body).toContain('Zaak 2024/17');
    expect(page.body).toContain(`/staff/retention/holds/${hold.id}/release`);
    expect((await post(officer, `/staff/retention/holds/${hold.id}/release`, {})).statusCode).toBe(303);
    const released = await kluis.db.selectFrom('legal_holds').selectAll().executeTakeFirstOrThrow();
    expect(released.released_at).not.toBeNull();
    const subjectHold = await post(officer, '/staff/retention/holds', {
      target: 'data_subjects',
      id: subjectId,
      reason: 'rights_request',
      until: '2024-12-31',
    });
    expect(subjectHold.statusCode).toBe(303);
  });
});
