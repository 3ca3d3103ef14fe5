/**
 * Operational commands: `kluis init`, `kluis keys rotate`, `kluis backup create|verify|restore`.
 * Results go to stdout, progress and warnings to stderr. The work itself lives in the ops-*
 * files as plain functions (tested directly); this file only wires options to them.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Kluis } from '../../kluis.js';
import { type CliIo, sayTo, withKluis } from '../../shared/cli.js';
import { type BackupKind, createBackup, defaultBackupDir, verifyBackup } from './ops-backup.js';
import { initSecrets } from './ops-init.js';
import { ROTATION_PROCEDURE, rotateMasterKey, rotationKeys } from './ops-keys.js';
import { createProgress, formatBytes } from './ops-progress.js';
import { restoreBackup } from './ops-restore.js';

export function registerOpsCommands(program: Command, io: CliIo): void {
  registerInitCommand(program, io);
  registerKeysCommands(program, io);
  registerBackupCommands(program, io);
}

// Backups and key rotation never change the schema (a restored copy must not be migrated).
const withUnmigrated = (io: CliIo, work: (kluis: Kluis) => Promise<void>) =>
  withKluis(io, work, { migrate: false });

/** `kluis init`: a production secrets set and the env file naming it. */
function registerInitCommand(program: Command, io: CliIo): void {
  const say = sayTo(io.out);
  const warn = sayTo(io.err);
  program
    .command('init')
    .description('generate a production secrets set (master key, database key) and an env file naming them')
    .option('--dir <dir>', 'data directory', './data')
    // Not `--env-file`: Node and tsx take that option for themselves (issue 16).
    .option('--env-out <file>', 'env file to write', 'kluis.env')
    .option(
      '--secrets-dir <dir>',
      'folder for master.key and database.key (default: secrets/ beside the env file)',
    )
    .option(
      '--force',
      'replace existing key files; the old ones are kept as *.replaced-<time>, never deleted',
    )
    .action((opts: { dir: string; envOut: string; secretsDir?: string; force?: boolean }) => {
      const result = initSecrets({
        dataDir: opts.dir,
        envFile: opts.envOut,
        secretsDir: opts.secretsDir,
        force: opts.force,
        clock: io.clock,
      });
      for (const aside of result.keptAside) warn(`! kept the previous file as ${aside}`);
      if (opts.force && result.keptAside.length > 0) {
        warn('! a database made with the previous keys cannot be opened with the new ones');
      }
      say(`Master key:    ${result.masterKeyFile} (0600)`);
      say(`Database key:  ${result.databaseKeyFile} (0600)`);
      say(`Env file:      ${result.envFile}`);
      say(`Data folder:   ${result.dataDir}`);
      say();
      say('Next:');
      say('  1. Back up both key files now, somewhere other than the database backups.');
      say(`  2. Fill in KLUIS_PUBLIC_ORIGIN and the TLS/proxy settings in ${result.envFile}.`);
      say(`  3. Check: KLUIS_CONFIG_FILE=${result.envFile} kluis doctor`);
      say(
        `  4. Set up: KLUIS_CONFIG_FILE=${result.envFile} kluis setup --name … --slug … --owner-email … --owner-name …`,
      );
      say(`  5. Start: KLUIS_CONFIG_FILE=${result.envFile} kluis serve`);
    });
}

/** `kluis keys rotate`: re-wrap every org key under the current (or a new) master key. */
function registerKeysCommands(program: Command, io: CliIo): void {
  const say = sayTo(io.out);
  const warn = sayTo(io.err);
  const keys = program.command('keys').description('master key maintenance');
  keys
    .command('rotate')
    .description('re-wrap every org key under the current master key (zero downtime, see below)')
    .option(
      '--new-key-file <path>',
      'offline rotation: re-wrap under the key in this file; the configured KLUIS_MASTER_KEY is the old key',
    )
    .addHelpText('after', `\n${ROTATION_PROCEDURE}\n`)
    .action(async (opts: { newKeyFile?: string }) => {
      const config = io.loadConfig();
      const rotation = rotationKeys(
        config,
        opts.newKeyFile === undefined ? undefined : readFileSync(opts.newKeyFile, 'utf8'),
      );
      if (rotation.source === 'new-key-file') {
        warn('! offline rotation: a running Kluis that lacks the new key cannot unwrap rotated org keys.');
        warn('  Stop Kluis first, or use the zero-downtime procedure (kluis keys rotate --help).');
      } else if (config.previousMasterKeys.length === 0) {
        warn(
          '! KLUIS_MASTER_KEY_PREVIOUS is not set: org keys under another master key cannot be re-wrapped.',
        );
      }
      await withUnmigrated(io, async (kluis) => {
        const progress = createProgress(io.err);
        progress.step('re-wrapping org keys');
        const result = await rotateMasterKey({
          db: kluis.db,
          keystore: kluis.keystore,
          masterKeys: rotation.masterKeys,
          clock: kluis.clock,
          onProgress: (done, total) => progress.update(done, total),
        });
        progress.done(`${result.rewrapped} re-wrapped`);
        say(
          `${result.rewrapped} org keys re-wrapped; all ${result.orgKeys} are now under master key ${result.masterKeyId}.`,
        );
        say(
          rotation.source === 'new-key-file'
            ? `Next: point KLUIS_MASTER_KEY_FILE at ${opts.newKeyFile} before starting Kluis; keep the old key until no key-store backup needs it.`
            : 'Next: remove KLUIS_MASTER_KEY_PREVIOUS(_FILE) and restart Kluis.',
        );
      });
    });
}

/** `kluis backup create|verify|restore`. */
function registerBackupCommands(program: Command, io: CliIo): void {
  const say = sayTo(io.out);
  const warn = sayTo(io.err);
  const backup = program
    .command('backup')
    .description('consistent online backups, the restore test, and restore');
  backup
    .command('create')
    .description('copy the main database (or with --keystore the key store) while Kluis runs')
    .option('--out <dir>', 'backup folder to create (default: <data dir>/backups/<kind>-<time>)')
    .option('--keystore', 'back up the key store instead of the main database (it has its own schedule)')
    .action(async (opts: { out?: string; keystore?: boolean }) => {
      const kind: BackupKind = opts.keystore ? 'keystore' : 'database';
      await withUnmigrated(io, async (kluis) => {
        const outDir = opts.out ?? defaultBackupDir(kluis.config, kind, io.clock.now());
        const { dir, manifest } = await createBackup({
          kluis,
          kind,
          outDir,
          progress: createProgress(io.err),
        });
        const bytes = manifest.files.reduce((n, f) => n + f.bytes, 0);
        say(
          `Backup of the ${storeName(kind)} written to ${dir} (${formatBytes(bytes)}, ${manifest.dialect}).`,
        );
        say(`  audit head: ${manifest.audit_head ? `seq ${manifest.audit_head.seq}` : 'n/a'}`);
        say(`  migrations: ${manifest.migrations.length}; tables: ${Object.keys(manifest.tables).length}`);
        if (manifest.encryption === 'sqlcipher') {
          say(
            kind === 'database'
              ? '  encrypted with the database key (not in the backup): keep that key elsewhere.'
              : '  encrypted with the key store key (derived from the database key, not in the backup).',
          );
        } else {
          warn('! this backup is not encrypted as a whole (personal fields are): encrypt it at rest.');
        }
        if (kind === 'database')
          say('  the key store is not in it: back it up with --keystore on its own schedule.');
      });
    });
  backup
    .command('verify <dir>')
    .description('restore test: read the backup back with the key, check hashes, integrity, rows, migrations')
    .action(async (dir: string) => {
      const report = await verifyBackup(dir, io.loadConfig(), { progress: createProgress(io.err) });
      for (const p of report.passed) say(`  ✓ ${p}`);
      for (const [t, n] of Object.entries(report.tables)) say(`    ${t.padEnd(32)} ${n}`);
      if (report.pendingMigrations.length > 0) {
        say(`  ! a restore would then apply: ${report.pendingMigrations.join(', ')}`);
      }
      for (const p of report.problems) say(`  ✗ ${p}`);
      say(report.problems.length === 0 ? `Backup ${report.dir} verifies.` : `Backup ${report.dir} FAILS.`);
      io.setExitCode(report.problems.length === 0 ? 0 : 1);
    });
  backup
    .command('restore <dir>')
    .description('restore a SQLite backup to a file (verifies first; runs the post-restore steps)')
    .requiredOption('--to <path>', 'the SQLite file to write')
    .option('--force', 'replace an existing file (kept as <file>.pre-restore-<time>); stop Kluis first')
    .action(async (dir: string, opts: { to: string; force?: boolean }) => {
      const result = await restoreBackup({
        dir,
        to: opts.to,
        force: opts.force,
        config: io.loadConfig(),
        clock: io.clock,
        progress: createProgress(io.err),
      });
      for (const aside of result.keptAside) warn(`! kept the previous file as ${aside}`);
      say(
        `Restored the ${storeName(result.manifest.kind)} of ${result.manifest.created_at} to ${result.target}.`,
      );
      for (const s of result.steps) say(`  ✓ ${s.name}: ${s.result}`);
      say(
        `  ${Object.keys(result.tables).length} tables, ${Object.values(result.tables).reduce((a, b) => a + b, 0)} rows`,
      );
    });
}

function storeName(kind: BackupKind): string {
  return kind === 'database' ? 'database' : 'key store';
}
