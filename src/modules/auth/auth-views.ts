/**
 * Pages of sign-in, account set-up and the account page (GOV.UK form patterns: labels above
 * fields, hints, an error summary linking to each field, input kept except secrets). No script.
 */
import type { Role } from '../../shared/actor.js';
import { csrfField, errorSummary, type FieldErrors, textField } from '../../shared/html/forms.js';
import { type HtmlValue, html, type SafeHtml, trustedHtml } from '../../shared/html/html.js';
import { formatTime } from '../../shared/i18n/dates.js';
import type { Locale, Translate } from '../../shared/i18n/messages.js';
import type { SessionSummary } from './auth-sessions.js';
import { groupSecret } from './auth-totp.js';
import type { UserView } from './auth-users.js';

function hiddenNext(next: string | undefined): HtmlValue {
  return next === undefined ? null : html`<input type="hidden" name="next" value="${next}">`;
}

/** Signing out from a page without the staff navigation (sign-in steps, account set-up). */
function logoutForm(t: Translate, csrf: string): SafeHtml {
  return html`<form method="post" action="/logout" class="setup-logout">
  ${csrfField(csrf)}
  <button type="submit" class="link-button">${t('nav.logout')}</button>
</form>`;
}

export function loginPage(o: {
  t: Translate;
  csrf: string;
  values: { email?: string; org?: string; next?: string | undefined };
  errors?: FieldErrors | undefined;
  showOrg: boolean;
  notice?: string | undefined;
}): SafeHtml {
  const { t } = o;
  const labels = {
    email: t('auth.login.email'),
    password: t('auth.login.password'),
    org: t('auth.login.org'),
  };
  return html`<h1>${t('auth.login.title')}</h1>
${o.notice ? html`<div class="notice" role="status"><p>${o.notice}</p></div>` : ''}
${errorSummary(t, o.errors, labels)}
<p>${t('auth.login.intro')}</p>
<form method="post" action="/login" novalidate>
  ${csrfField(o.csrf)}
  ${hiddenNext(o.values.next)}
  ${textField({ t, name: 'email', label: labels.email, type: 'email', value: o.values.email, errors: o.errors, autocomplete: 'username', required: true })}
  ${textField({ t, name: 'password', label: labels.password, type: 'password', errors: o.errors, autocomplete: 'current-password', required: true })}
  ${orgField(o, labels.org)}
  <button type="submit">${t('auth.login.submit')}</button>
</form>
<p><a href="/login/forgot">${t('auth.login.forgotten')}</a></p>
<p class="hint">${t('auth.login.forgottenHint')}</p>`;
}

/** The organisation field of the login and forgotten-password forms, when there are several orgs. */
function orgField(
  o: {
    t: Translate;
    values: { org?: string | undefined };
    errors?: FieldErrors | undefined;
    showOrg: boolean;
  },
  label: string,
): HtmlValue {
  if (!o.showOrg) return '';
  return textField({
    t: o.t,
    name: 'org',
    label,
    hint: o.t('auth.login.orgHint'),
    value: o.values.org,
    errors: o.errors,
    autocomplete: 'organization',
  });
}

export function forgotPage(o: {
  t: Translate;
  csrf: string;
  values: { email?: string; org?: string };
  errors?: FieldErrors | undefined;
  showOrg: boolean;
}): SafeHtml {
  const { t } = o;
  const labels = { email: t('auth.login.email'), org: t('auth.login.org') };
  return html`<h1>${t('auth.forgot.title')}</h1>
${errorSummary(t, o.errors, labels)}
<p>${t('auth.forgot.intro')}</p>
<form method="post" action="/login/forgot" novalidate>
  ${csrfField(o.csrf)}
  ${textField({ t, name: 'email', label: labels.email, type: 'email', value: o.values.email, errors: o.errors, autocomplete: 'username', required: true })}
  ${orgField(o, labels.org)}
  <button type="submit">${t('auth.forgot.submit')}</button>
</form>
<p><a href="/login">${t('auth.forgot.backToLogin')}</a></p>`;
}

/** The one answer to every accepted request, known address or not. */
export function forgotSentPage(o: { t: Translate; minutes: number }): SafeHtml {
  const { t } = o;
  return html`<h1>${t('auth.forgot.sentTitle')}</h1>
<div class="notice" role="status"><p>${t('auth.forgot.sent', { minutes: o.minutes })}</p></div>
<p>${t('auth.forgot.sentHint')}</p>
<p><a href="/login">${t('auth.forgot.backToLogin')}</a></p>`;
}

export function resetPasswordPage(o: {
  t: Translate;
  csrf: string;
  token: string;
  errors?: FieldErrors | undefined;
}): SafeHtml {
  const { t } = o;
  const labels = { newPassword: t('auth.password.new'), confirmPassword: t('auth.password.confirm') };
  return html`<h1>${t('auth.reset.title')}</h1>
${errorSummary(t, o.errors, labels)}
<p>${t('auth.reset.intro')}</p>
<form method="post" action="/login/reset" novalidate>
  ${csrfField(o.csrf)}
  <input type="hidden" name="token" value="${o.token}">
  ${textField({ t, name: 'newPassword', label: labels.newPassword, type: 'password', hint: t('auth.password.newHint'), errors: o.errors, autocomplete: 'new-password', required: true })}
  ${textField({ t, name: 'confirmPassword', label: labels.confirmPassword, type: 'password', errors: o.errors, autocomplete: 'new-password', required: true })}
  <button type="submit">${t('auth.password.submit')}</button>
</form>`;
}

/** A link that is unknown, used or expired: say so and offer a new one. */
export function resetInvalidPage(o: { t: Translate }): SafeHtml {
  const { t } = o;
  return html`<h1>${t('auth.reset.invalidTitle')}</h1>
<div class="error-summary" role="alert"><p>${t('auth.tokenInvalid')}</p></div>
<p><a href="/login/forgot">${t('auth.reset.requestNew')}</a></p>
<p><a href="/login">${t('auth.forgot.backToLogin')}</a></p>`;
}

export function totpLoginPage(o: {
  t: Translate;
  csrf: string;
  next?: string | undefined;
  errors?: FieldErrors | undefined;
}): SafeHtml {
  const { t } = o;
  return html`<h1>${t('auth.totp.title')}</h1>
${errorSummary(t, o.errors, { code: t('auth.totp.code') })}
<p>${t('auth.totp.intro')}</p>
<form method="post" action="/login/totp" novalidate>
  ${csrfField(o.csrf)}
  ${hiddenNext(o.next)}
  ${textField({ t, name: 'code', label: t('auth.totp.code'), hint: t('auth.totp.codeHint'), errors: o.errors, autocomplete: 'one-time-code', required: true })}
  <button type="submit">${t('auth.totp.submit')}</button>
</form>
${logoutForm(t, o.csrf)}`;
}

export function passwordPage(o: {
  t: Translate;
  csrf: string;
  setup: boolean;
  errors?: FieldErrors | undefined;
}): SafeHtml {
  const { t } = o;
  const labels = {
    currentPassword: t('auth.password.current'),
    newPassword: t('auth.password.new'),
    confirmPassword: t('auth.password.confirm'),
  };
  return html`<h1>${t('auth.password.title')}</h1>
${errorSummary(t, o.errors, labels)}
<p>${o.setup ? t('auth.password.introSetup') : t('auth.password.intro')}</p>
<form method="post" action="/staff/account/password" novalidate>
  ${csrfField(o.csrf)}
  ${o.setup ? '' : textField({ t, name: 'currentPassword', label: labels.currentPassword, type: 'password', errors: o.errors, autocomplete: 'current-password', required: true })}
  ${textField({ t, name: 'newPassword', label: labels.newPassword, type: 'password', hint: t('auth.password.newHint'), errors: o.errors, autocomplete: 'new-password', required: true })}
  ${textField({ t, name: 'confirmPassword', label: labels.confirmPassword, type: 'password', errors: o.errors, autocomplete: 'new-password', required: true })}
  <button type="submit">${t('auth.password.submit')}</button>
</form>
${o.setup ? logoutForm(t, o.csrf) : ''}`;
}

/**
 * The enrolment page. `qrSvg` is the markup produced by the `qrcode` package from the otpauth
 * URI (constant structure, no user text), so it is trusted; the secret is shown for typing.
 */
export function totpEnrolmentPage(o: {
  t: Translate;
  csrf: string;
  qrSvg: string;
  secret: string;
  errors?: FieldErrors | undefined;
  /** True while enrolment is a required set-up step (the page has no navigation). */
  setup: boolean;
  /** Outside the set-up step, enrolment asks for the current password (ASVS 7.5.1). */
  askPassword: boolean;
}): SafeHtml {
  const { t } = o;
  return html`<h1>${t('auth.enrol.title')}</h1>
${errorSummary(t, o.errors, { code: t('auth.totp.code'), password: t('auth.login.password') })}
<p>${t('auth.enrol.intro')}</p>
<h2>${t('auth.enrol.step1')}</h2>
<figure class="qr">${trustedHtml(o.qrSvg)}</figure>
<h2>${t('auth.enrol.step2')}</h2>
<p><code class="mono" id="totp-secret">${groupSecret(o.secret)}</code></p>
<h2>${t('auth.enrol.step3')}</h2>
<form method="post" action="/staff/account/totp" novalidate>
  ${csrfField(o.csrf)}
  ${textField({ t, name: 'code', label: t('auth.totp.code'), errors: o.errors, autocomplete: 'one-time-code', inputmode: 'numeric', required: true })}
  ${!o.askPassword ? '' : textField({ t, name: 'password', label: t('auth.login.password'), type: 'password', errors: o.errors, autocomplete: 'current-password', required: true })}
  <button type="submit">${t('auth.enrol.submit')}</button>
</form>
${o.setup ? logoutForm(t, o.csrf) : ''}`;
}

export function totpAlreadyOnPage(o: { t: Translate }): SafeHtml {
  return html`<h1>${o.t('auth.enrol.title')}</h1>
<p>${o.t('auth.enrol.already')}</p>
<p><a href="/staff/account">${o.t('auth.account.title')}</a></p>`;
}

export function recoveryCodesPage(o: {
  t: Translate;
  codes: readonly string[];
  continueTo: string;
}): SafeHtml {
  const { t } = o;
  return html`<h1>${t('auth.recovery.title')}</h1>
<div class="notice"><p>${t('auth.recovery.intro')}</p></div>
<ol class="mono recovery-codes">${o.codes.map((c) => html`<li>${c}</li>`)}</ol>
<p><a class="button" href="${o.continueTo}">${t('auth.recovery.continue')}</a></p>`;
}

export function accountPage(o: {
  t: Translate;
  locale: Locale;
  csrf: string;
  user: UserView;
  recoveryCodesLeft: number;
  sessions: readonly SessionSummary[];
  notice?: string | undefined;
  errors?: FieldErrors | undefined;
}): SafeHtml {
  const { t, user } = o;
  const roleLabel = (r: Role) => t(`auth.role.${r}`);
  return html`<h1>${t('auth.account.title')}</h1>
${o.notice ? html`<div class="notice" role="status"><p>${o.notice}</p></div>` : ''}
${errorSummary(t, o.errors, { password: t('auth.login.password') })}
<h2>${t('auth.account.details')}</h2>
<dl>
  <dt>${t('auth.account.name')}</dt><dd>${user.displayName}</dd>
  <dt>${t('auth.account.email')}</dt><dd>${user.email}</dd>
  <dt>${t('auth.account.roles')}</dt><dd>${user.roles.map(roleLabel).join(', ')}</dd>
</dl>
<h2>${t('auth.account.security')}</h2>
<p><a href="/staff/account/password">${t('auth.account.changePassword')}</a></p>
${
  user.totpEnabled
    ? html`<p>${t('auth.account.totpOn', { count: o.recoveryCodesLeft })}</p>
<form method="post" action="/staff/account/recovery-codes" novalidate>
  ${csrfField(o.csrf)}
  ${textField({ t, name: 'password', label: t('auth.login.password'), type: 'password', hint: t('auth.account.regenerateHint'), errors: o.errors, autocomplete: 'current-password', required: true })}
  <button type="submit" class="secondary">${t('auth.account.regenerate')}</button>
</form>`
    : html`<p>${t('auth.account.totpOff')} <a href="/staff/account/totp">${t('auth.account.totpSetUp')}</a></p>`
}
<h2>${t('auth.account.sessions')}</h2>
<table>
  <thead><tr><th scope="col">${t('auth.account.sessionStarted')}</th><th scope="col">${t('auth.account.sessionLastSeen')}</th><th scope="col">${t('auth.account.sessionExpires')}</th><th scope="col"><span class="visually-hidden">${t('auth.account.thisSession')}</span></th></tr></thead>
  <tbody>${o.sessions.map(
    (s) =>
      html`<tr><td>${formatTime(o.locale, s.createdAt)}</td><td>${formatTime(o.locale, s.lastSeenAt)}</td><td>${formatTime(o.locale, s.expiresAt)}</td><td>${s.current ? html`<strong>${t('auth.account.thisSession')}</strong>` : ''}</td></tr>`,
  )}</tbody>
</table>
<form method="post" action="/staff/account/sessions/logout-all">
  ${csrfField(o.csrf)}
  <p class="hint">${t('auth.account.logoutAllHint')}</p>
  <button type="submit" class="danger">${t('auth.account.logoutAll')}</button>
</form>`;
}
