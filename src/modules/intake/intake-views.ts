/**
 * The public contact form and its answers (GOV.UK patterns: labels above fields, an error
 * summary linking to each field, the message next to the field, the input kept). The form asks
 * exactly name, email address, phone number and message (P2); the honeypot is hidden from
 * people (visually and from assistive technology) and skipped by the keyboard.
 */
import { csrfField, errorSummary, type FieldErrors, textField } from '../../shared/html/forms.js';
import { html, type SafeHtml } from '../../shared/html/html.js';
import { HONEYPOT_FIELD, STARTED_FIELD } from '../../shared/http/form-guard.js';
import type { Translate } from '../../shared/i18n/messages.js';

export interface ContactFormValues {
  readonly name?: string | undefined;
  readonly email?: string | undefined;
  readonly phone?: string | undefined;
  readonly message?: string | undefined;
}

export function contactFormPage(o: {
  t: Translate;
  csrf: string;
  action: string;
  started: string;
  orgName: string;
  values: ContactFormValues;
  errors?: FieldErrors | undefined;
  notice?: string | undefined;
}): SafeHtml {
  const { t, values, errors } = o;
  const labels = {
    name: t('intake.form.name'),
    email: t('intake.form.email'),
    phone: t('intake.form.phone'),
    message: t('intake.form.message'),
  };
  return html`<h1>${t('intake.form.title', { org: o.orgName })}</h1>
${errorSummary(t, errors, labels)}
${o.notice === undefined ? null : html`<div class="notice" role="status"><p>${o.notice}</p></div>`}
<p>${t('intake.form.intro')}</p>
<form method="post" action="${o.action}" novalidate>
  ${csrfField(o.csrf)}
  <input type="hidden" name="${STARTED_FIELD}" value="${o.started}">
  ${textField({ t, name: 'name', label: labels.name, value: values.name, errors, autocomplete: 'name', required: true })}
  ${textField({ t, name: 'email', label: labels.email, type: 'email', value: values.email, errors, autocomplete: 'email', hint: t('intake.form.contactHint'), inputmode: 'email' })}
  ${textField({ t, name: 'phone', label: labels.phone, type: 'tel', value: values.phone, errors, autocomplete: 'tel', hint: t('intake.form.phoneHint'), inputmode: 'tel' })}
  ${textField({ t, name: 'message', label: labels.message, value: values.message, errors, multiline: true, required: true, hint: t('intake.form.messageHint') })}
  <div class="visually-hidden" aria-hidden="true">
    <label for="f-${HONEYPOT_FIELD}">${t('intake.form.honeypot')}</label>
    <input type="text" id="f-${HONEYPOT_FIELD}" name="${HONEYPOT_FIELD}" value="" tabindex="-1" autocomplete="off">
  </div>
  <button type="submit">${t('intake.form.submit')}</button>
</form>
<p class="hint">${t('intake.form.privacy')}</p>`;
}

export function contactSentPage(o: { t: Translate; formPath: string }): SafeHtml {
  const { t } = o;
  return html`<h1>${t('intake.sent.title')}</h1>
<div class="notice" role="status"><p>${t('intake.sent.body')}</p></div>
<p>${t('intake.sent.next')}</p>
<p><a href="${o.formPath}">${t('intake.sent.another')}</a></p>`;
}

export type RefusalReason = 'spam' | 'too_fast' | 'rate_limited' | 'used';

/** The polite answer to a submission the spam defence refused: what happened and what to do. */
export function contactRefusedPage(o: { t: Translate; reason: RefusalReason; formPath: string }): SafeHtml {
  const { t } = o;
  const explanation =
    o.reason === 'rate_limited'
      ? t('intake.refused.rateLimited')
      : o.reason === 'too_fast'
        ? t('intake.refused.tooFast')
        : o.reason === 'used'
          ? t('intake.refused.used')
          : t('intake.refused.spam');
  return html`<h1>${t('intake.refused.title')}</h1>
<p>${explanation}</p>
<p>${t('intake.refused.nothingStored')}</p>
<p><a href="${o.formPath}">${t('intake.refused.back')}</a></p>`;
}
