/**
 * `npm run bench`: runs the benchmark suites one after another, each in its own process (a
 * suite's dialect is fixed when test/dialects.ts loads, and seeded rows should not weigh on the
 * next suite), passes their output through, and prints ONE table at the end:
 *   suite | measure | value | baseline | ratio | target | met?
 * Every ratio is against a baseline measured in the same process and the same run (the machine
 * is shared: absolute req/s move with the neighbours, ratios and CPU µs per operation much less).
 *
 * Sizes: the default finishes in a few minutes; `--quick` is a smoke run; `--full` uses the
 * issue's sizes (1M audit entries, 1M subjects with 10M audit entries; that takes long).
 * Single sizes can be set apart (`--entries`, `--subjects`, `--audit-entries`).
 *
 *   npm run bench -- [--only http,cluster,contact,audit-verify,login-attack,export]
 *     [--quick | --full] [--dialects sqlite,postgres] [--seconds 3] [--rounds 3]
 *     [--entries 100000] [--subjects 50000] [--audit-entries 250000]
 *
 * Exits non-zero when a suite fails (not when a target is missed: that is a result).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatTable, type ResultRow, ROWS_ENV, readRows } from './lib/report.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    full: { type: 'boolean', default: false },
    dialects: { type: 'string', default: 'sqlite,postgres' },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    connections: { type: 'string', default: '10' },
    entries: { type: 'string' },
    subjects: { type: 'string' },
    'audit-entries': { type: 'string' },
  },
});
if (values.quick && values.full) throw new Error('--quick or --full, not both');

type Size = 'quick' | 'default' | 'full';
const size: Size = values.quick ? 'quick' : values.full ? 'full' : 'default';
const pick = (given: string | undefined, sizes: Record<Size, string>) => given ?? sizes[size];
const seconds = pick(values.seconds, { quick: '2', default: '3', full: '5' });
const rounds = pick(values.rounds, { quick: '2', default: '3', full: '5' });
const entries = pick(values.entries, { quick: '20000', default: '100000', full: '1000000' });
const subjects = pick(values.subjects, { quick: '10000', default: '50000', full: '1000000' });
const auditEntries = pick(values['audit-entries'], { quick: '50000', default: '250000', full: '10000000' });
const connections = values.connections;
const dialects = values.dialects.split(',').map((d) => d.trim());
for (const d of dialects) if (d !== 'sqlite' && d !== 'postgres') throw new Error(`unknown dialect ${d}`);

const load = ['--seconds', seconds, '--rounds', rounds, '--connections', connections];

interface Run {
  readonly suite: string;
  readonly script: string;
  readonly args: readonly string[];
}

/** Each suite, with the runs it makes (one per dialect where it runs on both). */
const suites: Record<string, () => Run[]> = {
  http: () =>
    dialects.map((d) => ({
      suite: 'http',
      script: 'bench/http/http-bench.ts',
      args: ['--dialect', d, ...load],
    })),
  // Two nodes share one database: PostgreSQL only (SQLite is one node's file).
  cluster: () => [{ suite: 'cluster', script: 'bench/http/cluster-bench.ts', args: load }],
  contact: () =>
    dialects.map((d) => ({
      suite: 'contact',
      script: 'bench/contact/contact-bench.ts',
      args: ['--dialect', d, ...load],
    })),
  'audit-verify': () =>
    dialects.map((d) => ({
      suite: 'audit-verify',
      script: 'bench/audit/audit-verify-bench.ts',
      args: ['--dialect', d, '--entries', entries],
    })),
  'login-attack': () => [
    {
      suite: 'login-attack',
      script: 'bench/auth/login-attack-bench.ts',
      args: ['--seconds', size === 'quick' ? '8' : size === 'default' ? '15' : '30'],
    },
  ],
  export: () => [
    {
      suite: 'export',
      script: 'bench/rights/rights-export-bench.ts',
      args: [
        '--subjects',
        subjects,
        '--audit-entries',
        auditEntries,
        ...(size === 'full'
          ? []
          : ['--full', size === 'quick' ? '20' : '40', '--samples', size === 'quick' ? '40' : '100']),
        ...(size === 'full' ? [] : ['--warmup', '10', '--baseline-samples', '10']),
      ],
    },
  ],
};

const chosen = values.only === undefined ? Object.keys(suites) : values.only.split(',').map((s) => s.trim());
for (const name of chosen) {
  if (!Object.hasOwn(suites, name)) {
    throw new Error(`unknown suite ${name}: ${Object.keys(suites).join(', ')}`);
  }
}

function runSuite(run: Run, rowsFile: string): Promise<number | null> {
  return new Promise((resolve) => {
    process.stdout.write(`\n=== ${run.suite}: tsx ${run.script} ${run.args.join(' ')}\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', run.script, ...run.args], {
      stdio: 'inherit',
      env: { ...process.env, [ROWS_ENV]: rowsFile },
    });
    child.once('exit', (code) => resolve(code));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'kluis-bench-'));
const rowsFile = join(dir, 'rows.jsonl');
const failed: string[] = [];
const started = Date.now();
try {
  for (const name of chosen) {
    for (const run of suites[name]?.() ?? []) {
      const code = await runSuite(run, rowsFile);
      if (code !== 0) failed.push(`${run.suite} ${run.args.join(' ')} (exit ${code})`);
    }
  }
  const rows: ResultRow[] = readRows(rowsFile);
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  process.stdout.write(
    `\nKluis benchmarks — ${new Date().toISOString()}, Node ${process.version}, size ${size}, ${minutes} min\n\n${formatTable(rows)}\n`,
  );
  if (failed.length > 0) {
    process.stdout.write(`\nfailed suites:\n${failed.map((f) => `  ${f}`).join('\n')}\n`);
    process.exitCode = 1;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
