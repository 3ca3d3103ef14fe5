/**
 * `kluis retention run [--dry-run] | ledger verify | replay --since <time>` (P6). Results go to
 * stdout; the progress bar of a real run goes to stderr (redrawn on a terminal, every 10% in a
 * log). `run` resumes an interrupted sweep by itself.
 */
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { type CliIo, sayTo, withKluis } from '../../shared/cli.js';
import { type LineSource, whereOf } from '../../shared/json-lines.js';
import type { PersonalDataProvider } from '../personal-data.js';
import { type RetentionRunResult, totalOf } from './retention-engine.js';
import { erasureLedgerSource, ledgerPathOf, verifyErasureLedger } from './retention-ledger.js';
import { retentionCategories } from './retention-registry.js';
import { DEFAULT_BATCH_SIZE } from './retention-sweep.js';

/** A progress bar on stderr: `[#####-----] 52% 520000/1000000 intake.conversations`. */
export function createProgressBar(err: Writable & { isTTY?: boolean }, width = 30) {
  const tty = err.isTTY === true;
  let lastDecile = -1;
  let lastPercent = -1;
  let shown = false;
  return {
    update(done: number, total: number, category: string): void {
      if (total === 0) return;
      const percent = Math.min(100, Math.floor((done / total) * 100));
      if (tty) {
        if (percent === lastPercent && done !== total) return;
        lastPercent = percent;
        const filled = Math.round((percent / 100) * width);
        err.write(
          `\r  [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(percent).padStart(3)}% ${done}/${total} ${category}\u001b[K`,
        );
        shown = true;
      } else if (Math.floor(percent / 10) > lastDecile) {
        lastDecile = Math.floor(percent / 10);
        err.write(`  ${percent}% ${done}/${total} ${category}\n`);
      }
    },
    end(): void {
      if (shown) err.write('\n');
    },
  };
}

/** The result as printed: one line per category with what was (or would be) done. */
export function describeRun(
  result: RetentionRunResult,
  providers: readonly PersonalDataProvider[],
): string[] {
  const lines = [
    result.dryRun
      ? `Dry run as of ${result.asOf}: nothing was changed.`
      : `Sweep ${result.runId ?? ''} as of ${result.asOf}${result.resumed ? ' (resumed)' : ''}: done.`,
  ];
  for (const category of retentionCategories(providers)) {
    const c = totalOf(result.counts, category);
    if (c.applied === 0 && c.held === 0 && c.anonymised === 0) continue;
    const parts = [`${c.applied} ${result.dryRun ? 'would go' : 'handled'}`];
    if (c.anonymised > 0) parts.push(`${c.anonymised} ${result.dryRun ? 'would be truncated' : 'truncated'}`);
    if (c.held > 0) parts.push(`${c.held} held`);
    lines.push(`  ${category}: ${parts.join(', ')}`);
  }
  if (lines.length === 1) lines.push('  nothing expired');
  return lines;
}

export function registerRetentionCommands(program: Command, io: CliIo): void {
  const say = sayTo(io.out);

  const retention = program
    .command('retention')
    .description('retention: sweeps, the erasure ledger and its replay');

  retention
    .command('run')
    .description('delete, anonymise or restrict what expired (resumes an interrupted sweep)')
    .option('--dry-run', 'only count what would go, per category; change nothing')
    .option('--batch-size <n>', 'records per transaction', String(DEFAULT_BATCH_SIZE))
    .option('--json', 'print the counts as JSON')
    .action(async (opts: { dryRun?: boolean; batchSize: string; json?: boolean }) => {
      await withKluis(io, async (kluis) => {
        const batchSize = Number.parseInt(opts.batchSize, 10);
        const bar = createProgressBar(io.err);
        const result = await kluis.services.retention.run({
          dryRun: opts.dryRun === true,
          startedBy: 'system:cli',
          batchSize:
            Number.isFinite(batchSize) && batchSize > 0 ? Math.min(batchSize, 100_000) : DEFAULT_BATCH_SIZE,
          ...(opts.dryRun ? {} : { onProgress: bar.update }),
        });
        bar.end();
        if (opts.json) say(JSON.stringify(result, null, 2));
        else for (const line of describeRun(result, kluis.personalData.all())) say(line);
      });
    });

  const ledger = retention.command('ledger').description('the erasure ledger (ids only, hash-chained)');
  ledger
    .command('verify')
    .description('walk the erasure ledger and report the first broken line (exit code 1)')
    .option(
      '--file <path>',
      'ledger file (default: the shared ledger schema on PostgreSQL, else <KLUIS_DATA_DIR>/erasure-ledger.jsonl)',
    )
    .action(async (opts: { file?: string }) => {
      const config = io.loadConfig();
      const verify = async (source: LineSource) => {
        const where = whereOf(source);
        const report = await verifyErasureLedger(source);
        if (report.ok) {
          say(
            `OK: ${report.lines} lines, ${report.erasures} erasures of ${report.records} records (${where})`,
          );
        } else {
          say(
            `BROKEN at line ${report.broken?.lineNo ?? '?'}: ${report.broken?.reason ?? 'unknown'} (${where})`,
          );
          io.setExitCode(1);
        }
      };
      if (opts.file !== undefined || config.ledgerUrl === undefined) {
        await verify(opts.file ?? ledgerPathOf(config));
        return;
      }
      // On PostgreSQL: the shared ledger exactly as this installation's Kluis opens it.
      await withKluis(io, async (kluis) => {
        await verify(
          kluis.ledgerStore === undefined ? ledgerPathOf(config) : erasureLedgerSource(kluis.ledgerStore),
        );
      });
    });

  retention
    .command('replay')
    .description('re-apply erasures recorded since a time, e.g. after a PostgreSQL pg_restore')
    .requiredOption('--since <time>', 'ISO time: the backup was taken then (replays from a day earlier)')
    .option(
      '--file <path>',
      'ledger file (default: the shared ledger schema on PostgreSQL, else <KLUIS_DATA_DIR>/erasure-ledger.jsonl)',
    )
    .action(async (opts: { since: string; file?: string }) => {
      const since = Date.parse(opts.since);
      if (Number.isNaN(since)) {
        io.err.write('--since must be an ISO time such as 2030-01-31T03:00:00Z\n');
        io.setExitCode(2);
        return;
      }
      await withKluis(io, async (kluis) => {
        const file = opts.file ?? kluis.services.retention.ledger.source;
        const from = new Date(since - 86_400_000).toISOString();
        const { database, keys } = await kluis.services.retention.replay(file, from);
        say(
          `Replayed ${database.entries} erasures since ${from}: ${database.records} records, ${keys.keys} subject keys.`,
        );
      });
    });
}
