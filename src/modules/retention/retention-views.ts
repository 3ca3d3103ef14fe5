/** The retention pages (P6): policies, forecast, dry run, legal holds, recent sweeps. */
import { type HtmlValue, html, type SafeHtml } from '../../shared/html/html.js';
import * as ui from '../../shared/html/index.js';
import type { Locale, MessageKey, Translate } from '../../shared/i18n/messages.js';
import { categoryLabel, forecastChart, forecastTable } from './retention-chart.js';
import type { RetentionRunResult, RunCounts } from './retention-engine.js';
import { type EffectivePolicy, managedPolicyIds } from './retention-policies.js';
import { findTarget } from './retention-registry.js';
import type { LegalHold, RetentionRun } from './retention-repository.js';
import { holdReasons } from './retention-schema.js';
import type { RetentionOverview } from './retention-service.js';
import type { RetentionTarget } from './retention-target.js';

/** The hold form as typed (shown again after a refusal). */
export type HoldFormValues = Readonly<
  Partial<Record<'target' | 'id' | 'reason' | 'reference' | 'until', string>>
>;

export interface OverviewPageOptions {
  readonly overview: RetentionOverview;
  readonly csrfToken: string | undefined;
  readonly flash?: MessageKey | undefined;
  /** A refused policy change: which policy, the problems and the value typed. */
  readonly policyError?: {
    readonly policyId: string;
    readonly errors: ui.FieldErrors;
    readonly value: string;
  };
  readonly holdErrors?: ui.FieldErrors | undefined;
  readonly holdValues?: HoldFormValues;
  /** The tables a hold can name (from the providers). */
  readonly holdTargets: readonly string[];
  readonly accessLog: { readonly truncateDays: number; readonly deleteDays: number };
  readonly locale: Locale;
}

/** A moment in a sentence (Amsterdam time, the page's language). */
const when = (locale: Locale, iso: string | null) => (iso === null ? '' : ui.formatTime(locale, iso));

function period(t: Translate, p: Pick<EffectivePolicy, 'unit'>, n: number): string {
  return t(p.unit === 'months' ? 'retention.unit.months' : 'retention.unit.days', { n });
}

function policyRow(t: Translate, p: EffectivePolicy, o: OverviewPageOptions): SafeHtml {
  const label = t(`retention.policy.${p.id}` as MessageKey);
  const hint =
    p.id === 'access_log'
      ? t('retention.policyHint.access_log', {
          truncateDays: o.accessLog.truncateDays,
          deleteDays: o.accessLog.deleteDays,
        })
      : t(`retention.policyHint.${p.id}` as MessageKey);
  const error = o.policyError?.policyId === p.id ? o.policyError : undefined;
  const fieldId = `f-value-${p.id}`;
  const errorKey = error?.errors[`value-${p.id}`];
  const form =
    o.overview.canEdit && !p.configured
      ? html`<form method="post" action="/staff/retention/policies/${p.id}" class="action-form" novalidate>
  ${ui.csrfField(o.csrfToken)}
  <div class="field${errorKey ? ' field--error' : ''}">
    <label for="${fieldId}">${t('retention.policy.value', { unit: t(p.unit === 'months' ? 'retention.policy.unit.months' : 'retention.policy.unit.days') })}<span class="visually-hidden"> (${label})</span></label>
    ${errorKey ? html`<p class="field-error" id="${fieldId}-error"><span class="visually-hidden">${t('error.summaryTitle')}:</span> ${t(errorKey)}</p>` : ''}
    <input type="number" id="${fieldId}" name="value" inputmode="numeric" min="${p.legalMin}" max="${p.legalMax}" value="${error?.value ?? String(p.value)}"${errorKey ? html` aria-invalid="true" aria-describedby="${fieldId}-error"` : ''}>
  </div>
  <button type="submit">${t('retention.policy.save')}</button>
</form>`
      : '';
  return html`<tr>
  <th scope="row">${label}</th>
  <td>${t(`retention.trigger.${p.trigger}` as MessageKey)}<p class="hint">${hint}</p></td>
  <td>${period(t, p, p.value)}<br><span class="hint">${p.customised ? t('retention.policies.changed', { at: when(o.locale, p.updatedAt) }) : t('retention.policies.default')}</span></td>
  <td>${t(`retention.action.${p.action}` as MessageKey)}</td>
  <td>${t('retention.bounds', { min: period(t, p, p.legalMin), max: period(t, p, p.legalMax) })}</td>
  ${o.overview.canEdit ? html`<td>${form}</td>` : ''}
</tr>`;
}

function holdWhat(t: Translate, h: LegalHold): string {
  if (h.subject_id !== null) return t('retention.holds.subject', { id: h.subject_id });
  return t('retention.holds.record', {
    table: t(`retention.holds.target.${h.record_table ?? 'relations'}` as MessageKey),
    id: h.record_id ?? '',
  });
}

function holdStatus(t: Translate, h: LegalHold, now: string, locale: Locale): string {
  if (h.released_at !== null)
    return t('retention.holds.status.released', { at: when(locale, h.released_at) });
  if (h.held_until !== null && h.held_until <= now) return t('retention.holds.status.expired');
  return t('retention.holds.status.active');
}

function holdsSection(t: Translate, o: OverviewPageOptions, now: string): SafeHtml {
  const { holds, canEdit } = o.overview;
  const v = o.holdValues ?? {};
  const labels = {
    target: t('retention.holds.field.target'),
    id: t('retention.holds.field.targetId'),
    reason: t('retention.holds.field.reason'),
    reference: t('retention.holds.field.reference'),
    until: t('retention.holds.field.until'),
  };
  const list =
    holds.length === 0
      ? html`<p>${t('retention.holds.none')}</p>`
      : html`<div class="table-scroll"><table>
<thead><tr>
  <th scope="col">${t('retention.holds.col.what')}</th>
  <th scope="col">${t('retention.holds.col.reason')}</th>
  <th scope="col">${t('retention.holds.col.reference')}</th>
  <th scope="col">${t('retention.holds.col.since')}</th>
  <th scope="col">${t('retention.holds.col.until')}</th>
  <th scope="col">${t('retention.holds.col.status')}</th>
  ${canEdit ? html`<th scope="col"><span class="visually-hidden">${t('retention.holds.release')}</span></th>` : ''}
</tr></thead>
<tbody>${holds.map((h) => {
          const active = h.released_at === null && (h.held_until === null || h.held_until > now);
          return html`<tr>
  <td class="mono">${holdWhat(t, h)}</td>
  <td>${t(`retention.holds.reason.${h.reason}` as MessageKey)}</td>
  <td>${h.reference ?? ''}</td>
  <td>${ui.timeTag(o.locale, h.created_at, '')}</td>
  <td>${h.held_until === null ? t('retention.holds.untilReleased') : ui.formatDate(o.locale, h.held_until.slice(0, 10))}</td>
  <td>${holdStatus(t, h, now, o.locale)}</td>
  ${
    canEdit
      ? html`<td>${
          active
            ? html`<form method="post" action="/staff/retention/holds/${h.id}/release" class="inline-form">${ui.csrfField(o.csrfToken)}<button type="submit" class="secondary" aria-label="${t('retention.holds.releaseLabel', { id: h.id })}">${t('retention.holds.release')}</button></form>`
            : ''
        }</td>`
      : ''
  }
</tr>`;
        })}</tbody></table></div>`;
  const form = canEdit
    ? html`<h3 id="add-hold">${t('retention.holds.add')}</h3>
${ui.errorSummary(t, o.holdErrors, labels)}
<form method="post" action="/staff/retention/holds" novalidate>
  ${ui.csrfField(o.csrfToken)}
  ${ui.selectField({
    t,
    name: 'target',
    label: labels.target,
    value: v.target,
    errors: o.holdErrors,
    options: o.holdTargets.map((h) => ({ value: h, label: t(`retention.holds.target.${h}` as MessageKey) })),
  })}
  ${ui.textField({ t, name: 'id', label: labels.id, hint: t('retention.holds.field.targetIdHint'), value: v.id, errors: o.holdErrors, required: true })}
  ${ui.selectField({
    t,
    name: 'reason',
    label: labels.reason,
    value: v.reason,
    errors: o.holdErrors,
    options: holdReasons.map((r) => ({ value: r, label: t(`retention.holds.reason.${r}` as MessageKey) })),
  })}
  ${ui.textField({ t, name: 'reference', label: labels.reference, hint: t('retention.holds.field.referenceHint'), value: v.reference, errors: o.holdErrors })}
  ${ui.textField({ t, name: 'until', type: 'date', label: labels.until, hint: t('retention.holds.field.untilHint'), value: v.until, errors: o.holdErrors })}
  <button type="submit">${t('retention.holds.add')}</button>
</form>`
    : '';
  return html`<section aria-labelledby="holds">
<h2 id="holds">${t('retention.holds.title')}</h2>
<p>${t('retention.holds.intro')}</p>
${list}
${form}
</section>`;
}

function totals(counts: RunCounts): { applied: number; held: number } {
  let applied = 0;
  let held = 0;
  for (const byCategory of Object.values(counts)) {
    for (const c of Object.values(byCategory)) {
      applied += c.applied + c.anonymised;
      held += c.held;
    }
  }
  return { applied, held };
}

function runsSection(t: Translate, runs: readonly RetentionRun[], orgId: string, locale: Locale): SafeHtml {
  const rows = runs.map((r) => {
    let counts: RunCounts = {};
    try {
      counts = r.report === null ? {} : (JSON.parse(r.report) as RunCounts);
    } catch {
      counts = {};
    }
    // A tenant sees its own figures; the installation-wide step is the operator's.
    const own: RunCounts = counts[orgId] === undefined ? {} : { [orgId]: counts[orgId] };
    const sum = totals(own);
    return html`<tr>
  <td>${ui.timeTag(locale, r.started_at, '')}</td>
  <td>${r.status === 'done' ? t('retention.runs.status.done', { at: when(locale, r.finished_at) }) : t('retention.runs.status.running')}</td>
  <td>${sum.applied}</td>
  <td>${sum.held}</td>
</tr>`;
  });
  return html`<section aria-labelledby="runs">
<h2 id="runs">${t('retention.runs.title')}</h2>
${
  runs.length === 0
    ? html`<p>${t('retention.runs.none')}</p>`
    : html`<table><thead><tr>
  <th scope="col">${t('retention.runs.col.started')}</th>
  <th scope="col">${t('retention.runs.col.status')}</th>
  <th scope="col">${t('retention.runs.col.applied')}</th>
  <th scope="col">${t('retention.runs.col.held')}</th>
</tr></thead><tbody>${rows}</tbody></table>`
}
</section>`;
}

export function retentionPage(
  t: Translate,
  o: OverviewPageOptions & { orgId: string; now: string },
): SafeHtml {
  const { overview } = o;
  const policyLabels: Record<string, string> = {};
  for (const id of managedPolicyIds) policyLabels[`value-${id}`] = t(`retention.policy.${id}` as MessageKey);
  return html`<h1>${t('retention.title')}</h1>
<p>${t('retention.intro')}</p>
${o.flash === undefined ? '' : html`<div class="notice" role="status"><p>${t(o.flash)}</p></div>`}
${o.policyError === undefined ? '' : ui.errorSummary(t, o.policyError.errors, policyLabels)}
<section aria-labelledby="policies">
<h2 id="policies">${t('retention.policies.title')}</h2>
<p>${t('retention.policies.intro')}</p>
${overview.canEdit ? '' : html`<p class="hint">${t('retention.policies.readOnly')}</p>`}
<div class="table-scroll"><table>
<thead><tr>
  <th scope="col">${t('retention.policies.col.category')}</th>
  <th scope="col">${t('retention.policies.col.trigger')}</th>
  <th scope="col">${t('retention.policies.col.period')}</th>
  <th scope="col">${t('retention.policies.col.action')}</th>
  <th scope="col">${t('retention.policies.col.bounds')}</th>
  ${overview.canEdit ? html`<th scope="col">${t('retention.policies.col.change')}</th>` : ''}
</tr></thead>
<tbody>${managedPolicyIds.map((id) => policyRow(t, overview.policies[id], o))}</tbody>
</table></div>
</section>
<section aria-labelledby="forecast">
<h2 id="forecast">${t('retention.forecast.title')}</h2>
<p>${t('retention.forecast.intro')}</p>
${
  overview.forecast.series.length === 0
    ? html`<p>${t('retention.forecast.none')}</p>`
    : html`<div class="data-map">${forecastChart(t, overview.forecast)}</div>${forecastTable(t, overview.forecast)}`
}
</section>
<section aria-labelledby="dry-run">
<h2 id="dry-run">${t('retention.dryRun.title')}</h2>
<p>${t('retention.dryRun.intro')}</p>
<p><a class="button" href="/staff/retention/dry-run">${t('retention.dryRun.link')}</a></p>
</section>
${holdsSection(t, o, o.now)}
${runsSection(t, overview.runs, o.orgId, o.locale)}`;
}

export function dryRunPage(
  t: Translate,
  result: RetentionRunResult,
  targets: readonly RetentionTarget[],
  locale: Locale,
): SafeHtml {
  const rows: HtmlValue[] = [];
  for (const byCategory of Object.values(result.counts)) {
    for (const [category, c] of Object.entries(byCategory)) {
      const target = findTarget(category, targets);
      const action = target === undefined ? 'delete' : target.action;
      rows.push(html`<tr>
  <th scope="row">${categoryLabel(t, category)}</th>
  <td>${t(`retention.action.${action}` as MessageKey)}</td>
  <td>${c.applied}</td>
  <td>${c.anonymised}</td>
  <td>${c.held}</td>
</tr>`);
    }
  }
  return html`<h1>${t('retention.dryRun.title')}</h1>
<p>${t('retention.dryRun.intro')} ${t('retention.dryRun.asOf', { at: when(locale, result.asOf) })}</p>
<div class="table-scroll"><table>
<thead><tr>
  <th scope="col">${t('retention.dryRun.col.category')}</th>
  <th scope="col">${t('retention.dryRun.col.action')}</th>
  <th scope="col">${t('retention.dryRun.col.count')}</th>
  <th scope="col">${t('retention.dryRun.col.anonymised')}</th>
  <th scope="col">${t('retention.dryRun.col.held')}</th>
</tr></thead>
<tbody>${rows}</tbody>
</table></div>
<p class="hint">${t('retention.dryRun.subjectsNote')}</p>
<p><a href="/staff/retention">${t('retention.dryRun.back')}</a></p>`;
}
