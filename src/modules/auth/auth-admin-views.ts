/**
 * Pages of user management and API keys for owners and admins (GOV.UK patterns: labels above
 * fields, checkboxes in a fieldset with a legend, an error summary linking to each field, the
 * input kept). Tables sort and filter through the query string, so views can be bookmarked.
 * One-time passwords and API tokens are shown on the result page of the POST that made them,
 * once; they are never put in a URL.
 */
import { type ApiScope, roles as allRoles, apiScopes, type Role } from '../../shared/actor.js';
import { html, type SafeHtml } from '../../shared/html/html.js';
import * as ui from '../../shared/html/index.js';
import { formatTime } from '../../shared/i18n/dates.js';
import type { Locale, MessageKey, Translate } from '../../shared/i18n/messages.js';
import type { ApiKeyView } from './auth-api-keys.js';
import type { UserListPage, UserView } from './auth-users.js';
import type { UserSort, UserStatusFilter } from './auth-users-repository.js';

const roleLabel = (t: Translate, r: Role) => t(`auth.role.${r}`);

/** Role checkboxes in a fieldset; the first box has the id the error summary links to. */
export function roleCheckboxes(o: {
  t: Translate;
  options: readonly Role[];
  checked: readonly Role[];
  legend: string;
  hint?: string | undefined;
  errors?: ui.FieldErrors | undefined;
}): SafeHtml {
  const { t } = o;
  const errorKey = o.errors?.roles;
  const describedBy = [o.hint ? 'f-roles-hint' : '', errorKey ? 'f-roles-error' : '']
    .filter(Boolean)
    .join(' ');
  return html`<div class="checkboxes${errorKey ? ' field--error' : ''}">
<fieldset${describedBy ? html` aria-describedby="${describedBy}"` : ''}>
  <legend>${o.legend}</legend>
  ${o.hint ? html`<p class="hint" id="f-roles-hint">${o.hint}</p>` : ''}
  ${errorKey ? html`<p class="field-error" id="f-roles-error"><span class="visually-hidden">${t('error.summaryTitle')}:</span> ${t(errorKey)}</p>` : ''}
  ${o.options.map((r, i) => {
    const id = i === 0 ? 'f-roles' : `f-roles-${r}`;
    return html`<div class="checkbox"><input type="checkbox" id="${id}" name="roles" value="${r}"${
      o.checked.includes(r) ? html` checked` : ''
    }> <label for="${id}">${roleLabel(t, r)}</label> <span class="hint">${t(`auth.roleHint.${r}`)}</span></div>`;
  })}
</fieldset>
</div>`;
}

function statusOf(t: Translate, u: UserView, now: Date): string {
  if (u.disabled) return t('auth.users.status.disabled');
  if (u.lockedUntil !== null && new Date(u.lockedUntil) > now) return t('auth.users.status.locked');
  if (u.mustChangePassword) return t('auth.users.status.pendingPassword');
  return t('auth.users.status.active');
}

// --- user list ------------------------------------------------------------------------------

export interface UserListParams extends ui.ListOrder<UserSort> {
  readonly role?: Role | undefined;
  readonly status?: UserStatusFilter | undefined;
}

export function userListQuery(p: UserListParams, page: number): string {
  return ui.listHref(
    '/staff/users',
    {
      ...ui.orderParams(p, { sort: 'name', dir: 'asc' }),
      role: p.role,
      status: p.status,
    },
    page,
  );
}

const statusKeys: Record<UserStatusFilter, MessageKey> = {
  active: 'auth.users.status.active',
  disabled: 'auth.users.status.disabled',
  locked: 'auth.users.status.locked',
};

function sortHeader(t: Translate, p: UserListParams, column: UserSort, label: string): SafeHtml {
  return ui.sortHeader({
    order: p,
    column,
    label,
    hrefOf: (order) => userListQuery({ ...p, ...order }, 1),
    labels: { asc: t('auth.users.sortAsc'), desc: t('auth.users.sortDesc') },
  });
}

export function userListPage(o: {
  t: Translate;
  locale: Locale;
  now: Date;
  params: UserListParams;
  result: UserListPage;
  notice?: string | undefined;
}): SafeHtml {
  const { t, params: p, result: r } = o;
  return html`<h1>${t('auth.users.title')}</h1>
${ui.notice(o.notice)}
<p><a class="button" href="/staff/users/new">${t('auth.users.new')}</a> <a href="/staff/api-keys">${t('auth.apiKeys.title')}</a></p>
<form method="get" action="/staff/users" class="filter-form" aria-labelledby="users-filter-title">
  <h2 id="users-filter-title">${t('auth.users.filterTitle')}</h2>
  <input type="hidden" name="sort" value="${p.sort}">
  <input type="hidden" name="dir" value="${p.dir}">
  ${ui.selectField({
    t,
    name: 'role',
    label: t('auth.users.filterRole'),
    placeholder: t('auth.users.filterAll'),
    options: allRoles.map((r) => ({ value: r, label: roleLabel(t, r) })),
    value: p.role,
  })}
  ${ui.selectField({
    t,
    name: 'status',
    label: t('auth.users.filterStatus'),
    placeholder: t('auth.users.filterAll'),
    options: (Object.keys(statusKeys) as UserStatusFilter[]).map((s) => ({
      value: s,
      label: t(statusKeys[s]),
    })),
    value: p.status,
  })}
  <button type="submit" class="secondary">${t('auth.users.filterApply')}</button>
  <a href="/staff/users">${t('auth.users.filterReset')}</a>
</form>
<p role="status">${t('auth.users.results', { total: r.total, page: r.page, pages: r.pages })}</p>
${
  r.users.length === 0
    ? null
    : html`<table>
  <caption class="visually-hidden">${t('auth.users.title')}</caption>
  <thead><tr>
    ${sortHeader(t, p, 'name', t('auth.users.col.name'))}
    ${sortHeader(t, p, 'email', t('auth.users.col.email'))}
    <th scope="col">${t('auth.users.col.roles')}</th>
    <th scope="col">${t('auth.users.col.status')}</th>
    ${sortHeader(t, p, 'lastLogin', t('auth.users.col.lastLogin'))}
  </tr></thead>
  <tbody>${r.users.map(
    (u) => html`<tr>
    <td><a href="/staff/users/${u.id}">${u.displayName}</a></td>
    <td>${u.email}</td>
    <td>${u.roles.map((role) => roleLabel(t, role)).join(', ')}</td>
    <td>${statusOf(t, u, o.now)}</td>
    <td>${u.lastLoginAt === null ? t('auth.users.never') : formatTime(o.locale, u.lastLoginAt)}</td>
  </tr>`,
  )}</tbody>
</table>`
}
${ui.pager(r, (page) => userListQuery(p, page), {
  nav: t('auth.users.pagination'),
  previous: t('auth.users.previous'),
  next: t('auth.users.next'),
})}`;
}

// --- create a user --------------------------------------------------------------------------

export interface NewUserValues {
  readonly email?: string | undefined;
  readonly displayName?: string | undefined;
  readonly roles?: readonly Role[] | undefined;
}

export function newUserPage(o: {
  t: Translate;
  csrf: string;
  grantable: readonly Role[];
  values: NewUserValues;
  errors?: ui.FieldErrors | undefined;
}): SafeHtml {
  const { t } = o;
  const labels = {
    email: t('auth.account.email'),
    displayName: t('auth.account.name'),
    roles: t('auth.account.roles'),
  };
  return html`<h1>${t('auth.users.newTitle')}</h1>
${ui.errorSummary(t, o.errors, labels)}
<p>${t('auth.users.newIntro')}</p>
<form method="post" action="/staff/users" novalidate>
  ${ui.csrfField(o.csrf)}
  ${ui.textField({ t, name: 'email', label: labels.email, type: 'email', value: o.values.email, errors: o.errors, autocomplete: 'off', required: true })}
  ${ui.textField({ t, name: 'displayName', label: labels.displayName, value: o.values.displayName, errors: o.errors, autocomplete: 'off', required: true })}
  ${roleCheckboxes({ t, options: o.grantable, checked: o.values.roles ?? [], legend: labels.roles, hint: t('auth.users.rolesHint'), errors: o.errors })}
  <button type="submit">${t('auth.users.create')}</button>
</form>
<p><a href="/staff/users">${t('auth.users.backToList')}</a></p>`;
}

/** The result of creating a user or resetting a password: the one-time password, shown once. */
export function oneTimePasswordPage(o: {
  t: Translate;
  title: string;
  intro: string;
  user: UserView;
  oneTimePassword: string;
}): SafeHtml {
  const { t } = o;
  return html`<h1>${o.title}</h1>
<div class="notice" role="status"><p>${o.intro}</p></div>
<dl>
  <dt>${t('auth.account.email')}</dt><dd>${o.user.email}</dd>
  <dt>${t('auth.users.oneTimePassword')}</dt><dd><code class="mono" id="one-time-password">${o.oneTimePassword}</code></dd>
</dl>
<p>${t('auth.users.oneTimePasswordHint')}</p>
<p><a href="/staff/users/${o.user.id}">${t('auth.users.toUser')}</a> · <a href="/staff/users">${t('auth.users.backToList')}</a></p>`;
}

// --- one user -------------------------------------------------------------------------------

export function userPage(o: {
  t: Translate;
  locale: Locale;
  csrf: string;
  now: Date;
  user: UserView;
  /** False when an admin looks at an owner: only an owner may manage an owner. */
  manageable: boolean;
  grantable: readonly Role[];
  isSelf: boolean;
  roleValues?: readonly Role[] | undefined;
  errors?: ui.FieldErrors | undefined;
  notice?: string | undefined;
}): SafeHtml {
  const { t, user: u } = o;
  const base = `/staff/users/${u.id}`;
  const locked = u.lockedUntil !== null && new Date(u.lockedUntil) > o.now;
  const action = (path: string, label: string, hint: string, style: 'secondary' | 'danger' = 'secondary') =>
    html`<form method="post" action="${base}/${path}" class="action-form">
  ${ui.csrfField(o.csrf)}
  <p class="hint">${hint}</p>
  <button type="submit" class="${style}">${label}</button>
</form>`;
  return html`<h1>${u.displayName}</h1>
${ui.notice(o.notice)}
${ui.errorSummary(t, o.errors, { roles: t('auth.account.roles'), _form: t('auth.users.actionFailed') })}
<dl>
  <dt>${t('auth.account.email')}</dt><dd>${u.email}</dd>
  <dt>${t('auth.account.roles')}</dt><dd>${u.roles.map((r) => roleLabel(t, r)).join(', ')}</dd>
  <dt>${t('auth.users.col.status')}</dt><dd>${statusOf(t, u, o.now)}</dd>
  <dt>${t('auth.users.col.lastLogin')}</dt><dd>${u.lastLoginAt === null ? t('auth.users.never') : formatTime(o.locale, u.lastLoginAt)}</dd>
  <dt>${t('auth.users.totp')}</dt><dd>${u.totpEnabled ? t('auth.users.totpOn') : t('auth.users.totpOff')}</dd>
  ${locked && u.lockedUntil !== null ? html`<dt>${t('auth.users.lockedUntil')}</dt><dd>${formatTime(o.locale, u.lockedUntil)}</dd>` : null}
</dl>
${
  o.manageable
    ? html`<h2>${t('auth.users.rolesTitle')}</h2>
<form method="post" action="${base}/roles" novalidate>
  ${ui.csrfField(o.csrf)}
  ${roleCheckboxes({ t, options: o.grantable, checked: o.roleValues ?? u.roles, legend: t('auth.account.roles'), hint: t(o.isSelf ? 'auth.users.selfRolesHint' : 'auth.users.rolesHint'), errors: o.errors })}
  <button type="submit">${t('auth.users.saveRoles')}</button>
</form>
<h2>${t('auth.users.accessTitle')}</h2>
${locked ? action('unlock', t('auth.users.unlock'), t('auth.users.unlockHint')) : null}
${action('reset-password', t('auth.users.resetPassword'), t('auth.users.resetPasswordHint'))}
${u.totpEnabled ? action('reset-totp', t('auth.users.resetTotp'), t('auth.users.resetTotpHint')) : null}
${
  u.disabled
    ? action('enable', t('auth.users.enable'), t('auth.users.enableHint'))
    : o.isSelf
      ? null
      : action('disable', t('auth.users.disable'), t('auth.users.disableHint'), 'danger')
}`
    : html`<p class="notice">${t('auth.users.ownerOnly')}</p>`
}
<p><a href="/staff/users">${t('auth.users.backToList')}</a></p>`;
}

// --- API keys -------------------------------------------------------------------------------

function keyStatus(t: Translate, k: ApiKeyView): string {
  if (k.revokedAt !== null) return t('auth.apiKeys.status.revoked');
  if (!k.active) return t('auth.apiKeys.status.expired');
  return t('auth.apiKeys.status.active');
}

export function apiKeyListPage(o: {
  t: Translate;
  locale: Locale;
  csrf: string;
  keys: readonly ApiKeyView[];
  notice?: string | undefined;
}): SafeHtml {
  const { t } = o;
  const time = (iso: string | null, none: string) => (iso === null ? none : formatTime(o.locale, iso));
  return html`<h1>${t('auth.apiKeys.title')}</h1>
${ui.notice(o.notice)}
<p>${t('auth.apiKeys.intro')}</p>
<p><a class="button" href="/staff/api-keys/new">${t('auth.apiKeys.new')}</a></p>
${
  o.keys.length === 0
    ? html`<p>${t('auth.apiKeys.none')}</p>`
    : html`<table>
  <caption class="visually-hidden">${t('auth.apiKeys.title')}</caption>
  <thead><tr>
    <th scope="col">${t('auth.apiKeys.col.name')}</th>
    <th scope="col">${t('auth.apiKeys.col.prefix')}</th>
    <th scope="col">${t('auth.account.roles')}</th>
    <th scope="col">${t('auth.apiKeys.scopes')}</th>
    <th scope="col">${t('auth.apiKeys.col.created')}</th>
    <th scope="col">${t('auth.apiKeys.col.lastUsed')}</th>
    <th scope="col">${t('auth.apiKeys.col.expires')}</th>
    <th scope="col">${t('auth.apiKeys.col.status')}</th>
    <th scope="col"><span class="visually-hidden">${t('auth.apiKeys.col.actions')}</span></th>
  </tr></thead>
  <tbody>${o.keys.map(
    (k) => html`<tr>
    <td>${k.name}</td>
    <td class="mono">${k.prefix}…</td>
    <td>${k.roles.map((r) => roleLabel(t, r)).join(', ')}</td>
    <td>${k.scopes.map((s) => t(`auth.apiKeys.scope.${s}`)).join(', ')}</td>
    <td>${formatTime(o.locale, k.createdAt)}</td>
    <td>${time(k.lastUsedAt, t('auth.users.never'))}</td>
    <td>${time(k.expiresAt, t('auth.apiKeys.noExpiry'))}</td>
    <td>${keyStatus(t, k)}</td>
    <td>${
      k.revokedAt === null
        ? html`<form method="post" action="/staff/api-keys/${k.id}/revoke" class="inline-form">
      ${ui.csrfField(o.csrf)}
      <button type="submit" class="danger">${t('auth.apiKeys.revoke')}<span class="visually-hidden"> ${k.name}</span></button>
    </form>`
        : null
    }</td>
  </tr>`,
  )}</tbody>
</table>`
}`;
}

export interface NewApiKeyValues {
  readonly name?: string | undefined;
  readonly roles?: readonly Role[] | undefined;
  readonly scopes?: readonly ApiScope[] | undefined;
  readonly expires?: string | undefined;
}

/** Scope checkboxes (the REST API is ticked for a new key). */
function scopeCheckboxes(o: {
  t: Translate;
  checked: readonly ApiScope[];
  errors?: ui.FieldErrors | undefined;
}): SafeHtml {
  const { t } = o;
  const errorKey = o.errors?.scopes;
  return html`<div class="checkboxes${errorKey ? ' field--error' : ''}">
<fieldset aria-describedby="f-scopes-hint${errorKey ? ' f-scopes-error' : ''}">
  <legend>${t('auth.apiKeys.scopes')}</legend>
  <p class="hint" id="f-scopes-hint">${t('auth.apiKeys.scopesHint')}</p>
  ${errorKey ? html`<p class="field-error" id="f-scopes-error"><span class="visually-hidden">${t('error.summaryTitle')}:</span> ${t(errorKey)}</p>` : ''}
  ${apiScopes.map((s, i) => {
    const id = i === 0 ? 'f-scopes' : `f-scopes-${s}`;
    return html`<div class="checkbox"><input type="checkbox" id="${id}" name="scopes" value="${s}"${
      o.checked.includes(s) ? html` checked` : ''
    }> <label for="${id}">${t(`auth.apiKeys.scope.${s}`)}</label></div>`;
  })}
</fieldset>
</div>`;
}

export function newApiKeyPage(o: {
  t: Translate;
  csrf: string;
  grantable: readonly Role[];
  values: NewApiKeyValues;
  errors?: ui.FieldErrors | undefined;
}): SafeHtml {
  const { t } = o;
  const labels = {
    name: t('auth.apiKeys.col.name'),
    roles: t('auth.account.roles'),
    scopes: t('auth.apiKeys.scopes'),
    expires: t('auth.apiKeys.expires'),
  };
  return html`<h1>${t('auth.apiKeys.newTitle')}</h1>
${ui.errorSummary(t, o.errors, labels)}
<form method="post" action="/staff/api-keys" novalidate>
  ${ui.csrfField(o.csrf)}
  ${ui.textField({ t, name: 'name', label: labels.name, hint: t('auth.apiKeys.nameHint'), value: o.values.name, errors: o.errors, autocomplete: 'off', required: true })}
  ${roleCheckboxes({ t, options: o.grantable, checked: o.values.roles ?? [], legend: labels.roles, hint: t('auth.apiKeys.rolesHint'), errors: o.errors })}
  ${scopeCheckboxes({ t, checked: o.values.scopes ?? ['api'], errors: o.errors })}
  ${ui.textField({ t, name: 'expires', label: labels.expires, type: 'date', hint: t('auth.apiKeys.expiresHint'), value: o.values.expires, errors: o.errors })}
  <button type="submit">${t('auth.apiKeys.create')}</button>
</form>
<p><a href="/staff/api-keys">${t('auth.apiKeys.backToList')}</a></p>`;
}

/** The new key's token, shown once. */
export function apiKeyCreatedPage(o: { t: Translate; key: ApiKeyView; token: string }): SafeHtml {
  const { t } = o;
  return html`<h1>${t('auth.apiKeys.createdTitle')}</h1>
<div class="notice" role="status"><p>${t('auth.apiKeys.createdIntro')}</p></div>
<dl>
  <dt>${t('auth.apiKeys.col.name')}</dt><dd>${o.key.name}</dd>
  <dt>${t('auth.apiKeys.token')}</dt><dd><code class="mono" id="api-key-token">${o.token}</code></dd>
</dl>
<p>${t('auth.apiKeys.usage')}</p>
<p><code class="mono">Authorization: Bearer ${o.token.slice(0, 14)}…</code></p>
<p><a href="/staff/api-keys">${t('auth.apiKeys.backToList')}</a></p>`;
}
