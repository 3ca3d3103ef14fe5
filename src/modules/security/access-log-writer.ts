/**
 * The batched access-log writer (P12). Recording a request only pushes a row onto an in-memory
 * buffer (no database round trip on the request's path); the buffer is written with multi-row
 * INSERTs every `flushEveryMs`, as soon as `maxBatch` rows wait, and on `close()`.
 *
 * If the database cannot be written, rows are kept (up to `maxBuffered`) and retried at the
 * next flush; beyond that the oldest are dropped and the loss is logged (counts only, never
 * addresses). Losing access-log rows never fails a request: this is metadata, not the audit trail.
 *
 * Rows are numbered by the database (an integer key, migration 0304): new rows append at the end
 * of the table. (Random UUID keys landed on random index pages, and the cost of a row grew with
 * the table: 21 µs a row at 20,000 rows, 75 µs at 160,000; time-ordered UUIDs ~14-18 µs; an
 * integer key ~10 µs, on an encrypted file.)
 *
 * On SQLite (`sqlite` option) the INSERTs run in a worker thread with its own connection
 * (access-log-worker.ts): the cost of a row is then not spent on the request thread. The main
 * thread only builds rows and posts batches; `flush()` resolves once the worker has committed.
 * If the worker cannot start or stops, the writer logs a code and inserts in process again
 * through Kysely (the path PostgreSQL always takes: pg is asynchronous already).
 *
 * The worker also checkpoints the WAL (access-log-worker.ts). While it runs, the main
 * connection's auto-checkpoint is only a safety net (`SAFETY_NET_AUTOCHECKPOINT` pages, should the
 * worker fall behind); when the worker stops or the writer closes it is SQLite's default again.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type Kysely, sql } from 'kysely';
import type { DB } from '../../db/schema.js';
import { type Clock, nowMsOf } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { type AccessLogTuple, createAccessLogRepository, rowOfTuple } from './access-log-repository.js';
import type {
  AccessLogWorkerData,
  AccessLogWorkerReply,
  AccessLogWorkerRequest,
} from './access-log-worker.js';

/** What the HTTP hook knows about one request. */
export interface AccessLogEntry {
  readonly orgId: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly method: string;
  readonly route: string;
  readonly status: number;
  readonly requestId: string;
}

export interface AccessLogWriterOptions {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly logger: Pick<Logger, 'error' | 'warn'>;
  readonly flushEveryMs?: number;
  readonly maxBatch?: number;
  /** Rows kept in memory while the database is unavailable (default 20 × maxBatch). */
  readonly maxBuffered?: number;
  /**
   * SQLite: the database file and its key; batches are then inserted by a worker thread with its
   * own connection, which also checkpoints the WAL. Without it (PostgreSQL), rows are inserted in
   * process through `db`.
   */
  readonly sqlite?: Omit<AccessLogWorkerData, 'checkpointEveryMs'> | undefined;
  /** SQLite: how often the worker checkpoints the WAL (default 1 s; 0: the main connection does, as SQLite does by default). */
  readonly checkpointEveryMs?: number;
}

/** SQLite's own default for `wal_autocheckpoint` (pages). */
export const DEFAULT_AUTOCHECKPOINT = 1000;
/** The main connection's auto-checkpoint while the worker checkpoints: ~40 MB of WAL, never reached while it keeps up. */
export const SAFETY_NET_AUTOCHECKPOINT = 10_000;

export interface AccessLogWriter {
  /** Queues one request; never throws, never waits. */
  record(entry: AccessLogEntry): void;
  /** Writes everything queued so far. Never rejects. */
  flush(): Promise<void>;
  /** Stops the timer and writes what is left. */
  close(): Promise<void>;
  /** Rows waiting to be written. */
  readonly pending: number;
}

export const USER_AGENT_MAX = 512;

/** The timestamp text of the current millisecond, computed once per millisecond. */
function createRowTime(clock: Clock): () => string {
  let ms = Number.NaN;
  let iso = '';
  return () => {
    const at = nowMsOf(clock);
    if (at !== ms) {
      ms = at;
      iso = new Date(at).toISOString();
    }
    return iso;
  };
}

/** The error code of a failure, for the log: SQLite's (e.g. SQLITE_BUSY) or a generic one. */
export function errorCodeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : 'ERR_ACCESS_LOG_WORKER';
}

/** A batch the worker refused; the worker is still running and the batch will be retried. */
class AccessLogWorkerError extends Error {
  constructor(readonly code: string) {
    super(`access log worker: ${code}`);
  }
}

/**
 * Starts the worker. From the compiled `dist/` it is `access-log-worker.js` next to this file.
 * From TS source (tsx, vitest) it is the `.ts` file, which a worker thread cannot load by itself:
 * vitest's transform does not reach workers, and on Node 20 tsx's ESM hooks are registered in the
 * main thread only. tsx's CommonJS hook is registered in the worker instead (a dev dependency,
 * only needed when running from source).
 */
function spawnWorker(data: AccessLogWorkerData): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./access-log-worker.js', import.meta.url), { workerData: data });
  }
  const tsx = createRequire(import.meta.url).resolve('tsx/cjs/api');
  const target = fileURLToPath(new URL('./access-log-worker.ts', import.meta.url));
  const source = `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(target)});`;
  return new Worker(source, { eval: true, workerData: data });
}

interface WorkerClient {
  /** False once the worker has failed or exited: the writer then inserts in process. */
  readonly alive: boolean;
  insert(rows: readonly AccessLogTuple[]): Promise<void>;
  close(): Promise<void>;
}

interface WorkerEvents {
  /** The worker has opened the database (and, when asked to, checkpoints it from now on). */
  ready(): void;
  /** The worker has stopped (failed, exited, or closed). */
  stopped(): void;
}

function startWorker(
  data: AccessLogWorkerData,
  logger: Pick<Logger, 'error' | 'warn'>,
  events: WorkerEvents,
): WorkerClient {
  const worker = spawnWorker(data);
  const waiting = new Map<number, { resolve(): void; reject(err: Error): void }>();
  let nextId = 0;
  let alive = true;
  let closing = false;
  // The worker keeps the process alive only while a batch is in flight.
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));

  function stopped(code: string | undefined): void {
    if (!alive) return;
    alive = false;
    if (code !== undefined) logger.error({ code }, 'access log worker stopped; writing in process');
    for (const w of waiting.values()) w.reject(new Error('access log worker stopped'));
    waiting.clear();
    events.stopped();
  }
  worker.on('message', (reply: AccessLogWorkerReply) => {
    if (reply.kind === 'ready') {
      events.ready();
      return;
    }
    if (reply.kind === 'checkpoint_failed') {
      // The next round tries again; the main connection's safety net bounds the WAL meanwhile.
      logger.warn({ code: reply.code }, 'WAL checkpoint in the access log worker failed');
      return;
    }
    const w = waiting.get(reply.id);
    if (w === undefined) return;
    waiting.delete(reply.id);
    if (waiting.size === 0) worker.unref();
    if (reply.kind === 'done') w.resolve();
    else w.reject(new AccessLogWorkerError(reply.code));
  });
  worker.on('error', (err) => stopped(errorCodeOf(err)));
  worker.on('exit', () => stopped(closing ? undefined : 'ERR_ACCESS_LOG_WORKER_EXIT'));

  return {
    get alive() {
      return alive;
    },
    insert(rows) {
      const id = nextId++;
      return new Promise<void>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.ref();
        worker.postMessage({ kind: 'insert', id, rows } satisfies AccessLogWorkerRequest);
      });
    },
    async close() {
      closing = true;
      if (alive) {
        worker.ref();
        worker.postMessage({ kind: 'close' } satisfies AccessLogWorkerRequest);
      }
      await exited;
    },
  };
}

/**
 * Turns the main connection's auto-checkpoint down to the safety net while the worker checkpoints,
 * and back to SQLite's default when it stops. Settings run in order (one chain), so a late `ready`
 * cannot undo a `stopped`.
 */
function autoCheckpointSwitch(
  db: Kysely<DB>,
  logger: Pick<Logger, 'warn'>,
  workerCheckpoints: boolean,
): WorkerEvents & { settled(): Promise<void> } {
  let settings: Promise<void> = Promise.resolve();
  const set = (pages: number) => {
    settings = settings.then(async () => {
      try {
        await sql`pragma wal_autocheckpoint = ${sql.lit(pages)}`.execute(db);
      } catch (err) {
        logger.warn({ code: errorCodeOf(err) }, 'could not set wal_autocheckpoint');
      }
    });
  };
  let on = false;
  return {
    ready() {
      if (!workerCheckpoints) return;
      on = true;
      set(SAFETY_NET_AUTOCHECKPOINT);
    },
    stopped() {
      if (!on) return;
      on = false;
      set(DEFAULT_AUTOCHECKPOINT);
    },
    settled: () => settings,
  };
}

export function createAccessLogWriter(options: AccessLogWriterOptions): AccessLogWriter {
  const { clock, logger } = options;
  // Larger batches spread a commit and a message over more rows (bench/http, access-log cost:
  // 16% at 64 rows, ~10% at 500, ~8% at 2000); the 1 s timer bounds the wait at low traffic.
  const maxBatch = options.maxBatch ?? 2000;
  const maxBuffered = options.maxBuffered ?? maxBatch * 20;
  const repo = createAccessLogRepository(options.db);
  const checkpointEveryMs = options.checkpointEveryMs ?? 1000;
  const autoCheckpoint = autoCheckpointSwitch(options.db, logger, checkpointEveryMs > 0);
  const worker =
    options.sqlite === undefined
      ? undefined
      : startWorker({ ...options.sqlite, checkpointEveryMs }, logger, autoCheckpoint);

  async function insert(batch: readonly AccessLogTuple[]): Promise<void> {
    if (worker?.alive) {
      try {
        await worker.insert(batch);
        return;
      } catch (err) {
        // A refused batch is retried later; if the worker itself is gone, write in process now.
        if (worker.alive || err instanceof AccessLogWorkerError) throw err;
      }
    }
    await repo.insertMany(batch.map(rowOfTuple));
  }
  const rowTime = createRowTime(clock);
  let buffer: AccessLogTuple[] = [];
  let dropped = 0;
  let closed = false;
  let chain: Promise<void> = Promise.resolve();

  /**
   * Writes the rows queued when it starts, not those that arrive while it waits: with the worker,
   * a few requests end during every round trip, and draining until empty wrote them as a stream
   * of tiny batches (5 rows a commit under load, ~45 µs a row, and every commit makes the main
   * connection drop its page cache). Later rows wait for the next size or time trigger.
   */
  async function writeAll(): Promise<void> {
    let todo = buffer;
    buffer = [];
    while (todo.length > 0) {
      const batch = todo.slice(0, maxBatch);
      todo = todo.slice(batch.length);
      try {
        await insert(batch);
      } catch (err) {
        // Only the code: a database error may quote values, and these rows are personal data.
        logger.error({ code: errorCodeOf(err), rows: batch.length }, 'access log write failed; will retry');
        buffer = [...batch, ...todo, ...buffer];
        trim();
        return;
      }
    }
    if (dropped > 0) {
      logger.warn({ dropped }, 'access log rows dropped while the database was unavailable');
      dropped = 0;
    }
  }

  function trim(): void {
    if (buffer.length > maxBuffered) {
      dropped += buffer.length - maxBuffered;
      buffer = buffer.slice(buffer.length - maxBuffered);
    }
  }

  // At most one write waits behind the running one: records arriving meanwhile join it.
  let queued = false;
  const run = async (): Promise<void> => {
    queued = false;
    await writeAll();
  };
  function flush(): Promise<void> {
    if (!queued) {
      queued = true;
      chain = chain.then(run, run);
    }
    return chain;
  }

  const timer = setInterval(() => {
    if (buffer.length > 0) void flush();
  }, options.flushEveryMs ?? 1000);
  timer.unref();

  return {
    record(entry) {
      buffer.push([
        rowTime(),
        entry.orgId,
        entry.ip,
        entry.userAgent === null ? null : entry.userAgent.slice(0, USER_AGENT_MAX),
        entry.method.slice(0, 16),
        entry.route.slice(0, 256),
        entry.status,
        entry.requestId.slice(0, 64),
      ]);
      trim();
      if (buffer.length >= maxBatch || closed) void flush();
    },
    flush,
    async close() {
      closed = true;
      clearInterval(timer);
      await flush();
      if (buffer.length > 0) {
        logger.warn({ rows: buffer.length }, 'access log rows could not be written before shutdown');
        buffer = [];
      }
      await worker?.close();
      // The main connection checkpoints by itself again before anyone closes it.
      await autoCheckpoint.settled();
    },
    get pending() {
      return buffer.length;
    },
  };
}
