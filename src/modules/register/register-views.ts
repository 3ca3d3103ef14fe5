/**
 * Pages of the register: the register with its data map, the printable register, and the
 * activity and organisation forms. GOV.UK patterns: labels above fields, hints, error summary,
 * input kept; checkboxes in a fieldset. Sub-processors and agreements have their own views.
 */
import { textField } from '../../shared/html/forms.js';
import { type HtmlValue, html, type SafeHtml } from '../../shared/html/html.js';
import { renderMarkdown } from '../../shared/html/markdown.js';
import { notice } from '../../shared/html/notice.js';
import { formatDate } from '../../shared/i18n/dates.js';
import type { Locale, Translate } from '../../shared/i18n/messages.js';
import { dataMapText, renderDataMap } from './register-datamap.js';
import { type ActivityTexts, activityTexts } from './register-export.js';
import { label, type RetentionValues } from './register-labels.js';
import type { OrgInfo } from './register-orgs.js';
import type { RegisterSnapshot } from './register-service.js';
import { channels, type RegisterSettings } from './register-settings.js';
import { subprocessorTable } from './register-subprocessor-views.js';
import {
  checkboxGroup,
  type FormPageOptions,
  facts,
  fieldLabels,
  registerForm,
} from './register-view-parts.js';

/** What the catalogue says of an activity: the facts the privacy officer cannot change. */
function derivedFacts(t: Translate, x: ActivityTexts): [string, HtmlValue][] {
  return [
    [t('register.activity.legalBasis'), x.legalBasis],
    [t('register.activity.categories'), x.categories],
    [t('register.activity.subjects'), x.subjects],
  ];
}

function activitySections(
  o: {
    t: Translate;
    locale: Locale;
    snapshot: RegisterSnapshot;
    retention: RetentionValues;
    canEdit: boolean;
  },
  headingLevel: 2 | 3,
): SafeHtml[] {
  const { t } = o;
  return o.snapshot.activities.map((a) => {
    const x = activityTexts(a, t, o.locale, o.retention);
    const heading =
      headingLevel === 2
        ? html`<h2 id="activity-${a.purpose}">${x.name}</h2>`
        : html`<h3 id="activity-${a.purpose}">${x.name}</h3>`;
    return html`<section class="activity" aria-labelledby="activity-${a.purpose}">
${heading}
${facts([
  [t('register.activity.purpose'), x.purpose],
  [t('register.activity.description'), a.description === '' ? '' : renderMarkdown(a.description)],
  ...derivedFacts(t, x),
  [t('register.activity.recipients'), x.recipients],
  [t('register.activity.transfers'), x.transfers],
  [t('register.activity.retention'), x.retention],
  [t('register.activity.security'), x.security],
  [t('register.activity.fields'), html`<code>${x.fields}</code>`],
])}
${o.canEdit ? html`<p><a href="/staff/register/activities/${a.purpose}">${t('register.activity.edit')}<span class="visually-hidden">: ${x.name}</span></a></p>` : ''}
</section>`;
  });
}

export function registerPage(o: {
  t: Translate;
  locale: Locale;
  snapshot: RegisterSnapshot;
  retention: RetentionValues;
  canEdit: boolean;
  notice?: string | undefined;
  /** The egress list (P14), rendered by the route with its forms. */
  egress?: HtmlValue;
}): SafeHtml {
  const { t, locale, snapshot } = o;
  return html`<h1>${t('register.title')}</h1>
${notice(o.notice)}
<p>${t('register.intro')}</p>
${o.egress ?? ''}
<nav aria-labelledby="register-links-title" class="register-links">
  <h2 id="register-links-title" class="visually-hidden">${t('register.links.title')}</h2>
  <ul>
    ${o.canEdit ? html`<li><a href="/staff/register/settings">${t('register.links.settings')}</a></li>` : ''}
    <li><a href="/staff/subprocessors">${t('register.links.subprocessors')}</a></li>
    <li><a href="/staff/agreements">${t('register.links.agreements')}</a></li>
    <li><a href="/staff/statement">${t('register.links.statement')}</a></li>
  </ul>
</nav>
<p>${t('register.export.title')}: <a href="/staff/register/export.csv" download>${t('register.export.csv')}</a> ·
<a href="/staff/register/export.json" download>${t('register.export.json')}</a> ·
<a href="/staff/register/print">${t('register.export.print')}</a></p>
<section aria-labelledby="datamap-heading">
<h2 id="datamap-heading">${t('register.map.title')}</h2>
<p>${t('register.map.desc')}</p>
<div class="data-map" role="region" aria-label="${t('register.map.title')}" tabindex="0">
${renderDataMap(snapshot, t, locale)}
</div>
<h3>${t('register.map.textTitle')}</h3>
${dataMapText(snapshot, t, locale)}
</section>
<h2>${t('register.activities.title')}</h2>
${activitySections(o, 3)}`;
}

/** The register as a document to print or save as PDF (print styles hide the chrome). */
export function printPage(o: {
  t: Translate;
  locale: Locale;
  snapshot: RegisterSnapshot;
  retention: RetentionValues;
  date: string;
}): SafeHtml {
  const { t, snapshot } = o;
  const s = snapshot.settings;
  return html`<article class="print-document">
<h1>${t('register.printTitle')}</h1>
<p>${t('register.printMeta', { org: s.name, date: formatDate(o.locale, o.date, 'long') })}</p>
${facts([
  [t('register.settings.contactAddress'), s.contactAddress],
  [t('register.settings.contactEmail'), s.contactEmail],
  [t('register.settings.privacyEmail'), s.privacyEmail],
])}
${activitySections({ ...o, canEdit: false }, 2)}
<h2>${t('register.sp.title')}</h2>
${subprocessorTable(t, o.locale, snapshot.subprocessors, false)}
</article>`;
}

export interface ActivityFormValues {
  description: string;
  recipients: string;
  transfers: string;
  securityMeasures: string;
}

export function activityPage(
  o: FormPageOptions<ActivityFormValues> & {
    locale: Locale;
    snapshot: RegisterSnapshot;
    purpose: string;
    retention: RetentionValues;
  },
): SafeHtml {
  const { t } = o;
  const activity = o.snapshot.activities.find((a) => a.purpose === o.purpose);
  const name = label(t, 'purpose', o.purpose);
  const x = activity === undefined ? undefined : activityTexts(activity, t, o.locale, o.retention);
  const labels = fieldLabels(t, {
    description: 'register.activity.description',
    recipients: 'register.activity.recipients',
    transfers: 'register.activity.transfers',
    securityMeasures: 'register.activity.security',
  });
  const hints = fieldLabels(t, {
    description: 'register.activity.descriptionHint',
    recipients: 'register.activity.recipientsHint',
    transfers: 'register.activity.transfersHint',
    securityMeasures: 'register.activity.securityHint',
  });
  const fields = (['description', 'recipients', 'transfers', 'securityMeasures'] as const).map((name) =>
    textField({
      t,
      name,
      label: labels[name],
      hint: hints[name],
      value: o.values[name],
      errors: o.errors,
      multiline: true,
    }),
  );
  return html`<h1>${t('register.activity.editTitle', { name })}</h1>
<p>${t('register.activity.derivedNote')}</p>
${x === undefined ? '' : facts([...derivedFacts(t, x), [t('register.activity.retention'), x.retention]])}
${registerForm(o, {
  action: `/staff/register/activities/${o.purpose}`,
  labels,
  cancelHref: `/staff/register#activity-${o.purpose}`,
  fields,
})}`;
}

export type SettingsFormValues = Omit<RegisterSettings, 'name' | 'updatedAt' | 'channels'> & {
  readonly channels: readonly string[];
};

export function settingsPage(
  o: FormPageOptions<SettingsFormValues> & { org: OrgInfo; notice?: string | undefined },
): SafeHtml {
  const { t, values: v } = o;
  const labels = fieldLabels(t, {
    displayName: 'register.settings.displayName',
    contactAddress: 'register.settings.contactAddress',
    contactEmail: 'register.settings.contactEmail',
    privacyEmail: 'register.settings.privacyEmail',
    phone: 'register.settings.phone',
    website: 'register.settings.website',
    termsUrl: 'register.settings.termsUrl',
    channels: 'register.settings.channels',
  });
  return html`<h1>${t('register.settings.title')}</h1>
${notice(o.notice)}
<p>${t('register.settings.intro')}</p>
${registerForm(o, {
  action: '/staff/register/settings',
  labels,
  cancelHref: '/staff/register',
  fields: html`${textField({ t, name: 'displayName', label: labels.displayName, hint: t('register.settings.displayNameHint', { name: o.org.name }), value: v.displayName, errors: o.errors })}
${textField({ t, name: 'contactAddress', label: labels.contactAddress, value: v.contactAddress, errors: o.errors, multiline: true, autocomplete: 'street-address' })}
${textField({ t, name: 'contactEmail', label: labels.contactEmail, type: 'email', value: v.contactEmail, errors: o.errors })}
${textField({ t, name: 'privacyEmail', label: labels.privacyEmail, hint: t('register.settings.privacyEmailHint'), type: 'email', value: v.privacyEmail, errors: o.errors })}
${textField({ t, name: 'phone', label: labels.phone, type: 'tel', value: v.phone, errors: o.errors })}
${textField({ t, name: 'website', label: labels.website, type: 'url', value: v.website, errors: o.errors })}
${textField({ t, name: 'termsUrl', label: labels.termsUrl, hint: t('register.settings.termsUrlHint'), type: 'url', value: v.termsUrl, errors: o.errors })}
${checkboxGroup({
  t,
  name: 'channels',
  legend: labels.channels,
  choices: channels.map((c) => ({ value: c, label: label(t, 'channel', c) })),
  checked: v.channels,
  errors: o.errors,
})}
`,
})}`;
}
