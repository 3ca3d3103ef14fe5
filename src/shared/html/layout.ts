/**
 * The page shell: skip link, header with language switch, optional staff navigation, main,
 * footer. No inline script or style (strict CSP); one self-hosted stylesheet.
 */
import type { Actor, OrgKind, Role } from '../actor.js';
import type { Locale, MessageKey, Translate } from '../i18n/messages.js';
import { type HtmlValue, html, type SafeHtml } from './html.js';

export interface NavItem {
  readonly href: string;
  readonly label: MessageKey;
  /** Shown only when the actor holds one of these roles (all roles when omitted). */
  readonly roles?: readonly Role[];
  /** Shown only to staff of these kinds of organisation (all when omitted). */
  readonly orgKinds?: readonly OrgKind[];
}

/** Staff navigation; modules add their entries here. */
export const staffNav: NavItem[] = [
  { href: '/staff', label: 'nav.dashboard' },
  { href: '/staff/conversations', label: 'intake.nav.conversations' },
  { href: '/staff/relations', label: 'relations.nav.relations', roles: ['support', 'finance'] },
  { href: '/staff/direct-debits', label: 'relations.nav.directDebits', roles: ['finance'] },
  { href: '/staff/security/audit', label: 'nav.security', roles: ['security'] },
  {
    href: '/staff/health',
    label: 'nav.health',
    roles: ['owner', 'admin', 'security'],
    orgKinds: ['operator'],
  },
  { href: '/staff/users', label: 'nav.users', roles: ['owner', 'admin'] },
  { href: '/staff/api-keys', label: 'auth.nav.apiKeys', roles: ['owner', 'admin'] },
  { href: '/staff/grants', label: 'auth.grants.title', roles: ['owner', 'admin'], orgKinds: ['tenant'] },
  { href: '/staff/grants/mine', label: 'auth.grants.mineTitle', orgKinds: ['operator'] },
  { href: '/staff/register', label: 'register.nav', roles: ['owner', 'admin', 'privacy_officer'] },
  { href: '/staff/statement', label: 'statement.nav', roles: ['owner', 'admin', 'privacy_officer'] },
  { href: '/staff/retention', label: 'retention.nav', roles: ['owner', 'admin', 'privacy_officer'] },
  { href: '/staff/rights', label: 'rights.nav', roles: ['privacy_officer'] },
];

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
  const items = staffNav.filter(
    (i) =>
      (i.roles === undefined || i.roles.some((r) => actor.roles.includes(r))) &&
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
