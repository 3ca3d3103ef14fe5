/**
 * What the consent registry gives out (P15): a consent record per purpose after ISO/IEC TS
 * 27560 (record id, PII principal, purpose with its processing and legal basis, the notice
 * version shown, method, timestamps and the full event history), and the one feature that uses a
 * consent purpose today — the newsletter recipients list — which includes exactly the subjects
 * whose newest newsletter record is "given" at the moment of export.
 */
import { stringify } from 'csv-stringify/sync';
import type { Actor } from '../../shared/actor.js';
import { type DataCategory, fieldCatalogue } from '../../shared/catalogue.js';
import { type Locale, type MessageKey, t } from '../../shared/i18n/messages.js';
import { assertCan } from '../../shared/permissions.js';
import type { KluisCore } from '../module.js';
import { createOrgsRepository } from '../orgs/index.js';
import type { ContactAddress } from '../personal-data.js';
import { csvSafe } from '../register/index.js';
import type { AuditService } from '../security/index.js';
import {
  type ConsentRecord,
  type ConsentService,
  type ConsentState,
  currentRecords,
  isConsentPurpose,
  legalBasisOf,
  type RegistryPurpose,
  stateOf,
} from './rights-consent.js';
import type { consentPurposes } from './rights-schema.js';

export const CONSENT_RECORD_SCHEMA = 'kluis-consent-record/1 (ISO/IEC TS 27560:2023 information structure)';

/** What each consent purpose processes, and which data (purposes of the register: from the fieldCatalogue().fields). */
const consentProcessing: Record<
  (typeof consentPurposes)[number],
  { processing: string[]; data: DataCategory[] }
> = {
  newsletter: { processing: ['store', 'use: send the newsletter by email'], data: ['contact_details'] },
  reference_customer: {
    processing: ['use: name the client as a reference on our website and in proposals'],
    data: ['contact_details'],
  },
};

export interface ConsentEventRecord {
  readonly record_id: string;
  readonly event: ConsentRecord['event'];
  readonly at: string;
  readonly recorded_at: string;
  readonly method: ConsentRecord['method'];
  readonly notice_version: number | null;
  readonly recorded_by: string;
  readonly rights_request_id: string | null;
}

export interface ConsentRecordDocument {
  readonly schema: string;
  /** The id of the purpose's first record: stable for the life of this consent record. */
  readonly record_id: string;
  readonly controller: { readonly id: string; readonly name: string };
  readonly pii_principal_id: string;
  readonly purpose: {
    readonly id: RegistryPurpose;
    readonly description: string;
    readonly legal_basis: 'consent' | 'legitimate_interest';
    readonly processing: readonly string[];
    readonly personal_data_categories: readonly DataCategory[];
  };
  readonly state: ConsentState;
  readonly notice: { readonly statement_version: number | null };
  readonly method: ConsentRecord['method'];
  readonly timestamps: {
    readonly first_recorded: string;
    readonly last_changed: string;
    readonly exported: string;
  };
  /** Oldest first. */
  readonly history: readonly ConsentEventRecord[];
}

export function purposeLabel(locale: Locale, purpose: string): string {
  const key = (
    isConsentPurpose(purpose) ? `rights.consent.purpose.${purpose}` : `register.purpose.${purpose}`
  ) as MessageKey;
  return t(locale, key);
}

export type ConsentExportDeps = Pick<KluisCore, 'db' | 'clock' | 'keyring' | 'personalData'> & {
  readonly audit: AuditService;
  readonly consent: Pick<ConsentService, 'history'>;
};

/** The subject's consent records, one document per purpose with any history (ISO/IEC TS 27560). */
export async function exportConsentRecords(
  deps: ConsentExportDeps,
  actor: Actor,
  subjectId: string,
  locale: Locale,
): Promise<ConsentRecordDocument[]> {
  const { records } = await deps.consent.history(actor, subjectId);
  const org = await createOrgsRepository(deps.db).getById(actor.orgId);
  const byPurpose = new Map<string, ConsentRecord[]>();
  for (const r of [...records].reverse()) byPurpose.set(r.purpose, [...(byPurpose.get(r.purpose) ?? []), r]);
  const out: ConsentRecordDocument[] = [];
  for (const [id, history] of byPurpose) {
    const purpose = id as RegistryPurpose;
    const first = history[0];
    const last = history[history.length - 1];
    if (first === undefined || last === undefined) continue;
    const described = isConsentPurpose(purpose)
      ? consentProcessing[purpose]
      : {
          processing: [`use for ${purpose}`],
          data: [
            ...new Set(
              fieldCatalogue()
                .fields.filter((f) => f.purposes.includes(purpose))
                .map((f) => f.category),
            ),
          ],
        };
    out.push({
      schema: CONSENT_RECORD_SCHEMA,
      record_id: first.id,
      controller: { id: org.id, name: org.name },
      pii_principal_id: subjectId,
      purpose: {
        id: purpose,
        description: purposeLabel(locale, purpose),
        legal_basis: legalBasisOf(purpose) === 'consent' ? 'consent' : 'legitimate_interest',
        processing: described.processing,
        personal_data_categories: described.data,
      },
      state: stateOf(purpose, last.event),
      notice: { statement_version: last.statement_version === null ? null : Number(last.statement_version) },
      method: last.method,
      timestamps: {
        first_recorded: first.created_at,
        last_changed: last.at,
        exported: deps.clock.now().toISOString(),
      },
      history: history.map((r) => ({
        record_id: r.id,
        event: r.event,
        at: r.at,
        recorded_at: r.created_at,
        method: r.method,
        notice_version: r.statement_version === null ? null : Number(r.statement_version),
        recorded_by: r.recorded_by,
        rights_request_id: r.request_id,
      })),
    });
  }
  return out;
}

export interface NewsletterExport {
  readonly csv: string;
  readonly recipients: number;
  /** Subjects who consent but have no email address on a (visible) relation. */
  readonly withoutAddress: number;
}

/**
 * Where each of `subjectIds` can be reached, from the providers that know (the first one wins),
 * and the fields that were read for it.
 */
async function addressesOf(deps: ConsentExportDeps, orgId: string, subjectIds: readonly string[]) {
  const found = new Map<string, ContactAddress>();
  const fields: string[] = [];
  for (const provider of deps.personalData.all()) {
    const points = provider.contactPoints;
    if (points === undefined) continue;
    fields.push(...points.fields);
    for (const [subjectId, address] of await points.lookup(deps, { orgId }, subjectIds)) {
      if (!found.has(subjectId)) found.set(subjectId, address);
    }
  }
  return { found, fields };
}

/**
 * The newsletter recipients as CSV (`consent.export_newsletter`): only subjects whose newest
 * newsletter record is "given" now, each at the address a module keeps for them (today: their
 * relation's, never a restricted one). The export discloses addresses, so it is audited.
 */
export async function exportNewsletterRecipients(
  deps: ConsentExportDeps,
  actor: Actor,
  locale: Locale,
): Promise<NewsletterExport> {
  assertCan(actor, 'consent.export_newsletter');
  const consenting = await currentRecords(deps.db, actor, 'newsletter')
    .select(['c.subject_id as subject_id', 'c.at as at'])
    .where('c.event', '=', 'given')
    .orderBy('c.at')
    .execute();
  const since = new Map(consenting.map((c) => [c.subject_id, c.at]));
  const { found, fields } = await addressesOf(deps, actor.orgId, [...since.keys()]);
  const seen = new Set<string>();
  const rows: string[][] = [];
  for (const [subjectId, at] of since) {
    const hit = found.get(subjectId);
    if (hit === undefined || seen.has(hit.email.toLowerCase())) continue;
    seen.add(hit.email.toLowerCase());
    rows.push([hit.email, hit.name, at].map(csvSafe));
  }
  const header = (
    ['rights.consent.csv.email', 'rights.consent.csv.name', 'rights.consent.csv.since'] as const
  ).map((k) => t(locale, k));
  await deps.audit.append(deps.db, {
    actor,
    action: 'rights.consent.newsletter_exported',
    purpose: 'newsletter',
    fields,
    meta: { recipients: rows.length, without_address: since.size - found.size },
  });
  return {
    csv: `\ufeff${stringify([header, ...rows], { record_delimiter: 'windows' })}`,
    recipients: rows.length,
    withoutAddress: since.size - found.size,
  };
}
