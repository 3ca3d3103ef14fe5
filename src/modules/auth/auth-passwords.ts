/**
 * Passwords (ASVS 6.2): argon2id with the OWASP minimum parameters (m=19 MiB, t=2, p=1), a
 * strength policy checked against local dictionaries only (zxcvbn-ts: common and breached
 * passwords, English and Dutch words and names; no network), and random one-time passwords.
 */
import { randomInt } from 'node:crypto';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as zxcvbnCommon from '@zxcvbn-ts/language-common';
import * as zxcvbnEn from '@zxcvbn-ts/language-en';
import * as zxcvbnNl from '@zxcvbn-ts/language-nl-be';
import argon2 from 'argon2';
import { AppError } from '../../shared/errors.js';
import type { MessageKey } from '../../shared/i18n/messages.js';
import type { OrgsService } from '../orgs/index.js';

export interface PasswordHashParams {
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

/** OWASP Password Storage Cheat Sheet / ASVS 6.2: argon2id, 19 MiB, 2 iterations, 1 lane. */
export const owaspArgon2id: PasswordHashParams = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export const PASSWORD_MIN_LENGTH = 12;
/** ASVS 6.2.9 asks that at least 64 characters be allowed; more only costs hashing time. */
export const PASSWORD_MAX_LENGTH = 128;
/** Longest input ever handed to argon2 at login (anything longer is simply wrong). */
export const LOGIN_PASSWORD_MAX_LENGTH = 1024;

export function createPasswordHasher(params: PasswordHashParams = owaspArgon2id) {
  let dummy: Promise<string> | undefined;
  const hash = (password: string) => argon2.hash(password, { type: argon2.argon2id, ...params });
  return {
    params,
    hash,
    async verify(hashValue: string, password: string): Promise<boolean> {
      try {
        return await argon2.verify(hashValue, password);
      } catch {
        return false;
      }
    },
    /** Spends the same work as a real verification, for accounts that do not exist. */
    async verifyDummy(password: string): Promise<void> {
      dummy ??= hash('kluis-dummy-password-for-unknown-accounts');
      try {
        await argon2.verify(await dummy, password);
      } catch {
        // the result does not matter, only the time spent
      }
    },
    /** True when `hashValue` was made with other parameters (or another algorithm). */
    needsRehash(hashValue: string): boolean {
      if (!hashValue.startsWith('$argon2id$')) return true;
      try {
        return argon2.needsRehash(hashValue, params);
      } catch {
        return true;
      }
    },
  };
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>;

/** Words of the product and the demo operator: the strength estimate counts them as guessed first. */
export const PRODUCT_WORDS: readonly string[] = ['kluis', 'ambrix'];

let zxcvbn: ZxcvbnFactory | undefined;

/** The dictionaries are large; they are loaded once, on the first strength check. */
function estimator(): ZxcvbnFactory {
  if (zxcvbn === undefined) {
    const dutch = Object.fromEntries(
      Object.entries(zxcvbnNl.dictionary).map(([name, words]) => [`${name}-nl`, words]),
    );
    zxcvbn = new ZxcvbnFactory({
      dictionary: { ...zxcvbnCommon.dictionary, ...zxcvbnEn.dictionary, ...dutch },
      graphs: zxcvbnCommon.adjacencyGraphs,
    });
  }
  return zxcvbn;
}

export interface PasswordContext {
  readonly email: string;
  readonly displayName: string;
  /** Other words an attacker would try first (organisation name, product name). */
  readonly extraWords?: readonly string[];
}

/** Words of at least 4 letters from the user's email and name. */
function personalWords(context: PasswordContext): string[] {
  const email = context.email.toLowerCase();
  const local = email.split('@')[0] ?? '';
  const words = new Set<string>([email, local, context.displayName.toLowerCase().replace(/\s+/g, '')]);
  for (const part of [...local.split(/[^\p{L}\p{N}]+/u), ...context.displayName.split(/[^\p{L}\p{N}]+/u)]) {
    words.add(part.toLowerCase());
  }
  return [...words].filter((w) => w.length >= 4);
}

/**
 * Why a new password is refused, as a message key, or undefined when it is acceptable:
 * shorter than 12 or longer than 128 characters, containing the user's email or name, or
 * guessable (zxcvbn score below 3 against common/breached passwords and dictionaries).
 */
export function passwordProblem(password: string, context: PasswordContext): MessageKey | undefined {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return 'auth.password.tooShort';
  if (length > PASSWORD_MAX_LENGTH) return 'auth.password.tooLong';
  const lowered = password.toLowerCase();
  const personal = personalWords(context);
  if (personal.some((w) => lowered.includes(w))) return 'auth.password.personal';
  const result = estimator().check(password, [...personal, ...(context.extraWords ?? []), ...PRODUCT_WORDS]);
  if (result.score < 3) return 'auth.password.weak';
  return undefined;
}

const otpAlphabet = 'abcdefghjkmnpqrstuvwxyz23456789';

/** A random one-time password: 4 groups of 5 characters (about 99 bits), easy to read aloud. */
export function generateOneTimePassword(): string {
  const groups: string[] = [];
  for (let g = 0; g < 4; g++) {
    let group = '';
    for (let i = 0; i < 5; i++) group += otpAlphabet[randomInt(otpAlphabet.length)];
    groups.push(group);
  }
  return groups.join('-');
}

/**
 * Checks a user's chosen new password (policy, personal words, organisation name, reuse of the
 * current one) and returns its hash. Throws ERR_AUTH_PASSWORD_WEAK with the field problem.
 */
export async function hashNewPassword(
  deps: { hasher: PasswordHasher; orgs: Pick<OrgsService, 'getById'> },
  user: { org_id: string; email: string; display_name: string; password_hash: string },
  newPassword: string,
): Promise<string> {
  const org = await deps.orgs.getById(user.org_id);
  const problem = passwordProblem(newPassword, {
    email: user.email,
    displayName: user.display_name,
    extraWords: [org.name, org.slug],
  });
  if (problem !== undefined) {
    throw new AppError('ERR_AUTH_PASSWORD_WEAK', { fields: { newPassword: problem } });
  }
  if (await deps.hasher.verify(user.password_hash, newPassword)) {
    throw new AppError('ERR_AUTH_PASSWORD_WEAK', { fields: { newPassword: 'auth.password.reused' } });
  }
  return deps.hasher.hash(newPassword);
}
