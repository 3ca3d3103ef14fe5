/**
 * The public pages of each organisation's statement (P18), under its site (`''` and `/en` for the
 * operator, `/o/<slug>` and `/en/o/<slug>` for a tenant): `/privacy` (the newest version at a
 * stable URL), `/privacy/versions` (the archive), `/privacy/v/:n` (each version's permanent URL)
 * and `/privacy/diff?from=&to=`. A path that names no organisation or version is a 404.
 */
import { z } from 'zod';
import { AppError } from '../../shared/errors.js';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import type { Locale } from '../../shared/i18n/messages.js';
import type { PublicOrg } from '../register/index.js';
import type { StatementRouteDeps } from './statement-routes.js';
import { archivePage, diffPage, noStatementPage, versionPage } from './statement-views.js';

const publicAccess = { kind: 'public' } as const;
/** A version number in the diff's query. */
const versionNumber = z.coerce.number().int().min(1).max(1_000_000);

export function statementPublicRoutes(kit: RouteKit, deps: StatementRouteDeps): void {
  const { statement, register } = deps;

  /**
   * The org of the site a page was asked under, and the base path of its pages in `locale`: the
   * site prefix the path used (`/o/<slug>`, or none on the operator's or a tenant's own host).
   */
  const siteOf = async (
    ctx: { readonly siteSlug: string | undefined; readonly site: string },
    locale: Locale,
  ): Promise<PublicOrg & { base: string }> => {
    const found = await register.findPublicOrg(ctx.siteSlug);
    if (found === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'organisation not found' });
    return { ...found, base: `${locale === 'en' ? '/en' : ''}${ctx.site}` };
  };

  kit.route({
    method: 'GET',
    url: '/privacy',
    site: true,
    access: publicAccess,
    handler: async ({ request, reply, siteSlug, site, t, locale }) => {
      const { org, name, base } = await siteOf({ siteSlug, site }, locale);
      const latest = await statement.findLatestVersion(org.id);
      if (latest === undefined) {
        return renderPage(request, reply, {
          title: t('statement.title'),
          status: 404,
          body: noStatementPage(t),
        });
      }
      return renderPage(request, reply, {
        title: `${t('statement.title')} ${name}`,
        body: versionPage({ t, locale, version: latest, latestNumber: latest.number, base }),
      });
    },
  });

  kit.route({
    method: 'GET',
    url: '/privacy/versions',
    site: true,
    access: publicAccess,
    handler: async ({ request, reply, siteSlug, site, t, locale }) => {
      const { org, name, base } = await siteOf({ siteSlug, site }, locale);
      return renderPage(request, reply, {
        title: t('statement.archive.title', { org: name }),
        body: archivePage({ t, locale, orgName: name, versions: await statement.listVersions(org.id), base }),
      });
    },
  });

  kit.route({
    method: 'GET',
    url: '/privacy/v/:n',
    site: true,
    access: publicAccess,
    // A number only when it is all digits (`/privacy/v/1e3` names no version either).
    params: z.object({ n: z.string().max(20) }),
    handler: async ({ request, reply, siteSlug, site, params, t, locale }) => {
      const { org, name, base } = await siteOf({ siteSlug, site }, locale);
      const number = /^\d{1,7}$/.test(params.n) ? Number(params.n) : undefined;
      const version = number === undefined ? undefined : await statement.findVersion(org.id, number);
      if (version === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'no such version' });
      const latestNumber = (await statement.listVersions(org.id))[0]?.number ?? version.number;
      return renderPage(request, reply, {
        title: `${t('statement.title')} ${name} · ${t('statement.versions.col.number')} ${version.number}`,
        body: versionPage({ t, locale, version, latestNumber, base }),
      });
    },
  });

  kit.route({
    method: 'GET',
    url: '/privacy/diff',
    site: true,
    access: publicAccess,
    // Without a valid pair, the newest version is compared with the one before it.
    query: z.object({
      from: versionNumber.optional().catch(undefined),
      to: versionNumber.optional().catch(undefined),
    }),
    handler: async ({ request, reply, siteSlug, site, query, t, locale }) => {
      const { org, base } = await siteOf({ siteSlug, site }, locale);
      const versions = await statement.listVersions(org.id);
      const pair = query.from !== undefined && query.to !== undefined;
      const from = pair ? query.from : versions[1]?.number;
      const to = pair ? query.to : versions[0]?.number;
      const diff =
        from === undefined || to === undefined ? undefined : await statement.diff(org.id, from, to, locale);
      if (diff === undefined || from === undefined || to === undefined) {
        throw new AppError('ERR_NOT_FOUND', { message: 'no such versions to compare' });
      }
      return renderPage(request, reply, {
        title: t('statement.diff.title', { from, to }),
        body: diffPage({ t, from, to, diff, versions, base }),
      });
    },
  });
}
