import { describe, expect, it } from 'vitest';
import { auditVerdict } from '../../scripts/audit-deps.js';

// The shapes npm 11 prints for `npm audit --json`: a report (auditReportVersion 2) and the error
// object it prints when the registry refuses the bulk advisory endpoint (this CI's mirror: 405).
const report = (vulnerabilities: Record<string, unknown>) =>
  JSON.stringify({
    auditReportVersion: 2,
    vulnerabilities,
    metadata: { vulnerabilities: {}, dependencies: {} },
  });

describe('dependency audit verdict (scripts/audit-deps.ts)', () => {
  it('fails on a high or critical advisory and names the package', () => {
    const verdict = auditVerdict(
      report({
        fastify: { name: 'fastify', severity: 'high', range: '<5.3.2', fixAvailable: true },
        cookie: { name: 'cookie', severity: 'critical', range: '<0.7.0', fixAvailable: false },
        ms: { name: 'ms', severity: 'moderate', range: '<2.0.0', fixAvailable: true },
      }),
    );
    expect(verdict.kind).toBe('findings');
    if (verdict.kind !== 'findings') return;
    expect(verdict.findings.map((f) => `${f.name}:${f.severity}:${f.fixAvailable}`).sort()).toEqual([
      'cookie:critical:false',
      'fastify:high:true',
    ]);
  });

  it('passes a report with only advisories below high, counting them', () => {
    expect(auditVerdict(report({ ms: { name: 'ms', severity: 'moderate', range: '<2' } }))).toEqual({
      kind: 'clean',
      below: 1,
    });
    expect(auditVerdict(report({}))).toEqual({ kind: 'clean', below: 0 });
  });

  it('tells an unreachable audit endpoint apart from a finding', () => {
    const refused = JSON.stringify({
      message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
      statusCode: 405,
      body: '',
      error: { summary: '', detail: '' },
    });
    const verdict = auditVerdict(refused);
    expect(verdict.kind).toBe('unavailable');
    if (verdict.kind === 'unavailable') expect(verdict.reason).toContain('405');
    expect(
      auditVerdict(JSON.stringify({ error: { code: 'ENOTFOUND', summary: 'getaddrinfo ENOTFOUND' } })).kind,
    ).toBe('unavailable');
  });

  it('fails on output that is no audit report at all (an empty log, a crash)', () => {
    expect(auditVerdict('').kind).toBe('unreadable');
    expect(auditVerdict('npm error something broke').kind).toBe('unreadable');
    expect(auditVerdict('[1,2]').kind).toBe('unreadable');
    expect(auditVerdict('{"ok":true}').kind).toBe('unreadable');
  });
});
