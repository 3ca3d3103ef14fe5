import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeMasterKey, loadConfig, parseEnvFile } from '../../config/env.js';
import { createFixedClock } from '../../shared/clock.js';
import { initSecrets } from './ops-init.js';

const clock = createFixedClock('2025-03-01T10:00:00.000Z');
const mode = (p: string) => statSync(p).mode & 0o777;

describe('kluis init', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kluis-init-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes owner-only key files and an env file that production accepts once the origin and proxy are set', () => {
    const result = initSecrets({ dataDir: join(dir, 'data'), envFile: join(dir, 'kluis.env'), clock });
    expect(result.masterKeyFile).toBe(join(dir, 'secrets', 'master.key'));
    expect(mode(result.masterKeyFile)).toBe(0o600);
    expect(mode(result.databaseKeyFile)).toBe(0o600);
    expect(mode(result.secretsDir)).toBe(0o700);
    expect(mode(result.dataDir)).toBe(0o700);
    expect(mode(result.envFile)).toBe(0o600);

    const master = readFileSync(result.masterKeyFile, 'utf8').trim();
    expect(decodeMasterKey(master)?.length).toBe(32);
    expect(readFileSync(result.databaseKeyFile, 'utf8').trim().length).toBeGreaterThanOrEqual(32);

    const envText = readFileSync(result.envFile, 'utf8');
    expect(envText).not.toContain(master);
    const vars = parseEnvFile(envText);
    expect(vars).toMatchObject({
      NODE_ENV: 'production',
      KLUIS_MASTER_KEY_FILE: result.masterKeyFile,
      KLUIS_DATABASE_KEY_FILE: result.databaseKeyFile,
    });
    for (const placeholder of [
      'KLUIS_PUBLIC_ORIGIN',
      'KLUIS_TRUST_PROXY',
      'KLUIS_TLS_CERT_FILE',
      'KLUIS_SMTP_URL',
    ]) {
      expect(envText).toMatch(new RegExp(`^# ${placeholder}=`, 'm'));
    }

    // As written, production refuses (no origin, no TLS, no mail relay); with the placeholders
    // filled it starts.
    expect(() => loadConfig({ KLUIS_CONFIG_FILE: result.envFile })).toThrow(/KLUIS_PUBLIC_ORIGIN/);
    const config = loadConfig({
      KLUIS_CONFIG_FILE: result.envFile,
      KLUIS_PUBLIC_ORIGIN: 'https://kluis.example.nl',
      KLUIS_TRUST_PROXY: '127.0.0.1',
      KLUIS_SMTP_URL: 'smtps://kluis@smtp.example.nl:465',
    });
    expect(config.env).toBe('production');
    expect(config.masterKey).toEqual({ value: master, source: 'file' });
    expect(config.databaseKey?.source).toBe('file');
    expect(config.keystoreUrl).not.toBe(config.databaseUrl);
    expect(config.keystoreUrl).toBe(`sqlite:${join(result.dataDir, 'kluis-keys.db')}`);

    // Switching to PostgreSQL as the file's own comment says (only KLUIS_DATABASE_URL) must not
    // leave a SQLite key store behind, which production refuses beside PostgreSQL.
    const onPostgres = loadConfig({
      KLUIS_CONFIG_FILE: result.envFile,
      KLUIS_DATABASE_URL: 'postgres://kluis@127.0.0.1:5432/kluis',
      KLUIS_PUBLIC_ORIGIN: 'https://kluis.example.nl',
      KLUIS_TRUST_PROXY: '127.0.0.1',
      KLUIS_SMTP_URL: 'smtps://kluis@smtp.example.nl:465',
    });
    expect(onPostgres.keystoreUrl).toBe(onPostgres.databaseUrl);
  });

  it('refuses to overwrite existing key files and says why, leaving them untouched', () => {
    const first = initSecrets({ dataDir: join(dir, 'data'), envFile: join(dir, 'kluis.env'), clock });
    const master = readFileSync(first.masterKeyFile, 'utf8');
    expect(() => initSecrets({ dataDir: join(dir, 'data'), envFile: join(dir, 'kluis.env'), clock })).toThrow(
      /refuses to overwrite[\s\S]*master key, and losing it makes every encrypted field unreadable[\s\S]*--force/,
    );
    expect(readFileSync(first.masterKeyFile, 'utf8')).toBe(master);
  });

  it('with --force keeps the previous keys beside the new ones instead of deleting them', () => {
    const first = initSecrets({ dataDir: join(dir, 'data'), envFile: join(dir, 'kluis.env'), clock });
    const oldMaster = readFileSync(first.masterKeyFile, 'utf8');
    const second = initSecrets({
      dataDir: join(dir, 'data'),
      envFile: join(dir, 'kluis.env'),
      force: true,
      clock,
    });
    expect(readFileSync(second.masterKeyFile, 'utf8')).not.toBe(oldMaster);
    const aside = second.keptAside.find((f) => f.includes('master.key.replaced-'));
    expect(aside).toBeDefined();
    expect(readFileSync(aside ?? '', 'utf8')).toBe(oldMaster);
    expect(mode(aside ?? '')).toBe(0o600);
  });

  it('refuses when a database already exists in the data directory', () => {
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'kluis.db'), 'x');
    expect(() => initSecrets({ dataDir: join(dir, 'data'), envFile: join(dir, 'kluis.env'), clock })).toThrow(
      /new keys cannot open a database made with other keys/,
    );
    expect(existsSync(join(dir, 'secrets', 'master.key'))).toBe(false);
  });

  it('puts the key files where --secrets-dir says', () => {
    const result = initSecrets({
      dataDir: join(dir, 'data'),
      envFile: join(dir, 'etc', 'kluis.env'),
      secretsDir: join(dir, 'vault'),
      clock,
    });
    expect(result.databaseKeyFile).toBe(join(dir, 'vault', 'database.key'));
    expect(parseEnvFile(readFileSync(result.envFile, 'utf8')).KLUIS_DATABASE_KEY_FILE).toBe(
      result.databaseKeyFile,
    );
  });
});
