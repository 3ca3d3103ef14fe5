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
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqlite } from '../../db/database.js';
import { type AccessLogTuple, insertTupleSql } from './access-log-repository.js';
import { errorCodeOf } from './access-log-writer.js';

export interface AccessLogWorkerData {
  readonly file: string;
  readonly encryptionKey: string | undefined;
}

export type AccessLogWorkerRequest =
  | { readonly kind: 'insert'; readonly id: number; readonly rows: readonly AccessLogTuple[] }
  | { readonly kind: 'close' };

export type AccessLogWorkerReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'done'; readonly id: number }
  | { readonly kind: 'failed'; readonly id: number; readonly code: string };

function start(): void {
  const port = parentPort;
  if (port === null) throw new Error('access-log-worker must run in a worker thread');
  const data = workerData as AccessLogWorkerData;
  const handle = openSqlite(data.file, { encryptionKey: data.encryptionKey });
  const insertRow = handle.prepare(insertTupleSql);
  const insertBatch = handle.transaction((rows: readonly AccessLogTuple[]) => {
    for (const row of rows) insertRow.run(...row);
  });
  port.on('message', (message: AccessLogWorkerRequest) => {
    if (message.kind === 'close') {
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
