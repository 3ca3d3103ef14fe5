/**
 * A CLI io for tests: output captured in memory, the configuration and Kluis of a test (or of an
 * environment), an exit code to read back. One copy for every command's tests.
 */
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { loadConfig } from '../src/config/env.js';
import { type Kluis, openKluis } from '../src/kluis.js';
import type { CliIo } from '../src/shared/cli.js';
import { type Clock, systemClock } from '../src/shared/clock.js';
import { createLogger } from '../src/shared/logger.js';

export interface CapturedStream extends Writable {
  isTTY?: boolean;
  text(): string;
}

/** A writable that keeps what is written (optionally claiming to be a terminal). */
export function captureStream(tty = false): CapturedStream {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as CapturedStream;
  if (tty) stream.isTTY = true;
  stream.text = () => chunks.join('');
  return stream;
}

export interface TestCli {
  readonly io: CliIo;
  readonly out: CapturedStream;
  readonly err: CapturedStream;
  code(): number;
}

/**
 * With `kluis`, commands open that Kluis (never closed by the command: the test owns it); with
 * `env`, they load the configuration from it and open their own Kluis, as the real CLI does.
 */
export function testCli(o: {
  kluis?: Kluis;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  tty?: boolean;
}): TestCli {
  const out = captureStream();
  const err = captureStream(o.tty ?? false);
  let code = 0;
  const clock = o.clock ?? o.kluis?.clock ?? systemClock;
  const io: CliIo = {
    env: o.env ?? {},
    out,
    err,
    clock,
    setExitCode: (c) => {
      code = c;
    },
    loadConfig: () => (o.kluis === undefined ? loadConfig(o.env ?? {}) : o.kluis.config),
    openKluis: async (config, options = {}) =>
      o.kluis === undefined
        ? openKluis(config, {
            logger: createLogger('silent'),
            clock,
            ...(options.migrate === false ? { migrate: false } : {}),
          })
        : { ...o.kluis, close: async () => undefined },
  };
  return { io, out, err, code: () => code };
}

/**
 * Runs `kluis <args>` through a program with the commands `registers` add, on `run`'s io: what it
 * printed, and the error it ended with (a refusal is returned, not thrown).
 */
export async function runCommands(
  run: TestCli,
  registers: readonly ((program: Command, io: CliIo) => void)[],
  args: readonly string[],
): Promise<{ out: string; error: Error | undefined }> {
  const program = new Command().exitOverride();
  for (const register of registers) register(program, run.io);
  let error: Error | undefined;
  try {
    await program.parseAsync(['node', 'kluis', ...args]);
  } catch (e) {
    error = e instanceof Error ? e : new Error(String(e));
  }
  return { out: run.out.text(), error };
}
