/**
 * Names of catalogue ids in the reader's language. Another module may add a category, purpose or
 * retention policy to the catalogue before its label exists here: the page then shows the id
 * (never breaks), and `register-labels.test.ts` fails until both languages have a label.
 */
import type { Config } from '../../config/env.js';
import { isMessageKey, type MessageValues, type Translate } from '../../shared/i18n/messages.js';

export type LabelKind =
  | 'category'
  | 'categoryHint'
  | 'purpose'
  | 'purposeHint'
  | 'basis'
  | 'subjects'
  | 'retention'
  | 'protection'
  | 'channel';

export function labelKey(kind: LabelKind, id: string): string {
  return `register.${kind}.${id}`;
}

/** The label of `id`, or the id made readable when no label exists (yet). */
export function label(t: Translate, kind: LabelKind, id: string, values?: MessageValues): string {
  const key = labelKey(kind, id);
  if (isMessageKey(key)) return t(key, values);
  return id.replace(/_/g, ' ');
}

/** "a, b and c" in the reader's language. */
export function joinList(locale: 'nl' | 'en', items: readonly string[]): string {
  return new Intl.ListFormat(locale === 'nl' ? 'nl-NL' : 'en-GB', {
    style: 'long',
    type: 'conjunction',
  }).format(items);
}

export interface RetentionValues extends MessageValues {
  truncateDays: number;
  deleteDays: number;
  sessionHours: number;
}

/** The configured log periods that the retention labels and the statement name. */
export function retentionValuesOf(
  config: Pick<Config, 'accessLog' | 'sessionAbsoluteHours'>,
): RetentionValues {
  return {
    truncateDays: config.accessLog.truncateIpAfterDays,
    deleteDays: config.accessLog.deleteAfterDays,
    sessionHours: config.sessionAbsoluteHours,
  };
}
