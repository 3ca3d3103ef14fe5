/**
 * Where the time of one benchmark target goes: runs it under load (autocannon, in this process)
 * with the V8 CPU profiler on, writes the profile (open it in Chrome DevTools, Performance tab)
 * and prints the largest self times per function and per package, in µs per request.
 * The load generator runs in the same process and shows up in the profile too (autocannon,
 * http-parser-js), as it does in `npm run bench`.
 *
 *   npx tsx bench/http/http-profile.ts [--target kluis-full|kluis-no-log|kluis-public]
 *     [--seconds 8] [--connections 10] [--top 40] [--out http-profile.cpuprofile]
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { buildApp } from '../../src/app.js';
import { modules } from '../../src/modules/index.js';
import { defineModule } from '../../src/modules/module.js';
import { createTestKluis } from '../../test/dialects.js';
import { createOrg, createStaffUser, loginAs } from '../../test/factories.js';
import { type CpuProfile, formatSelfTimes, selfTimeByFunction, selfTimeByOwner } from '../lib/cpu-profile.js';
import { runOnce, type Target } from '../lib/measure.js';
import { bareEcho } from './bare-echo.js';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'kluis-full' },
    seconds: { type: 'string', default: '8' },
    connections: { type: 'string', default: '10' },
    top: { type: 'string', default: '40' },
    out: { type: 'string', default: 'http-profile.cpuprofile' },
  },
});
const targetName = values.target;
const targetNames = ['bare', 'bare-headers', 'kluis-full', 'kluis-no-log', 'kluis-public'];
if (!targetNames.includes(targetName)) {
  throw new Error(`unknown target ${targetName}: ${targetNames.join(', ')}`);
}

const echoModule = defineModule({
  name: 'bench-echo',
  routes(kit) {
    kit.app.get('/bench/echo', { config: { access: { kind: 'public' } } }, async () => ({ ok: true }));
  },
});

const kluis = await createTestKluis({ env: { KLUIS_RATE_LIMIT_PER_MINUTE: '100000000' } });
const bare = targetName.startsWith('bare');
const app = bare
  ? bareEcho({ headers: targetName === 'bare-headers' })
  : await buildApp(kluis, {
      modules:
        targetName === 'kluis-no-log'
          ? modules.filter((m) => m.name !== 'security')
          : [...modules, echoModule],
    });
const base = await app.listen({ host: '127.0.0.1', port: 0 });
let target: Target;
if (bare) {
  target = { name: targetName, url: `${base}/echo` };
} else if (targetName === 'kluis-public') {
  target = { name: targetName, url: `${base}/bench/echo` };
} else {
  const org = await createOrg(kluis, 'tenant');
  const user = await createStaffUser(kluis, { orgId: org.id, roles: ['admin'] });
  const session = await loginAs(app, user);
  target = { name: targetName, url: `${base}/api/v1/whoami`, headers: { cookie: session.cookie } };
}
const connections = Number(values.connections);

await runOnce(target, 2, connections);
const inspector = new Session();
inspector.connect();
await inspector.post('Profiler.enable');
await inspector.post('Profiler.start');
const sample = await runOnce(target, Number(values.seconds), connections);
const { profile } = await inspector.post('Profiler.stop');
inspector.disconnect();
writeFileSync(values.out, JSON.stringify(profile));

const requests = sample.requestsPerSecond * Number(values.seconds);
const top = Number(values.top);
const cpuProfile = profile as unknown as CpuProfile;
process.stdout.write(
  `${targetName}: ${sample.requestsPerSecond.toFixed(0)} req/s, ${sample.cpuMicrosPerRequest.toFixed(0)} µs CPU per request (load generator included); profile in ${values.out}\n\n` +
    `self time by package or file:\n${formatSelfTimes(selfTimeByOwner(cpuProfile), requests, 20)}\n\n` +
    `self time by function:\n${formatSelfTimes(selfTimeByFunction(cpuProfile), requests, top)}\n`,
);
await app.close();
await kluis.destroy();
