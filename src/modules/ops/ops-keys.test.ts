import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testCli } from '../../../test/cli.js';
import { createTestKluis, type TestKluis, testDialect } from '../../../test/dialects.js';
import { type Config, loadConfig } from '../../config/env.js';
import { masterKeyId } from '../../crypto/keyring.js';
import { type Kluis, openKluis } from '../../kluis.js';
import { createFixedClock } from '../../shared/clock.js';
import { createLogger } from '../../shared/logger.js';
import { registerOpsCommands } from './ops-commands.js';
import { rotateMasterKey, rotationKeys } from './ops-keys.js';

const clock = createFixedClock('2025-03-01T10:00:00.000Z');
const loc = { table: 'contacts', column: 'email', rowId: 'row-1' };

function envOf(k: TestKluis, keys: Record<string, string>): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'test',
    KLUIS_DATA_DIR: k.dir,
    KLUIS_DATABASE_URL: k.config.databaseUrl,
    KLUIS_KEYSTORE_URL: k.config.keystoreUrl,
    KLUIS_LOG_LEVEL: 'silent',
    ...(k.config.databaseKey ? { KLUIS_DATABASE_KEY: k.config.databaseKey.value } : {}),
    ...keys,
  };
}

/** Opens the same databases again as another process would, with only the given master keys. */
async function reopen(k: TestKluis, config: Config): Promise<Kluis> {
  if (testDialect === 'sqlite') return openKluis(config, { logger: createLogger('silent'), clock });
  const r = await sql<{ schema: string }>`select current_schema() as schema`.execute(k.db);
  const schema = r.rows[0]?.schema ?? '';
  return openKluis(config, {
    logger: createLogger('silent'),
    clock,
    schema,
    keystoreSchema: `${schema}_keys`,
  });
}

describe('kluis keys rotate', () => {
  let kluis: TestKluis;
  let oldKey: string;
  let newKey: string;
  let sealedA: Buffer;
  let sealedB: Buffer;
  beforeEach(async () => {
    kluis = await createTestKluis({ clock });
    oldKey = kluis.config.masterKey.value;
    newKey = randomBytes(32).toString('base64');
    sealedA = await kluis.keyring.encryptForSubject('org-a', 'subj-1', loc, 'jan@example.nl');
    sealedB = await kluis.keyring.encryptForOrg('org-b', loc, 'smtp-password');
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  async function expectOnlyNewKeyOpens(): Promise<void> {
    const onlyNew = await reopen(kluis, loadConfig(envOf(kluis, { KLUIS_MASTER_KEY: newKey })));
    try {
      expect(await onlyNew.keyring.decryptForSubject('org-a', 'subj-1', loc, sealedA)).toBe('jan@example.nl');
      expect(await onlyNew.keyring.decryptForOrg('org-b', loc, sealedB)).toBe('smtp-password');
    } finally {
      await onlyNew.close();
    }
    const onlyOld = await reopen(kluis, loadConfig(envOf(kluis, { KLUIS_MASTER_KEY: oldKey })));
    try {
      await expect(onlyOld.keyring.decryptForSubject('org-a', 'subj-1', loc, sealedA)).rejects.toMatchObject({
        code: 'ERR_CRYPTO_DECRYPT_FAILED',
      });
      await expect(onlyOld.keyring.decryptForOrg('org-b', loc, sealedB)).rejects.toMatchObject({
        code: 'ERR_CRYPTO_DECRYPT_FAILED',
      });
    } finally {
      await onlyOld.close();
    }
  }

  it('re-wraps every org key under KLUIS_MASTER_KEY with the old one as PREVIOUS, and audits it', async () => {
    const config = loadConfig(envOf(kluis, { KLUIS_MASTER_KEY: newKey, KLUIS_MASTER_KEY_PREVIOUS: oldKey }));
    const progress: [number, number][] = [];
    const result = await rotateMasterKey({
      db: kluis.db,
      keystore: kluis.keystore,
      masterKeys: rotationKeys(config).masterKeys,
      clock,
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(result).toMatchObject({ rewrapped: 2, orgKeys: 2 });
    expect(progress).toEqual([
      [1, 2],
      [2, 2],
    ]);
    await expectOnlyNewKeyOpens();

    const entry = await kluis.db
      .selectFrom('audit_log')
      .select(['actor', 'meta'])
      .where('action', '=', 'keys.master.rotated')
      .executeTakeFirstOrThrow();
    expect(entry.actor).toBe('system:cli');
    expect(JSON.parse(entry.meta)).toMatchObject({ count: 2, org_keys: 2 });
    expect(entry.meta).not.toContain(newKey);

    // Safe to run again: nothing left to re-wrap.
    const again = await rotateMasterKey({
      db: kluis.db,
      keystore: kluis.keystore,
      masterKeys: rotationKeys(config).masterKeys,
      clock,
    });
    expect(again.rewrapped).toBe(0);
  });

  it('rotates offline to the key in --new-key-file, the configured key being the old one', async () => {
    const file = join(kluis.dir, 'master.key.new');
    writeFileSync(file, `${newKey}\n`, { mode: 0o600 });
    const config = loadConfig(envOf(kluis, { KLUIS_MASTER_KEY: oldKey }));
    const keys = rotationKeys(config, `${newKey}\n`);
    expect(keys.source).toBe('new-key-file');
    await rotateMasterKey({ db: kluis.db, keystore: kluis.keystore, masterKeys: keys.masterKeys, clock });
    await expectOnlyNewKeyOpens();
  });

  it('refuses a weak, malformed or already configured new key', () => {
    const config = loadConfig(envOf(kluis, { KLUIS_MASTER_KEY: oldKey }));
    expect(() => rotationKeys(config, Buffer.alloc(32).toString('base64'))).toThrow(/not random/);
    expect(() => rotationKeys(config, 'hunter2')).toThrow(/32 random bytes/);
    expect(() => rotationKeys(config, oldKey)).toThrow(/already configured/);
  });

  it('changes nothing when the old key is not configured', async () => {
    const config = loadConfig(envOf(kluis, { KLUIS_MASTER_KEY: newKey }));
    await expect(
      rotateMasterKey({
        db: kluis.db,
        keystore: kluis.keystore,
        masterKeys: rotationKeys(config).masterKeys,
        clock,
      }),
    ).rejects.toThrow(/KLUIS_MASTER_KEY_PREVIOUS/);
    const ids = await kluis.keystore.selectFrom('org_keys').select('master_key_id').execute();
    expect(ids.map((r) => r.master_key_id)).toEqual([
      masterKeyId(Buffer.from(oldKey, 'base64')),
      masterKeyId(Buffer.from(oldKey, 'base64')),
    ]);
  });

  it('rolls the rotation back when the audit trail cannot be written', async () => {
    await sql`drop table audit_head`.execute(kluis.db);
    const config = loadConfig(envOf(kluis, { KLUIS_MASTER_KEY: newKey, KLUIS_MASTER_KEY_PREVIOUS: oldKey }));
    await expect(
      rotateMasterKey({
        db: kluis.db,
        keystore: kluis.keystore,
        masterKeys: rotationKeys(config).masterKeys,
        clock,
      }),
    ).rejects.toMatchObject({ code: 'ERR_AUDIT_WRITE_FAILED' });
    const ids = await kluis.keystore.selectFrom('org_keys').select('master_key_id').execute();
    expect(new Set(ids.map((r) => r.master_key_id))).toEqual(
      new Set([masterKeyId(Buffer.from(oldKey, 'base64'))]),
    );
  });

  it('prints the zero-downtime procedure in --help', async () => {
    let help = '';
    const program = new Command()
      .exitOverride()
      .configureOutput({ writeOut: (s) => (help += s), writeErr: (s) => (help += s) });
    registerOpsCommands(program, testCli({ env: {}, clock }).io);
    await expect(program.parseAsync(['node', 'kluis', 'keys', 'rotate', '--help'])).rejects.toThrow();
    expect(help).toMatch(/1\. .*KLUIS_MASTER_KEY_PREVIOUS/s);
    expect(help).toMatch(/2\. Run `kluis keys rotate`/);
    expect(help).toMatch(/3\. Remove KLUIS_MASTER_KEY_PREVIOUS/);
  });
});
