/**
 * Issue 15: the access export keeps what it reads of the register (controller, purposes,
 * recipients) in memory until the register changes. These tests fail when a change is missed —
 * made through the services, beside them (as the CLI or a fix by hand would), or by another node
 * — and when the cache is not used at all.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg } from '../../../test/factories.js';
import type { Actor } from '../../shared/actor.js';
import { createFixedClock } from '../../shared/clock.js';
import type { Org } from '../orgs/orgs-repository.js';

const clock = createFixedClock('2030-06-03T09:00:00.000Z');

const hosting = {
  name: 'Hostnet B.V.',
  service: 'Hosting van servers',
  location: 'Amsterdam',
  country: 'NL',
  dataCategories: ['contact_details'],
  agreementVersion: '2.1',
  agreementSignedOn: '2029-11-01',
};

describe('the access export’s register facts (issue 15)', () => {
  let kluis: TestKluis;
  let org: Org;
  let officer: Actor;
  let subjectId: string;

  async function submit(email: string): Promise<void> {
    await kluis.services.intake.submitContactRequest({
      actor: { kind: 'anonymous', orgId: org.id, ref: 'ip:test' },
      channel: 'web',
      request: { name: 'Femke Zandbergen', email, phone: '', message: 'Een vraag.' },
      locale: 'nl',
    });
  }

  const exportOf = () =>
    kluis.services.rights.compileExport({ orgId: org.id }, subjectId, { asOf: clock.now() });
  const fills = () => kluis.services.register.factsFills();

  beforeEach(async () => {
    kluis = await createTestKluis({ clock });
    org = await createOrg(kluis, 'tenant', 'Zeilmakerij Noord');
    officer = {
      kind: 'user',
      orgId: org.id,
      orgKind: 'tenant',
      userId: randomUUID(),
      roles: ['privacy_officer'],
    };
    await submit('femke@example.nl');
    const row = await kluis.db
      .selectFrom('data_subjects')
      .select('id')
      .where('org_id', '=', org.id)
      .executeTakeFirstOrThrow();
    subjectId = row.id;
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  it('reads the register once while it does not change, whatever else is written', async () => {
    const first = await exportOf();
    const after = fills();
    await submit('iemand.anders@example.nl');
    const second = await exportOf();
    expect(fills()).toBe(after);
    expect(second.controller).toEqual(first.controller);
    expect(second.purposes).toEqual(first.purposes);
  });

  it('shows a change made through the register’s services in the very next export', async () => {
    const before = await exportOf();
    expect(before.controller.privacyEmail).toBe('');
    expect(before.recipients).toEqual([]);
    await kluis.services.register.updateSettings({
      actor: officer,
      values: { privacyEmail: 'privacy@zeilmakerij.example', channels: ['web_form'] },
    });
    expect((await exportOf()).controller.privacyEmail).toBe('privacy@zeilmakerij.example');

    const purpose = before.purposes[0]?.purpose;
    expect(purpose).toBeDefined();
    await kluis.services.register.updateActivity({
      actor: officer,
      purpose: purpose ?? '',
      values: { recipients: 'De accountant' },
    });
    expect((await exportOf()).purposes.find((p) => p.purpose === purpose)?.otherRecipients).toBe(
      'De accountant',
    );

    await kluis.services.register.createSubprocessor({ actor: officer, values: hosting });
    const withRecipient = await exportOf();
    expect(withRecipient.recipients.map((r) => r.name)).toEqual(['Hostnet B.V.']);
    expect(withRecipient.categories.find((c) => c.category === 'contact_details')?.recipients).toHaveLength(
      1,
    );
  });

  it('shows a change written beside the services (a tool, a fix by hand) in the very next export', async () => {
    expect((await exportOf()).controller.name).toBe('Zeilmakerij Noord');
    await kluis.db.updateTable('orgs').set({ name: 'Zeilmakerij Zuid' }).where('id', '=', org.id).execute();
    expect((await exportOf()).controller.name).toBe('Zeilmakerij Zuid');
    await kluis.db
      .insertInto('register_settings')
      .values({
        org_id: org.id,
        display_name: 'Zeilmakerij West',
        contact_address: '',
        contact_email: '',
        privacy_email: 'avg@zeilmakerij.example',
        phone: '',
        website: '',
        terms_url: '',
        channels: '[]',
        updated_at: clock.now().toISOString(),
      })
      .execute();
    const changed = await exportOf();
    expect(changed.controller.name).toBe('Zeilmakerij West');
    expect(changed.controller.privacyEmail).toBe('avg@zeilmakerij.example');
    await kluis.db.deleteFrom('register_settings').where('org_id', '=', org.id).execute();
    expect((await exportOf()).controller.privacyEmail).toBe('');
  });

  it('shows a change made by another node of the same installation in this node’s next export', async () => {
    await exportOf();
    const peer = await kluis.openPeer({ clock });
    await peer.services.register.updateSettings({
      actor: officer,
      values: { privacyEmail: 'peer@zeilmakerij.example' },
    });
    expect((await exportOf()).controller.privacyEmail).toBe('peer@zeilmakerij.example');
  });
});
