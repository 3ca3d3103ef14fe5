import SQLiteDatabase from 'better-sqlite3-multiple-ciphers';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { withStatementCache } from './database.js';

describe('the SQLite statement cache', () => {
  let handle: SQLiteDatabase.Database;
  beforeEach(() => {
    handle = new SQLiteDatabase(':memory:');
    handle.exec('create table t (id integer primary key, v text)');
    handle.exec("insert into t (v) values ('a'), ('b'), ('c')");
  });
  afterEach(() => {
    if (handle.open) handle.close();
  });

  it('prepares a statement once and hands it out again for the same SQL', () => {
    const prepare = vi.spyOn(handle, 'prepare');
    const cached = withStatementCache(handle);
    const a = cached.prepare('select v from t where id = ?');
    const b = cached.prepare('select v from t where id = ?');
    expect(b).toBe(a);
    expect(prepare).toHaveBeenCalledTimes(1);
    expect(b.all([2])).toEqual([{ v: 'b' }]);
    cached.prepare('select v from t where id > ?');
    expect(prepare).toHaveBeenCalledTimes(2);
  });

  it('never hands out a statement that is still being iterated', () => {
    const cached = withStatementCache(handle);
    const first = cached.prepare('select v from t order by id');
    const open = first.iterate([]);
    expect(open.next().value).toEqual({ v: 'a' });
    const second = cached.prepare('select v from t order by id');
    expect(second).not.toBe(first);
    expect(second.all([])).toEqual([{ v: 'a' }, { v: 'b' }, { v: 'c' }]);
    expect(open.next().value).toEqual({ v: 'b' });
    open.return?.();
    expect(cached.prepare('select v from t order by id')).toBe(first);
  });

  it('lets the least recently used statements go, by count and by length of SQL', () => {
    const prepare = vi.spyOn(handle, 'prepare');
    const byCount = withStatementCache(handle, { maxStatements: 2, maxSqlChars: 1_000_000 });
    byCount.prepare('select 1');
    byCount.prepare('select 2');
    byCount.prepare('select 1'); // now the most recently used
    byCount.prepare('select 3'); // pushes out 'select 2'
    prepare.mockClear();
    byCount.prepare('select 1');
    byCount.prepare('select 3');
    expect(prepare).not.toHaveBeenCalled();
    byCount.prepare('select 2');
    expect(prepare).toHaveBeenCalledTimes(1);

    const byLength = withStatementCache(handle, { maxStatements: 100, maxSqlChars: 20 });
    prepare.mockClear();
    byLength.prepare('select 10'); // 9 characters
    byLength.prepare('select 20'); // 18 in all
    byLength.prepare('select 30'); // 27: 'select 10' goes
    byLength.prepare(`select '${'x'.repeat(30)}'`); // longer than the budget: never kept
    byLength.prepare(`select '${'x'.repeat(30)}'`);
    byLength.prepare('select 30');
    byLength.prepare('select 10');
    expect(prepare.mock.calls.map((c) => c[0])).toEqual([
      'select 10',
      'select 20',
      'select 30',
      `select '${'x'.repeat(30)}'`,
      `select '${'x'.repeat(30)}'`,
      'select 10',
    ]);
  });

  it('follows schema changes, and Kysely reads and writes through it', async () => {
    const db = new Kysely<{ t: { id: number; v: string; w?: string | null } }>({
      dialect: new SqliteDialect({ database: withStatementCache(handle) }),
    });
    const all = () => db.selectFrom('t').selectAll().orderBy('id').execute();
    expect(await all()).toHaveLength(3);
    await sql`alter table t add column w text`.execute(db);
    await db.insertInto('t').values({ id: 4, v: 'd', w: 'x' }).execute();
    expect((await all()).at(-1)).toEqual({ id: 4, v: 'd', w: 'x' });
    await db.destroy();
    expect(handle.open).toBe(false);
  });
});
