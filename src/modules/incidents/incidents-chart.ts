/**
 * The timeline of an incident as a server-rendered SVG: a time axis from awareness to the later
 * of now and the 72-hour limit, the limit as a red line, each step as a marker, and the same
 * steps as a list (the text alternative). No script and no inline style (strict CSP): colours are
 * SVG presentation attributes.
 */
import { HOUR } from '../../shared/clock.js';
import { html, type SafeHtml } from '../../shared/html/html.js';
import { formatTime } from '../../shared/i18n/dates.js';
import type { Locale, Translate } from '../../shared/i18n/messages.js';
import { NOTIFY_WITHIN_HOURS } from './incidents-clock.js';
import type { IncidentEvent } from './incidents-repository.js';

const W = 760;
const H = 150;
const LEFT = 24;
const RIGHT = 24;
const AXIS_Y = 90;

/** Okabe–Ito colours per kind of step. */
function colourOf(kind: IncidentEvent['kind']): string {
  if (kind.startsWith('reminder')) return '#E69F00';
  if (kind.startsWith('authority')) return '#009E73';
  if (kind === 'tenants_notified' || kind.startsWith('subject')) return '#0072B2';
  if (kind === 'opened') return '#D55E00';
  return '#555555';
}

export function timelineChart(
  t: Translate,
  o: { awareAt: string; now: Date; events: readonly IncidentEvent[]; locale: Locale },
): SafeHtml {
  const start = Date.parse(o.awareAt);
  const limit = start + NOTIFY_WITHIN_HOURS * HOUR;
  const last = Math.max(limit, o.now.getTime(), ...o.events.map((e) => Date.parse(e.at))) + 2 * HOUR;
  const span = Math.max(HOUR, last - start);
  const x = (ms: number) => LEFT + ((Math.max(start, ms) - start) / span) * (W - LEFT - RIGHT);
  const hours = Math.ceil(span / HOUR);
  const step = hours <= 96 ? 12 : hours <= 240 ? 24 : 24 * Math.ceil(hours / 240);
  const ticks: number[] = [];
  for (let h = 0; h <= hours; h += step) ticks.push(h);
  return html`<svg class="data-map-svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-labelledby="timeline-title timeline-desc" focusable="false">
<title id="timeline-title">${t('incidents.chart.title')}</title>
<desc id="timeline-desc">${t('incidents.chart.desc')}</desc>
<line x1="${LEFT}" x2="${W - RIGHT}" y1="${AXIS_Y}" y2="${AXIS_Y}" stroke="#333" stroke-width="1"/>
${ticks.map(
  (
    h,
  ) => html`<line x1="${x(start + h * HOUR).toFixed(1)}" x2="${x(start + h * HOUR).toFixed(1)}" y1="${AXIS_Y}" y2="${AXIS_Y + 5}" stroke="#333"/>
<text x="${x(start + h * HOUR).toFixed(1)}" y="${AXIS_Y + 18}" text-anchor="middle" font-size="11" fill="#333">${h}h</text>`,
)}
<line class="incident-deadline" x1="${x(limit).toFixed(1)}" x2="${x(limit).toFixed(1)}" y1="20" y2="${AXIS_Y + 5}" stroke="#B00020" stroke-width="2" stroke-dasharray="4 3"/>
<text x="${x(limit).toFixed(1)}" y="14" text-anchor="middle" font-size="11" fill="#B00020">${t('incidents.chart.deadline')}</text>
<line x1="${x(o.now.getTime()).toFixed(1)}" x2="${x(o.now.getTime()).toFixed(1)}" y1="40" y2="${AXIS_Y}" stroke="#777" stroke-width="1"/>
${o.events.map(
  (e, i) =>
    html`<circle class="incident-step" cx="${x(Date.parse(e.at)).toFixed(1)}" cy="${AXIS_Y - 12 - (i % 3) * 12}" r="5" fill="${colourOf(e.kind)}"><title>${t(`incidents.event.${e.kind}`)} (${formatTime(o.locale, e.at)})</title></circle>`,
)}
</svg>`;
}
