/**
 * The request path reads the time in milliseconds (`nowMsOf`) while the rest reads Dates: both
 * must always name the same instant, or a session could outlive its limits by one reading.
 */
import { describe, expect, it } from 'vitest';
import { createFixedClock, MINUTE, nowMsOf, systemClock } from './clock.js';

describe('clock in milliseconds', () => {
  it('follows a test clock as it is set and advanced', () => {
    const clock = createFixedClock('2031-03-03T09:00:00.000Z');
    expect(nowMsOf(clock)).toBe(clock.now().getTime());
    clock.advance(31 * MINUTE);
    expect(nowMsOf(clock)).toBe(Date.parse('2031-03-03T09:31:00.000Z'));
    clock.set('2040-01-01T00:00:00.000Z');
    expect(nowMsOf(clock)).toBe(Date.parse('2040-01-01T00:00:00.000Z'));
  });

  it('falls back to the Date of a clock that has no millisecond reading', () => {
    const clock = { now: () => new Date('2031-03-03T09:00:00.000Z') };
    expect(nowMsOf(clock)).toBe(Date.parse('2031-03-03T09:00:00.000Z'));
  });

  it('reads the system time', () => {
    const before = Date.now();
    const now = nowMsOf(systemClock);
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});
