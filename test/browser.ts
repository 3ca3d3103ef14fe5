/**
 * A minimal browser over `app.inject`: keeps cookies, remembers the last CSRF token of a page,
 * posts urlencoded forms (repeated fields as arrays), comes from its own address.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { SESSION_COOKIE } from '../src/modules/auth/auth-sessions.js';
import { cookieHeader, setCookies } from './factories.js';

let ipCounter = 0;

/** A fresh documentation-range address per call, so per-IP limits do not mix tests. */
export function freshIp(): string {
  ipCounter++;
  return `198.18.${Math.floor(ipCounter / 250) % 250}.${(ipCounter % 250) + 1}`;
}

export type FormFields = Record<string, string | readonly string[]>;

export function formBody(fields: FormFields): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) {
    for (const value of typeof v === 'string' ? [v] : v) params.append(k, value);
  }
  return params.toString();
}

export class Browser {
  readonly cookies = new Map<string, string>();
  csrf = '';
  constructor(
    private readonly app: FastifyInstance,
    readonly ip = freshIp(),
  ) {}

  private keep(res: LightMyRequestResponse): LightMyRequestResponse {
    for (const [k, v] of setCookies(res)) this.cookies.set(k, v);
    const token = /name="_csrf" value="([^"]+)"/.exec(res.body)?.[1];
    if (token !== undefined) this.csrf = token;
    return res;
  }

  async get(url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    return this.keep(
      await this.app.inject({
        method: 'GET',
        url,
        remoteAddress: this.ip,
        headers: { cookie: cookieHeader(this.cookies), accept: 'text/html', ...headers },
      }),
    );
  }

  /**
   * Posts a form with the remembered CSRF token (fetching /login first when there is none);
   * `{ csrf: false }` posts the fields as they are, to attack the CSRF check.
   */
  async post(
    url: string,
    fields: FormFields = {},
    options: { csrf?: boolean } = {},
  ): Promise<LightMyRequestResponse> {
    const csrf = options.csrf !== false;
    if (csrf && this.csrf === '') await this.get('/login');
    return this.keep(
      await this.app.inject({
        method: 'POST',
        url,
        remoteAddress: this.ip,
        headers: {
          cookie: cookieHeader(this.cookies),
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'text/html',
        },
        payload: formBody(csrf ? { _csrf: this.csrf, ...fields } : fields),
      }),
    );
  }

  /** Signs in with email and password (and a TOTP code when `totp` is given). */
  async login(email: string, password: string, totp?: () => string): Promise<LightMyRequestResponse> {
    await this.get('/login');
    const res = await this.post('/login', { email, password });
    if (totp !== undefined && res.headers.location?.startsWith('/login/totp')) {
      return this.post('/login/totp', { code: totp() });
    }
    return res;
  }

  get session(): string | undefined {
    const v = this.cookies.get(SESSION_COOKIE);
    return v === '' ? undefined : v;
  }
}
