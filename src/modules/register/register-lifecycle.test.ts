/**
 * The sub-processor lifecycle (Art. 28(2) and (4), Art. 46): active needs an agreement on file and,
 * outside the EEA, a transfer mechanism and an assessment; the operator announces a new one with a
 * notice period; a client objects through its staff pages; the operator sees the objection; the
 * public page lists the upcoming change with its date.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { rejection } from '../../../test/errors.js';
import {
  createOrg,
  createStaffUser,
  type LoggedIn,
  loginAs,
  staffRequests,
} from '../../../test/factories.js';
import { buildApp } from '../../app.js';
import type { Actor } from '../../shared/actor.js';
import { createFixedClock } from '../../shared/clock.js';
import type { Org } from '../orgs/index.js';

const clock = createFixedClock('2030-03-04T09:00:00.000Z');

const cloud = {
  name: 'Cloudy Inc.',
  service: 'Backups',
  location: 'Virginia',
  country: 'US',
  dataCategories: ['contact_details'],
  agreementVersion: '1.0',
  agreementSignedOn: '2030-01-10',
};

describe('the sub-processor lifecycle', () => {
  let kluis: TestKluis;
  let operator: Org;
  let officer: Actor;

  beforeEach(async () => {
    clock.set('2030-03-04T09:00:00.000Z');
    kluis = await createTestKluis({ clock, env: { KLUIS_SUBPROCESSOR_NOTICE_DAYS: '14' } });
    operator = await createOrg(kluis, 'operator', 'Ambrix');
    officer = {
      kind: 'user',
      orgId: operator.id,
      orgKind: 'operator',
      userId: 'officer-1',
      roles: ['privacy_officer'],
    };
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  it('refuses an active sub-processor without an agreement on file, and accepts it proposed', async () => {
    const register = kluis.services.register;
    const values = { ...cloud, country: 'NL', agreementVersion: '', agreementSignedOn: '' };
    const refused = await rejection(register.createSubprocessor({ actor: officer, values }));
    expect(refused.code).toBe('ERR_VALIDATION');
    expect(refused.fields).toEqual({ agreementVersion: 'register.sp.activeNeedsAgreement' });
    expect(await register.listSubprocessors({ actor: officer })).toEqual([]);
    const { subprocessor } = await register.createSubprocessor({
      actor: officer,
      values: { ...values, status: 'proposed' },
    });
    // Still no agreement: it cannot become active later either.
    const later = await rejection(
      register.updateSubprocessor({
        actor: officer,
        id: subprocessor.id,
        values: { ...values, status: 'active' },
      }),
    );
    expect(later.fields).toEqual({ agreementVersion: 'register.sp.activeNeedsAgreement' });
    const ok = await register.updateSubprocessor({
      actor: officer,
      id: subprocessor.id,
      values: { ...values, agreementVersion: '3', agreementSignedOn: '2030-01-01' },
    });
    expect(ok.subprocessor).toMatchObject({ status: 'active', agreement: { version: '3' } });
    expect(await register.listPublicSubprocessors(operator.id)).toHaveLength(1);
  });

  it('refuses an active sub-processor outside the EEA without a transfer mechanism and an assessment', async () => {
    const register = kluis.services.register;
    const none = await rejection(register.createSubprocessor({ actor: officer, values: cloud }));
    expect(none.fields).toEqual({
      transferMechanism: 'register.sp.activeNeedsMechanism',
      transferAssessment: 'register.sp.activeNeedsAssessment',
    });
    const sccWithoutDate = await rejection(
      register.createSubprocessor({
        actor: officer,
        values: { ...cloud, transferMechanism: 'scc', transferAssessment: 'Encrypted in the EEA.' },
      }),
    );
    expect(sccWithoutDate.fields).toEqual({ sccDate: 'register.sp.sccNeedsDate' });
    const noAssessment = await rejection(
      register.createSubprocessor({ actor: officer, values: { ...cloud, transferMechanism: 'bcr' } }),
    );
    expect(noAssessment.fields).toEqual({ transferAssessment: 'register.sp.activeNeedsAssessment' });
    const forged = await rejection(
      register.createSubprocessor({
        actor: officer,
        values: { ...cloud, transferMechanism: 'trust-me', transferAssessment: 'x' },
      }),
    );
    expect(forged.code).toBe('ERR_VALIDATION');
    expect(await register.listSubprocessors({ actor: officer })).toEqual([]);

    const { subprocessor } = await register.createSubprocessor({
      actor: officer,
      values: {
        ...cloud,
        transferMechanism: 'scc',
        sccDate: '2029-12-01',
        transferAssessment: 'Encrypted with keys held in the EEA.',
      },
    });
    expect(subprocessor).toMatchObject({
      status: 'active',
      inEea: false,
      transferMechanism: 'scc',
      sccDate: '2029-12-01',
      transferAssessment: 'Encrypted with keys held in the EEA.',
    });
  });

  it('activates an announced sub-processor when its notice period has run, unless a client objected or a requirement is missing', async () => {
    const tenant = await createOrg(kluis, 'tenant', 'Acme');
    const register = kluis.services.register;
    const inEea = { ...cloud, country: 'NL' };
    const propose = async (name: string, extra: Partial<typeof inEea> = {}) =>
      (
        await register.createSubprocessor({
          actor: officer,
          values: { ...inEea, ...extra, name, status: 'proposed' },
        })
      ).subprocessor;
    const plain = await propose('Plain Hosting B.V.');
    const disputed = await propose('Disputed Mail B.V.');
    const unsigned = await propose('Unsigned B.V.', { agreementVersion: '', agreementSignedOn: '' });
    for (const s of [plain, disputed, unsigned]) {
      await register.announceSubprocessor({ actor: officer, id: s.id, values: {} });
    }
    await register.objectToSubprocessor({
      actor: { kind: 'user', orgId: tenant.id, orgKind: 'tenant', userId: 'u', roles: ['owner'] },
      id: disputed.id,
      values: { reasons: 'We object.' },
    });

    // Before the date nothing starts.
    expect(await register.activateDue()).toEqual({ activated: 0, heldByObjection: 0, heldIncomplete: 0 });
    clock.set('2030-03-18T00:20:00.000Z');
    expect(await register.activateDue()).toEqual({ activated: 1, heldByObjection: 1, heldIncomplete: 1 });
    const status = async (id: string) => (await register.getSubprocessor({ actor: officer, id })).status;
    expect(await status(plain.id)).toBe('active');
    expect(await status(disputed.id)).toBe('announced');
    expect(await status(unsigned.id)).toBe('announced');
    // Running again changes nothing and writes no second entry.
    expect(await register.activateDue()).toEqual({ activated: 0, heldByObjection: 1, heldIncomplete: 1 });
    const audit = await kluis.db
      .selectFrom('audit_log')
      .select(['action', 'target_id'])
      .where('action', '=', 'register.subprocessor.activate')
      .execute();
    expect(audit).toEqual([{ action: 'register.subprocessor.activate', target_id: plain.id }]);
  });

  describe('announcement, objection and the operator’s view (HTTP)', () => {
    let app: FastifyInstance;
    let tenant: Org;
    let operatorOfficer: LoggedIn;
    let tenantOwner: LoggedIn;

    beforeEach(async () => {
      tenant = await createOrg(kluis, 'tenant', 'Acme');
      app = await buildApp(kluis);
      operatorOfficer = await loginAs(app, {
        ...(await createStaffUser(kluis, { orgId: operator.id, roles: ['privacy_officer'] })),
        org: operator.slug,
      });
      tenantOwner = await loginAs(app, {
        ...(await createStaffUser(kluis, { orgId: tenant.id, roles: ['owner'] })),
        org: tenant.slug,
      });
    });
    afterEach(async () => {
      await app.close();
    });

    it('announces with notice, lets a client object with reasons before the date, and shows the objection to the operator', async () => {
      const http = staffRequests(app);
      const register = kluis.services.register;
      const { subprocessor } = await register.createSubprocessor({
        actor: officer,
        values: { ...cloud, country: 'DE', name: 'Frankfurt Hosting GmbH', status: 'proposed' },
      });
      // Not announced yet: clients see nothing of it.
      expect((await http.get(tenantOwner, `/staff/subprocessor-notices/${subprocessor.id}`)).statusCode).toBe(
        404,
      );
      expect((await http.get({ cookie: '' }, '/subprocessors')).body).not.toContain('Frankfurt Hosting');

      const edit = await http.get(operatorOfficer, `/staff/subprocessors/${subprocessor.id}`);
      expect(edit.body).toContain(`action="/staff/subprocessors/${subprocessor.id}/announce"`);
      const tooSoon = await http.post(operatorOfficer, `/staff/subprocessors/${subprocessor.id}/announce`, {
        effectiveOn: '2030-03-10',
      });
      expect(tooSoon.statusCode).toBe(400);
      const announced = await http.post(operatorOfficer, `/staff/subprocessors/${subprocessor.id}/announce`, {
        effectiveOn: '',
      });
      expect(announced.statusCode).toBe(303);
      expect((await register.getSubprocessor({ actor: officer, id: subprocessor.id })).effectiveOn).toBe(
        '2030-03-18',
      );

      // The public page lists the upcoming change with its date.
      const publicPage = await http.get({ cookie: '' }, '/en/subprocessors');
      expect(publicPage.body).toContain(`data-upcoming="${subprocessor.id}"`);
      expect(publicPage.body).toContain('Frankfurt Hosting GmbH');
      expect(publicPage.body).toContain('18 March 2030');

      // The client objects, with reasons.
      const page = await http.get(tenantOwner, `/staff/subprocessor-notices/${subprocessor.id}`);
      expect(page.statusCode).toBe(200);
      const empty = await http.post(tenantOwner, `/staff/subprocessor-notices/${subprocessor.id}`, {
        reasons: ' ',
      });
      expect(empty.statusCode).toBe(400);
      const objected = await http.post(tenantOwner, `/staff/subprocessor-notices/${subprocessor.id}`, {
        reasons: 'Our clients <b>forbid</b> processing in Germany.',
      });
      expect(objected.statusCode).toBe(303);

      // Someone without the role cannot object; the operator's own staff do not object to themselves.
      const support = await loginAs(app, {
        ...(await createStaffUser(kluis, { orgId: tenant.id, roles: ['support'] })),
        org: tenant.slug,
      });
      expect(
        (await http.post(support, `/staff/subprocessor-notices/${subprocessor.id}`, { reasons: 'no' }))
          .statusCode,
      ).toBe(403);
      expect(
        (
          await http.post(operatorOfficer, `/staff/subprocessor-notices/${subprocessor.id}`, {
            reasons: 'no',
          })
        ).statusCode,
      ).toBe(404);

      // The operator sees it, escaped, on the list and on the sub-processor's page.
      const list = await http.get(operatorOfficer, '/staff/subprocessors');
      expect(list.body).toContain('Acme');
      expect(list.body).toContain('Our clients &lt;b&gt;forbid&lt;/b&gt; processing in Germany.');
      const detail = await http.get(operatorOfficer, `/staff/subprocessors/${subprocessor.id}`);
      expect(detail.body).toContain('Our clients &lt;b&gt;forbid&lt;/b&gt; processing in Germany.');
      const objections = await register.listObjections({ actor: officer });
      expect(objections).toMatchObject([{ clientOrgId: tenant.id, clientName: 'Acme' }]);
      // A tenant's register holds no objections of others.
      expect(
        await register.listObjections({
          actor: {
            kind: 'user',
            orgId: tenant.id,
            orgKind: 'tenant',
            userId: 'x',
            roles: ['privacy_officer'],
          },
        }),
      ).toEqual([]);

      // After the date the period to object is closed.
      clock.set('2030-03-18T07:00:00.000Z');
      const late = await rejection(
        register.objectToSubprocessor({
          actor: { kind: 'user', orgId: tenant.id, orgKind: 'tenant', userId: 'u', roles: ['owner'] },
          id: subprocessor.id,
          values: { reasons: 'Too late?' },
        }),
      );
      expect(late.fields).toEqual({ reasons: 'register.sp.objectionClosed' });
      expect(await register.listObjections({ actor: officer })).toHaveLength(1);
      const audit = await kluis.db
        .selectFrom('audit_log')
        .select('action')
        .where('action', 'in', ['register.subprocessor.announce', 'register.subprocessor.objection'])
        .execute();
      expect(audit.map((a) => a.action).sort()).toEqual([
        'register.subprocessor.announce',
        'register.subprocessor.objection',
      ]);
    });
  });
});
