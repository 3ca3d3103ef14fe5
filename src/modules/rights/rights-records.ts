/**
 * Storing a rights request and its timeline: sealing the requester's details with the org key,
 * the due day, timeline events. Shared by the workflow (rights-service.ts) and the privacy
 * mailbox (intake-mail.ts), which records a mailed request inside its own transaction.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import { type Clock, DAY } from '../../shared/clock.js';
import type { Locale } from '../../shared/i18n/messages.js';
import { newId } from '../../shared/ids.js';
import { createAuditService } from '../security/index.js';
import { dueOn, localDay } from './rights-deadlines.js';
import { createRightsRepository } from './rights-repository.js';
import type { RequestEventKind, RightKind, RightsRequestsTable } from './rights-schema.js';

/** The confirmation link works this long; an unconfirmed request lapses then. */
export const CONFIRM_DAYS = 14;

type Row = RightsRequestsTable;
export type SealedColumn =
  | 'requester_email'
  | 'requester_phone'
  | 'details'
  | 'identity_note'
  | 'extension_reason'
  | 'outcome_reason';

export function tokenHash(token: string): string {
  return createHash('sha256').update(`kluis/rights-status/v1|${token}`, 'utf8').digest('hex');
}

export function requestRecords(deps: { keyring: Keyring; clock: Clock }) {
  const { keyring, clock } = deps;
  const loc = (id: string, column: SealedColumn) => ({ table: 'rights_requests', column, rowId: id });
  const seal = (orgId: string, id: string, column: SealedColumn, value: string | null | undefined) =>
    value === null || value === undefined || value === ''
      ? Promise.resolve(null)
      : keyring.encryptForOrg(orgId, loc(id, column), value);
  const open = (row: Row, column: SealedColumn) => {
    const value = row[column];
    return value === null
      ? Promise.resolve(null)
      : keyring.decryptForOrg(row.org_id, loc(row.id, column), value);
  };

  async function insertRequest(
    trx: Kysely<DB>,
    input: {
      orgId: string;
      right: RightKind | null;
      channel: Row['channel'];
      /** The address replies go to; null when the requester is answered by someone else (OpenDSR). */
      email: string | null;
      /** A blind index to match the subject by, when no address to reply to is kept. */
      emailIndexOf?: string | undefined;
      phone?: string | undefined;
      details?: string | undefined;
      locale: Locale;
      conversationId?: string | null;
      /** When the legal clock starts (default now): a controller's own receipt, for OpenDSR. */
      receivedAt?: Date | undefined;
      /** Identity already established by the controller: the request starts verified, the clock running. */
      verifiedByController?: boolean;
    },
  ): Promise<{ row: Row; token: string }> {
    const now = clock.now();
    const id = newId();
    const token = randomBytes(32).toString('base64url');
    const indexed = input.email ?? input.emailIndexOf;
    const verified = input.verifiedByController === true;
    const receivedAt = input.receivedAt ?? now;
    const [emailIdx, phoneIdx] = await Promise.all([
      indexed === undefined ? null : keyring.blindIndex(input.orgId, 'email', indexed),
      input.phone === undefined || input.phone === ''
        ? null
        : keyring.blindIndex(input.orgId, 'phone', input.phone),
    ]);
    const row: Row = {
      id,
      org_id: input.orgId,
      subject_id: null,
      right_kind: input.right,
      channel: input.channel,
      locale: input.locale,
      status: verified ? 'verified' : 'received',
      requester_email: await seal(input.orgId, id, 'requester_email', input.email),
      requester_phone: await seal(input.orgId, id, 'requester_phone', input.phone),
      requester_email_bidx: emailIdx,
      requester_phone_bidx: phoneIdx,
      details: await seal(input.orgId, id, 'details', input.details),
      token_hash: tokenHash(token),
      token_expires_at: new Date(now.getTime() + CONFIRM_DAYS * DAY).toISOString(),
      received_at: receivedAt.toISOString(),
      verified_at: verified ? now.toISOString() : null,
      verification_method: verified ? 'controller' : null,
      identity_note: null,
      // Until the requester proves control of the address, the clock stands still (identity).
      paused_at: verified ? null : now.toISOString(),
      pause_reason: verified ? null : 'identity',
      paused_days: 0,
      extended_months: 0,
      extension_reason: null,
      extended_at: null,
      due_on: '',
      closed_at: null,
      outcome: null,
      outcome_reason: null,
      conversation_id: input.conversationId ?? null,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
    };
    row.due_on = computeDue(row);
    await createRightsRepository(trx).insertRequest(row);
    await addEvent(trx, row, 'received', input.channel === 'portal' ? 'requester' : 'system', {
      channel: input.channel,
    });
    if (verified) await addEvent(trx, row, 'verified', 'system', { method: 'controller' });
    return { row, token };
  }

  function computeDue(row: Pick<Row, 'received_at' | 'extended_months' | 'paused_days'>): string {
    return dueOn({
      receivedOn: localDay(new Date(row.received_at)),
      extendedMonths: row.extended_months,
      pausedDays: row.paused_days,
    });
  }

  async function addEvent(
    trx: Kysely<DB>,
    row: Pick<Row, 'id' | 'org_id'>,
    kind: RequestEventKind,
    actorRef: string,
    meta?: Record<string, string | number | boolean | null>,
  ): Promise<void> {
    await createRightsRepository(trx).insertEvent({
      id: newId(),
      org_id: row.org_id,
      request_id: row.id,
      at: clock.now().toISOString(),
      kind,
      actor_ref: actorRef,
      meta: meta === undefined ? null : JSON.stringify(meta),
    });
  }

  return {
    seal,
    open,
    computeDue,
    addEvent,
    insertRequest,

    /**
     * A mail to the privacy address (P16) lands in the workflow unverified, linked to its
     * conversation. No automatic mail back (a forged sender would make us a spam relay); staff
     * send the confirmation link. One request per conversation.
     */
    async receiveEmail(
      trx: Kysely<DB>,
      input: { orgId: string; email: string; locale: Locale; conversationId: string },
    ): Promise<{ id: string; created: boolean }> {
      const existing = await createRightsRepository(trx).findRequestIdByConversation(
        { orgId: input.orgId },
        input.conversationId,
      );
      if (existing !== undefined) return { id: existing.id, created: false };
      const { row } = await insertRequest(trx, { ...input, right: null, channel: 'email' });
      await createAuditService({ clock }).append(trx, {
        actor: { kind: 'anonymous', orgId: input.orgId, ref: 'mail:privacy-address' },
        action: 'rights.request.receive',
        target: { type: 'rights_request', id: row.id },
        purpose: 'rights_handling',
        meta: { channel: 'email' },
      });
      return { id: row.id, created: true };
    },
  };
}
