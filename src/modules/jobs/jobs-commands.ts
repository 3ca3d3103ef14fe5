/**
 * `kluis worker`: the job worker and scheduler alone, for running several web nodes with
 * `kluis serve --no-worker`. `startJobWorker` is also what `kluis serve` runs in-process.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../../config/env.js';
import { type Kluis, openKluis } from '../../kluis.js';
import { buildJobRegistry, ensureDefaultSchedules } from './jobs-catalogue.js';
import { createWorker, type Worker } from './jobs-worker.js';

export interface StartWorkerOptions {
  concurrency?: number;
  pollMs?: number;
}

/** Ensures the default schedules and starts polling; call `stop()` for a graceful end. */
export async function startJobWorker(kluis: Kluis, options: StartWorkerOptions = {}): Promise<Worker> {
  await ensureDefaultSchedules(kluis);
  const worker = createWorker({
    kluis,
    registry: buildJobRegistry(),
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

export function registerJobsCommands(program: Command): void {
  program
    .command('worker')
    .description('run background jobs and the scheduler (use with `kluis serve --no-worker` on other nodes)')
    .option('--concurrency <n>', 'jobs run at the same time', positiveInt('--concurrency'), 4)
    .option('--poll-ms <ms>', 'wait between polls when idle', positiveInt('--poll-ms'), 1000)
    .action(async (opts: { concurrency: number; pollMs: number }) => {
      const config = loadConfig();
      const kluis = await openKluis(config);
      const worker = await startJobWorker(kluis, opts);
      const shutdown = async () => {
        await worker.stop();
        await kluis.close();
        process.exit(0);
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
      process.stdout.write(
        `Kluis worker ${worker.id} is running (${config.env}, concurrency ${opts.concurrency}). Stop with Ctrl+C: running jobs finish first.\n`,
      );
    });
}
