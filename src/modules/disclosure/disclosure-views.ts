/**
 * The operator's pages of legal orders: the list of cases, the form that records one, and one
 * case with its approvals and its sealed export. Ids and the order's details only: no tenant's
 * personal value is ever on these pages (the export is a download).
 */
import { html, type SafeHtml } from '../../shared/html/html.js';
import * as ui from '../../shared/html/index.js';
import type { Locale, Translate } from '../../shared/i18n/messages.js';
import type { LegalOrderView } from './disclosure-cases.js';

function stateOf(t: Translate, v: LegalOrderView): string {
  if (v.status === 'disclosed') return t('disclosure.status.disclosed');
  return v.privacyOfficer !== undefined && v.owner !== undefined
    ? t('disclosure.status.approved')
    : t('disclosure.status.recorded');
}

export function legalOrdersListPage(o: {
  t: Translate;
  list: readonly LegalOrderView[];
  notice?: string | undefined;
}): SafeHtml {
  const { t } = o;
  return html`<h1>${t('disclosure.title')}</h1>
${ui.notice(o.notice)}
<p>${t('disclosure.intro')}</p>
<p><a class="button" href="/staff/legal-orders/new">${t('disclosure.new')}</a></p>
${
  o.list.length === 0
    ? html`<p>${t('disclosure.none')}</p>`
    : html`<div class="table-scroll" role="region" aria-label="${t('disclosure.title')}" tabindex="0"><table>
${ui.tableHead([
  t('disclosure.col.reference'),
  t('disclosure.col.tenant'),
  t('disclosure.col.authority'),
  t('disclosure.col.deadline'),
  t('disclosure.col.status'),
])}
<tbody>${o.list.map(
        (v) => html`<tr>
  <td><a href="/staff/legal-orders/${v.id}">${v.orderReference}</a></td>
  <td>${v.tenant.name} (${v.tenant.slug})</td>
  <td>${v.authority}</td>
  <td>${v.deadline}</td>
  <td>${stateOf(t, v)}</td>
</tr>`,
      )}</tbody></table></div>`
}`;
}

export const legalOrderLabels = {
  tenant: 'disclosure.field.tenant',
  authority: 'disclosure.field.authority',
  legalBasis: 'disclosure.field.legalBasis',
  orderReference: 'disclosure.field.orderReference',
  subjects: 'disclosure.field.subjects',
  records: 'disclosure.field.records',
  deadline: 'disclosure.field.deadline',
  gagUntil: 'disclosure.field.gagUntil',
} as const;

export function newLegalOrderPage(o: {
  t: Translate;
  csrf: string;
  tenants: readonly { id: string; name: string; slug: string }[];
  values: Readonly<Record<string, string>>;
  errors?: ui.FieldErrors | undefined;
}): SafeHtml {
  const { t, values, errors } = o;
  const labels = Object.fromEntries(Object.entries(legalOrderLabels).map(([k, key]) => [k, t(key)]));
  const field = (
    name: keyof typeof legalOrderLabels,
    extra: Partial<Parameters<typeof ui.textField>[0]> = {},
  ) => ui.textField({ t, name, label: t(legalOrderLabels[name]), value: values[name], errors, ...extra });
  return html`<h1>${t('disclosure.new')}</h1>
${ui.errorSummary(t, errors, labels)}
<form method="post" action="/staff/legal-orders" novalidate>${ui.csrfField(o.csrf)}
${ui.selectField({
  t,
  name: 'tenant',
  label: t('disclosure.field.tenant'),
  options: o.tenants.map((x) => ({ value: x.id, label: `${x.name} (${x.slug})` })),
  value: values.tenant,
  placeholder: '—',
  errors,
})}
${field('authority', { required: true })}
${field('legalBasis', { required: true })}
${field('orderReference', { required: true })}
${field('subjects', { multiline: true, required: true, hint: t('disclosure.field.subjectsHint') })}
${field('records', { multiline: true, hint: t('disclosure.field.recordsHint') })}
${field('deadline', { type: 'date', required: true })}
${field('gagUntil', { type: 'date', hint: t('disclosure.field.gagUntilHint') })}
<button type="submit">${t('disclosure.save')}</button>
</form>`;
}

function gagText(t: Translate, v: LegalOrderView): string {
  if (v.gagUntil === null) return t('disclosure.case.noGag');
  return t(v.gagged ? 'disclosure.case.gagActive' : 'disclosure.case.gagEnded', { date: v.gagUntil });
}

export function legalOrderPage(o: {
  t: Translate;
  locale: Locale;
  csrf: string;
  order: LegalOrderView;
  /** Which approvals the signed-in person could give (by role; the service decides). */
  canApproveAs: readonly ('privacy_officer' | 'owner')[];
  notice?: string | undefined;
}): SafeHtml {
  const { t, locale, order: v } = o;
  const approvalRow = (label: string, a: LegalOrderView['owner']) =>
    html`<dt>${label}</dt><dd>${a === undefined ? t('disclosure.case.pending') : html`<code>user:${a.userId}</code>, ${ui.timeTag(locale, a.at, '')}`}</dd>`;
  const approveButton = (as: 'privacy_officer' | 'owner') =>
    html`<form method="post" action="/staff/legal-orders/${v.id}/approve">${ui.csrfField(o.csrf)}
<input type="hidden" name="as" value="${as}">
<button type="submit">${t(as === 'owner' ? 'disclosure.case.approveAsOwner' : 'disclosure.case.approveAsPrivacyOfficer')}</button></form>`;
  const open = (as: 'privacy_officer' | 'owner') =>
    v.status === 'recorded' &&
    o.canApproveAs.includes(as) &&
    (as === 'owner' ? v.owner === undefined : v.privacyOfficer === undefined);
  const approved = v.privacyOfficer !== undefined && v.owner !== undefined;
  return html`<h1>${v.orderReference}</h1>
${ui.notice(o.notice)}
<dl>
<dt>${t('disclosure.col.tenant')}</dt><dd>${v.tenant.name} (${v.tenant.slug})</dd>
<dt>${t('disclosure.field.authority')}</dt><dd>${v.authority}</dd>
<dt>${t('disclosure.field.legalBasis')}</dt><dd>${v.legalBasis}</dd>
<dt>${t('disclosure.field.deadline')}</dt><dd>${v.deadline}</dd>
<dt>${t('disclosure.case.gag')}</dt><dd>${gagText(t, v)}</dd>
<dt>${t('disclosure.case.told')}</dt><dd>${v.tenantNotifiedAt === null ? t('disclosure.case.notTold') : ui.timeTag(locale, v.tenantNotifiedAt, '')}</dd>
<dt>${t('disclosure.col.status')}</dt><dd>${stateOf(t, v)}</dd>
</dl>
<h2>${t('disclosure.case.scope')}</h2>
<ul>${v.subjects.map((s) => html`<li><code>data_subjects:${s}</code></li>`)}</ul>
${v.records.length === 0 ? html`<p>${t('disclosure.case.allRecords')}</p>` : html`<ul>${v.records.map((r) => html`<li><code>${r}</code></li>`)}</ul>`}
<h2>${t('disclosure.case.approvals')}</h2>
<p>${t('disclosure.case.twoPeople')}</p>
<dl>
${approvalRow(t('disclosure.case.byPrivacyOfficer'), v.privacyOfficer)}
${approvalRow(t('disclosure.case.byOwner'), v.owner)}
</dl>
${open('privacy_officer') ? approveButton('privacy_officer') : null}
${open('owner') ? approveButton('owner') : null}
${
  approved && v.status === 'recorded'
    ? html`<form method="post" action="/staff/legal-orders/${v.id}/disclose">${ui.csrfField(o.csrf)}
<button type="submit">${t('disclosure.case.makeExport')}</button></form>`
    : null
}
${
  v.status === 'disclosed'
    ? html`<p><a href="/staff/legal-orders/${v.id}/export">${t('disclosure.case.download')}</a></p>
<p>${t('disclosure.case.sha256')}: <code>${v.exportSha256 ?? ''}</code></p>`
    : null
}`;
}
