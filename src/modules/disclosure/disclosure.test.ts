/**
 * Legally compelled disclosure (issue 12 item 6, P9): a case needs the operator's privacy officer
 * and owner — two different people — before an export is made; the export holds only the scope;
 * a subject or record outside it is refused; the tenant's owners are told at once, or when a
 * non-disclosure order ends (the daily job, injected clock); every step lands in the tenant's
 * audit trail and the disclosed person's access export, and not before the gag ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg, createStaffUser } from '../../../test/factories.js';
import { unzip } from '../../../test/zip.js';
import type { Actor, Role } from '../../shared/actor.js';
import { createFixedClock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { Org } from '../orgs/index.js';

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('legally compelled disclosure (P9)', () => {
  const clock = createFixedClock('2031-06-01T09:00:00.000Z');
  let kluis: TestKluis;
  let tenant: Org;
  let operator: Org;
  const subjects: { subjectId: string; relationId: string }[] = [];

  const operatorStaff = (userId: string, ...roles: Role[]): Actor => ({
    kind: 'user',
    orgId: operator.id,
    orgKind: 'operator',
    userId,
    roles,
  });
  const officer = () => operatorStaff('op-privacy-officer', 'privacy_officer');
  const owner = () => operatorStaff('op-owner', 'owner');
  const both = () => operatorStaff('op-both', 'owner', 'privacy_officer');

  const order = (over: Record<string, unknown> = {}) => ({
    authority: 'Rechtbank Midden-Nederland',
    legalBasis: 'art. 126nd Wetboek van Strafvordering',
    orderReference: 'RB-2031-0042',
    subjects: [subjects[0]?.subjectId ?? ''],
    deadline: '2031-06-15',
    ...over,
  });

  const tenantActions = async (action: string) =>
    (
      await kluis.db
        .selectFrom('audit_log')
        .select(['action', 'target_id'])
        .where('org_id', '=', tenant.id)
        .where('action', 'like', action)
        .orderBy('seq')
        .execute()
    ).map((r) => r.action);

  const outbox = async () =>
    Number(
      (
        await kluis.db
          .selectFrom('jobs')
          .select((eb) => eb.fn.countAll<number | string>().as('n'))
          .where('type', '=', 'mail.send')
          .where('org_id', '=', tenant.id)
          .executeTakeFirst()
      )?.n ?? 0,
    );

  beforeAll(async () => {
    kluis = await createTestKluis({ clock });
    tenant = await createOrg(kluis, 'tenant', 'Klant Met Bevel');
    operator = await createOrg(kluis, 'operator', 'Beheerder');
    await createStaffUser(kluis, { orgId: tenant.id, roles: ['owner'], email: 'eigenaar@klant.example' });
    const support: Actor = {
      kind: 'user',
      orgId: tenant.id,
      orgKind: 'tenant',
      userId: 't-support',
      roles: ['support'],
    };
    for (const family of ['Bevelsma', 'Buitenscoop']) {
      const { id } = await kluis.services.relations.createRelation({
        actor: support,
        values: {
          kind: 'person',
          formOfAddress: 'mr',
          givenName: 'Jan',
          familyName: family,
          email: `${family.toLowerCase()}@example.nl`,
          status: 'active',
          startedAt: '2030-01-01',
        },
      });
      const row = await kluis.db
        .selectFrom('relations')
        .select('subject_id')
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      subjects.push({ subjectId: row.subject_id, relationId: id });
    }
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  it('refuses a single approver and the same person approving twice', async () => {
    const { id } = await kluis.services.disclosure.record({
      actor: officer(),
      tenantId: tenant.id,
      values: order(),
    });
    const disclosure = kluis.services.disclosure;
    // Tenant staff, even its owner, handle no legal order.
    const tenantOwner: Actor = {
      kind: 'user',
      orgId: tenant.id,
      orgKind: 'tenant',
      userId: 't-owner',
      roles: ['owner'],
    };
    expect(await refusal(disclosure.approve({ actor: tenantOwner, id, as: 'owner' }))).toBe('ERR_NOT_FOUND');
    // Nothing without approvals; then with one approval.
    expect(await refusal(disclosure.disclose({ actor: officer(), id }))).toBe('ERR_FORBIDDEN');
    await disclosure.approve({ actor: both(), id, as: 'privacy_officer' });
    expect(await refusal(disclosure.disclose({ actor: both(), id }))).toBe('ERR_FORBIDDEN');
    // The same person cannot give the second approval.
    expect(await refusal(disclosure.approve({ actor: both(), id, as: 'owner' }))).toBe('ERR_FORBIDDEN');
    // Approving as a role one does not hold is refused.
    expect(await refusal(disclosure.approve({ actor: officer(), id, as: 'owner' }))).toBe('ERR_FORBIDDEN');
    expect(await refusal(disclosure.disclose({ actor: both(), id }))).toBe('ERR_FORBIDDEN');
    const row = await kluis.db
      .selectFrom('legal_orders')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect([row.status, row.export_zip, row.owner_user_id]).toEqual(['recorded', null, null]);
  });

  it('discloses only the scope, refuses anything outside it, and tells the tenant at once', async () => {
    const [inScope, outside] = subjects;
    if (inScope === undefined || outside === undefined) throw new Error('not seeded');
    const disclosure = kluis.services.disclosure;
    const mailsBefore = await outbox();
    const { id } = await disclosure.record({
      actor: officer(),
      tenantId: tenant.id,
      values: order({ records: [`relations:${inScope.relationId}`] }),
    });
    // Told at once: one mail to the tenant's owner, and the case is in the tenant's trail.
    expect(await outbox()).toBe(mailsBefore + 1);
    expect(await tenantActions('disclosure.recorded')).toContain('disclosure.recorded');
    await disclosure.approve({ actor: officer(), id, as: 'privacy_officer' });
    await disclosure.approve({ actor: owner(), id, as: 'owner' });

    expect(await refusal(disclosure.disclose({ actor: owner(), id, subjects: [outside.subjectId] }))).toBe(
      'ERR_FORBIDDEN',
    );
    expect(
      await refusal(
        disclosure.disclose({ actor: owner(), id, records: [`relations:${outside.relationId}`] }),
      ),
    ).toBe('ERR_FORBIDDEN');

    const { zip, sha256 } = await disclosure.disclose({ actor: owner(), id });
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    const entries = await unzip(zip);
    const all = [...entries.values()].map((b) => b.toString('utf8')).join('\n');
    expect(all).toContain('Bevelsma');
    expect(all).not.toContain('Buitenscoop');
    expect(
      [...entries.keys()].every((k) => k === 'order.json' || k.startsWith(`subjects/${inScope.subjectId}/`)),
    ).toBe(true);

    // Every step in the tenant's trail; the person's access export lists the disclosure.
    expect(await tenantActions('disclosure.%')).toEqual(
      expect.arrayContaining([
        'disclosure.approved_privacy_officer',
        'disclosure.approved_owner',
        'disclosure.disclosed',
        'disclosure.subject.disclosed',
      ]),
    );
    const exported = await kluis.services.rights.compileExport({ orgId: tenant.id }, inScope.subjectId, {
      asOf: clock.now(),
    });
    expect(exported.consultations.filter((c) => c.action === 'disclosure.subject.disclosed')).toEqual([
      expect.objectContaining({
        table: 'data_subjects',
        recordId: inScope.subjectId,
        purpose: 'legal_obligation',
      }),
    ]);
  });

  it('keeps a gagged case from the tenant until the non-disclosure order ends, then tells it', async () => {
    const [, second] = subjects;
    if (second === undefined) throw new Error('not seeded');
    const disclosure = kluis.services.disclosure;
    const mailsBefore = await outbox();
    const before = (await tenantActions('disclosure.%')).length;
    const { id } = await disclosure.record({
      actor: officer(),
      tenantId: tenant.id,
      values: order({ subjects: [second.subjectId], gagUntil: '2031-09-01', orderReference: 'GAG-7' }),
    });
    await disclosure.approve({ actor: officer(), id, as: 'privacy_officer' });
    await disclosure.approve({ actor: owner(), id, as: 'owner' });
    await disclosure.disclose({ actor: owner(), id });
    const exportOf = async () =>
      (
        await kluis.services.rights.compileExport({ orgId: tenant.id }, second.subjectId, {
          asOf: clock.now(),
        })
      ).consultations;

    // During the gag: no mail, nothing in the tenant's trail or the person's export.
    expect(await outbox()).toBe(mailsBefore);
    expect((await tenantActions('disclosure.%')).length).toBe(before);
    expect((await exportOf()).filter((c) => c.action.startsWith('disclosure.'))).toEqual([]);
    clock.set('2031-08-31T23:00:00.000Z');
    expect(await disclosure.releaseDue()).toEqual({ released: 0 });
    expect(await outbox()).toBe(mailsBefore);

    // The day it ends, the job tells the tenant and its trail gets every step.
    clock.set('2031-09-01T07:05:00.000Z');
    expect(await disclosure.releaseDue()).toEqual({ released: 1 });
    expect(await outbox()).toBe(mailsBefore + 1);
    expect((await tenantActions('disclosure.%')).slice(before)).toEqual([
      'disclosure.recorded',
      'disclosure.approved_privacy_officer',
      'disclosure.approved_owner',
      'disclosure.disclosed',
      'disclosure.subject.disclosed',
      'disclosure.tenant_notified',
    ]);
    expect((await exportOf()).filter((c) => c.action === 'disclosure.subject.disclosed')).toHaveLength(1);
    expect(await disclosure.releaseDue()).toEqual({ released: 0 });
  });
});
