/**
 * Pages of the breach register: the register with the 72-hour clock, the form to record an
 * incident, the incident page (facts, clock, assessment, decision, notifications, timeline) and
 * the printable notification to the authority. Everything goes through the escaping `html` tag.
 */
import { type HtmlValue, html, type SafeHtml } from '../../shared/html/html.js';
import * as ui from '../../shared/html/index.js';
import type { Locale, MessageKey, Translate } from '../../shared/i18n/messages.js';
import { timelineChart } from './incidents-chart.js';
import { clockOf } from './incidents-clock.js';
import type { AuthorityNotice } from './incidents-documents.js';
import type { IncidentDetail } from './incidents-register.js';
import type { IncidentRow } from './incidents-repository.js';
import { notifyDecisions, riskLevels } from './incidents-schema.js';

export type Values = Readonly<Record<string, string>>;

export function titleOf(t: Translate, row: Pick<IncidentRow, 'source' | 'signal' | 'title'>): string {
  return row.source === 'signal' && row.signal !== null ? t(`incidents.signal.${row.signal}`) : row.title;
}

function riskLabel(t: Translate, risk: IncidentRow['risk']): string {
  return risk === null ? t('incidents.risk.unassessed') : t(`incidents.risk.${risk}`);
}

/** The clock as one phrase: hours left, hours over, filed or not notified. */
export function clockLabel(t: Translate, row: IncidentRow, now: Date): string {
  if (row.authority_filed_at !== null) return t('incidents.clock.filed');
  if (row.notify_decision === 'not_notify') return t('incidents.clock.notRequired');
  const c = clockOf(row.aware_at, now);
  return c.overdue
    ? t('incidents.clock.overdue', { hours: -c.hoursLeft })
    : t('incidents.clock.left', { hours: c.hoursLeft });
}

export function registerTable(
  t: Translate,
  locale: Locale,
  rows: readonly IncidentRow[],
  now: Date,
): HtmlValue {
  if (rows.length === 0) return html`<p>${t('incidents.none')}</p>`;
  return html`<div class="table-scroll"><table class="incidents">
${ui.tableHead([t('incidents.col.title'), t('incidents.col.aware'), t('incidents.col.risk'), t('incidents.col.clock'), t('incidents.col.status'), t('incidents.col.source')])}
<tbody>${rows.map(
    (r) => html`<tr>
  <td><a href="/staff/incidents/${r.id}">${titleOf(t, r)}</a></td>
  <td>${ui.timeTag(locale, r.aware_at, '')}</td>
  <td>${riskLabel(t, r.risk)}</td>
  <td class="incident-clock">${r.status === 'open' ? clockLabel(t, r, now) : '—'}</td>
  <td>${t(`incidents.status.${r.status}`)}</td>
  <td>${t(`incidents.source.${r.source}`)}</td>
</tr>`,
  )}</tbody></table></div>`;
}

export function registerPage(
  t: Translate,
  locale: Locale,
  o: {
    rows: readonly IncidentRow[];
    now: Date;
    csrf: string;
    canManage: boolean;
    orgs: readonly { id: string; name: string }[] | undefined;
    values: Values;
    errors?: ui.FieldErrors | undefined;
  },
): SafeHtml {
  const v = o.values;
  return html`<h1>${t('incidents.title')}</h1>
<p>${t('incidents.intro')}</p>
${registerTable(t, locale, o.rows, o.now)}
<p><a href="/staff/incidents/export.csv" download>${t('incidents.export.csv')}</a> · <a href="/staff/incidents/export.json">${t('incidents.export.json')}</a></p>
${
  o.canManage
    ? html`<h2 id="new">${t('incidents.new.title')}</h2>
<form method="post" action="/staff/incidents" novalidate>
${ui.errorSummary(t, o.errors, { title: t('incidents.field.title'), nature: t('incidents.field.nature'), awareAt: t('incidents.field.awareAt'), windowFrom: t('incidents.field.windowFrom'), windowTo: t('incidents.field.windowTo') })}
${ui.csrfField(o.csrf)}
${ui.textField({ t, name: 'title', label: t('incidents.field.title'), value: v.title, errors: o.errors, required: true })}
${ui.textField({ t, name: 'nature', label: t('incidents.field.nature'), hint: t('incidents.field.nature.hint'), value: v.nature, errors: o.errors, multiline: true, required: true })}
${ui.textField({ t, name: 'awareAt', label: t('incidents.field.awareAt'), hint: t('incidents.field.awareAt.hint'), value: v.awareAt, errors: o.errors })}
${ui.textField({ t, name: 'windowFrom', label: t('incidents.field.windowFrom'), hint: t('incidents.field.window.hint'), value: v.windowFrom, errors: o.errors, required: true })}
${ui.textField({ t, name: 'windowTo', label: t('incidents.field.windowTo'), value: v.windowTo, errors: o.errors, required: true })}
${
  o.orgs === undefined
    ? null
    : html`<fieldset><legend>${t('incidents.field.affected')}</legend>${o.orgs.map(
        (org) =>
          html`<div class="checkbox"><input type="checkbox" id="f-affected-${org.id}" name="affected" value="${org.id}"><label for="f-affected-${org.id}">${org.name}</label></div>`,
      )}</fieldset>`
}
${ui.textField({ t, name: 'consequences', label: t('incidents.field.consequences'), value: v.consequences, errors: o.errors, multiline: true })}
${ui.textField({ t, name: 'measuresTaken', label: t('incidents.field.measuresTaken'), value: v.measuresTaken, errors: o.errors, multiline: true })}
<button type="submit">${t('incidents.new.submit')}</button>
</form>
<form method="post" action="/staff/incidents/key-lost">
${ui.csrfField(o.csrf)}
${ui.selectField({ t, name: 'what', label: t('incidents.signal.key_lost'), options: ['totp_device', 'api_key', 'backup_key', 'other'].map((w) => ({ value: w, label: w })) })}
<button type="submit" class="secondary">${t('incidents.signal.key_lost')}</button>
</form>`
    : null
}`;
}

function facts(t: Translate, locale: Locale, d: IncidentDetail): SafeHtml {
  const r = d.incident;
  return html`<h2>${t('incidents.detail.facts')}</h2>
<dl class="summary">
  <dt>${t('incidents.col.aware')}</dt><dd>${ui.timeTag(locale, r.aware_at, '')}</dd>
  <dt>${t('incidents.field.nature')}</dt><dd>${r.nature}</dd>
  <dt>${t('incidents.detail.window')}</dt><dd>${ui.timeTag(locale, r.window_from_at, '')} – ${ui.timeTag(locale, r.window_to_at, '')}</dd>
  <dt>${t('incidents.detail.categories')}</dt><dd>${d.categories.length === 0 ? '—' : d.categories.map((c) => t(`register.category.${c}` as MessageKey)).join(', ')}</dd>
  <dt>${t('incidents.detail.subjects')}</dt><dd class="incident-subjects">${r.subjects_approx}</dd>
  <dt>${t('incidents.detail.records')}</dt><dd class="incident-records">${r.records_approx}</dd>
  <dt>${t('incidents.field.consequences')}</dt><dd>${r.consequences || '—'}</dd>
  <dt>${t('incidents.field.measuresTaken')}</dt><dd>${r.measures_taken || '—'}</dd>
  <dt>${t('incidents.field.measuresProposed')}</dt><dd>${r.measures_proposed || '—'}</dd>
  <dt>${t('incidents.detail.affected')}</dt><dd>${
    d.affected.length === 0
      ? '—'
      : html`<ul>${d.affected.map(
          (a) =>
            html`<li>${a.name}: ${a.notified_at === null ? t('incidents.detail.notNotified') : t('incidents.detail.notified', { at: ui.formatTime(locale, a.notified_at) })}</li>`,
        )}</ul>`
  }</dd>
</dl>`;
}

function actionForm(o: {
  id: string;
  csrf: string;
  path: string;
  label: string;
  body?: HtmlValue;
  secondary?: boolean;
}): SafeHtml {
  return html`<form method="post" action="/staff/incidents/${o.id}/${o.path}" novalidate>
${ui.csrfField(o.csrf)}
${o.body ?? null}
<button type="submit"${o.secondary ? html` class="secondary"` : ''}>${o.label}</button>
</form>`;
}

function manageForms(
  t: Translate,
  d: IncidentDetail,
  csrf: string,
  values: Values,
  errors: ui.FieldErrors | undefined,
) {
  const r = d.incident;
  const id = r.id;
  return html`<h2>${t('incidents.detail.assessment')}</h2>
${ui.errorSummary(t, errors, { risk: t('incidents.field.risk'), decision: t('incidents.field.decision'), delayReasons: t('incidents.field.delayReasons'), followUp: t('incidents.field.followUp'), incident: t('incidents.col.title') })}
${actionForm({
  id,
  csrf,
  path: 'assess',
  label: t('incidents.action.assess'),
  body: html`${ui.selectField({ t, name: 'risk', label: t('incidents.field.risk'), options: riskLevels.map((l) => ({ value: l, label: t(`incidents.risk.${l}`) })), value: values.risk ?? r.risk ?? undefined, errors })}
${ui.textField({ t, name: 'reasons', label: t('incidents.field.reasons'), value: values.reasons ?? r.risk_reasons ?? '', errors, multiline: true, required: true })}`,
})}
${actionForm({
  id,
  csrf,
  path: 'decide',
  label: t('incidents.action.decide'),
  body: html`${ui.selectField({ t, name: 'decision', label: t('incidents.field.decision'), options: notifyDecisions.map((n) => ({ value: n, label: t(`incidents.decision.${n}`) })), value: values.decision ?? r.notify_decision ?? undefined, errors })}
${ui.textField({ t, name: 'decisionReasons', label: t('incidents.field.reasons'), value: values.decisionReasons ?? r.decision_reasons ?? '', errors, multiline: true, required: true })}`,
})}
${actionForm({
  id,
  csrf,
  path: 'details',
  label: t('incidents.action.save'),
  secondary: true,
  body: html`${ui.textField({ t, name: 'nature', label: t('incidents.field.nature'), value: r.nature, errors, multiline: true })}
${ui.textField({ t, name: 'consequences', label: t('incidents.field.consequences'), value: r.consequences, errors, multiline: true })}
${ui.textField({ t, name: 'measuresTaken', label: t('incidents.field.measuresTaken'), value: r.measures_taken, errors, multiline: true })}
${ui.textField({ t, name: 'measuresProposed', label: t('incidents.field.measuresProposed'), value: r.measures_proposed, errors, multiline: true })}`,
})}
${r.role === 'processor' ? actionForm({ id, csrf, path: 'notify-tenants', label: t('incidents.action.notifyTenants') }) : null}
<h2>${t('incidents.detail.authority')}</h2>
${actionForm({
  id,
  csrf,
  path: 'file',
  label: t('incidents.action.file'),
  body: html`${ui.textField({ t, name: 'channel', label: t('incidents.field.channel'), value: values.channel ?? 'Meldloket datalekken (AP)', errors, required: true })}
${ui.textField({ t, name: 'reference', label: t('incidents.field.reference'), value: values.reference, errors, required: true })}
${ui.textField({ t, name: 'delayReasons', label: t('incidents.field.delayReasons'), hint: t('incidents.field.delayReasons.hint'), value: values.delayReasons, errors, multiline: true })}`,
})}
${
  r.authority_filed_at === null
    ? null
    : actionForm({
        id,
        csrf,
        path: 'follow-up',
        label: t('incidents.action.followUp'),
        body: ui.textField({
          t,
          name: 'followUp',
          label: t('incidents.field.followUp'),
          value: values.followUp,
          errors,
          multiline: true,
          required: true,
        }),
      })
}
<h2>${t('incidents.detail.subjects.title')}</h2>
${r.risk === 'high' ? actionForm({ id, csrf, path: 'notify-subjects', label: t('incidents.action.notifySubjects') }) : html`<p>${t('incidents.problem.notHigh')}</p>`}
${actionForm({ id, csrf, path: 'close', label: t('incidents.action.close'), secondary: true })}`;
}

export function incidentPage(
  t: Translate,
  locale: Locale,
  o: {
    detail: IncidentDetail;
    now: Date;
    csrf: string;
    canManage: boolean;
    values: Values;
    errors?: ui.FieldErrors | undefined;
    done?: string | undefined;
  },
): SafeHtml {
  const d = o.detail;
  const r = d.incident;
  const open = r.status === 'open';
  return html`<p><a href="/staff/incidents">${t('incidents.title')}</a></p>
<h1>${titleOf(t, r)}</h1>
${ui.notice(o.done)}
<p>${t(`incidents.role.${r.role}`)} · ${t(`incidents.source.${r.source}`)} · ${t(`incidents.status.${r.status}`)}</p>
<div class="notice incident-clock" role="status"><p><strong>${clockLabel(t, r, o.now)}</strong> — ${t('incidents.clock.deadline', { deadline: '' })}${ui.timeTag(locale, d.clock.deadline, '')}</p></div>
${facts(t, locale, d)}
<p>${t('incidents.field.risk')}: <strong class="incident-risk">${riskLabel(t, r.risk)}</strong>${r.risk_reasons ? html` — ${r.risk_reasons}` : ''}</p>
<p>${t('incidents.field.decision')}: <strong>${r.notify_decision === null ? t('incidents.decision.none') : t(`incidents.decision.${r.notify_decision}`)}</strong>${
    r.decided_at === null
      ? ''
      : html` — ${t('incidents.detail.decidedBy', { who: d.decidedByName ?? '', at: ui.formatTime(locale, r.decided_at) })}`
  }</p>
<p>${
    r.authority_filed_at === null
      ? t('incidents.detail.notFiled')
      : t('incidents.detail.filed', {
          at: ui.formatTime(locale, r.authority_filed_at),
          channel: r.authority_channel ?? '',
          reference: r.authority_reference ?? '',
        })
  }</p>
<p><a href="/staff/incidents/${r.id}/authority">${t('incidents.detail.prepared')}</a> · <a href="/staff/incidents/${r.id}/authority.json">${t('incidents.detail.preparedJson')}</a></p>
<p class="incident-notices">${t('incidents.detail.subjects.counts', { ...d.notices })}</p>
${o.canManage && open ? manageForms(t, d, o.csrf, o.values, o.errors) : null}
<h2>${t('incidents.detail.timeline')}</h2>
${timelineChart(t, { awareAt: r.aware_at, now: o.now, events: d.events, locale })}
<ol class="incident-timeline">${d.events.map(
    (e) =>
      html`<li>${ui.timeTag(locale, e.at, '')}: ${t(`incidents.event.${e.kind}`)}${followUpText(e.meta)}</li>`,
  )}</ol>`;
}

function followUpText(meta: string): HtmlValue {
  try {
    const parsed = JSON.parse(meta) as { text?: unknown };
    return typeof parsed.text === 'string' ? html`<blockquote>${parsed.text}</blockquote>` : null;
  } catch {
    return null;
  }
}

/** The prepared notification as a printable page (Dutch, like the notification itself). */
export function authorityPage(n: AuthorityNotice): SafeHtml {
  const row = (label: string, value: HtmlValue) =>
    html`<dt>${label}</dt><dd>${value === '' || value === null ? '—' : value}</dd>`;
  return html`<article class="authority-notice" lang="nl">
<h1>Melding datalek aan de Autoriteit Persoonsgegevens</h1>
<p>Opgesteld op ${n.opgesteldOp}. Kenmerk ${n.incident.kenmerk}.</p>
<h2>1. Melder</h2>
<dl>${row('Organisatie', n.melder.organisatie)}${row('Rol', n.melder.rol)}${row('Contactpunt e-mail', n.melder.contactpunt.email)}${row('Telefoon', n.melder.contactpunt.telefoon)}${row('Adres', n.melder.contactpunt.adres)}</dl>
<h2>2. Aard van de inbreuk (art. 33 lid 3 onder a)</h2>
<dl>${row('Omschrijving', n.incident.omschrijving)}${row('Aard', n.incident.aard)}${row('Bron', n.incident.bron)}${row('Bekend sinds', n.incident.bekendSinds)}${row('Periode', `${n.incident.periode.van} – ${n.incident.periode.tot}`)}${row('Categorieën persoonsgegevens', n.omvang.categorieenPersoonsgegevens.join(', '))}${row('Betrokkenen (bij benadering)', n.omvang.betrokkenenBijBenadering)}${row('Records (bij benadering)', n.omvang.recordsBijBenadering)}${row('Getroffen organisaties', n.omvang.getroffenOrganisaties.join(', '))}</dl>
<h2>3. Waarschijnlijke gevolgen (onder c)</h2>
<p>${n.waarschijnlijkeGevolgen || '—'}</p>
<h2>4. Maatregelen (onder d)</h2>
<dl>${row('Genomen', n.maatregelen.genomen)}${row('Voorgesteld', n.maatregelen.voorgesteld)}</dl>
<h2>5. Risico en informeren van betrokkenen (art. 34)</h2>
<dl>${row('Risico', n.risico.niveau)}${row('Redenen', n.risico.redenen)}${row('E-mails verzonden', n.betrokkenenGeinformeerd.verzonden)}${row('E-mails mislukt', n.betrokkenenGeinformeerd.mislukt)}</dl>
<h2>6. Termijn (art. 33 lid 1)</h2>
<dl>${row('Uiterlijk', n.termijn.uiterlijk)}${row('Te laat', n.termijn.teLaat ? 'ja' : 'nee')}${row('Redenen voor de vertraging', n.termijn.redenenVertraging)}</dl>
<h2>7. Indiening en vervolgmeldingen (art. 33 lid 4)</h2>
<dl>${row('Ingediend op', n.indiening.op)}${row('Wijze', n.indiening.wijze)}${row('Kenmerk AP', n.indiening.kenmerk)}</dl>
<ol>${n.vervolgmeldingen.map((v) => html`<li>${v.op}: ${v.tekst}</li>`)}</ol>
</article>`;
}

export function panelBody(t: Translate, rows: readonly IncidentRow[], now: Date): SafeHtml {
  return html`<section class="panel incidents-panel" aria-labelledby="incidents-panel-title">
<h2 id="incidents-panel-title">${t('incidents.panel.title')}</h2>
${
  rows.length === 0
    ? html`<p>${t('incidents.panel.none')}</p>`
    : html`<ul>${rows.map((r) => html`<li><a href="/staff/incidents/${r.id}">${titleOf(t, r)}</a>: <span class="incident-clock">${clockLabel(t, r, now)}</span></li>`)}</ul>`
}
</section>`;
}
