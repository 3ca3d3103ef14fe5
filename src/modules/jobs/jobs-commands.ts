/**
 * `kluis worker`: the job worker and scheduler alone, for running several web nodes with
 * `kluis serve --no-worker`. `startJobWorker` is also what `kluis serve` runs in-process.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { assertSharedKeystore } from '../../config/env.js';
import { markServingStores } from '../../db/serving-marker.js';
import type { Kluis } from '../../kluis.js';
import type { CliIo } from '../../shared/cli.js';
import { ensureSchedule } from './jobs-scheduler.js';
import { createWorker, type Worker } from './jobs-worker.js';

export interface StartWorkerOptions {
  concurrency?: number;
  pollMs?: number;
}

/** Creates or updates every module's recurring schedules (idempotent; run at every start). */
export async function ensureSchedules(kluis: Pick<Kluis, 'db' | 'clock' | 'schedules'>): Promise<void> {
  for (const schedule of kluis.schedules) await ensureSchedule(kluis.db, kluis.clock, schedule);
}

/** Ensures the schedules and starts polling; call `stop()` for a graceful end. */
export async function startJobWorker(kluis: Kluis, options: StartWorkerOptions = {}): Promise<Worker> {
  await ensureSchedules(kluis);
  const worker = createWorker({
    kluis,
    registry: kluis.jobRegistry,
    concurrency: options.concurrency ?? 2,
    pollMs: options.pollMs ?? 1000,
  });
  worker.start();
  return worker;
}

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${name} must be a positive whole number`);
    return n;
  };
}

export function registerJobsCommands(program: Command, io: CliIo): void {
  program
    .command('worker')
    .description('run background jobs and the scheduler (use with `kluis serve --no-worker` on other nodes)')
    .option('--concurrency <n>', 'jobs run at the same time', positiveInt('--concurrency'), 4)
    .option('--poll-ms <ms>', 'wait between polls when idle', positiveInt('--poll-ms'), 1000)
    .action(async (opts: { concurrency: number; pollMs: number }) => {
      const config = io.loadConfig();
      assertSharedKeystore(config, 'kluis worker');
      const kluis = await io.openKluis(config);
      const worker = await startJobWorker(kluis, opts);
      const unmark = markServingStores([config.databaseUrl, config.keystoreUrl], kluis.clock.now());
      const shutdown = async () => {
        await worker.stop();
        await kluis.close();
        unmark();
        process.exit(0);
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
      io.out.write(
        `Kluis worker ${worker.id} is running (${config.env}, concurrency ${opts.concurrency}). Stop with Ctrl+C: running jobs finish first.\n`,
      );
    });
}
