/**
 * Load measurement with autocannon against servers on loopback. Targets are measured in
 * alternating rounds in the same process, so machine noise hits every target alike; the
 * reported figure per target is the median over rounds.
 */
import autocannon from 'autocannon';

export interface Target {
  name: string;
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

export interface Sample {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

export interface Summary extends Sample {
  name: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export async function runOnce(target: Target, seconds: number, connections: number): Promise<Sample> {
  const result = await autocannon({
    url: target.url,
    method: target.method ?? 'GET',
    headers: target.headers ?? {},
    ...(target.body === undefined ? {} : { body: target.body }),
    duration: seconds,
    connections,
    pipelining: 1,
  });
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

export async function compare(
  targets: readonly Target[],
  options: { rounds: number; seconds: number; connections: number; warmupSeconds: number },
): Promise<Summary[]> {
  for (const t of targets) await runOnce(t, options.warmupSeconds, options.connections);
  const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < options.rounds; round++) {
    for (const t of targets) {
      samples.get(t.name)?.push(await runOnce(t, options.seconds, options.connections));
      process.stderr.write('.');
    }
  }
  process.stderr.write('\n');
  return targets.map((t) => {
    const s = samples.get(t.name) ?? [];
    return {
      name: t.name,
      requestsPerSecond: median(s.map((x) => x.requestsPerSecond)),
      p50: median(s.map((x) => x.p50)),
      p99: median(s.map((x) => x.p99)),
      errors: s.reduce((a, x) => a + x.errors, 0),
      non2xx: s.reduce((a, x) => a + x.non2xx, 0),
    };
  });
}

export function printTable(rows: readonly Summary[], baseline: string): void {
  const base = rows.find((r) => r.name === baseline);
  const header = ['target', 'req/s', 'p50 ms', 'p99 ms', 'vs baseline', 'errors', 'non-2xx'];
  const lines = rows.map((r) => [
    r.name,
    r.requestsPerSecond.toFixed(0),
    r.p50.toFixed(2),
    r.p99.toFixed(2),
    base ? `${((r.requestsPerSecond / base.requestsPerSecond) * 100).toFixed(1)}%` : '-',
    String(r.errors),
    String(r.non2xx),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  process.stdout.write(`${fmt(header)}\n${fmt(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const l of lines) process.stdout.write(`${fmt(l)}\n`);
}
