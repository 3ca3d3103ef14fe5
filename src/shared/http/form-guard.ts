/**
 * Spam defence for the public contact form without third parties (no CAPTCHA service, nothing
 * leaves the server): a honeypot field people never see, a minimum fill time carried in a signed
 * hidden field (each accepted once), and a per-IP limit on submissions. The IP address is held in
 * memory only, for the length of the window (P12: metadata for defence, not kept).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
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

/**
 * A checked token as the store of spent tokens keeps it: a hash (the token itself is not kept),
 * its organisation, and when it would expire anyway (after which nothing needs to remember it).
 */
export interface SpentFormToken {
  readonly orgId: string;
  /** SHA-256 of the organisation and the token, base64url. */
  readonly hash: string;
  /** ISO time after which the token is refused as expired, so its record may go. */
  readonly expiresAt: string;
}

export type FormTokenCheck =
  | { readonly kind: 'ok'; readonly token: SpentFormToken }
  | { readonly kind: 'too_fast' }
  | { readonly kind: 'expired' }
  | { readonly kind: 'invalid' };

/**
 * Signs and checks the form's start time with an HMAC under the organisation's index key (from
 * the keyring, derived from the org key), bound to the organisation and this purpose.
 *
 * Whether a valid token was already spent is not decided here: spent tokens live in the
 * database (intake's `intake_spent_tokens`), which every node of a cluster shares (issue 15,
 * decision 0020); an in-memory set would let each node accept the same form once.
 */
export function createFormTimer(deps: { keyring: Pick<Keyring, 'blindIndex'>; clock: Clock }) {
  const { keyring, clock } = deps;
  const mac = (orgId: string, issuedAndNonce: string) =>
    keyring.blindIndex(orgId, 'text', `kluis/intake/contact-form-started/v2|${orgId}|${issuedAndNonce}`);

  return {
    /** The value of the hidden `started` field for a form shown now: time, nonce, HMAC. */
    async issue(orgId: string): Promise<string> {
      const now = clock.now().getTime();
      const nonce = randomBytes(12).toString('base64url');
      return `${now}.${nonce}.${await mac(orgId, `${now}.${nonce}`)}`;
    },

    async check(orgId: string, token: unknown): Promise<FormTokenCheck> {
      if (typeof token !== 'string' || token.length > 200) return { kind: 'invalid' };
      const match = /^((\d{1,16})\.[A-Za-z0-9_-]{16})\.([0-9a-f]{64})$/.exec(token);
      if (match?.[1] === undefined || match[2] === undefined || match[3] === undefined)
        return { kind: 'invalid' };
      const issued = Number(match[2]);
      const expected = Buffer.from(await mac(orgId, match[1]), 'hex');
      const given = Buffer.from(match[3], 'hex');
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { kind: 'invalid' };
      const age = clock.now().getTime() - issued;
      if (age < MIN_FILL_MS) return { kind: 'too_fast' };
      if (age > MAX_FORM_AGE_MS) return { kind: 'expired' };
      return {
        kind: 'ok',
        token: {
          orgId,
          hash: createHash('sha256').update(`${orgId}|${token}`).digest('base64url'),
          expiresAt: new Date(issued + MAX_FORM_AGE_MS).toISOString(),
        },
      };
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
