/**
 * Pages of the rights portal (public, no JavaScript) and of the staff workflow. Everything goes
 * through the escaping `html` tag; forms follow the GOV.UK pattern (forms.ts).
 */
import { type HtmlValue, html, type SafeHtml } from '../../shared/html/html.js';
import * as ui from '../../shared/html/index.js';
import type { Locale, MessageKey, Translate } from '../../shared/i18n/messages.js';
import { objectionPurposes } from './rights-consent.js';
import { daysLeftBuckets } from './rights-deadlines.js';
import type { RequestDetail, RequestStatusView, RequestSummary } from './rights-requests.js';
import {
  consentPurposes,
  pauseReasons,
  type RequestStatus,
  type RightKind,
  requestOutcomes,
  rightKinds,
} from './rights-schema.js';

export interface PortalValues {
  right?: string | undefined;
  email?: string | undefined;
  phone?: string | undefined;
  details?: string | undefined;
}

const rightLabel = (t: Translate, right: RightKind | null) => t(`rights.right.${right ?? 'unspecified'}`);
const stateLabel = (t: Translate, status: RequestStatus) => t(`rights.state.${status}`);

export function portalPage(
  t: Translate,
  o: {
    orgName: string;
    action: string;
    csrf: string;
    values: PortalValues;
    errors?: ui.FieldErrors | undefined;
    privacyPath: string;
  },
): SafeHtml {
  const errorKey = o.errors?.right;
  return html`<h1>${t('rights.portal.title', { org: o.orgName })}</h1>
<p>${t('rights.portal.intro', { org: o.orgName })}</p>
<p>${t('rights.portal.identity')}</p>
<form method="post" action="${o.action}" novalidate>
${ui.errorSummary(t, o.errors, {
  right: t('rights.portal.right'),
  email: t('rights.portal.email'),
  phone: t('rights.portal.phone'),
  details: t('rights.portal.details'),
})}
${ui.csrfField(o.csrf)}
<div class="field${errorKey ? ' field--error' : ''}" id="f-right">
<fieldset${errorKey ? html` aria-describedby="f-right-error"` : ''}>
  <legend>${t('rights.portal.right')}</legend>
  ${errorKey ? html`<p class="field-error" id="f-right-error"><span class="visually-hidden">${t('error.summaryTitle')}:</span> ${t(errorKey)}</p>` : ''}
  ${rightKinds.map(
    (r) => html`<div class="radio">
    <input type="radio" id="f-right-${r}" name="right" value="${r}" aria-describedby="f-right-${r}-hint"${o.values.right === r ? html` checked` : ''}>
    <label for="f-right-${r}">${t(`rights.right.${r}`)}</label>
    <p class="hint" id="f-right-${r}-hint">${t(`rights.rightHint.${r}`)}</p>
  </div>`,
  )}
</fieldset>
</div>
${ui.textField({ t, name: 'email', type: 'email', label: t('rights.portal.email'), hint: t('rights.portal.emailHint'), value: o.values.email, errors: o.errors, autocomplete: 'email', required: true })}
${ui.textField({ t, name: 'phone', type: 'tel', label: t('rights.portal.phone'), hint: t('rights.portal.phoneHint'), value: o.values.phone, errors: o.errors, autocomplete: 'tel' })}
${ui.textField({ t, name: 'details', label: t('rights.portal.details'), hint: t('rights.portal.detailsHint'), value: o.values.details, errors: o.errors, multiline: true })}
<button type="submit">${t('rights.portal.submit')}</button>
</form>
<p><a href="${o.privacyPath}">${t('rights.portal.statement')}</a></p>`;
}

export function sentPage(t: Translate, days: number): SafeHtml {
  return html`<h1>${t('rights.sent.title')}</h1>
<div class="notice" role="status"><p>${t('rights.sent.body', { days })}</p></div>
<p>${t('rights.sent.noMail')}</p>`;
}

export function statusInvalidPage(t: Translate): SafeHtml {
  return html`<h1>${t('rights.status.title')}</h1><p>${t('rights.status.invalid')}</p>`;
}

export function confirmPage(t: Translate, o: { action: string; csrf: string }): SafeHtml {
  return html`<h1>${t('rights.status.title')}</h1>
<p>${t('rights.status.confirmIntro')}</p>
<form method="post" action="${o.action}">${ui.csrfField(o.csrf)}<button type="submit">${t('rights.status.confirm')}</button></form>`;
}

export function statusPage(
  t: Translate,
  v: RequestStatusView,
  o: { downloadPath: string; locale: Locale },
): SafeHtml {
  const day = (value: string) => ui.formatDate(o.locale, value, 'long');
  const closed = v.status === 'completed' || v.status === 'refused';
  const row = (label: string, value: HtmlValue) =>
    html`<tr><th scope="row">${label}</th><td>${value}</td></tr>`;
  return html`<h1>${t('rights.status.title')}</h1>
<table>
${row(t('rights.status.right'), rightLabel(t, v.right))}
${row(t('rights.status.received'), day(v.receivedOn))}
${row(t('rights.status.state'), stateLabel(t, v.status))}
${closed ? '' : row(t('rights.status.due'), html`${day(v.dueOn)}${v.paused ? html`<br>${t('rights.status.paused')}` : ''}`)}
${v.extendedMonths > 0 ? row(t('rights.status.extended', { months: v.extendedMonths }), v.extensionReason ?? '') : ''}
${v.outcome === null ? '' : row(t('rights.status.outcome'), t(`rights.outcome.${v.outcome}`))}
${v.outcomeReason === null ? '' : row(t('rights.status.reasons'), html`<span class="pre">${v.outcomeReason}</span>`)}
</table>
${
  v.exportState === 'available'
    ? html`<p><a class="button" href="${o.downloadPath}" download>${t('rights.status.download')}</a></p>
<p class="hint">${t('rights.status.downloadOnce', { date: day(v.exportExpiresAt ?? '') })}</p>`
    : v.exportState === 'downloaded'
      ? html`<p>${t('rights.status.downloaded')}</p>`
      : v.exportState === 'expired'
        ? html`<p>${t('rights.status.exportGone')}</p>`
        : ''
}
<p>${t('rights.status.complaint')}</p>`;
}

/** Open requests by days left, as a small bar chart (server-rendered SVG with a table beside it). */
export function daysLeftChart(t: Translate, open: readonly RequestSummary[]): SafeHtml {
  const counts = daysLeftBuckets.map((b) => ({ id: b.id, n: open.filter((r) => r.bucket === b.id).length }));
  const max = Math.max(1, ...counts.map((c) => c.n));
  const barW = 60;
  const gap = 20;
  const h = 120;
  const width = counts.length * (barW + gap);
  return html`<figure class="rights-chart">
<figcaption id="rights-chart-title">${t('rights.queue.chartTitle')}</figcaption>
<svg viewBox="0 0 ${width} ${h + 40}" width="${width}" role="img" aria-labelledby="rights-chart-title" focusable="false">
${counts.map((c, i) => {
  const bh = Math.round((c.n / max) * h);
  const x = i * (barW + gap);
  return html`<rect x="${x}" y="${h - bh}" width="${barW}" height="${bh}" fill="${c.id === 'overdue' ? '#b3261e' : c.id === 'week' ? '#c76e00' : '#2f5f8a'}"/>
<text x="${x + barW / 2}" y="${h - bh - 4}" text-anchor="middle" font-size="14">${c.n}</text>
<text x="${x + barW / 2}" y="${h + 18}" text-anchor="middle" font-size="11">${t(`rights.bucket.${c.id}`)}</text>`;
})}
</svg>
<table class="visually-hidden"><tr>${counts.map((c) => html`<th scope="col">${t(`rights.bucket.${c.id}`)}</th>`)}</tr><tr>${counts.map((c) => html`<td>${c.n}</td>`)}</tr></table>
</figure>`;
}

function summaryRows(
  t: Translate,
  locale: Locale,
  rows: readonly RequestSummary[],
  closed: boolean,
): SafeHtml {
  return html`<div class="table-scroll"><table>
<tr><th scope="col">${t('rights.queue.received')}</th><th scope="col">${t('rights.queue.right')}</th><th scope="col">${t('rights.queue.channel')}</th><th scope="col">${t('rights.queue.state')}</th>${closed ? '' : html`<th scope="col">${t('rights.queue.due')}</th><th scope="col">${t('rights.queue.daysLeft')}</th>`}</tr>
${rows.map(
  (r) => html`<tr${!closed && r.daysLeft < 0 ? html` class="overdue"` : ''}>
  <td class="mono"><a href="/staff/rights/${r.id}">${ui.timeTag(locale, r.receivedAt, '')}</a></td>
  <td>${rightLabel(t, r.right)}${r.subjectLinked ? '' : html`<br><span class="hint">${t('rights.queue.subjectUnknown')}</span>`}</td>
  <td>${t(`rights.channel.${r.channel}`)}</td>
  <td>${stateLabel(t, r.status)}${r.paused ? html`<br><span class="hint">${t('rights.queue.pausedShort')}</span>` : ''}</td>
  ${
    closed
      ? ''
      : html`<td>${ui.formatDate(locale, r.dueOn)}</td><td class="mono">${r.daysLeft < 0 ? html`<strong class="status-bad">${t('rights.queue.overdue')} (${r.daysLeft})</strong>` : r.daysLeft}</td>`
  }
</tr>`,
)}
</table></div>`;
}

export function queuePage(
  t: Translate,
  o: { open: readonly RequestSummary[]; closed: readonly RequestSummary[]; locale: Locale },
): SafeHtml {
  return html`<h1>${t('rights.queue.title')}</h1>
<p>${t('rights.queue.intro')}</p>
${daysLeftChart(t, o.open)}
<h2>${t('rights.queue.open')}</h2>
${o.open.length === 0 ? html`<p>${t('rights.queue.empty')}</p>` : summaryRows(t, o.locale, o.open, false)}
<h2>${t('rights.queue.closed')}</h2>
${o.closed.length === 0 ? html`<p>${t('rights.queue.empty')}</p>` : summaryRows(t, o.locale, o.closed, true)}`;
}

function actionForm(o: {
  id: string;
  csrf: string;
  action: string;
  legend: string;
  body?: HtmlValue;
  button: string;
  danger?: boolean;
}): SafeHtml {
  return html`<form method="post" action="/staff/rights/${o.id}/${o.action}" class="action-form" novalidate>
${ui.csrfField(o.csrf)}
<fieldset><legend>${o.legend}</legend>
${o.body ?? ''}
<button type="submit"${o.danger ? html` class="danger"` : ''}>${o.button}</button>
</fieldset></form>`;
}

interface DetailOptions {
  csrf: string;
  locale: Locale;
  problem?: MessageKey | undefined;
  flash?: MessageKey | undefined;
  errors?: ui.FieldErrors | undefined;
}

type AddForm = (x: Omit<Parameters<typeof actionForm>[0], 'id' | 'csrf'>) => void;

/** The forms that move the request along: the right, confirmation, identity, subject, clock. */
function requestForms(t: Translate, d: RequestDetail, o: DetailOptions, f: AddForm, verified: boolean): void {
  if (d.right === null) {
    f({
      action: 'right',
      legend: t('rights.action.setRight'),
      body: ui.selectField({
        t,
        name: 'right',
        label: t('rights.queue.right'),
        options: rightKinds.map((r) => ({ value: r, label: t(`rights.right.${r}`) })),
      }),
      button: t('rights.action.setRight'),
    });
  }
  if (d.status === 'received' && d.channel === 'email') {
    f({
      action: 'send-confirmation',
      legend: t('rights.action.sendConfirmation'),
      button: t('rights.action.sendConfirmation'),
    });
  }
  if (!verified || d.verificationMethod === 'email_link') {
    f({
      action: 'verify',
      legend: t('rights.action.verify'),
      body: ui.textField({
        t,
        name: 'note',
        label: t('rights.detail.identityNote'),
        hint: t('rights.action.verifyHint'),
        errors: o.errors,
        multiline: true,
      }),
      button: t('rights.action.verify'),
    });
  }
  if (verified && d.subjectId === null) {
    f({
      action: 'link',
      legend: t('rights.action.link'),
      body: html`${ui.textField({ t, name: 'email', type: 'email', label: t('rights.detail.email'), hint: t('rights.action.linkHint'), errors: o.errors })}
${ui.textField({ t, name: 'phone', type: 'tel', label: t('rights.detail.phone'), errors: o.errors })}`,
      button: t('rights.action.link'),
    });
  }
  if (verified && !d.paused) {
    f({
      action: 'pause',
      legend: t('rights.action.pause'),
      body: html`${ui.selectField({
        t,
        name: 'reason',
        label: t('rights.action.pauseReason'),
        options: pauseReasons.map((r) => ({ value: r, label: t(`rights.pause.${r}`) })),
      })}
${ui.textField({ t, name: 'message', label: t('rights.action.pauseMessage'), errors: o.errors, multiline: true })}`,
      button: t('rights.action.pause'),
    });
  }
  if (verified && d.paused)
    f({ action: 'resume', legend: t('rights.action.resume'), button: t('rights.action.resume') });
  if (verified && d.extendedMonths < 2) {
    f({
      action: 'extend',
      legend: t('rights.action.extend'),
      body: html`${ui.selectField({
        t,
        name: 'months',
        label: t('rights.action.extendMonths'),
        options: [1, 2]
          .filter((m) => d.extendedMonths + m <= 2)
          .map((m) => ({ value: String(m), label: String(m) })),
      })}
${ui.textField({ t, name: 'reason', label: t('rights.action.extendReason'), errors: o.errors, multiline: true })}`,
      button: t('rights.action.extend'),
    });
  }
  if (d.status === 'verified')
    f({ action: 'start', legend: t('rights.action.start'), button: t('rights.action.start') });
}

/** The forms that answer the request: export, erasure, consent, completion and refusal. */
function answerForms(t: Translate, d: RequestDetail, o: DetailOptions, f: AddForm, verified: boolean): void {
  if (verified && d.subjectId !== null && (d.right === 'access' || d.right === 'portability')) {
    f({
      action: 'export',
      legend: t('rights.action.export'),
      body: html`<p class="hint">${t('rights.action.exportHint')}</p>`,
      button: t('rights.action.export'),
    });
  }
  if (verified && d.subjectId !== null && d.right === 'erasure') {
    f({
      action: 'erase',
      legend: t('rights.action.erase'),
      body: html`<p class="hint">${t('rights.action.eraseHint')}</p>
<div class="checkbox"><input type="checkbox" id="f-confirm" name="confirm" value="yes"><label for="f-confirm">${t('rights.action.eraseConfirm')}</label></div>`,
      button: t('rights.action.erase'),
      danger: true,
    });
  }
  if (verified && d.subjectId !== null && (d.right === 'withdraw_consent' || d.right === 'objection')) {
    f({
      action: 'consent',
      legend: t(d.right === 'objection' ? 'rights.action.object' : 'rights.action.withdraw'),
      body: ui.selectField({
        t,
        name: 'purpose',
        label: t('rights.action.consentPurpose'),
        options: consentPurposeOptions(t, d.right),
      }),
      button: t(d.right === 'objection' ? 'rights.action.object' : 'rights.action.withdraw'),
    });
  }
  if (verified) {
    f({
      action: 'complete',
      legend: t('rights.action.complete'),
      body: html`${ui.selectField({
        t,
        name: 'outcome',
        label: t('rights.action.outcome'),
        options: requestOutcomes
          .filter((x) => x !== 'refused')
          .map((x) => ({ value: x, label: t(`rights.outcome.${x}`) })),
      })}
${ui.textField({ t, name: 'reasons', label: t('rights.action.reasons'), errors: o.errors, multiline: true })}`,
      button: t('rights.action.complete'),
    });
  }
  f({
    action: 'refuse',
    legend: t('rights.action.refuse'),
    body: ui.textField({
      t,
      name: 'reasons',
      label: t('rights.action.refuseReason'),
      errors: o.errors,
      multiline: true,
    }),
    button: t('rights.action.refuse'),
    danger: true,
  });
}

export function detailPage(t: Translate, d: RequestDetail, o: DetailOptions): SafeHtml {
  const open = d.status === 'received' || d.status === 'verified' || d.status === 'in_progress';
  const verified = d.verificationMethod !== null;
  const row = (label: string, value: HtmlValue) =>
    html`<tr><th scope="row">${label}</th><td>${value}</td></tr>`;
  const forms: SafeHtml[] = [];
  const f: AddForm = (x) => forms.push(actionForm({ ...x, id: d.id, csrf: o.csrf }));
  if (open) {
    requestForms(t, d, o, f, verified);
    answerForms(t, d, o, f, verified);
  }

  return html`<p><a href="/staff/rights">← ${t('rights.queue.title')}</a></p>
<h1>${t('rights.detail.title')}: ${rightLabel(t, d.right)}</h1>
${o.flash === undefined ? '' : html`<div class="notice" role="status"><p>${t(o.flash)}</p></div>`}
${o.problem === undefined ? '' : html`<div class="error-summary" role="alert" tabindex="-1"><p>${t(o.problem)}</p></div>`}
${ui.errorSummary(t, o.errors, { note: t('rights.detail.identityNote'), message: t('rights.action.pauseMessage'), reason: t('rights.action.extendReason'), months: t('rights.action.extendMonths'), reasons: t('rights.action.reasons'), email: t('rights.detail.email'), confirm: t('rights.action.eraseConfirm') })}
<table>
${row(t('rights.queue.state'), html`${stateLabel(t, d.status)}${d.paused ? html` — ${t('rights.queue.pausedShort')} (${t(`rights.pause.${d.pauseReason ?? 'identity'}`)})` : ''}`)}
${row(t('rights.queue.channel'), t(`rights.channel.${d.channel}`))}
${row(t('rights.queue.received'), ui.timeTag(o.locale, d.receivedAt, ''))}
${open ? row(t('rights.queue.due'), html`${ui.formatDate(o.locale, d.dueOn, 'long')} (${d.daysLeft < 0 ? html`<strong class="status-bad">${t('rights.queue.overdue')}</strong>` : d.daysLeft})`) : ''}
${d.extendedMonths > 0 ? row(t('rights.status.extended', { months: d.extendedMonths }), d.extensionReason ?? '') : ''}
${row(t('rights.detail.email'), d.email ?? '—')}
${d.phone === null ? '' : row(t('rights.detail.phone'), d.phone)}
${d.details === null ? '' : row(t('rights.detail.details'), html`<span class="pre">${d.details}</span>`)}
${row(t('rights.detail.verification'), d.verificationMethod === null ? html`<strong>${t('rights.detail.unverified')}</strong>` : html`${t(`rights.detail.verification.${d.verificationMethod}`)}${d.identityNote === null ? '' : html`<br><span class="pre">${d.identityNote}</span>`}`)}
${verified ? row(t('rights.detail.subject'), d.subjectId === null ? t('rights.detail.subjectNone') : html`${t('rights.detail.subjectMatched')} <span class="mono">${d.subjectId}</span>`) : ''}
${d.conversationId === null ? '' : row(t('rights.detail.conversation'), html`<a href="/staff/conversations/${d.conversationId}">${t('rights.detail.conversationOpen')}</a>`)}
${d.outcome === null ? '' : row(t('rights.status.outcome'), html`${t(`rights.outcome.${d.outcome}`)}${d.outcomeReason === null ? '' : html`<br><span class="pre">${d.outcomeReason}</span>`}`)}
</table>
${forms.length === 0 ? '' : html`<h2>${t('rights.detail.actions')}</h2>${forms}`}
<h2>${t('rights.detail.timeline')}</h2>
<ol class="timeline">${d.events.map((e) => html`<li>${ui.timeTag(o.locale, e.at, '')} ${t(`rights.event.${e.kind}`)} <span class="hint">${e.actorRef}</span></li>`)}</ol>`;
}

/** Withdrawal: the consent purposes; objection: the purposes based on legitimate interest (Art. 21). */
function consentPurposeOptions(
  t: Translate,
  right: 'withdraw_consent' | 'objection',
): { value: string; label: string }[] {
  if (right === 'withdraw_consent')
    return consentPurposes.map((p) => ({ value: p, label: t(`rights.consent.purpose.${p}`) }));
  return objectionPurposes().map((p) => ({ value: p, label: t(`register.purpose.${p}`) }));
}
