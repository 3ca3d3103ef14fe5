/**
 * HTTP overhead of Kluis's hooks, measured in one process and one session:
 *   bare           a bare Fastify JSON echo (the baseline)
 *   kluis-no-log   Kluis without the access-log module: session auth, org scope, access check,
 *                  CSRF hook, security headers, rate limit, request id, error handler
 *   kluis-full     every hook on, including the batched access log (P12)
 *   bare-headers   the bare echo sending the headers every Kluis response carries (security
 *                  headers, request id, cache-control): what the headers alone cost
 * All serve JSON on loopback; the Kluis targets call `GET /api/v1/whoami` with a real staff
 * session cookie, so every request resolves its session.
 * Targets (issue 2): access logging costs <= 5% (kluis-full vs kluis-no-log), all hooks <= 30%
 * (vs bare). Printed besides, without a target (decision 0012): the headers alone (bare-headers
 * vs bare) and the hooks against the echo that sends the same headers (kluis-full vs bare-headers).
 * Each cost is the median of the per-round ratios (rounds alternate the targets), printed with
 * the ratio of every round and the same cost by CPU time per request, which other work on a
 * shared machine disturbs less than throughput.
 *
 * `--detail` adds a target that splits the overhead up (not part of the verdicts):
 *   kluis-public   a public JSON route in the full app, without a session cookie (no session
 *                  lookup; access log on)
 *
 *   npm run bench -- [--seconds 5] [--rounds 3] [--connections 10] [--detail]
 */
import { parseArgs } from 'node:util';
import { buildApp } from '../../src/app.js';
import { modules } from '../../src/modules/index.js';
import { defineModule } from '../../src/modules/module.js';
import { createTestKluis } from '../../test/dialects.js';
import { createOrg, createStaffUser, loginAs } from '../../test/factories.js';
import { compare, costOf, printCost, printTable, printVerdict, type Target } from '../lib/measure.js';
import { bareEcho } from './bare-echo.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    detail: { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);

async function listen(app: { listen(o: { host: string; port: number }): Promise<string> }): Promise<string> {
  return app.listen({ host: '127.0.0.1', port: 0 });
}

/** A public JSON route, for the `kluis-public` target. */
const echoModule = defineModule({
  name: 'bench-echo',
  routes(kit) {
    kit.app.get('/bench/echo', { config: { access: { kind: 'public' } } }, async () => ({ ok: true }));
  },
});

async function main(): Promise<void> {
  const bare = bareEcho({ headers: false });
  const bareUrl = await listen(bare);
  const bareHeaders = bareEcho({ headers: true });
  const bareHeadersUrl = await listen(bareHeaders);

  const env = { KLUIS_RATE_LIMIT_PER_MINUTE: '100000000' };
  const full = await createTestKluis({ env });
  const fullApp = await buildApp(full, { modules: [...modules, echoModule] });
  const org = await createOrg(full, 'tenant');
  const user = await createStaffUser(full, { orgId: org.id, roles: ['admin'] });
  const fullSession = await loginAs(fullApp, user);
  const fullUrl = await listen(fullApp);

  const noLog = await createTestKluis({ env });
  const noLogApp = await buildApp(noLog, { modules: modules.filter((m) => m.name !== 'security') });
  const org2 = await createOrg(noLog, 'tenant');
  const user2 = await createStaffUser(noLog, { orgId: org2.id, roles: ['admin'] });
  const noLogSession = await loginAs(noLogApp, user2);
  const noLogUrl = await listen(noLogApp);

  const targets: Target[] = [
    { name: 'bare', url: `${bareUrl}/echo` },
    { name: 'bare-headers', url: `${bareHeadersUrl}/echo` },
    ...(values.detail ? [{ name: 'kluis-public', url: `${fullUrl}/bench/echo` }] : []),
    { name: 'kluis-no-log', url: `${noLogUrl}/api/v1/whoami`, headers: { cookie: noLogSession.cookie } },
    { name: 'kluis-full', url: `${fullUrl}/api/v1/whoami`, headers: { cookie: fullSession.cookie } },
  ];
  process.stdout.write(
    `HTTP overhead — ${rounds} rounds × ${seconds}s per target, ${connections} connections, Node ${process.version}, ${full.dialect}\n`,
  );
  const rows = await compare(targets, { rounds, seconds, connections, warmupSeconds: 2 });
  printTable(rows, 'bare');
  process.stdout.write('\ncost (1 − req/s ÷ reference req/s, median of the per-round ratios):\n');
  const accessLogMet = printVerdict('access log', costOf(rows, 'kluis-full', 'kluis-no-log'), 0.05);
  const allHooksMet = printVerdict('all hooks', costOf(rows, 'kluis-full', 'bare'), 0.3);
  process.stdout.write('without a target (decision 0012):\n');
  printCost('headers alone', costOf(rows, 'bare-headers', 'bare'));
  printCost('hooks, same hdrs', costOf(rows, 'kluis-full', 'bare-headers'));
  process.stdout.write(
    `verdict: access log ${accessLogMet ? 'MET' : 'NOT MET'}, all hooks ${allHooksMet ? 'MET' : 'NOT MET'}\n`,
  );
  const errors = rows.reduce((a, r) => a + r.errors + r.non2xx, 0);
  await bare.close();
  await bareHeaders.close();
  await fullApp.close();
  await noLogApp.close();
  await full.destroy();
  await noLog.destroy();
  if (errors > 0) {
    process.stderr.write(`${errors} failed requests: the numbers are not valid\n`);
    process.exitCode = 1;
  }
}

await main();
