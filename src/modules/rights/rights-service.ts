/**
 * The rights-request workflow (P15–P17, GDPR Art. 12): receipt from the portal or the privacy
 * address, verification by control of the email address (P16), the legal clock with pauses and
 * extensions, and replies that always name the complaint route (P17). Fulfilment of each right
 * (export, erasure, consent) lives in rights-fulfil.ts; this file keeps the request itself.
 *
 * Disclosure rules: receipt does the same work whether or not the address is known (no look-up
 * happens before the requester proved control of it); the status page shows nothing but a
 * confirm button until then; staff see contact details only as privacy officer, audited.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Kluis } from '../../kluis.js';
import type { Actor, OrgScope } from '../../shared/actor.js';
import { DAY } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { type Locale, t } from '../../shared/i18n/messages.js';
import { enqueueMail } from '../mail/mail-service.js';
import type { MailVars } from '../mail/mail-templates.js';
import { createOrgsRepository } from '../orgs/orgs-repository.js';
import { appendAudit } from '../security/audit-chain.js';
import { createSubjectsService } from '../subjects/subjects-service.js';
import {
  bucketOf,
  type DaysLeftBucket,
  daysBetween,
  extensionProblem,
  localDay,
  pausedDaysFor,
} from './rights-deadlines.js';
import { CONFIRM_DAYS, requestRecords, tokenHash } from './rights-records.js';
import {
  openStatuses,
  type PauseReason,
  type RequestEventKind,
  type RequestOutcome,
  type RequestStatus,
  type RightKind,
  type RightsRequestsTable,
} from './rights-schema.js';

export type RightsKluis = Pick<Kluis, 'db' | 'keyring' | 'clock' | 'config'>;
type Row = RightsRequestsTable;

export interface SubmitInput {
  orgId: string;
  right: RightKind;
  email: string;
  phone?: string | undefined;
  details?: string | undefined;
  locale: Locale;
}

export interface RequestSummary {
  id: string;
  right: RightKind | null;
  channel: Row['channel'];
  status: RequestStatus;
  receivedAt: string;
  dueOn: string;
  daysLeft: number;
  bucket: DaysLeftBucket;
  paused: boolean;
  extendedMonths: number;
  subjectLinked: boolean;
}

export interface RequestEvent {
  at: string;
  kind: RequestEventKind;
  actorRef: string;
  meta: Record<string, unknown> | null;
}

export interface RequestDetail extends RequestSummary {
  subjectId: string | null;
  locale: Locale;
  email: string | null;
  phone: string | null;
  details: string | null;
  identityNote: string | null;
  verificationMethod: Row['verification_method'];
  pauseReason: PauseReason | null;
  extensionReason: string | null;
  outcome: RequestOutcome | null;
  outcomeReason: string | null;
  conversationId: string | null;
  events: RequestEvent[];
}

/** What the requester sees on the status page (after confirmation). */
export interface RequestStatusView {
  orgName: string;
  right: RightKind | null;
  status: RequestStatus;
  receivedOn: string;
  dueOn: string;
  paused: boolean;
  extendedMonths: number;
  extensionReason: string | null;
  outcome: RequestOutcome | null;
  outcomeReason: string | null;
  exportState: 'none' | 'available' | 'downloaded' | 'expired';
  exportExpiresAt: string | null;
}

export function createRightsService(kluis: RightsKluis) {
  const { db, keyring, clock, config } = kluis;
  const subjects = createSubjectsService({ keyring, clock });
  const { seal, open, computeDue, addEvent, insertRequest } = requestRecords({ keyring, clock });
  const orgs = createOrgsRepository(db);

  function statusUrl(locale: Locale, token: string): string {
    return `${config.publicOrigin}${locale === 'en' ? '/en' : ''}/rights/r/${token}`;
  }

  async function audit(
    trx: Kysely<DB>,
    actor: Actor | { kind: 'anonymous'; orgId: string; ref: string },
    action: string,
    id: string,
    meta?: Record<string, string | number | boolean | null>,
  ): Promise<void> {
    await appendAudit(trx, clock, {
      actor,
      action,
      target: { type: 'rights_request', id },
      purpose: 'rights_handling',
      ...(meta === undefined ? {} : { meta }),
    });
  }

  const actorRefOf = (actor: Actor) =>
    actor.kind === 'user'
      ? `user:${actor.userId}`
      : actor.kind === 'api_key'
        ? `api_key:${actor.apiKeyId}`
        : `system:${actor.reason}`;

  async function load(trx: Kysely<DB>, scope: OrgScope, id: string): Promise<Row> {
    const row = await trx
      .selectFrom('rights_requests')
      .selectAll()
      .where('org_id', '=', scope.orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (row === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'rights request not found' });
    return row;
  }

  async function byToken(trx: Kysely<DB>, token: string): Promise<Row | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    return trx
      .selectFrom('rights_requests')
      .selectAll()
      .where('token_hash', '=', tokenHash(token))
      .executeTakeFirst();
  }

  function refuseUnless(
    ok: boolean,
    messageKey: 'rights.problem.notAllowed' | 'rights.problem.noSubject' | 'rights.problem.unverified',
  ) {
    if (!ok)
      throw new AppError('ERR_RIGHTS_NOT_ALLOWED', { message: messageKey, fields: { request: messageKey } });
  }

  function summaryOf(row: Row): RequestSummary {
    const today = localDay(clock.now());
    // A running pause moves the due day by the days it has lasted so far.
    const running = row.paused_at === null ? 0 : pausedDaysFor(new Date(row.paused_at), clock.now());
    const due = running === 0 ? row.due_on : computeDue({ ...row, paused_days: row.paused_days + running });
    const daysLeft = daysBetween(today, due);
    return {
      id: row.id,
      right: row.right_kind,
      channel: row.channel,
      status: row.status,
      receivedAt: row.received_at,
      dueOn: due,
      daysLeft,
      bucket: bucketOf(daysLeft),
      paused: row.paused_at !== null,
      extendedMonths: row.extended_months,
      subjectLinked: row.subject_id !== null,
    };
  }

  /** A new status-link secret; earlier links stop working (each mail carries the newest). */
  async function rotateToken(
    trx: Kysely<DB>,
    row: Pick<Row, 'id' | 'org_id'>,
    expiresAt?: Date,
  ): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await trx
      .updateTable('rights_requests')
      .set({
        token_hash: tokenHash(token),
        ...(expiresAt === undefined ? {} : { token_expires_at: expiresAt.toISOString() }),
      })
      .where('id', '=', row.id)
      .where('org_id', '=', row.org_id)
      .execute();
    return token;
  }

  /** Queues a reply to the requester (sealed with the org key: it must survive an erasure). */
  async function mailRequester(
    trx: Kysely<DB>,
    row: Row,
    vars: Omit<MailVars<'rights_reply'>, 'orgName' | 'right'>,
    withLink: boolean,
  ): Promise<void> {
    const email = await open(row, 'requester_email');
    if (email === null) return;
    const org = await createOrgsRepository(trx).findById(row.org_id);
    const link = withLink ? statusUrl(row.locale, await rotateToken(trx, row)) : undefined;
    await enqueueMail(trx, clock, keyring, {
      orgId: row.org_id,
      to: email,
      template: 'rights_reply',
      locale: row.locale,
      vars: {
        ...vars,
        orgName: org?.name ?? '',
        right: row.right_kind ?? 'unspecified',
        ...(link === undefined ? {} : { statusUrl: link }),
      },
    });
  }

  async function update(trx: Kysely<DB>, row: Row, patch: Partial<Row>): Promise<Row> {
    const next: Row = { ...row, ...patch, updated_at: clock.now().toISOString() };
    next.due_on = computeDue(next);
    await trx
      .updateTable('rights_requests')
      .set({ ...patch, due_on: next.due_on, updated_at: next.updated_at })
      .where('id', '=', row.id)
      .where('org_id', '=', row.org_id)
      .execute();
    return next;
  }

  /** Ends a running pause: its whole days are added to the clock. */
  function resumePatch(row: Row): Partial<Row> {
    if (row.paused_at === null) return {};
    return {
      paused_at: null,
      pause_reason: null,
      paused_days: row.paused_days + pausedDaysFor(new Date(row.paused_at), clock.now()),
    };
  }

  async function sendConfirmationMail(
    trx: Kysely<DB>,
    row: Row,
    token: string,
    email: string,
  ): Promise<void> {
    const org = await createOrgsRepository(trx).findById(row.org_id);
    await enqueueMail(trx, clock, keyring, {
      orgId: row.org_id,
      to: email,
      template: 'rights_confirm',
      locale: row.locale,
      vars: {
        orgName: org?.name ?? '',
        right: row.right_kind ?? 'unspecified',
        statusUrl: statusUrl(row.locale, token),
        expiresInDays: CONFIRM_DAYS,
      },
    });
    await addEvent(trx, row, 'confirmation_sent', 'system');
  }

  return {
    computeDue,
    summaryOf,

    /**
     * A request from the portal: stored, and a confirmation link mailed to the address given —
     * the same steps whether or not the address is known, so the response reveals nothing.
     */
    async submit(input: SubmitInput): Promise<{ id: string }> {
      return db.transaction().execute(async (trx) => {
        const { row, token } = await insertRequest(trx, { ...input, channel: 'portal' });
        await sendConfirmationMail(trx, row, token, input.email);
        await audit(
          trx,
          { kind: 'anonymous', orgId: input.orgId, ref: 'public:rights-portal' },
          'rights.request.receive',
          row.id,
          {
            right: input.right,
            channel: 'portal',
          },
        );
        return { id: row.id };
      });
    },

    /** The requester's view behind the status link; undefined for an unknown or expired link. */
    async statusByToken(
      token: string,
    ): Promise<{ confirmed: boolean; locale: Locale; view?: RequestStatusView } | undefined> {
      const row = await byToken(db, token);
      if (row === undefined) return undefined;
      if (row.status === 'lapsed') return undefined;
      if (row.status === 'received') {
        if (row.token_expires_at <= clock.now().toISOString()) return undefined;
        return { confirmed: false, locale: row.locale };
      }
      const org = await orgs.findById(row.org_id);
      const exp = await db
        .selectFrom('rights_exports')
        .select(['expires_at', 'downloaded_at', (eb) => eb('content', 'is not', null).as('has_content')])
        .where('org_id', '=', row.org_id)
        .where('request_id', '=', row.id)
        .orderBy('created_at', 'desc')
        .executeTakeFirst();
      const now = clock.now().toISOString();
      const exportState: RequestStatusView['exportState'] =
        exp === undefined
          ? 'none'
          : exp.downloaded_at !== null
            ? 'downloaded'
            : exp.expires_at <= now || !exp.has_content
              ? 'expired'
              : 'available';
      const summary = summaryOf(row);
      return {
        confirmed: true,
        locale: row.locale,
        view: {
          orgName: org?.name ?? '',
          right: row.right_kind,
          status: row.status,
          receivedOn: localDay(new Date(row.received_at)),
          dueOn: summary.dueOn,
          paused: summary.paused,
          extendedMonths: row.extended_months,
          extensionReason: await open(row, 'extension_reason'),
          outcome: row.outcome,
          outcomeReason: await open(row, 'outcome_reason'),
          exportState,
          exportExpiresAt: exp?.expires_at ?? null,
        },
      };
    },

    /**
     * The requester confirms through the link: identity by control of the address (P16). Then,
     * and only then, the request is matched to a data subject by the address's blind index.
     */
    async confirmByToken(token: string): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const row = await byToken(trx, token);
        if (row === undefined || row.status !== 'received')
          return row !== undefined && row.status !== 'lapsed';
        if (row.token_expires_at <= clock.now().toISOString()) return false;
        const scope = { orgId: row.org_id };
        const email = await open(row, 'requester_email');
        const found = email === null ? [] : await subjects.findByContact(trx, scope, { email });
        const subject = found.find((s) => s.email_bidx === row.requester_email_bidx);
        const next = await update(trx, row, {
          ...resumePatch(row),
          status: 'verified',
          verified_at: clock.now().toISOString(),
          verification_method: 'email_link',
          subject_id: subject?.id ?? null,
        });
        await addEvent(trx, next, 'verified', 'requester', { method: 'email_link' });
        if (subject !== undefined) await addEvent(trx, next, 'subject_matched', 'system', { by: 'email' });
        await audit(
          trx,
          { kind: 'anonymous', orgId: row.org_id, ref: 'public:rights-status' },
          'rights.request.verify',
          row.id,
          {
            method: 'email_link',
            matched: subject !== undefined,
          },
        );
        return true;
      });
    },

    async list(scope: OrgScope, filter: { open: boolean }): Promise<RequestSummary[]> {
      const rows = await db
        .selectFrom('rights_requests')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('status', filter.open ? 'in' : 'not in', [...openStatuses])
        .orderBy(filter.open ? 'due_on' : 'closed_at', filter.open ? 'asc' : 'desc')
        .limit(500)
        .execute();
      return rows.map(summaryOf);
    },

    /** A request with its contact details (privacy officer only; the read is audited). */
    async get(actor: Actor, id: string): Promise<RequestDetail> {
      const row = await load(db, actor, id);
      const events = await db
        .selectFrom('rights_request_events')
        .selectAll()
        .where('org_id', '=', actor.orgId)
        .where('request_id', '=', id)
        .orderBy('at')
        .execute();
      await audit(db, actor, 'rights.request.read', id, {});
      return {
        ...summaryOf(row),
        subjectId: row.subject_id,
        locale: row.locale,
        email: await open(row, 'requester_email'),
        phone: await open(row, 'requester_phone'),
        details: await open(row, 'details'),
        identityNote: await open(row, 'identity_note'),
        verificationMethod: row.verification_method,
        pauseReason: row.pause_reason,
        extensionReason: await open(row, 'extension_reason'),
        outcome: row.outcome,
        outcomeReason: await open(row, 'outcome_reason'),
        conversationId: row.conversation_id,
        events: events.map((e) => ({
          at: e.at,
          kind: e.kind,
          actorRef: e.actor_ref,
          meta: e.meta === null ? null : (JSON.parse(e.meta) as Record<string, unknown>),
        })),
      };
    },

    /** Staff record which right a mailed request is about. */
    async setRight(actor: Actor, id: string, right: RightKind): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const row = await load(trx, actor, id);
        refuseUnless(openStatuses.includes(row.status), 'rights.problem.notAllowed');
        await update(trx, row, { right_kind: right });
        await audit(trx, actor, 'rights.request.set_right', id, { right });
      });
    },

    /** Staff send the confirmation link to the sender of a mailed request. */
    async sendConfirmation(actor: Actor, id: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const row = await load(trx, actor, id);
        refuseUnless(row.status === 'received', 'rights.problem.notAllowed');
        const email = await open(row, 'requester_email');
        refuseUnless(email !== null, 'rights.problem.notAllowed');
        const token = await rotateToken(trx, row, new Date(clock.now().getTime() + CONFIRM_DAYS * DAY));
        await sendConfirmationMail(trx, row, token, email ?? '');
        await audit(trx, actor, 'rights.request.send_confirmation', id);
      });
    },

    /** A hard case: staff established identity another way and record how (P16). */
    async verifyByStaff(actor: Actor, id: string, note: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const row = await load(trx, actor, id);
        refuseUnless(openStatuses.includes(row.status), 'rights.problem.notAllowed');
        const next = await update(trx, row, {
          ...(row.status === 'received' ? { ...resumePatch(row), status: 'verified' as const } : {}),
          verified_at: clock.now().toISOString(),
          verification_method: 'staff_review',
          identity_note: await seal(row.org_id, id, 'identity_note', note),
        });
        await addEvent(trx, next, 'verified', actorRefOf(actor), { method: 'staff_review' });
        await audit(trx, actor, 'rights.request.verify', id, { method: 'staff_review' });
      });
    },

    /** Links the request to the data subject known by this email address or phone number. */
    async linkSubject(actor: Actor, id: string, keys: { email?: string; phone?: string }): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const row = await load(trx, actor, id);
        refuseUnless(openStatuses.includes(row.status), 'rights.problem.notAllowed');
        refuseUnless(row.verified_at !== null, 'rights.problem.unverified');
        const found = await subjects.findByContact(trx, actor, keys);
        const subject = found[0];
        if (subject === undefined) return false;
        const next = await update(trx, row, { subject_id: subject.id });
        await addEvent(trx, next, 'subject_matched', actorRefOf(actor), {
          by: keys.email ? 'email' : 'phone',
        });
        await audit(trx, actor, 'rights.request.link_subject', id);
        return true;
      });
    },

    /** Stops the clock and asks the requester for what is needed (identity or clarification). */
    async pause(actor: Actor, id: string, reason: PauseReason, message: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const row = await load(trx, actor, id);
        refuseUnless(
          (row.status === 'verified' || row.status === 'in_progress') && row.paused_at === null,
          'rights.problem.notAllowed',
        );
        const next = await update(trx, row, { paused_at: clock.now().toISOString(), pause_reason: reason });
        await addEvent(trx, next, 'paused', actorRefOf(actor), { reason });
        await mailRequester(trx, next, { kind: 'paused', reasons: message }, true);
        await audit(trx, actor, 'rights.request.pause', id, { reason });
      });
    },

    async resume(actor: Actor, id: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const row = await load(trx, actor, id);
        refuseUnless(
          (row.status === 'verified' || row.status === 'in_progress') && row.paused_at !== null,
          'rights.problem.notAllowed',
        );
        const next = await update(trx, row, resumePatch(row));
        await addEvent(trx, next, 'resumed', actorRefOf(actor), { pausedDays: next.paused_days });
        await audit(trx, actor, 'rights.request.resume', id);
      });
    },

    /**
     * Extends the time limit (Art. 12(3)): only within the first month, two months at most in
     * all, with reasons sent to the requester at once.
     */
    async extend(actor: Actor, id: string, months: number, reason: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const row = await load(trx, actor, id);
        refuseUnless(row.status === 'verified' || row.status === 'in_progress', 'rights.problem.notAllowed');
        const problem = extensionProblem({
          receivedOn: localDay(new Date(row.received_at)),
          extendedMonths: row.extended_months,
          pausedDays: row.paused_days,
          today: localDay(clock.now()),
          months,
          reason,
        });
        if (problem !== undefined) {
          throw new AppError('ERR_RIGHTS_EXTENSION_REFUSED', {
            message: `extension refused: ${problem}`,
            fields: { months: `rights.problem.${problem}` },
          });
        }
        const next = await update(trx, row, {
          extended_months: row.extended_months + months,
          extended_at: clock.now().toISOString(),
          extension_reason: await seal(row.org_id, id, 'extension_reason', reason),
        });
        await addEvent(trx, next, 'extended', actorRefOf(actor), {
          months,
          totalMonths: next.extended_months,
        });
        await mailRequester(trx, next, { kind: 'extended', months, due: next.due_on, reasons: reason }, true);
        await audit(trx, actor, 'rights.request.extend', id, { months });
      });
    },

    async start(actor: Actor, id: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const row = await load(trx, actor, id);
        refuseUnless(
          row.status === 'verified',
          row.verified_at === null ? 'rights.problem.unverified' : 'rights.problem.notAllowed',
        );
        const next = await update(trx, row, { status: 'in_progress' });
        await addEvent(trx, next, 'in_progress', actorRefOf(actor));
        await audit(trx, actor, 'rights.request.start', id);
      });
    },

    /**
     * Closes the request with a reply naming the right, the outcome, the reasons and the
     * complaint route (P17). For a refusal the reasons are required.
     */
    async close(
      trx: Kysely<DB>,
      actor: Actor,
      id: string,
      outcome: RequestOutcome,
      reasons: string,
      options: {
        withLink?: boolean;
        forgetRequester?: boolean;
        /** Another reply than the outcome's own, e.g. `ready` with the download link. */
        reply?: Omit<MailVars<'rights_reply'>, 'orgName' | 'right'>;
      } = {},
    ): Promise<void> {
      const row = await load(trx, actor, id);
      refuseUnless(openStatuses.includes(row.status), 'rights.problem.notAllowed');
      if (outcome !== 'refused') refuseUnless(row.verified_at !== null, 'rights.problem.unverified');
      if (outcome === 'refused' && reasons.trim().length < 10) {
        throw new AppError('ERR_VALIDATION', {
          message: 'a refusal needs reasons',
          fields: { reasons: 'rights.problem.reason_required' },
        });
      }
      const status: RequestStatus = outcome === 'refused' ? 'refused' : 'completed';
      let next = await update(trx, row, {
        ...resumePatch(row),
        status,
        outcome,
        outcome_reason: await seal(row.org_id, id, 'outcome_reason', reasons),
        closed_at: clock.now().toISOString(),
      });
      await addEvent(trx, next, status, actorRefOf(actor), { outcome });
      await mailRequester(trx, next, options.reply ?? { kind: outcome, reasons }, options.withLink ?? true);
      if (options.forgetRequester === true) {
        // After an erasure the request keeps ids, dates and the outcome; not who asked.
        next = await update(trx, next, {
          requester_email: null,
          requester_phone: null,
          requester_email_bidx: null,
          requester_phone_bidx: null,
          details: null,
          identity_note: null,
        });
      }
      await audit(trx, actor, `rights.request.${status === 'refused' ? 'refuse' : 'complete'}`, id, {
        outcome,
      });
    },

    async complete(actor: Actor, id: string, outcome: RequestOutcome, reasons: string): Promise<void> {
      await db.transaction().execute((trx) => this.close(trx, actor, id, outcome, reasons));
    },

    async addEvent(
      trx: Kysely<DB>,
      scope: OrgScope,
      id: string,
      kind: RequestEventKind,
      actor: Actor | 'requester' | 'system',
      meta?: Record<string, string | number | boolean | null>,
    ): Promise<void> {
      await addEvent(
        trx,
        { id, org_id: scope.orgId },
        kind,
        typeof actor === 'string' ? actor : actorRefOf(actor),
        meta,
      );
    },

    load: (scope: OrgScope, id: string, trx: Kysely<DB> = db) => load(trx, scope, id),
    byToken: (token: string, trx: Kysely<DB> = db) => byToken(trx, token),
    mailRequester,
    refuseUnless,

    /**
     * The daily duties: unconfirmed requests lapse (their contact details are removed), and the
     * privacy officers are reminded a week and two days before a due day and when it passed.
     */
    async dailyDuties(): Promise<{ lapsed: number; reminders: number }> {
      const now = clock.now();
      let lapsed = 0;
      let reminders = 0;
      const expired = await db
        .selectFrom('rights_requests')
        .selectAll()
        .where('status', '=', 'received')
        .where('token_expires_at', '<=', now.toISOString())
        .limit(1000)
        .execute();
      for (const row of expired) {
        await db.transaction().execute(async (trx) => {
          await update(trx, row, {
            status: 'lapsed',
            closed_at: now.toISOString(),
            requester_email: null,
            requester_phone: null,
            requester_email_bidx: null,
            requester_phone_bidx: null,
            details: null,
          });
          await addEvent(trx, row, 'lapsed', 'system');
          await audit(
            trx,
            { kind: 'anonymous', orgId: row.org_id, ref: 'system:rights.lapse' },
            'rights.request.lapse',
            row.id,
          );
        });
        lapsed += 1;
      }

      const open = await db
        .selectFrom('rights_requests')
        .selectAll()
        .where('status', 'in', ['verified', 'in_progress'])
        .where('paused_at', 'is', null)
        .execute();
      for (const row of open) {
        const s = summaryOf(row);
        const threshold =
          s.daysLeft < 0 ? 'overdue' : s.daysLeft <= 2 ? 'two_days' : s.daysLeft <= 7 ? 'week' : null;
        if (threshold === null) continue;
        const sent = await db
          .selectFrom('rights_request_events')
          .select('id')
          .where('org_id', '=', row.org_id)
          .where('request_id', '=', row.id)
          .where('kind', '=', 'reminder_sent')
          .where('meta', '=', JSON.stringify({ threshold }))
          .executeTakeFirst();
        if (sent !== undefined) continue;
        const officers = await db
          .selectFrom('users')
          .innerJoin('user_roles', 'user_roles.user_id', 'users.id')
          .select(['users.email', 'users.display_name', 'users.locale'])
          .where('users.org_id', '=', row.org_id)
          .where('users.disabled', '=', 0)
          .where('user_roles.role', '=', 'privacy_officer')
          .execute();
        await db.transaction().execute(async (trx) => {
          for (const o of officers) {
            const locale: Locale = o.locale === 'en' ? 'en' : 'nl';
            const right = t(locale, `rights.right.${row.right_kind ?? 'unspecified'}`);
            await enqueueMail(trx, clock, keyring, {
              orgId: row.org_id,
              to: o.email,
              template: 'notification',
              locale,
              vars: {
                subject: t(locale, 'rights.mail.reminder.subject', { due: s.dueOn }),
                recipientName: o.display_name.slice(0, 200),
                body:
                  threshold === 'overdue'
                    ? t(locale, 'rights.mail.reminder.overdue', { right, due: s.dueOn })
                    : t(locale, 'rights.mail.reminder.body', { right, due: s.dueOn, days: s.daysLeft }),
                actionUrl: `${config.publicOrigin}/staff/rights/${row.id}`,
              },
            });
          }
          await addEvent(trx, row, 'reminder_sent', 'system', { threshold });
        });
        reminders += 1;
      }
      return { lapsed, reminders };
    },
  };
}

export type RightsService = ReturnType<typeof createRightsService>;
