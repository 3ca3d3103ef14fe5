/**
 * The dashboard shows each role what it needs first (issue 16): the privacy officer the open and
 * due rights requests, the security role the security events of the last day; nobody sees a
 * panel their role does not give them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createFixedClock } from '../../src/shared/clock.js';
import { Browser } from '../browser.js';
import { createTestKluis, type TestKluis } from '../dialects.js';
import { createOrg, createStaffUser } from '../factories.js';

describe('dashboard panels per role', () => {
  let kluis: TestKluis;
  let app: Awaited<ReturnType<typeof buildApp>>;
  beforeAll(async () => {
    kluis = await createTestKluis();
    app = await buildApp(kluis);
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  async function dashboardOf(email: string, password: string): Promise<string> {
    const b = new Browser(app);
    await b.login(email, password);
    const res = await b.get('/staff');
    expect(res.statusCode).toBe(200);
    return res.body;
  }

  it('gives the privacy officer the due requests, the security role the security events, and support neither', async () => {
    const org = await createOrg(kluis, 'operator', 'Ambrix');
    const officer = await createStaffUser(kluis, { orgId: org.id, roles: ['privacy_officer'] });
    const security = await createStaffUser(kluis, { orgId: org.id, roles: ['security'] });
    const support = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });

    // A failed sign-in is a security event; a mail to the privacy address an open request.
    await new Browser(app).login(support.email, 'not-the-password-at-all');
    const raw = Buffer.from(
      'From: Piet <piet@example.nl>\r\nTo: privacy@localhost\r\nSubject: Inzage\r\nMessage-ID: <p-1@example.nl>\r\n\r\nGraag inzage.\r\n',
    );
    await kluis.services.inboundMail.receive({ orgId: org.id, mailbox: 'privacy', raw });

    const forOfficer = await dashboardOf(officer.email, officer.password);
    expect(forOfficer).toContain('data-rights-open="1"');
    expect(forOfficer).toContain('1 open verzoek');
    expect(forOfficer).not.toContain('panel-security');

    const forSecurity = await dashboardOf(security.email, security.password);
    expect(forSecurity).toMatch(/data-security-events="[1-9]/);
    expect(forSecurity).toContain('Mislukte aanmeldingen: 1');
    expect(forSecurity).not.toContain('panel-rights');

    const forSupport = await dashboardOf(support.email, support.password);
    expect(forSupport).not.toContain('panel-rights');
    expect(forSupport).not.toContain('panel-security');
    expect(forSupport).not.toContain('panel-statement');
  });
});

describe('the expiring-data panel (P6)', () => {
  const clock = createFixedClock('2030-01-10T09:00:00.000Z');
  let kluis: TestKluis;
  let app: Awaited<ReturnType<typeof buildApp>>;
  beforeAll(async () => {
    kluis = await createTestKluis({ clock });
    app = await buildApp(kluis);
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  async function closedRequest(orgId: string, kind: 'tenant' | 'operator', marker: string) {
    const { conversationId } = await kluis.services.intake.submitContactRequest({
      actor: { kind: 'anonymous', orgId, ref: 'visitor' },
      channel: 'web',
      request: { name: `Piet ${marker}`, email: `${marker}@example.nl`, phone: undefined, message: 'Vraag' },
      locale: 'nl',
    });
    await kluis.services.inbox.setStatus({
      actor: { kind: 'system', orgId, orgKind: kind, reason: 'test', roles: ['support'] },
      id: conversationId,
      status: 'closed',
    });
  }

  it('shows the privacy officer what the sweep erases within 7 and 30 days, counts only and own org only; support and finance see no panel', async () => {
    const org = await createOrg(kluis, 'tenant', 'Bakkerij Jansen');
    const other = await createOrg(kluis, 'tenant', 'Slagerij Smit');
    // Closed on 10 January 2030: deleted 12 months later. One more closed on 25 January.
    await closedRequest(org.id, 'tenant', 'piet-een');
    await closedRequest(org.id, 'tenant', 'piet-twee');
    await closedRequest(other.id, 'tenant', 'piet-elders');
    clock.set('2030-01-25T09:00:00.000Z');
    await closedRequest(org.id, 'tenant', 'piet-drie');
    clock.set('2031-01-05T09:00:00.000Z');

    const officer = await createStaffUser(kluis, { orgId: org.id, roles: ['privacy_officer'] });
    const support = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const finance = await createStaffUser(kluis, { orgId: org.id, roles: ['finance'] });

    const page = await dashboard(officer.email, officer.password);
    expect(page).toContain('panel-retention');
    expect(page).toMatch(/<tr data-category="intake\.conversations" data-counts="2 3">/);
    expect(page).toContain('Binnenkort verwijderd');
    // Counts and categories only: no name or address of anyone.
    expect(page).not.toMatch(/piet-(een|twee|drie|elders)/);

    for (const user of [support, finance]) {
      expect(await dashboard(user.email, user.password)).not.toContain('panel-retention');
    }
    // The service refuses a role without retention.read, whatever the panel shows.
    await expect(
      kluis.services.retention.expiringSoon({
        kind: 'user',
        orgId: org.id,
        orgKind: 'tenant',
        userId: support.user.id,
        roles: ['support'],
      }),
    ).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' });
  });

  async function dashboard(email: string, password: string): Promise<string> {
    const b = new Browser(app);
    await b.login(email, password);
    const res = await b.get('/staff');
    expect(res.statusCode).toBe(200);
    return res.body;
  }
});
