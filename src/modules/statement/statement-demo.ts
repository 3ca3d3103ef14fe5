/**
 * Demo data for `npm start`: Ambrix's organisation details as the seed statement gives them, two
 * (fictional) Dutch sub-processors, and version 1 of the privacy statement, published. Runs only
 * while the operator has no published statement, so a restart changes nothing.
 */
import type { Config } from '../../config/env.js';
import type { Actor } from '../../shared/actor.js';
import type { KluisServices } from '../module.js';
import type { OrgInfo } from '../register/index.js';

export async function seedStatementDemo(
  kluis: { services: Pick<KluisServices, 'register' | 'statement'>; config: Pick<Config, 'publicOrigin'> },
  operator: Pick<OrgInfo, 'id' | 'kind'>,
): Promise<string[]> {
  const statement = kluis.services.statement;
  if ((await statement.listVersions(operator.id)).length > 0) return [];
  const actor: Actor = {
    kind: 'system',
    orgId: operator.id,
    orgKind: operator.kind,
    reason: 'demo-seed',
    roles: ['privacy_officer'],
  };
  const register = kluis.services.register;
  await register.updateSettings({
    actor,
    values: {
      contactEmail: 'info@ambrix.nl',
      privacyEmail: 'privacy@ambrix.nl',
      website: 'http://privacy.ambrix.nl',
      termsUrl: 'http://av.ambrix.nl/',
      channels: ['web_form', 'email', 'phone', 'other'],
    },
  });
  if ((await register.listSubprocessors({ actor })).length === 0) {
    await register.createSubprocessor({
      actor,
      values: {
        name: 'Polderhost B.V.',
        service: 'Hosting van servers en back-ups (demo)',
        location: 'Amsterdam',
        country: 'NL',
        dataCategories: [
          'contact_details',
          'message_content',
          'billing_address',
          'agreement',
          'technical_metadata',
        ],
        agreementVersion: '1.0',
        agreementSignedOn: '2024-01-15',
      },
    });
    await register.createSubprocessor({
      actor,
      values: {
        name: 'Noordzee Mail B.V.',
        service: 'Verzenden van e-mail (demo)',
        location: 'Groningen',
        country: 'NL',
        dataCategories: ['contact_details'],
        agreementVersion: '2.0',
        agreementSignedOn: '2024-03-01',
      },
    });
  }
  const version = await statement.publish({
    actor,
    values: {
      changeSummaryNl: 'Eerste versie, gemaakt uit het verwerkingsregister.',
      changeSummaryEn: 'First version, generated from the processing register.',
    },
  });
  return [
    `  Demo data: privacy statement version ${version.number} published at ${kluis.config.publicOrigin}/privacy`,
  ];
}
