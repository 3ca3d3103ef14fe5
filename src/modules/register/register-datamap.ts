/**
 * The data map: a server-rendered SVG (data categories → purposes → storage and sub-processors),
 * generated from the register snapshot, with `<title>`/`<desc>` and a text alternative (a list
 * saying the same). No script, no inline CSS (presentation attributes only, allowed by the CSP).
 * On a phone the picture scrolls sideways inside its region; the list below reads anywhere.
 */
import { type HtmlValue, html, type SafeHtml } from '../../shared/html/html.js';
import type { Locale, Translate } from '../../shared/i18n/messages.js';
import { countryName } from './register-derive.js';
import { joinList, label } from './register-labels.js';
import type { RegisterSnapshot } from './register-service.js';

interface MapNode {
  readonly id: string;
  readonly text: string;
  readonly sub?: string | undefined;
  readonly kind: 'category' | 'purpose' | 'storage' | 'subprocessor';
}

interface MapEdge {
  readonly from: string;
  readonly to: string;
}

interface DataMap {
  readonly columns: readonly (readonly MapNode[])[];
  readonly edges: readonly MapEdge[];
}

/** The nodes and edges of the map (pure; tested without rendering). */
function buildDataMap(snapshot: RegisterSnapshot, t: Translate, locale: Locale): DataMap {
  const categories = snapshot.categories.map(
    (c): MapNode => ({ id: `c:${c.category}`, text: label(t, 'category', c.category), kind: 'category' }),
  );
  const purposes = snapshot.activities.map(
    (a): MapNode => ({ id: `p:${a.purpose}`, text: label(t, 'purpose', a.purpose), kind: 'purpose' }),
  );
  const active = snapshot.subprocessors.filter((s) => s.status === 'active');
  const storage: MapNode[] = [
    { id: 's:database', text: t('register.storage.database'), kind: 'storage' },
    ...active.map(
      (s): MapNode => ({
        id: `sp:${s.id}`,
        text: s.name,
        sub: `${countryName(s.country, locale)} · ${t(s.inEea ? 'register.sp.inEea' : 'register.sp.outsideEea')}`,
        kind: 'subprocessor',
      }),
    ),
  ];
  const edges: MapEdge[] = [];
  for (const a of snapshot.activities) {
    for (const c of a.categories) edges.push({ from: `c:${c}`, to: `p:${a.purpose}` });
    edges.push({ from: `p:${a.purpose}`, to: 's:database' });
    for (const s of a.subprocessors) edges.push({ from: `p:${a.purpose}`, to: `sp:${s.id}` });
  }
  return { columns: [categories, purposes, storage], edges };
}

const COLUMN_WIDTH = 240;
const GAP = 110;
const ROW = 56;
const BOX = 46;
const TOP = 44;
const WRAP = 30;

const fills: Record<MapNode['kind'], string> = {
  category: '#e8eef6',
  purpose: '#f3f5f8',
  storage: '#e6f2ea',
  subprocessor: '#fdf3e1',
};

/** Splits a label over at most two lines of about WRAP characters. */
function wrap(text: string): string[] {
  if (text.length <= WRAP) return [text];
  const cut = text.lastIndexOf(' ', WRAP);
  const at = cut > 8 ? cut : WRAP;
  const rest = text.slice(at).trim();
  return [text.slice(0, at).trim(), rest.length > WRAP ? `${rest.slice(0, WRAP - 1)}…` : rest];
}

export function renderDataMap(snapshot: RegisterSnapshot, t: Translate, locale: Locale): SafeHtml {
  const map = buildDataMap(snapshot, t, locale);
  const rows = Math.max(1, ...map.columns.map((c) => c.length));
  const width = COLUMN_WIDTH * 3 + GAP * 2;
  const height = TOP + rows * ROW + 8;
  const position = new Map<string, { x: number; y: number }>();
  map.columns.forEach((column, ci) => {
    // Centre shorter columns vertically so the lines stay short.
    const offset = ((rows - column.length) * ROW) / 2;
    column.forEach((node, ri) => {
      position.set(node.id, { x: ci * (COLUMN_WIDTH + GAP), y: TOP + offset + ri * ROW });
    });
  });
  const headers = [
    t('register.map.columnCategories'),
    t('register.map.columnPurposes'),
    t('register.map.columnStorage'),
  ];
  const edges = map.edges.map((e) => {
    const a = position.get(e.from);
    const b = position.get(e.to);
    if (a === undefined || b === undefined) return null;
    const x1 = a.x + COLUMN_WIDTH;
    const y1 = a.y + BOX / 2;
    const x2 = b.x;
    const y2 = b.y + BOX / 2;
    const mid = (x1 + x2) / 2;
    return html`<path d="M${x1} ${y1} C${mid} ${y1} ${mid} ${y2} ${x2} ${y2}" fill="none" stroke="#6b7f99" stroke-width="1.5"/>`;
  });
  const nodes = map.columns.flat().map((node) => {
    const p = position.get(node.id);
    if (p === undefined) return null;
    const lines = wrap(node.text);
    const all = node.sub === undefined ? lines : [...lines.slice(0, 1), node.sub];
    const firstY = p.y + BOX / 2 - ((all.length - 1) * 16) / 2 + 5;
    return html`<g><rect x="${p.x}" y="${p.y}" width="${COLUMN_WIDTH}" height="${BOX}" rx="4" fill="${fills[node.kind]}" stroke="#154273" stroke-width="1"/><text x="${p.x + 10}" y="${firstY}" font-size="14" fill="#1b1b1b">${all.map(
      (line, i) =>
        html`<tspan x="${p.x + 10}" dy="${i === 0 ? 0 : 16}"${i > 0 && node.sub !== undefined ? html` font-size="12" fill="#4a4a4a"` : ''}>${line}</tspan>`,
    )}</text></g>`;
  });
  return html`<svg xmlns="http://www.w3.org/2000/svg" class="data-map-svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="datamap-title datamap-desc" font-family="system-ui, sans-serif">
<title id="datamap-title">${t('register.map.title')}</title>
<desc id="datamap-desc">${t('register.map.desc')}</desc>
${headers.map(
  (h, i) =>
    html`<text x="${i * (COLUMN_WIDTH + GAP)}" y="24" font-size="15" font-weight="700" fill="#154273">${h}</text>`,
)}
${edges}
${nodes}
</svg>`;
}

/** The same map as text: what each category is used for, and where each purpose's data is kept. */
export function dataMapText(snapshot: RegisterSnapshot, t: Translate, locale: Locale): HtmlValue {
  const lower = (s: string) => s.toLocaleLowerCase(locale === 'nl' ? 'nl-NL' : 'en-GB');
  return html`<ul class="data-map-text">
${snapshot.categories.map(
  (c) =>
    html`<li>${t('register.map.usedFor', {
      category: label(t, 'category', c.category),
      purposes: joinList(
        locale,
        c.purposes.map((p) => lower(label(t, 'purpose', p))),
      ),
    })}</li>`,
)}
${snapshot.activities.map(
  (a) =>
    html`<li>${t('register.map.storedAt', {
      purpose: label(t, 'purpose', a.purpose),
      places: joinList(locale, [
        t('register.storage.database'),
        ...a.subprocessors.map((s) => `${s.name} (${countryName(s.country, locale)})`),
      ]),
    })}</li>`,
)}
</ul>`;
}
