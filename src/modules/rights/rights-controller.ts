/**
 * Requests a controller hands over through its OpenDSR endpoint (issue 13; P15, P16). The tenant
 * is the controller: it received the request, verified the requester itself and passes the
 * request to Kluis, its processor. So the request enters the privacy officer's queue verified
 * (`controller`), with the legal clock running from the controller's own receipt, and Kluis keeps
 * no address to reply to: the controller answers the requester, Kluis mails nobody. While nobody
 * works on it yet, the controller may cancel it: closed without a reply, the clock stopped. The
 * access export of such a request goes to the controller (its API key), under the same rules as
 * the requester's download from the portal: once, within its 14 days.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Actor, OrgScope } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import type { Locale } from '../../shared/i18n/messages.js';
import { assertCan } from '../../shared/permissions.js';
import type { KluisCore } from '../module.js';
import { exportLocation } from './rights-portal.js';
import { createRightsRepository } from './rights-repository.js';
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

/** Where a request's newest access export stands. */
export type ExportState = 'none' | 'available' | 'downloaded' | 'expired';

export function createControllerRequests(
  deps: Pick<KluisCore, 'db' | 'keyring' | 'clock'>,
  core: RequestCore,
) {
  const { db, keyring, clock } = deps;
  const notFound = () => new AppError('ERR_NOT_FOUND', { message: 'no export of this request' });
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

    /** Whether the request has an access export, and whether it can still be downloaded. */
    async exportStateOf(scope: OrgScope, id: string): Promise<ExportState> {
      const exp = await createRightsRepository(db).findLatestExport(scope, id);
      if (exp === undefined) return 'none';
      if (exp.downloaded_at !== null) return 'downloaded';
      return exp.expires_at <= clock.now().toISOString() || !exp.has_content ? 'expired' : 'available';
    },

    /**
     * The access export of a request the actor's organisation handed over, for its controller:
     * once, like the requester's download (the sealed zip goes as it is handed out), within its
     * 14 days. ERR_NOT_FOUND without one (or for another organisation's request), ERR_RIGHTS_EXPORT_GONE
     * once downloaded or expired.
     */
    async downloadForController(actor: Actor, id: string): Promise<{ filename: string; content: Buffer }> {
      assertCan(actor, 'rights.submit');
      return db.transaction().execute(async (trx) => {
        const row = await core.load(trx, actor, id);
        if (row.channel !== 'opendsr' || row.subject_id === null) throw notFound();
        const repo = createRightsRepository(trx);
        if ((await repo.findLatestExport(actor, id)) === undefined) throw notFound();
        const now = clock.now().toISOString();
        const exp = await repo.findDownloadableExport(actor, id, now);
        const gone = () =>
          new AppError('ERR_RIGHTS_EXPORT_GONE', { message: 'export downloaded or expired' });
        if (exp?.content === undefined || exp.content === null) throw gone();
        const sealed = await keyring.decryptForSubject(
          exp.org_id,
          exp.subject_id,
          exportLocation(exp.id),
          exp.content,
        );
        if (!(await repo.takeExport(exp.id, now))) throw gone();
        await core.addEvent(trx, row, 'export_downloaded', actor, { bytes: exp.size_bytes });
        await core.audit(trx, actor, 'rights.export.download', id, { channel: 'opendsr' });
        return {
          filename: `kluis-export-${exp.created_at.slice(0, 10)}.zip`,
          content: Buffer.from(sealed, 'base64'),
        };
      });
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
