/**
 * Which process serves from a SQLite file: `kluis serve` and `kluis worker` write
 * `<file>.serving` (pid and host) while they run and remove it when they stop. `backup restore
 * --force` refuses while that process is alive (issue 16: a restore ran under a serving Kluis,
 * which went on writing to the file moved aside). A marker left by a killed process names a pid
 * that is gone (or another host's process, which this host cannot check): only a live local pid
 * refuses. SQLite only; a PostgreSQL backup is restored with pg_restore.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dialectOf, sqlitePathOf } from './database.js';

export const servingMarkerOf = (file: string) => `${file}.serving`;

export interface ServingProcess {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

/** Writes the marker for this process; the returned function removes it (only if still ours). */
export function markServing(file: string, now: Date): () => void {
  const marker = servingMarkerOf(file);
  const mine: ServingProcess = { pid: process.pid, host: hostname(), since: now.toISOString() };
  writeFileSync(marker, `${JSON.stringify(mine)}\n`, { mode: 0o600 });
  return () => {
    if (servingProcess(file)?.pid === process.pid) rmSync(marker, { force: true });
  };
}

/** The live process on this host that serves from `file`, if any. */
export function servingProcess(file: string): ServingProcess | undefined {
  const marker = servingMarkerOf(file);
  if (!existsSync(marker)) return undefined;
  let found: Partial<ServingProcess>;
  try {
    found = JSON.parse(readFileSync(marker, 'utf8')) as Partial<ServingProcess>;
  } catch {
    return undefined;
  }
  if (typeof found.pid !== 'number' || !Number.isSafeInteger(found.pid) || found.pid <= 0) return undefined;
  if (found.host !== hostname() || !alive(found.pid)) return undefined;
  return { pid: found.pid, host: found.host, since: String(found.since ?? '') };
}

/**
 * Marks the SQLite files of a running `kluis serve` or `kluis worker` (the main database and the
 * key store; PostgreSQL URLs are skipped). The returned function removes the markers.
 */
export function markServingStores(urls: readonly string[], now: Date): () => void {
  const files = [...new Set(urls.filter((u) => dialectOf(u) === 'sqlite').map(sqlitePathOf))];
  const unmark = files.map((f) => markServing(f, now));
  return () => {
    for (const u of unmark) u();
  };
}
