/**
 * Pages of the register: the register with its data map, the printable register, the activity
 * and organisation forms, sub-processors (staff and public) and processor agreements. GOV.UK
 * patterns: labels above fields, hints, error summary, input kept; checkboxes in a fieldset.
 */

import { dataCategories } from '../../shared/catalogue.js';
import { csrfField, errorSummary, type FieldErrors, textField } from '../../shared/html/forms.js';
import { type HtmlValue, html, type SafeHtml } from '../../shared/html/html.js';
import { renderMarkdown } from '../../shared/html/markdown.js';
import type { Locale, MessageKey, Translate } from '../../shared/i18n/messages.js';
import type { AgreementView, CounterpartyOption } from './register-agreements.js';
import { dataMapText, renderDataMap } from './register-datamap.js';
import { countryCodes, countryName, eeaCountries } from './register-derive.js';
import { activityTexts } from './register-export.js';
import { label, type RetentionValues } from './register-labels.js';
import { channels, type OrgInfo, type RegisterSettings, type RegisterSnapshot } from './register-service.js';
import type { Subprocessor } from './register-subprocessors.js';

/** A date (YYYY-MM-DD) or a time (ISO) as a long date in the reader's language. */
export function formatDate(locale: Locale, value: string): string {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T12:00:00Z`) : new Date(value);
  return new Intl.DateTimeFormat(locale === 'nl' ? 'nl-NL' : 'en-GB', {
    dateStyle: 'long',
    timeZone: 'Europe/Amsterdam',
  }).format(date);
}

function notice(text: string | undefined): HtmlValue {
  return text === undefined ? null : html`<div class="notice" role="status"><p>${text}</p></div>`;
}

interface Choice {
  readonly value: string;
  readonly label: string;
}

/** Checkboxes in a fieldset; the first box carries the id the error summary links to. */
function checkboxGroup(o: {
  t: Translate;
  name: string;
  legend: string;
  hint?: string;
  choices: readonly Choice[];
  checked: readonly string[];
  errors?: FieldErrors | undefined;
}): SafeHtml {
  const errorKey = o.errors?.[o.name];
  const hintId = `f-${o.name}-hint`;
  return html`<div class="checkboxes${errorKey ? ' field--error' : ''}">
<fieldset${o.hint ? html` aria-describedby="${hintId}"` : ''}>
  <legend>${o.legend}</legend>
  ${o.hint ? html`<p class="hint" id="${hintId}">${o.hint}</p>` : ''}
  ${errorKey ? html`<p class="field-error"><span class="visually-hidden">${o.t('error.summaryTitle')}:</span> ${o.t(errorKey)}</p>` : ''}
  ${o.choices.map((c, i) => {
    const id = i === 0 ? `f-${o.name}` : `f-${o.name}-${c.value}`;
    return html`<div class="checkbox"><input type="checkbox" id="${id}" name="${o.name}" value="${c.value}"${
      o.checked.includes(c.value) ? html` checked` : ''
    }> <label for="${id}">${c.label}</label></div>`;
  })}
</fieldset>
</div>`;
}

function selectField(o: {
  t: Translate;
  name: string;
  label: string;
  hint?: string;
  choices: readonly Choice[];
  value: string;
  errors?: FieldErrors | undefined;
  empty?: string;
}): SafeHtml {
  const id = `f-${o.name}`;
  const errorKey = o.errors?.[o.name];
  const describedBy = [o.hint ? `${id}-hint` : '', errorKey ? `${id}-error` : ''].filter(Boolean).join(' ');
  return html`<div class="field${errorKey ? ' field--error' : ''}">
  <label for="${id}">${o.label}</label>
  ${o.hint ? html`<p class="hint" id="${id}-hint">${o.hint}</p>` : ''}
  ${errorKey ? html`<p class="field-error" id="${id}-error"><span class="visually-hidden">${o.t('error.summaryTitle')}:</span> ${o.t(errorKey)}</p>` : ''}
  <select id="${id}" name="${o.name}"${describedBy ? html` aria-describedby="${describedBy}"` : ''}${errorKey ? html` aria-invalid="true"` : ''}>
    ${o.empty === undefined ? '' : html`<option value="">${o.empty}</option>`}
    ${o.choices.map((c) => html`<option value="${c.value}"${c.value === o.value ? html` selected` : ''}>${c.label}</option>`)}
  </select>
</div>`;
}

function fileField(o: {
  t: Translate;
  name: string;
  label: string;
  hint: string;
  errors?: FieldErrors | undefined;
}) {
  const id = `f-${o.name}`;
  const errorKey = o.errors?.[o.name];
  return html`<div class="field${errorKey ? ' field--error' : ''}">
  <label for="${id}">${o.label}</label>
  <p class="hint" id="${id}-hint">${o.hint}</p>
  ${errorKey ? html`<p class="field-error" id="${id}-error"><span class="visually-hidden">${o.t('error.summaryTitle')}:</span> ${o.t(errorKey)}</p>` : ''}
  <input type="file" id="${id}" name="${o.name}" accept="application/pdf,.pdf" aria-describedby="${id}-hint${errorKey ? ` ${id}-error` : ''}">
</div>`;
}

// --- the register ---------------------------------------------------------------------------

function activitySection(
  snapshot: RegisterSnapshot,
  t: Translate,
  locale: Locale,
  retention: RetentionValues,
  canEdit: boolean,
  headingLevel: 2 | 3,
): SafeHtml[] {
  return snapshot.activities.map((a) => {
    const x = activityTexts(a, t, locale, retention);
    const heading =
      headingLevel === 2
        ? html`<h2 id="activity-${a.purpose}">${x.name}</h2>`
        : html`<h3 id="activity-${a.purpose}">${x.name}</h3>`;
    return html`<section class="activity" aria-labelledby="activity-${a.purpose}">
${heading}
<dl class="facts">
  <dt>${t('register.activity.purpose')}</dt><dd>${x.purpose}</dd>
  ${a.description === '' ? '' : html`<dt>${t('register.activity.description')}</dt><dd>${renderMarkdown(a.description)}</dd>`}
  <dt>${t('register.activity.legalBasis')}</dt><dd>${x.legalBasis}</dd>
  <dt>${t('register.activity.categories')}</dt><dd>${x.categories}</dd>
  <dt>${t('register.activity.subjects')}</dt><dd>${x.subjects}</dd>
  <dt>${t('register.activity.recipients')}</dt><dd>${x.recipients}</dd>
  <dt>${t('register.activity.transfers')}</dt><dd>${x.transfers}</dd>
  <dt>${t('register.activity.retention')}</dt><dd>${x.retention}</dd>
  <dt>${t('register.activity.security')}</dt><dd>${x.security}</dd>
  <dt>${t('register.activity.fields')}</dt><dd><code>${x.fields}</code></dd>
</dl>
${canEdit ? html`<p><a href="/staff/register/activities/${a.purpose}">${t('register.activity.edit')}<span class="visually-hidden">: ${x.name}</span></a></p>` : ''}
</section>`;
  });
}

export function registerPage(o: {
  t: Translate;
  locale: Locale;
  snapshot: RegisterSnapshot;
  retention: RetentionValues;
  canEdit: boolean;
  notice?: string | undefined;
}): SafeHtml {
  const { t, locale, snapshot } = o;
  return html`<h1>${t('register.title')}</h1>
${notice(o.notice)}
<p>${t('register.intro')}</p>
<nav aria-labelledby="register-links-title" class="register-links">
  <h2 id="register-links-title" class="visually-hidden">${t('register.links.title')}</h2>
  <ul>
    ${o.canEdit ? html`<li><a href="/staff/register/settings">${t('register.links.settings')}</a></li>` : ''}
    <li><a href="/staff/subprocessors">${t('register.links.subprocessors')}</a></li>
    <li><a href="/staff/agreements">${t('register.links.agreements')}</a></li>
    <li><a href="/staff/statement">${t('register.links.statement')}</a></li>
  </ul>
</nav>
<p>${t('register.export.title')}: <a href="/staff/register/export.csv" download>${t('register.export.csv')}</a> ·
<a href="/staff/register/export.json" download>${t('register.export.json')}</a> ·
<a href="/staff/register/print">${t('register.export.print')}</a></p>
<section aria-labelledby="datamap-heading">
<h2 id="datamap-heading">${t('register.map.title')}</h2>
<p>${t('register.map.desc')}</p>
<div class="data-map" role="region" aria-label="${t('register.map.title')}" tabindex="0">
${renderDataMap(snapshot, t, locale)}
</div>
<h3>${t('register.map.textTitle')}</h3>
${dataMapText(snapshot, t, locale)}
</section>
<h2>${t('register.activities.title')}</h2>
${activitySection(snapshot, t, locale, o.retention, o.canEdit, 3)}`;
}

/** The register as a document to print or save as PDF (print styles hide the chrome). */
export function printPage(o: {
  t: Translate;
  locale: Locale;
  snapshot: RegisterSnapshot;
  retention: RetentionValues;
  date: string;
}): SafeHtml {
  const { t, snapshot } = o;
  const s = snapshot.settings;
  return html`<article class="print-document">
<h1>${t('register.printTitle')}</h1>
<p>${t('register.printMeta', { org: s.name, date: formatDate(o.locale, o.date) })}</p>
<dl class="facts">
  ${s.contactAddress === '' ? '' : html`<dt>${t('register.settings.contactAddress')}</dt><dd>${s.contactAddress}</dd>`}
  ${s.contactEmail === '' ? '' : html`<dt>${t('register.settings.contactEmail')}</dt><dd>${s.contactEmail}</dd>`}
  ${s.privacyEmail === '' ? '' : html`<dt>${t('register.settings.privacyEmail')}</dt><dd>${s.privacyEmail}</dd>`}
</dl>
${activitySection(snapshot, t, o.locale, o.retention, false, 2)}
<h2>${t('register.sp.title')}</h2>
${subprocessorTable(t, o.locale, snapshot.subprocessors, false)}
</article>`;
}

export function activityPage(o: {
  t: Translate;
  locale: Locale;
  csrf: string;
  snapshot: RegisterSnapshot;
  purpose: string;
  retention: RetentionValues;
  values: { description: string; recipients: string; transfers: string; securityMeasures: string };
  errors?: FieldErrors | undefined;
}): SafeHtml {
  const { t } = o;
  const activity = o.snapshot.activities.find((a) => a.purpose === o.purpose);
  const name = label(t, 'purpose', o.purpose);
  const x = activity === undefined ? undefined : activityTexts(activity, t, o.locale, o.retention);
  const labels = {
    description: t('register.activity.description'),
    recipients: t('register.activity.recipients'),
    transfers: t('register.activity.transfers'),
    securityMeasures: t('register.activity.security'),
  };
  return html`<h1>${t('register.activity.editTitle', { name })}</h1>
<p>${t('register.activity.derivedNote')}</p>
${
  x === undefined
    ? ''
    : html`<dl class="facts">
  <dt>${t('register.activity.legalBasis')}</dt><dd>${x.legalBasis}</dd>
  <dt>${t('register.activity.categories')}</dt><dd>${x.categories}</dd>
  <dt>${t('register.activity.subjects')}</dt><dd>${x.subjects}</dd>
  <dt>${t('register.activity.retention')}</dt><dd>${x.retention}</dd>
</dl>`
}
<form method="post" action="/staff/register/activities/${o.purpose}" novalidate>
${errorSummary(t, o.errors, labels)}
${csrfField(o.csrf)}
${textField({ t, name: 'description', label: labels.description, hint: t('register.activity.descriptionHint'), value: o.values.description, errors: o.errors, multiline: true })}
${textField({ t, name: 'recipients', label: labels.recipients, hint: t('register.activity.recipientsHint'), value: o.values.recipients, errors: o.errors, multiline: true })}
${textField({ t, name: 'transfers', label: labels.transfers, hint: t('register.activity.transfersHint'), value: o.values.transfers, errors: o.errors, multiline: true })}
${textField({ t, name: 'securityMeasures', label: labels.securityMeasures, hint: t('register.activity.securityHint'), value: o.values.securityMeasures, errors: o.errors, multiline: true })}
<button type="submit">${t('register.save')}</button> <a href="/staff/register#activity-${o.purpose}">${t('register.cancel')}</a>
</form>`;
}

export function settingsPage(o: {
  t: Translate;
  csrf: string;
  org: OrgInfo;
  values: Omit<RegisterSettings, 'name' | 'updatedAt'>;
  errors?: FieldErrors | undefined;
  notice?: string | undefined;
}): SafeHtml {
  const { t, values: v } = o;
  const labels = {
    displayName: t('register.settings.displayName'),
    contactAddress: t('register.settings.contactAddress'),
    contactEmail: t('register.settings.contactEmail'),
    privacyEmail: t('register.settings.privacyEmail'),
    phone: t('register.settings.phone'),
    website: t('register.settings.website'),
    termsUrl: t('register.settings.termsUrl'),
    channels: t('register.settings.channels'),
  };
  return html`<h1>${t('register.settings.title')}</h1>
${notice(o.notice)}
<p>${t('register.settings.intro')}</p>
<form method="post" action="/staff/register/settings" novalidate>
${errorSummary(t, o.errors, labels)}
${csrfField(o.csrf)}
${textField({ t, name: 'displayName', label: labels.displayName, hint: t('register.settings.displayNameHint', { name: o.org.name }), value: v.displayName, errors: o.errors })}
${textField({ t, name: 'contactAddress', label: labels.contactAddress, value: v.contactAddress, errors: o.errors, multiline: true, autocomplete: 'street-address' })}
${textField({ t, name: 'contactEmail', label: labels.contactEmail, type: 'email', value: v.contactEmail, errors: o.errors })}
${textField({ t, name: 'privacyEmail', label: labels.privacyEmail, hint: t('register.settings.privacyEmailHint'), type: 'email', value: v.privacyEmail, errors: o.errors })}
${textField({ t, name: 'phone', label: labels.phone, type: 'tel', value: v.phone, errors: o.errors })}
${textField({ t, name: 'website', label: labels.website, type: 'url', value: v.website, errors: o.errors })}
${textField({ t, name: 'termsUrl', label: labels.termsUrl, hint: t('register.settings.termsUrlHint'), type: 'url', value: v.termsUrl, errors: o.errors })}
${checkboxGroup({
  t,
  name: 'channels',
  legend: labels.channels,
  choices: channels.map((c) => ({ value: c, label: label(t, 'channel', c) })),
  checked: v.channels,
  errors: o.errors,
})}
<button type="submit">${t('register.save')}</button> <a href="/staff/register">${t('register.cancel')}</a>
</form>`;
}

// --- sub-processors -------------------------------------------------------------------------

function locationText(locale: Locale, s: Subprocessor): string {
  const country = countryName(s.country, locale);
  return s.location === '' ? country : `${s.location}, ${country}`;
}

function subprocessorTable(
  t: Translate,
  locale: Locale,
  list: readonly Subprocessor[],
  canEdit: boolean,
): HtmlValue {
  if (list.length === 0) return html`<p>${t('register.sp.none')}</p>`;
  return html`<table>
<caption class="visually-hidden">${t('register.sp.title')}</caption>
<thead><tr>
  <th scope="col">${t('register.sp.name')}</th>
  <th scope="col">${t('register.sp.service')}</th>
  <th scope="col">${t('register.sp.location')}</th>
  <th scope="col">${t('register.sp.categories')}</th>
  <th scope="col">${t('register.sp.agreement')}</th>
  <th scope="col">${t('register.sp.status')}</th>
</tr></thead>
<tbody>
${list.map(
  (s) => html`<tr>
  <td>${canEdit ? html`<a href="/staff/subprocessors/${s.id}">${s.name}</a>` : s.name}</td>
  <td>${s.service}</td>
  <td>${locationText(locale, s)} (${t(s.inEea ? 'register.sp.inEea' : 'register.sp.outsideEea')})</td>
  <td>${s.dataCategories.map((c) => label(t, 'category', c)).join(', ') || t('register.activity.none')}</td>
  <td>${
    s.agreement === undefined
      ? t('register.sp.agreementNone')
      : t('register.sp.agreementOnFile', {
          version: s.agreement.version,
          date: formatDate(locale, s.agreement.signedOn),
        })
  }</td>
  <td>${t(s.status === 'active' ? 'register.sp.status.active' : 'register.sp.status.ended')}</td>
</tr>`,
)}
</tbody>
</table>`;
}

export function subprocessorListPage(o: {
  t: Translate;
  locale: Locale;
  list: readonly Subprocessor[];
  canEdit: boolean;
  notice?: string | undefined;
}): SafeHtml {
  const { t } = o;
  return html`<h1>${t('register.sp.title')}</h1>
${notice(o.notice)}
<p>${t('register.sp.intro')}</p>
${o.canEdit ? html`<p><a class="button" href="/staff/subprocessors/new">${t('register.sp.new')}</a></p>` : ''}
<div class="table-scroll" role="region" aria-label="${t('register.sp.title')}" tabindex="0">
${subprocessorTable(t, o.locale, o.list, o.canEdit)}
</div>
<p><a href="/staff/register">${t('register.title')}</a></p>`;
}

export interface SubprocessorFormValues {
  name: string;
  service: string;
  location: string;
  country: string;
  dataCategories: readonly string[];
  status: string;
  agreementVersion: string;
  agreementSignedOn: string;
}

export function subprocessorFormPage(o: {
  t: Translate;
  locale: Locale;
  csrf: string;
  title: string;
  action: string;
  values: SubprocessorFormValues;
  errors?: FieldErrors | undefined;
}): SafeHtml {
  const { t, values: v } = o;
  const labels = {
    name: t('register.sp.name'),
    service: t('register.sp.service'),
    location: t('register.sp.location'),
    country: t('register.sp.country'),
    dataCategories: t('register.sp.categories'),
    status: t('register.sp.status'),
    agreementVersion: t('register.sp.agreementVersion'),
    agreementSignedOn: t('register.sp.agreementSigned'),
    document: t('register.sp.agreementDocument'),
  };
  const countryChoices = [...countryCodes]
    .map((c) => ({
      value: c,
      label: `${countryName(c, o.locale)} (${t(eeaCountries.includes(c) ? 'register.sp.inEea' : 'register.sp.outsideEea')})`,
    }))
    .sort((a, b) => a.label.localeCompare(b.label, o.locale));
  return html`<h1>${o.title}</h1>
<form method="post" action="${o.action}" enctype="multipart/form-data" novalidate>
${errorSummary(t, o.errors, labels)}
${csrfField(o.csrf)}
${textField({ t, name: 'name', label: labels.name, value: v.name, errors: o.errors, required: true })}
${textField({ t, name: 'service', label: labels.service, hint: t('register.sp.serviceHint'), value: v.service, errors: o.errors, required: true })}
${textField({ t, name: 'location', label: labels.location, hint: t('register.sp.locationHint'), value: v.location, errors: o.errors })}
${selectField({ t, name: 'country', label: labels.country, choices: countryChoices, value: v.country, errors: o.errors, empty: '' })}
${checkboxGroup({
  t,
  name: 'dataCategories',
  legend: labels.dataCategories,
  hint: t('register.sp.categoriesHint'),
  choices: dataCategories.map((c) => ({ value: c, label: label(t, 'category', c) })),
  checked: v.dataCategories,
  errors: o.errors,
})}
${selectField({
  t,
  name: 'status',
  label: labels.status,
  choices: [
    { value: 'active', label: t('register.sp.status.active') },
    { value: 'ended', label: t('register.sp.status.ended') },
  ],
  value: v.status,
  errors: o.errors,
})}
<fieldset>
<legend>${t('register.sp.agreement')}</legend>
${textField({ t, name: 'agreementVersion', label: labels.agreementVersion, value: v.agreementVersion, errors: o.errors })}
${textField({ t, name: 'agreementSignedOn', label: labels.agreementSignedOn, hint: t('register.sp.agreementSignedHint'), type: 'date', value: v.agreementSignedOn, errors: o.errors })}
${fileField({ t, name: 'document', label: labels.document, hint: t('register.sp.agreementDocumentHint'), errors: o.errors })}
</fieldset>
<button type="submit">${t('register.save')}</button> <a href="/staff/subprocessors">${t('register.cancel')}</a>
</form>`;
}

/** The public sub-processor page (P14). */
export function publicSubprocessorsPage(o: {
  t: Translate;
  locale: Locale;
  orgName: string;
  list: readonly Subprocessor[];
  statementHref: string;
}): SafeHtml {
  const { t, locale } = o;
  return html`<h1>${t('register.sp.publicTitle', { org: o.orgName })}</h1>
<p>${t('register.sp.publicIntro', { org: o.orgName })}</p>
${
  o.list.length === 0
    ? html`<p>${t('register.sp.none')}</p>`
    : html`<ul class="subprocessor-list">
${o.list.map(
  (s) => html`<li><h2>${s.name}</h2>
<dl class="facts">
  <dt>${t('register.sp.service')}</dt><dd>${s.service}</dd>
  <dt>${t('register.sp.location')}</dt><dd>${locationText(locale, s)} (${t(s.inEea ? 'register.sp.inEea' : 'register.sp.outsideEea')})</dd>
  <dt>${t('register.sp.categories')}</dt><dd>${s.dataCategories.map((c) => label(t, 'category', c)).join(', ') || t('register.activity.none')}</dd>
  ${s.agreement === undefined ? '' : html`<dt>${t('register.sp.since')}</dt><dd>${formatDate(locale, s.agreement.signedOn)}</dd>`}
</dl></li>`,
)}
</ul>`
}
<p><a href="${o.statementHref}">${t('register.sp.publicStatement')}</a></p>`;
}

// --- processor agreements -------------------------------------------------------------------

function documentCell(t: Translate, a: AgreementView): HtmlValue {
  return a.document === undefined
    ? t('register.ag.noDocument')
    : html`<a href="/staff/agreements/${a.id}/document">${t('register.ag.download', { name: a.document.filename })}</a>`;
}

function agreementsTable(
  t: Translate,
  locale: Locale,
  list: readonly AgreementView[],
  canEdit: boolean,
): HtmlValue {
  const kind: Record<AgreementView['counterpartyKind'], MessageKey> = {
    client: 'register.ag.kind.client',
    subprocessor: 'register.ag.kind.subprocessor',
  };
  return html`<table>
<thead><tr>
  <th scope="col">${t('register.ag.counterparty')}</th>
  <th scope="col">${t('register.ag.version')}</th>
  <th scope="col">${t('register.ag.signedOn')}</th>
  <th scope="col">${t('register.ag.parties')}</th>
  <th scope="col">${t('register.ag.document')}</th>
</tr></thead>
<tbody>
${list.map(
  (a) => html`<tr>
  <td>${canEdit ? html`<a href="/staff/agreements/${a.id}">${a.counterpartyName}</a>` : a.counterpartyName} (${t(kind[a.counterpartyKind])})</td>
  <td>${a.version}</td>
  <td>${formatDate(locale, a.signedOn)}</td>
  <td>${a.parties}</td>
  <td>${documentCell(t, a)}</td>
</tr>`,
)}
</tbody>
</table>`;
}

export function agreementsPage(o: {
  t: Translate;
  locale: Locale;
  held: readonly AgreementView[];
  withUs: readonly AgreementView[];
  isTenant: boolean;
  operatorName: string;
  canEdit: boolean;
  notice?: string | undefined;
}): SafeHtml {
  const { t, locale } = o;
  return html`<h1>${t('register.ag.title')}</h1>
${notice(o.notice)}
<p>${t('register.ag.intro')}</p>
${
  o.isTenant
    ? html`<section aria-labelledby="ag-ours"><h2 id="ag-ours">${t('register.ag.ours', { operator: o.operatorName })}</h2>
<p>${t('register.ag.oursIntro', { operator: o.operatorName })}</p>
${o.withUs.length === 0 ? html`<p>${t('register.ag.oursNone', { operator: o.operatorName })}</p>` : agreementsTable(t, locale, o.withUs, false)}
</section>`
    : ''
}
<section aria-labelledby="ag-held"><h2 id="ag-held">${t('register.ag.held')}</h2>
${o.canEdit ? html`<p><a class="button" href="/staff/agreements/new">${t('register.ag.new')}</a></p>` : ''}
${o.held.length === 0 ? html`<p>${t('register.ag.none')}</p>` : html`<div class="table-scroll" role="region" aria-label="${t('register.ag.held')}" tabindex="0">${agreementsTable(t, locale, o.held, o.canEdit)}</div>`}
</section>`;
}

export interface AgreementFormValues {
  counterparty: string;
  version: string;
  signedOn: string;
  parties: string;
}

export function agreementFormPage(o: {
  t: Translate;
  csrf: string;
  title: string;
  action: string;
  options?: readonly CounterpartyOption[] | undefined;
  counterpartyName?: string | undefined;
  values: AgreementFormValues;
  errors?: FieldErrors | undefined;
}): SafeHtml {
  const { t, values: v } = o;
  const labels = {
    counterparty: t('register.ag.counterparty'),
    version: t('register.ag.version'),
    signedOn: t('register.ag.signedOn'),
    parties: t('register.ag.parties'),
    document: t('register.sp.agreementDocument'),
  };
  const kindLabel = (k: CounterpartyOption['kind']) =>
    t(k === 'client' ? 'register.ag.kind.client' : 'register.ag.kind.subprocessor');
  return html`<h1>${o.title}</h1>
<form method="post" action="${o.action}" enctype="multipart/form-data" novalidate>
${errorSummary(t, o.errors, labels)}
${csrfField(o.csrf)}
${
  o.options === undefined
    ? html`<p><strong>${labels.counterparty}:</strong> ${o.counterpartyName ?? ''}</p>`
    : selectField({
        t,
        name: 'counterparty',
        label: labels.counterparty,
        hint: t('register.ag.counterpartyHint'),
        choices: o.options.map((c) => ({ value: c.value, label: `${c.name} (${kindLabel(c.kind)})` })),
        value: v.counterparty,
        errors: o.errors,
        empty: '',
      })
}
${textField({ t, name: 'version', label: labels.version, value: v.version, errors: o.errors, required: true })}
${textField({ t, name: 'signedOn', label: labels.signedOn, hint: t('register.sp.agreementSignedHint'), type: 'date', value: v.signedOn, errors: o.errors, required: true })}
${textField({ t, name: 'parties', label: labels.parties, hint: t('register.ag.partiesHint'), value: v.parties, errors: o.errors, multiline: true })}
${fileField({ t, name: 'document', label: labels.document, hint: t('register.sp.agreementDocumentHint'), errors: o.errors })}
<button type="submit">${t('register.save')}</button> <a href="/staff/agreements">${t('register.cancel')}</a>
</form>`;
}
