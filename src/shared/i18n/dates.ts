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

/** The zone of the clock people read times on (the organisations using Kluis are Dutch). */
export const TIME_ZONE = 'Europe/Amsterdam';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(locale: Locale, style: MomentStyle): Intl.DateTimeFormat {
  const key = `${locale}|${style.date}|${style.time ?? ''}`;
  let formatter = formatters.get(key);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat(locale === 'nl' ? 'nl-NL' : 'en-GB', {
      dateStyle: style.date,
      ...(style.time === undefined ? {} : { timeStyle: style.time }),
      timeZone: TIME_ZONE,
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

/** Hours and minutes on the Amsterdam clock, 24-hour (`08:15`), the same in both languages. */
const clockFormatter = new Intl.DateTimeFormat('en-GB', {
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZone: TIME_ZONE,
});

/**
 * A moment for people, on every page and in every mail: the Amsterdam day in full and the time
 * ("7 december 2026 08:15", "7 December 2026, 08:15"). Machine-readable places (CSV, JSON, the
 * `datetime` of a `<time>`) keep the ISO value in UTC. A value that is no moment is returned as it is.
 */
export function formatTime(locale: Locale, iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const day = formatterOf(locale, { date: 'long' }).format(date);
  return `${day}${locale === 'nl' ? ' ' : ', '}${clockFormatter.format(date)}`;
}

/** A day: medium ("3 jun 2030") or long ("3 juni 2030"). */
export function formatDate(locale: Locale, value: string, date: MomentStyle['date'] = 'medium'): string {
  return formatMoment(locale, value, { date });
}

const offsetFormatter = new Intl.DateTimeFormat('en-US', { timeZone: TIME_ZONE, timeZoneName: 'longOffset' });

/** Minutes the Amsterdam clock is ahead of UTC at `at` (60 in winter, 120 in summer). */
function offsetMinutes(at: number): number {
  const name = offsetFormatter.formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? '';
  const m = /^GMT([+-])(\d{2}):(\d{2})$/.exec(name);
  if (m === null) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/**
 * The instant (ISO, UTC) a calendar day (`YYYY-MM-DD`) begins on the Amsterdam clock, so that a
 * filter by day matches the days people see next to the times. Midnight always exists there (the
 * clocks change at 02:00 and 03:00).
 */
export function localMidnight(day: string): string {
  const utc = Date.parse(`${day}T00:00:00.000Z`);
  const guess = utc - offsetMinutes(utc) * 60_000;
  return new Date(utc - offsetMinutes(guess) * 60_000).toISOString();
}
