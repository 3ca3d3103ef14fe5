/**
 * File facts the operational commands and `kluis doctor` rely on: whether a SQLite file is
 * encrypted (no plain header), who may read a file, content hashes, and writes that are either
 * complete or absent (temp file, fsync, rename).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  fsyncSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** The first 16 bytes of every plain (unencrypted) SQLite file. */
export const SQLITE_PLAIN_HEADER = Buffer.from('SQLite format 3\u0000', 'latin1');

export type SqliteFileState = 'missing' | 'empty' | 'plain' | 'encrypted';

/** Reads a SQLite file's first 16 bytes: a plain header means the file is NOT encrypted. */
export function sqliteFileState(file: string): SqliteFileState {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return 'missing';
  }
  try {
    const head = Buffer.alloc(16);
    const read = readSync(fd, head, 0, 16, 0);
    if (read === 0) return 'empty';
    return read === 16 && head.equals(SQLITE_PLAIN_HEADER) ? 'plain' : 'encrypted';
  } finally {
    closeSync(fd);
  }
}

/** The permission bits of a path, or undefined when it does not exist. */
export function modeOf(path: string): number | undefined {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return undefined;
  }
}

/** True when group or others have any access (secrets and data must be owner-only). */
export function isGroupOrWorldAccessible(mode: number): boolean {
  return (mode & 0o077) !== 0;
}

export function formatMode(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

/** SHA-256 and size of a file, streamed (backups can be large). */
export async function sha256File(
  file: string,
  onProgress?: (done: number, total: number) => void,
): Promise<{ sha256: string; bytes: number }> {
  const total = statSync(file).size;
  const hash = createHash('sha256');
  let done = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    const buf = chunk as Buffer;
    hash.update(buf);
    done += buf.length;
    onProgress?.(done, total);
  }
  return { sha256: hash.digest('hex'), bytes: done };
}

/** Flushes a file (or directory) to disk, so a rename that follows survives a power cut. */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `text` to `file` completely or not at all: temp file in the same folder, fsync, rename. */
export function writeFileAtomic(file: string, text: string, mode = 0o600): void {
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  fsyncPath(dirname(file));
}
