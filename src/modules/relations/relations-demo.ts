/**
 * Demo client relations for `npm start` (operator Ambrix's own clients): a bakery with a contact
 * person, billing address, signed agreement and a recurrent SEPA mandate; a prospect addressed
 * neutrally; an ended relation. Also a finance colleague (finance + support) who may see them:
 * the demo admin holds neither role and so, by design, reads no relation data (P5).
 */
import type { Kluis } from '../../kluis.js';
import type { Actor } from '../../shared/actor.js';
import { createUserFromCli } from '../auth/index.js';
import type { Org } from '../orgs/index.js';
import { creditorIdCheckDigits } from './relations-sepa.js';

const DEMO_FINANCE_EMAIL = 'financien@ambrix.example';

/** A tiny, valid PDF: what a scanned, signed agreement would be in the demo. */
function demoPdf(title: string): Buffer {
  return Buffer.from(
    `%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% ${title}\ntrailer << /Root 1 0 R >>\n%%EOF\n`,
    'latin1',
  );
}

export async function seedRelationsDemo(kluis: Kluis, operator: Org): Promise<string[]> {
  const existing = await kluis.db
    .selectFrom('relations')
    .select('id')
    .where('org_id', '=', operator.id)
    .limit(1)
    .executeTakeFirst();
  if (existing !== undefined) return [];
  const actor: Actor = {
    kind: 'system',
    orgId: operator.id,
    orgKind: operator.kind,
    reason: 'demo-seed',
    roles: ['finance', 'support'],
  };
  const relations = kluis.services.relations;
  const agreements = kluis.services.relationAgreements;
  const mandates = kluis.services.mandates;

  const bakery = await relations.createRelation({
    actor,
    values: {
      kind: 'organisation',
      organisationName: 'Bakkerij De Gouden Korenaar B.V.',
      email: 'administratie@goudenkorenaar.example',
      phone: '030 231 4455',
      status: 'active',
      startedAt: '2024-03-01',
    },
  });
  await relations.addContact({
    actor,
    relationId: bakery.id,
    values: {
      role: 'billing',
      formOfAddress: 'ms',
      givenName: 'Fatima',
      familyName: 'El Amrani',
      email: 'fatima@goudenkorenaar.example',
      phone: '',
    },
  });
  await relations.setAddress({
    actor,
    relationId: bakery.id,
    values: {
      country: 'NL',
      city: 'Utrecht',
      postcode: '3511ab',
      street: 'Oudegracht',
      houseNumber: '231',
      houseNumberAddition: 'A',
    },
  });
  await agreements.addAgreement({
    actor,
    relationId: bakery.id,
    values: {
      title: 'Hostingovereenkomst',
      version: '2.1',
      effectiveFrom: '2024-03-01',
      signedByName: 'Pieter van den Heuvel',
      signedAt: '2024-02-20',
      signatureChannel: 'email',
    },
    document: {
      fileName: 'hostingovereenkomst-gouden-korenaar.pdf',
      content: demoPdf('Hostingovereenkomst 2.1'),
      truncated: false,
    },
  });
  await mandates.createMandate({
    actor,
    relationId: bakery.id,
    values: {
      reference: 'AMB-2024-0001',
      scheme: 'CORE',
      sequence: 'recurrent',
      accountHolder: 'Bakkerij De Gouden Korenaar B.V.',
      iban: 'NL91ABNA0417164300',
      bic: '',
      signedAt: '2024-02-20',
      signatureName: 'Pieter van den Heuvel',
      signatureChannel: 'paper',
    },
  });

  const sam = await relations.createRelation({
    actor,
    values: {
      kind: 'person',
      formOfAddress: 'neutral',
      givenName: 'Sam',
      familyName: 'de Vries',
      email: 'sam.devries@example.nl',
      phone: '+31 6 2345 6789',
      status: 'prospect',
    },
  });
  await relations.setAddress({
    actor,
    relationId: sam.id,
    values: { country: 'BE', city: 'Gent', postcode: '9000', street: 'Korenmarkt', houseNumber: '12' },
  });

  await relations.createRelation({
    actor,
    values: {
      kind: 'organisation',
      organisationName: 'Stichting Buurtwerk Oost',
      email: '',
      phone: '',
      status: 'ended',
      startedAt: '2021-05-01',
      endedAt: '2025-12-31',
    },
  });

  await mandates.setCreditor({
    actor,
    values: {
      name: 'Ambrix B.V.',
      creditorId: `NL${creditorIdCheckDigits('NL', '123456780000')}ZZZ123456780000`,
      iban: 'NL20INGB0001234567',
      bic: 'INGBNL2A',
    },
  });

  const colleague = await createUserFromCli(kluis, {
    org: operator.slug,
    email: DEMO_FINANCE_EMAIL,
    name: 'Femke Financiën',
    roles: ['finance'],
    command: 'demo-seed',
  });
  return [
    '  Demo data: 3 client relations with an agreement and a SEPA mandate (see /staff/relations)',
    `  Finance login (sees relations and IBANs): ${colleague.email}, one-time password ${colleague.oneTimePassword}`,
  ];
}
