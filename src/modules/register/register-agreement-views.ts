/**
 * Pages of the processor agreements (Art. 28): the agreements an org keeps and, for a tenant, the
 * one kept with it; the form with the signed document as a PDF upload.
 */
import { selectField, textField } from '../../shared/html/forms.js';
import { type HtmlValue, html, type SafeHtml } from '../../shared/html/html.js';
import { notice } from '../../shared/html/notice.js';
import { tableHead } from '../../shared/html/table.js';
import { formatDate } from '../../shared/i18n/dates.js';
import type { Locale, MessageKey, Translate } from '../../shared/i18n/messages.js';
import type { AgreementView, CounterpartyOption } from './register-agreements.js';
import { type FormPageOptions, fieldLabels, fileField, registerForm } from './register-view-parts.js';

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
${tableHead([
  t('register.ag.counterparty'),
  t('register.ag.version'),
  t('register.ag.signedOn'),
  t('register.ag.parties'),
  t('register.ag.document'),
])}
<tbody>
${list.map(
  (a) => html`<tr>
  <td>${canEdit ? html`<a href="/staff/agreements/${a.id}">${a.counterpartyName}</a>` : a.counterpartyName} (${t(kind[a.counterpartyKind])})</td>
  <td>${a.version}</td>
  <td>${formatDate(locale, a.signedOn, 'long')}</td>
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

/** The form's fields and their labels. */
const agreementLabels = {
  counterparty: 'register.ag.counterparty',
  version: 'register.ag.version',
  signedOn: 'register.ag.signedOn',
  parties: 'register.ag.parties',
  document: 'register.sp.agreementDocument',
} as const satisfies Record<string, MessageKey>;

export function agreementFormPage(
  o: FormPageOptions<AgreementFormValues> & {
    title: string;
    action: string;
    options?: readonly CounterpartyOption[] | undefined;
    counterpartyName?: string | undefined;
  },
): SafeHtml {
  const { t, values: v } = o;
  const labels = fieldLabels(t, agreementLabels);
  const kindLabel = (k: CounterpartyOption['kind']) =>
    t(k === 'client' ? 'register.ag.kind.client' : 'register.ag.kind.subprocessor');
  return html`<h1>${o.title}</h1>
${registerForm(o, {
  action: o.action,
  labels,
  cancelHref: '/staff/agreements',
  multipart: true,
  fields: html`${
    o.options === undefined
      ? html`<p><strong>${labels.counterparty}:</strong> ${o.counterpartyName ?? ''}</p>`
      : selectField({
          t,
          name: 'counterparty',
          label: labels.counterparty,
          hint: t('register.ag.counterpartyHint'),
          options: o.options.map((c) => ({ value: c.value, label: `${c.name} (${kindLabel(c.kind)})` })),
          value: v.counterparty,
          errors: o.errors,
          placeholder: '',
        })
  }
${textField({ t, name: 'version', label: labels.version, value: v.version, errors: o.errors, required: true })}
${textField({ t, name: 'signedOn', label: labels.signedOn, hint: t('register.sp.agreementSignedHint'), type: 'date', value: v.signedOn, errors: o.errors, required: true })}
${textField({ t, name: 'parties', label: labels.parties, hint: t('register.ag.partiesHint'), value: v.parties, errors: o.errors, multiline: true })}
${fileField({ t, name: 'document', label: labels.document, hint: t('register.sp.agreementDocumentHint'), errors: o.errors })}
`,
})}`;
}
