/**
 * Pages of client relations (GOV.UK patterns: label above field, hint, error next to the field,
 * an error summary linking to each field, input kept). Lists sort and filter through the query
 * string. Mandates show the masked IBAN here; the full IBAN only on the mandate page (finance,
 * audited). Forms for agreements, mandates and collections are in relations-finance-views.ts.
 */
import { type HtmlValue, html, type SafeHtml } from '../../shared/html/html.js';
import * as ui from '../../shared/html/index.js';
import { formatDate } from '../../shared/i18n/dates.js';
import type { Locale, Translate } from '../../shared/i18n/messages.js';
import { addressLines, countryOptions } from './relations-address.js';
import type { RelationSort } from './relations-repository.js';
import { addressee, salutation } from './relations-salutation.js';
import {
  type ContactRole,
  contactRoles,
  type FormOfAddress,
  formsOfAddress,
  type RelationKind,
  type RelationStatus,
  relationKinds,
  relationStatuses,
} from './relations-schema.js';
import type { RelationDetail, RelationListPage } from './relations-service.js';

export type FormValues = Readonly<Record<string, string | undefined>>;

/** A day in the reader's language, or a dash when there is none. */
export function dateOrDash(locale: Locale, iso: string | null): string {
  return iso === null || iso === '' ? '—' : formatDate(locale, iso);
}

/** Radio buttons in a fieldset with a legend; the first radio carries the field id the summary links to. */
export function radioField(o: {
  t: Translate;
  name: string;
  legend: string;
  options: readonly { value: string; label: string; hint?: string }[];
  value?: string | undefined;
  hint?: string | undefined;
  errors?: ui.FieldErrors | undefined;
}): SafeHtml {
  const errorKey = o.errors?.[o.name];
  const base = `f-${o.name}`;
  const describedBy = [o.hint ? `${base}-hint` : '', errorKey ? `${base}-error` : '']
    .filter(Boolean)
    .join(' ');
  return html`<div class="radios${errorKey ? ' field--error' : ''}">
<fieldset${describedBy ? html` aria-describedby="${describedBy}"` : ''}>
  <legend>${o.legend}</legend>
  ${o.hint ? html`<p class="hint" id="${base}-hint">${o.hint}</p>` : ''}
  ${errorKey ? html`<p class="field-error" id="${base}-error"><span class="visually-hidden">${o.t('error.summaryTitle')}:</span> ${o.t(errorKey)}</p>` : ''}
  ${o.options.map((opt, i) => {
    const id = i === 0 ? base : `${base}-${opt.value}`;
    return html`<div class="radio"><input type="radio" id="${id}" name="${o.name}" value="${opt.value}"${
      o.value === opt.value ? html` checked` : ''
    }> <label for="${id}">${opt.label}</label>${opt.hint ? html` <span class="hint">${opt.hint}</span>` : ''}</div>`;
  })}
</fieldset>
</div>`;
}

/** The relation a sub-form is about (its page shows the name under the title). */
export interface FormRelation {
  readonly id: string;
  readonly displayName: string | null;
}

/** What a form about one relation is shown with: the input as typed (or to start from) and its errors. */
export interface RelationFormArgs {
  readonly t: Translate;
  readonly locale: Locale;
  readonly csrf: string;
  readonly relation: FormRelation;
  readonly values: FormValues;
  readonly errors?: ui.FieldErrors | undefined;
}

/**
 * The frame of every form about one relation (contact, address, agreement, mandate): the title,
 * the relation's name, the error summary, the form with its fields, save and cancel.
 */
export function relationFormFrame(o: {
  t: Translate;
  title: string;
  relation: FormRelation;
  csrf: string;
  errors: ui.FieldErrors | undefined;
  labels: Readonly<Record<string, string>>;
  /** Where the form posts, after `/staff/relations/<id>/`. */
  action: string;
  /** A file upload (the signed PDF). */
  multipart?: boolean;
  fields: HtmlValue;
  submit: string;
}): SafeHtml {
  const back = `/staff/relations/${o.relation.id}`;
  return html`<h1>${o.title}</h1>
<p>${o.relation.displayName ?? ''}</p>
${ui.errorSummary(o.t, o.errors, o.labels)}
<form method="post" action="${back}/${o.action}"${o.multipart ? html` enctype="multipart/form-data"` : ''} novalidate>
  ${ui.csrfField(o.csrf)}
  ${o.fields}
  <button type="submit">${o.submit}</button>
  <a href="${back}">${o.t('relations.form.cancel')}</a>
</form>`;
}

/** A table of the detail page (caption for screen readers, column headers, one row per item), or `empty`. */
function detailTable<T>(o: {
  caption: string;
  columns: readonly HtmlValue[];
  items: readonly T[];
  row: (item: T) => SafeHtml;
  empty: string;
  before?: HtmlValue;
}): SafeHtml {
  if (o.items.length === 0) return html`<p>${o.empty}</p>`;
  return html`${o.before ?? null}<table>
  <caption class="visually-hidden">${o.caption}</caption>
  <thead><tr>${o.columns.map((c) => html`<th scope="col">${c}</th>`)}</tr></thead>
  <tbody>${o.items.map(o.row)}</tbody>
</table>`;
}

const statusLabel = (t: Translate, s: RelationStatus) => t(`relations.status.${s}`);
const kindLabel = (t: Translate, k: RelationKind) => t(`relations.kind.${k}`);
const roleLabel = (t: Translate, r: ContactRole) => t(`relations.contactRole.${r}`);
const foaLabel = (t: Translate, f: FormOfAddress) => t(`relations.formOfAddress.${f}`);

// --- list -------------------------------------------------------------------------------------

export interface RelationListParams extends ui.ListOrder<RelationSort> {
  readonly status?: RelationStatus | undefined;
}

export function relationListQuery(p: RelationListParams, page: number): string {
  return ui.listHref(
    '/staff/relations',
    {
      ...ui.orderParams(p, { sort: 'name', dir: 'asc' }),
      status: p.status,
    },
    page,
  );
}

function sortHeader(t: Translate, p: RelationListParams, column: RelationSort, label: string): SafeHtml {
  return ui.sortHeader({
    order: p,
    column,
    label,
    hrefOf: (order) => relationListQuery({ ...p, ...order }, 1),
    labels: { asc: t('relations.list.sortAsc'), desc: t('relations.list.sortDesc') },
  });
}

/**
 * The mark of a record kept only for a legal duty (GDPR Art. 18(2): stored, not otherwise used).
 * Only finance sees such records at all; the mark tells them not to use it for anything else.
 */
export function restrictedTag(t: Translate, restricted: boolean): SafeHtml | null {
  return restricted
    ? html` <strong class="tag tag--restricted">${t('relations.restricted.tag')}</strong>`
    : null;
}

/** Why a restricted record is still here, and what it may (not) be used for. */
export function restrictedNotice(t: Translate, restricted: boolean): SafeHtml | null {
  return restricted
    ? html`<p class="notice restricted-notice">${t('relations.restricted.notice')}</p>`
    : null;
}

export function relationListPage(o: {
  t: Translate;
  locale: Locale;
  params: RelationListParams;
  result: RelationListPage;
  canEdit: boolean;
}): SafeHtml {
  const { t, params: p, result: r } = o;
  return html`<h1>${t('relations.list.title')}</h1>
${o.canEdit ? html`<p><a class="button" href="/staff/relations/new">${t('relations.list.new')}</a></p>` : null}
<form method="get" action="/staff/relations" class="filter-form" aria-labelledby="relations-filter-title">
  <h2 id="relations-filter-title">${t('relations.list.filterTitle')}</h2>
  <input type="hidden" name="sort" value="${p.sort}">
  <input type="hidden" name="dir" value="${p.dir}">
  ${ui.selectField({
    t,
    name: 'status',
    label: t('relations.list.filterStatus'),
    value: p.status,
    placeholder: t('relations.list.filterAll'),
    options: relationStatuses.map((s) => ({ value: s, label: statusLabel(t, s) })),
  })}
  <button type="submit" class="secondary">${t('relations.list.filterApply')}</button>
  <a href="/staff/relations">${t('relations.list.filterReset')}</a>
</form>
<p role="status">${t('relations.list.results', { total: r.total, page: r.page, pages: r.pages })}</p>
${
  r.items.length === 0
    ? html`<p>${t('relations.list.empty')}</p>`
    : html`<table>
  <caption class="visually-hidden">${t('relations.list.title')}</caption>
  <thead><tr>
    ${sortHeader(t, p, 'name', t('relations.col.name'))}
    <th scope="col">${t('relations.col.kind')}</th>
    ${sortHeader(t, p, 'status', t('relations.col.status'))}
    ${sortHeader(t, p, 'started', t('relations.col.started'))}
    ${sortHeader(t, p, 'created', t('relations.col.created'))}
  </tr></thead>
  <tbody>${r.items.map(
    (item) => html`<tr>
    <td><a href="/staff/relations/${item.id}">${item.displayName ?? t('relations.erased')}</a>${restrictedTag(t, item.restricted)}</td>
    <td>${kindLabel(t, item.kind)}</td>
    <td>${statusLabel(t, item.status)}</td>
    <td>${dateOrDash(o.locale, item.startedAt)}</td>
    <td>${dateOrDash(o.locale, item.createdAt)}</td>
  </tr>`,
  )}</tbody>
</table>`
}
${ui.pager(r, (page) => relationListQuery(p, page), {
  nav: t('relations.list.pagination'),
  previous: t('relations.list.previous'),
  next: t('relations.list.next'),
})}`;
}

// --- create / edit ----------------------------------------------------------------------------

function formOfAddressRadios(
  t: Translate,
  value: string | undefined,
  errors: ui.FieldErrors | undefined,
): SafeHtml {
  return radioField({
    t,
    name: 'formOfAddress',
    legend: t('relations.form.formOfAddress'),
    hint: t('relations.form.formOfAddressHint'),
    value,
    errors,
    options: formsOfAddress.map((f) => ({
      value: f,
      label: foaLabel(t, f),
      hint: t(`relations.formOfAddress.${f}Hint`),
    })),
  });
}

function personFields(t: Translate, v: FormValues, errors: ui.FieldErrors | undefined): SafeHtml {
  const optional = ` ${t('relations.form.optional')}`;
  return html`${formOfAddressRadios(t, v.formOfAddress, errors)}
  ${ui.textField({ t, name: 'givenName', label: `${t('relations.form.givenName')}${optional}`, value: v.givenName, errors, autocomplete: 'off' })}
  ${ui.textField({ t, name: 'familyName', label: t('relations.form.familyName'), hint: t('relations.form.familyNameHint'), value: v.familyName, errors, autocomplete: 'off' })}`;
}

function contactFields(t: Translate, v: FormValues, errors: ui.FieldErrors | undefined): SafeHtml {
  const optional = ` ${t('relations.form.optional')}`;
  return html`${ui.textField({ t, name: 'email', type: 'email', label: `${t('relations.form.email')}${optional}`, value: v.email, errors, autocomplete: 'off' })}
  ${ui.textField({ t, name: 'phone', type: 'tel', label: `${t('relations.form.phone')}${optional}`, value: v.phone, errors, autocomplete: 'off' })}`;
}

const relationLabels = (t: Translate): Record<string, string> => ({
  kind: t('relations.form.kind'),
  organisationName: t('relations.form.organisationName'),
  formOfAddress: t('relations.form.formOfAddress'),
  givenName: t('relations.form.givenName'),
  familyName: t('relations.form.familyName'),
  email: t('relations.form.email'),
  phone: t('relations.form.phone'),
  status: t('relations.form.status'),
  startedAt: t('relations.form.startedAt'),
  endedAt: t('relations.form.endedAt'),
  role: t('relations.contact.role'),
});

export function relationFormPage(o: {
  t: Translate;
  csrf: string;
  /** Undefined for a new relation. */
  relation?: { id: string; kind: RelationKind; displayName: string | null } | undefined;
  values: FormValues;
  errors?: ui.FieldErrors | undefined;
}): SafeHtml {
  const { t, values: v, errors } = o;
  const editing = o.relation !== undefined;
  const kind = o.relation?.kind;
  const title = editing ? t('relations.form.editTitle') : t('relations.form.newTitle');
  const action = editing ? `/staff/relations/${o.relation?.id}` : '/staff/relations';
  return html`<h1>${title}</h1>
${ui.errorSummary(t, errors, relationLabels(t))}
<p>${t('relations.form.intro')}</p>
<form method="post" action="${action}" novalidate>
  ${ui.csrfField(o.csrf)}
  ${
    editing
      ? html`<input type="hidden" name="kind" value="${kind ?? ''}">`
      : radioField({
          t,
          name: 'kind',
          legend: t('relations.form.kind'),
          value: v.kind,
          errors,
          options: relationKinds.map((k) => ({ value: k, label: kindLabel(t, k) })),
        })
  }
  ${kind === 'person' ? null : ui.textField({ t, name: 'organisationName', label: t('relations.form.organisationName'), hint: editing ? undefined : t('relations.form.organisationNameHint'), value: v.organisationName, errors, autocomplete: 'off' })}
  ${
    kind === 'organisation'
      ? null
      : html`<fieldset class="group"><legend>${t('relations.kind.person')}${editing ? '' : html` <span class="hint">${t('relations.form.personHint')}</span>`}</legend>
  ${personFields(t, v, errors)}
</fieldset>`
  }
  ${contactFields(t, v, errors)}
  ${ui.selectField({ t, name: 'status', label: t('relations.form.status'), value: v.status ?? 'active', errors, options: relationStatuses.map((s) => ({ value: s, label: statusLabel(t, s) })) })}
  ${ui.textField({ t, name: 'startedAt', type: 'date', label: `${t('relations.form.startedAt')} ${t('relations.form.optional')}`, hint: t('relations.form.dateHint'), value: v.startedAt, errors })}
  ${ui.textField({ t, name: 'endedAt', type: 'date', label: t('relations.form.endedAt'), hint: t('relations.form.endedAtHint'), value: v.endedAt, errors })}
  <button type="submit">${editing ? t('relations.form.save') : t('relations.form.create')}</button>
  <a href="${editing ? `/staff/relations/${o.relation?.id}` : '/staff/relations'}">${t('relations.form.cancel')}</a>
</form>`;
}

/** Form values from a relation detail, for the edit form. */
export function relationValues(r: RelationDetail): FormValues {
  return {
    kind: r.kind,
    organisationName: r.organisationName ?? undefined,
    formOfAddress: r.person?.formOfAddress,
    givenName: r.person?.givenName ?? undefined,
    familyName: r.person?.familyName,
    email: r.email ?? undefined,
    phone: r.phone ?? undefined,
    status: r.status,
    startedAt: r.startedAt ?? undefined,
    endedAt: r.endedAt ?? undefined,
  };
}

// --- detail -------------------------------------------------------------------------------------

export function relationDetailPage(o: {
  t: Translate;
  locale: Locale;
  csrf: string;
  relation: RelationDetail;
  canEdit: boolean;
  isFinance: boolean;
  notice?: string | undefined;
}): SafeHtml {
  const { t, relation: r, locale } = o;
  const base = `/staff/relations/${r.id}`;
  const person = r.person;
  const greeting =
    person === null
      ? null
      : salutation(locale, {
          formOfAddress: person.formOfAddress,
          firstName: person.givenName ?? undefined,
          lastName: person.familyName,
        });
  return html`<h1>${r.displayName ?? t('relations.erased')}${restrictedTag(t, r.restricted)}</h1>
${restrictedNotice(t, r.restricted)}
${ui.notice(o.notice)}
<h2>${t('relations.detail.details')}</h2>
<dl>
  <dt>${t('relations.col.kind')}</dt><dd>${kindLabel(t, r.kind)}</dd>
  <dt>${t('relations.col.status')}</dt><dd>${statusLabel(t, r.status)}</dd>
  <dt>${t('relations.col.started')}</dt><dd>${dateOrDash(locale, r.startedAt)}</dd>
  ${r.endedAt === null ? null : html`<dt>${t('relations.form.endedAt')}</dt><dd>${dateOrDash(locale, r.endedAt)}</dd>`}
  ${person === null ? null : html`<dt>${t('relations.form.formOfAddress')}</dt><dd>${foaLabel(t, person.formOfAddress)}</dd>`}
  ${greeting === null ? null : html`<dt>${t('relations.detail.salutation')}</dt><dd>${greeting}</dd>`}
  <dt>${t('relations.form.email')}</dt><dd>${r.email ?? t('relations.none')}</dd>
  <dt>${t('relations.form.phone')}</dt><dd>${r.phone ?? t('relations.none')}</dd>
</dl>
${o.canEdit ? html`<p><a href="${base}/edit">${t('relations.detail.edit')}</a></p>` : null}

<h2>${t('relations.detail.contacts')}</h2>
${detailTable({
  caption: t('relations.detail.contacts'),
  columns: [
    t('relations.col.name'),
    t('relations.col.role'),
    t('relations.form.email'),
    t('relations.form.phone'),
    html`<span class="visually-hidden">${t('relations.detail.removeContact')}</span>`,
  ],
  items: r.contacts,
  empty: t('relations.detail.noContacts'),
  row: (c) => html`<tr>
    <td>${addressee(locale, { formOfAddress: c.formOfAddress, firstName: c.givenName ?? undefined, lastName: c.familyName })}</td>
    <td>${roleLabel(t, c.role)}</td>
    <td>${c.email ?? t('relations.none')}</td>
    <td>${c.phone ?? t('relations.none')}</td>
    <td>${
      o.canEdit
        ? html`<form method="post" action="${base}/contacts/${c.id}/delete" class="inline-form">${ui.csrfField(o.csrf)}<button type="submit" class="link-button">${t('relations.detail.removeContact')}</button></form>`
        : null
    }</td>
  </tr>`,
})}
${o.canEdit ? html`<p><a href="${base}/contacts/new">${t('relations.detail.addContact')}</a></p>` : null}

<h2>${t('relations.detail.address')}</h2>
${
  r.address === null
    ? html`<p>${t('relations.detail.noAddress')}</p>`
    : html`<address>${addressLines(locale, r.address).map((line, i) => (i === 0 ? line : html`<br>${line}`))}</address>`
}
${o.canEdit ? html`<p><a href="${base}/address">${t('relations.detail.editAddress')}</a></p>` : null}

<h2>${t('relations.detail.agreements')}</h2>
${detailTable({
  caption: t('relations.detail.agreements'),
  columns: [
    t('relations.col.title'),
    t('relations.col.version'),
    t('relations.col.from'),
    t('relations.col.signed'),
    t('relations.col.document'),
  ],
  items: r.agreements,
  empty: t('relations.detail.noAgreements'),
  row: (a) => html`<tr>
    <td><a href="${base}/agreements/${a.id}">${a.title}</a>${restrictedTag(t, a.restricted)}</td>
    <td>${a.version}</td>
    <td>${dateOrDash(locale, a.effectiveFrom)}</td>
    <td>${a.signed ? `${dateOrDash(locale, a.signedAt)} · ${a.signatureChannel === null ? '' : t(`relations.channel.${a.signatureChannel}`)}` : t('relations.no')}</td>
    <td>${a.hasDocument ? 'PDF' : t('relations.none')}</td>
  </tr>`,
})}
${o.canEdit ? html`<p><a href="${base}/agreements/new">${t('relations.detail.addAgreement')}</a></p>` : null}

<h2>${t('relations.detail.mandates')}</h2>
${detailTable({
  caption: t('relations.detail.mandates'),
  before: html`<p class="hint">${t('relations.detail.ibanMaskedHint')}</p>`,
  columns: [
    t('relations.col.reference'),
    t('relations.col.iban'),
    t('relations.col.scheme'),
    t('relations.col.mandateStatus'),
    t('relations.col.next'),
  ],
  items: r.mandates,
  empty: t('relations.detail.noMandates'),
  row: (m) => html`<tr>
    <td>${o.isFinance ? html`<a href="${base}/mandates/${m.id}">${m.reference}</a>` : m.reference}${restrictedTag(t, m.restricted)}</td>
    <td class="mono">${m.ibanMasked}</td>
    <td>${m.scheme} · ${t(m.sequence === 'recurrent' ? 'relations.mandate.recurrent' : 'relations.mandate.oneOff')}</td>
    <td>${t(`relations.mandate.status.${m.status}`)}</td>
    <td>${m.nextSequenceType ?? t('relations.none')}</td>
  </tr>`,
})}
${o.isFinance ? html`<p><a href="${base}/mandates/new">${t('relations.detail.addMandate')}</a></p>` : null}
<p><a href="/staff/relations">${t('relations.detail.backToList')}</a></p>`;
}

// --- contact and address ------------------------------------------------------------------------

export function contactFormPage(o: RelationFormArgs): SafeHtml {
  const { t, values: v, errors } = o;
  return relationFormFrame({
    ...o,
    errors,
    title: t('relations.contact.newTitle'),
    labels: relationLabels(t),
    action: 'contacts',
    submit: t('relations.contact.add'),
    fields: html`${personFields(t, v, errors)}
  ${contactFields(t, v, errors)}
  ${ui.selectField({ t, name: 'role', label: t('relations.contact.role'), value: v.role ?? 'general', errors, options: contactRoles.map((r) => ({ value: r, label: roleLabel(t, r) })) })}`,
  });
}

export function addressFormPage(o: RelationFormArgs): SafeHtml {
  const { t, values: v, errors } = o;
  const labels: Record<string, string> = {
    country: t('relations.address.country'),
    postcode: t('relations.address.postcode'),
    houseNumber: t('relations.address.houseNumber'),
    houseNumberAddition: t('relations.address.houseNumberAddition'),
    street: t('relations.address.street'),
    city: t('relations.address.city'),
  };
  return relationFormFrame({
    ...o,
    errors,
    title: t('relations.address.title'),
    labels,
    action: 'address',
    submit: t('relations.form.save'),
    fields: html`${ui.selectField({ t, name: 'country', label: labels.country ?? '', value: v.country ?? 'NL', errors, options: countryOptions(o.locale).map((c) => ({ value: c.code, label: c.name })) })}
  ${ui.textField({ t, name: 'postcode', label: labels.postcode ?? '', hint: t('relations.address.postcodeHint'), value: v.postcode, errors, autocomplete: 'off' })}
  ${ui.textField({ t, name: 'houseNumber', label: labels.houseNumber ?? '', value: v.houseNumber, errors, autocomplete: 'off' })}
  ${ui.textField({ t, name: 'houseNumberAddition', label: `${labels.houseNumberAddition} ${t('relations.form.optional')}`, hint: t('relations.address.houseNumberAdditionHint'), value: v.houseNumberAddition, errors, autocomplete: 'off' })}
  ${ui.textField({ t, name: 'street', label: labels.street ?? '', value: v.street, errors, autocomplete: 'off' })}
  ${ui.textField({ t, name: 'city', label: labels.city ?? '', value: v.city, errors, autocomplete: 'off' })}`,
  });
}
