/**
 * The operator's tenant pages: the list (metadata and counts), the onboarding form with the
 * processor agreement, and one tenant's page (status, host names, inbound addresses).
 */
import { type HtmlValue, html, type SafeHtml } from '../../shared/html/html.js';
import * as ui from '../../shared/html/index.js';
import type { Locale, MessageKey, Translate } from '../../shared/i18n/messages.js';
import { mailboxes } from '../orgs/index.js';
import type { TenantView } from './tenants-service.js';
import { retentionField, type TenantSettingsView } from './tenants-settings.js';

const statusKey = {
  pending: 'tenants.status.pending',
  active: 'tenants.status.active',
  suspended: 'tenants.status.suspended',
  offboarding: 'tenants.status.offboarding',
  offboarded: 'tenants.status.offboarded',
} as const satisfies Record<TenantView['status'], MessageKey>;

function agreementText(t: Translate, v: TenantView): string {
  if (v.agreement === undefined) return t('tenants.agreement.none');
  return t(v.agreement.kind === 'document' ? 'tenants.agreement.document' : 'tenants.agreement.standard', {
    version: v.agreement.version,
  });
}

export function tenantsListPage(o: {
  t: Translate;
  locale: Locale;
  list: readonly TenantView[];
  notice?: string | undefined;
}): SafeHtml {
  const { t, locale } = o;
  return html`<h1>${t('tenants.title')}</h1>
${ui.notice(o.notice)}
<p>${t('tenants.intro')}</p>
<p><a class="button" href="/staff/tenants/new">${t('tenants.new')}</a></p>
${
  o.list.length === 0
    ? html`<p>${t('tenants.none')}</p>`
    : html`<div class="table-scroll" role="region" aria-label="${t('tenants.title')}" tabindex="0"><table>
${ui.tableHead([
  t('tenants.col.name'),
  t('tenants.col.slug'),
  t('tenants.col.status'),
  t('tenants.col.agreement'),
  t('tenants.col.staff'),
  t('tenants.col.hosts'),
  t('tenants.col.addresses'),
  t('tenants.col.created'),
])}
<tbody>
${o.list.map(
  (v) => html`<tr>
  <td><a href="/staff/tenants/${v.id}">${v.name}</a></td>
  <td>${v.slug}</td>
  <td>${t(statusKey[v.status])}</td>
  <td>${agreementText(t, v)}</td>
  <td>${v.staffCount}</td>
  <td>${v.hosts.length}</td>
  <td>${v.addresses.length}</td>
  <td>${ui.timeTag(locale, v.createdAt, '')}</td>
</tr>`,
)}
</tbody></table></div>`
}`;
}

export const createLabels = {
  slug: 'tenants.field.slug',
  name: 'tenants.field.name',
  kvk: 'tenants.field.kvk',
  country: 'tenants.field.country',
  languages: 'tenants.field.languages',
  ownerEmail: 'tenants.field.ownerEmail',
  ownerName: 'tenants.field.ownerName',
  agreementKind: 'tenants.field.agreementKind',
  agreementVersion: 'tenants.field.agreementVersion',
  signedOn: 'tenants.field.signedOn',
  agreement: 'tenants.field.document',
} as const satisfies Record<string, MessageKey>;

export function createTenantPage(o: {
  t: Translate;
  csrf: string;
  values: Readonly<Record<string, string>>;
  errors?: ui.FieldErrors | undefined;
}): SafeHtml {
  const { t, values: v, errors } = o;
  const labels = Object.fromEntries(Object.entries(createLabels).map(([k, key]) => [k, t(key)]));
  const field = (name: keyof typeof createLabels, extra: Partial<Parameters<typeof ui.textField>[0]> = {}) =>
    ui.textField({ t, name, label: labels[name] ?? name, value: v[name], errors, ...extra });
  return html`<h1>${t('tenants.new')}</h1>
<form method="post" action="/staff/tenants" enctype="multipart/form-data" novalidate>
${ui.errorSummary(t, errors, labels)}
${ui.csrfField(o.csrf)}
${field('name', { required: true })}
${field('slug', { required: true, hint: t('tenants.field.slugHint') })}
${field('kvk', { inputmode: 'numeric' })}
${field('country', { value: v.country ?? 'NL' })}
${ui.selectField({
  t,
  name: 'languages',
  label: labels.languages ?? '',
  options: [
    { value: 'nl', label: 'Nederlands' },
    { value: 'en', label: 'English' },
    { value: 'nl,en', label: 'Nederlands, English' },
  ],
  value: v.languages ?? 'nl',
  errors,
})}
${field('ownerName')}
${field('ownerEmail', { type: 'email', required: true, hint: t('tenants.field.ownerEmailHint') })}
${ui.selectField({
  t,
  name: 'agreementKind',
  label: labels.agreementKind ?? '',
  options: [
    { value: 'document', label: t('tenants.field.agreementKind.document') },
    { value: 'standard', label: t('tenants.field.agreementKind.standard') },
  ],
  value: v.agreementKind ?? 'document',
  errors,
})}
${field('agreementVersion', { required: true, value: v.agreementVersion ?? '1.0' })}
${field('signedOn', { type: 'date' })}
<div class="field${errors?.agreement ? ' field--error' : ''}">
  <label for="f-agreement">${labels.agreement}</label>
  ${errors?.agreement ? html`<p class="field-error" id="f-agreement-error">${t(errors.agreement)}</p>` : ''}
  <input type="file" id="f-agreement" name="document" accept="application/pdf">
</div>
<p><button type="submit">${t('tenants.create')}</button> <a href="/staff/tenants">${t('register.cancel')}</a></p>
</form>`;
}

function removeButton(t: Translate, csrf: string, action: string, name: string, value: string): SafeHtml {
  return html`<form method="post" action="${action}" class="inline">${ui.csrfField(csrf)}<input type="hidden" name="${name}" value="${value}"><button type="submit" class="link">${t('tenants.remove')}</button></form>`;
}

export function tenantPage(o: {
  t: Translate;
  locale: Locale;
  csrf: string;
  tenant: TenantView;
  notice?: string | undefined;
  errors?: ui.FieldErrors | undefined;
}): SafeHtml {
  const { t, locale, tenant: v, csrf, errors } = o;
  const base = `/staff/tenants/${v.id}`;
  const rows: [string, HtmlValue][] = [
    [t('tenants.col.slug'), v.slug],
    [t('tenants.col.status'), t(statusKey[v.status])],
    [t('tenants.field.kvk'), v.kvk ?? '–'],
    [t('tenants.field.country'), v.country ?? '–'],
    [t('tenants.field.languages'), v.languages.join(', ') || '–'],
    [t('tenants.col.agreement'), agreementText(t, v)],
    [t('tenants.col.staff'), String(v.staffCount)],
    [t('tenants.col.created'), ui.timeTag(locale, v.createdAt, '')],
  ];
  return html`<h1>${v.name}</h1>
${ui.notice(o.notice)}
${ui.errorSummary(t, errors, { host: t('tenants.field.host'), address: t('tenants.field.address') })}
<section aria-labelledby="t-details"><h2 id="t-details">${t('tenants.details')}</h2>
<dl>${rows.map(([k, val]) => html`<dt>${k}</dt><dd>${val}</dd>`)}</dl>
${
  v.status === 'active'
    ? html`<form method="post" action="${base}/suspend">${ui.csrfField(csrf)}<p>${t('tenants.suspendHint')}</p><button type="submit">${t('tenants.suspend')}</button></form>`
    : v.status === 'suspended' || v.status === 'pending'
      ? html`<form method="post" action="${base}/activate">${ui.csrfField(csrf)}<button type="submit">${t('tenants.activate')}</button></form>`
      : ''
}
</section>
<section aria-labelledby="t-hosts"><h2 id="t-hosts">${t('tenants.hosts')}</h2>
${v.hosts.length === 0 ? html`<p>${t('tenants.hostsNone', { slug: v.slug })}</p>` : html`<ul>${v.hosts.map((h) => html`<li>${h} ${removeButton(t, csrf, `${base}/hosts/remove`, 'host', h)}</li>`)}</ul>`}
<form method="post" action="${base}/hosts">${ui.csrfField(csrf)}
${ui.textField({ t, name: 'host', label: t('tenants.field.host'), hint: t('tenants.field.hostHint'), errors })}
<button type="submit">${t('tenants.addHost')}</button></form>
</section>
<section aria-labelledby="t-addresses"><h2 id="t-addresses">${t('tenants.addresses')}</h2>
${v.addresses.length === 0 ? html`<p>${t('tenants.addressesNone')}</p>` : html`<ul>${v.addresses.map((a) => html`<li>${a.address} (${t(a.mailbox === 'contact' ? 'tenants.mailbox.contact' : 'tenants.mailbox.privacy')}) ${removeButton(t, csrf, `${base}/addresses/remove`, 'address', a.address)}</li>`)}</ul>`}
<form method="post" action="${base}/addresses">${ui.csrfField(csrf)}
${ui.textField({ t, name: 'address', label: t('tenants.field.address'), type: 'email', errors })}
${ui.selectField({ t, name: 'mailbox', label: t('tenants.field.mailbox'), options: mailboxes.map((m) => ({ value: m, label: t(m === 'contact' ? 'tenants.mailbox.contact' : 'tenants.mailbox.privacy') })), errors })}
<button type="submit">${t('tenants.addAddress')}</button></form>
</section>`;
}

/** A tenant's own organisation page: its TOTP policy and the self-service pages, one place. */
export function ownOrganisationPage(o: {
  t: Translate;
  csrf: string;
  tenant: TenantView;
  /** Where its public pages are: its host's origin, or `/o/<slug>` on the installation's. */
  site: string;
  notice?: string | undefined;
}): SafeHtml {
  const { t, tenant: v } = o;
  const links: [string, MessageKey][] = [
    ['/staff/organisation/settings', 'tenants.settings.link'],
    ['/staff/users', 'tenants.own.users'],
    ['/staff/api-keys', 'tenants.own.apiKeys'],
    ['/staff/grants', 'tenants.own.grants'],
    ['/staff/register/settings', 'tenants.own.settings'],
    ['/staff/retention', 'tenants.own.retention'],
  ];
  return html`<h1>${t('tenants.own.title')}</h1>
${ui.notice(o.notice)}
<p>${t('tenants.own.intro')}</p>
<form method="post" action="/staff/organisation/totp">${ui.csrfField(o.csrf)}
${ui.selectField({
  t,
  name: 'required',
  label: t('tenants.own.totp'),
  options: [
    { value: '1', label: t('tenants.own.totpOn') },
    { value: '0', label: t('tenants.own.totpOff') },
  ],
  value: v.requireTotp ? '1' : '0',
})}
<button type="submit">${t('tenants.own.save')}</button></form>
<section aria-labelledby="own-links"><h2 id="own-links">${t('tenants.own.links')}</h2>
<ul>${links.map(([href, key]) => html`<li><a href="${href}">${t(key)}</a></li>`)}
<li><a href="${o.site}/privacy">${t('tenants.own.publicPages')}</a></li></ul>
</section>`;
}

export const settingsLabels = {
  displayName: 'tenants.settings.displayName',
  languages: 'tenants.settings.languages',
  termsUrl: 'tenants.settings.termsUrl',
  contactEmail: 'tenants.settings.contactEmail',
  privacyEmail: 'tenants.settings.privacyEmail',
} as const;

const policyLabel = (id: string): MessageKey =>
  (
    ({
      contact_request: 'retention.policy.contact_request',
      client_relation: 'retention.policy.client_relation',
      fiscal_7y: 'retention.policy.fiscal_7y',
      data_subject: 'retention.policy.data_subject',
      access_log: 'retention.policy.access_log',
      rights_request: 'retention.policy.rights_request',
    }) as const satisfies Record<string, MessageKey>
  )[id as 'contact_request'] ?? 'retention.policy.unknown';

/** The tenant's own settings form (its owners and admins). */
export function tenantSettingsPage(o: {
  t: Translate;
  csrf: string;
  settings: TenantSettingsView;
  values?: Readonly<Record<string, string>> | undefined;
  errors?: ui.FieldErrors | undefined;
  notice?: string | undefined;
}): SafeHtml {
  const { t, settings: v, errors } = o;
  const value = (name: string, current: string) => o.values?.[name] ?? current;
  const unit = (u: 'days' | 'months') =>
    t(u === 'days' ? 'retention.policy.unit.days' : 'retention.policy.unit.months');
  const labels: Record<string, string> = Object.fromEntries(
    Object.entries(settingsLabels).map(([k, key]) => [k, t(key)]),
  );
  for (const p of v.retention) labels[retentionField(p.id)] = t(policyLabel(p.id));
  const languages = v.languages.includes('en') ? (v.languages.includes('nl') ? 'nl,en' : 'en') : 'nl';
  return html`<h1>${t('tenants.settings.title')}</h1>
${ui.notice(o.notice)}
<p>${t('tenants.settings.intro')}</p>
${ui.errorSummary(t, errors, labels)}
<form method="post" action="/staff/organisation/settings" novalidate>${ui.csrfField(o.csrf)}
${ui.textField({ t, name: 'displayName', label: t('tenants.settings.displayName'), hint: t('tenants.settings.displayNameHint', { name: v.legalName }), value: value('displayName', v.displayName), errors })}
${ui.selectField({
  t,
  name: 'languages',
  label: t('tenants.settings.languages'),
  options: [
    { value: 'nl', label: 'Nederlands' },
    { value: 'en', label: 'English' },
    { value: 'nl,en', label: 'Nederlands, English' },
  ],
  value: value('languages', languages),
  errors,
})}
${ui.textField({ t, name: 'termsUrl', type: 'url', label: t('tenants.settings.termsUrl'), value: value('termsUrl', v.termsUrl), errors })}
${ui.textField({ t, name: 'contactEmail', type: 'email', label: t('tenants.settings.contactEmail'), value: value('contactEmail', v.contactEmail), errors })}
${ui.textField({ t, name: 'privacyEmail', type: 'email', label: t('tenants.settings.privacyEmail'), value: value('privacyEmail', v.privacyEmail), errors })}
<fieldset><legend>${t('tenants.settings.retention')}</legend>
${v.retention.map((p) =>
  p.configured
    ? html`<p>${t(policyLabel(p.id))}: ${t('tenants.settings.retentionConfigured', { value: p.value, unit: unit(p.unit) })}</p>`
    : ui.textField({
        t,
        name: retentionField(p.id),
        type: 'number',
        inputmode: 'numeric',
        label: t(policyLabel(p.id)),
        hint: t('tenants.settings.retentionHint', { min: p.legalMin, max: p.legalMax, unit: unit(p.unit) }),
        value: value(retentionField(p.id), String(p.value)),
        errors,
      }),
)}
</fieldset>
<button type="submit">${t('tenants.settings.save')}</button>
</form>`;
}
