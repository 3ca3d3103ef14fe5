/** Pages of the security role: the audit trail overview and the access log (P11, P12). */
import { errorSummary, type FieldErrors, textField } from '../../shared/html/forms.js';
import { type HtmlValue, html, type SafeHtml } from '../../shared/html/html.js';
import { pager } from '../../shared/html/table.js';
import { formatTime, timeTag } from '../../shared/html/time.js';
import { isMessageKey, type Locale, type MessageKey, type Translate } from '../../shared/i18n/messages.js';
import type { AccessLogPage } from './access-log-service.js';
import { auditedKindList, auditedKinds } from './audit-coverage.js';
import type { AuditBreakReason } from './audit-verify.js';
import type { AuditOverview } from './security-service.js';

const reasonKeys: Record<AuditBreakReason, MessageKey> = {
  altered: 'security.audit.reason.altered',
  gap: 'security.audit.reason.gap',
  reordered: 'security.audit.reason.reordered',
  inserted: 'security.audit.reason.inserted',
  head_mismatch: 'security.audit.reason.head_mismatch',
  truncated: 'security.audit.reason.truncated',
  checkpoint_signature: 'security.audit.reason.checkpoint_signature',
  checkpoint_unknown_key: 'security.audit.reason.checkpoint_unknown_key',
  checkpoint_mismatch: 'security.audit.reason.checkpoint_mismatch',
  witness_mismatch: 'security.audit.reason.witness_mismatch',
  witness_invalid: 'security.audit.reason.witness_invalid',
};

function chainStatus(t: Translate, o: AuditOverview): SafeHtml {
  const { report } = o;
  if (report.broken !== undefined) {
    return html`<div class="error-summary" role="alert">
  <p class="status-bad">${t('security.audit.statusBroken', { seq: report.broken.seq, reason: t(reasonKeys[report.broken.reason]) })}</p>
  <p class="mono">${report.broken.detail}</p>
  <p>${t('security.audit.statusAction')}</p>
</div>`;
  }
  const seq = report.head?.seq ?? 0;
  const line = o.full
    ? t('security.audit.statusOk', { count: report.checked, seq })
    : t('security.audit.statusOkQuick', { count: report.checked, seq, from: report.fromSeq });
  return html`<p class="status-ok">${line}</p>`;
}

/**
 * The audit page. `names` are the display names of the reader's own organisation's staff (from
 * the auth module, which composes this page): anyone else — operator staff under a grant, a
 * deleted account — is shown as a kind of actor with a short id, never looked up elsewhere.
 */
export function auditPage(
  t: Translate,
  locale: Locale,
  o: AuditOverview,
  names: ReadonlyMap<string, string> = new Map(),
): SafeHtml {
  const { report } = o;
  const latest = report.checkpoints.latest;
  return html`<h1>${t('security.audit.title')}</h1>
<p>${t('security.audit.intro')}</p>
<p><a href="/staff/security/access-log">${t('security.audit.accessLogLink')}</a></p>
<section aria-labelledby="chain-status">
  <h2 id="chain-status">${t('security.audit.statusTitle')}</h2>
  ${chainStatus(t, o)}
  ${
    report.warnings.length > 0
      ? html`<div class="notice"><h3>${t('security.audit.warnings')}</h3><ul>${report.warnings.map((w) => html`<li>${w}</li>`)}</ul></div>`
      : null
  }
</section>
<section aria-labelledby="checkpoint">
  <h2 id="checkpoint">${t('security.audit.checkpointTitle')}</h2>
  <p>${latest === undefined ? t('security.audit.checkpointNone') : t('security.audit.checkpointLine', { seq: latest.seq, at: formatTime(locale, latest.at) })}</p>
  <p>${report.witness.present ? t('security.audit.witnessLine', { lines: report.witness.lines }) : t('security.audit.witnessMissing')}</p>
  <p>${t('security.audit.publicKey', { keyId: o.keyId })}: <code class="mono">${o.publicKey}</code></p>
</section>
<section aria-labelledby="recent">
  <h2 id="recent">${t('security.audit.recentTitle')}</h2>
  ${
    o.entries.length === 0
      ? html`<p>${t('security.audit.none')}</p>`
      : html`<div class="table-scroll" role="region" aria-label="${t('security.audit.recentTitle')}" tabindex="0"><table class="audit-table">
    <thead><tr>
      <th scope="col">${t('security.audit.col.seq')}</th>
      <th scope="col">${t('security.audit.col.at')}</th>
      <th scope="col">${t('security.audit.col.actor')}</th>
      <th scope="col">${t('security.audit.col.action')}</th>
      <th scope="col">${t('security.audit.col.target')}</th>
      <th scope="col">${t('security.audit.col.fields')}</th>
    </tr></thead>
    <tbody>${o.entries.map(
      (e) => html`<tr>
      <td>${e.seq}</td>
      <td>${timeTag(locale, e.at, '')}</td>
      <td>${actorCell(t, e.actor, names)}</td>
      <td>${actionCell(t, e.action)}</td>
      <td class="mono wrap">${e.target_type === null ? '' : `${e.target_type}:${shortId(e.target_id ?? '')}`}</td>
      <td class="mono wrap">${fieldNames(e.fields)}</td>
    </tr>`,
    )}</tbody>
  </table></div>`
  }
</section>`;
}

/** A uuid cut to its first block: enough to tell entries apart on screen, the whole in the title. */
function shortId(id: string): string {
  return /^[0-9a-f]{8}-[0-9a-f-]{27}$/i.test(id) ? `${id.slice(0, 8)}…` : id;
}

/** `user:<id>@grant:<id>`, `system:<reason>`, `api_key:<id>`: who, in words, with the reference kept whole in a title. */
function actorCell(t: Translate, actor: string, names: ReadonlyMap<string, string>): HtmlValue {
  const [who = '', grant] = actor.split('@grant:');
  const [kind = '', ref = ''] = who.split(':');
  const name = kind === 'user' && grant === undefined ? names.get(ref) : undefined;
  if (name !== undefined) return html`<span title="${actor}">${name}</span>`;
  const known: Record<string, MessageKey> = {
    user: 'security.audit.actor.user',
    system: 'security.audit.actor.system',
    api_key: 'security.audit.actor.apiKey',
  };
  const key = known[kind];
  const text = key === undefined ? actor : `${t(key)} ${kind === 'system' ? ref : shortId(ref)}`;
  return html`<span title="${actor}">${text}${grant === undefined ? '' : html` (${t('security.audit.actor.grant')})`}</span>`;
}

/** The action in words (and the statement's kind it belongs to, if any), the code itself beneath it. */
function actionCell(t: Translate, action: string): HtmlValue {
  const key = `security.audit.action.${action}`;
  const label = isMessageKey(key) ? t(key) : undefined;
  const kind = auditedKindList.find((k) => (auditedKinds[k] as readonly string[]).includes(action));
  const words = [label, kind === undefined ? undefined : t(`security.audit.kind.${kind}`)].filter(
    (w) => w !== undefined,
  );
  return words.length === 0
    ? html`<span class="mono wrap">${action}</span>`
    : html`${words[0]}${words[1] === undefined ? '' : html` <small>(${words[1]})</small>`}<br><small class="mono wrap">${action}</small>`;
}

function fieldNames(json: string): string {
  try {
    const parsed: unknown = JSON.parse(json);
    return Array.isArray(parsed) ? parsed.map(String).join(', ') : '';
  } catch {
    return '';
  }
}

/** The filter as typed, for keeping the input and building page links. */
export interface AccessLogFormValues {
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly status?: string | undefined;
  readonly route?: string | undefined;
}

export function accessLogQueryString(values: AccessLogFormValues, page: number): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (typeof v === 'string' && v !== '') params.set(k, v);
  if (page > 1) params.set('page', String(page));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

export function accessLogPage(
  t: Translate,
  o: {
    values: AccessLogFormValues;
    errors?: FieldErrors | undefined;
    result: AccessLogPage | undefined;
    truncateDays: number;
    deleteDays: number;
    locale: Locale;
  },
): SafeHtml {
  const labels = {
    from: t('security.accessLog.from'),
    to: t('security.accessLog.to'),
    status: t('security.accessLog.status'),
    route: t('security.accessLog.route'),
    page: 'page',
  };
  return html`<h1>${t('security.accessLog.title')}</h1>
<p>${t('security.accessLog.intro', { truncate: o.truncateDays, delete: o.deleteDays })}</p>
<form method="get" action="/staff/security/access-log" class="filter-form" aria-labelledby="filter-title" novalidate>
  <h2 id="filter-title">${t('security.accessLog.filterTitle')}</h2>
  ${errorSummary(t, o.errors, labels)}
  ${textField({ t, name: 'from', label: labels.from, type: 'date', value: o.values.from, errors: o.errors })}
  ${textField({ t, name: 'to', label: labels.to, type: 'date', value: o.values.to, errors: o.errors })}
  ${textField({
    t,
    name: 'status',
    label: labels.status,
    type: 'text',
    inputmode: 'numeric',
    hint: t('security.accessLog.statusHint'),
    value: o.values.status,
    errors: o.errors,
  })}
  ${textField({
    t,
    name: 'route',
    label: labels.route,
    hint: t('security.accessLog.routeHint'),
    value: o.values.route,
    errors: o.errors,
  })}
  <button type="submit" class="button">${t('security.accessLog.apply')}</button>
  <a href="/staff/security/access-log">${t('security.accessLog.reset')}</a>
</form>
${o.result === undefined ? null : results(t, o.locale, o.values, o.result)}`;
}

function results(t: Translate, locale: Locale, values: AccessLogFormValues, r: AccessLogPage): HtmlValue {
  return html`<p role="status">${t('security.accessLog.results', { total: r.total, page: r.page, pages: r.pages })}</p>
${
  r.rows.length === 0
    ? null
    : html`<table>
  <caption>${t('security.accessLog.caption')}</caption>
  <thead><tr>
    <th scope="col">${t('security.accessLog.col.at')}</th>
    <th scope="col">${t('security.accessLog.col.ip')}</th>
    <th scope="col">${t('security.accessLog.col.method')}</th>
    <th scope="col">${t('security.accessLog.col.route')}</th>
    <th scope="col">${t('security.accessLog.col.status')}</th>
    <th scope="col">${t('security.accessLog.col.userAgent')}</th>
    <th scope="col">${t('security.accessLog.col.requestId')}</th>
  </tr></thead>
  <tbody>${r.rows.map(
    (row) => html`<tr>
    <td>${timeTag(locale, row.at, '')}</td>
    <td class="mono">${row.ip ?? ''}${row.ip_truncated === 1 ? html` <span class="hint">(${t('security.accessLog.truncated')})</span>` : null}</td>
    <td>${row.method}</td>
    <td class="mono">${row.route}</td>
    <td>${row.status}</td>
    <td>${row.user_agent ?? ''}</td>
    <td class="mono">${row.request_id}</td>
  </tr>`,
  )}</tbody>
</table>`
}
${pager(
  r,
  (page) => `/staff/security/access-log${accessLogQueryString(values, page)}`,
  {
    nav: t('security.accessLog.pagination'),
    previous: t('security.accessLog.previous'),
    next: t('security.accessLog.next'),
  },
  true,
)}`;
}
