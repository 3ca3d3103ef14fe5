/**
 * The 72-hour clock (Art. 33(1) GDPR): the controller notifies the Autoriteit Persoonsgegevens
 * without undue delay and, where feasible, within 72 hours of becoming aware; a later
 * notification gives the reasons for the delay. Reminders go out at 24 and 48 hours.
 */
import { HOUR } from '../../shared/clock.js';

export const NOTIFY_WITHIN_HOURS = 72;
export const REMINDER_HOURS = [24, 48] as const;
export type ReminderKind = 'reminder_24h' | 'reminder_48h';

export interface ClockState {
  /** The moment the 72 hours end (ISO). */
  readonly deadline: string;
  /** Whole hours since awareness (floor). */
  readonly elapsedHours: number;
  /** Whole hours left (ceil); negative when past the deadline. */
  readonly hoursLeft: number;
  readonly overdue: boolean;
}

export function clockOf(awareAt: string, now: Date): ClockState {
  const aware = Date.parse(awareAt);
  const deadline = aware + NOTIFY_WITHIN_HOURS * HOUR;
  const left = deadline - now.getTime();
  return {
    deadline: new Date(deadline).toISOString(),
    elapsedHours: Math.floor((now.getTime() - aware) / HOUR),
    hoursLeft: left >= 0 ? Math.ceil(left / HOUR) : -Math.floor(-left / HOUR),
    overdue: left < 0,
  };
}

/** The reminders due at `now` (24 h, 48 h), oldest first. */
export function remindersDue(awareAt: string, now: Date): ReminderKind[] {
  const elapsed = now.getTime() - Date.parse(awareAt);
  return REMINDER_HOURS.filter((h) => elapsed >= h * HOUR).map((h) => `reminder_${h}h` as ReminderKind);
}

/** A notification at `at` is late (after 72 hours) and so needs reasons for the delay. */
export function isLate(awareAt: string, at: Date): boolean {
  return at.getTime() > Date.parse(awareAt) + NOTIFY_WITHIN_HOURS * HOUR;
}
