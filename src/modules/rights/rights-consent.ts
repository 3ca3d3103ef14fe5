/**
 * The consent registry (P15's consent and objection; Art. 7 and 21 GDPR): consent given and
 * withdrawn for the purposes that rest on consent, objections made and lifted for the purposes
 * that rest on legitimate interest (from the field catalogue). Append-only: every event is a row,
 * the current state of a purpose is its newest row, so the full history stays provable. A
 * withdrawal or objection takes effect at once: every feature that uses a purpose asks `mayUse`
 * (or the same newest-row query, for lists) at the moment it processes, and each recording is
 * audited (purpose, event, method — no values).
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { DB } from '../../db/schema.js';
import { type Actor, actorRef, type OrgScope } from '../../shared/actor.js';
import { basisOf, fieldCatalogue, type LegalBasis, type Purpose, purposes } from '../../shared/catalogue.js';
import { AppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import { newId } from '../../shared/ids.js';
import { assertCan } from '../../shared/permissions.js';
import type { KluisCore } from '../module.js';
import type { AuditService } from '../security/index.js';
import type { StatementService } from '../statement/index.js';
import { isLiveSubject, type SubjectsService } from '../subjects/index.js';
import { createRightsRepository } from './rights-repository.js';
import {
  type ConsentEvent,
  type ConsentPurpose,
  type ConsentRecordsTable,
  consentEvents,
  consentMethods,
  consentPurposes,
} from './rights-schema.js';

/**
 * Purposes open to objection (Art. 21): those the catalogue bases (at least partly) on legitimate
 * interest. A purpose that also serves a legal obligation (rights handling, the audit trail of
 * system security) is not: an objection cannot stop what the law requires.
 */
export function objectionPurposes(): readonly Purpose[] {
  return purposes.filter((p) => {
    const fields = fieldCatalogue().fields.filter((f) => f.purposes.includes(p));
    return (
      fields.some((f) => basisOf(f, p) === 'legitimate_interest') &&
      !fields.some((f) => basisOf(f, p) === 'legal_obligation')
    );
  });
}

export type RegistryPurpose = ConsentPurpose | Purpose;

export function isConsentPurpose(purpose: string): purpose is ConsentPurpose {
  return (consentPurposes as readonly string[]).includes(purpose);
}

export function isObjectionPurpose(purpose: string): purpose is Purpose {
  return (objectionPurposes() as readonly string[]).includes(purpose);
}

export function legalBasisOf(purpose: RegistryPurpose): LegalBasis {
  return isConsentPurpose(purpose) ? 'consent' : 'legitimate_interest';
}

/** Events that belong to a purpose of each kind. */
export function eventsFor(purpose: RegistryPurpose): readonly ConsentEvent[] {
  return isConsentPurpose(purpose) ? ['given', 'withdrawn'] : ['objected', 'objection_lifted'];
}

/** One recording, as staff, the portal or a system step hand it in. */
export const consentInputSchema = z
  .object({
    subjectId: z.uuid({ message: 'rights.consent.invalidSubject' }),
    // A consent purpose, or a purpose open to objection (derived from the catalogue).
    purpose: z.string().refine((p) => isConsentPurpose(p) || isObjectionPurpose(p), {
      message: 'rights.consent.invalidPurpose',
    }),
    event: z.enum(consentEvents, { message: 'rights.consent.invalidEvent' }),
    method: z.enum(consentMethods, { message: 'rights.consent.invalidMethod' }),
    /** When it happened, if earlier than now (a paper form recorded later). */
    at: z.iso.datetime({ offset: true, message: 'rights.consent.invalidAt' }).optional(),
    /** The statement version the person was shown; defaults to the latest published one. */
    statementVersion: z.number().int().positive({ message: 'rights.consent.invalidVersion' }).optional(),
    requestId: z.uuid().optional(),
  })
  .refine((v) => eventsFor(v.purpose as RegistryPurpose).includes(v.event), {
    path: ['event'],
    message: 'rights.consent.eventNotForPurpose',
  });

export type ConsentRecord = ConsentRecordsTable;

/** The state of one purpose: consent `given`/`withdrawn`, objection `objected`/`not_objected`, or `none`. */
export type ConsentState = 'given' | 'withdrawn' | 'objected' | 'not_objected' | 'none';

export function stateOf(purpose: RegistryPurpose, newest: ConsentEvent | undefined): ConsentState {
  if (isConsentPurpose(purpose))
    return newest === undefined ? 'none' : newest === 'given' ? 'given' : 'withdrawn';
  return newest === 'objected' ? 'objected' : 'not_objected';
}

/** Newest first: by the time it happened, then when it was recorded, then id (time-ordered). */
function newestFirst(a: ConsentRecord, b: ConsentRecord): number {
  return b.at.localeCompare(a.at) || b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id);
}

/**
 * Rows of `purpose` in `scope` that are the newest of their (not erased) subject — the current
 * state — as a query to filter further (e.g. `event = 'given'` for everyone who consents now).
 */
export function currentRecords(db: Kysely<DB>, scope: OrgScope, purpose: RegistryPurpose) {
  return db
    .selectFrom('consent_records as c')
    .where('c.org_id', '=', scope.orgId)
    .where('c.purpose', '=', purpose)
    .where(isLiveSubject(scope.orgId, 'c.subject_id'))
    .where(({ exists, selectFrom, or, and, eb }) =>
      eb.not(
        exists(
          selectFrom('consent_records as n')
            .select('n.id')
            .whereRef('n.org_id', '=', 'c.org_id')
            .whereRef('n.subject_id', '=', 'c.subject_id')
            .whereRef('n.purpose', '=', 'c.purpose')
            .where((w) =>
              or([
                w('n.at', '>', w.ref('c.at')),
                and([w('n.at', '=', w.ref('c.at')), w('n.created_at', '>', w.ref('c.created_at'))]),
                and([
                  w('n.at', '=', w.ref('c.at')),
                  w('n.created_at', '=', w.ref('c.created_at')),
                  w('n.id', '>', w.ref('c.id')),
                ]),
              ]),
            ),
        ),
      ),
    );
}

export interface PurposeState {
  readonly purpose: RegistryPurpose;
  readonly legalBasis: LegalBasis;
  readonly state: ConsentState;
  readonly since: string | null;
}

export type ConsentDeps = Pick<KluisCore, 'db' | 'clock'> & {
  readonly audit: AuditService;
  readonly subjects: Pick<SubjectsService, 'findById'>;
  readonly statement: Pick<StatementService, 'findLatestVersion'>;
};

const CONSENT_FIELDS = ['consent_records.event', 'consent_records.method', 'consent_records.purpose'];

export function createConsentService(deps: ConsentDeps) {
  const { db, clock } = deps;

  async function loadSubject(trx: Kysely<DB>, scope: OrgScope, subjectId: string) {
    const subject = z.uuid().safeParse(subjectId).success
      ? await deps.subjects.findById(trx, scope, subjectId)
      : undefined;
    if (subject === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'data subject not found' });
    return subject;
  }

  /**
   * Every record of the subject, newest first (the full history); `consent.read`. A read of the
   * person's choices: audited against the data subject, so their access export lists it.
   */
  async function history(
    actor: Actor,
    subjectId: string,
  ): Promise<{ erased: boolean; records: ConsentRecord[] }> {
    assertCan(actor, 'consent.read');
    const scope = { orgId: actor.orgId };
    const subject = await loadSubject(db, scope, subjectId);
    const records = await createRightsRepository(db).listConsentRecords(scope, subject.id);
    await deps.audit.append(db, {
      actor,
      action: 'rights.consent.history.read',
      target: { type: 'data_subject', id: subject.id },
      purpose: 'rights_handling',
      fields: records.length === 0 ? [] : CONSENT_FIELDS,
      meta: { records: records.length },
    });
    return { erased: subject.erased_at !== null, records: records.sort(newestFirst) };
  }

  return {
    history,

    /** Records consent given/withdrawn or an objection made/lifted; takes effect at once, audited. */
    async record(input: { actor: Actor; values: unknown }): Promise<ConsentRecord> {
      const { actor } = input;
      assertCan(actor, 'consent.record');
      const v = parseOrThrow(consentInputSchema, input.values);
      const now = clock.now().toISOString();
      if (v.at !== undefined && new Date(v.at).toISOString() > now) {
        throw new AppError('ERR_VALIDATION', {
          message: 'consent dated in the future',
          fields: { at: 'rights.consent.invalidAt' },
        });
      }
      const scope = { orgId: actor.orgId };
      const version =
        v.statementVersion ?? (await deps.statement.findLatestVersion(scope.orgId))?.number ?? null;
      return db.transaction().execute(async (trx) => {
        const subject = await loadSubject(trx, scope, v.subjectId);
        if (subject.erased_at !== null) {
          throw new AppError('ERR_RIGHTS_SUBJECT_ERASED', { message: 'data subject erased' });
        }
        const row: ConsentRecord = {
          id: newId(),
          org_id: scope.orgId,
          subject_id: subject.id,
          purpose: v.purpose,
          event: v.event,
          method: v.method,
          at: v.at === undefined ? now : new Date(v.at).toISOString(),
          statement_version: version === null ? null : Number(version),
          recorded_by: actorRef(actor),
          request_id: v.requestId ?? null,
          created_at: now,
        };
        await createRightsRepository(trx).insertConsentRecord(row);
        await deps.audit.append(trx, {
          actor,
          action: `rights.consent.${v.event}`,
          target: { type: 'data_subject', id: subject.id },
          purpose: 'rights_handling',
          fields: ['consent_records.purpose', 'consent_records.event', 'consent_records.method'],
          meta: { purpose: v.purpose, event: v.event, method: v.method, record_id: row.id },
        });
        return row;
      });
    },

    /** The current state of every registry purpose for the subject. */
    async states(actor: Actor, subjectId: string): Promise<PurposeState[]> {
      const { records } = await history(actor, subjectId);
      return statesOf(records);
    },

    /**
     * May `purpose` be used for this subject now? Consent: the newest record is `given`. Legitimate
     * interest: the newest record is not `objected`. Never for an erased or unknown subject.
     */
    async mayUse(scope: OrgScope, subjectId: string, purpose: RegistryPurpose): Promise<boolean> {
      if (!isConsentPurpose(purpose) && !isObjectionPurpose(purpose)) {
        throw new AppError('ERR_VALIDATION', { message: `${purpose} is not a consent or objection purpose` });
      }
      const subject = await deps.subjects.findById(db, scope, subjectId);
      if (subject === undefined || subject.erased_at !== null) return false;
      const newest = await currentRecords(db, scope, purpose)
        .select('c.event')
        .where('c.subject_id', '=', subjectId)
        .executeTakeFirst();
      return isConsentPurpose(purpose) ? newest?.event === 'given' : newest?.event !== 'objected';
    },

    /** How many subjects consent to the newsletter now (`consent.read`). */
    async newsletterCount(actor: Actor): Promise<number> {
      assertCan(actor, 'consent.read');
      const row = await currentRecords(db, actor, 'newsletter')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('c.event', '=', 'given')
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
  };
}

/** The current state per registry purpose from a subject's records. */
export function statesOf(records: readonly ConsentRecord[]): PurposeState[] {
  const sorted = [...records].sort(newestFirst);
  return [...consentPurposes, ...objectionPurposes()].map((purpose) => {
    const newest = sorted.find((r) => r.purpose === purpose);
    return {
      purpose,
      legalBasis: legalBasisOf(purpose),
      state: stateOf(purpose, newest?.event),
      since: newest?.at ?? null,
    };
  });
}

export type ConsentService = ReturnType<typeof createConsentService>;
