/**
 * The SQLite files hold every record (encrypted) and reveal write timing: owner-only, always.
 */
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqlite } from './database.js';

const groupOrOther = (path: string) => statSync(path).mode & 0o077;

describe('SQLite files on disk', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'kluis-files-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('creates the folder, the database, its WAL and shared-memory files for the owner only', () => {
    const file = join(root, 'data', 'kluis.db');
    const handle = openSqlite(file, { encryptionKey: 'a-test-key-that-is-long-enough-for-this' });
    handle.exec('create table t (v text)');
    handle.prepare('insert into t values (?)').run('x');
    for (const path of [join(root, 'data'), file, `${file}-wal`, `${file}-shm`]) {
      expect({ path, bits: groupOrOther(path) }).toEqual({ path, bits: 0 });
    }
    handle.close();
  });

  it('tightens an existing database that others could read', () => {
    const file = join(root, 'kluis.db');
    openSqlite(file, {}).close();
    chmodSync(file, 0o644);
    expect(groupOrOther(file)).not.toBe(0);
    const handle = openSqlite(file, {});
    expect(groupOrOther(file)).toBe(0);
    handle.close();
  });
});
