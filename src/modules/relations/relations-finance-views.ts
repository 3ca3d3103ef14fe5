/**
 * Pages for agreements, mandates and direct-debit collections. The agreement form is a
 * multipart form (the signed PDF) that works without JavaScript; the typed signature is the
 * no-JS way to capture one. The collection form lists every collectable mandate with an amount
 * field: lines left empty are skipped.
 */
import { html, type SafeHtml } from '../../shared/html/html.js';
import * as ui from '../../shared/html/index.js';
import type { Locale, Translate } from '../../shared/i18n/messages.js';
import type { AgreementView } from './relations-agreements.js';
import type { CollectableMandate, CreditorView } from './relations-collections.js';
import type { MandateView } from './relations-mandates.js';
import { mandateSchemes, signatureChannels } from './relations-schema.js';
import { formatIban } from './relations-sepa.js';
import {
  dateOrDash,
  type FormValues,
  type RelationFormArgs,
  radioField,
  relationFormFrame,
  restrictedNotice,
  restrictedTag,
} from './relations-views.js';

const channelOptions = (t: Translate) =>
  signatureChannels.map((c) => ({ value: c, label: t(`relations.channel.${c}`) }));

export function agreementFormPage(o: RelationFormArgs): SafeHtml {
  const { t, values: v, errors } = o;
  const labels: Record<string, string> = {
    title: t('relations.agreement.title'),
    version: t('relations.agreement.version'),
    effectiveFrom: t('relations.agreement.effectiveFrom'),
    effectiveUntil: t('relations.agreement.effectiveUntil'),
    document: t('relations.agreement.document'),
    signedByName: t('relations.agreement.signedByName'),
    signedAt: t('relations.agreement.signedAt'),
    signatureChannel: t('relations.agreement.signatureChannel'),
  };
  const docError = errors?.document;
  return relationFormFrame({
    ...o,
    errors,
    title: t('relations.agreement.newTitle'),
    labels,
    action: 'agreements',
    multipart: true,
    submit: t('relations.agreement.save'),
    fields: html`${ui.textField({ t, name: 'title', label: labels.title ?? '', value: v.title, errors })}
  ${ui.textField({ t, name: 'version', label: labels.version ?? '', value: v.version, errors })}
  ${ui.textField({ t, name: 'effectiveFrom', type: 'date', label: labels.effectiveFrom ?? '', hint: t('relations.form.dateHint'), value: v.effectiveFrom, errors })}
  ${ui.textField({ t, name: 'effectiveUntil', type: 'date', label: `${labels.effectiveUntil} ${t('relations.form.optional')}`, value: v.effectiveUntil, errors })}
  <div class="field${docError ? ' field--error' : ''}">
    <label for="f-document">${labels.document}</label>
    <p class="hint" id="f-document-hint">${t('relations.agreement.documentHint')}</p>
    ${docError ? html`<p class="field-error" id="f-document-error"><span class="visually-hidden">${t('error.summaryTitle')}:</span> ${t(docError)}</p>` : null}
    <input type="file" id="f-document" name="document" accept="application/pdf,.pdf" aria-describedby="f-document-hint${docError ? ' f-document-error' : ''}">
  </div>
  <fieldset class="group"><legend>${t('relations.agreement.signatureTitle')}</legend>
    <p class="hint">${t('relations.agreement.signatureHint')}</p>
    ${ui.textField({ t, name: 'signedByName', label: labels.signedByName ?? '', value: v.signedByName, errors, autocomplete: 'off' })}
    ${ui.textField({ t, name: 'signedAt', type: 'date', label: labels.signedAt ?? '', value: v.signedAt, errors })}
    ${ui.selectField({ t, name: 'signatureChannel', label: labels.signatureChannel ?? '', value: v.signatureChannel, errors, placeholder: t('relations.form.choose'), options: channelOptions(t) })}
  </fieldset>`,
  });
}

export function agreementPage(o: {
  t: Translate;
  locale: Locale;
  agreement: AgreementView;
  mayDownload: boolean;
}): SafeHtml {
  const { t, agreement: a, locale } = o;
  return html`<h1>${a.title}${restrictedTag(t, a.restricted)}</h1>
${restrictedNotice(t, a.restricted)}
<dl>
  <dt>${t('relations.agreement.version')}</dt><dd>${a.version}</dd>
  <dt>${t('relations.agreement.effectiveFrom')}</dt><dd>${dateOrDash(locale, a.effectiveFrom)}</dd>
  <dt>${t('relations.agreement.effectiveUntil')}</dt><dd>${dateOrDash(locale, a.effectiveUntil)}</dd>
  <dt>${t('relations.agreement.signedAt')}</dt><dd>${dateOrDash(locale, a.signedAt)}</dd>
  <dt>${t('relations.agreement.signatureChannel')}</dt><dd>${a.signatureChannel === null ? t('relations.none') : t(`relations.channel.${a.signatureChannel}`)}</dd>
  <dt>${t('relations.agreement.signedByName')}</dt><dd>${
    a.signedByName === undefined
      ? html`<span class="hint">${t('relations.agreement.signedByHidden')}</span>`
      : (a.signedByName ?? t('relations.none'))
  }</dd>
  <dt>${t('relations.col.document')}</dt><dd>${
    a.hasDocument
      ? html`PDF, ${t('relations.agreement.size', { kb: Math.max(1, Math.round((a.documentSize ?? 0) / 1024)) })}${
          o.mayDownload
            ? html` · <a href="/staff/relations/${a.relationId}/agreements/${a.id}/document">${t('relations.agreement.download')}</a>`
            : null
        }`
      : t('relations.none')
  }</dd>
</dl>
<p><a href="/staff/relations/${a.relationId}">${t('relations.detail.backToRelation')}</a></p>`;
}

export function mandateFormPage(o: RelationFormArgs): SafeHtml {
  const { t, values: v, errors } = o;
  const labels: Record<string, string> = {
    reference: t('relations.mandate.reference'),
    scheme: t('relations.mandate.scheme'),
    sequence: t('relations.mandate.sequence'),
    accountHolder: t('relations.mandate.accountHolder'),
    iban: t('relations.mandate.iban'),
    bic: t('relations.mandate.bic'),
    signedAt: t('relations.mandate.signedAt'),
    signatureName: t('relations.mandate.signatureName'),
    signatureChannel: t('relations.mandate.signatureChannel'),
  };
  return relationFormFrame({
    ...o,
    errors,
    title: t('relations.mandate.newTitle'),
    labels,
    action: 'mandates',
    submit: t('relations.mandate.save'),
    fields: html`${ui.textField({ t, name: 'reference', label: labels.reference ?? '', hint: t('relations.mandate.referenceHint'), value: v.reference, errors, autocomplete: 'off' })}
  ${radioField({ t, name: 'scheme', legend: labels.scheme ?? '', value: v.scheme ?? 'CORE', errors, options: mandateSchemes.map((s) => ({ value: s, label: t(s === 'CORE' ? 'relations.mandate.schemeCore' : 'relations.mandate.schemeB2b') })) })}
  ${radioField({
    t,
    name: 'sequence',
    legend: labels.sequence ?? '',
    value: v.sequence ?? 'recurrent',
    errors,
    options: [
      { value: 'recurrent', label: t('relations.mandate.recurrent') },
      { value: 'one_off', label: t('relations.mandate.oneOff') },
    ],
  })}
  ${ui.textField({ t, name: 'accountHolder', label: labels.accountHolder ?? '', value: v.accountHolder, errors, autocomplete: 'off' })}
  ${ui.textField({ t, name: 'iban', label: labels.iban ?? '', hint: t('relations.mandate.ibanHint'), value: v.iban, errors, autocomplete: 'off' })}
  ${ui.textField({ t, name: 'bic', label: `${labels.bic} ${t('relations.form.optional')}`, hint: t('relations.mandate.bicHint'), value: v.bic, errors, autocomplete: 'off' })}
  ${ui.textField({ t, name: 'signedAt', type: 'date', label: labels.signedAt ?? '', hint: t('relations.form.dateHint'), value: v.signedAt, errors })}
  ${ui.textField({ t, name: 'signatureName', label: `${labels.signatureName} ${t('relations.form.optional')}`, value: v.signatureName, errors, autocomplete: 'off' })}
  ${ui.selectField({ t, name: 'signatureChannel', label: labels.signatureChannel ?? '', value: v.signatureChannel, errors, placeholder: t('relations.form.choose'), options: channelOptions(t) })}`,
  });
}

export function mandatePage(o: {
  t: Translate;
  locale: Locale;
  csrf: string;
  mandate: MandateView;
  notice?: string | undefined;
}): SafeHtml {
  const { t, mandate: m, locale } = o;
  const base = `/staff/relations/${m.relationId}/mandates/${m.id}`;
  return html`<h1>${t('relations.mandate.title', { reference: m.reference })}${restrictedTag(t, m.restricted)}</h1>
${restrictedNotice(t, m.restricted)}
${ui.notice(o.notice)}
<p class="hint">${t('relations.mandate.auditNote')}</p>
<dl>
  <dt>${t('relations.mandate.accountHolder')}</dt><dd>${m.accountHolder}</dd>
  <dt>${t('relations.mandate.iban')}</dt><dd class="mono">${formatIban(m.iban)}</dd>
  <dt>${t('relations.mandate.bic')}</dt><dd class="mono">${m.bic ?? t('relations.none')}</dd>
  <dt>${t('relations.mandate.scheme')}</dt><dd>${m.scheme}</dd>
  <dt>${t('relations.mandate.sequence')}</dt><dd>${t(m.sequence === 'recurrent' ? 'relations.mandate.recurrent' : 'relations.mandate.oneOff')}</dd>
  <dt>${t('relations.col.mandateStatus')}</dt><dd>${t(`relations.mandate.status.${m.status}`)}</dd>
  <dt>${t('relations.mandate.signedAt')}</dt><dd>${dateOrDash(locale, m.signedAt)}</dd>
  <dt>${t('relations.mandate.signatureName')}</dt><dd>${m.signatureName ?? t('relations.none')}</dd>
  <dt>${t('relations.mandate.signatureChannel')}</dt><dd>${t(`relations.channel.${m.signatureChannel}`)}</dd>
  <dt>${t('relations.mandate.firstCollection')}</dt><dd>${dateOrDash(locale, m.firstCollectionAt)}</dd>
  <dt>${t('relations.mandate.lastCollection')}</dt><dd>${dateOrDash(locale, m.lastCollectionAt)}</dd>
</dl>
${
  m.status === 'active'
    ? html`<form method="post" action="${base}/revoke" class="action-form">
  ${ui.csrfField(o.csrf)}
  <p class="hint">${t('relations.mandate.revokeHint')}</p>
  <button type="submit" class="danger">${t('relations.mandate.revoke')}</button>
</form>`
    : null
}
<p><a href="/staff/relations/${m.relationId}">${t('relations.detail.backToRelation')}</a></p>`;
}

export function directDebitsPage(o: {
  t: Translate;
  csrf: string;
  creditor: CreditorView | undefined;
  creditorValues: FormValues;
  creditorErrors?: ui.FieldErrors | undefined;
  mandates: readonly CollectableMandate[];
  collectValues: FormValues;
  collectErrors?: ui.FieldErrors | undefined;
  notice?: string | undefined;
}): SafeHtml {
  const { t } = o;
  const cv = o.creditorValues;
  const v = o.collectValues;
  const ce = o.creditorErrors;
  const errors = o.collectErrors;
  const creditorLabels: Record<string, string> = {
    name: t('relations.dd.creditorName'),
    creditorId: t('relations.dd.creditorId'),
    iban: t('relations.dd.creditorIban'),
    bic: t('relations.dd.creditorBic'),
  };
  const collectLabels: Record<string, string> = {
    requestedDate: t('relations.dd.requestedDate'),
    _form: t('relations.dd.collectTitle'),
    ...Object.fromEntries(
      o.mandates.map((m) => [`amount.${m.id}`, `${t('relations.dd.amount')} ${m.reference}`]),
    ),
  };
  return html`<h1>${t('relations.dd.title')}</h1>
${ui.notice(o.notice)}
${ui.errorSummary(t, ce, creditorLabels)}
${ui.errorSummary(t, errors, collectLabels)}
<h2>${t('relations.dd.collectTitle')}</h2>
${
  o.creditor === undefined
    ? html`<p>${t('relations.dd.noCreditor')}</p>`
    : o.mandates.length === 0
      ? html`<p>${t('relations.dd.noMandates')}</p>`
      : html`<p>${t('relations.dd.collectIntro')}</p>
<form method="post" action="/staff/direct-debits/export" novalidate>
  ${ui.csrfField(o.csrf)}
  ${ui.textField({ t, name: 'requestedDate', type: 'date', label: collectLabels.requestedDate ?? '', hint: t('relations.dd.requestedDateHint'), value: v.requestedDate, errors })}
  <table>
    <caption class="visually-hidden">${t('relations.dd.collectTitle')}</caption>
    <thead><tr><th scope="col">${t('relations.col.reference')}</th><th scope="col">${t('relations.dd.relation')}</th><th scope="col">${t('relations.col.iban')}</th><th scope="col">${t('relations.col.next')}</th><th scope="col">${t('relations.dd.amount')}</th><th scope="col">${t('relations.dd.remittance')}</th></tr></thead>
    <tbody>${o.mandates.map((m) => {
      const amountName = `amount.${m.id}`;
      const error = errors?.[amountName];
      return html`<tr>
      <td>${m.reference}</td>
      <td>${m.relationName ?? t('relations.erased')}</td>
      <td class="mono">${m.ibanMasked}</td>
      <td>${m.scheme} ${m.sequenceType}</td>
      <td class="${error ? 'field--error' : ''}">${error ? html`<p class="field-error" id="f-${amountName}-error">${t(error)}</p>` : null}<label class="visually-hidden" for="f-${amountName}">${t('relations.dd.amount')} ${m.reference}</label><input type="text" inputmode="decimal" id="f-${amountName}" name="${amountName}" value="${v[amountName] ?? ''}" size="10"${error ? html` aria-invalid="true" aria-describedby="f-${amountName}-error"` : ''}></td>
      <td><label class="visually-hidden" for="f-remittance.${m.id}">${t('relations.dd.remittance')} ${m.reference}</label><input type="text" id="f-remittance.${m.id}" name="remittance.${m.id}" value="${v[`remittance.${m.id}`] ?? ''}" maxlength="140"></td>
    </tr>`;
    })}</tbody>
  </table>
  <button type="submit">${t('relations.dd.export')}</button>
</form>`
}
<h2>${t('relations.dd.creditorTitle')}</h2>
<p>${t('relations.dd.creditorIntro')}</p>
<form method="post" action="/staff/direct-debits/creditor" novalidate>
  ${ui.csrfField(o.csrf)}
  ${ui.textField({ t, name: 'name', label: creditorLabels.name ?? '', value: cv.name ?? o.creditor?.name, errors: ce })}
  ${ui.textField({ t, name: 'creditorId', label: creditorLabels.creditorId ?? '', hint: t('relations.dd.creditorIdHint'), value: cv.creditorId ?? o.creditor?.creditorId, errors: ce, autocomplete: 'off' })}
  ${ui.textField({ t, name: 'iban', label: creditorLabels.iban ?? '', value: cv.iban ?? (o.creditor === undefined ? undefined : formatIban(o.creditor.iban)), errors: ce, autocomplete: 'off' })}
  ${ui.textField({ t, name: 'bic', label: `${creditorLabels.bic} ${t('relations.form.optional')}`, value: cv.bic ?? o.creditor?.bic ?? undefined, errors: ce, autocomplete: 'off' })}
  <button type="submit" class="secondary">${t('relations.dd.creditorSave')}</button>
</form>`;
}
