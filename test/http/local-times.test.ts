/**
 * Pages show times on the Amsterdam clock in the reader's language, never the stored UTC value;
 * the exact UTC instant stays in `<time datetime>` for machines. The clock stands at 01:30 UTC on
 * the night summer time ends, when Amsterdam reads 02:30 (winter time).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createFixedClock } from '../../src/shared/clock.js';
import { Browser } from '../browser.js';
import { createTestKluis, type TestKluis } from '../dialects.js';
import { createOrg, createStaffUser, type StaffCredentials } from '../factories.js';

describe('times on staff pages', () => {
  const AT = '2026-10-25T01:30:00.000Z';
  const clock = createFixedClock(AT);
  let kluis: TestKluis;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let officer: StaffCredentials;
  let requestId: string;

  beforeAll(async () => {
    kluis = await createTestKluis({ clock, env: { KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: '100000' } });
    app = await buildApp(kluis);
    const org = await createOrg(kluis, 'tenant', 'Bakkerij Jansen');
    officer = await createStaffUser(kluis, { orgId: org.id, roles: ['privacy_officer', 'security'] });
    ({ id: requestId } = await kluis.services.rights.submit({
      orgId: org.id,
      right: 'access',
      email: 'anna@example.org',
      locale: 'nl',
    }));
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  async function pageOf(url: string): Promise<string> {
    const b = new Browser(app);
    await b.login(officer.email, officer.password);
    const res = await b.get(url);
    expect(res.statusCode, url).toBe(200);
    return res.body;
  }

  it('shows when a rights request came in on the Amsterdam clock, in Dutch and in English', async () => {
    const nl = await pageOf(`/staff/rights/${requestId}`);
    expect(nl).toContain(`<time datetime="${AT}">25 oktober 2026 02:30</time>`);
    expect(nl).not.toContain('2026-10-25 01:30');
    expect(nl).not.toContain('01:30</');
    const en = await pageOf(`/staff/rights/${requestId}?lang=en`);
    expect(en).toContain(`<time datetime="${AT}">25 October 2026, 02:30</time>`);
    // The queue dates the request by the same clock.
    expect(await pageOf('/staff/rights')).toContain('25 oktober 2026 02:30');
  });

  it('shows the audit trail’s times on the Amsterdam clock, with the UTC instant for machines', async () => {
    const audit = await pageOf('/staff/security/audit');
    expect(audit).toContain(`<time datetime="${AT}">25 oktober 2026 02:30</time>`);
    expect(audit).not.toContain(`>${AT}<`);
    expect(audit).not.toContain('(UTC)');
  });
});
