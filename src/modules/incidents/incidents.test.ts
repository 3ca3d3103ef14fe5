/**
 * The breach register (issue 14) on a real database, a real SMTP sink and the real job worker:
 * signals opening incidents with the right awareness time, the 72-hour clock and its reminders
 * (injected clock), notifying affected tenants, mailing subjects in Dutch and English, refusing
 * a late notification without reasons, one register never showing another's, every step audited.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import {
  createOrg,
  createStaffUser,
  loginAs,
  type StaffCredentials,
  staffRequests,
} from '../../../test/factories.js';
import { seedRelation } from '../../../test/retention-fixtures.js';
import { buildApp } from '../../app.js';
import type { Actor } from '../../shared/actor.js';
import { createFixedClock, HOUR, MINUTE } from '../../shared/clock.js';
import { createWorker } from '../jobs/jobs-worker.js';
import { createMailSink, type MailSink } from '../mail/mail-sink.js';
import type { Org } from '../orgs/index.js';

const T0 = '2026-03-02T09:00:00.000Z';

describe('the breach register', () => {
  const clock = createFixedClock(T0);
  let sink: MailSink;
  let kluis: TestKluis;
  let app: FastifyInstance;
  let operator: Org;
  let tenantA: Org;
  let tenantB: Org;
  let opSecurity: StaffCredentials;
  let aSecurity: StaffCredentials;
  let bSecurity: StaffCredentials;
  let aOwner: StaffCredentials;
  let aOfficer: StaffCredentials;

  const actorOf = (c: StaffCredentials, org: Org): Actor => ({
    kind: 'user',
    orgId: org.id,
    orgKind: org.kind,
    userId: c.user.id,
    roles: ['security'],
  });

  beforeAll(async () => {
    sink = await createMailSink({ port: 0, host: '127.0.0.1' });
    kluis = await createTestKluis({
      clock,
      env: {
        KLUIS_SMTP_URL: sink.url,
        KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: '100000',
        KLUIS_INCIDENT_LOGIN_ACCOUNTS: '3',
        KLUIS_INCIDENT_LOGIN_WINDOW_MINUTES: '10',
        KLUIS_INCIDENT_READ_RECORDS: '3',
        KLUIS_INCIDENT_READ_WINDOW_MINUTES: '5',
      },
    });
    app = await buildApp(kluis);
    operator = await createOrg(kluis, 'operator', 'Ambrix');
    tenantA = await createOrg(kluis, 'tenant', 'Bakkerij Jansen');
    tenantB = await createOrg(kluis, 'tenant', 'Elders BV');
    opSecurity = await createStaffUser(kluis, { orgId: operator.id, roles: ['security'] });
    aSecurity = await createStaffUser(kluis, { orgId: tenantA.id, roles: ['security'] });
    bSecurity = await createStaffUser(kluis, { orgId: tenantB.id, roles: ['security'] });
    aOwner = await createStaffUser(kluis, {
      orgId: tenantA.id,
      roles: ['owner'],
      email: 'eigenaar@jansen.test',
    });
    aOfficer = await createStaffUser(kluis, {
      orgId: tenantA.id,
      roles: ['privacy_officer'],
      email: 'privacy@jansen.test',
    });
  });
  beforeEach(() => {
    sink.clear();
  });
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

  async function failLogin(email: string): Promise<void> {
    await expect(loginAs(app, { email, password: 'wrong-password-123' })).rejects.toThrow(/login failed/);
  }

  const auditActions = async (incidentId: string) =>
    (
      await kluis.db
        .selectFrom('audit_log')
        .select('action')
        .where('target_type', '=', 'incident')
        .where('target_id', '=', incidentId)
        .orderBy('seq')
        .execute()
    ).map((r) => r.action);

  it('opens an incident when sign-ins fail on many accounts, aware when the threshold was crossed', async () => {
    clock.set(T0);
    await failLogin(aOwner.email);
    clock.advance(MINUTE);
    await failLogin(aOwner.email); // the same account again: still one account
    clock.advance(MINUTE);
    await failLogin(aOfficer.email);
    const none = await kluis.db
      .selectFrom('incidents')
      .selectAll()
      .where('signal', '=', 'login_burst')
      .execute();
    expect(none).toEqual([]);
    clock.advance(MINUTE);
    const crossed = clock.now().toISOString();
    await failLogin(bSecurity.email);
    clock.advance(MINUTE);
    await failLogin(aSecurity.email); // a fourth account joins the same incident
    const rows = await kluis.db
      .selectFrom('incidents')
      .selectAll()
      .where('signal', '=', 'login_burst')
      .execute();
    expect(rows).toHaveLength(1);
    const row = rows[0];
    expect(row?.aware_at).toBe(crossed);
    expect(row?.org_id).toBe(operator.id);
    expect(row?.role).toBe('processor');
    expect(row?.window_from_at).toBe(T0);
    expect(row?.window_to_at).toBe(clock.now().toISOString());
    const affected = await kluis.db
      .selectFrom('incident_orgs')
      .select('affected_org_id')
      .where('incident_id', '=', row?.id ?? '')
      .execute();
    expect(affected.map((a) => a.affected_org_id).sort()).toEqual([tenantA.id, tenantB.id].sort());
    expect(await auditActions(row?.id ?? '')).toEqual(['incidents.opened']);
  });

  it('opens an incident when one account reads many records in a short window', async () => {
    clock.set('2026-03-03T09:00:00.000Z');
    const reader = actorOf(aSecurity, tenantA);
    const read = (id: string) =>
      kluis.services.audit.append(kluis.db, {
        actor: reader,
        action: 'relations.relation.read',
        target: { type: 'relation', id },
      });
    await read('r-1');
    await read('r-1');
    await read('r-2');
    expect(
      await kluis.db.selectFrom('incidents').selectAll().where('signal', '=', 'read_burst').execute(),
    ).toEqual([]);
    clock.advance(MINUTE);
    await read('r-3');
    const rows = await kluis.db
      .selectFrom('incidents')
      .selectAll()
      .where('signal', '=', 'read_burst')
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.org_id).toBe(tenantA.id);
    expect(rows[0]?.aware_at).toBe(clock.now().toISOString());
    expect(rows[0]?.suspect).toBe(`user:${aSecurity.user.id}`);
  });

  it('opens an incident from a refused send, a broken chain and a lost key', async () => {
    clock.set('2026-03-04T09:00:00.000Z');
    await kluis.services.audit.append(kluis.db, {
      actor: { kind: 'system', orgId: tenantB.id, orgKind: 'tenant', reason: 'egress', roles: [] },
      action: 'egress.refused',
      meta: { host: 'evil.example' },
    });
    await kluis.services.audit.append(kluis.db, {
      actor: { kind: 'anonymous', orgId: null, ref: 'system:audit.verify' },
      action: 'security.audit.verify_failed',
      meta: { seq: 4, reason: 'altered' },
    });
    await kluis.services.incidents.reportKeyLost(actorOf(opSecurity, operator), 'backup_key');
    const signals = (
      await kluis.db.selectFrom('incidents').select('signal').where('org_id', '=', operator.id).execute()
    ).map((r) => r.signal);
    expect(signals).toEqual(expect.arrayContaining(['egress_refused', 'audit_chain', 'key_lost']));
  });

  it('runs the 72-hour clock with reminders at 24 and 48 hours, and refuses a late notification without reasons', async () => {
    clock.set('2026-03-05T08:00:00.000Z');
    // Only this incident runs its clock here: the ones opened above are closed.
    await kluis.db.updateTable('incidents').set({ status: 'closed' }).execute();
    const actor = actorOf(opSecurity, operator);
    const row = await kluis.services.incidents.record(actor, {
      title: 'Laptop kwijt',
      nature: 'Een laptop van een medewerker is gestolen.',
      windowFrom: '2026-03-05T07:00:00.000Z',
      windowTo: '2026-03-05T08:00:00.000Z',
    });
    clock.advance(23 * HOUR);
    expect(await kluis.services.incidents.clockDuties()).toEqual({ reminders: 0 });
    clock.advance(HOUR);
    expect(await kluis.services.incidents.clockDuties()).toEqual({ reminders: 1 });
    expect(await kluis.services.incidents.clockDuties()).toEqual({ reminders: 0 });
    await deliver();
    const reminder = sink.messages().find((m) => m.to.includes(opSecurity.email.toLowerCase()));
    expect(reminder?.subject).toMatch(/48/);
    clock.advance(24 * HOUR);
    expect(await kluis.services.incidents.clockDuties()).toEqual({ reminders: 1 });
    const detail = await kluis.services.incidents.get(actor, row.id);
    expect(detail.events.map((e) => e.kind)).toEqual(['opened', 'reminder_24h', 'reminder_48h']);
    expect(detail.clock.hoursLeft).toBe(24);

    clock.advance(24 * HOUR + MINUTE);
    await kluis.services.incidents.assess(actor, row.id, {
      risk: 'risk',
      reasons: 'versleutelde schijf, wel wachtwoord op briefje',
    });
    await expect(
      kluis.services.incidents.fileWithAuthority(actor, row.id, { channel: 'Meldloket', reference: 'AP-1' }),
    ).rejects.toMatchObject({ code: 'ERR_INCIDENT_LATE_WITHOUT_REASONS' });
    const refused = await kluis.services.incidents.get(actor, row.id);
    expect(refused.incident.authority_filed_at).toBeNull();
    await kluis.services.incidents.fileWithAuthority(actor, row.id, {
      channel: 'Meldloket',
      reference: 'AP-1',
      delayReasons: 'De omvang werd pas na forensisch onderzoek duidelijk.',
    });
    const filed = await kluis.services.incidents.get(actor, row.id);
    expect(filed.incident.authority_filed_at).toBe(clock.now().toISOString());
    expect(filed.incident.delay_reasons).toMatch(/forensisch/);
    expect(await auditActions(row.id)).toEqual([
      'incidents.opened',
      'incidents.reminder_24h',
      'incidents.reminder_48h',
      'incidents.assessed',
      'incidents.authority_filed',
    ]);
  });

  it('informs the affected tenant’s owners and privacy officers of a processor incident by mail', async () => {
    clock.set('2026-03-10T09:00:00.000Z');
    const actor = actorOf(opSecurity, operator);
    const row = await kluis.services.incidents.record(actor, {
      title: 'Back-up onversleuteld gekopieerd',
      nature: 'Een back-up is naar een verkeerde opslag gekopieerd.',
      windowFrom: '2026-03-10T08:00:00.000Z',
      windowTo: '2026-03-10T09:00:00.000Z',
      affectedOrgIds: [tenantA.id],
      measuresTaken: 'Kopie verwijderd.',
    });
    expect(row.role).toBe('processor');
    const result = await kluis.services.incidents.notifyTenants(actor, row.id);
    expect(result).toEqual({ orgs: 1, mails: 2 });
    expect(await deliver()).toBeGreaterThanOrEqual(2);
    const to = sink.messages().flatMap((m) => m.to);
    expect(to).toEqual(expect.arrayContaining(['eigenaar@jansen.test', 'privacy@jansen.test']));
    expect(to).not.toContain(bSecurity.email.toLowerCase());
    const mail = sink.messages().find((m) => m.to.includes('eigenaar@jansen.test'));
    expect(mail?.text).toMatch(/art\. 33 lid 2|Art\. 33\(2\)/);
    await expect(kluis.services.incidents.notifyTenants(actor, row.id)).rejects.toMatchObject({
      code: 'ERR_INCIDENT_NOT_ALLOWED',
    });
    expect(await auditActions(row.id)).toEqual(['incidents.opened', 'incidents.tenants_notified']);
  });

  it('mails every reachable affected subject of a high-risk incident in Dutch and English, counting sent', async () => {
    clock.set('2026-03-12T09:00:00.000Z');
    const relation = await seedRelation(kluis, tenantA.id, { status: 'active' });
    const actor = actorOf(aSecurity, tenantA);
    clock.advance(MINUTE);
    await kluis.services.audit.append(kluis.db, {
      actor: { kind: 'user', orgId: tenantA.id, orgKind: 'tenant', userId: aOwner.user.id, roles: ['owner'] },
      action: 'relations.relation.updated',
      target: { type: 'relation', id: relation.id },
      fields: ['relations.email'],
    });
    clock.advance(MINUTE);
    const row = await kluis.services.incidents.record(actor, {
      title: 'Klantgegevens gewijzigd door onbekende',
      nature: 'Een account is overgenomen en heeft klantgegevens gewijzigd.',
      windowFrom: '2026-03-12T09:00:00.000Z',
      windowTo: clock.now().toISOString(),
      consequences: 'Phishing met uw gegevens is mogelijk.',
      measuresTaken: 'Account geblokkeerd, wachtwoorden vervangen.',
    });
    expect(row.role).toBe('controller');
    expect(row.records_approx).toBe(1);
    expect(row.subjects_approx).toBe(1);
    expect(JSON.parse(row.categories)).toContain('contact_details');
    await expect(kluis.services.incidents.notifySubjects(actor, row.id)).rejects.toMatchObject({
      code: 'ERR_INCIDENT_NOT_ALLOWED',
    });
    await kluis.services.incidents.assess(actor, row.id, {
      risk: 'high',
      reasons: 'identiteitsfraude mogelijk',
    });
    await kluis.services.incidents.decide(actor, row.id, { decision: 'notify', reasons: 'hoog risico' });
    expect(await kluis.services.incidents.notifySubjects(actor, row.id)).toEqual({
      queued: 1,
      unreachable: 0,
    });
    await deliver();
    const mail = sink.messages().find((m) => m.to.includes('anna@example.test'));
    expect(mail?.text).toContain('Bij Bakkerij Jansen is een beveiligingsincident');
    expect(mail?.text).toContain('had a security incident that may involve your personal data');
    const detail = await kluis.services.incidents.get(actor, row.id);
    expect(detail.notices).toEqual({ queued: 0, sent: 1, failed: 0 });
    expect(detail.decidedByName).not.toBeNull();
    expect(await kluis.services.incidents.notifySubjects(actor, row.id)).toEqual({
      queued: 0,
      unreachable: 0,
    });
    expect(await auditActions(row.id)).toEqual([
      'incidents.opened',
      'incidents.assessed',
      'incidents.decided',
      'incidents.subjects_queued',
      'incidents.subject_mail_sent',
      'incidents.subjects_queued',
    ]);
  });

  it('never shows tenant A’s incidents to tenant B, nor lets B change them', async () => {
    clock.set('2026-03-15T09:00:00.000Z');
    const a = actorOf(aSecurity, tenantA);
    const b = actorOf(bSecurity, tenantB);
    const row = await kluis.services.incidents.record(a, {
      title: 'Alleen van A',
      nature: 'Iets bij A.',
      windowFrom: '2026-03-15T08:00:00.000Z',
      windowTo: '2026-03-15T09:00:00.000Z',
      affectedOrgIds: [tenantB.id],
    });
    // A tenant cannot name another organisation as affected: its register is about its own data.
    const affected = await kluis.services.incidents.get(a, row.id);
    expect(affected.affected.map((x) => x.affected_org_id)).toEqual([tenantA.id]);
    expect((await kluis.services.incidents.list(b)).map((r) => r.id)).not.toContain(row.id);
    await expect(kluis.services.incidents.get(b, row.id)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await expect(
      kluis.services.incidents.assess(b, row.id, { risk: 'none', reasons: 'x' }),
    ).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
    });
    const http = staffRequests(app);
    const bSession = await loginAs(app, bSecurity);
    expect((await http.get(bSession, `/staff/incidents/${row.id}`)).statusCode).toBe(404);
    expect((await http.get(bSession, `/staff/incidents/${row.id}/authority.json`)).statusCode).toBe(404);
    expect((await http.post(bSession, `/staff/incidents/${row.id}/close`)).statusCode).toBe(404);
    const csv = await http.get(bSession, '/staff/incidents/export.csv');
    expect(csv.statusCode).toBe(200);
    expect(csv.body).not.toContain('Alleen van A');
    const aSession = await loginAs(app, aSecurity);
    expect((await http.get(aSession, '/staff/incidents/export.csv')).body).toContain('Alleen van A');
    const unchanged = await kluis.services.incidents.get(a, row.id);
    expect(unchanged.incident.status).toBe('open');
    expect(unchanged.incident.risk).toBeNull();
  });

  it('lets a privacy officer read but not change the register, and other roles not even read it', async () => {
    const http = staffRequests(app);
    const officer = await loginAs(app, aOfficer);
    expect((await http.get(officer, '/staff/incidents')).statusCode).toBe(200);
    expect((await http.post(officer, '/staff/incidents', { title: 'x' })).statusCode).toBe(403);
    const owner = await loginAs(app, aOwner);
    expect((await http.get(owner, '/staff/incidents')).statusCode).toBe(403);
  });

  it('prepares the notification to the authority in Dutch with what Art. 33(3) requires', async () => {
    clock.set('2026-03-20T09:00:00.000Z');
    const actor = actorOf(opSecurity, operator);
    const row = await kluis.services.incidents.record(actor, {
      title: 'Verkeerde mail',
      nature: 'Een bestand is naar de verkeerde ontvanger gemaild.',
      windowFrom: '2026-03-20T08:00:00.000Z',
      windowTo: '2026-03-20T09:00:00.000Z',
      consequences: 'Inzage door een onbevoegde.',
      measuresTaken: 'Ontvanger gevraagd te verwijderen.',
    });
    const http = staffRequests(app);
    const session = await loginAs(app, opSecurity);
    const json = JSON.parse(
      (await http.get(session, `/staff/incidents/${row.id}/authority.json`)).body,
    ) as Record<string, unknown>;
    expect(json).toMatchObject({
      formaat: 'kluis.ap-melding/1',
      incident: { aard: 'Een bestand is naar de verkeerde ontvanger gemaild.' },
      waarschijnlijkeGevolgen: 'Inzage door een onbevoegde.',
      maatregelen: { genomen: 'Ontvanger gevraagd te verwijderen.' },
      omvang: { betrokkenenBijBenadering: 0, recordsBijBenadering: 0 },
    });
    const page = await http.get(session, `/staff/incidents/${row.id}/authority`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Melding datalek aan de Autoriteit Persoonsgegevens');
    expect(page.body).not.toMatch(/<script/i);
    const incidentPage = await http.get(session, `/staff/incidents/${row.id}`);
    expect(incidentPage.body).toContain('<svg');
    expect(incidentPage.body).toContain('incident-deadline');
    expect(incidentPage.body).toContain('nog 72 uur');
    const dashboard = await http.get(session, '/staff');
    expect(dashboard.body).toContain('Verkeerde mail');
  });
});
