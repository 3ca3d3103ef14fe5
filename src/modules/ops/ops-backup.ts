/**
 * `kluis backup create|verify`: consistent online copies and the restore test (P11, and the
 * ground for erasure surviving a restore, P15/P6).
 *
 * - SQLite: `VACUUM INTO` reads one snapshot while Kluis keeps writing, and the copy stays
 *   encrypted with the same key (checked: no plain SQLite header, and it opens with the key).
 * - PostgreSQL: `pg_dump --format=custom` of the schema, in an exported snapshot, so the manifest
 *   describes exactly what was dumped.
 * - The main database and the key store are separate backups (`--keystore`) on separate
 *   schedules: a key store kept apart is what makes crypto-shredding reach old database backups.
 *
 * Every backup folder has `manifest.json` (written last: no manifest, no backup) with the file
 * hashes, migrations, rows per table and the audit head, which `verify` checks the copy against.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import { type Config, keystoreEncryptionKey, masterKeysOf, redactUrl } from '../../config/env.js';
import { keystoreMigrations } from '../../crypto/keystore-schema.js';
import { type DialectName, dialectOf, sqlitePathOf } from '../../db/database.js';
import { mainMigrations } from '../../db/migrations.js';
import type { Kluis } from '../../kluis.js';
import { compactStamp } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { kluisVersion } from '../../shared/version.js';
import { type AuditSigningKey, deriveAuditSigningKey, trustedKeyMap } from '../security/index.js';
import { fsyncPath, sha256File, sqliteFileState, writeFileAtomic } from './ops-files.js';
import {
  checkManifestSignature,
  type ManifestSignatureCheck,
  signManifest,
} from './ops-manifest-signature.js';
import { hasTool, inSnapshot, pgDumpSchema, scanDump } from './ops-postgres.js';
import { formatBytes, type Progress, silentProgress } from './ops-progress.js';
import { inspectSqlite, openSqliteFile, type SqliteInspection } from './ops-sqlite.js';

export type BackupKind = 'database' | 'keystore';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'kluis-backup/1';

const fileEntry = z.object({
  /** A plain file name inside the backup folder (never a path). */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  kind: z.enum(['database', 'keystore']),
  created_at: z.string(),
  dialect: z.enum(['sqlite', 'postgres']),
  kluis_version: z.string(),
  /** Where it was copied from (passwords redacted). */
  source: z.string(),
  /** `sqlcipher`: the file is encrypted with the same key as the live one; `none`: plain. */
  encryption: z.enum(['sqlcipher', 'none']),
  files: z.array(fileEntry).min(1),
  migrations: z.array(z.string()),
  tables: z.record(z.string(), z.number().int().nonnegative()),
  audit_head: z.object({ seq: z.number().int().nonnegative(), hash: z.string() }).nullable(),
  postgres: z.object({ schema: z.string() }).optional(),
  /** Ed25519 by the installation's audit signing key (ops-manifest-signature.ts). */
  signature: z.object({ key_id: z.string().regex(/^[0-9a-f]{16}$/), value: z.string().max(200) }).optional(),
});

export type BackupManifest = z.infer<typeof manifestSchema>;

/** What differs between the main database and the key store. */
export interface StoreInfo {
  kind: BackupKind;
  dialect: DialectName;
  url: string;
  /** The SQLite file (undefined on PostgreSQL). */
  file: string | undefined;
  encryptionKey: string | undefined;
  migrationTable: string;
  knownMigrations: string[];
}

export function storeInfo(config: Config, kind: BackupKind): StoreInfo {
  const url = kind === 'database' ? config.databaseUrl : config.keystoreUrl;
  const dialect = dialectOf(url);
  return {
    kind,
    dialect,
    url,
    file: dialect === 'sqlite' ? sqlitePathOf(url) : undefined,
    encryptionKey: kind === 'database' ? config.databaseKey?.value : keystoreEncryptionKey(config),
    migrationTable: kind === 'database' ? 'kysely_migration' : 'kluis_keystore_migration',
    knownMigrations: Object.keys(kind === 'database' ? mainMigrations() : keystoreMigrations).sort(),
  };
}

/** `<data dir>/backups/<kind>-<UTC time>`: the default `--out`. */
export function defaultBackupDir(config: Config, kind: BackupKind, now: Date): string {
  return resolve(config.dataDir, 'backups', `${kind}-${compactStamp(now)}`);
}

export interface CreateBackupOptions {
  kluis: Pick<Kluis, 'config' | 'db' | 'keystore' | 'clock' | 'backupTo' | 'services'>;
  kind: BackupKind;
  /** The backup folder: created (0700); an existing one must be empty. */
  outDir: string;
  progress?: Progress;
  pgDump?: string;
}

export interface CreatedBackup {
  dir: string;
  manifest: BackupManifest;
}

/** Takes a consistent online copy of one store and writes its manifest; audited as `backup.created`. */
export async function createBackup(options: CreateBackupOptions): Promise<CreatedBackup> {
  const { kluis, kind } = options;
  const progress = options.progress ?? silentProgress;
  const store = storeInfo(kluis.config, kind);
  const dir = resolve(options.outDir);
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new AppError('ERR_CONFLICT', {
      message: `${dir} exists and is not empty: choose a new --out folder`,
    });
  }
  if (store.dialect === 'postgres' && !(await hasTool(options.pgDump ?? 'pg_dump'))) {
    throw new AppError('ERR_VALIDATION', { message: pgDumpMissing(store) });
  }
  if (store.file !== undefined && !existsSync(store.file)) {
    throw new AppError('ERR_NOT_FOUND', { message: `no ${kind} at ${store.file}: nothing to back up` });
  }
  const existed = existsSync(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existed) chmodSync(dir, 0o700);
  try {
    const manifest = signManifest(
      store.dialect === 'sqlite'
        ? await copySqlite(options, store, dir, progress)
        : await dumpPostgres(options, store, dir, progress),
      installationSigningKey(kluis.config),
    );
    writeFileAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, 0o600);
    const bytes = manifest.files.reduce((n, f) => n + f.bytes, 0);
    // Vault's rule: a copy of everything is an event the trail must show, or it does not exist.
    await kluis.services.audit.append(kluis.db, {
      actor: { kind: 'anonymous', orgId: null, ref: 'system:cli' },
      action: 'backup.created',
      meta: { kind, dialect: store.dialect, bytes, audit_seq: manifest.audit_head?.seq ?? null },
    });
    return { dir, manifest };
  } catch (error) {
    // Leave no half backup behind; an --out folder the operator made stays (empty).
    if (existed) for (const f of readdirSync(dir)) rmSync(join(dir, f), { recursive: true, force: true });
    else rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function pgDumpMissing(store: StoreInfo): string {
  return [
    'pg_dump was not found on PATH, so Kluis cannot take the PostgreSQL backup itself.',
    'Install the client tools of the server’s major version (Debian: apt-get install postgresql-client),',
    `or back up with your PostgreSQL tooling (pg_dump, pgBackRest/WAL archiving for point-in-time recovery) —`,
    `covering ${store.kind === 'database' ? 'the Kluis schema' : 'the key store schema (kluis_keys)'} of ${redactUrl(store.url)}.`,
  ].join('\n');
}

async function copySqlite(
  options: CreateBackupOptions,
  store: StoreInfo,
  dir: string,
  progress: Progress,
): Promise<BackupManifest> {
  const source = store.file ?? '';
  const name = basename(source);
  const target = join(dir, name);
  progress.step(`copying the ${store.kind === 'database' ? 'database' : 'key store'} online (VACUUM INTO)`);
  await options.kluis.backupTo(store.kind, target);
  chmodSync(target, 0o600);
  progress.done(formatBytes(statSync(target).size));

  const state = sqliteFileState(target);
  if (store.encryptionKey !== undefined && state !== 'encrypted') {
    throw new AppError('ERR_INTERNAL', {
      message: `the copy of ${source} is not encrypted (${state}); the backup was removed`,
    });
  }
  progress.step('checking the copy (opens with the key, integrity_check)');
  const facts = inspectCopy(target, store);
  if (facts.integrity.length !== 1 || facts.integrity[0] !== 'ok') {
    throw new AppError('ERR_INTERNAL', {
      message: `the copy fails integrity_check: ${facts.integrity.slice(0, 5).join('; ')}`,
    });
  }
  progress.done('ok');
  return describeCopy(
    options,
    store,
    { target, name, progress, facts },
    {
      dialect: 'sqlite',
      source,
      encryption: store.encryptionKey === undefined ? 'none' : 'sqlcipher',
    },
  );
}

/** Hashes the written copy and describes it in the manifest (the part every dialect shares). */
async function describeCopy(
  options: CreateBackupOptions,
  store: StoreInfo,
  copy: {
    target: string;
    name: string;
    progress: Progress;
    facts: Pick<SqliteInspection, 'migrations' | 'tables' | 'auditHead'>;
  },
  how: Pick<BackupManifest, 'dialect' | 'source' | 'encryption'>,
): Promise<BackupManifest> {
  const { target, name, progress, facts } = copy;
  progress.step('hashing');
  const { sha256, bytes } = await sha256File(target, (d, t) => progress.update(d, t));
  fsyncPath(target);
  progress.done(sha256.slice(0, 16));
  return {
    format: MANIFEST_FORMAT,
    kind: store.kind,
    created_at: options.kluis.clock.now().toISOString(),
    dialect: how.dialect,
    kluis_version: kluisVersion(),
    source: how.source,
    encryption: how.encryption,
    files: [{ name, bytes, sha256 }],
    migrations: facts.migrations,
    tables: facts.tables,
    audit_head: facts.auditHead,
  };
}

/** Inspects a SQLite copy, opened read-only with its key. */
function inspectCopy(file: string, store: StoreInfo): SqliteInspection {
  const handle = openSqliteFile(file, store.encryptionKey, { readonly: true });
  try {
    return inspectSqlite(handle, store.migrationTable);
  } finally {
    handle.close();
  }
}

/** The schema a Kysely connection works in (its search_path), i.e. the one to dump. */
async function currentSchema(db: Kysely<unknown>): Promise<string> {
  const r = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  const schema = r.rows[0]?.schema;
  if (schema === undefined)
    throw new AppError('ERR_INTERNAL', { message: 'current_schema() returned nothing' });
  return schema;
}

async function dumpPostgres(
  options: CreateBackupOptions,
  store: StoreInfo,
  dir: string,
  progress: Progress,
): Promise<BackupManifest> {
  const kysely = (store.kind === 'database' ? options.kluis.db : options.kluis.keystore) as Kysely<unknown>;
  const schema = await currentSchema(kysely);
  const name = store.kind === 'database' ? 'kluis.dump' : 'kluis-keys.dump';
  const target = join(dir, name);
  progress.step(`pg_dump of schema ${schema} (one snapshot, online)`);
  const facts = await inSnapshot(store.url, schema, store.migrationTable, async (snapshot, f) => {
    await pgDumpSchema({
      url: store.url,
      schema,
      snapshot,
      file: target,
      ...(options.pgDump ? { pgDump: options.pgDump } : {}),
    });
    return f;
  });
  chmodSync(target, 0o600);
  progress.done(formatBytes(statSync(target).size));
  const described = await describeCopy(
    options,
    store,
    { target, name, progress, facts },
    {
      dialect: 'postgres',
      source: redactUrl(store.url),
      encryption: 'none',
    },
  );
  return { ...described, postgres: { schema } };
}

export interface VerifyReport {
  dir: string;
  manifest: BackupManifest | undefined;
  /** Everything wrong; empty means the backup restores. */
  problems: string[];
  /** What was checked and found right, for the operator. */
  passed: string[];
  /** Rows per table as read back from the copy. */
  tables: Record<string, number>;
  /** Migrations this Kluis version would still apply after a restore. */
  pendingMigrations: string[];
}

const signatureProblems: Record<Exclude<ManifestSignatureCheck, 'valid'>, string> = {
  unsigned: 'the manifest is not signed: it cannot be told apart from one written by someone else',
  unknown_key:
    'the manifest is signed by a key this installation does not have: set the master key it was made with (or KLUIS_MASTER_KEY_PREVIOUS) to check it',
  invalid: 'the manifest signature is wrong: the manifest was changed after the backup was made',
};

/** The key backups are signed with: the audit signing key of the current master key. */
function installationSigningKey(config: Config): AuditSigningKey {
  const [current] = masterKeysOf(config);
  if (current === undefined) throw new AppError('ERR_INTERNAL', { message: 'no master key configured' });
  return deriveAuditSigningKey(current);
}

/** Keys a manifest may be signed with: the current and previous master keys' signing keys. */
function installationKeys(config: Config) {
  return trustedKeyMap(masterKeysOf(config).map((k) => deriveAuditSigningKey(k)));
}

export function readManifest(dir: string): BackupManifest {
  const file = join(dir, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new AppError('ERR_NOT_FOUND', {
      message: `${file} is missing or not JSON: not a (complete) Kluis backup`,
      cause,
    });
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new AppError('ERR_VALIDATION', {
      message: `${file} is not a ${MANIFEST_FORMAT} manifest: ${parsed.error.issues
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')}`,
    });
  }
  return parsed.data;
}

/**
 * The restore test: checks the manifest's hashes, reads the whole copy back (SQLite: read-only,
 * with the key, integrity_check; PostgreSQL: pg_restore of every block), counts rows per table
 * and compares migrations and audit head with the manifest. Never changes the backup.
 */
export async function verifyBackup(
  dirArg: string,
  config: Config,
  options: { progress?: Progress; pgRestore?: string } = {},
): Promise<VerifyReport> {
  const dir = resolve(dirArg);
  const progress = options.progress ?? silentProgress;
  const report: VerifyReport = {
    dir,
    manifest: undefined,
    problems: [],
    passed: [],
    tables: {},
    pendingMigrations: [],
  };
  try {
    report.manifest = readManifest(dir);
  } catch (error) {
    report.problems.push(error instanceof Error ? error.message : String(error));
    return report;
  }
  const manifest = report.manifest;
  const store = storeInfo(config, manifest.kind);
  const signed = checkManifestSignature(manifest, installationKeys(config));
  if (signed === 'valid') {
    report.passed.push(`manifest signed by this installation (key ${manifest.signature?.key_id})`);
  } else {
    report.problems.push(signatureProblems[signed]);
  }

  progress.step('checking file hashes');
  for (const f of manifest.files) {
    const path = join(dir, f.name);
    if (!existsSync(path)) {
      report.problems.push(`${f.name} is missing`);
      continue;
    }
    const { sha256, bytes } = await sha256File(path, (d, t) => progress.update(d, t));
    if (sha256 !== f.sha256 || bytes !== f.bytes) {
      report.problems.push(
        `${f.name} does not match the manifest (sha256 ${sha256.slice(0, 16)}…, ${bytes} bytes)`,
      );
    } else {
      report.passed.push(`${f.name}: sha256 matches the manifest`);
    }
  }
  progress.done();
  const main = manifest.files[0];
  if (main === undefined || !existsSync(join(dir, main.name))) return report;

  let readBack: {
    tables: Record<string, number>;
    migrations: string[];
    auditHead: SqliteInspection['auditHead'];
  };
  try {
    progress.step('reading the copy back');
    readBack =
      manifest.dialect === 'sqlite'
        ? readBackSqlite(join(dir, main.name), manifest, store, report)
        : await readBackPostgres(join(dir, main.name), store, report, options.pgRestore);
    progress.done();
  } catch (error) {
    report.problems.push(
      `the copy cannot be read back: ${error instanceof Error ? error.message : String(error)}` +
        (manifest.dialect === 'sqlite' ? ' (damaged file, or not the configured database key)' : ''),
    );
    return report;
  }
  report.tables = readBack.tables;

  const mismatched = Object.keys({ ...manifest.tables, ...readBack.tables })
    .sort()
    .filter((t) => manifest.tables[t] !== readBack.tables[t])
    .map((t) => `${t}: manifest ${manifest.tables[t] ?? 'none'}, copy ${readBack.tables[t] ?? 'none'}`);
  if (mismatched.length > 0) report.problems.push(`rows per table differ: ${mismatched.join('; ')}`);
  else
    report.passed.push(`rows per table match the manifest (${Object.keys(readBack.tables).length} tables)`);

  if (JSON.stringify(readBack.migrations) !== JSON.stringify([...manifest.migrations].sort())) {
    report.problems.push(
      `migrations in the copy (${readBack.migrations.join(', ')}) differ from the manifest (${manifest.migrations.join(', ')})`,
    );
  } else {
    report.passed.push(`migrations match the manifest (${readBack.migrations.length})`);
  }
  const unknown = readBack.migrations.filter((m) => !store.knownMigrations.includes(m));
  if (unknown.length > 0) {
    report.problems.push(
      `the copy has migrations this Kluis version does not know (${unknown.join(', ')}): restore it with Kluis ${manifest.kluis_version} or later`,
    );
  }
  report.pendingMigrations = store.knownMigrations.filter((m) => !readBack.migrations.includes(m));

  if (manifest.kind === 'database') {
    if (JSON.stringify(readBack.auditHead) !== JSON.stringify(manifest.audit_head)) {
      report.problems.push('the audit head in the copy differs from the manifest');
    } else {
      report.passed.push(`audit head matches the manifest (seq ${manifest.audit_head?.seq ?? 'none'})`);
    }
  }
  return report;
}

function readBackSqlite(
  file: string,
  manifest: BackupManifest,
  store: StoreInfo,
  report: VerifyReport,
): { tables: Record<string, number>; migrations: string[]; auditHead: SqliteInspection['auditHead'] } {
  const state = sqliteFileState(file);
  if (manifest.encryption === 'sqlcipher' && state !== 'encrypted') {
    report.problems.push(`${basename(file)} is NOT encrypted (${state}) although the manifest says it is`);
  } else if (state === 'encrypted') {
    report.passed.push(`${basename(file)} is encrypted (no plain SQLite header)`);
  }
  const facts = inspectCopy(file, store);
  report.passed.push(`${basename(file)} opens read-only with the configured key`);
  if (facts.integrity.length !== 1 || facts.integrity[0] !== 'ok') {
    report.problems.push(`integrity_check failed: ${facts.integrity.slice(0, 5).join('; ')}`);
  } else {
    report.passed.push('integrity_check: ok');
  }
  if (manifest.kind === 'database' && facts.auditHead !== null) {
    if (facts.auditLast === null ? facts.auditHead.seq !== 0 : facts.auditLast.seq !== facts.auditHead.seq) {
      report.problems.push('the audit head does not point at the last audit entry (inconsistent copy)');
    } else if (facts.auditLast !== null && facts.auditLast.hash !== facts.auditHead.hash) {
      report.problems.push('the audit head hash differs from the last audit entry (inconsistent copy)');
    }
  }
  return { tables: facts.tables, migrations: facts.migrations, auditHead: facts.auditHead };
}

async function readBackPostgres(
  file: string,
  store: StoreInfo,
  report: VerifyReport,
  pgRestore = 'pg_restore',
): Promise<{
  tables: Record<string, number>;
  migrations: string[];
  auditHead: SqliteInspection['auditHead'];
}> {
  if (!(await hasTool(pgRestore))) {
    throw new Error('pg_restore was not found on PATH: install the PostgreSQL client tools to test the dump');
  }
  const scan = await scanDump(file, [store.migrationTable, 'audit_head'], pgRestore);
  report.passed.push(`${basename(file)} reads back completely with pg_restore`);
  const migrations = (scan.rows[store.migrationTable] ?? []).map((r) => r.name ?? '').sort();
  const head = scan.rows.audit_head?.find((r) => r.id === '1');
  return {
    tables: scan.tables,
    migrations,
    auditHead: head === undefined ? null : { seq: Number(head.seq), hash: head.hash ?? '' },
  };
}
