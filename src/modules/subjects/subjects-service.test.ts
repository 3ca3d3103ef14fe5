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

  it('finds, in one look-up, every live subject matching the email or the phone, each once, oldest first, never an erased one', async () => {
    const org = await createOrg(kluis, 'tenant');
    const other = await createOrg(kluis, 'tenant');
    const subjects = createSubjectsService(kluis);
    const scope = { orgId: org.id };
    const mail = await subjects.findOrCreate(kluis.db, scope, { email: 'a@example.nl' });
    const phone = await subjects.findOrCreate(kluis.db, scope, { phone: '+31612345678' });
    const both = await subjects.findOrCreate(kluis.db, scope, {
      email: 'b@example.nl',
      phone: '+31687654321',
    });
    const erased = await subjects.findOrCreate(kluis.db, scope, { email: 'c@example.nl' });
    await kluis.db
      .updateTable('data_subjects')
      .set({ erased_at: '2025-01-01T00:00:00.000Z' })
      .where('id', '=', erased.id)
      .execute();
    await subjects.findOrCreate(
      kluis.db,
      { orgId: other.id },
      { email: 'a@example.nl', phone: '+31612345678' },
    );
    const ids = async (keys: { email?: string; phone?: string }) =>
      (await subjects.findByContact(kluis.db, scope, keys)).map((s) => s.id);
    expect(await ids({ email: 'a@example.nl', phone: '+31612345678' })).toEqual([mail.id, phone.id]);
    expect(await ids({ email: 'b@example.nl', phone: '+31687654321' })).toEqual([both.id]);
    expect(await ids({ phone: '+31687654321' })).toEqual([both.id]);
    expect(await ids({ email: 'c@example.nl', phone: '+31612345678' })).toEqual([phone.id]);
    expect(await ids({})).toEqual([]);
    // The email match wins when the phone belongs to someone else.
    const found = await subjects.findOrCreate(kluis.db, scope, {
      email: 'a@example.nl',
      phone: '+31612345678',
    });
    expect(found.id).toBe(mail.id);
  });
});
