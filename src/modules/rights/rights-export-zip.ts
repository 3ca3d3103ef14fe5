/**
 * The access export as a zip (P15, Art. 15(3) and 20 GDPR): `data.json` (everything,
 * machine-readable), one CSV per table, the files themselves (attachments, signed documents), a
 * readable `summary.html` in the subject's language (self-contained: no scripts, no outside
 * resources) and a `README.txt`. The same export gives the same bytes: entries are added in a
 * fixed order with the export's own time as their modification time.
 */
import { stringify } from 'csv-stringify/sync';
import { html, type SafeHtml, trustedHtml } from '../../shared/html/html.js';
import { formatDate, formatTime } from '../../shared/i18n/dates.js';
import { isMessageKey, type Locale, type MessageKey, t as translate } from '../../shared/i18n/messages.js';
import { type ZipEntry, zipOf } from '../../shared/zip.js';
import { joinList, label } from '../register/index.js';
import type { ExportRow, ExportScalar, ExportTable, SubjectExport } from './rights-export-compile.js';

export const COMPLAINT_URL = 'https://autoriteitpersoonsgegevens.nl';

/** What a CSV cell says where no value can be given. */
export const CSV_ERASED = '[erased]';
export const CSV_LOOKUP_KEY = '[lookup key]';

/** A file name safe in every unzip tool: letters, digits, dot, dash and underscore. */
function safeName(name: string): string {
  const cleaned = name
    .normalize('NFKD')
    .replace(/[^\w.-]+/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 100);
  return cleaned === '' ? 'file' : cleaned;
}

/** The zip path of a row's file column, or undefined when the row has no readable file there. */
export function filePathOf(table: ExportTable, row: ExportRow, column: string): string | undefined {
  const nameColumn = table.files[column];
  const content = row.values[column];
  if (nameColumn === undefined || typeof content !== 'string') return undefined;
  const name = row.values[nameColumn];
  return `files/${table.table}/${row.id}-${safeName(typeof name === 'string' ? name : column)}`;
}

/**
 * A cell a spreadsheet would run as a formula (CSV injection): one starting with `=`, `@`, a tab
 * or a carriage return, or with `+`/`-` followed by more than a number. Such a cell gets a
 * leading apostrophe; a phone number (`+31612345678`) stays as it is. `data.json` keeps every
 * value exactly.
 */
export function formulaLike(value: string): boolean {
  return /^[=@\t\r]/.test(value) || (/^[+-]/.test(value) && !/^[+-][\d\s()./-]*$/.test(value));
}

/** One exported table as CSV (erased values and lookup keys marked, files named by their zip path). */
export function csvOf(table: ExportTable): string {
  const contextColumns = [...new Set(table.rows.flatMap((r) => Object.keys(r.context ?? {})))].sort();
  const header = [
    'id',
    ...table.columns.map((c) => c.name),
    ...contextColumns,
    'restricted_since',
    'restricted_until',
    'legal_hold',
  ];
  const records = table.rows.map((row) => [
    row.id,
    ...table.columns.map((c): ExportScalar => {
      if (row.erased.includes(c.name)) return CSV_ERASED;
      if (c.kind === 'lookup_key') return row.lookupKeys.includes(c.name) ? CSV_LOOKUP_KEY : null;
      return filePathOf(table, row, c.name) ?? row.values[c.name] ?? null;
    }),
    ...contextColumns.map((c) => row.context?.[c] ?? null),
    row.restricted?.since ?? null,
    row.restricted?.until ?? null,
    row.legalHold ? 1 : 0,
  ]);
  return stringify([header, ...records], csvOptions);
}

type T = (key: MessageKey, values?: Record<string, string | number>) => string;

/** The summary shows the newest consultations; the CSV and data.json always hold all of them. */
export const SUMMARY_CONSULTATIONS = 200;

const csvOptions = {
  bom: true,
  record_delimiter: 'windows',
  cast: { string: (v: string) => (formulaLike(v) ? `'${v}` : v) },
} as const;

function consultationsCsv(data: SubjectExport): string {
  const header = ['at', 'action', 'table', 'record_id', 'fields', 'purpose', 'by'];
  const records = data.consultations.map((c) => [
    c.at,
    c.action,
    c.table,
    c.recordId,
    c.fields.join(' '),
    c.purpose,
    c.by,
  ]);
  return stringify([header, ...records], csvOptions);
}

/** A label from this module's catalogue by a computed key, or the fallback when it has none. */
function labelOr(t: T, key: string, fallback: string): string {
  return isMessageKey(key) ? t(key) : fallback;
}

const dateText = (locale: Locale, iso: string): string => formatDate(locale, iso, 'long');

/** A moment as the reader reads it (Amsterdam time); anything else as stored. */
function shown(locale: Locale, value: string | number): string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) return String(value);
  return formatTime(locale, value);
}

const styles = `
:root { --ink: #1b1b1b; --muted: #555; --line: #ccc; --note: #fff6d6; --erased: #f3e8e8; }
body { font: 16px/1.5 system-ui, sans-serif; color: var(--ink); margin: 0; }
main { max-width: 52rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.8rem; } h2 { margin-top: 2.5rem; border-bottom: 2px solid var(--line); }
article { border: 1px solid var(--line); border-radius: 4px; padding: 0.5rem 1rem; margin: 1rem 0; }
h4 { margin: 0.25rem 0; color: var(--muted); font-size: 0.9rem; }
dl { display: grid; grid-template-columns: minmax(10rem, 16rem) 1fr; gap: 0.25rem 1rem; }
dt { font-weight: 600; } dd { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.note { background: var(--note); padding: 0.5rem; } .erased { background: var(--erased); }
table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid var(--line); padding: 0.4rem; text-align: left; vertical-align: top; }
@media print { h2 { break-after: avoid; } article { break-inside: avoid; } }
`;

function rowHtml(t: T, locale: Locale, table: ExportTable, row: ExportRow, n: number): SafeHtml {
  const items = table.columns.flatMap((c) => {
    const name = labelOr(t, `rights.zip.column.${c.name}`, c.name);
    if (row.erased.includes(c.name)) {
      return [html`<dt>${name}</dt><dd class="erased">${t('rights.zip.erased')}</dd>`];
    }
    if (c.kind === 'lookup_key') {
      return row.lookupKeys.includes(c.name)
        ? [html`<dt>${name}</dt><dd>${t('rights.zip.lookupKey')}</dd>`]
        : [];
    }
    const path = filePathOf(table, row, c.name);
    if (path !== undefined) {
      return [html`<dt>${name}</dt><dd><a href="${path}">${t('rights.zip.file', { path })}</a></dd>`];
    }
    const value = row.values[c.name];
    if (value === null || value === undefined || c.name === 'subject_id') return [];
    return [html`<dt>${name}</dt><dd>${shown(locale, value)}</dd>`];
  });
  const context = Object.entries(row.context ?? {}).flatMap(([key, value]) =>
    value === null
      ? []
      : [
          html`<dt>${labelOr(t, `rights.zip.column.${key.split('.').at(-1) ?? key}`, key)}</dt><dd>${String(value)}</dd>`,
        ],
  );
  const restricted = row.restricted;
  return html`<article>
<h4>${t('rights.zip.data.record', { n, total: table.rows.length })}</h4>
${
  restricted === null
    ? ''
    : html`<p class="note">${
        restricted.until === null
          ? t('rights.zip.restricted', { since: restricted.since.slice(0, 10) })
          : t('rights.zip.restrictedUntil', { since: restricted.since.slice(0, 10), until: restricted.until })
      }</p>`
}
${row.legalHold ? html`<p class="note">${t('rights.zip.legalHold')}</p>` : ''}
<dl>${context}${items}</dl>
</article>`;
}

/** What each category of the subject's data is used for, on which ground, how long, and by whom. */
function categoriesSection(
  t: T,
  locale: Locale,
  data: SubjectExport,
  retentionText: (policy: string) => string,
) {
  const recipientName = new Map(data.recipients.map((r) => [r.id, r.name]));
  return html`<section>
<h2>${t('rights.zip.categories.heading')}</h2>
<p>${t('rights.zip.categories.intro')}</p>
<table>
<thead><tr><th scope="col">${t('rights.zip.col.categoryName')}</th><th scope="col">${t('rights.zip.col.purposes')}</th><th scope="col">${t('rights.zip.col.basis')}</th><th scope="col">${t('rights.zip.col.retention')}</th><th scope="col">${t('rights.zip.col.recipients')}</th></tr></thead>
<tbody>
${data.categories.flatMap((cat) =>
  cat.uses.map(
    (use, i) => html`<tr>
${i === 0 ? html`<th scope="row" rowspan="${cat.uses.length}">${label(t, 'category', cat.category)}</th>` : ''}
<td>${joinList(
      locale,
      use.purposes.map((p) => label(t, 'purpose', p)),
    )}</td>
<td>${label(t, 'basis', use.legalBasis)}</td>
<td>${retentionText(use.retention)}</td>
${
  i === 0
    ? html`<td rowspan="${cat.uses.length}">${
        cat.recipients.length === 0
          ? t('rights.zip.recipients.none')
          : joinList(
              locale,
              cat.recipients.map((id) => recipientName.get(id) ?? id),
            )
      }</td>`
    : ''
}
</tr>`,
  ),
)}
</tbody>
</table>
</section>`;
}

/** The sub-processors that receive the subject's data, and other recipients per purpose. */
function recipientsSection(t: T, data: SubjectExport) {
  return html`<section>
<h2>${t('rights.zip.recipients.heading')}</h2>
${
  data.recipients.length === 0
    ? html`<p>${t('rights.zip.recipients.none')}</p>`
    : html`<p>${t('rights.zip.recipients.intro')}</p>
<ul>${data.recipients.map(
        (r) =>
          html`<li>${t('rights.zip.recipients.entry', {
            name: r.name,
            service: r.service,
            location: r.location === '' ? r.country : `${r.location}, ${r.country}`,
            eea: t(r.inEea ? 'register.sp.inEea' : 'register.sp.outsideEea'),
          })}</li>`,
      )}</ul>`
}
${data.purposes
  .filter((p) => p.otherRecipients !== '')
  .map(
    (p) =>
      html`<p>${t('rights.zip.recipients.other', { purpose: label(t, 'purpose', p.purpose), text: p.otherRecipients })}</p>`,
  )}
</section>`;
}

/** Who consulted or changed the subject's records, the newest first-shown (C-579/21). */
function consultationsSection(
  t: T,
  locale: Locale,
  data: SubjectExport,
  tableTitle: (table: string) => string,
) {
  const org = data.controller.name;
  return html`<section>
<h2>${t('rights.zip.consultations.heading')}</h2>
<p>${t('rights.zip.consultations.text', { org })}</p>
${
  data.consultations.length === 0
    ? html`<p>${t('rights.zip.consultations.none')}</p>`
    : html`<table>
<thead><tr><th scope="col">${t('rights.zip.consultations.at')}</th><th scope="col">${t('rights.zip.consultations.action')}</th><th scope="col">${t('rights.zip.consultations.record')}</th><th scope="col">${t('rights.zip.consultations.fields')}</th><th scope="col">${t('rights.zip.consultations.by')}</th></tr></thead>
<tbody>${data.consultations
        .slice(-SUMMARY_CONSULTATIONS)
        .map(
          (c) =>
            html`<tr><td>${dateText(locale, c.at)}</td><td><code>${c.action}</code></td><td>${tableTitle(c.table)}</td><td>${c.fields.join(', ')}</td><td>${t(`rights.zip.consultations.by.${c.by}`, { org })}</td></tr>`,
        )}</tbody>
</table>
${
  data.consultations.length > SUMMARY_CONSULTATIONS
    ? html`<p>${t('rights.zip.consultations.more', { shown: SUMMARY_CONSULTATIONS, total: data.consultations.length })}</p>`
    : ''
}`
}
</section>`;
}

/** The readable summary, in the subject's language. */
export function summaryHtml(data: SubjectExport, locale: Locale): string {
  const t: T = (key, values) => translate(locale, key, values);
  const org = data.controller.name;
  const retentionValues = {
    truncateDays: data.accessLog.truncateIpAfterDays ?? 7,
    deleteDays: data.accessLog.deleteAfterDays,
    sessionHours: 12,
  };
  const tableTitle = (table: string) => labelOr(t, `rights.zip.table.${table}`, table);
  const withRows = data.tables.filter((tb) => tb.rows.length > 0);
  const empty = data.tables.filter((tb) => tb.rows.length === 0).map((tb) => tableTitle(tb.table));
  const retentionText = (policy: string) => {
    const base = label(t, 'retention', policy, retentionValues);
    const entry = data.retention.find((r) => r.policy === policy);
    if (entry?.period === null || entry === undefined) return base;
    const p = entry.period;
    const period = t(p.unit === 'months' ? 'retention.unit.months' : 'retention.unit.days', { n: p.value });
    const rule = t('rights.zip.retention.period', {
      org,
      period,
      trigger: labelOr(t, `retention.trigger.${p.trigger}`, p.trigger),
      action: labelOr(t, `retention.action.${p.action}`, p.action),
    });
    return `${base}. ${rule}${p.customised ? ` ${t('rights.zip.retention.customised', { org })}` : ''}`;
  };
  const c = data.controller;

  const page = html`<!doctype html>
<html lang="${locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t('rights.zip.title', { org })}</title>
<style>${trustedHtml(styles)}</style>
</head>
<body>
<main>
<h1>${t('rights.zip.title', { org })}</h1>
<p>${t('rights.zip.generated', { date: dateText(locale, data.generatedAt) })}</p>
<p>${t('rights.zip.intro', { org })}</p>
${data.subject.keyDestroyed ? html`<p class="note erased">${t('rights.zip.erasedSubject')}</p>` : ''}

<section>
<h2>${t('rights.zip.contents.heading')}</h2>
<ul>
<li>${t('rights.zip.contents.summary')}</li>
<li>${t('rights.zip.contents.json')}</li>
<li>${t('rights.zip.contents.csv')}</li>
<li>${t('rights.zip.contents.files')}</li>
</ul>
</section>

<section>
<h2>${t('rights.zip.controller.heading')}</h2>
<p>${t('rights.zip.controller.text', { name: org })}</p>
<ul>
${c.privacyEmail === '' ? '' : html`<li>${t('rights.zip.controller.privacyEmail', { email: c.privacyEmail })}</li>`}
${c.contactEmail === '' ? '' : html`<li>${t('rights.zip.controller.contactEmail', { email: c.contactEmail })}</li>`}
${c.phone === '' ? '' : html`<li>${t('rights.zip.controller.phone', { phone: c.phone })}</li>`}
${c.website === '' ? '' : html`<li>${t('rights.zip.controller.website', { website: c.website })}</li>`}
</ul>
${c.contactAddress === '' ? '' : html`<p style="white-space: pre-line">${c.contactAddress}</p>`}
</section>

<section>
<h2>${t('rights.zip.data.heading')}</h2>
${withRows.map(
  (tb) => html`<section>
<h3>${tableTitle(tb.table)}</h3>
${tb.rows.map((row, i) => rowHtml(t, locale, tb, row, i + 1))}
</section>`,
)}
${empty.length === 0 ? '' : html`<p>${t('rights.zip.data.none', { list: joinList(locale, empty) })}</p>`}
</section>

${categoriesSection(t, locale, data, retentionText)}

${recipientsSection(t, data)}

<section>
<h2>${t('rights.zip.retention.heading')}</h2>
<ul>${data.retention.map((r) => html`<li>${retentionText(r.policy)}</li>`)}</ul>
</section>

${consultationsSection(t, locale, data, tableTitle)}

<section>
<h2>${t('rights.zip.accessLog.heading')}</h2>
<p>${t('rights.zip.accessLog.text')}</p>
<p>${
    data.accessLog.truncateIpAfterDays === null
      ? t('rights.zip.accessLog.deleteOnly', { deleteDays: data.accessLog.deleteAfterDays })
      : t('rights.zip.accessLog.periods', {
          truncateDays: data.accessLog.truncateIpAfterDays,
          deleteDays: data.accessLog.deleteAfterDays,
        })
  }</p>
</section>

<section>
<h2>${t('rights.zip.rights.heading')}</h2>
<p>${t('rights.zip.rights.text', { org })}</p>
<p>${t('rights.zip.rights.complaint')} <a href="${COMPLAINT_URL}">${COMPLAINT_URL}</a></p>
</section>
</main>
</body>
</html>
`;
  return page.value;
}

/** Builds the zip (deterministic: same export, same bytes). */
export function buildExportZip(data: SubjectExport, locale: Locale): Promise<Buffer> {
  const files: ZipEntry[] = [];
  const add = (name: string, content: string | Buffer): void => {
    files.push({ name, content });
  };

  add(
    'README.txt',
    translate(locale, 'rights.zip.readme', {
      org: data.controller.name,
      date: dateText(locale, data.generatedAt),
    }).replace(/\n/g, '\r\n'),
  );
  add('summary.html', summaryHtml(data, locale));
  add('data.json', `${JSON.stringify(data, null, 2)}\n`);
  for (const table of data.tables) add(`csv/${table.table}.csv`, csvOf(table));
  add('csv/consultations.csv', consultationsCsv(data));
  for (const table of data.tables) {
    for (const row of table.rows) {
      for (const column of Object.keys(table.files).sort()) {
        const path = filePathOf(table, row, column);
        const content = row.values[column];
        if (path !== undefined && typeof content === 'string') add(path, Buffer.from(content, 'base64'));
      }
    }
  }

  return zipOf(files, new Date(data.generatedAt));
}
