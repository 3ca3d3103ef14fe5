/**
 * The statement claims only what is enforced (issue 16): each fact is flipped and the sentence
 * that rests on it must follow — left out or worded as it is — and the dashboard shows the gap.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg } from '../../../test/factories.js';
import type { TransportFacts } from '../../config/env.js';
import type { Actor } from '../../shared/actor.js';
import { createFixedClock } from '../../shared/clock.js';
import { translator } from '../../shared/i18n/messages.js';
import type { Org } from '../orgs/orgs-repository.js';
import { type RegisterSnapshot, retentionValuesOf } from '../register/index.js';
import { auditedKindList } from '../security/index.js';
import { type ClaimFacts, claimsOf, gapsOf } from './statement-claims.js';
import { defaultSections, generateStatement } from './statement-generate.js';
import { claimsPanel } from './statement-views.js';

const clock = createFixedClock('2030-03-04T09:00:00.000Z');

const secure: TransportFacts = { web: 'tls', database: 'tls', smtpRelay: 'tls', inboundSmtp: 'starttls' };
const enforced: ClaimFacts = {
  transport: secure,
  insecureOverrides: [],
  requireTotpForOperator: true,
  auditedKinds: auditedKindList,
  transferMechanisms: {},
};

const sp = {
  service: 'Hosting',
  location: 'Somewhere',
  dataCategories: ['contact_details'],
};

describe('statement claims follow the facts', () => {
  let kluis: TestKluis;
  let operator: Org;
  let officer: Actor;

  beforeEach(async () => {
    kluis = await createTestKluis({ clock });
    operator = await createOrg(kluis, 'operator', 'Ambrix');
    officer = {
      kind: 'user',
      orgId: operator.id,
      orgKind: 'operator',
      userId: randomUUID(),
      roles: ['privacy_officer'],
    };
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  /** An active sub-processor as rows from before the lifecycle rules hold it (no agreement, no mechanism). */
  async function legacyActive(name: string, country: string): Promise<void> {
    const now = clock.now().toISOString();
    await kluis.db
      .insertInto('subprocessors')
      .values({
        id: randomUUID(),
        org_id: operator.id,
        name,
        service: sp.service,
        location: sp.location,
        country,
        data_categories: JSON.stringify(sp.dataCategories),
        status: 'active',
        lifecycle: 'active',
        announced_at: null,
        effective_on: null,
        transfer_mechanism: null,
        scc_date: null,
        transfer_assessment: '',
        egress_hosts: '[]',
        created_at: now,
        updated_at: now,
      })
      .execute();
  }

  function statementOf(snapshot: RegisterSnapshot, facts: ClaimFacts) {
    return generateStatement({
      snapshot,
      sections: defaultSections(snapshot),
      origin: 'https://kluis.example.nl',
      retentionValues: retentionValuesOf(kluis.config),
      claims: claimsOf(facts, snapshot),
    }).markdown;
  }

  it('claims TLS for every connection only while every connection is encrypted, naming each one that is not', async () => {
    const snapshot = await kluis.services.register.snapshotOf(operator.id);
    const all = statementOf(snapshot, enforced);
    expect(all.nl).toContain('alle verbindingen met onze systemen zijn versleuteld (TLS)');
    expect(all.en).toContain('every connection to our systems is encrypted (TLS)');
    const flips: [Partial<TransportFacts>, string][] = [
      [{ web: 'none' }, 'the connection from your browser to our website'],
      [{ database: 'plain' }, 'the connection to our database'],
      [{ smtpRelay: 'plain' }, 'outgoing mail to our mail server'],
      [{ inboundSmtp: 'plain' }, 'incoming mail to our mail server'],
    ];
    for (const [flip, named] of flips) {
      const text = statementOf(snapshot, { ...enforced, transport: { ...secure, ...flip } });
      expect(text.en, JSON.stringify(flip)).not.toContain('every connection to our systems is encrypted');
      expect(text.nl).not.toContain('alle verbindingen met onze systemen zijn versleuteld');
      expect(text.en).toContain(`except ${named}: these are not encrypted`);
    }
    // Loopback and a local file never leave the machine: still every connection.
    const local = statementOf(snapshot, {
      ...enforced,
      transport: { web: 'tls-proxy', database: 'local-file', smtpRelay: 'loopback', inboundSmtp: 'loopback' },
    });
    expect(local.en).toContain('every connection to our systems is encrypted (TLS)');
  });

  it('claims two-step verification only where it is required of all staff', async () => {
    const snapshot = await kluis.services.register.snapshotOf(operator.id);
    expect(statementOf(snapshot, enforced).en).toContain('a strong password and two-step verification');
    const off = statementOf(snapshot, { ...enforced, requireTotpForOperator: false });
    expect(off.en).not.toContain('a strong password and two-step verification');
    expect(off.en).toContain('two-step verification is available but not required of every staff member');
    expect(off.nl).toContain('tweestapsverificatie is beschikbaar, maar niet voor elke medewerker verplicht');
    // A tenant's own staff are not held to it, whatever the operator's policy.
    const tenant = await createOrg(kluis, 'tenant', 'Bakkerij');
    const tenantText = statementOf(await kluis.services.register.snapshotOf(tenant.id), enforced);
    expect(tenantText.en).toContain('not required of every staff member');
  });

  it('names exactly the audited kinds of staff action, never "every staff action"', async () => {
    const snapshot = await kluis.services.register.snapshotOf(operator.id);
    const full = statementOf(snapshot, enforced);
    expect(full.en).not.toContain('every staff action');
    expect(full.en).toContain('these staff actions are recorded in an audit trail');
    expect(full.en).toContain('opening confidential personal data, with the purpose');
    const fewer = statementOf(snapshot, { ...enforced, auditedKinds: ['sign_in'] });
    expect(fewer.en).toContain('cannot be changed unnoticed: signing in and failed sign-in attempts\n');
    expect(fewer.en).not.toContain('opening confidential personal data');
    expect(statementOf(snapshot, { ...enforced, auditedKinds: [] }).en).not.toContain(
      'staff actions are recorded',
    );
  });

  it('claims processor agreements only when every active sub-processor has one on file', async () => {
    const { register } = kluis.services;
    await register.createSubprocessor({
      actor: officer,
      values: {
        ...sp,
        name: 'Hostnet',
        country: 'NL',
        agreementVersion: '1',
        agreementSignedOn: '2029-01-01',
      },
    });
    const withAll = statementOf(await register.snapshotOf(operator.id), enforced);
    expect(withAll.en).toContain('Ambrix has processor agreements with these sub-processors.');
    // The register refuses an active one without an agreement; a row from before that rule remains.
    const refused = register.createSubprocessor({
      actor: officer,
      values: { ...sp, name: 'Mailco', country: 'DE' },
    });
    await expect(refused).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    await legacyActive('Mailco', 'DE');
    const snapshot = await register.snapshotOf(operator.id);
    const missing = statementOf(snapshot, enforced);
    expect(missing.en).not.toContain('has processor agreements with these sub-processors');
    expect(missing.en).toContain('Ambrix has no processor agreement on file yet with Mailco.');
    expect(missing.nl).toContain('Met Mailco heeft Ambrix nog geen verwerkersovereenkomst vastgelegd.');
    expect(gapsOf(claimsOf(enforced, snapshot))).toContainEqual({ kind: 'agreements', names: ['Mailco'] });
  });

  it('claims safeguards for transfers outside the EEA only with a mechanism on record for each', async () => {
    const { register } = kluis.services;
    const values = {
      ...sp,
      name: 'Cloudy Inc',
      country: 'US',
      agreementVersion: '1',
      agreementSignedOn: '2029-01-01',
    };
    // The register refuses an active one without a mechanism; a row from before that rule remains.
    await expect(register.createSubprocessor({ actor: officer, values })).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
    });
    await legacyActive('Cloudy Inc', 'US');
    const snapshot = await register.snapshotOf(operator.id);
    const none = statementOf(snapshot, enforced);
    expect(none.en).not.toContain('we transfer data only with appropriate safeguards');
    expect(none.en).toContain('For Cloudy Inc (outside the EEA) no transfer mechanism');
    const id = snapshot.subprocessors.find((p) => p.name === 'Cloudy Inc')?.id ?? 'missing';
    const recorded = statementOf(snapshot, {
      ...enforced,
      transferMechanisms: { [id]: 'SCCs 2021/914, 2029-01-01' },
    });
    expect(recorded.en).toContain('we transfer data only with appropriate safeguards');
    expect(recorded.en).toContain('outside the EEA; safeguard: SCCs 2021/914, 2029-01-01');
    expect(recorded.en).not.toContain('no transfer mechanism');
    // The mechanism the register records is what the statement names.
    await register.createSubprocessor({
      actor: officer,
      values: {
        ...values,
        name: 'Sky Ltd',
        transferMechanism: 'scc',
        sccDate: '2029-06-01',
        transferAssessment: 'ok',
      },
    });
    const fromRegister = statementOf(await register.snapshotOf(operator.id), enforced);
    expect(fromRegister.en).toContain('outside the EEA; safeguard: EU SCC 2029-06-01');
    expect(fromRegister.en).toContain('For Cloudy Inc (outside the EEA) no transfer mechanism');
  });

  it('names the production exceptions in force in the statement and on the dashboard', async () => {
    const snapshot = await kluis.services.register.snapshotOf(operator.id);
    expect(statementOf(snapshot, enforced).en).not.toContain('exceptions to our security rules');
    const facts: ClaimFacts = {
      ...enforced,
      transport: { ...secure, smtpRelay: 'plain' },
      insecureOverrides: ['smtp-relay-without-tls'],
    };
    const text = statementOf(snapshot, facts);
    expect(text.en).toContain(
      'exceptions to our security rules, set deliberately: outgoing mail goes to the mail server without TLS',
    );
    const panel = claimsPanel(translator('en'), 'en', gapsOf(claimsOf(facts, snapshot))).value;
    expect(panel).toContain('Exceptions in KLUIS_ALLOW_INSECURE: smtp-relay-without-tls.');
    expect(panel).toContain('Not encrypted: outgoing mail to our mail server.');
    expect(claimsPanel(translator('en'), 'en', gapsOf(claimsOf(enforced, snapshot))).value).toContain(
      'Every measure the statement names is enforced.',
    );
  });

  it('derives the running statement from the configuration and shows its gaps to the privacy officer', async () => {
    // The test configuration: plain HTTP, no TOTP requirement.
    const { generated } = await kluis.services.statement.generateFor(operator.id);
    expect(generated.markdown.en).toContain('except the connection from your browser to our website');
    expect(generated.markdown.en).toContain('not required of every staff member');
    const gaps = await kluis.services.statement.getClaimGaps({ actor: officer });
    expect(gaps.map((g) => g.kind)).toEqual(['unencrypted', 'totp']);
  });
});
