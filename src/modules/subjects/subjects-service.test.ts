import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg } from '../../../test/factories.js';
import { createSubjectsService } from './subjects-service.js';

describe('data subjects', () => {
  let kluis: TestKluis;
  beforeEach(async () => {
    kluis = await createTestKluis();
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  it('links the same person across channels by blind index, and stores no address in clear', async () => {
    const org = await createOrg(kluis, 'tenant');
    const subjects = createSubjectsService(kluis);
    const scope = { orgId: org.id };
    const byMail = await subjects.findOrCreate(kluis.db, scope, { email: 'Jan.Jansen@Example.nl' });
    const byBoth = await subjects.findOrCreate(kluis.db, scope, {
      email: 'jan.jansen@example.nl ',
      phone: '+31 6 1234 5678',
    });
    const byPhone = await subjects.findOrCreate(kluis.db, scope, { phone: '+31612345678' });
    expect(byBoth.id).toBe(byMail.id);
    expect(byPhone.id).toBe(byMail.id);
    const rows = await kluis.db.selectFrom('data_subjects').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toMatch(/jansen|1234/i);
  });

  it('keeps organisations apart: the same address in another org is another subject, invisible here', async () => {
    const a = await createOrg(kluis, 'tenant');
    const b = await createOrg(kluis, 'tenant');
    const subjects = createSubjectsService(kluis);
    const inA = await subjects.findOrCreate(kluis.db, { orgId: a.id }, { email: 'x@example.nl' });
    const inB = await subjects.findOrCreate(kluis.db, { orgId: b.id }, { email: 'x@example.nl' });
    expect(inA.id).not.toBe(inB.id);
    expect(inA.email_bidx).not.toBe(inB.email_bidx);
    expect(await subjects.findById(kluis.db, { orgId: b.id }, inA.id)).toBeUndefined();
    expect(await subjects.findByContact(kluis.db, { orgId: a.id }, { email: 'y@example.nl' })).toEqual([]);
  });
});
