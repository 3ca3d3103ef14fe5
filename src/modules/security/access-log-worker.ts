/**
 * The access-log writer's worker thread (SQLite only). It opens its own connection to the
 * database file (same key and pragmas through `openSqlite`; WAL lets it write while the main
 * thread reads, busy_timeout covers contention for the write lock) and inserts the batches the
 * writer posts, so the cost of the INSERT is not paid on the request thread.
 *
 * A batch is inserted in one transaction with one prepared single-row statement, bound by
 * position from the writer's tuples (~7 µs a row on an encrypted file with the table's three
 * indexes; named parameters from objects cost ~0.7 µs more, and objects twice as much to post).
 * A prepared 500-row statement costs about the same but needs one statement per batch size.
 * Replies carry only the batch id and, on failure, an error code: never row contents.
 *
 * The worker also runs the database's WAL checkpoint (PASSIVE, every `checkpointEveryMs`), so
 * that copying the WAL back into the file and its two fsyncs happen on this thread and not on the
 * request thread: better-sqlite3 is synchronous, and a checkpoint run by a request's COMMIT (the
 * main connection's auto-checkpoint) stalled every request in flight (bench/contact, issue 15).
 * A PASSIVE checkpoint takes no write lock and never waits: writers go on while it copies, and a
 * page a reader still needs is left for the next round. The writer turns the main connection's
 * auto-checkpoint down to a safety net while this worker runs (access-log-writer.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqlite } from '../../db/database.js';
import { type AccessLogTuple, insertTupleSql } from './access-log-repository.js';
import { errorCodeOf } from './access-log-writer.js';

export interface AccessLogWorkerData {
  readonly file: string;
  readonly encryptionKey: string | undefined;
  /** How often the worker checkpoints the WAL (PASSIVE); 0: never (the main connection does). */
  readonly checkpointEveryMs?: number | undefined;
}

export type AccessLogWorkerRequest =
  | { readonly kind: 'insert'; readonly id: number; readonly rows: readonly AccessLogTuple[] }
  | { readonly kind: 'close' };

export type AccessLogWorkerReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'done'; readonly id: number }
  | { readonly kind: 'failed'; readonly id: number; readonly code: string }
  | { readonly kind: 'checkpoint_failed'; readonly code: string };

function start(): void {
  const port = parentPort;
  if (port === null) throw new Error('access-log-worker must run in a worker thread');
  const data = workerData as AccessLogWorkerData;
  const handle = openSqlite(data.file, { encryptionKey: data.encryptionKey });
  const insertRow = handle.prepare(insertTupleSql);
  const insertBatch = handle.transaction((rows: readonly AccessLogTuple[]) => {
    for (const row of rows) insertRow.run(...row);
  });
  const checkpoint = handle.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  const every = data.checkpointEveryMs ?? 0;
  const timer =
    every > 0
      ? setInterval(() => {
          try {
            checkpoint.all();
          } catch (err) {
            port.postMessage({
              kind: 'checkpoint_failed',
              code: errorCodeOf(err),
            } satisfies AccessLogWorkerReply);
          }
        }, every)
      : undefined;
  port.on('message', (message: AccessLogWorkerRequest) => {
    if (message.kind === 'close') {
      clearInterval(timer);
      handle.close();
      port.close();
      return;
    }
    let reply: AccessLogWorkerReply;
    try {
      insertBatch(message.rows);
      reply = { kind: 'done', id: message.id };
    } catch (err) {
      reply = { kind: 'failed', id: message.id, code: errorCodeOf(err) };
    }
    port.postMessage(reply);
  });
  port.postMessage({ kind: 'ready' } satisfies AccessLogWorkerReply);
}

start();
