/**
 * Cookie names (ASVS 3.3.1): when cookies are Secure (production, HTTPS) every Kluis cookie
 * carries the `__Host-` prefix, so a browser accepts it only over HTTPS, with `Path=/` and no
 * `Domain` — a neighbouring subdomain can neither set nor overwrite it. In development over plain
 * HTTP browsers refuse prefixed cookies, so the bare name is used there.
 */
export type CookieBase = 'kluis_session' | 'kluis_csrf' | 'kluis_lang' | 'kluis_device';

export function cookieName(base: CookieBase, secure: boolean): string {
  return secure ? `__Host-${base}` : base;
}
