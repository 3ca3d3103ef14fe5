/** The staff health page: system facts, queue depth, failed jobs with a retry button, schedules. */
import type { DialectName } from '../../db/database.js';
import { csrfField } from '../../shared/html/forms.js';
import { html, type SafeHtml } from '../../shared/html/html.js';
import { formatTime, timeTag } from '../../shared/html/time.js';
import type { Locale, Translate } from '../../shared/i18n/messages.js';
import type { JobsHealth } from './jobs-queue.js';
import { type JobStatus, jobStatuses } from './jobs-schema.js';

export interface HealthViewModel {
  readonly t: Translate;
  readonly locale: Locale;
  readonly health: JobsHealth;
  readonly stalled: boolean;
  readonly dialect: DialectName;
  readonly version: string;
  readonly environment: string;
  readonly csrfToken: string;
  readonly retried: boolean;
}

function depthTable(m: HealthViewModel): SafeHtml {
  const { t } = m;
  if (m.health.depth.length === 0) return html`<p>${t('jobs.health.queueEmpty')}</p>`;
  const types = [...new Set(m.health.depth.map((d) => d.type))];
  const count = (type: string, status: JobStatus) =>
    m.health.depth.find((d) => d.type === type && d.status === status)?.count ?? 0;
  return html`<table>
  <caption class="visually-hidden">${t('jobs.health.queue')}</caption>
  <thead><tr><th scope="col">${t('jobs.health.type')}</th>${jobStatuses.map(
    (s) => html`<th scope="col">${t(`jobs.health.status.${s}`)}</th>`,
  )}</tr></thead>
  <tbody>${types.map(
    (type) =>
      html`<tr><th scope="row" class="mono">${type}</th>${jobStatuses.map(
        (s) =>
          html`<td${s === 'failed' && count(type, s) > 0 ? html` class="status-bad"` : ''}>${count(type, s)}</td>`,
      )}</tr>`,
  )}</tbody>
</table>`;
}

function failedTable(m: HealthViewModel): SafeHtml {
  const { t } = m;
  if (m.health.failed.length === 0) return html`<p class="status-ok">${t('jobs.health.noFailed')}</p>`;
  return html`<table>
  <caption class="visually-hidden">${t('jobs.health.failed')}</caption>
  <thead><tr>
    <th scope="col">${t('jobs.health.time')}</th>
    <th scope="col">${t('jobs.health.type')}</th>
    <th scope="col">${t('jobs.health.attempts')}</th>
    <th scope="col">${t('jobs.health.lastError')}</th>
    <th scope="col">${t('jobs.health.action')}</th>
  </tr></thead>
  <tbody>${m.health.failed.map(
    (job) => html`<tr>
    <td>${timeTag(m.locale, job.updated_at, t('jobs.health.never'))}</td>
    <td class="mono">${job.type}</td>
    <td>${job.attempts} / ${job.max_attempts}</td>
    <td class="mono">${job.last_error ?? ''}</td>
    <td><form method="post" action="/staff/health/jobs/${job.id}/retry" class="inline-form">${csrfField(m.csrfToken)}<button type="submit" class="secondary" aria-label="${t('jobs.health.retryLabel', { id: job.id })}">${t('jobs.health.retry')}</button></form></td>
  </tr>`,
  )}</tbody>
</table>`;
}

function schedulesTable(m: HealthViewModel): SafeHtml {
  const { t } = m;
  if (m.health.schedules.length === 0) return html`<p>${t('jobs.health.noSchedules')}</p>`;
  return html`<table>
  <caption class="visually-hidden">${t('jobs.health.schedules')}</caption>
  <thead><tr>
    <th scope="col">${t('jobs.health.name')}</th>
    <th scope="col">${t('jobs.health.type')}</th>
    <th scope="col">${t('jobs.health.cadence')}</th>
    <th scope="col">${t('jobs.health.nextRun')}</th>
    <th scope="col">${t('jobs.health.lastRun')}</th>
  </tr></thead>
  <tbody>${m.health.schedules.map(
    (s) => html`<tr>
    <td class="mono">${s.name}</td>
    <td class="mono">${s.type}</td>
    <td>${
      s.every_seconds !== null
        ? t('jobs.health.everySeconds', { seconds: s.every_seconds })
        : t('jobs.health.dailyAt', { time: s.daily_at ?? '' })
    }</td>
    <td>${timeTag(m.locale, s.next_run_at, t('jobs.health.never'))}</td>
    <td>${timeTag(m.locale, s.last_run_at, t('jobs.health.never'))}</td>
  </tr>`,
  )}</tbody>
</table>`;
}

export function healthPage(m: HealthViewModel): SafeHtml {
  const { t } = m;
  return html`<h1>${t('jobs.health.title')}</h1>
${m.retried ? html`<p class="notice" role="status">${t('jobs.health.retried')}</p>` : ''}
<section aria-labelledby="h-system">
  <h2 id="h-system">${t('jobs.health.system')}</h2>
  <dl>
    <dt>${t('jobs.health.version')}</dt><dd class="mono">${m.version} (${m.environment})</dd>
    <dt>${t('jobs.health.database')}</dt><dd>${t(`jobs.health.dialect.${m.dialect}`)}</dd>
  </dl>
</section>
<section aria-labelledby="h-queue">
  <h2 id="h-queue">${t('jobs.health.queue')}</h2>
  ${
    m.stalled
      ? html`<p class="status-bad" role="alert">${t('jobs.health.stalled', {
          time:
            m.health.oldestDueQueuedAt === undefined ? '' : formatTime(m.locale, m.health.oldestDueQueuedAt),
        })}</p>`
      : html`<p class="status-ok">${t('jobs.health.queueOk')}</p>`
  }
  ${depthTable(m)}
</section>
<section aria-labelledby="h-failed">
  <h2 id="h-failed">${t('jobs.health.failed')}</h2>
  ${failedTable(m)}
</section>
<section aria-labelledby="h-schedules">
  <h2 id="h-schedules">${t('jobs.health.schedules')}</h2>
  ${schedulesTable(m)}
</section>`;
}
