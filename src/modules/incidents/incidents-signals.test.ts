/**
 * Signals through their real paths (issue 14): a verification that finds the audit chain broken
 * opens an incident in the operator's register; operator staff reading many records under a
 * tenant's grant open one in the operator's register, as processor, with the tenant affected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg, createStaffUser } from '../../../test/factories.js';
import { dropAppendOnlyGuards } from '../../../test/security/audit-attacker.js';
import type { Actor } from '../../shared/actor.js';
import { createFixedClock } from '../../shared/clock.js';
import type { Org } from '../orgs/index.js';
import type { IncidentSignal } from './incidents-schema.js';

describe('incident signals through their real paths', () => {
  const clock = createFixedClock('2026-05-04T09:00:00.000Z');
  let kluis: TestKluis;
  let operator: Org;
  let tenant: Org;
  let security: Actor;

  beforeAll(async () => {
    kluis = await createTestKluis({ clock, env: { KLUIS_INCIDENT_READ_RECORDS: '2' } });
    operator = await createOrg(kluis, 'operator', 'Ambrix');
    tenant = await createOrg(kluis, 'tenant', 'Bakkerij Jansen');
    const user = await createStaffUser(kluis, { orgId: operator.id, roles: ['security'] });
    security = {
      kind: 'user',
      orgId: operator.id,
      orgKind: 'operator',
      userId: user.user.id,
      roles: ['security'],
    };
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  const incidents = (signal: IncidentSignal) =>
    kluis.db.selectFrom('incidents').selectAll().where('signal', '=', signal).execute();

  it('opens an incident when the security page finds the audit chain broken, and only then', async () => {
    await kluis.services.security.auditOverview(security);
    expect(await incidents('audit_chain')).toEqual([]);
    await dropAppendOnlyGuards(kluis.db);
    await kluis.db.updateTable('audit_log').set({ action: 'test.tampered' }).where('seq', '=', 1).execute();
    clock.advance(60_000);
    await kluis.services.security.auditOverview(security);
    const rows = await incidents('audit_chain');
    expect(rows).toHaveLength(1);
    expect(rows[0]?.org_id).toBe(operator.id);
    expect(rows[0]?.aware_at).toBe(clock.now().toISOString());
    // Looking again the same day adds no second incident.
    await kluis.services.security.auditOverview(security);
    expect(await incidents('audit_chain')).toHaveLength(1);
  });

  it('puts reads under a tenant’s grant in the operator’s register, as processor for that tenant', async () => {
    const underGrant: Actor = {
      kind: 'user',
      orgId: tenant.id,
      orgKind: 'tenant',
      userId: 'staff-1',
      roles: ['support'],
      grantId: 'grant-1',
    };
    for (const id of ['c-1', 'c-2']) {
      await kluis.services.audit.append(kluis.db, {
        actor: underGrant,
        action: 'intake.conversation.read',
        target: { type: 'conversation', id },
      });
    }
    const rows = await incidents('read_burst');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      org_id: operator.id,
      role: 'processor',
      suspect: 'user:staff-1@grant:grant-1',
    });
    const affected = await kluis.db
      .selectFrom('incident_orgs')
      .select('affected_org_id')
      .where('incident_id', '=', rows[0]?.id ?? '')
      .execute();
    expect(affected.map((a) => a.affected_org_id)).toEqual([tenant.id]);
  });
});
