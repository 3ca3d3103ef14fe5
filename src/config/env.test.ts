import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testCli } from '../../test/cli.js';
import { registerCommands } from '../cli/commands.js';
import { ConfigError, describeConfig, isDevelopmentKey, loadConfig } from './env.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kluis-env-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const key = () => randomBytes(32).toString('base64');
const dbKey = () => randomBytes(32).toString('base64url');

/** A production configuration that starts; each test breaks one thing. */
function production(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    NODE_ENV: 'production',
    KLUIS_DATA_DIR: dir,
    KLUIS_DATABASE_URL: `sqlite:${join(dir, 'kluis.db')}`,
    KLUIS_MASTER_KEY: key(),
    KLUIS_DATABASE_KEY: dbKey(),
    KLUIS_PUBLIC_ORIGIN: 'https://kluis.example.nl',
    KLUIS_TRUST_PROXY: '127.0.0.1',
    KLUIS_SMTP_URL: 'smtps://kluis:secret@relay.example.nl:465',
  };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('production refuses insecure configuration (P11)', () => {
  it('starts with a complete production configuration behind a TLS proxy', () => {
    const config = loadConfig(production());
    expect(config.env).toBe('production');
    expect(config.cookieSecure).toBe(true);
    expect(config.trustProxy).toBe('127.0.0.1');
    expect(config.publicOrigin).toBe('https://kluis.example.nl');
  });

  it('starts with a complete production configuration serving TLS itself', () => {
    const config = loadConfig(
      production({
        KLUIS_TRUST_PROXY: undefined,
        KLUIS_TLS_CERT_FILE: '/etc/kluis/cert.pem',
        KLUIS_TLS_KEY_FILE: '/etc/kluis/key.pem',
      }),
    );
    expect(config.tls).toEqual({ certFile: '/etc/kluis/cert.pem', keyFile: '/etc/kluis/key.pem' });
  });

  it('refuses a missing master key', () => {
    expect(problemsOf(production({ KLUIS_MASTER_KEY: undefined }))).toEqual([
      expect.stringMatching(/^KLUIS_MASTER_KEY \(or KLUIS_MASTER_KEY_FILE\) is not set/),
    ]);
  });

  it('never falls back to the generated development master key', () => {
    // A development run left its generated secrets in the data directory.
    loadConfig({ NODE_ENV: 'development', KLUIS_DATA_DIR: dir });
    const problems = problemsOf(production({ KLUIS_MASTER_KEY: undefined, KLUIS_DATABASE_KEY: undefined }));
    expect(problems).toEqual([
      expect.stringMatching(/^KLUIS_MASTER_KEY \(or KLUIS_MASTER_KEY_FILE\) is not set/),
      expect.stringMatching(/refuses an unencrypted SQLite database/),
      expect.stringMatching(/dev-secrets\.json exists/),
    ]);
  });

  it('refuses keys copied from the development secrets file', () => {
    const dev = loadConfig({ NODE_ENV: 'development', KLUIS_DATA_DIR: dir });
    const problems = problemsOf(
      production({ KLUIS_MASTER_KEY: dev.masterKey.value, KLUIS_DATABASE_KEY: dev.databaseKey?.value }),
    );
    expect(problems).toEqual([
      expect.stringMatching(
        /KLUIS_MASTER_KEY is a development key \(it carries the development fingerprint\)/,
      ),
      expect.stringMatching(
        /KLUIS_DATABASE_KEY is a development key \(it carries the development fingerprint\)/,
      ),
      expect.stringMatching(/dev-secrets\.json exists/),
    ]);
  });

  it('recognises development keys by their fingerprint without the secrets file beside them', () => {
    const dev = loadConfig({ NODE_ENV: 'development', KLUIS_DATA_DIR: join(dir, 'elsewhere') });
    expect(isDevelopmentKey(dev.masterKey.value)).toBe(true);
    expect(isDevelopmentKey(key())).toBe(false);
    // Copied to another machine's data directory, where no dev-secrets.json exists.
    expect(
      problemsOf(
        production({ KLUIS_MASTER_KEY: dev.masterKey.value, KLUIS_DATABASE_KEY: dev.databaseKey?.value }),
      ),
    ).toEqual([
      expect.stringMatching(/^KLUIS_MASTER_KEY is a development key/),
      expect.stringMatching(/^KLUIS_DATABASE_KEY is a development key/),
    ]);
  });

  it('refuses each weak transport setting with its own message, unless its exception is named', () => {
    const cases: [Record<string, string | undefined>, RegExp, string | undefined][] = [
      [{ KLUIS_SMTP_URL: undefined }, /^KLUIS_SMTP_URL is not set/, undefined],
      [
        { KLUIS_SMTP_URL: 'smtp://relay.example.nl:25' },
        /^KLUIS_SMTP_URL sends mail without TLS/,
        'smtp-relay-without-tls',
      ],
      [
        { KLUIS_SMTP_URL: 'smtp://127.0.0.1:25' },
        /^KLUIS_SMTP_URL sends mail without TLS/,
        'smtp-relay-without-tls',
      ],
      [
        { KLUIS_DATABASE_URL: 'postgres://kluis@db.example.nl/kluis', KLUIS_DATABASE_KEY: undefined },
        /^the PostgreSQL URL connects to another host without TLS/,
        'postgres-without-tls',
      ],
      [
        {
          KLUIS_INBOUND_SMTP_PORT: '25',
          KLUIS_INBOUND_SMTP_HOST: '0.0.0.0',
          KLUIS_CONTACT_ADDRESS: 'c@x.nl',
          KLUIS_PRIVACY_ADDRESS: 'p@x.nl',
        },
        /^the inbound SMTP listener is on a public interface without STARTTLS/,
        'inbound-smtp-without-tls',
      ],
      [
        { KLUIS_REQUIRE_TOTP_OPERATOR: 'false' },
        /^KLUIS_REQUIRE_TOTP_OPERATOR=false is not allowed/,
        'operator-without-totp',
      ],
    ];
    for (const [vars, message, exception] of cases) {
      expect(problemsOf(production(vars)), JSON.stringify(vars)).toEqual([expect.stringMatching(message)]);
      if (exception === undefined) continue;
      const config = loadConfig(production({ ...vars, KLUIS_ALLOW_INSECURE: exception }));
      expect(config.insecureOverrides).toEqual([exception]);
      expect(describeConfig(config).insecureOverrides).toBe(exception);
    }
    expect(problemsOf(production({ KLUIS_ALLOW_INSECURE: 'everything' }))).toEqual([
      expect.stringMatching(/KLUIS_ALLOW_INSECURE names "everything", which is not an exception Kluis knows/),
    ]);
  });

  it('accepts TLS on every transport and reports it as the statement’s facts', () => {
    const config = loadConfig(
      production({
        KLUIS_SMTP_URL: 'smtp://relay.example.nl:587/?requireTLS=true',
        KLUIS_DATABASE_URL: 'postgres://kluis@db.example.nl/kluis?sslmode=verify-full',
        KLUIS_DATABASE_KEY: undefined,
        KLUIS_INBOUND_SMTP_PORT: '25',
        KLUIS_INBOUND_SMTP_HOST: '0.0.0.0',
        KLUIS_INBOUND_TLS_CERT_FILE: '/etc/kluis/mx.pem',
        KLUIS_INBOUND_TLS_KEY_FILE: '/etc/kluis/mx.key',
        KLUIS_CONTACT_ADDRESS: 'c@x.nl',
        KLUIS_PRIVACY_ADDRESS: 'p@x.nl',
      }),
    );
    expect(config.transport).toEqual({
      web: 'tls-proxy',
      smtpRelay: 'tls',
      database: 'tls',
      inboundSmtp: 'starttls',
    });
    expect(config.insecureOverrides).toEqual([]);
  });

  it('refuses a weak master key (32 zero bytes) and a malformed one', () => {
    expect(problemsOf(production({ KLUIS_MASTER_KEY: Buffer.alloc(32).toString('base64') }))).toEqual([
      expect.stringMatching(/KLUIS_MASTER_KEY is not random/),
    ]);
    expect(problemsOf(production({ KLUIS_MASTER_KEY: 'correct horse battery staple' }))).toEqual([
      expect.stringMatching(/KLUIS_MASTER_KEY must be 32 random bytes/),
    ]);
  });

  it('refuses an unencrypted SQLite database, and a short database key', () => {
    expect(problemsOf(production({ KLUIS_DATABASE_KEY: undefined }))).toEqual([
      expect.stringMatching(/production refuses an unencrypted SQLite database: set KLUIS_DATABASE_KEY_FILE/),
    ]);
    expect(problemsOf(production({ KLUIS_DATABASE_KEY: 'short' }))).toEqual([
      expect.stringMatching(/KLUIS_DATABASE_KEY is too short/),
    ]);
  });

  it('does not ask PostgreSQL for a database key', () => {
    const config = loadConfig(
      production({
        KLUIS_DATABASE_URL: 'postgres://kluis:pw@db.example.nl/kluis?sslmode=verify-full',
        KLUIS_DATABASE_KEY: undefined,
      }),
    );
    expect(config.keystoreUrl).toBe(config.databaseUrl);
  });

  it('refuses PostgreSQL TLS that does not check the server certificate and name (ASVS 12.3.2)', () => {
    const pg = (url: string, extra: Record<string, string> = {}) =>
      problemsOf(production({ KLUIS_DATABASE_URL: url, KLUIS_DATABASE_KEY: undefined, ...extra }));
    expect(pg('postgres://kluis@db.example.nl/kluis?sslmode=require')).toEqual([
      expect.stringMatching(/^KLUIS_DATABASE_URL uses sslmode=require, .* use sslmode=verify-full/),
    ]);
    expect(pg('postgres://kluis@db.example.nl/kluis?sslmode=verify-ca&uselibpqcompat=true')).toEqual([
      expect.stringMatching(/^KLUIS_DATABASE_URL uses sslmode=verify-ca/),
    ]);
    expect(
      pg('postgres://kluis@db.example.nl/kluis?sslmode=verify-full', {
        KLUIS_KEYSTORE_URL: 'postgres://keys@keys.example.nl/keys?sslmode=require',
        KLUIS_LEDGER_DATABASE_URL: 'postgres://ledger@ledger.example.nl/ledger?sslmode=verify-ca',
      }),
    ).toEqual([
      expect.stringMatching(/^KLUIS_KEYSTORE_URL uses sslmode=require/),
      expect.stringMatching(/^KLUIS_LEDGER_DATABASE_URL uses sslmode=verify-ca/),
    ]);
    // verify-full, loopback and a Unix socket need nothing more.
    expect(
      pg('postgres://kluis@db.example.nl/kluis?sslmode=verify-full&sslrootcert=/etc/kluis/ca.pem'),
    ).toEqual([]);
    expect(pg('postgres://kluis@127.0.0.1/kluis?sslmode=require')).toEqual([]);
    expect(pg('postgres://kluis@localhost/kluis?host=/var/run/postgresql')).toEqual([]);
  });

  it('refuses a SQLite key store beside a PostgreSQL database: each node would keep keys of its own', () => {
    const pg = 'postgres://kluis@db.example.nl/kluis?sslmode=verify-full';
    const sqliteKeys = `sqlite:${join(dir, 'kluis-keys.db')}`;
    const local =
      /^KLUIS_KEYSTORE_URL is a SQLite file on this host while KLUIS_DATABASE_URL is PostgreSQL: .*leave KLUIS_KEYSTORE_URL unset .* or point it at a PostgreSQL database/;
    expect(
      problemsOf(
        production({ KLUIS_DATABASE_URL: pg, KLUIS_DATABASE_KEY: undefined, KLUIS_KEYSTORE_URL: sqliteKeys }),
      ),
    ).toEqual([expect.stringMatching(local)]);
    // A PostgreSQL key store, in the same database (schema kluis_keys) or its own, starts.
    expect(problemsOf(production({ KLUIS_DATABASE_URL: pg, KLUIS_DATABASE_KEY: undefined }))).toEqual([]);
    expect(
      problemsOf(
        production({
          KLUIS_DATABASE_URL: pg,
          KLUIS_DATABASE_KEY: undefined,
          KLUIS_KEYSTORE_URL: 'postgres://keys@keys.example.nl/keys?sslmode=verify-full',
        }),
      ),
    ).toEqual([]);
    // SQLite for both is one host by design.
    expect(problemsOf(production({ KLUIS_KEYSTORE_URL: sqliteKeys }))).toEqual([]);

    // Outside production, a configured cluster (rate limits shared in Redis) refuses it too; a
    // single development process on PostgreSQL may keep its keys in a local file.
    const dev = {
      NODE_ENV: 'development',
      KLUIS_DATA_DIR: dir,
      KLUIS_DATABASE_URL: pg,
      KLUIS_KEYSTORE_URL: sqliteKeys,
    };
    expect(problemsOf({ ...dev, KLUIS_REDIS_URL: 'redis://127.0.0.1:6379/0' })).toEqual([
      expect.stringMatching(local),
    ]);
    expect(problemsOf(dev)).toEqual([]);
  });

  it('refuses KLUIS_TRUST_PROXY=true: only named proxy addresses may set the client address (ASVS 15.3.4)', () => {
    expect(problemsOf(production({ KLUIS_TRUST_PROXY: 'true' }))).toEqual([
      expect.stringMatching(/^KLUIS_TRUST_PROXY=true trusts X-Forwarded-For from any client/),
    ]);
    expect(problemsOf(production({ KLUIS_TRUST_PROXY: '10.0.0.5,10.0.0.6' }))).toEqual([]);
  });

  it('refuses KLUIS_COOKIE_SECURE=false', () => {
    expect(problemsOf(production({ KLUIS_COOKIE_SECURE: 'false' }))).toEqual([
      'KLUIS_COOKIE_SECURE=false is not allowed in production',
    ]);
  });

  it('refuses a missing public origin and an http:// one', () => {
    expect(problemsOf(production({ KLUIS_PUBLIC_ORIGIN: undefined }))).toEqual([
      expect.stringMatching(/KLUIS_PUBLIC_ORIGIN is not set/),
    ]);
    expect(problemsOf(production({ KLUIS_PUBLIC_ORIGIN: 'http://kluis.example.nl' }))).toEqual([
      'KLUIS_PUBLIC_ORIGIN must start with https:// in production',
    ]);
  });

  it('refuses to run without TLS or a trusted TLS proxy, and half a TLS configuration', () => {
    expect(problemsOf(production({ KLUIS_TRUST_PROXY: undefined }))).toEqual([
      expect.stringMatching(/^no TLS termination configured/),
    ]);
    expect(problemsOf(production({ KLUIS_TRUST_PROXY: 'false' }))).toEqual([
      expect.stringMatching(/^no TLS termination configured/),
    ]);
    expect(problemsOf(production({ KLUIS_TLS_CERT_FILE: '/etc/kluis/cert.pem' }))).toEqual([
      'set both KLUIS_TLS_CERT_FILE and KLUIS_TLS_KEY_FILE, or neither',
    ]);
  });

  it('lists every problem at once in one ConfigError', () => {
    const env: NodeJS.ProcessEnv = {
      NODE_ENV: 'production',
      KLUIS_DATA_DIR: dir,
      KLUIS_COOKIE_SECURE: 'false',
    };
    const error = (() => {
      try {
        loadConfig(env);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    // master key, database key, public origin, TLS termination, secure cookies, SMTP relay.
    expect(problems).toHaveLength(6);
    expect((error as ConfigError).message).toMatch(/^Kluis cannot start:\n {2}- /);
    for (const p of problems) expect((error as ConfigError).message).toContain(p);
  });

  it('allows development defaults outside production, with generated owner-only secrets', () => {
    const dataDir = join(dir, 'fresh-data');
    const config = loadConfig({ NODE_ENV: 'development', KLUIS_DATA_DIR: dataDir });
    expect(config.masterKey.source).toBe('dev-generated');
    expect(config.databaseKey?.source).toBe('dev-generated');
    expect(config.cookieSecure).toBe(false);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'dev-secrets.json')).mode & 0o777).toBe(0o600);
  });
});

describe('secrets', () => {
  it('never appear in describeConfig', () => {
    const master = key();
    const databaseKey = dbKey();
    const config = loadConfig(
      production({
        KLUIS_MASTER_KEY: master,
        KLUIS_DATABASE_KEY: databaseKey,
        KLUIS_SMTP_URL: 'smtps://kluis:smtp-Secret-42@smtp.example.nl:465',
      }),
    );
    const described = JSON.stringify(describeConfig(config));
    expect(described).not.toContain(master);
    expect(described).not.toContain(databaseKey);
    expect(described).not.toContain('smtp-Secret-42');
    expect(described).toContain('smtps://kluis:***@smtp.example.nl:465');

    const pg = loadConfig(
      production({
        KLUIS_DATABASE_URL: 'postgres://kluis:pg-Secret-7@db.example.nl/kluis?sslmode=verify-full',
      }),
    );
    expect(JSON.stringify(describeConfig(pg))).not.toContain('pg-Secret-7');
  });

  it('are read from *_FILE paths, trimmed', () => {
    const master = key();
    const previous = key();
    const databaseKey = dbKey();
    writeFileSync(join(dir, 'master.key'), `${master}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'previous.key'), `${previous}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'database.key'), `${databaseKey}\n`, { mode: 0o600 });
    const config = loadConfig(
      production({
        KLUIS_MASTER_KEY: undefined,
        KLUIS_DATABASE_KEY: undefined,
        KLUIS_MASTER_KEY_FILE: join(dir, 'master.key'),
        KLUIS_MASTER_KEY_PREVIOUS_FILE: join(dir, 'previous.key'),
        KLUIS_DATABASE_KEY_FILE: join(dir, 'database.key'),
      }),
    );
    expect(config.masterKey).toEqual({ value: master, source: 'file' });
    expect(config.previousMasterKeys).toEqual([{ value: previous, source: 'file' }]);
    expect(config.databaseKey).toEqual({ value: databaseKey, source: 'file' });
  });

  it('refuses a *_FILE that cannot be read, and a secret given twice', () => {
    expect(
      problemsOf(
        production({ KLUIS_MASTER_KEY: undefined, KLUIS_MASTER_KEY_FILE: join(dir, 'missing.key') }),
      ),
    ).toEqual([
      expect.stringMatching(/KLUIS_MASTER_KEY_FILE points to .*missing\.key, which cannot be read/),
      expect.stringMatching(/KLUIS_MASTER_KEY \(or KLUIS_MASTER_KEY_FILE\) is not set/),
    ]);
    writeFileSync(join(dir, 'master.key'), key());
    expect(problemsOf(production({ KLUIS_MASTER_KEY_FILE: join(dir, 'master.key') }))).toContain(
      'set either KLUIS_MASTER_KEY or KLUIS_MASTER_KEY_FILE, not both',
    );
  });
});

describe('KLUIS_CONFIG_FILE', () => {
  it('is read, and the environment wins over it', () => {
    const file = join(dir, 'kluis.env');
    const master = key();
    writeFileSync(
      file,
      [
        '# comment',
        'NODE_ENV=production',
        `KLUIS_DATA_DIR=${dir}`,
        `KLUIS_DATABASE_URL="sqlite:${join(dir, 'kluis.db')}"`,
        `KLUIS_MASTER_KEY=${master}`,
        `KLUIS_DATABASE_KEY='${dbKey()}'`,
        'KLUIS_PUBLIC_ORIGIN=https://from-file.example.nl',
        'KLUIS_TRUST_PROXY=127.0.0.1',
        'KLUIS_SMTP_URL=smtps://relay.example.nl:465',
        'KLUIS_PORT=4000',
      ].join('\n'),
      { mode: 0o600 },
    );
    const fromFile = loadConfig({ KLUIS_CONFIG_FILE: file });
    expect(fromFile.env).toBe('production');
    expect(fromFile.port).toBe(4000);
    expect(fromFile.masterKey.value).toBe(master);
    expect(fromFile.publicOrigin).toBe('https://from-file.example.nl');

    const overridden = loadConfig({
      KLUIS_CONFIG_FILE: file,
      KLUIS_PUBLIC_ORIGIN: 'https://from-env.example.nl',
      KLUIS_PORT: '',
    });
    expect(overridden.publicOrigin).toBe('https://from-env.example.nl');
    expect(overridden.port).toBe(4000); // an empty variable does not override
  });
});

describe('a process of a split installation (kluis worker, kluis serve --no-worker)', () => {
  it('refuses to start with a key store that is a SQLite file on this host beside PostgreSQL', async () => {
    const env = {
      NODE_ENV: 'development',
      KLUIS_DATA_DIR: dir,
      // Nothing listens here: the refusal comes before any connection.
      KLUIS_DATABASE_URL: 'postgres://kluis@127.0.0.1:9/kluis',
      KLUIS_KEYSTORE_URL: `sqlite:${join(dir, 'kluis-keys.db')}`,
    };
    for (const args of [['worker'], ['serve', '--no-worker']]) {
      const cli = testCli({ env });
      const program = new Command().exitOverride();
      registerCommands(program, cli.io);
      const refused = await program.parseAsync(['node', 'kluis', ...args]).catch((e: unknown) => e);
      expect(refused, args.join(' ')).toBeInstanceOf(ConfigError);
      expect((refused as ConfigError).problems).toEqual([
        expect.stringMatching(
          new RegExp(
            `^kluis ${args.join(' ')} is one of several processes: KLUIS_KEYSTORE_URL is a SQLite file on this host`,
          ),
        ),
      ]);
      expect(cli.out.text()).toBe('');
    }
  });
});

describe('kluis serve', () => {
  it('exits non-zero and says what to set when production configuration is insecure', () => {
    const run = spawnSync('npx', ['tsx', 'src/cli.ts', 'serve'], {
      cwd: process.cwd(),
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        KLUIS_DATA_DIR: dir,
        KLUIS_PUBLIC_ORIGIN: 'http://kluis.example.nl',
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(78);
    expect(run.stderr).toMatch(/Kluis cannot start:/);
    expect(run.stderr).toMatch(/KLUIS_MASTER_KEY \(or KLUIS_MASTER_KEY_FILE\) is not set/);
    expect(run.stderr).toMatch(/KLUIS_PUBLIC_ORIGIN must start with https:\/\//);
    expect(run.stderr).toMatch(/kluis doctor/);
    expect(run.stdout).not.toMatch(/is running/);
  });
});
