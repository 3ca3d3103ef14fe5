/**
 * Spam defence for the public contact form without third parties (no CAPTCHA service, nothing
 * leaves the server): a honeypot field people never see, a minimum fill time carried in a signed
 * hidden field, and a per-IP limit on submissions. The IP address is held in memory only, for
 * the length of the window (P12: metadata for defence, not kept).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
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

export type FormTokenCheck = 'ok' | 'too_fast' | 'expired' | 'invalid' | 'used';

/**
 * Signs and checks the form's start time with an HMAC under the organisation's index key (from
 * the keyring, derived from the org key), bound to the organisation and this purpose.
 */
export function createFormTimer(deps: { keyring: Pick<Keyring, 'blindIndex'>; clock: Clock }) {
  const { keyring, clock } = deps;
  const mac = (orgId: string, issuedAndNonce: string) =>
    keyring.blindIndex(orgId, 'text', `kluis/intake/contact-form-started/v2|${orgId}|${issuedAndNonce}`);

  // Tokens already spent on an accepted submission, until they would expire anyway (issue 16:
  // one token could carry any number of posts for 24 hours). Memory only, like the rate limiter:
  // with several nodes behind a balancer a token can be spent once per node.
  const spent = new Map<string, number>();
  const prune = (now: number) => {
    for (const [token, issued] of spent) if (now - issued > MAX_FORM_AGE_MS) spent.delete(token);
  };

  return {
    /** The value of the hidden `started` field for a form shown now: time, nonce, HMAC. */
    async issue(orgId: string): Promise<string> {
      const now = clock.now().getTime();
      const nonce = randomBytes(12).toString('base64url');
      return `${now}.${nonce}.${await mac(orgId, `${now}.${nonce}`)}`;
    },

    async check(orgId: string, token: unknown): Promise<FormTokenCheck> {
      if (typeof token !== 'string' || token.length > 200) return 'invalid';
      const match = /^((\d{1,16})\.[A-Za-z0-9_-]{16})\.([0-9a-f]{64})$/.exec(token);
      if (match?.[1] === undefined || match[2] === undefined || match[3] === undefined) return 'invalid';
      const issued = Number(match[2]);
      const expected = Buffer.from(await mac(orgId, match[1]), 'hex');
      const given = Buffer.from(match[3], 'hex');
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'invalid';
      const age = clock.now().getTime() - issued;
      if (age < MIN_FILL_MS) return 'too_fast';
      if (age > MAX_FORM_AGE_MS) return 'expired';
      if (spent.has(`${orgId}|${token}`)) return 'used';
      return 'ok';
    },

    /**
     * Marks a checked token as spent by an accepted submission; false when it already was (two
     * posts of the same form racing). A form shown again for corrections keeps its token.
     */
    spend(orgId: string, token: string): boolean {
      const now = clock.now().getTime();
      if (spent.size > 10_000) prune(now);
      const key = `${orgId}|${token}`;
      if (spent.has(key)) return false;
      spent.set(key, Number(token.split('.')[0]));
      return true;
    },
  };
}

export interface SubmissionLimiter {
  /** Counts one submission for `key` and says whether it is still within the budget. */
  hit(key: string): Promise<boolean>;
}

/**
 * A fixed-window counter per key (an IP address): `hit` counts one submission and says whether
 * it is still within `max` per `windowMs`. In memory (one node), or — with `redis` (a cluster,
 * KLUIS_REDIS_URL) — in Redis under `kluis:limit:<name>:<window>:<key>`, so every node counts
 * against the same budget; the key expires with its window (P12: nothing kept past it).
 */
export function createSubmissionLimiter(options: {
  clock: Clock;
  max: number;
  windowMs: number;
  name?: string;
  redis?: Redis | undefined;
}): SubmissionLimiter {
  const { clock, max, windowMs, redis } = options;
  if (redis !== undefined) {
    const prefix = `kluis:limit:${options.name ?? 'form'}`;
    return {
      async hit(key) {
        const window = Math.floor(clock.now().getTime() / windowMs);
        const name = `${prefix}:${window}:${key}`;
        const replies = await redis.multi().incr(name).pexpire(name, windowMs, 'NX').exec();
        const count = Number(replies?.[0]?.[1] ?? Number.POSITIVE_INFINITY);
        return count <= max;
      },
    };
  }
  const windows = new Map<string, { start: number; count: number }>();

  function prune(now: number): void {
    for (const [key, w] of windows) if (now - w.start >= windowMs) windows.delete(key);
  }

  return {
    async hit(key: string): Promise<boolean> {
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
