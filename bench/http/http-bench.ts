/**
 * HTTP overhead of Kluis's hooks, measured in one process and one session:
 *   bare           a bare Fastify JSON echo (the baseline)
 *   kluis-no-log   Kluis without the access-log module: session auth, org scope, access check,
 *                  CSRF hook, security headers, rate limit, request id, error handler
 *   kluis-full     every hook on, including the batched access log (P12)
 * All three serve JSON on loopback; the Kluis targets call `GET /api/v1/whoami` with a real
 * staff session cookie, so every request resolves a session from the database.
 * Targets: access logging costs <= 5% (kluis-full vs kluis-no-log), all hooks <= 30% (vs bare).
 *
 *   npm run bench -- [--seconds 5] [--rounds 3] [--connections 10]
 */
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import { buildApp } from '../../src/app.js';
import { modules } from '../../src/modules/index.js';
import { createTestKluis } from '../../test/dialects.js';
import { createOrg, createStaffUser, loginAs } from '../../test/factories.js';
import { compare, printTable, type Target } from '../lib/measure.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);

async function listen(app: { listen(o: { host: string; port: number }): Promise<string> }): Promise<string> {
  return app.listen({ host: '127.0.0.1', port: 0 });
}

async function main(): Promise<void> {
  const bare = Fastify({ logger: false });
  bare.get('/echo', async () => ({ ok: true }));
  const bareUrl = await listen(bare);

  const env = { KLUIS_RATE_LIMIT_PER_MINUTE: '100000000' };
  const full = await createTestKluis({ env });
  const fullApp = await buildApp(full);
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
    { name: 'kluis-no-log', url: `${noLogUrl}/api/v1/whoami`, headers: { cookie: noLogSession.cookie } },
    { name: 'kluis-full', url: `${fullUrl}/api/v1/whoami`, headers: { cookie: fullSession.cookie } },
  ];
  process.stdout.write(
    `HTTP overhead — ${rounds} rounds × ${seconds}s per target, ${connections} connections, Node ${process.version}, ${full.dialect}\n`,
  );
  const rows = await compare(targets, { rounds, seconds, connections, warmupSeconds: 2 });
  printTable(rows, 'bare');
  const get = (n: string) => rows.find((r) => r.name === n)?.requestsPerSecond ?? Number.NaN;
  const accessLogCost = 1 - get('kluis-full') / get('kluis-no-log');
  const allHooksCost = 1 - get('kluis-full') / get('bare');
  process.stdout.write(
    `\naccess log cost: ${(accessLogCost * 100).toFixed(1)}% (target <= 5%)\n` +
      `all hooks cost:  ${(allHooksCost * 100).toFixed(1)}% (target <= 30%)\n`,
  );
  const errors = rows.reduce((a, r) => a + r.errors + r.non2xx, 0);
  await bare.close();
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
