/**
 * Two Kluis nodes on one PostgreSQL (issue 15): the same installation opened twice in this
 * process (test/dialects.ts `openPeer`, as a second `kluis serve` opens it: same schemas, the
 * shared ledger, each node its own pool, session cache and LISTEN connection), each with its own
 * app on its own port. The staff API request with every hook (`GET /api/v1/whoami` with a session
 * made on node A) is sent to both nodes at once, the 10 connections split 5 + 5, against the
 * same-headers echo and against node A alone, in alternating rounds.
 * Target: the two-node cluster reaches >= 50 % of the echo (the PostgreSQL target).
 *
 * What this measures and what not: both nodes share this process's event loop and the load
 * generator, so two nodes cannot be faster than one here; the figure shows what running as a
 * cluster costs per request (the session cache kept exact across nodes, shared rate limits when
 * KLUIS_REDIS_URL is set) — not scale-out, which needs the nodes on their own cores.
 *
 *   npx tsx bench/http/cluster-bench.ts [--seconds 3] [--rounds 3] [--connections 10]
 */
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
  },
});
process.env.KLUIS_TEST_DIALECT = 'postgres';
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);

const { buildApp } = await import('../../src/app.js');
const { createTestKluis } = await import('../../test/dialects.js');
const { createOrg, createStaffUser, loginAs } = await import('../../test/factories.js');
const { compare, costOf, printTable } = await import('../lib/measure.js');
const { emitRows, micros, percent, perSecond } = await import('../lib/report.js');
const { bareEcho } = await import('./bare-echo.js');
type Target = import('../lib/measure.js').Target;

const env = { KLUIS_RATE_LIMIT_PER_MINUTE: '100000000' };
const nodeA = await createTestKluis({ env });
const nodeB = await nodeA.openPeer();
try {
  const echo = bareEcho({ headers: true });
  const echoUrl = await echo.listen({ host: '127.0.0.1', port: 0 });
  const appA = await buildApp(nodeA);
  const appB = await buildApp(nodeB);
  const org = await createOrg(nodeA, 'tenant');
  const user = await createStaffUser(nodeA, { orgId: org.id, roles: ['admin'] });
  const session = await loginAs(appA, user);
  const urlA = await appA.listen({ host: '127.0.0.1', port: 0 });
  const urlB = await appB.listen({ host: '127.0.0.1', port: 0 });
  const headers = { cookie: session.cookie };
  // The session made on node A must work on node B (shared database), or the figures mean nothing.
  const onB = await appB.inject({ method: 'GET', url: '/api/v1/whoami', headers });
  if (onB.statusCode !== 200) throw new Error(`node B refused node A's session: ${onB.statusCode}`);

  const targets: Target[] = [
    { name: 'echo-same-headers', url: `${echoUrl}/echo` },
    { name: 'one-node', url: `${urlA}/api/v1/whoami`, headers },
    { name: 'two-nodes', url: `${urlA}/api/v1/whoami`, alsoUrls: [`${urlB}/api/v1/whoami`], headers },
  ];
  process.stdout.write(
    `two Kluis nodes on PostgreSQL (one process) — ${rounds} rounds × ${seconds}s, ${connections} connections\n`,
  );
  const rows = await compare(targets, { rounds, seconds, connections, warmupSeconds: 2 });
  printTable(rows, 'echo-same-headers');
  const row = (name: string) => rows.find((r) => r.name === name);
  const cluster = costOf(rows, 'two-nodes', 'echo-same-headers');
  const single = costOf(rows, 'two-nodes', 'one-node');
  const errors = rows.reduce((a, r) => a + r.errors + r.non2xx, 0);
  emitRows([
    {
      suite: 'cluster-postgres',
      measure: 'two nodes, every hook vs same-headers echo (req/s)',
      value: perSecond(row('two-nodes')?.requestsPerSecond ?? Number.NaN),
      baseline: perSecond(row('echo-same-headers')?.requestsPerSecond ?? Number.NaN),
      ratio: `${percent(1 - cluster.throughput)} (rounds ${cluster.perRound.map((x) => percent(1 - x, 0)).join(' ')})`,
      target: '>= 50%',
      met: 1 - cluster.throughput >= 0.5 && errors === 0,
    },
    {
      suite: 'cluster-postgres',
      measure: 'two nodes vs same-headers echo (CPU/req)',
      value: micros(row('two-nodes')?.cpuMicrosPerRequest ?? Number.NaN),
      baseline: micros(row('echo-same-headers')?.cpuMicrosPerRequest ?? Number.NaN),
      ratio: percent(1 - cluster.cpu),
      target: '',
      met: undefined,
    },
    {
      suite: 'cluster-postgres',
      measure: 'two nodes vs one node, same process (req/s)',
      value: perSecond(row('two-nodes')?.requestsPerSecond ?? Number.NaN),
      baseline: perSecond(row('one-node')?.requestsPerSecond ?? Number.NaN),
      ratio: percent(1 - single.throughput),
      target: '',
      met: undefined,
    },
  ]);
  await appA.close();
  await appB.close();
  await echo.close();
  if (errors > 0) {
    process.stderr.write(`${errors} failed requests: the numbers are not valid\n`);
    process.exitCode = 1;
  }
} finally {
  await nodeA.destroy();
}
