/**
 * A rights request as every use case handles it (P15–P17, GDPR Art. 12): loading it in the
 * actor's organisation (another organisation's request is a 404), the legal clock with its pauses
 * and extensions, the status link's secret, the requester's replies (which always name the
 * complaint route, P17), its timeline and its audit entries. The portal, the staff workflow, the
 * daily duties and the fulfilment of each right are built on this core.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { type Actor, actorRef, type OrgScope } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import type { Locale } from '../../shared/i18n/messages.js';
import type { MailVars } from '../mail/index.js';
import { enqueueMail } from '../mail/index.js';
import type { KluisCore } from '../module.js';
import { createOrgsRepository, siteBaseOf } from '../orgs/index.js';
import type { AuditEvent, AuditService } from '../security/index.js';
import { bucketOf, type DaysLeftBucket, daysBetween, localDay, pausedDaysFor } from './rights-deadlines.js';
import { CONFIRM_DAYS, requestRecords, tokenHash } from './rights-records.js';
import { createRightsRepository } from './rights-repository.js';
import type {
  PauseReason,
  RequestEventKind,
  RequestOutcome,
  RequestStatus,
  RightKind,
  RightsRequestsTable,
} from './rights-schema.js';

export type Row = RightsRequestsTable;

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

export type ProblemKey =
  | 'rights.problem.notAllowed'
  | 'rights.problem.noSubject'
  | 'rights.problem.unverified';

/** A use case refused in the request's state: the page shows the problem next to the request. */
export function refuseUnless(ok: boolean, messageKey: ProblemKey): void {
  if (!ok)
    throw new AppError('ERR_RIGHTS_NOT_ALLOWED', { message: messageKey, fields: { request: messageKey } });
}

/** Who changed the request, as its timeline records it. */
export type EventActor = Actor | 'requester' | 'system';

/**
 * The timeline's reference of an actor: the person or key, and the grant operator staff acted
 * under (`user:<id>@grant:<id>`), so the timeline never hides operator access (P8).
 */
export function eventRef(actor: EventActor): string {
  return typeof actor === 'string' ? actor : actorRef(actor);
}

/** A request's status changed (in the transaction that changed it). */
export interface StatusChange {
  readonly orgId: string;
  readonly requestId: string;
  readonly channel: Row['channel'];
  readonly previous: RequestStatus;
  readonly status: RequestStatus;
  readonly dueOn: string;
}

/**
 * Told of every status change inside its transaction, so what it records (e.g. an OpenDSR
 * callback, queued) commits or rolls back with the change. Registered by later modules.
 */
export type StatusListener = (trx: Kysely<DB>, change: StatusChange) => Promise<void>;

export type RequestCoreDeps = Pick<KluisCore, 'keyring' | 'clock' | 'config'> & {
  readonly audit: AuditService;
};

/** The requester's replies: the status link's secret, the confirmation mail, the answers. */
function requestReplies(deps: RequestCoreDeps, records: ReturnType<typeof requestRecords>) {
  const { keyring, clock, config } = deps;
  const { open } = records;

  /**
   * The status link, on the organisation's own site: a tenant's host name when it has one, else its
   * `/o/<slug>` on the installation's host; the link opens only there (linkOrgOf).
   */
  async function statusUrl(trx: Kysely<DB>, row: Row, token: string): Promise<string> {
    const orgs = createOrgsRepository(trx);
    const org = await orgs.findById(row.org_id);
    if (org === undefined)
      throw new AppError('ERR_NOT_FOUND', { message: 'organisation of a request not found' });
    const hosts = (await orgs.listHosts(row.org_id)).map((h) => h.host);
    const base = siteBaseOf(config.publicOrigin, org, hosts, row.locale === 'en' ? '/en' : '');
    return `${base}/rights/r/${token}`;
  }

  /** A new status-link secret; earlier links stop working (each mail carries the newest). */
  async function rotateToken(trx: Kysely<DB>, row: Row, expiresAt?: Date): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await createRightsRepository(trx).updateRequest({ orgId: row.org_id }, row.id, {
      token_hash: tokenHash(token),
      ...(expiresAt === undefined ? {} : { token_expires_at: expiresAt.toISOString() }),
    });
    return token;
  }

  async function orgNameOf(trx: Kysely<DB>, orgId: string): Promise<string> {
    return (await createOrgsRepository(trx).findById(orgId))?.name ?? '';
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
    const orgName = await orgNameOf(trx, row.org_id);
    const link = withLink ? await statusUrl(trx, row, await rotateToken(trx, row)) : undefined;
    await enqueueMail(trx, clock, keyring, {
      orgId: row.org_id,
      to: email,
      template: 'rights_reply',
      locale: row.locale,
      vars: {
        ...vars,
        orgName,
        right: row.right_kind ?? 'unspecified',
        ...(link === undefined ? {} : { statusUrl: link }),
      },
    });
  }

  /** Mails the confirmation link (P16) to `email` and notes it in the timeline. */
  async function sendConfirmationMail(
    trx: Kysely<DB>,
    row: Row,
    token: string,
    email: string,
  ): Promise<void> {
    await enqueueMail(trx, clock, keyring, {
      orgId: row.org_id,
      to: email,
      template: 'rights_confirm',
      locale: row.locale,
      vars: {
        orgName: await orgNameOf(trx, row.org_id),
        right: row.right_kind ?? 'unspecified',
        statusUrl: await statusUrl(trx, row, token),
        expiresInDays: CONFIRM_DAYS,
      },
    });
    await records.addEvent(trx, row, 'confirmation_sent', 'system');
  }

  return { rotateToken, orgNameOf, mailRequester, sendConfirmationMail };
}

export function createRequestCore(deps: RequestCoreDeps) {
  const { keyring, clock } = deps;
  const records = requestRecords({ keyring, clock });
  const { computeDue } = records;
  const replies = requestReplies(deps, records);
  const listeners: StatusListener[] = [];

  async function load(trx: Kysely<DB>, scope: OrgScope, id: string): Promise<Row> {
    const row = await createRightsRepository(trx).findRequest(scope, id);
    if (row === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'rights request not found' });
    return row;
  }

  /** The request of `scope` a status link's secret names (another organisation's: undefined). */
  async function byToken(trx: Kysely<DB>, scope: OrgScope, token: string): Promise<Row | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    return createRightsRepository(trx).findRequestByTokenHash(scope, tokenHash(token));
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

  /** Changes the request and moves its due day with it. */
  async function update(trx: Kysely<DB>, row: Row, patch: Partial<Row>): Promise<Row> {
    const next: Row = { ...row, ...patch, updated_at: clock.now().toISOString() };
    next.due_on = computeDue(next);
    await createRightsRepository(trx).updateRequest({ orgId: row.org_id }, row.id, {
      ...patch,
      due_on: next.due_on,
      updated_at: next.updated_at,
    });
    if (next.status !== row.status) {
      const change: StatusChange = {
        orgId: next.org_id,
        requestId: next.id,
        channel: next.channel,
        previous: row.status,
        status: next.status,
        dueOn: next.due_on,
      };
      for (const listener of listeners) await listener(trx, change);
    }
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

  async function addEvent(
    trx: Kysely<DB>,
    row: Pick<Row, 'id' | 'org_id'>,
    kind: RequestEventKind,
    actor: EventActor,
    meta?: Record<string, string | number | boolean | null>,
  ): Promise<void> {
    await records.addEvent(trx, row, kind, eventRef(actor), meta);
  }

  /** The request's audit entry: who did what to it (and which fields it read), for rights handling. */
  async function audit(
    trx: Kysely<DB>,
    actor: AuditEvent['actor'],
    action: string,
    id: string,
    meta?: Record<string, string | number | boolean | null>,
    fields?: readonly string[],
  ): Promise<void> {
    await deps.audit.append(trx, {
      actor,
      action,
      target: { type: 'rights_request', id },
      purpose: 'rights_handling',
      ...(fields === undefined ? {} : { fields: [...fields] }),
      ...(meta === undefined ? {} : { meta }),
    });
  }

  return {
    /** Registers a listener for every status change from now on (see StatusListener). */
    onStatusChange(listener: StatusListener): void {
      listeners.push(listener);
    },
    records,
    load,
    byToken,
    summaryOf,
    ...replies,
    update,
    resumePatch,
    addEvent,
    audit,
  };
}

export type RequestCore = ReturnType<typeof createRequestCore>;
