/** The development mail page: what the local SMTP sink received, newest first, as text. */
import { html, type SafeHtml } from '../../shared/html/html.js';
import { timeTag } from '../../shared/html/time.js';
import type { Locale, Translate } from '../../shared/i18n/messages.js';
import type { SinkMessage } from './mail-sink.js';

export function devMailPage(o: {
  t: Translate;
  locale: Locale;
  address: string;
  messages: readonly SinkMessage[];
}): SafeHtml {
  const { t } = o;
  const newestFirst = [...o.messages].reverse();
  return html`<h1>${t('mail.dev.title')}</h1>
<p>${t('mail.dev.intro', { address: o.address })}</p>
${
  newestFirst.length === 0
    ? html`<p>${t('mail.dev.empty')}</p>`
    : newestFirst.map(
        (m, i) => html`<article class="dev-mail" aria-labelledby="m-${i}">
  <h2 id="m-${i}">${m.subject === '' ? t('mail.dev.noSubject') : m.subject}</h2>
  <dl>
    <dt>${t('mail.dev.received')}</dt><dd>${timeTag(o.locale, m.receivedAt, '')}</dd>
    <dt>${t('mail.dev.from')}</dt><dd>${m.from}</dd>
    <dt>${t('mail.dev.to')}</dt><dd>${m.to.join(', ')}</dd>
    <dt>${t('mail.dev.messageId')}</dt><dd class="mono">${m.messageId ?? ''}</dd>
    ${m.inReplyTo === undefined ? '' : html`<dt>${t('mail.dev.inReplyTo')}</dt><dd class="mono">${m.inReplyTo}</dd>`}
  </dl>
  <h3 class="visually-hidden">${t('mail.dev.text')}</h3>
  <pre>${m.text}</pre>
</article>`,
      )
}`;
}
