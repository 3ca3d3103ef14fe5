/**
 * Host-name routing of the public pages (P7): a request for an organisation's site page (`site`
 * routes of the route kit: contact form, rights portal, statement, sub-processors) is served for
 * the operator on the installation's own host (KLUIS_PUBLIC_ORIGIN, loopback, IP addresses), and
 * for a tenant only on a host name the operator assigned to it (`kluis tenant host add`). Such a
 * host serves that tenant's pages at `/contact`, `/privacy`, …, and its own `/o/<slug>/…` paths;
 * any other slug on it, an unknown host name, and the pages of a tenant that is not active are a
 * 404. Runs after validation, before the handler: it fills the path's `slug` for the handler.
 */
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../shared/errors.js';
import { normaliseHost, type Org, type OrgsRepository } from './orgs-repository.js';

const noSite = () => new AppError('ERR_NOT_FOUND', { message: 'no site of an active organisation here' });

/** The installation's own host names: the public origin's, loopback and any IP address. */
export function isInstallationHost(host: string, publicHostname: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return host === publicHostname || host === 'localhost' || isIP(bare) !== 0;
}

/**
 * The origin of an organisation's public pages in a link mailed to one of its data subjects: a
 * tenant's first assigned host name, so the person returns to the site they used, not to the
 * operator's; the scheme and port are the public origin's (the same listener serves every host).
 * Without a host name, the public origin.
 */
export function siteOriginOf(publicOrigin: string, hosts: readonly string[]): string {
  const host = [...hosts].sort()[0];
  if (host === undefined) return new URL(publicOrigin).origin;
  const url = new URL(publicOrigin);
  url.hostname = host;
  return url.origin;
}

/**
 * Where an organisation's mailed links point (before the path): its site origin (`siteOriginOf`)
 * with the language and, for a tenant without a host name, its `/o/<slug>` on the installation's
 * host — so every link names the organisation it belongs to and `linkOrgOf` can hold it there.
 */
export function siteBaseOf(
  publicOrigin: string,
  org: Pick<Org, 'kind' | 'slug'>,
  hosts: readonly string[],
  lang: '' | '/en',
): string {
  const site = org.kind === 'tenant' && hosts.length === 0 ? `/o/${org.slug}` : '';
  return `${siteOriginOf(publicOrigin, hosts)}${lang}${site}`;
}

/**
 * The organisation whose mailed links (a requester's status link) may open on this request, the
 * one `siteBaseOf` minted them for: on a tenant's host name that tenant (under its own slug, if
 * any); on the installation's host the operator, or under `/o/<slug>` a tenant without a host
 * name. Anything else is undefined, which the caller answers like a link that names nothing, so a
 * link copied to another organisation's site neither works nor tells that it exists. The
 * organisation's status does not matter here: a tenant being offboarded still answers requests.
 */
export async function linkOrgOf(
  orgs: Pick<OrgsRepository, 'orgOfHost' | 'findBySlug' | 'findOperator' | 'listHosts'>,
  publicOrigin: string,
  request: { readonly host: string; readonly slug: string | undefined },
): Promise<Org | undefined> {
  const host = normaliseHost(request.host);
  if (!isInstallationHost(host, publicOrigin)) {
    const org = await orgs.orgOfHost(host);
    return org !== undefined && (request.slug === undefined || request.slug === org.slug) ? org : undefined;
  }
  if (request.slug === undefined) return orgs.findOperator();
  const org = await orgs.findBySlug(request.slug);
  if (org === undefined || org.kind !== 'tenant') return undefined;
  return (await orgs.listHosts(org.id)).length === 0 ? org : undefined;
}

export function installHostRouting(
  app: FastifyInstance,
  deps: { readonly publicOrigin: string; readonly orgs: Pick<OrgsRepository, 'orgOfHost' | 'findBySlug'> },
): void {
  // The public origin's host name, parsed once (not per site page).
  const site = { publicHostname: new URL(deps.publicOrigin).hostname, orgs: deps.orgs };
  // A callback hook that returns at once for every route but the site pages: an async hook would
  // cost every request a promise and a microtask hop (bench/http).
  app.addHook('preHandler', (request, _reply, done) => {
    if (request.routeOptions.config.site !== true) return done();
    routeByHost(request, site).then(() => done(), done);
  });
}

/** Refuses a site page on a host that does not serve it, and fills a tenant host's slug. */
async function routeByHost(
  request: FastifyRequest,
  deps: { readonly publicHostname: string; readonly orgs: Pick<OrgsRepository, 'orgOfHost' | 'findBySlug'> },
): Promise<void> {
  const params = request.params as Record<string, unknown>;
  const slug = typeof params.slug === 'string' ? params.slug : undefined;
  const host = normaliseHost(request.host);
  if (isInstallationHost(host, deps.publicHostname)) {
    if (slug === undefined) return;
    const org = await deps.orgs.findBySlug(slug);
    if (org !== undefined && org.kind === 'tenant' && org.status !== 'active') throw noSite();
    return;
  }
  const org = await deps.orgs.orgOfHost(host);
  if (org === undefined || org.status !== 'active') throw noSite();
  if (slug !== undefined && slug !== org.slug) throw noSite();
  params.slug = org.slug;
}
