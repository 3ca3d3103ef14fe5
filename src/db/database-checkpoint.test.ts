/**
 * A TRUNCATE checkpoint after an erasure must really happen: SQLite answers `busy` (and does not
 * wait) while another connection checkpoints or a reader holds the WAL, and a skipped TRUNCATE
 * leaves erased bytes in the WAL file.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkpointTruncate, openSqlite } from './database.js';

const key = 'a-test-key-that-is-long-enough-for-this';

describe('checkpointTruncate', () => {
  let root: string;
  let file: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'kluis-ckpt-'));
    file = join(root, 'kluis.db');
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  /** A database with some WAL content and a second connection reading it (a read transaction open). */
  function withReader() {
    const writer = openSqlite(file, { encryptionKey: key });
    writer.pragma('busy_timeout = 0');
    writer.exec('create table t (v text)');
    const reader = openSqlite(file, { encryptionKey: key });
    reader.exec('begin');
    reader.prepare('select count(*) from t').get();
    // Written after the reader's snapshot: the reader holds the WAL, TRUNCATE cannot reset it.
    for (let i = 0; i < 50; i++) writer.prepare('insert into t values (?)').run(`erased value ${i}`);
    return { writer, reader };
  }

  it('tries again while a reader holds the WAL, and empties the WAL once it lets go', async () => {
    const { writer, reader } = withReader();
    expect((writer.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[])[0]?.busy).toBe(1);
    let calls = 0;
    const counting = {
      pragma: (source: string) => {
        calls++;
        // The reader ends its transaction after the second refused attempt.
        if (calls === 3) reader.exec('commit');
        return writer.pragma(source);
      },
    };
    await checkpointTruncate(counting, { pauseMs: 1 });
    expect(calls).toBe(3);
    expect(statSync(`${file}-wal`).size).toBe(0);
    reader.close();
    writer.close();
  });

  it('fails loudly when the WAL stays busy, instead of pretending it was emptied', async () => {
    const { writer, reader } = withReader();
    await expect(checkpointTruncate(writer, { attempts: 3, pauseMs: 1 })).rejects.toThrow(/still busy/);
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(0);
    reader.exec('commit');
    reader.close();
    writer.close();
  });
});
