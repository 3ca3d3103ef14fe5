/**
 * `kluis doctor`: prints the effective configuration (no secret values) and checks what the
 * configuration alone cannot show: whether the SQLite files really are encrypted, who may read
 * the data and key files, whether the key store is kept apart from the database, pending
 * migrations, and — outside production — what a production start would refuse (P11).
 * Exit code 1 when something is wrong (✗); warnings (!) leave it at 0.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { type Kysely, type Migration, Migrator, sql } from 'kysely';
import {
  type Config,
  ConfigError,
  describeConfig,
  insecureOverrides,
  loadConfig,
  parseEnvFile,
} from '../config/env.js';
import { keystoreMigrations } from '../crypto/keystore-schema.js';
import { dialectOf, sqlitePathOf } from '../db/database.js';
import { mainMigrations } from '../db/migrations.js';
import { openKluis } from '../kluis.js';
import { formatMode, isGroupOrWorldAccessible, modeOf, sqliteFileState } from '../modules/ops/ops-files.js';
import { createLogger } from '../shared/logger.js';

type Level = 'ok' | 'warn' | 'fail';
export interface Check {
  level: Level;
  text: string;
  detail?: string[];
}

const mark: Record<Level, string> = { ok: '✓', warn: '!', fail: '✗' };

export async function doctor(env: NodeJS.ProcessEnv, out: Writable): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      out.write('Configuration problems:\n');
      for (const p of error.problems) out.write(`  ✗ ${p}\n`);
      return 1;
    }
    throw error;
  }
  out.write('Configuration:\n');
  for (const [k, v] of Object.entries(describeConfig(config))) out.write(`  ${k.padEnd(30)} ${String(v)}\n`);

  const checks: Check[] = [];
  const vars = mergedVars(env);
  checks.push(...encryptionChecks(config));
  checks.push(keystoreSeparation(config));
  checks.push(...permissionChecks(config, vars));
  checks.push(...(await databaseChecks(config)));
  // Named production exceptions: allowed, but never silent (the statement words them too).
  for (const o of config.insecureOverrides) {
    checks.push({
      level: 'warn',
      text: `exception in force (KLUIS_ALLOW_INSECURE): ${o} — ${insecureOverrides[o]}`,
    });
  }
  if (config.env !== 'production') {
    checks.push(productionPreview(env));
    checks.push({ level: 'warn', text: 'not production: development secrets and plain HTTP are allowed' });
  }

  out.write('Checks:\n');
  for (const c of checks) {
    out.write(`  ${mark[c.level]} ${c.text}\n`);
    for (const d of c.detail ?? []) out.write(`      - ${d}\n`);
  }
  return checks.some((c) => c.level === 'fail') ? 1 : 0;
}

/** The variables as loadConfig sees them: the KLUIS_CONFIG_FILE file, overridden by the environment. */
function mergedVars(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  let fileVars: Record<string, string> = {};
  if (env.KLUIS_CONFIG_FILE) {
    try {
      fileVars = parseEnvFile(readFileSync(env.KLUIS_CONFIG_FILE, 'utf8'));
    } catch {
      fileVars = {};
    }
  }
  const merged: Record<string, string | undefined> = { ...fileVars };
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') merged[k] = v;
  return merged;
}

function sqliteStores(config: Config): { name: string; file: string; keyed: boolean }[] {
  const stores: { name: string; file: string; keyed: boolean }[] = [];
  if (dialectOf(config.databaseUrl) === 'sqlite') {
    stores.push({
      name: 'database',
      file: sqlitePathOf(config.databaseUrl),
      keyed: config.databaseKey !== undefined,
    });
  }
  if (dialectOf(config.keystoreUrl) === 'sqlite') {
    stores.push({
      name: 'key store',
      file: sqlitePathOf(config.keystoreUrl),
      keyed: config.databaseKey !== undefined,
    });
  }
  return stores;
}

/** Reads each SQLite file's first 16 bytes: a plain `SQLite format 3` header means unencrypted. */
function encryptionChecks(config: Config): Check[] {
  return sqliteStores(config).map(({ name, file, keyed }): Check => {
    const state = sqliteFileState(file);
    switch (state) {
      case 'missing':
      case 'empty':
        return {
          level: keyed ? 'ok' : 'warn',
          text: `${name} file ${file} not created yet; it will ${keyed ? 'be encrypted' : 'NOT be encrypted (no database key)'}`,
        };
      case 'encrypted':
        return keyed
          ? { level: 'ok', text: `${name} file is encrypted (no plain SQLite header): ${file}` }
          : {
              level: 'fail',
              text: `${name} file ${file} is not a plain SQLite file, but no database key is set`,
            };
      case 'plain':
        return {
          level: config.env === 'production' || keyed ? 'fail' : 'warn',
          text: `${name} file ${file} is NOT encrypted (plain SQLite header)${
            keyed ? ': it was created without the key; export and re-import it into an encrypted file' : ''
          }`,
        };
    }
    return { level: 'fail', text: `${name} file ${file}: unknown state` };
  });
}

function keystoreSeparation(config: Config): Check {
  const mainSqlite = dialectOf(config.databaseUrl) === 'sqlite';
  const keysSqlite = dialectOf(config.keystoreUrl) === 'sqlite';
  if (mainSqlite && keysSqlite) {
    return sqlitePathOf(config.databaseUrl) === sqlitePathOf(config.keystoreUrl)
      ? {
          level: 'fail',
          text: 'the key store is the main database file: every database backup would carry the keys, so erasure could not reach old backups; set KLUIS_KEYSTORE_URL to another file',
        }
      : { level: 'ok', text: 'the key store is a separate file from the main database' };
  }
  if (!mainSqlite && keysSqlite) {
    // Production and a configured cluster never get here: loadConfig refuses them (localKeystoreProblem).
    return {
      level: 'warn',
      text: 'the key store is a SQLite file on this host while the database is PostgreSQL: one process on this host only; production, a cluster (KLUIS_REDIS_URL), kluis worker and kluis serve --no-worker refuse it (leave KLUIS_KEYSTORE_URL unset for schema kluis_keys)',
    };
  }
  if (!mainSqlite && !keysSqlite && config.keystoreUrl === config.databaseUrl) {
    return {
      level: 'warn',
      text: 'the key store is a separate schema (kluis_keys) in the same PostgreSQL database: back the schemas up separately (kluis backup create / --keystore), or set KLUIS_KEYSTORE_URL to another database',
    };
  }
  return { level: 'ok', text: 'the key store is a separate database from the main database' };
}

/** Secrets and data must be owner-only: a group- or world-readable key file is a leaked key. */
function permissionChecks(config: Config, vars: Record<string, string | undefined>): Check[] {
  const checks: Check[] = [];
  const loose: string[] = [];
  const looseData: string[] = [];
  const secretFiles = [
    vars.KLUIS_MASTER_KEY_FILE,
    vars.KLUIS_MASTER_KEY_PREVIOUS_FILE,
    vars.KLUIS_DATABASE_KEY_FILE,
    vars.KLUIS_TLS_KEY_FILE,
    resolve(config.dataDir, 'dev-secrets.json'),
  ].filter((f): f is string => f !== undefined && existsSync(f));
  for (const f of secretFiles) {
    const m = modeOf(f);
    if (m !== undefined && isGroupOrWorldAccessible(m)) loose.push(`${f} (${formatMode(m)}): chmod 600 ${f}`);
  }
  if (loose.length > 0) {
    checks.push({ level: 'fail', text: 'key files readable by group or others:', detail: loose });
  } else if (secretFiles.length > 0) {
    checks.push({ level: 'ok', text: `key files are owner-only (${secretFiles.length} checked)` });
  }
  const dataDirMode = modeOf(config.dataDir);
  if (dataDirMode !== undefined && isGroupOrWorldAccessible(dataDirMode)) {
    looseData.push(`${config.dataDir} (${formatMode(dataDirMode)}): chmod 700 ${config.dataDir}`);
  }
  for (const { file } of sqliteStores(config)) {
    // A file in an owner-only folder cannot be reached by others, whatever its own mode.
    const folder = modeOf(dirname(file));
    if (folder !== undefined && !isGroupOrWorldAccessible(folder)) continue;
    for (const f of [file, `${file}-wal`]) {
      const m = modeOf(f);
      if (m !== undefined && isGroupOrWorldAccessible(m))
        looseData.push(`${f} (${formatMode(m)}): chmod 600 ${f}`);
    }
  }
  const configFile = vars.KLUIS_CONFIG_FILE;
  const configMode = configFile === undefined ? undefined : modeOf(configFile);
  if (configFile !== undefined && configMode !== undefined && isGroupOrWorldAccessible(configMode)) {
    looseData.push(
      `${configFile} (${formatMode(configMode)}): it may hold passwords; chmod 600 ${configFile}`,
    );
  }
  if (looseData.length > 0) {
    checks.push({
      level: config.env === 'production' ? 'fail' : 'warn',
      text: 'data or configuration readable by group or others:',
      detail: looseData,
    });
  } else if (dataDirMode !== undefined) {
    checks.push({ level: 'ok', text: `data directory is owner-only (${formatMode(dataDirMode)})` });
  }
  return checks;
}

/** Connects (without migrating) and lists migrations this version would still apply. */
/**
 * ASVS 13.2.2: Kluis needs to own its own schema (migrations create tables), nothing more. A
 * superuser, a role that can create roles or one that bypasses row security could also switch
 * off the audit trail's append-only triggers in every schema and reach other databases, so
 * production fails on one; elsewhere it is a warning.
 */
export async function postgresRoleCheck(db: Kysely<unknown>, production: boolean): Promise<Check> {
  const { rows } = await sql<{
    name: string;
    rolsuper: boolean;
    rolcreaterole: boolean;
    rolbypassrls: boolean;
  }>`select current_user as name, rolsuper, rolcreaterole, rolbypassrls from pg_roles where rolname = current_user`.execute(
    db,
  );
  const role = rows[0];
  if (role === undefined) return { level: 'warn', text: 'the PostgreSQL role could not be read' };
  const excess = [
    role.rolsuper ? 'is a superuser' : undefined,
    role.rolcreaterole ? 'can create roles' : undefined,
    role.rolbypassrls ? 'bypasses row security' : undefined,
  ].filter((e): e is string => e !== undefined);
  if (excess.length === 0) {
    return { level: 'ok', text: `PostgreSQL role "${role.name}" holds no superuser or role-creating rights` };
  }
  return {
    level: production ? 'fail' : 'warn',
    text: `PostgreSQL role "${role.name}" ${excess.join(', ')}: run Kluis as a role that owns only its own database or schema (ASVS 13.2.2)`,
  };
}

/** How far this host's clock may be from the database server's before doctor fails. */
export const MAX_CLOCK_SKEW_MS = 2_000;

/**
 * ASVS 16.2.2: every node stamps audit, access-log and job times with its own clock. Each node's
 * doctor compares that clock with the database server's, so nodes that pass are within twice
 * the bound of each other. `now` is the host's clock (a parameter so a skew can be shown).
 */
export async function clockSkewCheck(db: Kysely<unknown>, now: () => number = Date.now): Promise<Check> {
  const before = now();
  const { rows } = await sql<{
    ms: string | number;
  }>`select extract(epoch from clock_timestamp()) * 1000 as ms`.execute(db);
  const after = now();
  const server = Number(rows[0]?.ms);
  // The server read its clock somewhere within the round trip: compare with its middle.
  const skew = Math.round(Math.abs(server - (before + after) / 2));
  if (!Number.isFinite(skew)) return { level: 'warn', text: 'the database server clock could not be read' };
  return skew <= MAX_CLOCK_SKEW_MS + (after - before) / 2
    ? {
        level: 'ok',
        text: `this host's clock agrees with the database server's (within ${MAX_CLOCK_SKEW_MS} ms)`,
      }
    : {
        level: 'fail',
        text: `this host's clock is ${skew} ms off the database server's: synchronise both with NTP (audit and log times come from each node's clock)`,
      };
}

async function databaseChecks(config: Config): Promise<Check[]> {
  const missing = sqliteStores(config).filter((s) => sqliteFileState(s.file) === 'missing');
  if (missing.length > 0) {
    return [
      {
        level: 'warn',
        text: `${missing.map((s) => s.name).join(' and ')} not created yet: \`kluis migrate\` or \`kluis serve\` creates them`,
      },
    ];
  }
  let kluis: Awaited<ReturnType<typeof openKluis>>;
  try {
    kluis = await openKluis(config, { logger: createLogger('silent'), migrate: false });
  } catch (error) {
    return [{ level: 'fail', text: `database: ${error instanceof Error ? error.message : String(error)}` }];
  }
  try {
    const checks: Check[] = [{ level: 'ok', text: 'database and key store reachable' }];
    const main = await migrationState(kluis.db as Kysely<unknown>, mainMigrations(), 'kysely_migration');
    const keys = await migrationState(
      kluis.keystore as Kysely<unknown>,
      keystoreMigrations,
      'kluis_keystore_migration',
    );
    const pending = [...main.pending, ...keys.pending];
    const unknown = [...main.unknown, ...keys.unknown];
    checks.push(
      pending.length === 0
        ? { level: 'ok', text: 'no pending migrations' }
        : {
            level: 'warn',
            text: `${pending.length} pending migrations (applied at the next start, or now with \`kluis migrate\`):`,
            detail: pending,
          },
    );
    if (unknown.length > 0) {
      checks.push({
        level: 'fail',
        text: 'the database has migrations this Kluis version does not know (was it run by a newer version?):',
        detail: unknown,
      });
    }
    if (dialectOf(config.databaseUrl) === 'postgres') {
      checks.push(await postgresRoleCheck(kluis.db as Kysely<unknown>, config.env === 'production'));
      checks.push(await clockSkewCheck(kluis.db as Kysely<unknown>));
    }
    return checks;
  } finally {
    await kluis.close();
  }
}

async function migrationState(
  db: Kysely<unknown>,
  migrations: Record<string, Migration>,
  table: string,
): Promise<{ pending: string[]; unknown: string[] }> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: table,
    migrationLockTableName: `${table}_lock`,
  });
  const infos = await migrator.getMigrations();
  let applied: string[] = [];
  try {
    applied = (await sql<{ name: string }>`select name from ${sql.table(table)}`.execute(db)).rows.map(
      (r) => r.name,
    );
  } catch {
    applied = [];
  }
  return {
    pending: infos.filter((m) => m.executedAt === undefined).map((m) => m.name),
    unknown: applied.filter((name) => !(name in migrations)),
  };
}

/** What `NODE_ENV=production` would refuse with this same configuration. */
function productionPreview(env: NodeJS.ProcessEnv): Check {
  try {
    loadConfig({ ...env, NODE_ENV: 'production' });
    return { level: 'ok', text: 'this configuration would also start in production' };
  } catch (error) {
    if (error instanceof ConfigError) {
      return { level: 'warn', text: 'would refuse in production:', detail: error.problems };
    }
    throw error;
  }
}
