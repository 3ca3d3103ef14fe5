/**
 * Spam defence for the public contact form without third parties (no CAPTCHA service, nothing
 * leaves the server): a honeypot field people never see, a minimum fill time carried in a signed
 * hidden field, and a per-IP limit on submissions. The IP address is held in memory only, for
 * the length of the window (P12: metadata for defence, not kept).
 */
import { timingSafeEqual } from 'node:crypto';
import type { Keyring } from '../../crypto/keyring.js';
import type { Clock } from '../clock.js';
import { DAY } from '../clock.js';

/** The honeypot's name: a field bots love to fill in. */
export const HONEYPOT_FIELD = 'website';
/** The signed start time of the form. */
export const STARTED_FIELD = 'started';

/** People need more than this to write a message. */
export const MIN_FILL_MS = 3_000;
/** A form older than this is shown again (with the input kept) instead of being accepted. */
export const MAX_FORM_AGE_MS = DAY;

export type FormTokenCheck = 'ok' | 'too_fast' | 'expired' | 'invalid';

/**
 * Signs and checks the form's start time with an HMAC under the organisation's index key (from
 * the keyring, derived from the org key), bound to the organisation and this purpose.
 */
export function createFormTimer(deps: { keyring: Pick<Keyring, 'blindIndex'>; clock: Clock }) {
  const { keyring, clock } = deps;
  const mac = (orgId: string, issuedMs: number) =>
    keyring.blindIndex(orgId, 'text', `kluis/intake/contact-form-started/v1|${orgId}|${issuedMs}`);

  return {
    /** The value of the hidden `started` field for a form shown now. */
    async issue(orgId: string): Promise<string> {
      const now = clock.now().getTime();
      return `${now}.${await mac(orgId, now)}`;
    },

    async check(orgId: string, token: unknown): Promise<FormTokenCheck> {
      if (typeof token !== 'string' || token.length > 200) return 'invalid';
      const match = /^(\d{1,16})\.([0-9a-f]{64})$/.exec(token);
      if (match?.[1] === undefined || match[2] === undefined) return 'invalid';
      const issued = Number(match[1]);
      const expected = Buffer.from(await mac(orgId, issued), 'hex');
      const given = Buffer.from(match[2], 'hex');
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'invalid';
      const age = clock.now().getTime() - issued;
      if (age < MIN_FILL_MS) return 'too_fast';
      if (age > MAX_FORM_AGE_MS) return 'expired';
      return 'ok';
    },
  };
}

/**
 * A fixed-window counter per key (an IP address): `hit` counts one submission and says whether
 * it is still within `max` per `windowMs`. Memory only; windows are forgotten when they end.
 */
export function createSubmissionLimiter(options: { clock: Clock; max: number; windowMs: number }) {
  const { clock, max, windowMs } = options;
  const windows = new Map<string, { start: number; count: number }>();

  function prune(now: number): void {
    for (const [key, w] of windows) if (now - w.start >= windowMs) windows.delete(key);
  }

  return {
    hit(key: string): boolean {
      const now = clock.now().getTime();
      if (windows.size > 10_000) prune(now);
      const current = windows.get(key);
      if (current === undefined || now - current.start >= windowMs) {
        windows.set(key, { start: now, count: 1 });
        return true;
      }
      current.count++;
      return current.count <= max;
    },
  };
}
