/**
 * Plain HTTP in front of Kluis (ASVS 4.1.2), with the repository's own Caddyfile: a page a person
 * opens in a browser is redirected to HTTPS, while the API and every unsafe request are refused,
 * never redirected (a client that sent a key or a form over plain HTTP must notice, not have it
 * repeated over HTTPS). Nothing here reaches Kluis: the upstream is a port nobody listens on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCertificates } from './certs.js';
import { freePort, type Started, startCaddy } from './processes.js';

const root = join(import.meta.dirname, '..', '..');
const SITE = 'kluis.test';

interface Answer {
  readonly status: number;
  readonly location: string | undefined;
}

describe('plain HTTP through the shipped Caddyfile', () => {
  let dir: string;
  let httpPort: number;
  let caddy: Started | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kluis-http-'));
    const certs = makeCertificates(dir, [SITE, '127.0.0.1']);
    httpPort = await freePort();
    const httpsPort = await freePort();
    caddy = await startCaddy(
      join(root, 'deploy', 'caddy', 'Caddyfile'),
      {
        KLUIS_SITE: `${SITE}:${httpsPort}`,
        KLUIS_HTTP_SITE: `http://${SITE}:${httpPort}`,
        KLUIS_UPSTREAMS: `127.0.0.1:${await freePort()}`,
        KLUIS_TLS: `tls ${certs.certFile} ${certs.keyFile}`,
        XDG_DATA_HOME: join(dir, 'caddy-data'),
        XDG_CONFIG_HOME: join(dir, 'caddy-config'),
      },
      httpPort,
    );
  }, 60_000);
  afterAll(async () => {
    await caddy?.stop('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  const send = (method: string, path: string, body?: string) =>
    new Promise<Answer>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: httpPort,
          method,
          path,
          headers: {
            host: `${SITE}:${httpPort}`,
            ...(body === undefined
              ? {}
              : {
                  'content-type': 'application/x-www-form-urlencoded',
                  'content-length': Buffer.byteLength(body),
                }),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  it('redirects a page opened in a browser to the same page over HTTPS', async () => {
    expect(await send('GET', '/login?next=%2Fstaff')).toEqual({
      status: 308,
      location: `https://${SITE}/login?next=%2Fstaff`,
    });
    expect(await send('GET', '/')).toEqual({ status: 308, location: `https://${SITE}/` });
    expect((await send('HEAD', '/privacy')).status).toBe(308);
  });

  it('refuses the API and unsafe requests over plain HTTP without redirecting them', async () => {
    for (const [method, path, body] of [
      ['GET', '/api/v1/whoami', undefined],
      ['POST', '/api/v1/contact-requests', 'name=x'],
      ['POST', '/login', 'email=a%40b.c&password=secret'],
      ['DELETE', '/staff/x', undefined],
    ] as const) {
      expect(await send(method, path, body), `${method} ${path}`).toEqual({
        status: 403,
        location: undefined,
      });
    }
  });
});
