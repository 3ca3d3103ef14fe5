/**
 * Progress of long CLI work, on stderr so stdout stays clean for results and scripts. On a
 * terminal a counter is redrawn in place; in a log (not a TTY) only the start and the end of each
 * step are written, so CI logs and journald stay readable.
 */
import type { Writable } from 'node:stream';

export interface Progress {
  /** Starts a named step ("copying the database"). */
  step(label: string): void;
  /** Reports `done` of `total` units within the current step. */
  update(done: number, total: number): void;
  /** Ends the current step with a short result ("12 MiB"). */
  done(result?: string): void;
}

export function createProgress(out: Writable & { isTTY?: boolean } = process.stderr): Progress {
  const tty = out.isTTY === true;
  let label = '';
  let lastPercent = -1;
  return {
    step(next) {
      label = next;
      lastPercent = -1;
      out.write(tty ? `  … ${label}` : `  … ${label}\n`);
    },
    update(done, total) {
      if (!tty) return;
      const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
      if (percent === lastPercent) return;
      lastPercent = percent;
      out.write(`\r  … ${label}: ${done}/${total} (${percent}%)`);
    },
    done(result) {
      const suffix = result === undefined ? '' : `: ${result}`;
      out.write(tty ? `\r\u001b[2K  ✓ ${label}${suffix}\n` : `  ✓ ${label}${suffix}\n`);
    },
  };
}

/** A progress sink that writes nothing (tests, `--quiet`). */
export const silentProgress: Progress = { step() {}, update() {}, done() {} };

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}
