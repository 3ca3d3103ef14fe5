/**
 * Every read of a relation's personal data is audited with its purpose (issue 12 item 7, P8):
 * operator staff under a support grant open a relation; the tenant's grant page lists each record
 * read and the person's access export lists the consultations, as done by the operator. Also the
 * list, the consent history and the rights timeline under a grant.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import {
  createOrg,
  createStaffUser,
  type LoggedIn,
  loginAs,
  setCookies,
  staffRequests,
} from '../../../test/factories.js';
import { buildApp } from '../../app.js';
import type { Actor } from '../../shared/actor.js';
import { createFixedClock } from '../../shared/clock.js';
import { SESSION_COOKIE } from '../auth/auth-sessions.js';
import type { Org } from '../orgs/index.js';
import { eventRef } from '../rights/rights-requests.js';

const NAME = 'Wilhelmina Leesbewijs-Audit';

describe('audited reads of relations (issue 12 item 7)', () => {
  const clock = createFixedClock('2031-05-01T09:00:00.000Z');
  let kluis: TestKluis;
  let app: FastifyInstance;
  let tenant: Org;
  let tenantAdmin: LoggedIn;
  let operatorLogin: () => Promise<LoggedIn>;
  let operatorEmail: string;
  let relationId: string;
  let contactId: string;
  let subjectId: string;

  const tenantSupport = (): Actor => ({
    kind: 'user',
    orgId: tenant.id,
    orgKind: 'tenant',
    userId: 'tenant-support',
    roles: ['support'],
  });

  beforeAll(async () => {
    kluis = await createTestKluis({ clock, env: { KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: '100000' } });
    app = await buildApp(kluis);
    tenant = await createOrg(kluis, 'tenant', 'Klant Die Meekijkt');
    const operator = await createOrg(kluis, 'operator', 'Beheerder');
    tenantAdmin = await loginAs(app, await createStaffUser(kluis, { orgId: tenant.id, roles: ['admin'] }));
    const operatorStaff = await createStaffUser(kluis, { orgId: operator.id, roles: ['support'] });
    operatorEmail = operatorStaff.email;
    operatorLogin = () => loginAs(app, operatorStaff);
    const relations = kluis.services.relations;
    relationId = (
      await relations.createRelation({
        actor: tenantSupport(),
        values: {
          kind: 'person',
          formOfAddress: 'ms',
          givenName: 'Wilhelmina',
          familyName: 'Leesbewijs-Audit',
          email: 'w.leesbewijs@example.nl',
          phone: '+31 6 2222 3333',
          status: 'active',
          startedAt: '2030-01-01',
        },
      })
    ).id;
    contactId = (
      await relations.addContact({
        actor: tenantSupport(),
        relationId,
        values: {
          kind: 'person',
          formOfAddress: 'mr',
          givenName: 'Karel',
          familyName: 'Contactpersoon',
          email: 'karel.contact@example.nl',
          role: 'billing',
        },
      })
    ).id;
    await relations.setAddress({
      actor: tenantSupport(),
      relationId,
      values: { country: 'NL', city: 'Utrecht', postcode: '3511 AB', street: 'Oudegracht', houseNumber: '1' },
    });
    subjectId = (
      await kluis.db
        .selectFrom('relations')
        .select('subject_id')
        .where('id', '=', relationId)
        .executeTakeFirstOrThrow()
    ).subject_id;
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  const withNewSession = (who: LoggedIn, res: LightMyRequestResponse): LoggedIn => {
    const token = setCookies(res).get(SESSION_COOKIE);
    if (token === undefined || token === '') throw new Error(`no new session (status ${res.statusCode})`);
    return {
      ...who,
      sessionToken: token,
      cookie: who.cookie.replace(`${SESSION_COOKIE}=${who.sessionToken}`, `${SESSION_COOKIE}=${token}`),
    };
  };

  const consultations = async (of = subjectId) =>
    (await kluis.services.rights.compileExport({ orgId: tenant.id }, of, { asOf: clock.now() }))
      .consultations;

  it('lists an operator’s read of a relation on the grant page and in the person’s access export', async () => {
    const requests = staffRequests(app);
    const granted = await requests.post(tenantAdmin, '/staff/grants', {
      granteeEmail: operatorEmail,
      roles: ['support'],
      purpose: 'Klant kan relatiegegevens niet vinden (ticket 812)',
      agreementRef: 'Verwerkersovereenkomst 2031',
      days: '1',
    });
    expect(granted.statusCode).toBe(303);
    const grant = await kluis.db.selectFrom('operator_grants').select('id').executeTakeFirstOrThrow();
    const operator = await operatorLogin();
    const under = withNewSession(operator, await requests.post(operator, `/staff/grants/${grant.id}/enter`));

    const page = await requests.get(under, `/staff/relations/${relationId}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Leesbewijs-Audit');

    const uses = await requests.get(tenantAdmin, `/staff/grants/${grant.id}`);
    expect(uses.statusCode).toBe(200);
    for (const action of ['relations.relation.read', 'relations.contact.read', 'relations.address.read']) {
      expect(uses.body).toContain(action);
    }
    expect(uses.body).toContain(`relation:${relationId}`);

    const byOperator = (await consultations()).filter((c) => c.by === 'operator');
    expect(byOperator).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          action: 'relations.relation.read',
          table: 'relations',
          recordId: relationId,
          purpose: 'contract_administration',
          fields: expect.arrayContaining(['relations.family_name', 'relations.email', 'relations.phone']),
        }),
        expect.objectContaining({ action: 'relations.address.read', table: 'relation_addresses' }),
      ]),
    );
    // The contact person is a data subject of their own: their export lists the read of their record.
    const contact = await kluis.db
      .selectFrom('relation_contacts')
      .select('subject_id')
      .where('id', '=', contactId)
      .executeTakeFirstOrThrow();
    expect((await consultations(contact.subject_id)).filter((c) => c.by === 'operator')).toEqual([
      expect.objectContaining({
        action: 'relations.contact.read',
        table: 'relation_contacts',
        recordId: contactId,
        fields: expect.arrayContaining(['relation_contacts.family_name', 'relation_contacts.email']),
      }),
    ]);
    // The entries keep the grant id: the trail names the grant, not only the person.
    const entry = await kluis.db
      .selectFrom('audit_log')
      .select('actor')
      .where('action', '=', 'relations.relation.read')
      .where('target_id', '=', relationId)
      .executeTakeFirstOrThrow();
    expect(entry.actor).toContain(`@grant:${grant.id}`);
  });

  it('audits each person shown in the relation list', async () => {
    const before = (await consultations()).filter((c) => c.action === 'relations.relation.list').length;
    const page = await kluis.services.relations.listRelations({
      actor: tenantSupport(),
      sort: 'name',
      dir: 'asc',
      page: 1,
    });
    expect(page.items.map((i) => i.displayName)).toContain(NAME);
    const after = (await consultations()).filter((c) => c.action === 'relations.relation.list');
    expect(after).toHaveLength(before + 1);
    expect(after.at(-1)).toMatchObject({
      recordId: relationId,
      by: 'staff',
      purpose: 'contract_administration',
    });
  });

  it('audits a read of the consent history against the person', async () => {
    await kluis.services.consent.history(tenantSupport(), subjectId);
    expect((await consultations()).filter((c) => c.action === 'rights.consent.history.read')).toEqual([
      expect.objectContaining({ table: 'data_subjects', recordId: subjectId, purpose: 'rights_handling' }),
    ]);
  });

  it('keeps the grant id in a rights request’s timeline', () => {
    const underGrant: Actor = {
      kind: 'user',
      orgId: tenant.id,
      orgKind: 'tenant',
      userId: 'op-1',
      roles: ['support'],
      grantId: 'grant-9',
    };
    expect(eventRef(underGrant)).toBe('user:op-1@grant:grant-9');
    expect(eventRef(tenantSupport())).toBe('user:tenant-support');
  });
});
