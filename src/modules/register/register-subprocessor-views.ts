/**
 * Pages of the sub-processors (P14): the staff list and form (with the agreement document as a
 * PDF upload), and the public page every organisation has at `/subprocessors`.
 */
import { dataCategories } from '../../shared/catalogue.js';
import { type HtmlValue, html, type SafeHtml } from '../../shared/html/html.js';
import * as ui from '../../shared/html/index.js';
import { formatDate } from '../../shared/i18n/dates.js';
import type { Locale, MessageKey, Translate } from '../../shared/i18n/messages.js';
import { countryCodes, countryName, eeaCountries, placeName } from './register-derive.js';
import { label } from './register-labels.js';
import type { Objection } from './register-notice.js';
import { subprocessorLifecycles, transferMechanisms } from './register-schema.js';
import type { Subprocessor } from './register-subprocessors.js';
import {
  checkboxGroup,
  type FormPageOptions,
  facts,
  fieldLabels,
  fileField,
  registerForm,
} from './register-view-parts.js';

/** Where a sub-processor works and which data it handles, as the table and the public page say it. */
function describe(t: Translate, locale: Locale, s: Subprocessor) {
  return {
    where: `${placeName(s, locale)} (${t(s.inEea ? 'register.sp.inEea' : 'register.sp.outsideEea')})`,
    categories:
      s.dataCategories.map((c) => label(t, 'category', c)).join(', ') || t('register.activity.none'),
  };
}

/** The state of a sub-processor; an announced one with the date it may start. */
export function statusText(t: Translate, locale: Locale, s: Subprocessor): string {
  const state = t(`register.sp.status.${s.status}`);
  return s.status === 'announced' && s.effectiveOn !== null
    ? `${state}, ${t('register.sp.from', { date: formatDate(locale, s.effectiveOn, 'long') })}`
    : state;
}

/** The objections of clients to announced sub-processors, for the operator. */
export function objectionList(
  t: Translate,
  locale: Locale,
  objections: readonly Objection[],
  names: ReadonlyMap<string, string>,
): SafeHtml {
  return html`<section class="objections" aria-labelledby="objections-title">
<h2 id="objections-title">${t('register.sp.objections')}</h2>
${
  objections.length === 0
    ? html`<p>${t('register.sp.objectionsNone')}</p>`
    : html`<ul>
${objections.map(
  (o) =>
    html`<li data-objection="${o.id}"><strong>${names.get(o.subprocessorId) ?? ''}</strong> — ${t(
      'register.sp.objectionBy',
      { client: o.clientName, date: formatDate(locale, o.createdAt, 'long') },
    )}<blockquote>${o.reasons}</blockquote></li>`,
)}
</ul>`
}
</section>`;
}

/** The sub-processors as a table (the staff list and the printed register). */
export function subprocessorTable(
  t: Translate,
  locale: Locale,
  list: readonly Subprocessor[],
  canEdit: boolean,
): HtmlValue {
  if (list.length === 0) return html`<p>${t('register.sp.none')}</p>`;
  return html`<table>
<caption class="visually-hidden">${t('register.sp.title')}</caption>
${ui.tableHead([
  t('register.sp.name'),
  t('register.sp.service'),
  t('register.sp.location'),
  t('register.sp.categories'),
  t('register.sp.agreement'),
  t('register.sp.status'),
])}
<tbody>
${list.map((s) => {
  const d = describe(t, locale, s);
  return html`<tr>
  <td>${canEdit ? html`<a href="/staff/subprocessors/${s.id}">${s.name}</a>` : s.name}</td>
  <td>${s.service}</td>
  <td>${d.where}</td>
  <td>${d.categories}</td>
  <td>${
    s.agreement === undefined
      ? t('register.sp.agreementNone')
      : t('register.sp.agreementOnFile', {
          version: s.agreement.version,
          date: formatDate(locale, s.agreement.signedOn, 'long'),
        })
  }</td>
  <td>${statusText(t, locale, s)}</td>
</tr>`;
})}
</tbody>
</table>`;
}

export function subprocessorListPage(o: {
  t: Translate;
  locale: Locale;
  list: readonly Subprocessor[];
  objections: readonly Objection[];
  canEdit: boolean;
  notice?: string | undefined;
}): SafeHtml {
  const { t } = o;
  return html`<h1>${t('register.sp.title')}</h1>
${ui.notice(o.notice)}
<p>${t('register.sp.intro')}</p>
${o.canEdit ? html`<p><a class="button" href="/staff/subprocessors/new">${t('register.sp.new')}</a></p>` : ''}
<div class="table-scroll" role="region" aria-label="${t('register.sp.title')}" tabindex="0">
${subprocessorTable(t, o.locale, o.list, o.canEdit)}
</div>
${objectionList(t, o.locale, o.objections, new Map(o.list.map((s) => [s.id, s.name])))}
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
  transferMechanism: string;
  sccDate: string;
  transferAssessment: string;
  egressHosts: string;
}

/** The form's fields and their labels. */
const subprocessorLabels = {
  name: 'register.sp.name',
  service: 'register.sp.service',
  location: 'register.sp.location',
  country: 'register.sp.country',
  dataCategories: 'register.sp.categories',
  status: 'register.sp.status',
  agreementVersion: 'register.sp.agreementVersion',
  agreementSignedOn: 'register.sp.agreementSigned',
  document: 'register.sp.agreementDocument',
  transferMechanism: 'register.sp.transferMechanism',
  sccDate: 'register.sp.sccDate',
  transferAssessment: 'register.sp.transferAssessment',
  egressHosts: 'register.sp.egressHosts',
} as const satisfies Record<string, MessageKey>;

export function subprocessorFormPage(
  o: FormPageOptions<SubprocessorFormValues> & { locale: Locale; title: string; action: string },
): SafeHtml {
  const { t, values: v } = o;
  const labels = fieldLabels(t, subprocessorLabels);
  const countryChoices = [...countryCodes]
    .map((c) => ({
      value: c,
      label: `${countryName(c, o.locale)} (${t(eeaCountries.includes(c) ? 'register.sp.inEea' : 'register.sp.outsideEea')})`,
    }))
    .sort((a, b) => a.label.localeCompare(b.label, o.locale));
  return html`<h1>${o.title}</h1>
${registerForm(o, {
  action: o.action,
  labels,
  cancelHref: '/staff/subprocessors',
  multipart: true,
  fields: html`${ui.textField({ t, name: 'name', label: labels.name, value: v.name, errors: o.errors, required: true })}
${ui.textField({ t, name: 'service', label: labels.service, hint: t('register.sp.serviceHint'), value: v.service, errors: o.errors, required: true })}
${ui.textField({ t, name: 'location', label: labels.location, hint: t('register.sp.locationHint'), value: v.location, errors: o.errors })}
${ui.selectField({ t, name: 'country', label: labels.country, options: countryChoices, value: v.country, errors: o.errors, placeholder: '' })}
${checkboxGroup({
  t,
  name: 'dataCategories',
  legend: labels.dataCategories,
  hint: t('register.sp.categoriesHint'),
  choices: dataCategories.map((c) => ({ value: c, label: label(t, 'category', c) })),
  checked: v.dataCategories,
  errors: o.errors,
})}
${ui.selectField({
  t,
  name: 'status',
  label: labels.status,
  options: subprocessorLifecycles
    .filter((l) => l !== 'announced' || v.status === 'announced')
    .map((l) => ({ value: l, label: t(`register.sp.status.${l}`) })),
  value: v.status,
  errors: o.errors,
})}
${ui.textField({ t, name: 'egressHosts', label: labels.egressHosts, hint: t('register.sp.egressHostsHint'), value: v.egressHosts, errors: o.errors })}
<fieldset>
<legend>${t('register.sp.agreement')}</legend>
${ui.textField({ t, name: 'agreementVersion', label: labels.agreementVersion, value: v.agreementVersion, errors: o.errors })}
${ui.textField({ t, name: 'agreementSignedOn', label: labels.agreementSignedOn, hint: t('register.sp.agreementSignedHint'), type: 'date', value: v.agreementSignedOn, errors: o.errors })}
${fileField({ t, name: 'document', label: labels.document, hint: t('register.sp.agreementDocumentHint'), errors: o.errors })}
</fieldset>
<fieldset>
<legend>${t('register.sp.transfer')}</legend>
${ui.selectField({
  t,
  name: 'transferMechanism',
  label: labels.transferMechanism,
  hint: t('register.sp.transferMechanismHint'),
  options: transferMechanisms.map((m) => ({ value: m, label: t(`register.sp.transferMechanism.${m}`) })),
  value: v.transferMechanism,
  errors: o.errors,
  placeholder: '',
})}
${ui.textField({ t, name: 'sccDate', label: labels.sccDate, type: 'date', value: v.sccDate, errors: o.errors })}
${ui.textField({ t, name: 'transferAssessment', label: labels.transferAssessment, hint: t('register.sp.transferAssessmentHint'), value: v.transferAssessment, errors: o.errors, multiline: true })}
</fieldset>
`,
})}`;
}

/** The public sub-processor page (P14). */
export function publicSubprocessorsPage(o: {
  t: Translate;
  locale: Locale;
  orgName: string;
  list: readonly Subprocessor[];
  upcoming: readonly Subprocessor[];
  statementHref: string;
}): SafeHtml {
  const { t, locale } = o;
  return html`<h1>${t('register.sp.publicTitle', { org: o.orgName })}</h1>
<p>${t('register.sp.publicIntro', { org: o.orgName })}</p>
${
  o.list.length === 0
    ? html`<p>${t('register.sp.none')}</p>`
    : html`<ul class="subprocessor-list">
${o.list.map((s) => {
  const d = describe(t, locale, s);
  return html`<li><h2>${s.name}</h2>
${facts([
  [t('register.sp.service'), s.service],
  [t('register.sp.location'), d.where],
  [t('register.sp.categories'), d.categories],
  [t('register.sp.since'), s.agreement === undefined ? '' : formatDate(locale, s.agreement.signedOn, 'long')],
])}</li>`;
})}
</ul>`
}
${
  o.upcoming.length === 0
    ? ''
    : html`<section aria-labelledby="upcoming-title"><h2 id="upcoming-title">${t('register.sp.upcoming')}</h2>
<p>${t('register.sp.upcomingIntro')}</p>
<ul class="subprocessor-list">
${o.upcoming.map((s) => {
  const d = describe(t, locale, s);
  return html`<li data-upcoming="${s.id}"><h3>${s.name}</h3>
${facts([
  [t('register.sp.effectiveOn'), s.effectiveOn === null ? '' : formatDate(locale, s.effectiveOn, 'long')],
  [t('register.sp.service'), s.service],
  [t('register.sp.location'), d.where],
  [t('register.sp.categories'), d.categories],
])}</li>`;
})}
</ul></section>`
}
<p><a href="${o.statementHref}">${t('register.sp.publicStatement')}</a></p>`;
}

/** The operator's announce form for a proposed sub-processor (its own form: it mails every client). */
export function announceForm(o: {
  t: Translate;
  csrf: string;
  id: string;
  noticeDays: number;
  errors?: ui.FieldErrors | undefined;
}): SafeHtml {
  const { t } = o;
  return html`<section aria-labelledby="announce-title"><h2 id="announce-title">${t('register.sp.announce')}</h2>
<p>${t('register.sp.announceIntro', { days: String(o.noticeDays) })}</p>
<form method="post" action="/staff/subprocessors/${o.id}/announce" novalidate>
${ui.csrfField(o.csrf)}
${ui.textField({ t, name: 'effectiveOn', label: t('register.sp.effectiveOn'), hint: t('register.sp.effectiveOnHint'), type: 'date', errors: o.errors })}
<button type="submit">${t('register.sp.announce')}</button>
</form></section>`;
}

/** A client's page for an announced sub-processor: what, from when, and the objection form. */
export function objectionPage(o: {
  t: Translate;
  locale: Locale;
  csrf: string;
  operatorName: string;
  subprocessor: Subprocessor;
  reasons: string;
  errors?: ui.FieldErrors | undefined;
  done: boolean;
}): SafeHtml {
  const { t, locale, subprocessor: s } = o;
  const d = describe(t, locale, s);
  const date = s.effectiveOn === null ? '' : formatDate(locale, s.effectiveOn, 'long');
  return html`<h1>${t('register.sp.objectTitle', { name: s.name })}</h1>
${ui.notice(o.done ? t('register.sp.objected', { operator: o.operatorName }) : undefined)}
<p>${t('register.sp.objectIntro', { operator: o.operatorName, date })}</p>
${facts([
  [t('register.sp.service'), s.service],
  [t('register.sp.location'), d.where],
  [t('register.sp.categories'), d.categories],
])}
<form method="post" action="/staff/subprocessor-notices/${s.id}" novalidate>
${ui.errorSummary(t, o.errors, { reasons: t('register.sp.reasons') })}
${ui.csrfField(o.csrf)}
${ui.textField({ t, name: 'reasons', label: t('register.sp.reasons'), value: o.reasons, errors: o.errors, multiline: true, required: true })}
<button type="submit">${t('register.sp.objectSubmit')}</button>
</form>`;
}
