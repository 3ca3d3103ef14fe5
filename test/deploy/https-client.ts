/**
 * A small HTTPS client for deployment tests: trusts the test authority only, keeps cookies like
 * a browser (per name; `Secure` ones only over HTTPS, which is all this client speaks), can
 * connect from a chosen loopback address, and follows nothing by itself.
 */
import { request } from 'node:https';

export interface Response {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export interface HttpsClient {
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  postForm(path: string, fields: Record<string, string>): Promise<Response>;
  /** Raw `Set-Cookie` headers seen so far, newest last (to inspect attributes). */
  readonly setCookies: string[];
  cookie(name: string): string | undefined;
}

export function httpsClient(o: {
  readonly port: number;
  readonly servername: string;
  readonly ca: Buffer;
  readonly localAddress?: string;
}): HttpsClient {
  const jar = new Map<string, string>();
  const setCookies: string[] = [];
  const origin = `https://${o.servername}:${o.port}`;

  function send(
    method: string,
    path: string,
    body?: string,
    extra: Record<string, string> = {},
  ): Promise<Response> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {
        host: `${o.servername}:${o.port}`,
        accept: 'text/html',
        ...extra,
      };
      if (jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      if (body !== undefined) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        headers['content-length'] = String(Buffer.byteLength(body));
        headers.origin = origin;
      }
      const req = request(
        {
          host: '127.0.0.1',
          port: o.port,
          method,
          path,
          headers,
          ca: o.ca,
          servername: o.servername,
          ...(o.localAddress === undefined ? {} : { localAddress: o.localAddress }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            for (const line of [res.headers['set-cookie'] ?? []].flat()) {
              setCookies.push(line);
              const [pair = ''] = line.split(';');
              const eq = pair.indexOf('=');
              const name = pair.slice(0, eq).trim();
              const value = pair.slice(eq + 1).trim();
              if (/max-age=0|expires=thu, 01 jan 1970/i.test(line) || value === '') jar.delete(name);
              else jar.set(name, value);
            }
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            });
          });
        },
      );
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  return {
    get: (path, headers) => send('GET', path, undefined, headers),
    postForm: (path, fields) => send('POST', path, new URLSearchParams(fields).toString()),
    setCookies,
    cookie: (name) => jar.get(name),
  };
}

/** The value of a hidden or text input in a page (`name="x" value="…"`). */
export function inputValue(html: string, name: string): string | undefined {
  const match = new RegExp(`name="${name}"[^>]*value="([^"]*)"`).exec(html);
  return match?.[1];
}
