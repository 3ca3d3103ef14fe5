import { describe, expect, it } from 'vitest';
import { normaliseIp, truncateIp } from './access-log-ip.js';

describe('access-log IP addresses', () => {
  it('cuts IPv4 to its /24 network', () => {
    expect(truncateIp('1.2.3.4')).toBe('1.2.3.0');
    expect(truncateIp('192.168.200.255')).toBe('192.168.200.0');
  });

  it('treats IPv4-mapped IPv6 as IPv4', () => {
    expect(normaliseIp('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(truncateIp('::ffff:203.0.113.7')).toBe('203.0.113.0');
  });

  it('cuts IPv6 to its /48 network, whatever the notation', () => {
    expect(truncateIp('2001:db8:abcd:12:3456:789a:bcde:f012')).toBe('2001:db8:abcd::');
    expect(truncateIp('2001:DB8:ABCD::1')).toBe('2001:db8:abcd::');
    expect(truncateIp('2001:db8::1')).toBe('2001:db8:0::');
    expect(truncateIp('::1')).toBe('0:0:0::');
    expect(truncateIp('fe80::1%eth0')).toBe('fe80:0:0::');
    expect(truncateIp('64:ff9b:1::192.0.2.33')).toBe('64:ff9b:1::');
  });

  it('keeps nothing that is not an address', () => {
    expect(normaliseIp(undefined)).toBeNull();
    expect(normaliseIp('not-an-ip')).toBeNull();
    expect(truncateIp('999.1.1.1')).toBeNull();
    expect(truncateIp(null)).toBeNull();
  });
});
