/**
 * The page shell: skip link, header with language switch, optional staff navigation, main,
 * footer. No inline script or style (strict CSP); one self-hosted stylesheet.
 */
import type { Actor, OrgKind } from '../actor.js';
import type { Locale, MessageKey, Translate } from '../i18n/messages.js';
import { can, type Permission } from '../permissions.js';
import { type HtmlValue, html, type SafeHtml } from './html.js';

export interface NavItem {
  readonly href: string;
  readonly label: MessageKey;
  /** Where it stands in the menu (lower first). */
  readonly order: number;
  /** Shown only when the actor holds this permission (to every signed-in user when omitted). */
  readonly permission?: Permission;
  /** Shown only to staff of these kinds of organisation (all when omitted). */
  readonly orgKinds?: readonly OrgKind[];
}

/** The dashboard, first in every staff menu; modules add their entries through their manifests. */
export const dashboardNavItem: NavItem = { href: '/staff', label: 'nav.dashboard', order: 0 };

export interface PageOptions {
  readonly locale: Locale;
  readonly t: Translate;
  readonly title: string;
  readonly body: HtmlValue;
  /** The path of this page, for the language switch. */
  readonly path: string;
  readonly actor?: Actor | undefined;
  readonly csrfToken?: string | undefined;
  /** Hide the staff navigation (login, set-up pages). */
  readonly bare?: boolean;
  /** The staff menu (every module's entries, in order); filtered by the actor's permissions. */
  readonly navigation?: readonly NavItem[];
}

function languageSwitch(o: PageOptions): SafeHtml {
  const other: Locale = o.locale === 'nl' ? 'en' : 'nl';
  // Keep the page's own query (a reset token, a filter), replacing only the language; leaving
  // English for Dutch also leaves the /en path prefix, which would otherwise win over ?lang=.
  const [rawPath, query] = o.path.split('?', 2);
  let path = rawPath ?? '/';
  if (other === 'nl' && (path === '/en' || path.startsWith('/en/'))) path = path.slice(3) || '/';
  const params = new URLSearchParams(query ?? '');
  params.set('lang', other);
  const label = other === 'en' ? o.t('app.switchToEnglish') : o.t('app.switchToDutch');
  return html`<a class="lang-switch" href="${path}?${params.toString()}" hreflang="${other}" lang="${other}">${label}</a>`;
}

/** While operator staff act under a tenant's grant (P8), every page says so, with a way out. */
function grantBanner(o: PageOptions): HtmlValue {
  if (o.actor?.kind !== 'user' || o.actor.grantId === undefined) return null;
  return html`<div class="notice grant-banner" role="status"><p>${o.t('auth.grants.banner')}</p>
<form method="post" action="/staff/grants/leave" class="inline-form"><input type="hidden" name="_csrf" value="${o.csrfToken ?? ''}"><button type="submit">${o.t('auth.grants.leave')}</button></form></div>`;
}

function nav(o: PageOptions): HtmlValue {
  const actor = o.actor;
  if (actor === undefined || o.bare) return null;
  const items = (o.navigation ?? [dashboardNavItem]).filter(
    (i) =>
      (i.permission === undefined || can(actor, i.permission)) &&
      (i.orgKinds === undefined || i.orgKinds.includes(actor.orgKind)),
  );
  const current = o.path.split('?')[0];
  return html`<nav aria-label="${o.t('nav.main')}" class="staff-nav"><ul>
    ${items.map(
      (i) =>
        html`<li><a href="${i.href}"${current === i.href ? html` aria-current="page"` : ''}>${o.t(i.label)}</a></li>`,
    )}
    <li><a href="/staff/account">${o.t('nav.account')}</a></li>
    <li><form method="post" action="/logout" class="inline-form"><input type="hidden" name="_csrf" value="${o.csrfToken ?? ''}"><button type="submit" class="link-button">${o.t('nav.logout')}</button></form></li>
  </ul></nav>`;
}

export function layout(o: PageOptions): SafeHtml {
  return html`<!doctype html>
<html lang="${o.locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · ${o.t('app.name')}</title>
<link rel="stylesheet" href="/assets/kluis.css">
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
</head>
<body>
<a class="skip-link" href="#main">${o.t('app.skipToContent')}</a>
<header class="site-header">
  <a class="brand" href="${o.actor ? '/staff' : '/'}">${o.t('app.name')}</a>
  ${languageSwitch(o)}
</header>
${nav(o)}
${grantBanner(o)}
<main id="main" tabindex="-1">
${o.body}
</main>
<footer class="site-footer">
  <nav aria-label="${o.t('footer.links')}"><ul class="footer-links">
    <li><a href="${o.locale === 'en' ? '/en' : ''}/privacy">${o.t('home.privacy')}</a></li>
    <li><a href="${o.locale === 'en' ? '/en' : ''}/contact">${o.t('home.contact')}</a></li>
    <li><a href="${o.locale === 'en' ? '/en' : ''}/rights">${o.t('rights.footer')}</a></li>
  </ul></nav>
  <p>${o.t('app.footer')}</p>
</footer>
</body>
</html>`;
}
