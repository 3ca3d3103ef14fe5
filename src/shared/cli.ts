/**
 * What every CLI command gets: where to write, the environment, the clock, and one way to open
 * Kluis and close it again afterwards. `src/cli/commands.ts` makes the real one; tests pass their
 * own (an env of a test Kluis, buffers for output). Results go to `out`, progress and warnings to
 * `err`; personal values are never printed.
 */
import type { Writable } from 'node:stream';
import type { Config } from '../config/env.js';
import type { Kluis } from '../kluis.js';
import type { Clock } from './clock.js';
import { AppError } from './errors.js';

export interface CliOpenOptions {
  /** False for commands that never change the schema (they must not migrate a restored copy). */
  readonly migrate?: boolean;
}

export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly out: Writable;
  readonly err: Writable & { isTTY?: boolean };
  readonly clock: Clock;
  setExitCode(code: number): void;
  /** The configuration from `env` (throws ConfigError with every problem listed). */
  loadConfig(): Config;
  /** Opens Kluis with `config` and a silent logger. */
  openKluis(config: Config, options?: CliOpenOptions): Promise<Kluis>;
}

/**
 * Opens Kluis, runs `work` and closes it, whatever happens. An AppError's message is rewritten
 * into words a person at a terminal can act on (the code, the detail, the fields to check).
 */
export async function withKluis<T>(
  io: Pick<CliIo, 'loadConfig' | 'openKluis'>,
  work: (kluis: Kluis) => Promise<T>,
  options: CliOpenOptions = {},
): Promise<T> {
  const kluis = await io.openKluis(io.loadConfig(), options);
  try {
    return await work(kluis);
  } catch (error) {
    if (error instanceof AppError) {
      const detail = error.message === error.code ? '' : `: ${error.message}`;
      const fields = error.fields === undefined ? '' : ` (check ${Object.keys(error.fields).join(', ')})`;
      error.message = `${error.code}${detail}${fields}`;
    }
    throw error;
  } finally {
    await kluis.close();
  }
}

/** Prints a line to `out`. */
export function sayTo(out: Writable): (line?: string) => void {
  return (line = '') => {
    out.write(`${line}\n`);
  };
}
