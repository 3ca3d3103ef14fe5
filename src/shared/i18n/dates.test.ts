/**
 * Moments as people read them: on the Amsterdam clock in the reader's language, whatever the
 * server's time zone, across the changes to and from summer time.
 */
import { describe, expect, it } from 'vitest';
import { formatDate, formatTime, localMidnight } from './dates.js';

describe('formatTime', () => {
  it('writes a moment as a Dutch or English reader expects it', () => {
    expect(formatTime('nl', '2026-12-07T07:15:00.000Z')).toBe('7 december 2026 08:15');
    expect(formatTime('en', '2026-12-07T07:15:00.000Z')).toBe('7 December 2026, 08:15');
  });

  it('follows the clock back on the last Sunday of October (both halves of the doubled hour read 02:30)', () => {
    // 00:30 UTC is 02:30 summer time; 01:30 UTC is 02:30 winter time, an hour later.
    expect(formatTime('nl', '2026-10-25T00:30:00Z')).toBe('25 oktober 2026 02:30');
    expect(formatTime('nl', '2026-10-25T01:30:00Z')).toBe('25 oktober 2026 02:30');
    expect(formatTime('en', '2026-10-25T02:30:00Z')).toBe('25 October 2026, 03:30');
    expect(formatTime('nl', '2026-10-24T23:30:00Z')).toBe('25 oktober 2026 01:30');
  });

  it('follows the clock forward on the last Sunday of March (02:00–03:00 does not exist)', () => {
    expect(formatTime('nl', '2026-03-29T00:30:00Z')).toBe('29 maart 2026 01:30');
    expect(formatTime('nl', '2026-03-29T01:30:00Z')).toBe('29 maart 2026 03:30');
  });

  it('moves the day, month and year when Amsterdam is already past midnight', () => {
    expect(formatTime('nl', '2026-12-31T23:30:00Z')).toBe('1 januari 2027 00:30');
    expect(formatTime('en', '2026-06-30T22:15:00Z')).toBe('1 July 2026, 00:15');
  });

  it('gives back a value that is no moment as it is', () => {
    expect(formatTime('nl', 'not a time')).toBe('not a time');
  });
});

describe('formatDate', () => {
  it('dates a moment by the Amsterdam calendar, and a calendar day as that day', () => {
    expect(formatDate('nl', '2026-06-30T22:15:00Z', 'long')).toBe('1 juli 2026');
    expect(formatDate('en', '2026-06-30', 'long')).toBe('30 June 2026');
  });
});

describe('localMidnight', () => {
  it('starts a day at midnight on the Amsterdam clock, in winter and in summer time', () => {
    expect(localMidnight('2026-12-07')).toBe('2026-12-06T23:00:00.000Z');
    expect(localMidnight('2026-07-01')).toBe('2026-06-30T22:00:00.000Z');
  });

  it('starts the days of the clock changes at the right offset', () => {
    expect(localMidnight('2026-10-25')).toBe('2026-10-24T22:00:00.000Z');
    expect(localMidnight('2026-10-26')).toBe('2026-10-25T23:00:00.000Z');
    expect(localMidnight('2026-03-29')).toBe('2026-03-28T23:00:00.000Z');
    expect(localMidnight('2026-03-30')).toBe('2026-03-29T22:00:00.000Z');
  });
});
