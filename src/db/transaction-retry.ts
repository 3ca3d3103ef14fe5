/**
 * PostgreSQL aborts a transaction that lost a race: `40001` (serialization_failure, under
 * REPEATABLE READ or SERIALIZABLE) and `40P01` (deadlock_detected, at any level, e.g. two writers
 * taking the same rows in another order). Such a transaction did nothing and may simply run
 * again; failing the request instead loses what a visitor sent (issue 16). Every top-level
 * `db.transaction().execute(fn)` therefore runs `fn` again, in a new transaction, up to
 * `attempts` times, with a short random pause. `fn` must not have effects outside the database
 * that cannot happen twice (ours seal values, enqueue jobs and append audit entries, all in the
 * transaction). Single statements outside a transaction are not retried.
 */
import type { Kysely, TransactionBuilder } from 'kysely';

/** SQLSTATE codes after which running the whole transaction again is safe. */
export const retryableSqlStates: ReadonlySet<string> = new Set(['40001', '40P01']);

export function isRetryableConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && retryableSqlStates.has(code);
}

export interface RetryOptions {
  readonly attempts?: number;
  /** Pause before attempt n (1-based retries), in ms; random jitter keeps racers apart. */
  readonly pauseMs?: (retry: number) => number;
  /** Called once per retry (for a log line or a counter). */
  readonly onRetry?: (code: string, retry: number) => void;
}

const defaultPause = (retry: number) => Math.min(200, 5 * 2 ** retry) * (0.5 + Math.random());

function retryingBuilder<DB>(builder: TransactionBuilder<DB>, options: RetryOptions): TransactionBuilder<DB> {
  const attempts = options.attempts ?? 5;
  const pause = options.pauseMs ?? defaultPause;
  return new Proxy(builder, {
    get(target, prop) {
      if (prop === 'execute') {
        return async <T>(fn: Parameters<TransactionBuilder<DB>['execute']>[0]) => {
          for (let attempt = 1; ; attempt++) {
            try {
              return (await target.execute(fn)) as T;
            } catch (error) {
              if (attempt >= attempts || !isRetryableConflict(error)) throw error;
              options.onRetry?.(String((error as { code: string }).code), attempt);
              await new Promise((r) => setTimeout(r, pause(attempt)));
            }
          }
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      // setIsolationLevel / setAccessMode return a new builder: keep retrying on it.
      return (...args: unknown[]) => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        return result !== null && typeof result === 'object' && 'execute' in result
          ? retryingBuilder(result as TransactionBuilder<DB>, options)
          : result;
      };
    },
  });
}

/**
 * `db` whose `transaction()` retries on a serialization failure or deadlock. Everything else is
 * the same instance (methods are called on the original, whose private fields a proxy lacks).
 */
export function withTransactionRetry<DB>(db: Kysely<DB>, options: RetryOptions = {}): Kysely<DB> {
  const transaction = () => retryingBuilder(db.transaction(), options);
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'transaction') return transaction;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
