/**
 * Deployment as shipped (issue 15): two `kluis serve --no-worker` nodes in production mode on one
 * PostgreSQL database, behind Caddy with the repository's own Caddyfile terminating TLS with a
 * certificate made for this run, and the mail relay reached over TLS. Over HTTPS, through the
 * proxy: HSTS on every answer, a staff sign-in whose session cookie is `Secure`, a contact form
 * that lands in the database, the client's own address (not the proxy's, not a forged header) in
 * the access log, and service while one node is down. The systemd units are verified too.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConnectionOptions, connect } from 'node:tls';
import * as OTPAuth from 'otpauth';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailSink, type MailSink } from '../../src/modules/mail/mail-sink.js';
import { testPgUrl } from '../dialects.js';
import { makeCertificates, type TestCertificates } from './certs.js';
import { httpsClient, inputValue } from './https-client.js';
import { freePort, kluisCommand, type Started, startCaddy, startWebNode } from './processes.js';

const root = join(import.meta.dirname, '..', '..');
const SITE = 'kluis.test';
const OWNER = 'owner@ambrix.test';
const NEW_PASSWORD = 'Fjord-lantaarn-97-kwispel';

function totp(secret: string): string {
  return new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30 }).generate();
}

describe('two production nodes behind Caddy with TLS', () => {
  let dir: string;
  let certs: TestCertificates;
  let sink: MailSink;
  let database: string;
  let admin: pg.Client;
  let db: pg.Client;
  let proxyPort: number;
  let oneTimePassword: string;
  const nodes: Started[] = [];
  let caddy: Started | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kluis-deploy-'));
    certs = makeCertificates(dir, [SITE, '127.0.0.1']);
    sink = await createMailSink({ port: 0, tls: { key: certs.key, cert: certs.cert } });

    database = `kluis_deploy_${randomBytes(5).toString('hex')}`;
    admin = new pg.Client({ connectionString: testPgUrl });
    await admin.connect();
    await admin.query(`create database ${database}`);
    const url = new URL(testPgUrl);
    url.pathname = `/${database}`;

    proxyPort = await freePort();
    await kluisCommand(['init', '--dir', join(dir, 'data'), '--env-out', join(dir, 'kluis.env')], {
      PATH: process.env.PATH,
    });
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      KLUIS_CONFIG_FILE: join(dir, 'kluis.env'),
      KLUIS_DATABASE_URL: url.toString(),
      KLUIS_PUBLIC_ORIGIN: `https://${SITE}:${proxyPort}`,
      KLUIS_TRUST_PROXY: '127.0.0.1',
      KLUIS_SMTP_URL: `smtps://127.0.0.1:${sink.port}`,
      KLUIS_MAIL_FROM: 'Ambrix <kluis@ambrix.test>',
      // The relay's certificate is signed by this run's authority.
      NODE_EXTRA_CA_CERTS: certs.caFile,
      KLUIS_LOG_LEVEL: 'warn',
    };
    await kluisCommand(['migrate'], env);
    db = new pg.Client({ connectionString: url.toString() });
    await db.connect();
    // The operator organisation and its first owner, as an operator sets up an installation.
    const created = await kluisCommand(
      ['setup', '--name', 'Ambrix', '--slug', 'ambrix', '--owner-email', OWNER, '--owner-name', 'Owner'],
      env,
    );
    await registerRelay(db, sink.port);
    oneTimePassword = /One-time password: (\S+)/.exec(created)?.[1] ?? '';
    expect(oneTimePassword).not.toBe('');

    const ports = [await freePort(), await freePort()];
    for (const port of ports) nodes.push(await startWebNode(port, env));
    caddy = await startCaddy(
      join(root, 'deploy', 'caddy', 'Caddyfile'),
      {
        KLUIS_SITE: `${SITE}:${proxyPort}`,
        // The plain-HTTP redirect site (port 80 by default) on a free port: see http-redirect.test.ts.
        KLUIS_HTTP_SITE: `http://${SITE}:${await freePort()}`,
        KLUIS_UPSTREAMS: ports.map((p) => `127.0.0.1:${p}`).join(' '),
        KLUIS_TLS: `tls ${certs.certFile} ${certs.keyFile}`,
        XDG_DATA_HOME: join(dir, 'caddy-data'),
        XDG_CONFIG_HOME: join(dir, 'caddy-config'),
      },
      proxyPort,
    );
  }, 180_000);

  afterAll(async () => {
    await caddy?.stop();
    for (const node of nodes) await node.stop();
    await db?.end();
    if (admin !== undefined) {
      await admin.query(`drop database if exists ${database} with (force)`);
      await admin.end();
    }
    await sink?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  /** One TLS handshake with the proxy: what was agreed, or why it failed. */
  const handshake = (options: Pick<ConnectionOptions, 'minVersion' | 'maxVersion' | 'ciphers'>) =>
    new Promise<{ ok: boolean; protocol?: string | null; cipher?: string; error?: string }>((resolve) => {
      const socket = connect({
        host: '127.0.0.1',
        port: proxyPort,
        servername: SITE,
        ca: certs.ca,
        ...options,
      });
      socket.once('secureConnect', () => {
        resolve({ ok: true, protocol: socket.getProtocol(), cipher: socket.getCipher().name });
        socket.end();
      });
      socket.once('error', (error) => resolve({ ok: false, error: error.message }));
    });

  const client = (localAddress?: string) =>
    httpsClient({
      port: proxyPort,
      servername: SITE,
      ca: certs.ca,
      ...(localAddress ? { localAddress } : {}),
    });

  it('answers over HTTPS with HSTS, from either node', async () => {
    const c = client();
    for (let i = 0; i < 6; i++) {
      const res = await c.get('/');
      expect(res.status).toBe(200);
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d{7,}/);
      expect(res.body).toContain('Ambrix');
    }
  });

  it('speaks TLS 1.3 by preference, TLS 1.2 only with forward-secret AEAD suites, and refuses TLS 1.1 (ASVS 12.1.1, 12.1.2)', async () => {
    const preferred = await handshake({});
    expect(preferred).toMatchObject({ ok: true, protocol: 'TLSv1.3' });
    const tls12 = await handshake({ maxVersion: 'TLSv1.2' });
    expect(tls12.ok).toBe(true);
    expect(tls12.protocol).toBe('TLSv1.2');
    expect(tls12.cipher).toMatch(
      /^ECDHE-(ECDSA|RSA)-(AES128-GCM-SHA256|AES256-GCM-SHA384|CHACHA20-POLY1305)$/,
    );
    // A client offering only suites without forward secrecy or without AEAD gets no session.
    const weak = await handshake({
      maxVersion: 'TLSv1.2',
      ciphers: 'AES128-GCM-SHA256:AES256-SHA:AES128-SHA',
    });
    expect(weak.ok).toBe(false);
    expect(weak.error).toMatch(/handshake failure|alert/i);
    // TLS 1.1 and 1.0 are refused by the server (the client is lowered to allow them).
    const old = await handshake({
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    expect(old.ok).toBe(false);
    expect(old.error).toMatch(/protocol version/i);
  });

  it('signs staff in over HTTPS with Secure, HttpOnly session cookies (password change, then TOTP)', async () => {
    const c = client();
    const loginPage = await c.get('/login');
    const login = await c.postForm('/login', {
      _csrf: inputValue(loginPage.body, '_csrf') ?? '',
      email: OWNER,
      password: oneTimePassword,
    });
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/staff/account/password');
    const session = c.setCookies.filter((line) => /kluis_session=[^;]+/.test(line)).at(-1) ?? '';
    expect(session).toMatch(/;\s*Secure/i);
    expect(session).toMatch(/;\s*HttpOnly/i);
    expect(session).toMatch(/;\s*SameSite=(Strict|Lax)/i);
    for (const line of c.setCookies) expect(line, line.split('=')[0]).toMatch(/;\s*Secure/i);

    const passwordPage = await c.get('/staff/account/password');
    const changed = await c.postForm('/staff/account/password', {
      _csrf: inputValue(passwordPage.body, '_csrf') ?? '',
      newPassword: NEW_PASSWORD,
      confirmPassword: NEW_PASSWORD,
    });
    expect(changed.status).toBe(303);
    expect(changed.headers.location).toBe('/staff/account/totp');
    const totpPage = await c.get('/staff/account/totp');
    const secret = (/id="totp-secret"[^>]*>([^<]+)</.exec(totpPage.body)?.[1] ?? '').replace(/\s+/g, '');
    expect(secret).toMatch(/^[A-Z2-7]+=*$/);
    const enrolled = await c.postForm('/staff/account/totp', {
      _csrf: inputValue(totpPage.body, '_csrf') ?? '',
      code: totp(secret),
    });
    expect(enrolled.status).toBeLessThan(400);
    const dashboard = await c.get('/staff');
    expect(dashboard.status).toBe(200);
    expect(dashboard.headers['strict-transport-security']).toBeDefined();
  });

  it('takes a contact form through the proxy and stores it', async () => {
    const c = client();
    const form = await c.get('/contact');
    expect(form.status).toBe(200);
    // The form refuses what is sent faster than a person can type (a rule of the form, not a timing).
    await new Promise((r) => setTimeout(r, 3_100));
    const sent = await c.postForm('/contact', {
      _csrf: inputValue(form.body, '_csrf') ?? '',
      started: inputValue(form.body, 'started') ?? '',
      website: '',
      name: 'Ilse de Vries',
      email: 'ilse@example.test',
      phone: '',
      message: 'Graag een offerte voor het verwerken van onze facturen.',
    });
    expect(sent.status).toBe(303);
    expect(sent.headers.location).toBe('/contact/sent');
    const { rows } = await db.query<{ n: string }>('select count(*) as n from conversations');
    expect(Number(rows[0]?.n)).toBe(1);
  });

  it('logs the client’s own address, not the proxy’s nor a forged X-Forwarded-For', async () => {
    const c = client('127.0.0.2');
    await c.get('/?from=client-2');
    const forged = httpsClient({
      port: proxyPort,
      servername: SITE,
      ca: certs.ca,
      localAddress: '127.0.0.3',
    });
    await forged.get('/contact', { 'x-forwarded-for': '203.0.113.9', 'x-real-ip': '203.0.113.9' });
    let ips: string[] = [];
    for (let i = 0; i < 50 && !(ips.includes('127.0.0.2') && ips.includes('127.0.0.3')); i++) {
      await new Promise((r) => setTimeout(r, 200));
      ips = (await db.query<{ ip: string }>('select distinct ip from access_log')).rows.map((r) => r.ip);
    }
    expect(ips).toContain('127.0.0.2');
    expect(ips).toContain('127.0.0.3');
    expect(ips).not.toContain('203.0.113.9');
  });

  it('keeps answering while one node is down', async () => {
    const c = client();
    await nodes[0]?.stop();
    for (let i = 0; i < 6; i++) expect((await c.get('/')).status).toBe(200);
  });

  it('ships systemd units that systemd itself accepts', () => {
    if (!existsSync('/usr/bin/systemd-analyze'))
      throw new Error('systemd-analyze is missing: apt-get install systemd');
    const web = join(dir, 'kluis-web@3001.service');
    execFileSync('cp', [join(root, 'deploy', 'systemd', 'kluis-web@.service'), web]);
    const out = execFileSync(
      'systemd-analyze',
      ['verify', web, join(root, 'deploy', 'systemd', 'kluis-worker.service')],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    expect(out).toBe('');
  });
});

/**
 * P14: production serves only with an SMTP relay that an active sub-processor with an agreement
 * covers; the operator records it as `/staff/subprocessors` would (here in SQL, as the org).
 */
async function registerRelay(db: pg.Client, port: number): Promise<void> {
  const { rows } = await db.query<{ id: string }>(`select id from orgs where kind = 'operator'`);
  const orgId = rows[0]?.id ?? '';
  const now = new Date().toISOString();
  const subprocessorId = crypto.randomUUID();
  await db.query(
    `insert into subprocessors (id, org_id, name, service, location, country, data_categories, status, lifecycle, egress_hosts, created_at, updated_at)
     values ($1, $2, 'Mailrelay BV', 'outgoing mail', 'Amsterdam', 'NL', '["contact_details"]', 'active', 'active', $3, $4, $4)`,
    [subprocessorId, orgId, JSON.stringify([`127.0.0.1:${port}`]), now],
  );
  await db.query(
    `insert into processor_agreements (id, org_id, counterparty_kind, subprocessor_id, version, signed_on, created_at, updated_at)
     values ($1, $2, 'subprocessor', $3, '1.0', '2026-01-01', $4, $4)`,
    [crypto.randomUUID(), orgId, subprocessorId, now],
  );
}
