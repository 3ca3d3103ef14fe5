import { describe, expect, it } from 'vitest';
import { computeSecurityHeaders } from './security-headers.js';

describe('security headers', () => {
  it('forbid inline script, framing and sniffing, and add HSTS only behind HTTPS', () => {
    const plain = computeSecurityHeaders({ https: false });
    const https = computeSecurityHeaders({ https: true });
    expect(plain['content-security-policy']).toContain("script-src 'self'");
    expect(plain['content-security-policy']).not.toContain('unsafe');
    expect(plain['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(plain['x-content-type-options']).toBe('nosniff');
    expect(plain['x-frame-options']).toBe('SAMEORIGIN');
    expect(plain['strict-transport-security']).toBeUndefined();
    expect(https['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(https['content-security-policy']).toContain('upgrade-insecure-requests');
  });
});
