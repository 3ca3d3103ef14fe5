import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import SQLiteDatabase from 'better-sqlite3-multiple-ciphers';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis, testDialect, testPgUrl } from '../../test/dialects.js';
import { clockSkewCheck, doctor, MAX_CLOCK_SKEW_MS, postgresRoleCheck } from './doctor.js';

async function runDoctor(env: NodeJS.ProcessEnv): Promise<{ code: number; text: string }> {
  const chunks: string[] = [];
  const out = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const code = await doctor(env, out);
  return { code, text: chunks.join('') };
}

function envOf(k: TestKluis): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'test',
    KLUIS_DATA_DIR: k.dir,
    KLUIS_DATABASE_URL: k.config.databaseUrl,
    KLUIS_KEYSTORE_URL: k.config.keystoreUrl,
    KLUIS_MASTER_KEY: k.config.masterKey.value,
    KLUIS_LOG_LEVEL: 'silent',
    ...(k.config.databaseKey ? { KLUIS_DATABASE_KEY: k.config.databaseKey.value } : {}),
  };
}

describe('kluis doctor', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kluis-doctor-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists what a production start would refuse, without changing anything', async () => {
    const { code, text } = await runDoctor({
      NODE_ENV: 'development',
      KLUIS_DATA_DIR: dir,
      KLUIS_DATABASE_URL: `sqlite:${join(dir, 'kluis.db')}`,
      KLUIS_COOKIE_SECURE: 'false',
    });
    expect(code).toBe(0);
    expect(text).toMatch(/! would refuse in production:/);
    expect(text).toMatch(/- KLUIS_MASTER_KEY \(or KLUIS_MASTER_KEY_FILE\) is not set/);
    expect(text).toMatch(/- production refuses an unencrypted SQLite database/);
    expect(text).toMatch(/- KLUIS_PUBLIC_ORIGIN is not set/);
    expect(text).toMatch(/- no TLS termination configured/);
    expect(text).toMatch(/- KLUIS_COOKIE_SECURE=false is not allowed in production/);
    expect(text).toMatch(/not created yet/);
    // Secrets are never printed, not even the generated development ones.
    expect(text).not.toMatch(/[A-Za-z0-9_-]{43}/);
  });

  it('in production names each exception in force and reports no development mail sink', async () => {
    const { code, text } = await runDoctor({
      NODE_ENV: 'production',
      KLUIS_DATA_DIR: dir,
      KLUIS_DATABASE_URL: `sqlite:${join(dir, 'kluis.db')}`,
      KLUIS_MASTER_KEY: randomBytes(32).toString('base64'),
      KLUIS_DATABASE_KEY: randomBytes(32).toString('hex'),
      KLUIS_PUBLIC_ORIGIN: 'https://kluis.example.nl',
      KLUIS_TRUST_PROXY: '127.0.0.1',
      KLUIS_SMTP_URL: 'smtps://mail.example.nl:465',
      KLUIS_MAIL_FROM: 'kluis@example.nl',
      KLUIS_REQUIRE_TOTP_OPERATOR: 'false',
      KLUIS_ALLOW_INSECURE: 'operator-without-totp',
    });
    expect(code).toBe(0);
    expect(text).toMatch(/insecureOverrides\s+operator-without-totp/);
    expect(text).toMatch(
      /! exception in force \(KLUIS_ALLOW_INSECURE\): operator-without-totp — operator staff may sign in without two-step verification/,
    );
    expect(text).not.toMatch(/sink|development/i);
    expect(text).toMatch(/mail\s+smtps:\/\/mail\.example\.nl:465 \(tls\)/);
  });

  it('flags a key file that group or others can read', async () => {
    const keyFile = join(dir, 'master.key');
    writeFileSync(keyFile, randomBytes(32).toString('base64'));
    chmodSync(keyFile, 0o644);
    chmodSync(dir, 0o755);
    const { code, text } = await runDoctor({
      NODE_ENV: 'development',
      KLUIS_DATA_DIR: dir,
      KLUIS_MASTER_KEY_FILE: keyFile,
    });
    expect(code).toBe(1);
    expect(text).toMatch(/✗ key files readable by group or others:\n\s+- .*master\.key \(0644\): chmod 600/);
    expect(text).toMatch(/! data or configuration readable by group or others:\n\s+- .* \(0755\): chmod 700/);
    chmodSync(keyFile, 0o600);
    chmodSync(dir, 0o700);
    const fixed = await runDoctor({
      NODE_ENV: 'development',
      KLUIS_DATA_DIR: dir,
      KLUIS_MASTER_KEY_FILE: keyFile,
    });
    expect(fixed.text).toMatch(/✓ key files are owner-only/);
    expect(fixed.text).toMatch(/✓ data directory is owner-only \(0700\)/);
  });

  it('refuses a key store that is the main database file', async () => {
    const db = `sqlite:${join(dir, 'kluis.db')}`;
    const { code, text } = await runDoctor({
      NODE_ENV: 'development',
      KLUIS_DATA_DIR: dir,
      KLUIS_DATABASE_URL: db,
      KLUIS_KEYSTORE_URL: db,
    });
    expect(code).toBe(1);
    expect(text).toMatch(/✗ the key store is the main database file/);
  });

  it('reports a SQLite key store beside PostgreSQL, and that production and a cluster refuse it', async () => {
    const { text } = await runDoctor({
      NODE_ENV: 'development',
      KLUIS_DATA_DIR: dir,
      // Nothing listens here: doctor reports the database as unreachable, the rest still shows.
      KLUIS_DATABASE_URL: 'postgres://kluis@127.0.0.1:9/kluis',
      KLUIS_KEYSTORE_URL: `sqlite:${join(dir, 'kluis-keys.db')}`,
    });
    expect(text).toMatch(
      /! the key store is a SQLite file on this host while the database is PostgreSQL: .*kluis worker.* refuse/,
    );
    expect(text).toMatch(
      /! would refuse in production:(\n\s+- .*)*\n\s+- KLUIS_KEYSTORE_URL is a SQLite file on this host/,
    );
  });

  it.runIf(testDialect === 'sqlite')(
    'reports a plain SQLite database file where an encrypted one belongs',
    async () => {
      const plain = new SQLiteDatabase(join(dir, 'kluis.db'));
      plain.exec('create table t (x text)');
      plain.close();
      const { code, text } = await runDoctor({
        NODE_ENV: 'development',
        KLUIS_DATA_DIR: dir,
        KLUIS_DATABASE_URL: `sqlite:${join(dir, 'kluis.db')}`,
        KLUIS_DATABASE_KEY: randomBytes(32).toString('base64url'),
      });
      expect(code).toBe(1);
      expect(text).toMatch(/✗ database file .*kluis\.db is NOT encrypted \(plain SQLite header\)/);
    },
  );
});

describe.runIf(testDialect === 'sqlite')('kluis doctor on a running installation', () => {
  let kluis: TestKluis;
  beforeEach(async () => {
    kluis = await createTestKluis();
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  it('confirms encryption, a separate key store and no pending migrations', async () => {
    const { code, text } = await runDoctor(envOf(kluis));
    expect(text).toMatch(/✓ database file is encrypted \(no plain SQLite header\)/);
    expect(text).toMatch(/✓ key store file is encrypted/);
    expect(text).toMatch(/✓ the key store is a separate file from the main database/);
    expect(text).toMatch(/✓ database and key store reachable/);
    expect(text).toMatch(/✓ no pending migrations/);
    expect(code).toBe(0);
  });

  it('lists pending migrations, and refuses migrations it does not know', async () => {
    await sql`delete from kysely_migration where name = '0300_audit'`.execute(kluis.db);
    await sql`insert into kysely_migration (name, timestamp) values ('9999_from_the_future', 'x')`.execute(
      kluis.db,
    );
    const { code, text } = await runDoctor(envOf(kluis));
    expect(text).toMatch(/! 1 pending migrations.*:\n\s+- 0300_audit/);
    expect(text).toMatch(
      /✗ the database has migrations this Kluis version does not know.*:\n\s+- 9999_from_the_future/,
    );
    expect(code).toBe(1);
  });
});

describe.runIf(testDialect === 'postgres')('kluis doctor on the clocks (ASVS 16.2.2)', () => {
  it('passes a host whose clock agrees with the database server, fails one that is off', async () => {
    const db = new Kysely<unknown>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: testPgUrl, max: 1 }) }),
    });
    try {
      expect(await clockSkewCheck(db)).toMatchObject({ level: 'ok' });
      const ahead = () => Date.now() + 10 * MAX_CLOCK_SKEW_MS;
      expect(await clockSkewCheck(db, ahead)).toMatchObject({
        level: 'fail',
        text: expect.stringMatching(/clock is \d+ ms off the database server's: synchronise both with NTP/),
      });
      const behind = () => Date.now() - 10 * MAX_CLOCK_SKEW_MS;
      expect((await clockSkewCheck(db, behind)).level).toBe('fail');
    } finally {
      await db.destroy();
    }
  });
});

describe.runIf(testDialect === 'postgres')('kluis doctor on the PostgreSQL role (ASVS 13.2.2)', () => {
  it('fails a superuser in production, warns elsewhere, and passes a role that owns only its database', async () => {
    const admin = new Kysely<unknown>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: testPgUrl, max: 1 }) }),
    });
    const name = `kluis_limited_${randomBytes(4).toString('hex')}`;
    try {
      expect(await postgresRoleCheck(admin, true)).toMatchObject({
        level: 'fail',
        text: expect.stringMatching(/is a superuser.*ASVS 13\.2\.2/),
      });
      expect((await postgresRoleCheck(admin, false)).level).toBe('warn');

      const password = randomBytes(12).toString('hex');
      await sql.raw(`create role ${name} login password '${password}'`).execute(admin);
      const url = new URL(testPgUrl);
      url.username = name;
      url.password = password;
      const limited = new Kysely<unknown>({
        dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url.toString(), max: 1 }) }),
      });
      try {
        expect(await postgresRoleCheck(limited, true)).toMatchObject({ level: 'ok' });
      } finally {
        await limited.destroy();
      }
      // A role that may create roles is refused as well.
      await sql.raw(`alter role ${name} createrole`).execute(admin);
      const creator = new Kysely<unknown>({
        dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url.toString(), max: 1 }) }),
      });
      try {
        expect(await postgresRoleCheck(creator, true)).toMatchObject({
          level: 'fail',
          text: expect.stringContaining('can create roles'),
        });
      } finally {
        await creator.destroy();
      }
    } finally {
      await sql.raw(`drop role if exists ${name}`).execute(admin);
      await admin.destroy();
    }
  });
});
