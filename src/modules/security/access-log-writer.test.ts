import { statSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTestKluis, type TestKluis, testDialect } from '../../../test/dialects.js';
import { InsertCounter } from '../../../test/security/insert-counter.js';
import { createFixedClock } from '../../shared/clock.js';
import { createLogger } from '../../shared/logger.js';
import {
  createAccessLogWriter,
  DEFAULT_AUTOCHECKPOINT,
  SAFETY_NET_AUTOCHECKPOINT,
} from './access-log-writer.js';

const entry = (i: number) => ({
  orgId: null,
  ip: `10.0.${Math.floor(i / 250)}.${i % 250}`,
  userAgent: 'test-agent',
  method: 'GET',
  route: '/',
  status: 200,
  requestId: `req-${i}`,
});

describe('the access-log writer', () => {
  let kluis: TestKluis;
  let counter: InsertCounter;
  const clock = createFixedClock('2025-05-01T12:00:00.000Z');
  const logger = createLogger('silent');
  beforeAll(async () => {
    kluis = await createTestKluis({ clock });
  });
  afterAll(async () => {
    await kluis.destroy();
  });
  beforeEach(async () => {
    counter = new InsertCounter();
    await kluis.db.deleteFrom('access_log').execute();
  });
  const rows = async () =>
    Number(
      (
        await kluis.db
          .selectFrom('access_log')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('buffers requests in memory and writes nothing until a flush', async () => {
    const writer = createAccessLogWriter({
      db: kluis.db.withPlugin(counter),
      clock,
      logger,
      flushEveryMs: 3_600_000,
    });
    for (let i = 0; i < 100; i++) writer.record(entry(i));
    expect(writer.pending).toBe(100);
    expect(counter.inserts).toBe(0);
    await writer.flush();
    expect(counter.inserts).toBe(1);
    expect(await rows()).toBe(100);
    await writer.close();
  });

  it('writes a full batch as soon as it is full, in multi-row inserts, and the rest on close', async () => {
    const writer = createAccessLogWriter({
      db: kluis.db.withPlugin(counter),
      clock,
      logger,
      flushEveryMs: 3_600_000,
      maxBatch: 500,
    });
    for (let i = 0; i < 1200; i++) writer.record(entry(i));
    await writer.close();
    expect(await rows()).toBe(1200);
    expect(counter.inserts).toBe(3);
    expect(writer.pending).toBe(0);
  });

  it('keeps the rows and writes them later when the database fails for a moment', async () => {
    const writer = createAccessLogWriter({
      db: kluis.db.withPlugin(counter),
      clock,
      logger,
      flushEveryMs: 3_600_000,
    });
    for (let i = 0; i < 10; i++) writer.record(entry(i));
    counter.failNext = 1;
    await writer.flush();
    expect(writer.pending).toBe(10);
    expect(await rows()).toBe(0);
    await writer.flush();
    expect(await rows()).toBe(10);
    await writer.close();
  });

  it('writes the rows queued when a flush starts; rows arriving during the write wait for the next one', async () => {
    let writer: ReturnType<typeof createAccessLogWriter> | undefined;
    let during = 0;
    // Records a request while each INSERT is being built, as requests ending mid-write would.
    class RecordingCounter extends InsertCounter {
      override transformQuery(args: Parameters<InsertCounter['transformQuery']>[0]) {
        const node = super.transformQuery(args);
        if (node.kind === 'InsertQueryNode' && writer !== undefined) writer.record(entry(1000 + during++));
        return node;
      }
    }
    const recording = new RecordingCounter();
    writer = createAccessLogWriter({
      db: kluis.db.withPlugin(recording),
      clock,
      logger,
      flushEveryMs: 3_600_000,
    });
    for (let i = 0; i < 10; i++) writer.record(entry(i));
    await writer.flush();
    expect(recording.inserts).toBe(1);
    expect(await rows()).toBe(10);
    expect(writer.pending).toBe(1);
    await writer.flush();
    expect(recording.inserts).toBe(2);
    expect(await rows()).toBe(11);
    expect(writer.pending).toBe(1);
    const last = writer;
    writer = undefined;
    await last.close();
    expect(await rows()).toBe(12);
  });

  it('bounds its memory while the database is down, dropping the oldest rows', async () => {
    const writer = createAccessLogWriter({
      db: kluis.db.withPlugin(counter),
      clock,
      logger,
      flushEveryMs: 3_600_000,
      maxBatch: 10,
      maxBuffered: 25,
    });
    counter.failNext = 1000;
    for (let i = 0; i < 100; i++) writer.record(entry(i));
    await writer.flush();
    expect(writer.pending).toBeLessThanOrEqual(25);
    counter.failNext = 0;
    await writer.close();
    const ids = await kluis.db.selectFrom('access_log').select('request_id').execute();
    expect(ids.length).toBeLessThanOrEqual(25);
    expect(ids.map((r) => r.request_id)).toContain('req-99');
  });

  it('stores the user agent cut to 512 characters and the time from the clock', async () => {
    const writer = createAccessLogWriter({ db: kluis.db, clock, logger, flushEveryMs: 3_600_000 });
    writer.record({ ...entry(1), userAgent: 'x'.repeat(2000) });
    await writer.close();
    const row = await kluis.db.selectFrom('access_log').selectAll().executeTakeFirstOrThrow();
    expect(row.user_agent).toHaveLength(512);
    expect(row.at).toBe('2025-05-01T12:00:00.000Z');
    expect(row.ip_truncated).toBe(0);
  });

  it('stamps rows with the time they were recorded, to the millisecond, numbered in that order', async () => {
    const own = createFixedClock('2025-05-01T12:00:00.000Z');
    const writer = createAccessLogWriter({ db: kluis.db, clock: own, logger, flushEveryMs: 3_600_000 });
    for (let i = 0; i < 50; i++) writer.record(entry(i));
    own.advance(1);
    for (let i = 50; i < 100; i++) writer.record(entry(i));
    own.set('2025-05-02T00:00:00.000Z');
    for (let i = 100; i < 150; i++) writer.record(entry(i));
    await writer.close();
    const written = await kluis.db.selectFrom('access_log').select(['id', 'at', 'request_id']).execute();
    expect(written).toHaveLength(150);
    expect(new Set(written.map((r) => r.id)).size).toBe(150);
    expect(written.find((r) => r.request_id === 'req-49')?.at).toBe('2025-05-01T12:00:00.000Z');
    expect(written.find((r) => r.request_id === 'req-50')?.at).toBe('2025-05-01T12:00:00.001Z');
    expect(written.find((r) => r.request_id === 'req-100')?.at).toBe('2025-05-02T00:00:00.000Z');
    // Sorted by id, rows are sorted by time: new rows go to the end of the table.
    const timesById = [...written].sort((a, b) => a.id - b.id).map((r) => r.at);
    expect(timesById).toEqual([...timesById].sort());
  });
});

describe.runIf(testDialect === 'sqlite')(
  'the access-log writer on SQLite, inserting in a worker thread',
  () => {
    let kluis: TestKluis;
    let counter: InsertCounter;
    const clock = createFixedClock('2025-05-01T12:00:00.000Z');
    beforeAll(async () => {
      kluis = await createTestKluis({ clock });
    });
    afterAll(async () => {
      await kluis.destroy();
    });
    beforeEach(async () => {
      counter = new InsertCounter();
      await kluis.db.deleteFrom('access_log').execute();
    });
    const sqliteOf = (k: TestKluis) => {
      if (k.dbFile === undefined) throw new Error('expected a SQLite database');
      return { file: k.dbFile, encryptionKey: k.config.databaseKey?.value };
    };
    const requestIds = async () =>
      (await kluis.db.selectFrom('access_log').select('request_id').orderBy('request_id').execute()).map(
        (r) => r.request_id,
      );
    /** A logger that keeps what it was given, to check what a failure logs. */
    function capturingLogger() {
      const lines: string[] = [];
      const logger = createLogger('warn', { write: (line: string) => void lines.push(line) });
      return { logger, lines };
    }

    it('writes the rows from the worker, committed by the time flush resolves, none through the main connection', async () => {
      const { logger, lines } = capturingLogger();
      const writer = createAccessLogWriter({
        db: kluis.db.withPlugin(counter),
        clock,
        logger,
        flushEveryMs: 3_600_000,
        sqlite: sqliteOf(kluis),
      });
      for (let i = 0; i < 100; i++) writer.record(entry(i));
      expect(writer.pending).toBe(100);
      await writer.flush();
      expect(writer.pending).toBe(0);
      expect((await requestIds()).length).toBe(100);
      expect(counter.inserts).toBe(0);
      const row = await kluis.db
        .selectFrom('access_log')
        .selectAll()
        .where('request_id', '=', 'req-7')
        .executeTakeFirstOrThrow();
      expect(row).toMatchObject({
        ip: '10.0.0.7',
        user_agent: 'test-agent',
        method: 'GET',
        route: '/',
        status: 200,
      });
      expect(row.at).toBe('2025-05-01T12:00:00.000Z');
      await writer.close();
      expect(lines).toEqual([]);
    });

    it('writes full batches as they fill and the rest on close, losing no row', async () => {
      const writer = createAccessLogWriter({
        db: kluis.db.withPlugin(counter),
        clock,
        logger: createLogger('silent'),
        flushEveryMs: 3_600_000,
        maxBatch: 500,
        sqlite: sqliteOf(kluis),
      });
      for (let i = 0; i < 1234; i++) writer.record(entry(i));
      await writer.close();
      expect(writer.pending).toBe(0);
      const ids = await requestIds();
      expect(ids).toHaveLength(1234);
      expect(new Set(ids).size).toBe(1234);
      expect(counter.inserts).toBe(0);
    });

    const autoCheckpoint = async () =>
      (await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(kluis.db)).rows[0]
        ?.wal_autocheckpoint;

    it('checkpoints the WAL from the worker while the main connection keeps only a safety net, and hands back on close', async () => {
      const file = sqliteOf(kluis).file;
      expect(await autoCheckpoint()).toBe(DEFAULT_AUTOCHECKPOINT);
      const writer = createAccessLogWriter({
        db: kluis.db,
        clock,
        logger: createLogger('silent'),
        flushEveryMs: 3_600_000,
        checkpointEveryMs: 10,
        sqlite: sqliteOf(kluis),
      });
      // The worker starts in the background (tsx compiles it first when run from source).
      await vi.waitFor(async () => expect(await autoCheckpoint()).toBe(SAFETY_NET_AUTOCHECKPOINT), {
        timeout: 15_000,
        interval: 20,
      });
      // Everything so far in the file; then ~300 pages written on the main connection only, far
      // below its safety net: only another connection's checkpoint can move them into the file.
      await kluis.checkpoint();
      const before = statSync(file).size;
      await sql`create table checkpoint_probe (v text)`.execute(kluis.db);
      for (let i = 0; i < 300; i++) {
        await sql`insert into checkpoint_probe values (${'x'.repeat(4000)})`.execute(kluis.db);
      }
      await vi.waitFor(() => expect(statSync(file).size).toBeGreaterThan(before + 100 * 4096), {
        timeout: 15_000,
        interval: 20,
      });
      await writer.close();
      expect(await autoCheckpoint()).toBe(DEFAULT_AUTOCHECKPOINT);
      await sql`drop table checkpoint_probe`.execute(kluis.db);
    });

    it('leaves checkpointing to the main connection when asked to (checkpointEveryMs 0)', async () => {
      const writer = createAccessLogWriter({
        db: kluis.db,
        clock,
        logger: createLogger('silent'),
        flushEveryMs: 3_600_000,
        checkpointEveryMs: 0,
        sqlite: sqliteOf(kluis),
      });
      writer.record(entry(1));
      await writer.flush();
      expect(await autoCheckpoint()).toBe(DEFAULT_AUTOCHECKPOINT);
      await writer.close();
    });

    it('logs a code, never row contents, and writes in process when the worker cannot open the database', async () => {
      const { logger, lines } = capturingLogger();
      const writer = createAccessLogWriter({
        db: kluis.db.withPlugin(counter),
        clock,
        logger,
        flushEveryMs: 3_600_000,
        sqlite: { file: sqliteOf(kluis).file, encryptionKey: 'not-the-key-of-this-database-file' },
      });
      for (let i = 0; i < 20; i++) writer.record(entry(i));
      await writer.flush();
      await writer.close();
      expect((await requestIds()).length).toBe(20);
      expect(counter.inserts).toBe(1);
      expect(lines).toHaveLength(1);
      const logged = JSON.parse(lines[0] ?? '{}') as { code?: unknown; msg?: unknown };
      expect(logged.code).toBe('SQLITE_NOTADB');
      expect(logged.msg).toBe('access log worker stopped; writing in process');
      expect(lines[0]).not.toContain('10.0.0.');
      expect(lines[0]).not.toContain('req-');
    });
  },
);
