import { describe, expect, it } from 'vitest';
import {
  bucketOf,
  dueOn,
  dutchPublicHolidays,
  extensionProblem,
  firstMonthEnds,
  localDay,
  nextWorkingDay,
  pausedDaysFor,
} from './rights-deadlines.js';

const due = (receivedOn: string, extendedMonths = 0, pausedDays = 0) =>
  dueOn({ receivedOn, extendedMonths, pausedDays });

describe('rights deadlines (Art. 12(3), Regulation 1182/71)', () => {
  it('runs one calendar month from the day of receipt, clamped to the end of a shorter month', () => {
    expect(due('2026-03-10')).toBe('2026-04-10'); // a Friday
    expect(due('2024-01-31')).toBe('2024-02-29'); // leap year, a Thursday
    expect(due('2023-01-31')).toBe('2023-02-28'); // a Tuesday
  });

  it('moves a deadline that ends on a weekend or Dutch public holiday to the next working day', () => {
    expect(due('2026-01-15')).toBe('2026-02-16'); // 15 Feb 2026 is a Sunday
    expect(due('2025-11-25')).toBe('2025-12-29'); // Christmas, Boxing Day, then a weekend
    expect(due('2026-03-06')).toBe('2026-04-07'); // Easter Monday 6 April 2026
    expect(dutchPublicHolidays(2026).has('2026-05-14')).toBe(true); // Ascension Day
    expect(dutchPublicHolidays(2026).has('2026-05-25')).toBe(true); // Whit Monday
    expect(dutchPublicHolidays(2025).has('2025-04-26')).toBe(true); // King's Day on a Sunday moves back
    expect(dutchPublicHolidays(2025).has('2025-05-05')).toBe(true); // Liberation Day in a lustrum year
    expect(dutchPublicHolidays(2026).has('2026-05-05')).toBe(false);
    expect(nextWorkingDay('2026-02-13')).toBe('2026-02-13');
  });

  it('adds the days the clock stood still, and extensions of one or two months', () => {
    expect(due('2026-01-15', 0, 10)).toBe('2026-02-25');
    expect(due('2026-01-15', 1)).toBe('2026-03-16'); // 15 March is a Sunday
    expect(due('2026-01-15', 2)).toBe('2026-04-15');
    expect(firstMonthEnds({ receivedOn: '2026-01-15', pausedDays: 3 })).toBe('2026-02-18');
  });

  it('counts paused days in the Amsterdam calendar', () => {
    // 23:30 UTC on 14 January is already 15 January in Amsterdam.
    expect(localDay(new Date('2026-01-14T23:30:00Z'))).toBe('2026-01-15');
    expect(pausedDaysFor(new Date('2026-01-14T23:30:00Z'), new Date('2026-01-15T22:00:00Z'))).toBe(0);
    expect(pausedDaysFor(new Date('2026-03-28T10:00:00Z'), new Date('2026-03-30T10:00:00Z'))).toBe(2); // over DST
    expect(pausedDaysFor(new Date('2026-03-30T10:00:00Z'), new Date('2026-03-28T10:00:00Z'))).toBe(0);
  });

  it('allows an extension only within the first month, to two months in all, with a reason', () => {
    const base = {
      receivedOn: '2026-01-15',
      extendedMonths: 0,
      pausedDays: 0,
      reason: 'Complex request across systems',
    };
    expect(extensionProblem({ ...base, today: '2026-02-16', months: 2 })).toBeUndefined(); // last day of month one
    expect(extensionProblem({ ...base, today: '2026-02-17', months: 1 })).toBe('too_late');
    expect(extensionProblem({ ...base, today: '2026-01-20', months: 3 })).toBe('too_long');
    expect(extensionProblem({ ...base, extendedMonths: 1, today: '2026-01-20', months: 2 })).toBe('too_long');
    expect(extensionProblem({ ...base, extendedMonths: 1, today: '2026-01-20', months: 1 })).toBeUndefined();
    expect(extensionProblem({ ...base, today: '2026-01-20', months: 1, reason: 'busy' })).toBe(
      'reason_required',
    );
    expect(extensionProblem({ ...base, today: '2026-01-20', months: 0 })).toBe('not_whole');
    // A pause moves the end of the first month too.
    expect(extensionProblem({ ...base, pausedDays: 5, today: '2026-02-19', months: 1 })).toBeUndefined();
  });

  it('buckets open requests by days left', () => {
    expect(bucketOf(-1)).toBe('overdue');
    expect(bucketOf(0)).toBe('week');
    expect(bucketOf(7)).toBe('week');
    expect(bucketOf(8)).toBe('fortnight');
    expect(bucketOf(31)).toBe('month');
    expect(bucketOf(60)).toBe('later');
  });
});
