/**
 * The egress list on /staff/register (P14): every destination data may leave to, and how each is
 * registered; the org's webhook addresses with the form to register or remove one.
 */
import { csrfField, type FieldErrors, textField } from '../../shared/html/forms.js';
import { html, type SafeHtml } from '../../shared/html/html.js';
import type { Translate } from '../../shared/i18n/messages.js';
import type { EgressDecision, EgressWebhook } from './register-egress.js';

/** How a destination is registered, in words. */
export function egressModeText(t: Translate, d: EgressDecision): string {
  return d.mode === 'subprocessor'
    ? t('register.egress.mode.subprocessor', { name: d.subprocessor ?? '' })
    : t(`register.egress.mode.${d.mode}`);
}

export function egressSection(o: {
  t: Translate;
  list: readonly EgressDecision[];
  webhooks: readonly EgressWebhook[];
  canEdit: boolean;
  csrf: string;
  errors?: FieldErrors | undefined;
  typedUrl?: string;
}): SafeHtml {
  const { t } = o;
  const hookId = new Map(o.webhooks.map((w) => [w.url, w.id]));
  return html`<section aria-labelledby="egress-title" class="egress">
<h2 id="egress-title">${t('register.egress.title')}</h2>
<p>${t('register.egress.intro')}</p>
<ul>
${o.list.map((d) => {
  const id = d.kind === 'webhook' ? hookId.get(d.destination) : undefined;
  return html`<li data-egress="${d.kind}" data-egress-mode="${d.mode}"><strong>${t(`register.egress.kind.${d.kind}`)}</strong>${
    d.destination === '' ? '' : html` <code>${d.destination}</code>`
  }: ${egressModeText(t, d)}${
    o.canEdit && id !== undefined
      ? html` <form method="post" action="/staff/register/webhooks/${id}/delete" class="inline">${csrfField(o.csrf)}<button type="submit">${t('register.egress.remove')}</button></form>`
      : ''
  }</li>`;
})}
</ul>
${
  o.canEdit
    ? html`<form method="post" action="/staff/register/webhooks" novalidate>
${csrfField(o.csrf)}
${textField({ t, name: 'url', label: t('register.egress.url'), type: 'url', value: o.typedUrl ?? '', errors: o.errors })}
<button type="submit">${t('register.egress.addWebhook')}</button>
</form>`
    : ''
}
</section>`;
}
