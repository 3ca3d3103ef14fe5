/**
 * `kluis backup restore`: puts a verified SQLite backup back in place. The copy is prepared
 * beside the target under a temporary name, the post-restore steps run on it (migrations, then
 * — later — the erasure ledger replay, then the audit entry), and only then is it renamed over
 * the target. So a restored database never appears without its post-restore steps done (P15/P6:
 * no erased person comes back), and a failed step leaves the target untouched.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, constants, copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Kysely, SqliteDialect } from 'kysely';
import type { Config } from '../../config/env.js';
import { type KeystoreDB, keystoreMigrations } from '../../crypto/keystore-schema.js';
import { mainMigrations, migrateToLatest } from '../../db/migrations.js';
import type { DB } from '../../db/schema.js';
import { servingProcess } from '../../db/serving-marker.js';
import { type Clock, compactStamp } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { retentionRestoreStep } from '../retention/index.js';
import { appendAudit } from '../security/index.js';
import { type BackupManifest, storeInfo, verifyBackup } from './ops-backup.js';
import { fsyncPath, sha256File } from './ops-files.js';
import { type Progress, silentProgress } from './ops-progress.js';
import { inspectSqlite, openSqliteFile } from './ops-sqlite.js';

/** The restored store, open read-write, before it replaces the target. */
export type RestoredStore =
  | { readonly kind: 'database'; readonly db: Kysely<DB> }
  | { readonly kind: 'keystore'; readonly db: Kysely<KeystoreDB> };

export interface PostRestoreContext {
  readonly restored: RestoredStore;
  /** The manifest of the backup being restored (its `created_at` is where a replay starts). */
  readonly manifest: BackupManifest;
  readonly config: Config;
  readonly clock: Clock;
  readonly progress: Progress;
}

/** One step run on every restored copy, in order, before it is put in place. */
export interface PostRestoreStep {
  readonly name: string;
  /** Returns a one-line result for the operator; throws to abort the restore. */
  run(ctx: PostRestoreContext): Promise<string>;
}

const migrateStep: PostRestoreStep = {
  name: 'apply migrations',
  async run({ restored }) {
    const report =
      restored.kind === 'database'
        ? await migrateToLatest(restored.db as Kysely<unknown>, mainMigrations())
        : await migrateToLatest(
            restored.db as Kysely<unknown>,
            keystoreMigrations,
            'kluis_keystore_migration',
          );
    return report.applied.length === 0 ? 'up to date' : `applied ${report.applied.join(', ')}`;
  },
};

const auditStep: PostRestoreStep = {
  name: 'audit the restore',
  async run({ restored, manifest, clock }) {
    // The key store has no audit trail; its restore is recorded by the operator's runbook.
    if (restored.kind !== 'database') return 'skipped (the key store has no audit trail)';
    const seq = await appendAudit(restored.db, clock, {
      actor: { kind: 'anonymous', orgId: null, ref: 'system:cli' },
      action: 'backup.restored',
      meta: {
        kind: manifest.kind,
        backup_created_at: manifest.created_at,
        backup_audit_seq: manifest.audit_head?.seq ?? null,
      },
    });
    return `backup.restored appended as seq ${seq}`;
  },
};

/**
 * EXTENSION POINT — the steps every restore runs, in order. The erasure ledger replay belongs
 * between the migrations and the audit entry: it re-applies every erasure recorded after
 * `manifest.created_at` (delete rows in a restored database, destroy keys in a restored key
 * store), so nobody erased since the backup comes back (`retention-replay.ts`).
 */
export const postRestoreSteps: readonly PostRestoreStep[] = [migrateStep, retentionRestoreStep, auditStep];

export interface RestoreOptions {
  /** The backup folder (with manifest.json). */
  dir: string;
  /** The SQLite file to restore to. */
  to: string;
  /** Replace an existing file (it is kept as `<file>.pre-restore-<time>`). */
  force?: boolean | undefined;
  config: Config;
  clock: Clock;
  progress?: Progress;
  steps?: readonly PostRestoreStep[];
}

export interface RestoreResult {
  target: string;
  manifest: BackupManifest;
  /** Files moved aside (with force): the database that was there before. */
  keptAside: string[];
  steps: { name: string; result: string }[];
  tables: Record<string, number>;
}

/** Verifies, prepares, runs the post-restore steps and only then replaces the target. */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const progress = options.progress ?? silentProgress;
  progress.step('verifying the backup (restore test)');
  const verified = await verifyBackup(options.dir, options.config, { progress: silentProgress });
  const manifest = verified.manifest;
  if (manifest === undefined || verified.problems.length > 0) {
    throw new AppError('ERR_VALIDATION', {
      message: `restore refused: the backup does not verify:\n${verified.problems.map((p) => `  - ${p}`).join('\n')}`,
    });
  }
  progress.done('ok');
  if (manifest.dialect === 'postgres') {
    const file = join(resolve(options.dir), manifest.files[0]?.name ?? 'kluis.dump');
    throw new AppError('ERR_VALIDATION', {
      message: [
        'restore writes SQLite files; a PostgreSQL backup is restored with pg_restore, e.g.',
        `  pg_restore --clean --if-exists --no-owner --dbname=postgres://USER@HOST/DB ${file}`,
        `(schema ${manifest.postgres?.schema ?? '?'}; stop Kluis first, and run \`kluis migrate\` afterwards).`,
      ].join('\n'),
    });
  }

  const store = storeInfo(options.config, manifest.kind);
  const target = resolve(options.to);
  const existing = [target, `${target}-wal`, `${target}-shm`, `${target}-journal`].filter((f) =>
    existsSync(f),
  );
  const serving = servingProcess(target);
  if (serving !== undefined) {
    throw new AppError('ERR_CONFLICT', {
      message: `${target} is in use: Kluis process ${serving.pid} on this host serves from it (since ${serving.since}). Stop every Kluis process (serve, worker), then restore; --force does not override this.`,
    });
  }
  if (existing.length > 0 && options.force !== true) {
    const live = store.file === target ? ' It is the configured live database.' : '';
    throw new AppError('ERR_CONFLICT', {
      message: `${target} exists.${live} restore will not overwrite a database: stop every Kluis process, then run again with --force (the current file is kept as ${basename(target)}.pre-restore-<time>).`,
    });
  }

  const source = join(resolve(options.dir), manifest.files[0]?.name ?? '');
  const tmp = join(dirname(target), `.${basename(target)}.restore-${randomBytes(4).toString('hex')}`);
  progress.step(`copying beside the target as ${basename(tmp)}`);
  copyFileSync(source, tmp, constants.COPYFILE_EXCL);
  chmodSync(tmp, 0o600);
  progress.done();

  const results: { name: string; result: string }[] = [];
  let tables: Record<string, number> = {};
  try {
    // The copy must be the bytes that were verified, not whatever the folder holds by now.
    if ((await sha256File(tmp)).sha256 !== manifest.files[0]?.sha256) {
      throw new AppError('ERR_CONFLICT', {
        message: `${source} changed after it was verified; nothing restored`,
      });
    }
    const handle = openSqliteFile(tmp, store.encryptionKey, { readonly: false });
    handle.pragma('foreign_keys = ON');
    const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: handle }) });
    try {
      const restored: RestoredStore =
        manifest.kind === 'database'
          ? { kind: 'database', db: kysely as Kysely<DB> }
          : { kind: 'keystore', db: kysely as Kysely<KeystoreDB> };
      for (const step of options.steps ?? postRestoreSteps) {
        progress.step(step.name);
        const result = await step.run({
          restored,
          manifest,
          config: options.config,
          clock: options.clock,
          progress,
        });
        results.push({ name: step.name, result });
        progress.done(result);
      }
      tables = inspectSqlite(handle, store.migrationTable).tables;
    } finally {
      await kysely.destroy();
    }
    fsyncPath(tmp);
  } catch (error) {
    for (const f of [tmp, `${tmp}-journal`, `${tmp}-wal`, `${tmp}-shm`]) rmSync(f, { force: true });
    throw error;
  }

  const stamp = compactStamp(options.clock.now());
  const keptAside: string[] = [];
  for (const f of existing) {
    const suffix = f.slice(target.length);
    const aside = `${target}.pre-restore-${stamp}${suffix}`;
    renameSync(f, aside);
    keptAside.push(aside);
  }
  renameSync(tmp, target);
  fsyncPath(dirname(target));
  return { target, manifest, keptAside, steps: results, tables };
}
