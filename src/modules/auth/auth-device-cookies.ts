/**
 * Device cookies (issue 15; OWASP "Slow down online guessing attacks with device cookies",
 * ASVS 6.3.1): after a complete sign-in the browser gets a signed cookie naming the user (by id)
 * and a random nonce. A later sign-in into THAT account that presents it is "trusted": it is not
 * refused by the lock that untrusted failures put on the account, and its password check has its
 * own lane in the sign-in work budget (auth-login-budget.ts), so a guessing flood from elsewhere
 * neither locks out nor starves the colleague at their own browser.
 *
 * Nothing is stored for a cookie: it is `v1.<user id>.<epoch>.<expiry>.<nonce>.<mac>`, the MAC
 * an HMAC-SHA-256 under a key derived from the master key (every configured master key verifies,
 * so a master-key rotation does not sign anyone out of their trust). The user's `device_epoch`
 * is raised on a password change or reset and on disabling the account: every cookie issued
 * before no longer matches. A cookie's own failures are counted under `device:<digest of the
 * nonce>` in `login_attempts`; `DEVICE_MAX_FAILURES` of them within the throttle window end its
 * trust until they age out.
 */
import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Config, masterKeysOf } from '../../config/env.js';
import { DAY } from '../../shared/clock.js';
import { cookieName } from '../../shared/http/cookies.js';

/** How long a device cookie stays valid after the sign-in that issued it. */
export const DEVICE_COOKIE_DAYS = 180;
/** Failed attempts with one device cookie (within the throttle window) that end its trust. */
export const DEVICE_MAX_FAILURES = 5;

const VERSION = 'v1';
const NONCE_BYTES = 16;

/** What a well-signed, unexpired device cookie claims. Trust still needs the account to match. */
export interface DeviceClaim {
  readonly userId: string;
  readonly epoch: number;
  /** The throttle key its failures are counted under (`device:<digest>`). */
  readonly key: string;
}

export interface IssuedDeviceCookie {
  readonly value: string;
  readonly expiresAt: Date;
}

export function deviceCookieName(config: Pick<Config, 'cookieSecure'>): string {
  return cookieName('kluis_device', config.cookieSecure);
}

/**
 * HttpOnly, SameSite=Strict, Secure in production. Path `/` (the `__Host-` prefix requires it);
 * sign-out leaves it in place: it names a browser the user signed in from, not a session.
 */
export function deviceCookieOptions(config: Pick<Config, 'cookieSecure'>, expiresAt: Date) {
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: config.cookieSecure,
    expires: expiresAt,
  };
}

function deriveDeviceKey(masterKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, 'kluis/device-cookie', 'device-cookie-mac/v1', 32));
}

export function createDeviceCookies(config: Pick<Config, 'masterKey' | 'previousMasterKeys'>) {
  const keys = masterKeysOf(config).map(deriveDeviceKey);
  const [current] = keys;
  const mac = (key: Buffer, body: string) => createHmac('sha256', key).update(body).digest();

  return {
    /** A new cookie for `userId` at its current epoch, valid `DEVICE_COOKIE_DAYS` from `now`. */
    issue(userId: string, epoch: number, now: Date): IssuedDeviceCookie {
      if (current === undefined) throw new Error('device cookies need a master key');
      const expiresAt = new Date(now.getTime() + DEVICE_COOKIE_DAYS * DAY);
      const nonce = randomBytes(NONCE_BYTES).toString('base64url');
      const body = [VERSION, userId, epoch, Math.floor(expiresAt.getTime() / 1000), nonce].join('.');
      return { value: `${body}.${mac(current, body).toString('base64url')}`, expiresAt };
    },

    /** The claim of a cookie that is well formed, signed by one of the master keys and unexpired. */
    verify(value: string | undefined, now: Date): DeviceClaim | undefined {
      if (value === undefined || value.length > 256) return undefined;
      const parts = value.split('.');
      if (parts.length !== 6 || parts[0] !== VERSION) return undefined;
      const [, userId = '', epochText = '', expiryText = '', nonce = '', given = ''] = parts;
      if (!/^\d{1,9}$/.test(epochText) || !/^\d{1,12}$/.test(expiryText)) return undefined;
      if (Number(expiryText) * 1000 <= now.getTime()) return undefined;
      const body = parts.slice(0, 5).join('.');
      const presented = Buffer.from(given, 'base64url');
      const signed = keys.some((key) => {
        const expected = mac(key, body);
        return presented.length === expected.length && timingSafeEqual(presented, expected);
      });
      if (!signed) return undefined;
      const digest = createHash('sha256').update(`kluis/device/v1|${nonce}`).digest('hex');
      return { userId, epoch: Number(epochText), key: `device:${digest.slice(0, 32)}` };
    },
  };
}

export type DeviceCookies = ReturnType<typeof createDeviceCookies>;
