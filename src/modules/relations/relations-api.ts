/**
 * `/api/v1/relations` (P4, P5): the relations of the caller's organisation as JSON, documented
 * in the OpenAPI document with the same zod schemas that shape the answers (a field not in the
 * schema is never sent). Support and finance read relations; mandates in them carry only the
 * masked IBAN, for every role. A mandate in full (IBAN, BIC, account holder, signature) is
 * finance's, and every such read is audited with its purpose.
 */
import { z } from 'zod';
import { apiErrors, noQuery } from '../../shared/http/responses.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import type { BillingAddress } from './relations-address.js';
import { mandateParams, relationListQuery, relationParams } from './relations-form-routes.js';
import type { MandateView } from './relations-mandates.js';
import type { PersonView } from './relations-records.js';
import type { RelationsRouteDeps } from './relations-routes.js';
import {
  contactRoles,
  formsOfAddress,
  mandateSchemes,
  mandateSequences,
  mandateStatuses,
  relationKinds,
  relationStatuses,
  sequenceTypes,
  signatureChannels,
} from './relations-schema.js';
import type {
  AgreementSummary,
  MandateSummary,
  RelationDetail,
  RelationListPage,
  RelationSummary,
} from './relations-service.js';

const date = z.string().describe('ISO 8601 date or date-time');
const restricted = z
  .boolean()
  .describe('Kept only for a legal duty (GDPR Art. 18): shown to finance alone, not to be used otherwise');

const relationSummarySchema = z.object({
  id: z.uuid(),
  kind: z.enum(relationKinds),
  displayName: z.string().nullable().describe('Null once the person was erased'),
  status: z.enum(relationStatuses),
  startedAt: date.nullable(),
  endedAt: date.nullable(),
  createdAt: date,
  restricted,
}) satisfies z.ZodType<RelationSummary>;

const personSchema = z.object({
  formOfAddress: z.enum(formsOfAddress),
  givenName: z.string().nullable(),
  familyName: z.string(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
}) satisfies z.ZodType<PersonView>;

const addressSchema = z.object({
  country: z.string().describe('ISO 3166-1 alpha-2'),
  city: z.string(),
  postcode: z.string(),
  street: z.string(),
  houseNumber: z.string(),
  houseNumberAddition: z.string().nullable(),
}) satisfies z.ZodType<BillingAddress>;

const agreementSummarySchema = z.object({
  id: z.uuid(),
  title: z.string(),
  version: z.string(),
  effectiveFrom: date,
  effectiveUntil: date.nullable(),
  signed: z.boolean(),
  signedAt: date.nullable(),
  signatureChannel: z.enum(signatureChannels).nullable(),
  hasDocument: z.boolean(),
  documentSize: z.number().int().nullable(),
  restricted,
}) satisfies z.ZodType<AgreementSummary>;

const mandateSummarySchema = z.object({
  id: z.uuid(),
  reference: z.string(),
  scheme: z.enum(mandateSchemes),
  sequence: z.enum(mandateSequences),
  status: z.enum(mandateStatuses),
  ibanMasked: z.string().describe('Country code and last four digits only'),
  signedAt: date,
  nextSequenceType: z.enum(sequenceTypes).nullable(),
  lastCollectionAt: date.nullable(),
  restricted,
}) satisfies z.ZodType<MandateSummary>;

const relationListSchema = z.object({
  items: z.array(relationSummarySchema),
  total: z.number().int(),
  page: z.number().int(),
  pageSize: z.number().int(),
  pages: z.number().int(),
}) satisfies z.ZodType<RelationListPage>;

const relationDetailSchema = relationSummarySchema.extend({
  organisationName: z.string().nullable(),
  person: personSchema.nullable(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
  contacts: z.array(personSchema.extend({ id: z.uuid(), role: z.enum(contactRoles) })),
  address: addressSchema.nullable(),
  agreements: z.array(agreementSummarySchema),
  mandates: z.array(mandateSummarySchema),
}) satisfies z.ZodType<RelationDetail>;

const mandateSchema = z.object({
  id: z.uuid(),
  relationId: z.uuid(),
  reference: z.string(),
  scheme: z.enum(mandateSchemes),
  sequence: z.enum(mandateSequences),
  status: z.enum(mandateStatuses),
  accountHolder: z.string(),
  iban: z.string(),
  ibanMasked: z.string(),
  bic: z.string().nullable(),
  signedAt: date,
  signatureName: z.string().nullable(),
  signatureChannel: z.enum(signatureChannels),
  firstCollectionAt: date.nullable(),
  lastCollectionAt: date.nullable(),
  revokedAt: date.nullable(),
  restricted,
}) satisfies z.ZodType<MandateView>;

export function relationsApi(kit: RouteKit, { relations, mandates }: RelationsRouteDeps): void {
  const readers = { kind: 'api', permission: 'relations.read' } as const;
  const tags = ['relations'];

  kit.route({
    method: 'GET',
    url: '/api/v1/relations',
    access: readers,
    query: relationListQuery,
    response: { 200: relationListSchema.describe('One page of relations.'), ...apiErrors(401, 403) },
    summary: 'List client relations',
    description:
      'One page of the organisation’s client relations, sorted and filtered by status. Records kept only for a legal duty are listed for finance alone.',
    tags,
    handler: ({ actor, query }) => relations.listRelations({ actor, ...query }),
  });

  kit.route({
    method: 'GET',
    url: '/api/v1/relations/:id',
    access: readers,
    params: relationParams,
    query: noQuery,
    response: { 200: relationDetailSchema.describe('The relation.'), ...apiErrors(401, 403, 404) },
    summary: 'Read one client relation',
    description:
      'A relation with its contact persons, billing address, agreements and mandates. Mandates carry the masked IBAN only.',
    tags,
    handler: ({ actor, params }) => relations.getRelation({ actor, relationId: params.id }),
  });

  kit.route({
    method: 'GET',
    url: '/api/v1/relations/:id/mandates/:mandateId',
    access: { kind: 'api', permission: 'relations.read_payment' },
    params: mandateParams,
    query: noQuery,
    response: { 200: mandateSchema.describe('The mandate in full.'), ...apiErrors(401, 403, 404) },
    summary: 'Read a SEPA mandate in full',
    description:
      'Account holder, IBAN, BIC and signature of one mandate, for finance. Every read is recorded in the audit trail with its purpose (direct-debit collection).',
    tags,
    handler: ({ actor, params }) =>
      mandates.getMandate({ actor, relationId: params.id, mandateId: params.mandateId }),
  });
}
