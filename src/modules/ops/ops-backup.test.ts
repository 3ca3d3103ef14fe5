import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testCli } from '../../../test/cli.js';
import { createTestKluis, type TestKluis, testDialect } from '../../../test/dialects.js';
import { loadConfig } from '../../config/env.js';
import { rawSqlcipherKey } from '../../db/database.js';
import { markServingStores, servingMarkerOf } from '../../db/serving-marker.js';
import { openKluis } from '../../kluis.js';
import { appendAudit } from '../../modules/security/audit-chain.js';
import { createFixedClock } from '../../shared/clock.js';
import { createLogger } from '../../shared/logger.js';
import { type BackupKind, createBackup, MANIFEST_FILE, readManifest, verifyBackup } from './ops-backup.js';
import { registerOpsCommands } from './ops-commands.js';
import { sqliteFileState } from './ops-files.js';
import { hasTool } from './ops-postgres.js';
import { type PostRestoreStep, postRestoreSteps, restoreBackup } from './ops-restore.js';
import { inspectSqlite, openSqliteFile } from './ops-sqlite.js';

const hasPgDump = await hasTool('pg_dump');
const sqlite = testDialect === 'sqlite';
const clock = createFixedClock('2025-03-01T10:00:00.000Z');
const loc = { table: 'contacts', column: 'email', rowId: 'row-1' };
const actor = { kind: 'anonymous' as const, orgId: null, ref: 'system:test' };

/** The environment that gives the CLI the same configuration as the test Kluis. */
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

function _sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(chunk, _enc, done) {
        chunks.push(String(chunk));
        done();
      },
    }),
    text: () => chunks.join(''),
  };
}

async function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  const program = new Command().exitOverride();
  const run = testCli({ env, clock });
  registerOpsCommands(program, run.io);
  await program.parseAsync(['node', 'kluis', ...args]);
  return { code: run.code(), out: run.out.text() };
}

/**
 * A second connection that appends audit entries (same three statements as appendAudit) in a
 * worker thread until told to stop: a real concurrent writer while the backup runs.
 */
function startSqliteWriter(file: string, key: string): { started: Promise<void>; stop(): Promise<number> } {
  const stopFlag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads');
    const { createHash } = require('node:crypto');
    const Database = require(workerData.driver);
    const db = new Database(workerData.file);
    db.pragma("cipher='sqlcipher'");
    db.pragma('key="x\\'' + workerData.rawKey + '\\'"');
    db.pragma('busy_timeout = 5000');
    const bump = db.prepare('UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash');
    const insert = db.prepare("INSERT INTO audit_log (seq, at, org_id, actor, action, target_type, target_id, purpose, fields, meta, prev_hash, hash) VALUES (?, '2025-03-01T10:00:00.000Z', NULL, 'system:writer', 'test.write', NULL, NULL, NULL, '[]', '{}', ?, ?)");
    const setHash = db.prepare('UPDATE audit_head SET hash = ? WHERE id = 1');
    const append = db.transaction(() => {
      const head = bump.get();
      const hash = createHash('sha256').update(head.hash + ':' + head.seq).digest('hex');
      insert.run(head.seq, head.hash, hash);
      setHash.run(hash);
    });
    let n = 0;
    while (Atomics.load(workerData.stop, 0) === 0) {
      append.immediate();
      n++;
      if (n === 20) parentPort.postMessage('started');
    }
    db.close();
    parentPort.postMessage(n);
    `,
    {
      eval: true,
      workerData: {
        driver: createRequire(import.meta.url).resolve('better-sqlite3-multiple-ciphers'),
        file,
        rawKey: rawSqlcipherKey(key),
        stop: stopFlag,
      },
    },
  );
  const messages: unknown[] = [];
  const waiters: ((m: unknown) => void)[] = [];
  worker.on('message', (m) => {
    const w = waiters.shift();
    if (w) w(m);
    else messages.push(m);
  });
  const next = () =>
    new Promise<unknown>((resolveNext, reject) => {
      const queued = messages.shift();
      if (queued !== undefined) resolveNext(queued);
      else waiters.push(resolveNext);
      worker.once('error', reject);
    });
  const started = next().then(() => undefined);
  return {
    started,
    async stop() {
      await started;
      Atomics.store(stopFlag, 0, 1);
      return Number(await next());
    },
  };
}

/** A concurrent writer on PostgreSQL: appendAudit in a loop on the pool, until stopped. */
function startPgWriter(k: TestKluis): { started: Promise<void>; stop(): Promise<number> } {
  let stopped = false;
  let n = 0;
  let markStarted: () => void = () => {};
  const started = new Promise<void>((r) => {
    markStarted = r;
  });
  const loop = (async () => {
    while (!stopped) {
      await appendAudit(k.db, clock, { actor, action: 'test.write' });
      n++;
      if (n === 20) markStarted();
    }
    return n;
  })();
  return {
    started,
    async stop() {
      await started;
      stopped = true;
      return loop;
    },
  };
}

async function seed(k: TestKluis): Promise<Buffer> {
  for (let i = 0; i < 50; i++) await appendAudit(k.db, clock, { actor, action: 'test.seed', meta: { i } });
  return k.keyring.encryptForSubject('org-a', 'subj-1', loc, 'jan@example.nl');
}

function flipByte(file: string, at: number): void {
  const raw = readFileSync(file);
  raw[at] = (raw[at] ?? 0) ^ 0xff;
  writeFileSync(file, raw);
}

describe('kluis backup', () => {
  let kluis: TestKluis;
  beforeEach(async () => {
    kluis = await createTestKluis({ clock });
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  it.runIf(sqlite || hasPgDump)(
    'takes a consistent, still-encrypted online copy while a writer inserts rows, and the copy verifies',
    async () => {
      await seed(kluis);
      const writer =
        sqlite && kluis.dbFile && kluis.config.databaseKey
          ? startSqliteWriter(kluis.dbFile, kluis.config.databaseKey.value)
          : startPgWriter(kluis);
      await writer.started;
      const out = join(kluis.dir, 'backup-1');
      const { manifest } = await createBackup({ kluis, kind: 'database', outDir: out });
      const written = await writer.stop();

      // Consistent: the head row and the log were copied from one snapshot.
      const head = manifest.audit_head;
      expect(head).not.toBeNull();
      expect(head?.seq).toBe(manifest.tables.audit_log);
      expect(manifest.tables.audit_log).toBeGreaterThanOrEqual(50 + 20);
      // The writer went on after the snapshot: the live database has more rows than the copy.
      const live = await kluis.db
        .selectFrom('audit_log')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(live.n)).toBeGreaterThan(manifest.tables.audit_log ?? 0);
      expect(Number(live.n)).toBe(50 + written + 1); // + the backup.created entry

      const report = await verifyBackup(out, kluis.config);
      expect(report.problems).toEqual([]);
      expect(manifest.signature?.key_id).toMatch(/^[0-9a-f]{16}$/);
      expect(report.passed.join('\n')).toMatch(/manifest signed by this installation/);
      expect(report.tables.audit_log).toBe(manifest.tables.audit_log);
      expect(manifest.migrations.length).toBeGreaterThan(0);
      expect(manifest.files[0]?.sha256).toMatch(/^[0-9a-f]{64}$/);

      if (sqlite) {
        const copy = join(out, manifest.files[0]?.name ?? '');
        expect(manifest.encryption).toBe('sqlcipher');
        expect(sqliteFileState(copy)).toBe('encrypted');
        const raw = readFileSync(copy);
        expect(raw.subarray(0, 16).toString('latin1')).not.toBe('SQLite format 3\u0000');
        expect(raw.includes(Buffer.from('audit_log'))).toBe(false);
        expect(() => openSqliteFile(copy, undefined, { readonly: true })).toThrow();
        expect(() =>
          openSqliteFile(copy, randomBytes(24).toString('base64url'), { readonly: true }),
        ).toThrow();
        // Every link of the copied chain points at the entry before it.
        const handle = openSqliteFile(copy, kluis.config.databaseKey?.value, { readonly: true });
        const rows = handle.prepare('SELECT seq, prev_hash, hash FROM audit_log ORDER BY seq').all() as {
          seq: number;
          prev_hash: string;
          hash: string;
        }[];
        handle.close();
        rows.forEach((r, i) => {
          expect(r.seq).toBe(i + 1);
          if (i > 0) expect(r.prev_hash).toBe(rows[i - 1]?.hash);
        });
        expect(rows.at(-1)?.hash).toBe(head?.hash);
      }
      const audited = await kluis.db
        .selectFrom('audit_log')
        .select(['action', 'meta'])
        .where('action', '=', 'backup.created')
        .executeTakeFirstOrThrow();
      expect(JSON.parse(audited.meta)).toMatchObject({ kind: 'database', audit_seq: head?.seq });
    },
  );

  it.runIf(sqlite || hasPgDump)('fails verification when one byte of the backup is changed', async () => {
    await seed(kluis);
    const out = join(kluis.dir, 'backup-2');
    const { manifest } = await createBackup({ kluis, kind: 'database', outDir: out });
    const file = join(out, manifest.files[0]?.name ?? '');
    expect((await runCli(['backup', 'verify', out], envOf(kluis))).code).toBe(0);

    flipByte(file, Math.floor(readFileSync(file).length / 2));
    const report = await verifyBackup(out, kluis.config);
    expect(report.problems.join('\n')).toMatch(/does not match the manifest/);
    const cli = await runCli(['backup', 'verify', out], envOf(kluis));
    expect(cli.code).toBe(1);
    expect(cli.out).toMatch(/✗ .*does not match the manifest/);

    if (sqlite) {
      // Not only the hash: with a manifest forged to match, the copy itself still fails.
      const forged = readManifest(out);
      const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
      writeFileSync(
        join(out, MANIFEST_FILE),
        JSON.stringify({ ...forged, files: [{ ...forged.files[0], sha256: sha }] }),
      );
      const again = await verifyBackup(out, kluis.config);
      expect(again.problems.length).toBeGreaterThan(0);
      expect(again.problems.join('\n')).not.toMatch(/does not match the manifest/);
    }
  });

  it.runIf(sqlite || hasPgDump)(
    'refuses a manifest changed after the backup, one without its signature, and one signed elsewhere',
    async () => {
      await seed(kluis);
      const out = join(kluis.dir, 'backup-signed');
      await createBackup({ kluis, kind: 'database', outDir: out });
      const original = readFileSync(join(out, MANIFEST_FILE), 'utf8');
      const problemsWith = async (manifest: unknown, config = kluis.config) => {
        writeFileSync(join(out, MANIFEST_FILE), JSON.stringify(manifest));
        return (await verifyBackup(out, config)).problems.join('\n');
      };
      const signed = JSON.parse(original) as Record<string, unknown>;
      // Read back with its keys in another order, it still verifies.
      const reordered = Object.fromEntries(Object.entries(signed).reverse());
      expect(await problemsWith(reordered)).toBe('');
      expect(await problemsWith({ ...signed, created_at: '2020-01-01T00:00:00.000Z' })).toMatch(
        /signature is wrong/,
      );
      const { signature: _gone, ...unsigned } = signed;
      expect(await problemsWith(unsigned)).toMatch(/not signed/);
      const elsewhere = {
        ...kluis.config,
        masterKey: { ...kluis.config.masterKey, value: randomBytes(32).toString('base64') },
        previousMasterKeys: [],
      };
      expect(await problemsWith(signed, elsewhere)).toMatch(/key this installation does not have/);
      // A previous master key (during a rotation) still verifies what it signed.
      const rotated = { ...elsewhere, previousMasterKeys: [kluis.config.masterKey] };
      expect(await problemsWith(signed, rotated)).toBe('');
    },
  );

  it('refuses a folder without a manifest, and a manifest that names a path', async () => {
    const empty = join(kluis.dir, 'not-a-backup');
    mkdirSync(empty);
    expect((await verifyBackup(empty, kluis.config)).problems.join()).toMatch(/manifest\.json is missing/);
    writeFileSync(
      join(empty, MANIFEST_FILE),
      JSON.stringify({
        format: 'kluis-backup/1',
        kind: 'database',
        created_at: 'x',
        dialect: 'sqlite',
        kluis_version: '0',
        source: 'x',
        encryption: 'none',
        files: [{ name: '../../etc/passwd', bytes: 1, sha256: 'a'.repeat(64) }],
        migrations: [],
        tables: {},
        audit_head: null,
      }),
    );
    expect((await verifyBackup(empty, kluis.config)).problems.join()).toMatch(
      /not a kluis-backup\/1 manifest/,
    );
  });

  it.runIf(sqlite)('restores a backup to a file that opens with the key and has the rows', async () => {
    await seed(kluis);
    const out = join(kluis.dir, 'backup-3');
    const { manifest } = await createBackup({ kluis, kind: 'database', outDir: out });
    const target = join(kluis.dir, 'restored', 'kluis.db');
    mkdirSync(join(kluis.dir, 'restored'));

    const result = await restoreBackup({ dir: out, to: target, config: kluis.config, clock });
    expect(result.steps.map((s) => s.name)).toEqual(postRestoreSteps.map((s) => s.name));
    expect(sqliteFileState(target)).toBe('encrypted');
    const handle = openSqliteFile(target, kluis.config.databaseKey?.value, { readonly: true });
    const facts = inspectSqlite(handle, 'kysely_migration');
    const last = handle.prepare('SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1').get() as {
      action: string;
    };
    handle.close();
    expect(facts.integrity).toEqual(['ok']);
    expect(facts.tables.audit_log).toBe((manifest.tables.audit_log ?? 0) + 1);
    expect(last.action).toBe('backup.restored');
    expect(facts.tables.orgs).toBe(manifest.tables.orgs);

    // The restored file is a working Kluis database.
    const reopened = await openKluis(
      loadConfig({ ...envOf(kluis), KLUIS_DATABASE_URL: `sqlite:${target}` } as NodeJS.ProcessEnv),
      { logger: createLogger('silent'), clock },
    );
    const count = await reopened.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('action', '=', 'test.seed')
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(50);
    await reopened.close();

    // It will not overwrite that database without --force, and keeps it aside with --force.
    await expect(restoreBackup({ dir: out, to: target, config: kluis.config, clock })).rejects.toMatchObject({
      code: 'ERR_CONFLICT',
    });
    const forced = await restoreBackup({ dir: out, to: target, force: true, config: kluis.config, clock });
    expect(forced.keptAside.length).toBeGreaterThan(0);
    for (const f of forced.keptAside) expect(existsSync(f)).toBe(true);
  });

  it.runIf(sqlite)(
    'restore --force refuses while a Kluis process serves from the target, and goes on once it is gone',
    async () => {
      await seed(kluis);
      const out = join(kluis.dir, 'backup-serving');
      await createBackup({ kluis, kind: 'database', outDir: out });
      const target = join(kluis.dir, 'served.db');
      await restoreBackup({ dir: out, to: target, config: kluis.config, clock });
      // A serving process (this one stands in for `kluis serve`) marks the file.
      const unmark = markServingStores([`sqlite:${target}`, 'postgres://db.example/kluis'], clock.now());
      await expect(
        restoreBackup({ dir: out, to: target, force: true, config: kluis.config, clock }),
      ).rejects.toMatchObject({
        code: 'ERR_CONFLICT',
        message: expect.stringContaining(`process ${process.pid}`),
      });
      expect(readdirSync(kluis.dir).filter((f) => f.includes('served.db.pre-restore'))).toEqual([]);
      unmark();
      expect(existsSync(servingMarkerOf(target))).toBe(false);
      // A marker left by a process that is gone (kill -9) does not block.
      const gone = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid ?? 0;
      writeFileSync(servingMarkerOf(target), JSON.stringify({ pid: gone, host: hostname(), since: 'x' }));
      const forced = await restoreBackup({ dir: out, to: target, force: true, config: kluis.config, clock });
      expect(forced.keptAside.length).toBeGreaterThan(0);
    },
  );

  it.runIf(sqlite)(
    'refuses to overwrite the live database, and leaves the target alone when a step fails',
    async () => {
      await seed(kluis);
      const out = join(kluis.dir, 'backup-4');
      await createBackup({ kluis, kind: 'database', outDir: out });
      const live = kluis.dbFile ?? '';
      const cli = runCli(['backup', 'restore', out, '--to', live], envOf(kluis));
      await expect(cli).rejects.toThrow(/configured live database/);

      const target = join(kluis.dir, 'step-fails.db');
      const failing: PostRestoreStep = {
        name: 'erasure ledger replay (stand-in)',
        run: async () => {
          throw new Error('ledger unreadable');
        },
      };
      await expect(
        restoreBackup({
          dir: out,
          to: target,
          config: kluis.config,
          clock,
          steps: [...postRestoreSteps.slice(0, 1), failing],
        }),
      ).rejects.toThrow('ledger unreadable');
      expect(existsSync(target)).toBe(false);
      expect(readdirSync(kluis.dir).filter((f) => f.includes('.restore-'))).toEqual([]);
    },
  );

  it.runIf(sqlite)(
    'backs up the key store on its own schedule, and a restored key store opens the data',
    async () => {
      const sealed = await seed(kluis);
      const out = join(kluis.dir, 'keys-1');
      const { manifest } = await createBackup({ kluis, kind: 'keystore' as BackupKind, outDir: out });
      expect(manifest.kind).toBe('keystore');
      expect(manifest.files[0]?.name).toBe('kluis-keys.db');
      expect(manifest.tables.subject_keys).toBe(1);
      expect(sqliteFileState(join(out, 'kluis-keys.db'))).toBe('encrypted');
      // Its own key: the database key does not open it.
      expect(() =>
        openSqliteFile(join(out, 'kluis-keys.db'), kluis.config.databaseKey?.value, { readonly: true }),
      ).toThrow();
      expect((await verifyBackup(out, kluis.config)).problems).toEqual([]);

      const target = join(kluis.dir, 'restored-keys.db');
      await restoreBackup({ dir: out, to: target, config: kluis.config, clock });
      const reopened = await openKluis(
        loadConfig({ ...envOf(kluis), KLUIS_KEYSTORE_URL: `sqlite:${target}` } as NodeJS.ProcessEnv),
        { logger: createLogger('silent'), clock },
      );
      expect(await reopened.keyring.decryptForSubject('org-a', 'subj-1', loc, sealed)).toBe('jan@example.nl');
      await reopened.close();
    },
  );

  it.runIf(sqlite)('creates and verifies through the CLI, with a manifest next to the copy', async () => {
    await seed(kluis);
    const out = join(kluis.dir, 'cli-backup');
    const created = await runCli(['backup', 'create', '--out', out], envOf(kluis));
    expect(created.out).toMatch(/Backup of the database written to/);
    const manifest = JSON.parse(readFileSync(join(out, MANIFEST_FILE), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      dialect: 'sqlite',
      kind: 'database',
      created_at: clock.now().toISOString(),
    });
    expect(Object.keys(manifest)).toEqual(
      expect.arrayContaining(['files', 'kluis_version', 'migrations', 'audit_head', 'tables']),
    );
    expect((await runCli(['backup', 'verify', out], envOf(kluis))).code).toBe(0);
    await expect(runCli(['backup', 'create', '--out', out], envOf(kluis))).rejects.toThrow(/not empty/);
  });

  it.runIf(!sqlite && hasPgDump)(
    'explains how to restore a PostgreSQL dump instead of writing a file',
    async () => {
      const out = join(kluis.dir, 'pg-backup');
      const { manifest } = await createBackup({ kluis, kind: 'database', outDir: out });
      expect(manifest.dialect).toBe('postgres');
      expect(manifest.postgres?.schema).toMatch(/^t_/);
      await expect(
        restoreBackup({ dir: out, to: join(kluis.dir, 'x.db'), config: kluis.config, clock }),
      ).rejects.toThrow(/pg_restore --clean/);
    },
  );

  it.runIf(!sqlite && hasPgDump)('backs up the PostgreSQL key store schema on its own', async () => {
    await seed(kluis);
    const out = join(kluis.dir, 'pg-keys');
    const { manifest } = await createBackup({ kluis, kind: 'keystore', outDir: out });
    expect(manifest.postgres?.schema).toMatch(/_keys$/);
    expect(manifest.tables.subject_keys).toBe(1);
    expect(manifest.audit_head).toBeNull();
    expect((await verifyBackup(out, kluis.config)).problems).toEqual([]);
  });
});
