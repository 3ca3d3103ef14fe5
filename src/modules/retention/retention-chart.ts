/**
 * The forecast as a server-rendered SVG (stacked bars per month, one colour per category) with
 * the same figures as a table: the text alternative for screen readers and for print. No script,
 * no inline style (strict CSP): colours are SVG presentation attributes.
 */
import { html, type SafeHtml } from '../../shared/html/html.js';
import type { MessageKey, Translate } from '../../shared/i18n/messages.js';
import type { Forecast } from './retention-forecast.js';

/** Okabe–Ito: distinguishable with the common colour-vision deficiencies. */
const palette = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#CC79A7',
  '#56B4E9',
  '#D55E00',
  '#8C7A00',
  '#000000',
  '#777777',
];

/** A category's colour: by its place among every category the engine runs, so it never changes. */
export function categoryColour(category: string, categories: readonly string[]): string {
  const index = categories.indexOf(category);
  return palette[(index < 0 ? categories.length : index) % palette.length] ?? '#777777';
}

export function categoryLabel(t: Translate, category: string): string {
  return t(`retention.category.${category}` as MessageKey);
}

/** A round axis maximum at or above `max` (1, 2, 5 × 10^n). */
export function niceMax(max: number): number {
  if (max <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= max) return step * magnitude;
  return 10 * magnitude;
}

const W = 760;
const H = 300;
const LEFT = 64;
const RIGHT = 12;
const TOP = 16;
const BOTTOM = 48;

export function forecastChart(t: Translate, forecast: Forecast): SafeHtml {
  const { months, series } = forecast;
  const totals = months.map((_, i) => series.reduce((n, s) => n + (s.counts[i] ?? 0), 0));
  const top = niceMax(Math.max(5, ...totals));
  const plotW = W - LEFT - RIGHT;
  const plotH = H - TOP - BOTTOM;
  const slot = plotW / Math.max(1, months.length);
  const barW = Math.max(2, slot * 0.7);
  const y = (value: number) => TOP + plotH - (value / top) * plotH;
  // top is 5, 10, 20, 50, ...: five whole steps.
  const ticks = [0, 1, 2, 3, 4, 5].map((i) => (top / 5) * i);

  const grid = ticks.map(
    (
      v,
    ) => html`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#d0d0d0" stroke-width="1"/>
<text x="${LEFT - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="11" fill="#333">${v}</text>`,
  );
  const bars = months.map((month, i) => {
    let base = 0;
    const x = LEFT + i * slot + (slot - barW) / 2;
    const segments = series.map((s) => {
      const n = s.counts[i] ?? 0;
      if (n === 0) return null;
      const y1 = y(base + n);
      const h = y(base) - y1;
      base += n;
      return html`<rect x="${x.toFixed(1)}" y="${y1.toFixed(1)}" width="${barW.toFixed(1)}" height="${Math.max(0.5, h).toFixed(1)}" fill="${categoryColour(s.category, forecast.categories)}"><title>${t('retention.forecast.bar', { month, count: n, category: categoryLabel(t, s.category) })}</title></rect>`;
    });
    const label =
      i % 3 === 0
        ? html`<text x="${(LEFT + i * slot + slot / 2).toFixed(1)}" y="${H - BOTTOM + 16}" text-anchor="middle" font-size="11" fill="#333">${month}</text>`
        : null;
    return html`<g>${segments}${label}</g>`;
  });
  return html`<svg class="data-map-svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-labelledby="forecast-title forecast-desc" focusable="false">
<title id="forecast-title">${t('retention.forecast.chartTitle')}</title>
<desc id="forecast-desc">${t('retention.forecast.chartDesc')}</desc>
${grid}
<line x1="${LEFT}" x2="${LEFT}" y1="${TOP}" y2="${TOP + plotH}" stroke="#333" stroke-width="1"/>
${bars}
</svg>
<ul class="register-links" aria-hidden="true">${series.map(
    (s) =>
      html`<li><svg width="12" height="12" viewBox="0 0 12 12" focusable="false"><rect width="12" height="12" fill="${categoryColour(s.category, forecast.categories)}"/></svg> ${categoryLabel(t, s.category)}</li>`,
  )}</ul>`;
}

/** The text alternative: months down, categories across, with totals. */
export function forecastTable(t: Translate, forecast: Forecast): SafeHtml {
  const { months, series } = forecast;
  return html`<div class="table-scroll"><table>
<caption>${t('retention.forecast.tableCaption')}</caption>
<thead><tr><th scope="col">${t('retention.forecast.month')}</th>${series.map((s) => html`<th scope="col">${categoryLabel(t, s.category)}</th>`)}<th scope="col">${t('retention.forecast.total')}</th></tr></thead>
<tbody>${months.map(
    (month, i) =>
      html`<tr><th scope="row">${month}</th>${series.map((s) => html`<td>${s.counts[i] ?? 0}</td>`)}<td>${series.reduce((n, s) => n + (s.counts[i] ?? 0), 0)}</td></tr>`,
  )}</tbody>
</table></div>`;
}
