/**
 * Pages of operator access grants (P8): the tenant's list with a form and each grant's uses, and
 * the operator staff member's own grants with a button to act under one.
 */
import type { Role } from '../../shared/actor.js';
import { csrfField, errorSummary, type FieldErrors, textField } from '../../shared/html/forms.js';
import { type HtmlValue, html, type SafeHtml } from '../../shared/html/html.js';
import { notice } from '../../shared/html/notice.js';
import { formatTime } from '../../shared/i18n/dates.js';
import type { Locale, Translate } from '../../shared/i18n/messages.js';
import { roleCheckboxes } from './auth-admin-views.js';
import type { GrantUse, GrantView } from './auth-grants.js';
import { grantableRoles } from './auth-schema.js';

export interface GrantFormValues {
  readonly granteeEmail?: string | undefined;
  readonly roles?: readonly string[] | undefined;
  readonly purpose?: string | undefined;
  readonly agreementRef?: string | undefined;
  readonly days?: string | undefined;
}

function statusOf(t: Translate, g: GrantView): string {
  if (g.revokedAt !== null) return t('auth.grants.status.revoked');
  return g.active ? t('auth.grants.status.active') : t('auth.grants.status.expired');
}

const rolesText = (t: Translate, roles: readonly string[]) =>
  roles.map((r) => t(`auth.role.${r as Role}`)).join(', ');

/** Table rows of grants: `first` cell, roles, purpose, end, status, and `action` while active. */
function grantRows(
  t: Translate,
  locale: Locale,
  grants: readonly GrantView[],
  cells: { first: (g: GrantView) => HtmlValue; action: (g: GrantView) => HtmlValue },
): SafeHtml[] {
  return grants.map(
    (g) => html`<tr>
    <td>${cells.first(g)}</td>
    <td>${rolesText(t, g.roles)}</td>
    <td>${g.purpose}</td>
    <td>${formatTime(locale, g.expiresAt)}</td>
    <td>${statusOf(t, g)}</td>
    <td>${g.active ? cells.action(g) : null}</td>
  </tr>`,
  );
}

export function tenantGrantsPage(o: {
  t: Translate;
  locale: Locale;
  csrf: string;
  grants: readonly GrantView[];
  values: GrantFormValues;
  errors?: FieldErrors | undefined;
  notice?: string | undefined;
}): SafeHtml {
  const { t, values: v } = o;
  const labels = {
    granteeEmail: t('auth.grants.form.email'),
    roles: t('auth.grants.form.roles'),
    purpose: t('auth.grants.form.purpose'),
    agreementRef: t('auth.grants.form.agreement'),
    days: t('auth.grants.form.days'),
  };
  return html`<h1>${t('auth.grants.title')}</h1>
${notice(o.notice)}
<p>${t('auth.grants.intro')}</p>
${
  o.grants.length === 0
    ? html`<p>${t('auth.grants.none')}</p>`
    : html`<table>
  <caption class="visually-hidden">${t('auth.grants.title')}</caption>
  <thead><tr><th scope="col">${labels.granteeEmail}</th><th scope="col">${labels.roles}</th><th scope="col">${labels.purpose}</th><th scope="col">${t('auth.grants.col.until')}</th><th scope="col">${t('auth.grants.col.status')}</th><th scope="col"><span class="visually-hidden">${t('auth.grants.revoke')}</span></th></tr></thead>
  <tbody>${grantRows(t, o.locale, o.grants, {
    first: (g) => html`<a href="/staff/grants/${g.id}">${g.granteeEmail}</a>`,
    action: (g) =>
      html`<form method="post" action="/staff/grants/${g.id}/revoke" class="inline-form">${csrfField(o.csrf)}<button type="submit" class="link-button">${t('auth.grants.revoke')}</button></form>`,
  })}</tbody>
</table>`
}
<h2>${t('auth.grants.new')}</h2>
<form method="post" action="/staff/grants" novalidate>
${errorSummary(t, o.errors, labels)}
${csrfField(o.csrf)}
${textField({ t, name: 'granteeEmail', label: labels.granteeEmail, hint: t('auth.grants.form.emailHint'), type: 'email', value: v.granteeEmail, errors: o.errors, autocomplete: 'off' })}
${roleCheckboxes({ t, options: grantableRoles, checked: (v.roles ?? []) as Role[], legend: labels.roles, hint: t('auth.grants.form.rolesHint'), errors: o.errors })}
${textField({ t, name: 'purpose', label: labels.purpose, hint: t('auth.grants.form.purposeHint'), multiline: true, value: v.purpose, errors: o.errors })}
${textField({ t, name: 'agreementRef', label: labels.agreementRef, hint: t('auth.grants.form.agreementHint'), value: v.agreementRef, errors: o.errors })}
${textField({ t, name: 'days', label: labels.days, hint: t('auth.grants.form.daysHint'), inputmode: 'numeric', value: v.days ?? '7', errors: o.errors })}
<button type="submit">${t('auth.grants.submit')}</button>
</form>`;
}

export function grantUsesPage(o: {
  t: Translate;
  locale: Locale;
  grant: GrantView;
  uses: readonly GrantUse[];
}): SafeHtml {
  const { t, grant: g } = o;
  return html`<h1>${t('auth.grants.usesTitle', { email: g.granteeEmail })}</h1>
<dl>
  <dt>${t('auth.grants.form.roles')}</dt><dd>${rolesText(t, g.roles)}</dd>
  <dt>${t('auth.grants.form.purpose')}</dt><dd>${g.purpose}</dd>
  <dt>${t('auth.grants.form.agreement')}</dt><dd>${g.agreementRef}</dd>
  <dt>${t('auth.grants.col.until')}</dt><dd>${formatTime(o.locale, g.expiresAt)}</dd>
  <dt>${t('auth.grants.col.status')}</dt><dd>${statusOf(t, g)}</dd>
</dl>
<h2>${t('auth.grants.uses')}</h2>
${
  o.uses.length === 0
    ? html`<p>${t('auth.grants.noUses')}</p>`
    : html`<table>
  <thead><tr><th scope="col">${t('auth.grants.col.at')}</th><th scope="col">${t('auth.grants.col.action')}</th><th scope="col">${t('auth.grants.col.target')}</th></tr></thead>
  <tbody>${o.uses.map((u) => html`<tr><td>${formatTime(o.locale, u.at)}</td><td><code>${u.action}</code></td><td>${u.target ?? ''}</td></tr>`)}</tbody>
</table>`
}
<p><a href="/staff/grants">${t('auth.grants.back')}</a></p>`;
}

export function myGrantsPage(o: {
  t: Translate;
  locale: Locale;
  csrf: string;
  grants: readonly GrantView[];
}): SafeHtml {
  const { t } = o;
  return html`<h1>${t('auth.grants.mineTitle')}</h1>
<p>${t('auth.grants.mineIntro')}</p>
${
  o.grants.length === 0
    ? html`<p>${t('auth.grants.mineNone')}</p>`
    : html`<table>
  <thead><tr><th scope="col">${t('auth.grants.col.org')}</th><th scope="col">${t('auth.grants.form.roles')}</th><th scope="col">${t('auth.grants.form.purpose')}</th><th scope="col">${t('auth.grants.col.until')}</th><th scope="col">${t('auth.grants.col.status')}</th><th scope="col"><span class="visually-hidden">${t('auth.grants.enter')}</span></th></tr></thead>
  <tbody>${grantRows(t, o.locale, o.grants, {
    first: (g) => g.orgName,
    action: (g) =>
      html`<form method="post" action="/staff/grants/${g.id}/enter" class="inline-form">${csrfField(o.csrf)}<button type="submit">${t('auth.grants.enter')}</button></form>`,
  })}</tbody>
</table>`
}`;
}
