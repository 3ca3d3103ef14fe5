/**
 * Load measurement with autocannon against servers on loopback. Targets are measured in
 * alternating rounds in the same process, so machine noise hits every target alike; the
 * reported figure per target is the median over rounds, and a ratio between two targets is the
 * median of the ratios within each round (a paired comparison: a round that other work on a
 * shared machine slowed down slows both sides of its ratio).
 */
import autocannon from 'autocannon';

export interface Target {
  name: string;
  url: string;
  /**
   * More servers of the same installation (cluster nodes): the connections are split over `url`
   * and these, one load generator each, run at the same time; requests and CPU are summed.
   */
  alsoUrls?: readonly string[];
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** A body per request (e.g. a form whose one-time token differs each time); overrides `body`. */
  nextBody?: () => string;
  /** Which answers count as success (default 2xx): a form post answers 303. */
  expect?: '2xx' | '3xx';
}

export interface Sample {
  requestsPerSecond: number;
  /**
   * CPU time of this process (user + system, all threads, the load generator included) per
   * request: less sensitive than req/s to other work on a shared machine.
   */
  cpuMicrosPerRequest: number;
  p50: number;
  p99: number;
  errors: number;
  /** Answers outside the target's expected class (2xx unless `expect` says 3xx). */
  non2xx: number;
}

export interface Summary extends Sample {
  name: string;
  /** One sample per round, in round order. */
  samples: readonly Sample[];
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function cannon(target: Target, url: string, seconds: number, connections: number) {
  const nextBody = target.nextBody;
  return autocannon({
    url,
    method: target.method ?? 'GET',
    headers: target.headers ?? {},
    ...(target.body === undefined ? {} : { body: target.body }),
    ...(nextBody === undefined
      ? {}
      : { requests: [{ setupRequest: (req) => ({ ...req, body: nextBody() }) }] }),
    duration: seconds,
    connections,
    pipelining: 1,
  });
}

export async function runOnce(target: Target, seconds: number, connections: number): Promise<Sample> {
  const cpuBefore = process.cpuUsage();
  const urls = [target.url, ...(target.alsoUrls ?? [])];
  // Connections split as evenly as they go (10 over 2 nodes: 5 each).
  const results = await Promise.all(
    urls.map((url, i) =>
      cannon(
        target,
        url,
        seconds,
        Math.floor(connections / urls.length) + (i < connections % urls.length ? 1 : 0),
      ),
    ),
  );
  const cpu = process.cpuUsage(cpuBefore);
  const total = results.reduce((a, r) => a + r.requests.total, 0);
  const good = results.reduce((a, r) => a + (target.expect === '3xx' ? r['3xx'] : r['2xx']), 0);
  // Latency over several generators: each one's percentile weighted by its share of requests
  // (exact for one node; an approximation of the pooled percentile for several).
  const weighted = (pick: (r: (typeof results)[number]) => number) =>
    results.reduce((a, r) => a + pick(r) * r.requests.total, 0) / Math.max(1, total);
  return {
    requestsPerSecond: results.reduce((a, r) => a + r.requests.average, 0),
    cpuMicrosPerRequest: (cpu.user + cpu.system) / Math.max(1, total),
    p50: weighted((r) => r.latency.p50),
    p99: weighted((r) => r.latency.p99),
    errors: results.reduce((a, r) => a + r.errors + r.timeouts, 0),
    non2xx: total - good,
  };
}

export async function compare(
  targets: readonly Target[],
  options: { rounds: number; seconds: number; connections: number; warmupSeconds: number },
): Promise<Summary[]> {
  for (const t of targets) await runOnce(t, options.warmupSeconds, options.connections);
  const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < options.rounds; round++) {
    // Rotate the order each round, so no target always runs right after the same neighbour.
    for (let i = 0; i < targets.length; i++) {
      const t = targets[(i + round) % targets.length];
      if (t === undefined) continue;
      samples.get(t.name)?.push(await runOnce(t, options.seconds, options.connections));
      process.stderr.write('.');
    }
  }
  process.stderr.write('\n');
  return targets.map((t) => {
    const s = samples.get(t.name) ?? [];
    return {
      name: t.name,
      samples: s,
      requestsPerSecond: median(s.map((x) => x.requestsPerSecond)),
      cpuMicrosPerRequest: median(s.map((x) => x.cpuMicrosPerRequest)),
      p50: median(s.map((x) => x.p50)),
      p99: median(s.map((x) => x.p99)),
      errors: s.reduce((a, x) => a + x.errors, 0),
      non2xx: s.reduce((a, x) => a + x.non2xx, 0),
    };
  });
}

export interface Cost {
  /** 1 − throughput(subject) / throughput(reference), median over rounds. */
  readonly throughput: number;
  /** The same per round, in round order. */
  readonly perRound: readonly number[];
  /** 1 − cpu(reference) / cpu(subject) per request, median over rounds: the CPU-time view. */
  readonly cpu: number;
}

/** How much slower `subject` is than `reference`, paired round by round. */
export function costOf(rows: readonly Summary[], subject: string, reference: string): Cost {
  const s = rows.find((r) => r.name === subject)?.samples ?? [];
  const r = rows.find((x) => x.name === reference)?.samples ?? [];
  const rounds = Math.min(s.length, r.length);
  const perRound: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const a = s[i];
    const b = r[i];
    if (a === undefined || b === undefined) continue;
    perRound.push(1 - a.requestsPerSecond / b.requestsPerSecond);
    cpu.push(1 - b.cpuMicrosPerRequest / a.cpuMicrosPerRequest);
  }
  return { throughput: median(perRound), perRound, cpu: median(cpu) };
}

const percent = (x: number) => `${(x * 100).toFixed(1)}%`;

/** A cost without a target: `name  cost  [per round]  cpu view`. */
export function printCost(label: string, cost: Cost): void {
  process.stdout.write(
    `${label.padEnd(16)} ${percent(cost.throughput).padStart(6)}   per round: ${cost.perRound
      .map(percent)
      .join(', ')}; by CPU time per request: ${percent(cost.cpu)}\n`,
  );
}

/** One line per target: `name  cost  (target <= x%)  MET|NOT MET  [per round]  cpu view`. */
export function printVerdict(label: string, cost: Cost, limit: number): boolean {
  const met = cost.throughput <= limit;
  process.stdout.write(
    `${label.padEnd(16)} ${percent(cost.throughput).padStart(6)}  (target <= ${percent(limit)})  ${
      met ? 'MET' : 'NOT MET'
    }   per round: ${cost.perRound.map(percent).join(', ')}; by CPU time per request: ${percent(cost.cpu)}\n`,
  );
  return met;
}

export function printTable(rows: readonly Summary[], baseline: string): void {
  const base = rows.find((r) => r.name === baseline);
  const header = ['target', 'req/s', 'p50 ms', 'p99 ms', 'cpu µs/req', 'vs baseline', 'errors', 'non-2xx'];
  const lines = rows.map((r) => [
    r.name,
    r.requestsPerSecond.toFixed(0),
    r.p50.toFixed(2),
    r.p99.toFixed(2),
    r.cpuMicrosPerRequest.toFixed(0),
    base ? percent(r.requestsPerSecond / base.requestsPerSecond) : '-',
    String(r.errors),
    String(r.non2xx),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  process.stdout.write(`${fmt(header)}\n${fmt(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const l of lines) process.stdout.write(`${fmt(l)}\n`);
}
