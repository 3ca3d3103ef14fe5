/**
 * Dates and times as people read them: in the page's language, on the Amsterdam clock (where the
 * organisations using Kluis are), whatever the server's time zone. One formatter per style and
 * language is built once and reused (building an `Intl.DateTimeFormat` costs more than using it).
 */
import type { Locale } from './messages.js';

export interface MomentStyle {
  readonly date: 'medium' | 'long';
  /** Leave out for a date alone. */
  readonly time?: 'short' | 'medium';
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(locale: Locale, style: MomentStyle): Intl.DateTimeFormat {
  const key = `${locale}|${style.date}|${style.time ?? ''}`;
  let formatter = formatters.get(key);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat(locale === 'nl' ? 'nl-NL' : 'en-GB', {
      dateStyle: style.date,
      ...(style.time === undefined ? {} : { timeStyle: style.time }),
      timeZone: 'Europe/Amsterdam',
    });
    formatters.set(key, formatter);
  }
  return formatter;
}

/**
 * An ISO instant or a calendar day (`YYYY-MM-DD`, read at noon UTC so it is the same day in
 * Amsterdam) in `style`. A value that is neither is returned as it is.
 */
export function formatMoment(locale: Locale, value: string, style: MomentStyle): string {
  const date = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T12:00:00Z` : value);
  if (Number.isNaN(date.getTime())) return value;
  return formatterOf(locale, style).format(date);
}

/** A moment on staff pages: medium date and short time ("3 jun 2030, 10:00"). */
export function formatTime(locale: Locale, iso: string): string {
  return formatMoment(locale, iso, { date: 'medium', time: 'short' });
}

/** A day: medium ("3 jun 2030") or long ("3 juni 2030"). */
export function formatDate(locale: Locale, value: string, date: MomentStyle['date'] = 'medium'): string {
  return formatMoment(locale, value, { date });
}
