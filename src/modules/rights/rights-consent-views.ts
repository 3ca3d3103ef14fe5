/** The consent registry's staff pages (P15): look a person up, their history and state, record an event. */
import { html, type SafeHtml } from '../../shared/html/html.js';
import * as ui from '../../shared/html/index.js';
import type { Locale, MessageKey, Translate } from '../../shared/i18n/messages.js';
import type { ConsentRecord, PurposeState } from './rights-consent.js';
import { objectionPurposes } from './rights-consent.js';
import { consentEvents, consentMethods, consentPurposes } from './rights-schema.js';

function purposeText(t: Translate, purpose: string): string {
  return (consentPurposes as readonly string[]).includes(purpose)
    ? t(`rights.consent.purpose.${purpose}` as MessageKey)
    : t(`register.purpose.${purpose}` as MessageKey);
}

export interface ConsentIndexOptions {
  readonly csrfToken: string | undefined;
  readonly canExport: boolean;
  readonly newsletterCount: number;
  readonly email?: string | undefined;
  readonly errors?: ui.FieldErrors | undefined;
  readonly notFound?: boolean;
}

export function consentIndexPage(t: Translate, o: ConsentIndexOptions): SafeHtml {
  return html`<h1>${t('rights.consent.title')}</h1>
<p>${t('rights.consent.intro')}</p>
${ui.errorSummary(t, o.errors, { email: t('rights.consent.lookup.email') })}
<section aria-labelledby="lookup">
<h2 id="lookup">${t('rights.consent.lookup.title')}</h2>
${o.notFound ? html`<div class="notice" role="status"><p>${t('rights.consent.lookup.notFound')}</p></div>` : ''}
<form method="post" action="/staff/consents/lookup" novalidate>
  ${ui.csrfField(o.csrfToken)}
  ${ui.textField({ t, name: 'email', type: 'email', label: t('rights.consent.lookup.email'), hint: t('rights.consent.lookup.hint'), value: o.email, errors: o.errors, autocomplete: 'off' })}
  <button type="submit">${t('rights.consent.lookup.submit')}</button>
</form>
</section>
<section aria-labelledby="newsletter">
<h2 id="newsletter">${t('rights.consent.export.title')}</h2>
<p>${t('rights.consent.export.count', { n: o.newsletterCount })}</p>
${o.canExport ? html`<p><a href="/staff/consents/newsletter.csv" download>${t('rights.consent.export.link')}</a></p><p class="hint">${t('rights.consent.export.hint')}</p>` : ''}
</section>`;
}

/** The recording form as typed (shown again after a refusal). */
export type ConsentFormValues = Readonly<
  Partial<Record<'purpose' | 'event' | 'method' | 'date' | 'statementVersion', string>>
>;

export interface ConsentSubjectOptions {
  readonly subjectId: string;
  readonly locale: Locale;
  readonly erased: boolean;
  readonly states: readonly PurposeState[];
  readonly records: readonly ConsentRecord[];
  readonly csrfToken: string | undefined;
  readonly canRecord: boolean;
  readonly saved?: boolean;
  readonly errors?: ui.FieldErrors | undefined;
  readonly values?: ConsentFormValues;
}

function recordForm(t: Translate, o: ConsentSubjectOptions): SafeHtml {
  const v = o.values ?? {};
  const purposes = [...consentPurposes, ...objectionPurposes()];
  return html`<section aria-labelledby="record">
<h2 id="record">${t('rights.consent.form.title')}</h2>
${ui.errorSummary(t, o.errors, {
  purpose: t('rights.consent.form.purpose'),
  event: t('rights.consent.form.event'),
  method: t('rights.consent.form.method'),
  date: t('rights.consent.form.date'),
  statementVersion: t('rights.consent.form.version'),
})}
<form method="post" action="/staff/consents/subjects/${o.subjectId}" novalidate>
  ${ui.csrfField(o.csrfToken)}
  ${ui.selectField({ t, name: 'purpose', label: t('rights.consent.form.purpose'), options: purposes.map((p) => ({ value: p, label: purposeText(t, p) })), value: v.purpose, errors: o.errors })}
  ${ui.selectField({ t, name: 'event', label: t('rights.consent.form.event'), hint: t('rights.consent.form.eventHint'), options: consentEvents.map((e) => ({ value: e, label: t(`rights.consent.event.${e}`) })), value: v.event, errors: o.errors })}
  ${ui.selectField({ t, name: 'method', label: t('rights.consent.form.method'), options: consentMethods.map((m) => ({ value: m, label: t(`rights.consent.method.${m}`) })), value: v.method ?? 'staff', errors: o.errors })}
  ${ui.textField({ t, name: 'date', type: 'date', label: t('rights.consent.form.date'), hint: t('rights.consent.form.dateHint'), value: v.date, errors: o.errors })}
  ${ui.textField({ t, name: 'statementVersion', type: 'number', inputmode: 'numeric', label: t('rights.consent.form.version'), hint: t('rights.consent.form.versionHint'), value: v.statementVersion, errors: o.errors })}
  <button type="submit">${t('rights.consent.form.submit')}</button>
</form>
</section>`;
}

export function consentSubjectPage(t: Translate, o: ConsentSubjectOptions): SafeHtml {
  const states = html`<div class="table-scroll"><table>
<caption class="visually-hidden">${t('rights.consent.states.title')}</caption>
<thead><tr>
  <th scope="col">${t('rights.consent.states.col.purpose')}</th>
  <th scope="col">${t('rights.consent.states.col.basis')}</th>
  <th scope="col">${t('rights.consent.states.col.state')}</th>
  <th scope="col">${t('rights.consent.states.col.since')}</th>
</tr></thead><tbody>${o.states.map(
    (s) => html`<tr>
  <td>${purposeText(t, s.purpose)}</td>
  <td>${t(`rights.consent.basis.${s.legalBasis === 'consent' ? 'consent' : 'legitimate_interest'}`)}</td>
  <td>${t(`rights.consent.state.${s.state}`)}</td>
  <td>${ui.timeTag(o.locale, s.since, '')}</td>
</tr>`,
  )}</tbody></table></div>`;
  const history =
    o.records.length === 0
      ? html`<p>${t('rights.consent.history.none')}</p>`
      : html`<div class="table-scroll"><table>
<thead><tr>
  <th scope="col">${t('rights.consent.history.col.at')}</th>
  <th scope="col">${t('rights.consent.history.col.purpose')}</th>
  <th scope="col">${t('rights.consent.history.col.event')}</th>
  <th scope="col">${t('rights.consent.history.col.method')}</th>
  <th scope="col">${t('rights.consent.history.col.version')}</th>
  <th scope="col">${t('rights.consent.history.col.by')}</th>
</tr></thead><tbody>${o.records.map(
          (r) => html`<tr>
  <td>${ui.timeTag(o.locale, r.at, '')}</td>
  <td>${purposeText(t, r.purpose)}</td>
  <td>${t(`rights.consent.event.${r.event}`)}</td>
  <td>${t(`rights.consent.method.${r.method}`)}</td>
  <td>${r.statement_version === null ? '' : String(r.statement_version)}</td>
  <td class="mono">${r.recorded_by}</td>
</tr>`,
        )}</tbody></table></div>`;
  return html`<h1>${t('rights.consent.subject.title', { id: o.subjectId })}</h1>
${o.saved ? html`<div class="notice" role="status"><p>${t('rights.consent.saved')}</p></div>` : ''}
${o.erased ? html`<div class="notice" role="status"><p>${t('rights.consent.subject.erased')}</p></div>` : ''}
<section aria-labelledby="states">
<h2 id="states">${t('rights.consent.states.title')}</h2>
${states}
<p><a href="/staff/consents/subjects/${o.subjectId}/consent-records.json" download>${t('rights.consent.subject.json')}</a></p>
</section>
<section aria-labelledby="history">
<h2 id="history">${t('rights.consent.history.title')}</h2>
${history}
</section>
${o.canRecord && !o.erased ? recordForm(t, o) : ''}`;
}
