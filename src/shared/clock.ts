/** Time is a dependency: services take a Clock, tests move it instead of sleeping. */
export interface Clock {
  now(): Date;
  /** The same instant in milliseconds, without making a Date (the request path asks per request). */
  nowMs?(): number;
}

export const systemClock: Clock = { now: () => new Date(), nowMs: Date.now };

/** `clock.nowMs()` when the clock has it, else `clock.now().getTime()`. */
export function nowMsOf(clock: Clock): number {
  return clock.nowMs === undefined ? clock.now().getTime() : clock.nowMs();
}

/** A clock tests can set and advance. */
export function createFixedClock(
  start: Date | string,
): Clock & { set(d: Date | string): void; advance(ms: number): void } {
  let current = new Date(start);
  return {
    now: () => new Date(current),
    nowMs: () => current.getTime(),
    set: (d) => {
      current = new Date(d);
    },
    advance: (ms) => {
      current = new Date(current.getTime() + ms);
    },
  };
}

/** An instant as a compact UTC stamp for file names: `20300603T100000Z`. */
export function compactStamp(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
