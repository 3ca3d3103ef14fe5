/**
 * A cluster on PostgreSQL (issue 15): two `kluis serve --no-worker` nodes and one `kluis worker`
 * on one database, behind HAProxy (Debian's, on loopback). A burst of contact-form posts and
 * rights requests over both nodes; one node is killed with SIGKILL in the middle of it. Then:
 * every write a client got an acknowledgement (303) for is in the database, the audit chain
 * verifies (`kluis audit verify`), and every job ran exactly once (done after one attempt, one
 * mail per mail job at the relay).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailSink, type MailSink } from '../../src/modules/mail/mail-sink.js';
import { testPgUrl } from '../dialects.js';
import { inputValue } from './https-client.js';
import { freePort, kluisCommand, type Started, startProcess, startWebNode } from './processes.js';

interface Answer {
  readonly status: number;
  readonly location: string | undefined;
  readonly body: string;
}

/** A plain-HTTP browser with its own cookies (one per simulated visitor). */
function visitor(port: number) {
  const jar = new Map<string, string>();
  function send(method: string, path: string, form?: Record<string, string>): Promise<Answer> {
    const body = form === undefined ? undefined : new URLSearchParams(form).toString();
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { accept: 'text/html', host: `127.0.0.1:${port}` };
      if (jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      if (body !== undefined) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        headers['content-length'] = String(Buffer.byteLength(body));
        headers.origin = `http://127.0.0.1:${port}`;
      }
      const req = request({ host: '127.0.0.1', port, method, path, headers, timeout: 20_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          for (const line of [res.headers['set-cookie'] ?? []].flat()) {
            const [pair = ''] = line.split(';');
            const eq = pair.indexOf('=');
            jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
          }
          const location = res.headers.location;
          resolve({
            status: res.statusCode ?? 0,
            location: typeof location === 'string' ? location : undefined,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('timeout')));
      if (body !== undefined) req.write(body);
      req.end();
    });
  }
  return {
    get: (path: string) => send('GET', path),
    post: (path: string, f: Record<string, string>) => send('POST', path, f),
  };
}

const VISITORS = 24;

describe('two nodes and a worker on PostgreSQL behind HAProxy', () => {
  let dir: string;
  let sink: MailSink;
  let database: string;
  let admin: pg.Client;
  let db: pg.Client;
  let env: NodeJS.ProcessEnv;
  let lbPort: number;
  const nodes: Started[] = [];
  let worker: Started | undefined;
  let haproxy: Started | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kluis-cluster-'));
    sink = await createMailSink({ port: 0, maxMessages: 1000 });
    database = `kluis_cluster_${randomBytes(5).toString('hex')}`;
    admin = new pg.Client({ connectionString: testPgUrl });
    await admin.connect();
    await admin.query(`create database ${database}`);
    const url = new URL(testPgUrl);
    url.pathname = `/${database}`;
    lbPort = await freePort();
    env = {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      KLUIS_DATA_DIR: join(dir, 'data'),
      KLUIS_MASTER_KEY: randomBytes(32).toString('base64'),
      KLUIS_DATABASE_URL: url.toString(),
      KLUIS_PUBLIC_ORIGIN: `http://127.0.0.1:${lbPort}`,
      KLUIS_TRUST_PROXY: '127.0.0.1',
      KLUIS_SMTP_URL: sink.url,
      KLUIS_REQUIRE_TOTP_OPERATOR: 'false',
      KLUIS_RATE_LIMIT_PER_MINUTE: '100000',
      KLUIS_CONTACT_RATE_LIMIT_PER_HOUR: '100000',
      KLUIS_LOG_LEVEL: 'warn',
    };
    await kluisCommand(['migrate'], env);
    // The operator organisation, as an operator sets up an installation.
    await kluisCommand(
      [
        'setup',
        '--name',
        'Ambrix',
        '--slug',
        'ambrix',
        '--owner-email',
        'owner@ambrix.test',
        '--owner-name',
        'Owner',
      ],
      env,
    );
    db = new pg.Client({ connectionString: url.toString() });
    await db.connect();
    const ports = [await freePort(), await freePort()];
    for (const port of ports) nodes.push(await startWebNode(port, env));
    worker = startProcess(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'worker'], env);
    const config = join(dir, 'haproxy.cfg');
    writeFileSync(
      config,
      [
        'global',
        '  maxconn 256',
        'defaults',
        '  mode http',
        '  timeout connect 2s',
        '  timeout client 30s',
        '  timeout server 30s',
        '  option forwardfor',
        // Only a request the dead node never got is tried again elsewhere (L4 connect failure).
        '  retries 2',
        '  option redispatch',
        'frontend web',
        `  bind 127.0.0.1:${lbPort}`,
        '  default_backend kluis',
        'backend kluis',
        '  balance roundrobin',
        '  option httpchk GET /healthz',
        ...ports.map((p, i) => `  server node${i} 127.0.0.1:${p} check inter 500 fall 1 rise 2`),
        '',
      ].join('\n'),
    );
    haproxy = startProcess('haproxy', ['-db', '-f', config], process.env);
    for (let i = 0; i < 50; i++) {
      const up = await visitor(lbPort)
        .get('/healthz')
        .then((a) => a.status === 200)
        .catch(() => false);
      if (up) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 180_000);

  afterAll(async () => {
    await haproxy?.stop();
    await worker?.stop();
    for (const node of nodes) await node.stop();
    await db?.end();
    if (admin !== undefined) {
      await admin.query(`drop database if exists ${database} with (force)`);
      await admin.end();
    }
    await sink?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('keeps every acknowledged write, one audit chain and each job once when a node is killed mid-burst', async () => {
    const visitors = Array.from({ length: VISITORS }, () => visitor(lbPort));
    // Every visitor opens its form first (the form refuses what is sent faster than a person types).
    const forms = await Promise.all(
      visitors.map((v, i) => v.get(i % 2 === 0 ? '/contact' : '/rights').then((page) => ({ v, i, page }))),
    );
    for (const { page } of forms) expect(page.status).toBe(200);
    await new Promise((r) => setTimeout(r, 3_100));

    const acknowledged = { contact: 0, rights: 0 };
    let failed = 0;
    const refusals: string[] = [];
    const burst = forms.map(async ({ v, i, page }, n) => {
      await new Promise((r) => setTimeout(r, n * 15));
      const csrf = inputValue(page.body, '_csrf') ?? '';
      const answer =
        i % 2 === 0
          ? await v.post('/contact', {
              _csrf: csrf,
              started: inputValue(page.body, 'started') ?? '',
              website: '',
              name: `Bezoeker ${i}`,
              email: `bezoeker-${i}@example.test`,
              phone: '',
              message: `Bericht ${i}: graag een offerte.`,
            })
          : await v.post('/rights', { _csrf: csrf, right: 'access', email: `verzoeker-${i}@example.test` });
      if (answer.status === 303) acknowledged[i % 2 === 0 ? 'contact' : 'rights']++;
      else {
        failed++;
        refusals.push(`${i % 2 === 0 ? 'contact' : 'rights'} ${answer.status} ${answer.body.slice(0, 300)}`);
      }
    });
    // Mid-burst, one node dies without a chance to finish anything.
    const kill = new Promise<void>((resolve) =>
      setTimeout(() => {
        nodes[0]?.child.kill('SIGKILL');
        resolve();
      }, VISITORS * 7),
    );
    const settled = await Promise.allSettled([...burst, kill]);
    for (const r of settled) {
      // A request in flight on the killed node: the connection drops, nothing is acknowledged.
      if (r.status === 'rejected') failed++;
    }
    // The surviving node answered its share; a refusal other than a dropped connection is a bug.
    expect(refusals).toEqual([]);
    expect(acknowledged.contact, 'contact posts acknowledged').toBeGreaterThan(0);
    expect(acknowledged.rights, 'rights requests acknowledged').toBeGreaterThan(0);

    const count = async (table: string) =>
      Number((await db.query<{ n: string }>(`select count(*) as n from ${table}`)).rows[0]?.n);
    expect(await count('conversations')).toBeGreaterThanOrEqual(acknowledged.contact);
    expect(await count('rights_requests')).toBeGreaterThanOrEqual(acknowledged.rights);
    // Nothing appears that no client sent: at most the unanswered ones besides.
    expect(await count('conversations')).toBeLessThanOrEqual(acknowledged.contact + failed);

    // The worker sends each mail once: every job done after one attempt, one message per mail job.
    let pending = 1;
    for (let i = 0; i < 150 && pending > 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      pending = Number(
        (
          await db.query<{ n: string }>(
            `select count(*) as n from jobs where status in ('queued', 'running')`,
          )
        ).rows[0]?.n,
      );
    }
    expect(pending).toBe(0);
    const jobs = await db.query<{ type: string; status: string; attempts: number }>(
      'select type, status, attempts from jobs',
    );
    expect(jobs.rows.filter((j) => j.status !== 'done' || j.attempts !== 1)).toEqual([]);
    const mailJobs = jobs.rows.filter((j) => j.type.startsWith('mail')).length;
    expect(mailJobs).toBeGreaterThanOrEqual(acknowledged.rights);
    expect(sink.messages()).toHaveLength(mailJobs);

    const verified = await kluisCommand(['audit', 'verify'], env);
    expect(verified).toMatch(/OK|intact|verified/i);
  }, 120_000);
});
