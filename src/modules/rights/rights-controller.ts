/**
 * Requests a controller hands over through its OpenDSR endpoint (issue 13; P15, P16). The tenant
 * is the controller: it received the request, verified the requester itself and passes the
 * request to Kluis, its processor. So the request enters the privacy officer's queue verified
 * (`controller`), with the legal clock running from the controller's own receipt, and Kluis keeps
 * no address to reply to: the controller answers the requester, Kluis mails nobody. While nobody
 * works on it yet, the controller may cancel it: closed without a reply, the clock stopped.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Actor } from '../../shared/actor.js';
import type { Locale } from '../../shared/i18n/messages.js';
import { assertCan } from '../../shared/permissions.js';
import type { KluisCore } from '../module.js';
import { type RequestCore, refuseUnless } from './rights-requests.js';
import type { RequestStatus } from './rights-schema.js';

export interface ControllerRequestInput {
  readonly right: 'access' | 'portability' | 'erasure';
  /** When the controller received the request from the data subject (the legal clock starts then). */
  readonly receivedAt: Date;
  /** What identifies the subject, as the privacy officer reads it (sealed with the org key). */
  readonly identities: string;
  /** An address given in clear: kept only as a blind index, to match the subject by. */
  readonly email?: string | undefined;
  readonly locale: Locale;
}

export interface ControllerRequest {
  readonly id: string;
  readonly status: RequestStatus;
  /** The answer is due on this day (YYYY-MM-DD, Europe/Amsterdam). */
  readonly dueOn: string;
}

export function createControllerRequests(deps: Pick<KluisCore, 'clock'>, core: RequestCore) {
  const { clock } = deps;
  return {
    /**
     * Records a request the actor's organisation verified itself, in the caller's transaction
     * (the caller records its own side of the hand-over with it).
     */
    async receiveFromController(
      trx: Kysely<DB>,
      actor: Actor,
      input: ControllerRequestInput,
    ): Promise<ControllerRequest> {
      assertCan(actor, 'rights.submit');
      const now = clock.now();
      const { row } = await core.records.insertRequest(trx, {
        orgId: actor.orgId,
        right: input.right,
        channel: 'opendsr',
        email: null,
        emailIndexOf: input.email,
        details: input.identities,
        locale: input.locale,
        // A receipt "in the future" (a skewed clock) starts the clock now.
        receivedAt: input.receivedAt.getTime() > now.getTime() ? now : input.receivedAt,
        verifiedByController: true,
      });
      await core.audit(trx, actor, 'rights.request.receive', row.id, { channel: 'opendsr' });
      return { id: row.id, status: row.status, dueOn: row.due_on };
    },

    /** The controller withdraws a request nobody works on yet: closed, the clock stopped. */
    async cancelByController(trx: Kysely<DB>, actor: Actor, id: string): Promise<ControllerRequest> {
      assertCan(actor, 'rights.submit');
      const row = await core.load(trx, actor, id);
      refuseUnless(
        row.channel === 'opendsr' && (row.status === 'received' || row.status === 'verified'),
        'rights.problem.notAllowed',
      );
      const next = await core.update(trx, row, {
        ...core.resumePatch(row),
        status: 'cancelled',
        closed_at: clock.now().toISOString(),
      });
      await core.addEvent(trx, next, 'cancelled', actor);
      await core.audit(trx, actor, 'rights.request.cancel', id);
      return { id, status: next.status, dueOn: next.due_on };
    },
  };
}
