/**
 * Deadlines for rights requests (GDPR Art. 12(3)): an answer within one month of receipt,
 * extendable by at most two further months when the requester is told so, with the reasons,
 * within the first month. Computed as Regulation 1182/71 (periods, dates and time limits) and the
 * EDPB guidelines 01/2022 describe: the month runs from the day of receipt to the same date in
 * the next month (the last day of a shorter month when that date does not exist); a time limit
 * that ends on a Saturday, Sunday or public holiday ends on the next working day. Days on which
 * the clock stood still (waiting for the requester to prove identity or clarify) are added.
 * Days are calendar days in Europe/Amsterdam.
 */
import { addDays, addMonths } from '../retention/index.js';

export const TIME_ZONE = 'Europe/Amsterdam';
/** At most two months' extension (Art. 12(3)). */
export const MAX_EXTENSION_MONTHS = 2;

const dayFormat = new Intl.DateTimeFormat('en-CA', {
  timeZone: TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/** The calendar day (YYYY-MM-DD) of an instant in Europe/Amsterdam. */
export function localDay(at: Date): string {
  return dayFormat.format(at);
}

/** Whole days from `from` to `to` (both YYYY-MM-DD); negative when `to` is earlier. */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** Easter Sunday (Gregorian computus, Meeus/Jones/Butcher). */
function easterSunday(year: number): string {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/**
 * The general public holidays of the Netherlands (Algemene termijnenwet art. 3): New Year's Day,
 * Easter Monday, King's Day (27 April, the 26th when the 27th is a Sunday), Ascension Day, Whit
 * Monday, Christmas Day and Boxing Day, and Liberation Day (5 May) in lustrum years.
 * Good Friday and Easter/Whit Sunday fall on days that are not working days anyway or are not
 * general holidays.
 */
export function dutchPublicHolidays(year: number): Set<string> {
  const y = String(year).padStart(4, '0');
  const easter = easterSunday(year);
  const kingsDay = new Date(`${y}-04-27T00:00:00Z`).getUTCDay() === 0 ? `${y}-04-26` : `${y}-04-27`;
  const days = [
    `${y}-01-01`,
    addDays(easter, 1),
    kingsDay,
    addDays(easter, 39),
    addDays(easter, 50),
    `${y}-12-25`,
    `${y}-12-26`,
  ];
  if (year % 5 === 0) days.push(`${y}-05-05`);
  return new Set(days);
}

export function isWorkingDay(day: string): boolean {
  const weekday = new Date(`${day}T00:00:00Z`).getUTCDay();
  if (weekday === 0 || weekday === 6) return false;
  return !dutchPublicHolidays(Number(day.slice(0, 4))).has(day);
}

/** `day` itself when it is a working day, else the next working day. */
export function nextWorkingDay(day: string): string {
  let d = day;
  while (!isWorkingDay(d)) d = addDays(d, 1);
  return d;
}

export interface DeadlineInput {
  /** Day of receipt (YYYY-MM-DD). */
  receivedOn: string;
  extendedMonths: number;
  /** Whole days the clock stood still, not counting a pause still running. */
  pausedDays: number;
}

/** The last day of the first month (before any extension), with paused days added. */
export function firstMonthEnds(input: Omit<DeadlineInput, 'extendedMonths'>): string {
  return nextWorkingDay(addDays(addMonths(input.receivedOn, 1), input.pausedDays));
}

/** The day the answer is due. */
export function dueOn(input: DeadlineInput): string {
  return nextWorkingDay(addDays(addMonths(input.receivedOn, 1 + input.extendedMonths), input.pausedDays));
}

/** Days the clock stands still for a pause from `pausedAt` until `resumedAt` (calendar days). */
export function pausedDaysFor(pausedAt: Date, resumedAt: Date): number {
  return Math.max(0, daysBetween(localDay(pausedAt), localDay(resumedAt)));
}

export type ExtensionProblem = 'too_late' | 'too_long' | 'reason_required' | 'not_whole';

/**
 * May the deadline be extended by `months` more on `today`? Only within the first month, to at
 * most two months in all, with a reason (which the requester is told).
 */
export function extensionProblem(
  input: DeadlineInput & { today: string; months: number; reason: string },
): ExtensionProblem | undefined {
  if (!Number.isInteger(input.months) || input.months < 1) return 'not_whole';
  if (input.extendedMonths + input.months > MAX_EXTENSION_MONTHS) return 'too_long';
  if (input.reason.trim().length < 10) return 'reason_required';
  if (input.today > firstMonthEnds(input)) return 'too_late';
  return undefined;
}

/** Buckets for the open-requests chart, by days left until the due day. */
export const daysLeftBuckets = [
  { id: 'overdue', max: -1 },
  { id: 'week', max: 7 },
  { id: 'fortnight', max: 14 },
  { id: 'month', max: 31 },
  { id: 'later', max: Number.POSITIVE_INFINITY },
] as const;
export type DaysLeftBucket = (typeof daysLeftBuckets)[number]['id'];

export function bucketOf(daysLeft: number): DaysLeftBucket {
  for (const b of daysLeftBuckets) if (daysLeft <= b.max) return b.id;
  return 'later';
}
