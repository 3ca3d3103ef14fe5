/**
 * IP addresses in the access log (P12): stored as received (IPv4-mapped IPv6 shown as IPv4),
 * then cut to their network after the truncation period: IPv4 to /24 (`192.0.2.0`), IPv6 to /48
 * (`2001:db8:abcd::`). Enough to see an attack from a network, no longer one household.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The address as the access log stores it; null when there is no usable address. */
export function normaliseIp(ip: string | undefined | null): string | null {
  if (ip === undefined || ip === null) return null;
  const value = ip.trim();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(value);
  if (mapped?.[1] !== undefined && isIPv4(mapped[1])) return mapped[1];
  if (isIPv4(value) || isIPv6(withoutZone(value))) return value.slice(0, 64);
  return null;
}

/** The /24 (IPv4) or /48 (IPv6) network of an address; null when it is not an address. */
export function truncateIp(ip: string | null): string | null {
  const value = normaliseIp(ip);
  if (value === null) return null;
  if (isIPv4(value)) {
    const [a, b, c] = value.split('.');
    return `${a}.${b}.${c}.0`;
  }
  const hextets = expandIpv6(withoutZone(value));
  if (hextets === undefined) return null;
  return `${hextets
    .slice(0, 3)
    .map((h) => h.toString(16))
    .join(':')}::`;
}

function withoutZone(value: string): string {
  const zone = value.indexOf('%');
  return zone === -1 ? value : value.slice(0, zone);
}

/** The eight 16-bit groups of an IPv6 address (with `::` and a dotted IPv4 tail expanded). */
function expandIpv6(value: string): number[] | undefined {
  if (!isIPv6(value)) return undefined;
  let text = value.toLowerCase();
  const dotted = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (dotted?.[1] !== undefined) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? 0 : 8 - headParts.length - tailParts.length;
  const groups = [...headParts, ...Array.from({ length: zeros }, () => '0'), ...tailParts];
  if (groups.length !== 8) return undefined;
  return groups.map((g) => Number.parseInt(g, 16));
}
