import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg, createStaffUser } from '../../../test/factories.js';
import { seedIntakeDemo } from './intake-demo.js';

describe('the demo inbox', () => {
  let kluis: TestKluis;
  beforeAll(async () => {
    kluis = await createTestKluis();
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  it('seeds realistic conversations on every channel once, with a support user to read them', async () => {
    const operator = await createOrg(kluis, 'operator', 'Ambrix');
    const admin = await createStaffUser(kluis, { orgId: operator.id, roles: ['owner', 'admin'] });
    const banner = await seedIntakeDemo(kluis, operator, admin.user.id);
    expect(banner.join('\n')).toMatch(/Demo inbox: 5 conversations; support login support@ambrix\.example/);
    const rows = await kluis.db.selectFrom('conversations').selectAll().execute();
    expect(new Set(rows.map((r) => r.channel))).toEqual(new Set(['web', 'email', 'phone', 'api']));
    expect(rows.filter((r) => r.possible_rights_request === 1)).toHaveLength(1);
    expect(rows.filter((r) => r.assigned_user_id === admin.user.id)).toHaveLength(1);
    const kinds = await kluis.db.selectFrom('conversation_entries').select('kind').execute();
    expect(kinds.filter((k) => k.kind === 'outbound')).toHaveLength(1);
    expect(kinds).toHaveLength(7);
    // A second start adds nothing.
    expect(await seedIntakeDemo(kluis, operator, admin.user.id)).toEqual([]);
    expect(await kluis.db.selectFrom('conversations').select('id').execute()).toHaveLength(5);
  });
});
