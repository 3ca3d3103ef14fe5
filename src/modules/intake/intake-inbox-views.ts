/**
 * Staff inbox pages: the conversation list (filters in the URL so views can be bookmarked,
 * sortable by the server, paginated), a conversation with its entries and the forms to assign,
 * reply, note a call, add a note and change the status, a form for a new phone call, and the
 * quarantine of mail that could not be taken in. Message text is shown as text (escaped), never
 * as HTML from the mail.
 */

import { html, type SafeHtml } from '../../shared/html/html.js';
import * as ui from '../../shared/html/index.js';
import { formatTime } from '../../shared/i18n/dates.js';
import type { Locale, MessageKey, Translate } from '../../shared/i18n/messages.js';
import type {
  ConversationDetail,
  ConversationListPage,
  ConversationSummary,
  InboxStaff,
} from './intake-inbox.js';
import type { ConversationSort, QuarantineMeta } from './intake-repository.js';
import {
  type Channel,
  type ConversationStatus,
  channels,
  conversationStatuses,
  type EntryKind,
} from './intake-schema.js';

export interface ListParams extends ui.ListOrder<ConversationSort> {
  readonly status?: ConversationStatus | undefined;
  readonly channel?: Channel | undefined;
  readonly mine?: boolean | undefined;
  readonly rightsOnly?: boolean | undefined;
}

const BASE = '/staff/conversations';

export function listQuery(p: ListParams, page: number): string {
  return ui.listHref(
    BASE,
    {
      status: p.status,
      channel: p.channel,
      mine: p.mine ? '1' : undefined,
      rights: p.rightsOnly ? '1' : undefined,
      ...ui.orderParams(p, { sort: 'updated', dir: 'desc' }),
    },
    page,
  );
}

const channelKey: Record<Channel, MessageKey> = {
  web: 'intake.channel.web',
  email: 'intake.channel.email',
  phone: 'intake.channel.phone',
  api: 'intake.channel.api',
};
const statusKey: Record<ConversationStatus, MessageKey> = {
  open: 'intake.status.open',
  waiting: 'intake.status.waiting',
  closed: 'intake.status.closed',
};
const kindKey: Record<EntryKind, MessageKey> = {
  inbound: 'intake.entry.inbound',
  outbound: 'intake.entry.outbound',
  note: 'intake.entry.note',
  phone: 'intake.entry.phone',
};

/** A sealed value for display: the text, "not given", or "erased" when the subject's key is gone. */
function shown(t: Translate, value: string | undefined | null): string {
  if (value === null) return t('intake.erased');
  return value ?? t('intake.notGiven');
}

function titleOf(t: Translate, c: ConversationSummary): string {
  if (c.subjectLine === null) return t('intake.erased');
  return c.subjectLine ?? t('intake.list.untitled', { channel: t(channelKey[c.channel]) });
}

function sortHeader(t: Translate, p: ListParams, column: ConversationSort, label: string): SafeHtml {
  return ui.sortHeader({
    order: p,
    column,
    label,
    hrefOf: (order) => listQuery({ ...p, ...order }, 1),
    labels: { asc: t('intake.list.sortAsc'), desc: t('intake.list.sortDesc') },
    // Conversations: the newest (or last changed) first.
    first: 'desc',
  });
}

export function conversationListPage(o: {
  t: Translate;
  locale: Locale;
  params: ListParams;
  result: ConversationListPage;
  staff: ReadonlyMap<string, string>;
  support: boolean;
  notice?: string | undefined;
}): SafeHtml {
  const { t, params: p, result: r } = o;
  return html`<h1>${t('intake.list.title')}</h1>
${ui.notice(o.notice)}
${o.support ? null : html`<p class="hint">${t('intake.list.onlyAssigned')}</p>`}
<p><a class="button" href="${BASE}/new-call">${t('intake.call.new')}</a>${
    o.support ? html` <a href="${BASE}/quarantine">${t('intake.quarantine.title')}</a>` : null
  }</p>
<form method="get" action="${BASE}" class="filter-form" aria-labelledby="conversations-filter-title">
  <h2 id="conversations-filter-title">${t('intake.list.filterTitle')}</h2>
  <input type="hidden" name="sort" value="${p.sort}">
  <input type="hidden" name="dir" value="${p.dir}">
  ${ui.selectField({ t, name: 'status', label: t('intake.list.col.status'), options: conversationStatuses.map((s) => ({ value: s, label: t(statusKey[s]) })), value: p.status, placeholder: t('intake.list.all') })}
  ${ui.selectField({ t, name: 'channel', label: t('intake.list.col.channel'), options: channels.map((c) => ({ value: c, label: t(channelKey[c]) })), value: p.channel, placeholder: t('intake.list.all') })}
  <div class="checkbox"><input type="checkbox" id="f-mine" name="mine" value="1"${p.mine ? html` checked` : ''}> <label for="f-mine">${t('intake.list.mine')}</label></div>
  <div class="checkbox"><input type="checkbox" id="f-rights" name="rights" value="1"${p.rightsOnly ? html` checked` : ''}> <label for="f-rights">${t('intake.list.rightsOnly')}</label></div>
  <button type="submit" class="secondary">${t('intake.list.apply')}</button>
  <a href="${BASE}">${t('intake.list.reset')}</a>
</form>
<p role="status">${t('intake.list.results', { total: r.total, page: r.page, pages: r.pages })}</p>
${
  r.items.length === 0
    ? null
    : html`<table>
  <caption class="visually-hidden">${t('intake.list.title')}</caption>
  <thead><tr>
    <th scope="col">${t('intake.list.col.subject')}</th>
    <th scope="col">${t('intake.list.col.from')}</th>
    ${sortHeader(t, p, 'channel', t('intake.list.col.channel'))}
    ${sortHeader(t, p, 'status', t('intake.list.col.status'))}
    <th scope="col">${t('intake.list.col.assigned')}</th>
    ${sortHeader(t, p, 'created', t('intake.list.col.created'))}
    ${sortHeader(t, p, 'updated', t('intake.list.col.updated'))}
  </tr></thead>
  <tbody>${r.items.map(
    (c) => html`<tr>
    <td><a href="${BASE}/${c.id}">${titleOf(t, c)}</a>${c.possibleRightsRequest ? html` <strong class="status-bad">${t('intake.flag.rights')}</strong>` : null}</td>
    <td>${shown(t, c.name)}</td>
    <td>${t(channelKey[c.channel])}</td>
    <td>${t(statusKey[c.status])}</td>
    <td>${c.assignedUserId === null ? t('intake.unassigned') : (o.staff.get(c.assignedUserId) ?? '?')}</td>
    <td>${formatTime(o.locale, c.createdAt)}</td>
    <td>${formatTime(o.locale, c.updatedAt)}</td>
  </tr>`,
  )}</tbody>
</table>`
}
${ui.pager(r, (page) => listQuery(p, page), {
  nav: t('intake.list.pagination'),
  previous: t('intake.list.previous'),
  next: t('intake.list.next'),
})}`;
}

export interface ConversationFormState {
  readonly errors?: ui.FieldErrors | undefined;
  readonly values?: Readonly<Record<string, string>> | undefined;
}

function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${Math.round(size / 1024)} KB`;
  return `${(size / (1024 * 1024)).toFixed(1)} MB`;
}

function paragraphs(text: string): SafeHtml {
  return html`<div class="message-body">${text
    .split(/\n{2,}/)
    .map((p) => html`<p>${p.split('\n').map((line, i) => (i === 0 ? line : html`<br>${line}`))}</p>`)}</div>`;
}

export function conversationPage(o: {
  t: Translate;
  locale: Locale;
  csrf: string;
  conversation: ConversationDetail;
  staff: InboxStaff;
  support: boolean;
  state?: ConversationFormState | undefined;
  notice?: string | undefined;
}): SafeHtml {
  const { t, conversation: c, state } = o;
  const path = `${BASE}/${c.id}`;
  const errors = state?.errors;
  const values = state?.values ?? {};
  const labels = {
    reply: t('intake.reply.label'),
    note: t('intake.note.label'),
    summary: t('intake.call.summary'),
    userId: t('intake.assign.label'),
    name: t('intake.detail.name'),
    email: t('intake.detail.email'),
    phone: t('intake.detail.phone'),
  };
  // After a refused correction the input is shown again; otherwise the current values.
  const contactValue = (field: 'name' | 'email' | 'phone') =>
    state === undefined ? (typeof c[field] === 'string' ? c[field] : '') : values[field];
  const canReply = typeof c.email === 'string';
  return html`<p><a href="${BASE}">${t('intake.back')}</a></p>
<h1>${titleOf(t, c)}</h1>
${ui.notice(o.notice)}
${ui.errorSummary(t, errors, labels)}
${c.possibleRightsRequest ? html`<div class="notice"><p><strong>${t('intake.flag.rights')}</strong> ${t('intake.flag.rightsHint')}</p></div>` : null}
<dl class="summary-list">
  <dt>${t('intake.detail.name')}</dt><dd>${shown(t, c.name)}</dd>
  <dt>${t('intake.detail.email')}</dt><dd>${shown(t, c.email)}</dd>
  <dt>${t('intake.detail.phone')}</dt><dd>${shown(t, c.phone)}</dd>
  <dt>${t('intake.list.col.channel')}</dt><dd>${t(channelKey[c.channel])}</dd>
  <dt>${t('intake.list.col.status')}</dt><dd>${t(statusKey[c.status])}</dd>
  <dt>${t('intake.list.col.assigned')}</dt><dd>${c.assignedUserId === null ? t('intake.unassigned') : (o.staff.names.get(c.assignedUserId) ?? '?')}</dd>
  <dt>${t('intake.list.col.created')}</dt><dd>${formatTime(o.locale, c.createdAt)}</dd>
</dl>
<h2>${t('intake.detail.entries')}</h2>
<ol class="entries">${c.entries.map((e) => {
    const files = c.attachments.filter((a) => a.entryId === e.id);
    return html`<li class="entry entry--${e.kind}" id="entry-${e.id}">
  <p><strong>${t(kindKey[e.kind])}</strong> · ${formatTime(o.locale, e.createdAt)}${
    e.authorUserId === null ? null : html` · ${o.staff.names.get(e.authorUserId) ?? '?'}`
  }${
    e.kind === 'outbound'
      ? html` · ${e.delivery === 'sent' ? t('intake.delivery.sent') : t('intake.delivery.queued')}`
      : null
  }</p>
  ${e.body === null ? html`<p>${t('intake.erased')}</p>` : paragraphs(e.body)}
  ${
    files.length === 0
      ? null
      : html`<ul class="attachments">${files.map(
          (a) =>
            html`<li><a href="${path}/attachments/${a.id}">${a.filename ?? t('intake.erased')}</a> (${a.contentType}, ${formatBytes(a.size)})</li>`,
        )}</ul>`
  }
  ${
    e.refused.length === 0
      ? null
      : html`<p class="hint">${t('intake.attachments.refused', { count: e.refused.length })} ${e.refused
          .map((r) => `${r.contentType} (${formatBytes(r.size)})`)
          .join(', ')}</p>`
  }
</li>`;
  })}</ol>

<h2 id="reply">${t('intake.reply.title')}</h2>
${
  canReply
    ? html`<form method="post" action="${path}/reply" novalidate>
  ${ui.csrfField(o.csrf)}
  ${ui.textField({ t, name: 'reply', label: labels.reply, value: values.reply, errors, multiline: true, required: true, hint: t('intake.reply.hint') })}
  <button type="submit">${t('intake.reply.submit')}</button>
</form>`
    : html`<p>${t('intake.reply.noEmail')}</p>`
}

<h2 id="call">${t('intake.call.title')}</h2>
<form method="post" action="${path}/phone" novalidate>
  ${ui.csrfField(o.csrf)}
  ${ui.textField({ t, name: 'summary', label: labels.summary, value: values.summary, errors, multiline: true, required: true })}
  <button type="submit" class="secondary">${t('intake.call.submit')}</button>
</form>

<h2 id="note">${t('intake.note.title')}</h2>
<form method="post" action="${path}/note" novalidate>
  ${ui.csrfField(o.csrf)}
  ${ui.textField({ t, name: 'note', label: labels.note, value: values.note, errors, multiline: true, required: true, hint: t('intake.note.hint') })}
  <button type="submit" class="secondary">${t('intake.note.submit')}</button>
</form>

<h2>${t('intake.manage.title')}</h2>
${
  o.support
    ? html`<form method="post" action="${path}/assign">
  ${ui.csrfField(o.csrf)}
  <div class="field${errors?.userId ? ' field--error' : ''}">
    <label for="f-userId">${labels.userId}</label>
    ${errors?.userId ? html`<p class="field-error" id="f-userId-error">${t(errors.userId)}</p>` : null}
    <select id="f-userId" name="userId">
      <option value="">${t('intake.unassigned')}</option>
      ${o.staff.assignable.map((s) => html`<option value="${s.id}"${c.assignedUserId === s.id ? html` selected` : ''}>${s.name}</option>`)}
    </select>
  </div>
  <button type="submit" class="secondary">${t('intake.assign.submit')}</button>
</form>`
    : null
}
${
  o.support && c.name !== null && c.email !== null && c.phone !== null
    ? html`<h2 id="contact">${t('intake.contact.title')}</h2>
<form method="post" action="${path}/contact" novalidate>
  ${ui.csrfField(o.csrf)}
  <p class="hint">${t('intake.contact.hint')}</p>
  ${ui.textField({ t, name: 'name', label: labels.name, value: contactValue('name'), errors })}
  ${ui.textField({ t, name: 'email', label: labels.email, value: contactValue('email'), errors, type: 'email' })}
  ${ui.textField({ t, name: 'phone', label: labels.phone, value: contactValue('phone'), errors, type: 'tel' })}
  <button type="submit" class="secondary">${t('intake.contact.submit')}</button>
</form>`
    : null
}
<form method="post" action="${path}/status" class="inline-form">
  ${ui.csrfField(o.csrf)}
  ${conversationStatuses
    .filter((s) => s !== c.status)
    .map(
      (s) =>
        html`<button type="submit" name="status" value="${s}" class="secondary">${t(`intake.status.set.${s}`)}</button> `,
    )}
</form>
${
  o.support
    ? html`<form method="post" action="${path}/delete">
  ${ui.csrfField(o.csrf)}
  <p class="hint">${t('intake.delete.hint')}</p>
  <button type="submit" class="danger">${t('intake.delete.submit')}</button>
</form>`
    : null
}`;
}

export interface NewCallValues {
  readonly name?: string | undefined;
  readonly phone?: string | undefined;
  readonly email?: string | undefined;
  readonly message?: string | undefined;
}

export function newCallPage(o: {
  t: Translate;
  csrf: string;
  values: NewCallValues;
  errors?: ui.FieldErrors | undefined;
}): SafeHtml {
  const { t, values, errors } = o;
  const labels = {
    name: t('intake.call.who'),
    phone: t('intake.call.number'),
    email: t('intake.form.email'),
    message: t('intake.call.summary'),
  };
  return html`<p><a href="${BASE}">${t('intake.back')}</a></p>
<h1>${t('intake.call.new')}</h1>
${ui.errorSummary(t, errors, labels)}
<p>${t('intake.call.intro')}</p>
<form method="post" action="${BASE}/new-call" novalidate>
  ${ui.csrfField(o.csrf)}
  ${ui.textField({ t, name: 'name', label: labels.name, value: values.name, errors, autocomplete: 'off', required: true })}
  ${ui.textField({ t, name: 'phone', label: labels.phone, type: 'tel', value: values.phone, errors, autocomplete: 'off', required: true, inputmode: 'tel' })}
  ${ui.textField({ t, name: 'email', label: labels.email, type: 'email', value: values.email, errors, autocomplete: 'off', hint: t('intake.call.emailHint') })}
  ${ui.textField({ t, name: 'message', label: labels.message, value: values.message, errors, multiline: true, required: true })}
  <button type="submit">${t('intake.call.save')}</button>
</form>`;
}

const reasonKey: Record<string, MessageKey> = {
  unparseable: 'intake.quarantine.reason.unparseable',
  no_sender: 'intake.quarantine.reason.no_sender',
  auto_submitted: 'intake.quarantine.reason.auto_submitted',
  bounce: 'intake.quarantine.reason.bounce',
  empty: 'intake.quarantine.reason.empty',
  processing_failed: 'intake.quarantine.reason.processing_failed',
};

export function quarantinePage(o: {
  t: Translate;
  locale: Locale;
  csrf: string;
  items: readonly QuarantineMeta[];
  notice?: string | undefined;
}): SafeHtml {
  const { t } = o;
  return html`<p><a href="${BASE}">${t('intake.back')}</a></p>
<h1>${t('intake.quarantine.title')}</h1>
${ui.notice(o.notice)}
<p>${t('intake.quarantine.intro')}</p>
${
  o.items.length === 0
    ? html`<p>${t('intake.quarantine.empty')}</p>`
    : html`<table>
  <caption class="visually-hidden">${t('intake.quarantine.title')}</caption>
  <thead><tr>
    <th scope="col">${t('intake.list.col.created')}</th>
    <th scope="col">${t('intake.quarantine.mailbox')}</th>
    <th scope="col">${t('intake.quarantine.reason')}</th>
    <th scope="col">${t('intake.quarantine.size')}</th>
    <th scope="col"><span class="visually-hidden">${t('intake.quarantine.actions')}</span></th>
  </tr></thead>
  <tbody>${o.items.map((q) => {
    const key = reasonKey[q.reason];
    return html`<tr>
    <td>${formatTime(o.locale, q.created_at)}</td>
    <td>${q.mailbox === 'privacy' ? t('intake.mailbox.privacy') : t('intake.mailbox.contact')}</td>
    <td>${key === undefined ? q.reason : t(key)}</td>
    <td>${formatBytes(q.size_bytes)}</td>
    <td><a href="${BASE}/quarantine/${q.id}/raw">${t('intake.quarantine.download')}</a>
      <form method="post" action="${BASE}/quarantine/${q.id}/delete" class="inline-form">${ui.csrfField(o.csrf)}<button type="submit" class="link-button">${t('intake.quarantine.delete')}</button></form></td>
  </tr>`;
  })}</tbody>
</table>`
}`;
}
