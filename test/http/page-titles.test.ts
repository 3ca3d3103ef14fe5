/** Page titles name things, never their raw ids (issue 16). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { Browser } from '../browser.js';
import { createTestKluis, type TestKluis } from '../dialects.js';
import { createOrg, createStaffUser } from '../factories.js';

describe('page titles', () => {
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

  it("titles a processing activity's page with the purpose's name, not its id", async () => {
    const org = await createOrg(kluis, 'operator', 'Ambrix');
    const officer = await createStaffUser(kluis, { orgId: org.id, roles: ['privacy_officer'] });
    const b = new Browser(app);
    await b.login(officer.email, officer.password);
    const page = await b.get('/staff/register/activities/handle_requests');
    expect(page.statusCode).toBe(200);
    const title = /<title>([^<]*)<\/title>/.exec(page.body)?.[1] ?? '';
    expect(title).toContain('Afhandelen van informatie- en hulpvragen');
    expect(title).not.toContain('handle_requests');
  });
});
