/**
 * The rights portal's use cases (P15, P16): a request from the public form, the requester's view
 * behind the status link, confirmation by that link (identity by control of the address), and the
 * one download of a prepared export. Disclosure rules: receipt does the same work whether or not
 * the address is known (no look-up happens before the requester proved control of it), and the
 * status page shows nothing but a confirm button until then.
 */
import type { OrgScope } from '../../shared/actor.js';
import type { Locale } from '../../shared/i18n/messages.js';
import type { KluisCore } from '../module.js';
import type { AuditService } from '../security/index.js';
import type { SubjectsService } from '../subjects/index.js';
import { localDay } from './rights-deadlines.js';
import { createRightsRepository } from './rights-repository.js';
import type { RequestCore, RequestStatusView } from './rights-requests.js';
import type { RightKind } from './rights-schema.js';

export interface SubmitInput {
  orgId: string;
  right: RightKind;
  email: string;
  phone?: string | undefined;
  details?: string | undefined;
  locale: Locale;
}

export type PortalDeps = Pick<KluisCore, 'db' | 'keyring' | 'clock'> & {
  readonly audit: AuditService;
  readonly subjects: Pick<SubjectsService, 'findByContact'>;
};

export const exportLocation = (id: string) => ({ table: 'rights_exports', column: 'content', rowId: id });

export function createRightsPortal(deps: PortalDeps, core: RequestCore) {
  const { db, keyring, clock } = deps;
  const { open } = core.records;
  const portal = { kind: 'anonymous', ref: 'public:rights-status' } as const;

  /** Where the request's newest export stands. */
  async function exportStateOf(orgId: string, requestId: string) {
    const exp = await createRightsRepository(db).findLatestExport({ orgId }, requestId);
    const now = clock.now().toISOString();
    const state: RequestStatusView['exportState'] =
      exp === undefined
        ? 'none'
        : exp.downloaded_at !== null
          ? 'downloaded'
          : exp.expires_at <= now || !exp.has_content
            ? 'expired'
            : 'available';
    return { state, expiresAt: exp?.expires_at ?? null };
  }

  return {
    /**
     * A request from the portal: stored, and a confirmation link mailed to the address given —
     * the same steps whether or not the address is known, so the response reveals nothing.
     */
    async submit(input: SubmitInput): Promise<{ id: string }> {
      return db.transaction().execute(async (trx) => {
        const { row, token } = await core.records.insertRequest(trx, { ...input, channel: 'portal' });
        await core.sendConfirmationMail(trx, row, token, input.email);
        const actor = { kind: 'anonymous', orgId: input.orgId, ref: 'public:rights-portal' } as const;
        await core.audit(trx, actor, 'rights.request.receive', row.id, {
          right: input.right,
          channel: 'portal',
        });
        return { id: row.id };
      });
    },

    /**
     * The requester's view behind the status link, opened on `scope`'s site; undefined for an
     * unknown or expired link and for another organisation's.
     */
    async statusByToken(
      scope: OrgScope,
      token: string,
    ): Promise<{ confirmed: boolean; locale: Locale; view?: RequestStatusView } | undefined> {
      const row = await core.byToken(db, scope, token);
      if (row === undefined || row.status === 'lapsed') return undefined;
      if (row.status === 'received') {
        if (row.token_expires_at <= clock.now().toISOString()) return undefined;
        return { confirmed: false, locale: row.locale };
      }
      const exported = await exportStateOf(row.org_id, row.id);
      const summary = core.summaryOf(row);
      return {
        confirmed: true,
        locale: row.locale,
        view: {
          orgName: await core.orgNameOf(db, row.org_id),
          right: row.right_kind,
          status: row.status,
          receivedOn: localDay(new Date(row.received_at)),
          dueOn: summary.dueOn,
          paused: summary.paused,
          extendedMonths: row.extended_months,
          extensionReason: await open(row, 'extension_reason'),
          outcome: row.outcome,
          outcomeReason: await open(row, 'outcome_reason'),
          exportState: exported.state,
          exportExpiresAt: exported.expiresAt,
        },
      };
    },

    /**
     * The requester confirms through the link: identity by control of the address (P16). Then,
     * and only then, the request is matched to a data subject by the address's blind index.
     */
    async confirmByToken(scope: OrgScope, token: string): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const row = await core.byToken(trx, scope, token);
        if (row === undefined || row.status !== 'received')
          return row !== undefined && row.status !== 'lapsed';
        if (row.token_expires_at <= clock.now().toISOString()) return false;
        const email = await open(row, 'requester_email');
        const found =
          email === null ? [] : await deps.subjects.findByContact(trx, { orgId: row.org_id }, { email });
        const subject = found.find((s) => s.email_bidx === row.requester_email_bidx);
        const next = await core.update(trx, row, {
          ...core.resumePatch(row),
          status: 'verified',
          verified_at: clock.now().toISOString(),
          verification_method: 'email_link',
          subject_id: subject?.id ?? null,
        });
        await core.addEvent(trx, next, 'verified', 'requester', { method: 'email_link' });
        if (subject !== undefined)
          await core.addEvent(trx, next, 'subject_matched', 'system', { by: 'email' });
        await core.audit(trx, { ...portal, orgId: row.org_id }, 'rights.request.verify', row.id, {
          method: 'email_link',
          matched: subject !== undefined,
        });
        return true;
      });
    },

    /** The export behind a status link, once: the sealed zip is removed as it is handed out. */
    async downloadExport(
      scope: OrgScope,
      token: string,
    ): Promise<{ filename: string; content: Buffer } | undefined> {
      const request = await core.byToken(db, scope, token);
      if (request === undefined || request.subject_id === null) return undefined;
      return db.transaction().execute(async (trx) => {
        const repo = createRightsRepository(trx);
        const scope = { orgId: request.org_id };
        const exp = await repo.findDownloadableExport(scope, request.id, clock.now().toISOString());
        if (exp?.content === undefined || exp.content === null) return undefined;
        const sealed = await keyring.decryptForSubject(
          exp.org_id,
          exp.subject_id,
          exportLocation(exp.id),
          exp.content,
        );
        const zip = Buffer.from(sealed, 'base64');
        if (!(await repo.takeExport(exp.id, clock.now().toISOString()))) return undefined;
        await core.addEvent(trx, request, 'export_downloaded', 'requester', { bytes: exp.size_bytes });
        await core.audit(trx, { ...portal, orgId: exp.org_id }, 'rights.export.download', request.id);
        return { filename: `kluis-export-${exp.created_at.slice(0, 10)}.zip`, content: zip };
      });
    },
  };
}
