/**
 * A PostgreSQL transaction that loses a race (deadlock 40P01, serialization failure 40001) runs
 * again instead of failing the request (issue 16). The wrapper is checked on any dialect with a
 * simulated conflict; the real races run against PostgreSQL (KLUIS_TEST_DIALECT=postgres).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Generated, type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialect, testPgUrl } from '../../test/dialects.js';
import { type OpenedDatabase, openDatabase } from './database.js';
import { isRetryableConflict, withTransactionRetry } from './transaction-retry.js';

interface T {
  t: { id: Generated<number>; v: number };
}

/** Resolves when `n` parties have arrived. */
function barrier(n: number): () => Promise<void> {
  let arrived = 0;
  let release: () => void = () => {};
  const all = new Promise<void>((r) => {
    release = r;
  });
  return async () => {
    arrived++;
    if (arrived === n) release();
    await all;
  };
}

describe('transaction retry (any dialect)', () => {
  let dir: string;
  let opened: OpenedDatabase<T>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kluis-retry-'));
    opened = await openDatabase<T>({ url: `sqlite:${join(dir, 'db.sqlite')}` });
    await sql`create table t (id integer primary key, v integer not null)`.execute(opened.db);
  });
  afterAll(async () => {
    await opened.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a transaction again after a serialization failure or deadlock, and only after those', async () => {
    const retries: string[] = [];
    const db = withTransactionRetry(opened.db, { pauseMs: () => 1, onRetry: (code) => retries.push(code) });
    let calls = 0;
    const id = await db.transaction().execute(async (trx) => {
      calls++;
      const row = await trx.insertInto('t').values({ v: calls }).returning('id').executeTakeFirstOrThrow();
      if (calls === 1) throw Object.assign(new Error('could not serialize access'), { code: '40001' });
      if (calls === 2) throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
      return row.id;
    });
    expect(calls).toBe(3);
    expect(retries).toEqual(['40001', '40P01']);
    // The failed attempts were rolled back: one row, from the third attempt.
    expect(await db.selectFrom('t').select(['id', 'v']).execute()).toEqual([{ id, v: 3 }]);

    let other = 0;
    await expect(
      db.transaction().execute(async () => {
        other++;
        throw Object.assign(new Error('unique violation'), { code: '23505' });
      }),
    ).rejects.toThrow('unique violation');
    expect(other).toBe(1);
    expect(isRetryableConflict({ code: '40001' })).toBe(true);
    expect(isRetryableConflict(new Error('x'))).toBe(false);
  });

  it('gives up after the set number of attempts with the last error', async () => {
    const db = withTransactionRetry(opened.db, { attempts: 3, pauseMs: () => 1 });
    let calls = 0;
    await expect(
      db
        .transaction()
        .setIsolationLevel('serializable')
        .execute(async () => {
          calls++;
          throw Object.assign(new Error('still conflicting'), { code: '40001' });
        }),
    ).rejects.toThrow('still conflicting');
    expect(calls).toBe(3);
  });
});

describe.skipIf(testDialect !== 'postgres')('transaction retry on PostgreSQL races', () => {
  let opened: OpenedDatabase<T>;
  let db: Kysely<T>;
  const schema = `retry_${randomBytes(6).toString('hex')}`;
  beforeAll(async () => {
    opened = await openDatabase<T>({ url: testPgUrl, schema });
    db = opened.db;
    await sql`create table t (id integer primary key, v integer not null)`.execute(db);
  });
  afterAll(async () => {
    await sql`drop schema ${sql.raw(schema)} cascade`.execute(db);
    await opened.close();
  });

  it('commits both of two transactions that deadlock (40P01), with no error', async () => {
    await db.deleteFrom('t').execute();
    await db
      .insertInto('t')
      .values([
        { id: 1, v: 0 },
        { id: 2, v: 0 },
      ])
      .execute();
    const bothHoldOne = barrier(2);
    let attempts = 0;
    const bump = (first: number, second: number) =>
      db.transaction().execute(async (trx) => {
        attempts++;
        await trx
          .updateTable('t')
          .set((eb) => ({ v: eb('v', '+', 1) }))
          .where('id', '=', first)
          .execute();
        await bothHoldOne();
        await trx
          .updateTable('t')
          .set((eb) => ({ v: eb('v', '+', 1) }))
          .where('id', '=', second)
          .execute();
      });
    await Promise.all([bump(1, 2), bump(2, 1)]);
    expect(attempts).toBe(3); // one of them lost the deadlock and ran again
    expect(await db.selectFrom('t').select(['id', 'v']).orderBy('id').execute()).toEqual([
      { id: 1, v: 2 },
      { id: 2, v: 2 },
    ]);
  });

  it('commits both of two serializable transactions in a write-skew race (40001), with no error', async () => {
    await db.deleteFrom('t').execute();
    const bothRead = barrier(2);
    let attempts = 0;
    const addAfterCounting = (id: number) =>
      db
        .transaction()
        .setIsolationLevel('serializable')
        .execute(async (trx) => {
          attempts++;
          const n = await trx
            .selectFrom('t')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow();
          await bothRead();
          await trx
            .insertInto('t')
            .values({ id, v: Number(n.n) })
            .execute();
        });
    await Promise.all([addAfterCounting(10), addAfterCounting(11)]);
    expect(attempts).toBe(3);
    const rows = await db.selectFrom('t').select(['id', 'v']).orderBy('id').execute();
    // Serially: one saw an empty table, the other saw that row.
    expect(rows.map((r) => r.v).sort()).toEqual([0, 1]);
  });
});
