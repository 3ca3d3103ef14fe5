/**
 * Pages of tenant offboarding: the tenant's owner starts it, downloads the export during the
 * notice period and the certificate afterwards (`/staff/offboarding`); the operator's owner starts
 * it for a tenant whose agreement has ended. The audit key that verifies certificates is
 * published at `/.well-known/kluis-audit-key`.
 */
import { z } from 'zod';
import type { Actor } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { csrfField } from '../../shared/html/forms.js';
import { html, type SafeHtml } from '../../shared/html/html.js';
import { timeTag } from '../../shared/html/time.js';
import { renderPage } from '../../shared/http/render.js';
import { sendDownload } from '../../shared/http/responses.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import type { Locale, Translate } from '../../shared/i18n/messages.js';
import type { KluisCore, KluisServices } from '../module.js';
import { auditSigningKeyOf } from '../security/index.js';
import { publishedKey } from './offboarding-certificate.js';
import type { OffboardingService } from './offboarding-service.js';

const ownerAccess = { kind: 'staff', permission: 'offboarding.manage' } as const;

type Status = Awaited<ReturnType<OffboardingService['status']>>;

function statusSection(
  t: Translate,
  locale: Locale,
  s: Status,
  csrf: string | undefined,
  operator: boolean,
): SafeHtml {
  const o = s.offboarding;
  const at = (iso: string) => timeTag(locale, iso, '');
  const rows = html`<h2>${t('offboarding.rows')}</h2><ul>${Object.entries(s.rows).map(
    ([table, n]) => html`<li><code>${table}</code>: ${n}</li>`,
  )}</ul>`;
  if (o === undefined) {
    return operator
      ? html`<p>${t('offboarding.none')}</p>${rows}`
      : html`<p>${t('offboarding.none')}</p>${rows}
<form method="post" action="/staff/offboarding/start">${csrfField(csrf)}
<label><input type="checkbox" name="confirm" value="yes" required> ${t('offboarding.confirm')}</label>
<button type="submit">${t('offboarding.start')}</button></form>`;
  }
  return html`<dl>
<dt>${t('offboarding.started')}</dt><dd>${at(o.startedAt)}</dd>
<dt>${t('offboarding.noticeEnds')}</dt><dd>${at(o.noticeEndsAt)}</dd>
${o.exportDownloadedAt === null ? null : html`<dt>${t('offboarding.downloaded')}</dt><dd>${at(o.exportDownloadedAt)}</dd>`}
${o.finishedAt === null ? null : html`<dt>${t('offboarding.finished')}</dt><dd>${at(o.finishedAt)}</dd>`}
</dl>
${o.exportAvailable && !operator ? html`<p><a href="/staff/offboarding/export">${t('offboarding.download')}</a></p>` : null}
${o.hasCertificate && !operator ? html`<p><a href="/staff/offboarding/certificate">${t('offboarding.certificate')}</a></p>` : null}
${o.status === 'notice' ? rows : null}
<p>${t('offboarding.key')}</p>`;
}

function operatorForm(t: Translate, csrf: string | undefined): SafeHtml {
  return html`<h2>${t('offboarding.tenants.title')}</h2>
<form method="post" action="/staff/offboarding/start">${csrfField(csrf)}
<p><label for="f-tenant">${t('offboarding.tenants.slug')}</label> <input id="f-tenant" name="tenant" required></p>
<p><label for="f-ended">${t('offboarding.tenants.agreementEnded')}</label> <input id="f-ended" name="agreementEnded" type="date" required></p>
<button type="submit">${t('offboarding.start')}</button></form>`;
}

export function offboardingRoutes(
  kit: RouteKit,
  deps: Pick<KluisCore, 'config'> & Pick<KluisServices, 'offboarding' | 'orgs'>,
): void {
  const { offboarding, orgs } = deps;

  const tenantBySlug = async (actor: Actor, slug: string | undefined): Promise<string | undefined> => {
    if (actor.orgKind !== 'operator' || slug === undefined) return undefined;
    const org = await orgs.findBySlug(slug);
    if (org === undefined || org.kind !== 'tenant')
      throw new AppError('ERR_NOT_FOUND', { message: 'tenant not found' });
    return org.id;
  };

  kit.route({
    method: 'GET',
    url: '/staff/offboarding',
    access: ownerAccess,
    query: z.object({ tenant: z.string().max(100).optional() }),
    handler: async ({ request, reply, actor, t, query }) => {
      const operator = actor.orgKind === 'operator';
      const csrf = reply.generateCsrf();
      const tenantId = await tenantBySlug(actor, query.tenant);
      const status =
        operator && tenantId === undefined ? undefined : await offboarding.status(actor, tenantId);
      return renderPage(request, reply, {
        title: t('offboarding.title'),
        csrfToken: csrf,
        body: html`<h1>${t('offboarding.title')}</h1><p>${t('offboarding.intro')}</p>
${status === undefined ? null : statusSection(t, request.locale, status, csrf, operator)}
${operator ? operatorForm(t, csrf) : null}`,
      });
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/offboarding/start',
    access: ownerAccess,
    body: z.object({
      _csrf: z.string().optional(),
      confirm: z.literal('yes').optional(),
      tenant: z.string().max(100).optional(),
      agreementEnded: z.string().max(10).optional(),
    }),
    handler: async ({ reply, actor, body }) => {
      const tenantId = await tenantBySlug(actor, body.tenant);
      if (actor.orgKind === 'tenant' && body.confirm !== 'yes')
        throw new AppError('ERR_VALIDATION', { message: 'confirm the offboarding' });
      await offboarding.start({
        actor,
        ...(tenantId === undefined ? {} : { tenantId }),
        ...(body.agreementEnded === undefined ? {} : { agreementEndedOn: body.agreementEnded }),
      });
      const back = body.tenant === undefined ? '' : `?tenant=${encodeURIComponent(body.tenant)}`;
      return reply.redirect(`/staff/offboarding${back}`, 303);
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/offboarding/export',
    access: ownerAccess,
    handler: async ({ reply, actor }) => {
      const file = await offboarding.downloadExport(actor);
      return sendDownload(reply, {
        contentType: 'application/zip',
        filename: file.fileName,
        content: file.content,
        noStore: true,
      });
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/offboarding/certificate',
    access: ownerAccess,
    query: z.object({ tenant: z.string().max(100).optional() }),
    handler: async ({ reply, actor, query }) => {
      const text = await offboarding.certificate(actor, await tenantBySlug(actor, query.tenant));
      return sendDownload(reply, {
        contentType: 'application/json',
        filename: 'kluis-deletion-certificate.json',
        content: text,
      });
    },
  });

  kit.route({
    method: 'GET',
    url: '/.well-known/kluis-audit-key',
    access: { kind: 'public' },
    response: {
      200: z.object({ keyId: z.string(), algorithm: z.string(), publicKey: z.string(), pem: z.string() }),
    },
    handler: () => publishedKey(auditSigningKeyOf(deps.config)),
  });
}
