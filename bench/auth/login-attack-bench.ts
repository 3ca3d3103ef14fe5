/**
 * Sign-in under a password-guessing attack (issue 15): `--rate` (default 1,000) wrong passwords
 * per second, open loop, from `--addresses` (default 200) loopback addresses (127.2.x.y: Linux
 * routes all of 127/8 to lo, and each request binds its own source address with `localAddress`,
 * so Kluis sees real, different client addresses — no proxy header, KLUIS_TRUST_PROXY unset),
 * while legitimate users sign in over and over with the right password (each time from a fresh
 * address 127.3.x.y / 127.4.x.y, as different colleagues would; one after the other, 100 ms
 * apart), in two lanes at once (issue 15): one user's browser presents the device cookie it got
 * from a calm sign-in before the attack (trusted), another user has none (untrusted, reported
 * apart, honestly: the flood competes with it for the untrusted work budget).
 * Reported: each lane's p50/p99/max (target p99 < 500 ms for the trusted lane) and answers, and
 * what became of the attack attempts: refused by the work budget at once (429 with Retry-After 1),
 * throttled (other 429: the per-address route limit or the sign-in throttle), refused for a locked
 * account (423), checked and refused (401: a password was hashed), not sent (the generator holds
 * at most `--in-flight` attempts open: past that the server is not keeping up).
 * The baseline: the same legitimate sign-ins (both lanes) for 3 s before the attack starts.
 *
 * Kluis runs with its production limits (KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE 10 per address,
 * the throttle's 20 failures per address per 15 minutes, 5 per account): only the global per-IP
 * request limit is raised, as in every bench, which the sign-in route's own limit is well under.
 * The attack guesses at 20 real accounts of the organisation (which lock) and unknown addresses
 * in turn. The load runs in a worker thread, so its timings do not wait on the server's event
 * loop more than a real client's would.
 *
 * A request unanswered after 30 s is given up (status 0, `connection error`, timed at 30 s).
 *
 *   npx tsx bench/auth/login-attack-bench.ts [--seconds 15] [--rate 1000] [--addresses 200]
 *     [--in-flight 512] [--concurrency <KLUIS_LOGIN_CONCURRENCY>] [--dialect sqlite|postgres]
 */
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

const { values } = parseArgs({
  options: {
    dialect: { type: 'string', default: process.env.KLUIS_TEST_DIALECT ?? 'sqlite' },
    seconds: { type: 'string', default: '15' },
    rate: { type: 'string', default: '1000' },
    addresses: { type: 'string', default: '200' },
    'in-flight': { type: 'string', default: '512' },
    /** KLUIS_LOGIN_CONCURRENCY for this run (the untrusted lane's slots); the default when absent. */
    concurrency: { type: 'string' },
    profile: { type: 'string' },
    // Accepted (and ignored) so the runner can pass its load flags to every suite alike.
    rounds: { type: 'string' },
    connections: { type: 'string' },
  },
});
if (values.dialect !== 'sqlite' && values.dialect !== 'postgres')
  throw new Error('--dialect sqlite|postgres');
process.env.KLUIS_TEST_DIALECT = values.dialect;

const { buildApp } = await import('../../src/app.js');
const { createTestKluis } = await import('../../test/dialects.js');
const { createOrg, createStaffUser, csrfTokenOf, cookieHeader, setCookies } = await import(
  '../../test/factories.js'
);
const { emitRows, millis, percent, perSecond } = await import('../lib/report.js');
const { profiled } = await import('../lib/profile-run.js');
const { deviceCookieName } = await import('../../src/modules/auth/auth-device-cookies.js');

/** The load, as plain JavaScript for an `eval` worker (no TypeScript loader in workers). */
const loadScript = `
const { parentPort, workerData: w } = require('node:worker_threads');
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
const url = new URL(w.base);
function post(localAddress, fields, extraCookie) {
  const body = new URLSearchParams({ _csrf: w.csrf, ...fields }).toString();
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.request({
      host: url.hostname, port: url.port, path: '/login', method: 'POST', agent, localAddress,
      headers: { cookie: extraCookie ? w.cookie + '; ' + extraCookie : w.cookie, 'content-type': 'application/x-www-form-urlencoded',
        'content-length': Buffer.byteLength(body), accept: 'text/html' },
    }, (res) => {
      res.resume();
      const ra = res.headers['retry-after'];
      res.on('end', () => resolve({ status: res.statusCode === 429 && ra === '1' ? '429-budget' : String(res.statusCode), ms: performance.now() - t0 }));
    });
    req.on('error', () => resolve({ status: 0, ms: performance.now() - t0 }));
    // An answer that takes this long counts as a failure (status 0) at this time.
    req.setTimeout(w.timeoutMs, () => req.destroy());
    req.end(body);
  });
}
const address = (prefix, n) => prefix + '.' + Math.floor(n / 250) % 250 + '.' + (n % 250 + 1);
const statuses = {};
let sent = 0, skipped = 0, inFlight = 0;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const counters = { '127.3': 0, '127.4': 0 };
const lane = () => ({ ms: [], statuses: {} });
/** One lane's legitimate sign-ins one after the other, 100 ms apart, until the given time. */
async function signIns(until, into, who) {
  while (performance.now() < until) {
    const r = await post(address(who.prefix, counters[who.prefix]++), { email: who.email, password: who.password }, who.cookie);
    into.statuses[r.status] = (into.statuses[r.status] ?? 0) + 1;
    into.ms.push(r.ms);
    await sleep(100);
  }
}
const trustedUser = { prefix: '127.3', email: w.email, password: w.password, cookie: w.deviceCookie };
const untrustedUser = { prefix: '127.4', email: w.email2, password: w.password2, cookie: undefined };
(async () => {
  // First without the attack: the same sign-ins' own cost on this machine now (the baseline).
  const calm = { trusted: lane(), untrusted: lane() };
  const calmUntil = performance.now() + w.calmSeconds * 1000;
  await Promise.all([signIns(calmUntil, calm.trusted, trustedUser), signIns(calmUntil, calm.untrusted, untrustedUser)]);
  const legit = { trusted: lane(), untrusted: lane() };
  const start = performance.now();
  const end = start + w.seconds * 1000;
  const attack = setInterval(() => {
    const now = performance.now();
    if (now >= end) return;
    const due = Math.floor(((now - start) / 1000) * w.rate);
    while (sent + skipped < due) {
      const n = sent + skipped;
      if (inFlight >= w.maxInFlight) { skipped++; continue; }
      sent++;
      inFlight++;
      const email = w.targets[n % w.targets.length];
      post(address('127.2', n % w.addresses), { email, password: 'Wrong-guess-' + n }).then((r) => {
        inFlight--;
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      });
    }
  }, 5);
  await Promise.all([signIns(end, legit.trusted, trustedUser), signIns(end, legit.untrusted, untrustedUser)]);
  clearInterval(attack);
  const drainStart = performance.now();
  while (inFlight > 0 && performance.now() - drainStart < 60000) await sleep(50);
  parentPort.postMessage({ statuses, sent, skipped, calm, legit, elapsed: (performance.now() - start) / 1000, stillOpen: inFlight });
})();
`;

interface Lane {
  ms: number[];
  statuses: Record<string, number>;
}

interface LoadResult {
  statuses: Record<string, number>;
  calm: { trusted: Lane; untrusted: Lane };
  sent: number;
  skipped: number;
  legit: { trusted: Lane; untrusted: Lane };
  elapsed: number;
  stillOpen: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const kluis = await createTestKluis({
  env: {
    KLUIS_RATE_LIMIT_PER_MINUTE: '100000000',
    ...(values.concurrency === undefined ? {} : { KLUIS_LOGIN_CONCURRENCY: values.concurrency }),
  },
});
try {
  const app = await buildApp(kluis);
  const org = await createOrg(kluis, 'tenant');
  const user = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
  const user2 = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
  const victims = [];
  for (let i = 0; i < 20; i++)
    victims.push(await createStaffUser(kluis, { orgId: org.id, roles: ['support'] }));
  const targets = victims.flatMap((v, i) => [v.email, `unknown-${i}@bench.example`]);
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const page = await app.inject({ method: 'GET', url: '/login', headers: { accept: 'text/html' } });
  const cookie = cookieHeader(setCookies(page));
  const csrf = csrfTokenOf(page.body);
  // The trusted user's calm first sign-in, before any attack: its browser keeps the device cookie.
  const first = await app.inject({
    method: 'POST',
    url: '/login',
    remoteAddress: '127.5.0.1',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    payload: new URLSearchParams({ _csrf: csrf, email: user.email, password: user.password }).toString(),
  });
  const device = first.cookies.find((c) => c.name === deviceCookieName(kluis.config));
  if (first.statusCode !== 303 || device === undefined)
    throw new Error('the calm first sign-in got no device cookie');
  const workerData = {
    base,
    cookie,
    csrf,
    email: user.email,
    password: user.password,
    deviceCookie: `${device.name}=${device.value}`,
    email2: user2.email,
    password2: user2.password,
    targets,
    seconds: Number(values.seconds),
    rate: Number(values.rate),
    addresses: Number(values.addresses),
    maxInFlight: Number(values['in-flight']),
    timeoutMs: 30_000,
    calmSeconds: 3,
  };
  process.stdout.write(
    `sign-in under attack on ${kluis.dialect}: ${workerData.rate} wrong passwords/s from ${workerData.addresses} addresses for ${workerData.seconds} s, a legitimate sign-in every 100 ms\n`,
  );
  const cpu = process.cpuUsage();
  const load = () =>
    new Promise<LoadResult>((resolve, reject) => {
      const worker = new Worker(loadScript, { eval: true, workerData });
      worker.once('message', (m: LoadResult) => {
        resolve(m);
        void worker.terminate();
      });
      worker.once('error', reject);
    });
  let result: LoadResult | undefined;
  let profileText = '';
  if (values.profile === undefined) result = await load();
  else {
    // The server's main thread only: argon2 runs on libuv's thread pool and does not show here.
    const run = await profiled(values.profile, 30, async () => {
      result = await load();
      return Object.values(result.statuses).reduce((a, n) => a + n, 0);
    });
    profileText = `\n${run.text}`;
  }
  const done: LoadResult | undefined = result;
  if (done === undefined) throw new Error('the load did not report');
  const used = process.cpuUsage(cpu);
  await app.close();

  // The app's close wrote the last summary: the budget's refusals as the audit trail counts them.
  const summaries = await kluis.db
    .selectFrom('audit_log')
    .select('meta')
    .where('action', '=', 'auth.login.refused_busy')
    .execute();
  const refusedBusy = summaries
    .map((row) => JSON.parse(row.meta) as { trusted: number; untrusted: number })
    .reduce((sum, m) => sum + m.trusted + m.untrusted, 0);
  const sorted = (l: Lane) => [...l.ms].sort((a, b) => a - b);
  const trusted = sorted(done.legit.trusted);
  const untrusted = sorted(done.legit.untrusted);
  const calmTrusted = sorted(done.calm.trusted);
  const calmUntrusted = sorted(done.calm.untrusted);
  const p = (l: readonly number[], q: number) => millis(percentile(l, q));
  const okOf = (l: Lane) => l.statuses['303'] ?? 0;
  const answers = (st: Record<string, number>) =>
    Object.entries(st)
      .map(([code, n]) => `${code === '0' ? 'connection error' : code} × ${n}`)
      .join(', ');
  const count = (status: string) => done.statuses[status] ?? 0;
  const budgetRefused = count('429-budget');
  const throttled = count('429');
  const locked = count('423');
  const checked = count('401');
  const attackRate = done.sent / Number(values.seconds);
  const p99 = percentile(trusted, 99);
  const lanes: [string, number[], number[], Lane][] = [
    ['with a device cookie (trusted)', trusted, calmTrusted, done.legit.trusted],
    ['without one (untrusted)', untrusted, calmUntrusted, done.legit.untrusted],
  ];
  process.stdout.write(
    [
      `attack: sent ${done.sent} (${attackRate.toFixed(0)}/s), not sent (generator at ${workerData.maxInFlight} open) ${done.skipped}, still open after 60 s ${done.stillOpen}`,
      `  answers: ${answers(done.statuses)} (429-budget: refused at once by the work budget, Retry-After 1)`,
      `  refused by the budget, as the server counted them (audit summary): ${refusedBusy}`,
      ...lanes.map(
        ([name, l, c, raw]) =>
          `legitimate ${name}: ${l.length} sign-ins, answers ${answers(raw.statuses)}; p50 ${p(l, 50)}, p99 ${p(l, 99)}, max ${millis(l[l.length - 1] ?? Number.NaN)}; calm (first 3 s): p50 ${p(c, 50)}, p99 ${p(c, 99)}`,
      ),
      `CPU of this process (server and load) ${((used.user + used.system) / 1e6).toFixed(1)} s over ${done.elapsed.toFixed(1)} s`,
      profileText,
    ].join('\n'),
  );
  const suite = `login-attack-${kluis.dialect}`;
  emitRows([
    ...lanes.map(([name, l, c, raw]) => ({
      suite,
      measure: `legitimate sign-in ${name} p50 / p99 under ${workerData.rate}/s from ${workerData.addresses} addresses`,
      value: `${p(l, 50)} / ${p(l, 99)}`,
      baseline: `${p(c, 50)} / ${p(c, 99)} without attack`,
      ratio: `${(percentile(l, 99) / percentile(c, 99)).toFixed(1)}× p99`,
      target: name.includes('trusted)') && !name.includes('untrusted') ? 'p99 < 500 ms' : 'reported',
      met: name.includes('untrusted') ? undefined : p99 < 500 && okOf(raw) === l.length,
    })),
    ...lanes.map(([name, l, , raw]) => ({
      suite,
      measure: `legitimate sign-ins ${name} under attack: answered 303 / made`,
      value: `${okOf(raw)} / ${l.length}`,
      baseline: '-',
      ratio: '-',
      target: name.includes('untrusted') ? 'reported' : 'all',
      met: name.includes('untrusted') ? undefined : okOf(raw) === l.length,
    })),
    {
      suite,
      measure:
        'attack attempts refused by the budget (429, at once) / throttled (429) / locked (423) / hashed (401)',
      value: `${budgetRefused} / ${throttled} / ${locked} / ${checked}`,
      baseline: `${done.sent} sent (${perSecond(attackRate)}), ${done.skipped} not sent`,
      ratio: `${percent((budgetRefused + throttled) / Math.max(1, done.sent))} refused without hashing`,
      target: '',
      met: undefined,
    },
  ]);
} finally {
  await kluis.destroy();
}
