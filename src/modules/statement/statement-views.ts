/**
 * Pages of the statement: the privacy officer's editor (status, sections, publish, versions), the
 * preview, and the public pages (newest version, archive, one version, differences). The diff is
 * accessible without colour: `<ins>`/`<del>` each start with visually hidden "added:"/"removed:".
 */
import { csrfField, errorSummary, type FieldErrors, textField } from '../../shared/html/forms.js';
import { html, type SafeHtml } from '../../shared/html/html.js';
import { renderMarkdown } from '../../shared/html/markdown.js';
import { notice } from '../../shared/html/notice.js';
import { tableHead } from '../../shared/html/table.js';
import { formatDate } from '../../shared/i18n/dates.js';
import type { Locale, Translate } from '../../shared/i18n/messages.js';
import type { ClaimGap } from './statement-claims.js';
import type { StatementDiff } from './statement-diff.js';
import { type SectionId, type StatementSections, sectionIds } from './statement-generate.js';
import type { StatementStatus } from './statement-service.js';
import { statementTextsEn, statementTextsNl } from './statement-texts.js';
import type { PublishedVersion, VersionSummary } from './statement-versions.js';

const sectionLabelKey = {
  intro: 'statement.section.intro',
  clients: 'statement.section.clients',
  security: 'statement.section.security',
  closing: 'statement.section.closing',
} as const satisfies Record<SectionId, string>;

function statusText(t: Translate, locale: Locale, status: StatementStatus): string {
  if (status.latest === undefined) return t('statement.status.never');
  const values = {
    number: status.latest.number,
    date: formatDate(locale, status.latest.publishedAt, 'long'),
  };
  return status.outOfDate ? t('statement.status.outOfDate', values) : t('statement.status.upToDate', values);
}

/** Links to the public pages of a version, under `base` (`/en/o/acme` …). */
function versionsTable(
  t: Translate,
  locale: Locale,
  versions: readonly VersionSummary[],
  base: string,
): SafeHtml {
  return html`<table>
<caption class="visually-hidden">${t('statement.versions.title')}</caption>
${tableHead([
  t('statement.versions.col.number'),
  t('statement.versions.col.date'),
  t('statement.versions.col.summary'),
  t('statement.versions.col.links'),
])}
<tbody>
${versions.map(
  (v) => html`<tr>
  <td>${v.number}</td>
  <td><time datetime="${v.publishedAt}">${formatDate(locale, v.publishedAt, 'long')}</time></td>
  <td>${v.changeSummary[locale]}</td>
  <td><a href="${base}/privacy/v/${v.number}">${t('statement.versions.read', { number: v.number })}</a>${
    v.number > 1
      ? html`<br><a href="${base}/privacy/diff?from=${v.number - 1}&amp;to=${v.number}">${t('statement.versions.diffPrevious', { number: v.number - 1 })}</a>`
      : ''
  }</td>
</tr>`,
)}
</tbody>
</table>`;
}

export function editorPage(o: {
  t: Translate;
  locale: Locale;
  csrf: string;
  sections: StatementSections;
  status: StatementStatus;
  versions: readonly VersionSummary[];
  publicBase: string;
  canEdit: boolean;
  notice?: string | undefined;
  sectionErrors?: FieldErrors | undefined;
  sectionValues?: Readonly<Record<string, string>> | undefined;
  publishErrors?: FieldErrors | undefined;
  publishValues?: { changeSummaryNl: string; changeSummaryEn: string } | undefined;
}): SafeHtml {
  const { t, locale, status } = o;
  const sectionLabels: Record<string, string> = {};
  for (const s of sectionIds) {
    sectionLabels[`${s}_nl`] = t('statement.sections.nl', { section: t(sectionLabelKey[s]) });
    sectionLabels[`${s}_en`] = t('statement.sections.en', { section: t(sectionLabelKey[s]) });
  }
  const publishLabels = {
    changeSummaryNl: t('statement.publish.summaryNl'),
    changeSummaryEn: t('statement.publish.summaryEn'),
  };
  return html`<h1>${t('statement.title')}</h1>
${notice(o.notice)}
<p>${t('statement.intro')}</p>
<section aria-labelledby="statement-status"><h2 id="statement-status">${t('statement.status.title')}</h2>
<p class="${status.outOfDate ? 'status-bad' : 'status-ok'}" id="statement-status-text">${statusText(t, locale, status)}</p>
<p><a href="/staff/statement/preview?show=nl">${t('statement.preview.link')}</a>${
    status.latest === undefined ? '' : html` · <a href="${o.publicBase}/privacy">${t('statement.title')}</a>`
  }</p>
</section>
${
  o.canEdit
    ? html`<section aria-labelledby="statement-publish"><h2 id="statement-publish">${t('statement.publish.title')}</h2>
<p>${t('statement.publish.hint')}</p>
<form method="post" action="/staff/statement/publish" novalidate>
${errorSummary(t, o.publishErrors, publishLabels)}
${csrfField(o.csrf)}
${textField({ t, name: 'changeSummaryNl', label: publishLabels.changeSummaryNl, value: o.publishValues?.changeSummaryNl, errors: o.publishErrors, multiline: true, required: true })}
${textField({ t, name: 'changeSummaryEn', label: publishLabels.changeSummaryEn, hint: t('statement.publish.summaryEnHint'), value: o.publishValues?.changeSummaryEn, errors: o.publishErrors, multiline: true })}
<button type="submit">${t('statement.publish.submit', { number: status.nextNumber })}</button>
</form></section>
<section aria-labelledby="statement-sections"><h2 id="statement-sections">${t('statement.sections.title')}</h2>
<p class="hint">${t('statement.sections.hint')}</p>
<form method="post" action="/staff/statement/sections" novalidate>
${errorSummary(t, o.sectionErrors, sectionLabels)}
${csrfField(o.csrf)}
${sectionIds.map(
  (s) => html`<fieldset><legend>${t(sectionLabelKey[s])}</legend>
${(['nl', 'en'] as const).map((l) =>
  textField({
    t,
    name: `${s}_${l}`,
    label: sectionLabels[`${s}_${l}`] ?? s,
    value: o.sectionValues?.[`${s}_${l}`] ?? o.sections[s][l],
    errors: o.sectionErrors,
    multiline: true,
  }),
)}
</fieldset>`,
)}
<button type="submit" class="secondary">${t('statement.sections.save')}</button>
</form></section>`
    : ''
}
<section aria-labelledby="statement-versions"><h2 id="statement-versions">${t('statement.versions.title')}</h2>
${o.versions.length === 0 ? html`<p>${t('statement.versions.none')}</p>` : versionsTable(t, locale, o.versions, o.publicBase)}
</section>`;
}

export function previewPage(o: { t: Translate; show: Locale; html: SafeHtml; nextNumber: number }): SafeHtml {
  const { t } = o;
  const other: Locale = o.show === 'nl' ? 'en' : 'nl';
  return html`<div class="notice" role="note"><p>${t('statement.preview.notice')}</p>
<p><a href="/staff/statement/preview?show=${other}" hreflang="${other}">${t(o.show === 'nl' ? 'statement.preview.showEn' : 'statement.preview.showNl')}</a> · <a href="/staff/statement">${t('statement.preview.back')}</a></p></div>
<article class="statement" lang="${o.show}">
${o.html}
</article>`;
}

/** A published version on its public page (the newest at `/privacy`, any at `/privacy/v/:n`). */
export function versionPage(o: {
  t: Translate;
  locale: Locale;
  version: PublishedVersion;
  latestNumber: number;
  base: string;
}): SafeHtml {
  const { t, locale, version: v } = o;
  const older = v.number < o.latestNumber;
  return html`${
    older
      ? html`<div class="notice" role="note"><p>${t('statement.public.older', { number: o.latestNumber })} <a href="${o.base}/privacy">${t('statement.public.newest')}</a></p></div>`
      : ''
  }
<article class="statement" aria-describedby="statement-meta">
${v.html[locale]}
<footer class="statement-meta" id="statement-meta">
<p>${t('statement.public.meta', { number: v.number, date: formatDate(locale, v.publishedAt, 'long') })}
${t('statement.public.summary', { summary: v.changeSummary[locale] })}</p>
<p><a href="${o.base}/privacy/versions">${t('statement.public.archiveLink')}</a> · <a href="${o.base}/subprocessors">${t('statement.public.subprocessorsLink')}</a></p>
</footer>
</article>`;
}

export function noStatementPage(t: Translate): SafeHtml {
  return html`<h1>${t('statement.title')}</h1><p>${t('statement.public.none')}</p>`;
}

function diffForm(o: {
  t: Translate;
  versions: readonly VersionSummary[];
  base: string;
  from?: number;
  to?: number;
}): SafeHtml {
  const { t } = o;
  const select = (name: 'from' | 'to', selected: number | undefined) =>
    html`<div class="field"><label for="f-${name}">${t(name === 'from' ? 'statement.diff.from' : 'statement.diff.to')}</label>
<select id="f-${name}" name="${name}">${o.versions.map(
      (v) =>
        html`<option value="${v.number}"${v.number === selected ? html` selected` : ''}>${v.number}</option>`,
    )}</select></div>`;
  const newest = o.versions[0]?.number;
  const previous = o.versions[1]?.number;
  return html`<form method="get" action="${o.base}/privacy/diff" class="diff-form" aria-labelledby="diff-form-title">
<h2 id="diff-form-title">${t('statement.diff.formTitle')}</h2>
${select('from', o.from ?? previous)}
${select('to', o.to ?? newest)}
<button type="submit" class="secondary">${t('statement.diff.submit')}</button>
</form>`;
}

export function archivePage(o: {
  t: Translate;
  locale: Locale;
  orgName: string;
  versions: readonly VersionSummary[];
  base: string;
}): SafeHtml {
  const { t } = o;
  return html`<h1>${t('statement.archive.title', { org: o.orgName })}</h1>
<p>${t('statement.archive.intro')}</p>
${o.versions.length === 0 ? html`<p>${t('statement.public.none')}</p>` : versionsTable(t, o.locale, o.versions, o.base)}
${o.versions.length > 1 ? diffForm({ t, versions: o.versions, base: o.base }) : ''}`;
}

/** Long unchanged stretches fold away (a native disclosure: works without script). */
const CONTEXT = 2;

export function diffPage(o: {
  t: Translate;
  from: number;
  to: number;
  diff: StatementDiff;
  versions: readonly VersionSummary[];
  base: string;
}): SafeHtml {
  const { t, diff } = o;
  // One heading level down: the page's own title is the only h1.
  const line = (markdown: string) => renderMarkdown(markdown.replace(/^(#{1,5})\s/, '#$1 '));
  const blocks = diff.blocks.map((b, index) => {
    if (b.kind === 'added') {
      return html`<ins class="diff-added"><span class="visually-hidden">${t('statement.diff.added')} </span>${b.lines.map(line)}</ins>`;
    }
    if (b.kind === 'removed') {
      return html`<del class="diff-removed"><span class="visually-hidden">${t('statement.diff.removed')} </span>${b.lines.map(line)}</del>`;
    }
    const first = index === 0;
    const last = index === diff.blocks.length - 1;
    const head = first ? [] : b.lines.slice(0, CONTEXT);
    const tail = last ? [] : b.lines.slice(-CONTEXT);
    const hidden = b.lines.slice(head.length, b.lines.length - tail.length);
    if (hidden.length <= CONTEXT) return html`<div class="diff-same">${b.lines.map(line)}</div>`;
    return html`<div class="diff-same">${head.map(line)}<details><summary>${t('statement.diff.unchanged', {
      count: hidden.length,
    })}</summary>${hidden.map(line)}</details>${tail.map(line)}</div>`;
  });
  return html`<h1>${t('statement.diff.title', { from: o.from, to: o.to })}</h1>
<p>${t('statement.diff.legend')}</p>
<p role="status">${diff.added === 0 && diff.removed === 0 ? t('statement.diff.same') : t('statement.diff.counts', { added: diff.added, removed: diff.removed })}</p>
<div class="statement-diff">
${blocks}
</div>
${diffForm({ t, versions: o.versions, base: o.base, from: o.from, to: o.to })}
<p><a href="${o.base}/privacy/versions">${t('statement.public.archiveLink')}</a></p>`;
}

/** The dashboard panel: is the published statement still what the register says? */
export function statementPanel(t: Translate, locale: Locale, status: StatementStatus): SafeHtml {
  const text =
    status.latest === undefined
      ? t('statement.panel.never')
      : status.outOfDate
        ? t('statement.panel.outOfDate', { number: status.latest.number })
        : t('statement.panel.upToDate', { number: status.latest.number });
  return html`<section class="dashboard-panel" aria-labelledby="panel-statement">
<h2 id="panel-statement">${t('statement.panel.title')}</h2>
<p class="${status.outOfDate ? 'status-bad' : 'status-ok'}" data-statement-status="${status.outOfDate ? 'out-of-date' : 'up-to-date'}">${text}</p>
${status.latest === undefined ? '' : html`<p class="hint">${formatDate(locale, status.latest.publishedAt, 'long')}</p>`}
<p><a href="/staff/statement">${t('statement.panel.open')}</a></p>
</section>`;
}

function gapText(t: Translate, locale: Locale, gap: ClaimGap): string {
  const x = locale === 'nl' ? statementTextsNl : statementTextsEn;
  switch (gap.kind) {
    case 'unencrypted':
      return t('statement.claims.unencrypted', {
        connections: gap.connections.map((c) => x.connection[c]).join('; '),
      });
    case 'totp':
      return t('statement.claims.totp');
    case 'agreements':
      return t('statement.claims.agreements', { names: gap.names.join(', ') });
    case 'transfers':
      return t('statement.claims.transfers', { names: gap.names.join(', ') });
    case 'overrides':
      return t('statement.claims.overrides', { overrides: gap.overrides.join(', ') });
  }
}

/** The dashboard panel of the claims the statement leaves out or words as they are. */
export function claimsPanel(t: Translate, locale: Locale, gaps: readonly ClaimGap[]): SafeHtml {
  return html`<section class="dashboard-panel" aria-labelledby="panel-statement-claims" data-claim-gaps="${gaps.length}">
<h2 id="panel-statement-claims">${t('statement.claims.title')}</h2>
${
  gaps.length === 0
    ? html`<p class="status-ok">${t('statement.claims.none')}</p>`
    : html`<p class="status-bad">${t('statement.claims.intro')}</p>
<ul>${gaps.map((g) => html`<li data-claim-gap="${g.kind}">${gapText(t, locale, g)}</li>`)}</ul>`
}
<p><a href="/staff/statement">${t('statement.panel.open')}</a></p>
</section>`;
}
