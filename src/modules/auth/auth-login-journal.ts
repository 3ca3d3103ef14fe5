/**
 * Group commit for failed sign-ins (issue 15): a refused attempt's records (its throttle rows, the
 * account's failure count and lock, its audit entries) are queued and written with the others
 * that arrive within `delayMs` (or as soon as `maxBatch` wait) in ONE transaction, instead of one
 * transaction — and one synchronous COMMIT on SQLite — per attempt. Each attempt still waits for
 * its own records to be committed before it is answered, so what it is told (locked or not) is
 * exact, and no failure is answered before it is in the audit trail: a crash loses only the
 * records of attempts that had not been answered yet.
 *
 * If a batch's transaction fails, its entries are retried one by one, each in its own
 * transaction, so one bad entry does not fail the others. While entries wait, `pending(key)`
 * tells the throttle how many of them count against a key (an address, an unknown account, a
 * device cookie), so nothing is let through between two commits that the database would refuse.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';

export interface JournalOptions {
  readonly db: Kysely<DB>;
  /** How long the first entry of a batch waits for others (ms). */
  readonly delayMs?: number;
  /** A batch is written at once when this many entries wait. */
  readonly maxBatch?: number;
  /** Runs once at the end of every batch's transaction (e.g. purging old throttle rows). */
  readonly afterBatch?: (trx: Kysely<DB>) => Promise<void>;
}

interface Entry {
  readonly keys: readonly string[];
  readonly work: (trx: Kysely<DB>) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

export const JOURNAL_DELAY_MS = 5;
export const JOURNAL_MAX_BATCH = 200;

export function createLoginJournal(options: JournalOptions) {
  const { db } = options;
  const delayMs = options.delayMs ?? JOURNAL_DELAY_MS;
  const maxBatch = options.maxBatch ?? JOURNAL_MAX_BATCH;
  const pendingByKey = new Map<string, number>();
  let queue: Entry[] = [];
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;
  let batches = 0;

  function count(keys: readonly string[], delta: number): void {
    for (const key of keys) {
      const n = (pendingByKey.get(key) ?? 0) + delta;
      if (n <= 0) pendingByKey.delete(key);
      else pendingByKey.set(key, n);
    }
  }

  async function writeBatch(batch: readonly Entry[]): Promise<void> {
    batches++;
    let results: unknown[];
    try {
      results = await db.transaction().execute(async (trx) => {
        const out: unknown[] = [];
        for (const entry of batch) out.push(await entry.work(trx));
        await options.afterBatch?.(trx);
        return out;
      });
    } catch {
      // One by one: an entry that fails alone rejects alone.
      for (const entry of batch) {
        try {
          entry.resolve(await db.transaction().execute((trx) => entry.work(trx)));
        } catch (error) {
          entry.reject(error);
        } finally {
          count(entry.keys, -1);
        }
      }
      return;
    }
    batch.forEach((entry, i) => {
      count(entry.keys, -1);
      entry.resolve(results[i]);
    });
  }

  /** Writes what waits now, then what arrived meanwhile, until the queue is empty. */
  function flush(): Promise<void> {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (flushing !== undefined) return flushing;
    flushing = (async () => {
      while (queue.length > 0) {
        const batch = queue.slice(0, maxBatch);
        queue = queue.slice(batch.length);
        await writeBatch(batch);
      }
    })().finally(() => {
      flushing = undefined;
      // Entries queued after the last batch was taken, before this point, start their own.
      if (queue.length > 0) schedule();
    });
    return flushing;
  }

  function schedule(): void {
    if (queue.length >= maxBatch) void flush();
    else if (timer === undefined && flushing === undefined) {
      timer = setTimeout(() => void flush(), delayMs);
      timer.unref?.();
    }
    // While a flush runs, it takes what arrived when it is done.
  }

  return {
    /**
     * Queues `work` for the next batch's transaction and resolves with its result once that
     * transaction has committed. `keys`: the throttle keys it adds a row to (see `pending`).
     */
    record<T>(keys: readonly string[], work: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        count(keys, 1);
        queue.push({ keys, work, resolve: resolve as (value: unknown) => void, reject });
        schedule();
      });
    },

    /** Entries queued or being written that add a row under `key`. */
    pending: (key: string): number => pendingByKey.get(key) ?? 0,

    /** Writes everything queued (clean shutdown; tests). */
    flush,

    /** Transactions written so far (tests, the bench). */
    get batches(): number {
      return batches;
    },
  };
}

export type LoginJournal = ReturnType<typeof createLoginJournal>;
