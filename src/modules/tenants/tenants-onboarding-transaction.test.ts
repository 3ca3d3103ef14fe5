/**
 * Onboarding a tenant is one transaction (issue 12): the org, its profile, the processor
 * agreement and its sealed document, activation, the first owner, the invitation token and the
 * queued invitation mail stand or fall together. A failure at the last step (a real audit
 * subscriber that refuses the invitation entry) leaves not one row in any table of any module,
 * nor a key in the key store (a database of its own, outside the transaction), and the slug can
 * be used again at once.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg, systemActor } from '../../../test/factories.js';
import { createFixedClock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { tableOwners } from '../index.js';
import type { Org } from '../orgs/index.js';

const pdf = Buffer.from('%PDF-1.7\n% getekende verwerkersovereenkomst\n%%EOF\n', 'latin1');

describe('tenant onboarding in one transaction', () => {
  const clock = createFixedClock('2030-10-01T08:00:00.000Z');
  let kluis: TestKluis;
  let operator: Org;
  let failInvitation = false;

  beforeAll(async () => {
    kluis = await createTestKluis({ clock });
    operator = await createOrg(kluis, 'operator');
    // The operator's own key is minted on its first use (the agreement is kept in its register);
    // minting it here keeps the key-store census about the tenant's key alone.
    await kluis.keyring.blindIndex(operator.id, 'text', 'first use');
    kluis.services.audit.subscribe(['auth.invitation.sent'], async () => {
      if (failInvitation) throw new Error('the invitation step fails (test)');
    });
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  /** Rows per table of every module, and the audit head's seq. */
  async function census(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const table of tableOwners().keys()) {
      const row = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(
        kluis.db,
      );
      out[table] = Number(row.rows[0]?.n ?? 0);
    }
    const head = await kluis.db.selectFrom('audit_head').select('seq').executeTakeFirst();
    out['audit_head.seq'] = Number(head?.seq ?? 0);
    // The key store is a database of its own (its own SQLite file or PostgreSQL schema): a key
    // minted for the half-made org must not outlive the rolled-back transaction.
    for (const table of [
      'org_keys',
      'subject_keys',
      'org_key_tombstones',
      'subject_key_tombstones',
    ] as const) {
      const row = await kluis.keystore
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirst();
      out[`keystore.${table}`] = Number(row?.n ?? 0);
    }
    return out;
  }

  const create = (slug: string, agreement: 'document' | 'standard' | 'bad') =>
    kluis.services.tenants.create({
      actor: systemActor(operator),
      values: {
        slug,
        name: `Klant ${slug}`,
        ownerEmail: `eigenaar@${slug}.example`,
        agreementVersion: '3.0',
        signedOn: '2030-09-30',
      },
      agreement:
        agreement === 'standard'
          ? { kind: 'standard' }
          : {
              kind: 'document',
              document: {
                filename: 'overeenkomst.pdf',
                contentType: 'application/pdf',
                data: agreement === 'bad' ? Buffer.from('MZ no pdf') : pdf,
              },
            },
      locale: 'nl',
    });

  it('leaves no row in any table when the last step (the invitation) fails', async () => {
    const before = await census();
    failInvitation = true;
    try {
      await expect(create('half-klaar', 'document')).rejects.toThrow();
    } finally {
      failInvitation = false;
    }
    expect(await census()).toEqual(before);
    expect(await kluis.services.orgs.findBySlug('half-klaar')).toBeUndefined();
    const orgIds = new Set((await kluis.services.orgs.list()).map((o) => o.id));
    const keyed = await kluis.keystore.selectFrom('org_keys').select('org_id').execute();
    expect(keyed.filter((k) => !orgIds.has(k.org_id))).toEqual([]);

    // The same slug works at once, and then every part is there.
    const view = await create('half-klaar', 'document');
    expect(view.status).toBe('active');
    expect(view.staffCount).toBe(1);
    expect(view.agreement).toEqual({ kind: 'document', version: '3.0' });
    const after = await census();
    for (const table of ['orgs', 'tenant_profiles', 'processor_agreements', 'register_documents', 'users']) {
      expect(after[table], table).toBe((before[table] ?? 0) + 1);
    }
    // The successful onboarding does mint the tenant's key (so the check above can fail).
    expect(after['keystore.org_keys']).toBe((before['keystore.org_keys'] ?? 0) + 1);
    expect(after.password_reset_tokens).toBe((before.password_reset_tokens ?? 0) + 1);
    const mail = await kluis.db
      .selectFrom('jobs')
      .select('type')
      .where('org_id', '=', view.id)
      .where('type', '=', 'mail.send')
      .execute();
    expect(mail).toHaveLength(1);
  });

  it('leaves nothing for a taken slug or an agreement that is not a PDF', async () => {
    await create('al-bezet', 'standard');
    const before = await census();
    const taken = await create('al-bezet', 'standard').catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(AppError);
    expect((taken as AppError).code).toBe('ERR_CONFLICT');
    const bad = await create('geen-pdf-hier', 'bad').catch((e: unknown) => e);
    expect((bad as AppError).code).toBe('ERR_VALIDATION');
    expect(await census()).toEqual(before);
  });
});
