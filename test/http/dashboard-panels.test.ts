/**
 * The dashboard shows each role what it needs first (issue 16): the privacy officer the open and
 * due rights requests, the security role the security events of the last day; nobody sees a
 * panel their role does not give them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
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
