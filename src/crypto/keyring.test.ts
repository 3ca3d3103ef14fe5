import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis, testDialect } from '../../test/dialects.js';
import { AppError } from '../shared/errors.js';
import { open, seal } from './aead.js';
import { createKeyring } from './keyring.js';

const loc = { table: 'contacts', column: 'email', rowId: 'row-1' };

describe('AES-256-GCM envelope', () => {
  const key = randomBytes(32);

  it('refuses a ciphertext whose tag was truncated to 4 bytes', () => {
    const env = seal(key, Buffer.from('secret'), 'aad');
    // Keep the header layout but cut the tag: version(1) + iv(12) + 4-byte tag, then the body.
    const truncated = Buffer.concat([env.subarray(0, 13 + 4), env.subarray(29)]);
    expect(() => open(key, truncated, 'aad')).toThrow(AppError);
  });

  it('refuses a ciphertext moved to another row (associated data differs)', () => {
    const env = seal(key, Buffer.from('secret'), 'kluis/field/v1|a|t|c|row-1');
    expect(() => open(key, env, 'kluis/field/v1|a|t|c|row-2')).toThrow(AppError);
    expect(open(key, env, 'kluis/field/v1|a|t|c|row-1').toString()).toBe('secret');
  });

  it('refuses a flipped ciphertext bit', () => {
    const env = seal(key, Buffer.from('secret'), 'aad');
    env[env.length - 1] = (env[env.length - 1] ?? 0) ^ 1;
    expect(() => open(key, env, 'aad')).toThrow(AppError);
  });
});

describe('keyring', () => {
  let kluis: TestKluis;
  beforeEach(async () => {
    kluis = await createTestKluis();
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  it('round-trips a subject field and binds it to the subject', async () => {
    const env = await kluis.keyring.encryptForSubject('org-a', 'subj-1', loc, 'jan@example.nl');
    expect(await kluis.keyring.decryptForSubject('org-a', 'subj-1', loc, env)).toBe('jan@example.nl');
    await expect(kluis.keyring.decryptForSubject('org-a', 'subj-2', loc, env)).rejects.toThrow();
    await expect(kluis.keyring.decryptForSubject('org-b', 'subj-1', loc, env)).rejects.toThrow();
  });

  it('makes a subject’s data unreadable once the subject key is destroyed, and never re-mints it', async () => {
    const env = await kluis.keyring.encryptForSubject('org-a', 'subj-1', loc, 'jan@example.nl');
    await kluis.keyring.destroySubjectKey('org-a', 'subj-1');
    await expect(kluis.keyring.decryptForSubject('org-a', 'subj-1', loc, env)).rejects.toMatchObject({
      code: 'ERR_CRYPTO_KEY_DESTROYED',
    });
    await expect(kluis.keyring.encryptForSubject('org-a', 'subj-1', loc, 'new')).rejects.toMatchObject({
      code: 'ERR_CRYPTO_KEY_DESTROYED',
    });
    // A second keyring over the same store (another process) agrees.
    const other = createKeyring({
      keystore: kluis.keystore,
      masterKeys: [Buffer.from(kluis.config.masterKey.value, 'base64')],
      clock: kluis.clock,
    });
    await expect(other.decryptForSubject('org-a', 'subj-1', loc, env)).rejects.toMatchObject({
      code: 'ERR_CRYPTO_KEY_DESTROYED',
    });
  });

  it('gives equal blind indexes for equal normalised values, different ones across orgs', async () => {
    const a = await kluis.keyring.blindIndex('org-a', 'email', ' Jan@Example.NL ');
    const b = await kluis.keyring.blindIndex('org-a', 'email', 'jan@example.nl');
    const c = await kluis.keyring.blindIndex('org-b', 'email', 'jan@example.nl');
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rotates the master key by re-wrapping org keys, and data stays readable', async () => {
    const env = await kluis.keyring.encryptForSubject('org-a', 'subj-1', loc, 'jan@example.nl');
    const oldKey = Buffer.from(kluis.config.masterKey.value, 'base64');
    const newKey = randomBytes(32);
    const during = createKeyring({
      keystore: kluis.keystore,
      masterKeys: [newKey, oldKey],
      clock: kluis.clock,
    });
    expect(await during.rotateMasterKey()).toEqual({ rewrapped: 1 });
    const after = createKeyring({ keystore: kluis.keystore, masterKeys: [newKey], clock: kluis.clock });
    expect(await after.decryptForSubject('org-a', 'subj-1', loc, env)).toBe('jan@example.nl');
    const onlyOld = createKeyring({ keystore: kluis.keystore, masterKeys: [oldKey], clock: kluis.clock });
    await expect(onlyOld.decryptForSubject('org-a', 'subj-1', loc, env)).rejects.toThrow();
  });

  it.runIf(testDialect === 'sqlite')(
    'stores no plaintext and no SQLite header in the database files',
    async () => {
      await kluis.keyring.encryptForSubject('org-a', 'subj-1', loc, 'jan@example.nl');
      await kluis.checkpoint();
      for (const file of ['kluis.db', 'kluis-keys.db']) {
        const raw = readFileSync(`${kluis.dir}/${file}`);
        expect(raw.subarray(0, 16).toString('latin1')).not.toBe('SQLite format 3\u0000');
        expect(raw.includes(Buffer.from('subject_keys'))).toBe(false);
      }
    },
  );
});
