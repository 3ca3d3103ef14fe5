/**
 * The dependency audit CI runs (docs/security.md, Dependencies): `npm audit --omit=dev --json`,
 * read as data rather than by its exit code and log lines. Exit 1 on a high or critical advisory
 * in a runtime dependency, or on output that is not an audit report at all; exit 0 with a loud
 * warning when the registry's audit endpoint did not answer (an unreachable service is not a
 * finding, and the log level npm runs under must not decide the outcome).
 *
 *   npx tsx scripts/audit-deps.ts
 */
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

export type Severity = 'info' | 'low' | 'moderate' | 'high' | 'critical';

export interface Finding {
  name: string;
  severity: Severity;
  range: string;
  fixAvailable: boolean;
}

export type AuditVerdict =
  | { kind: 'clean'; below: number }
  | { kind: 'findings'; findings: Finding[] }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'unreadable'; output: string };

const BLOCKING: ReadonlySet<string> = new Set(['high', 'critical']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function findingOf(name: string, entry: unknown): Finding | null {
  if (!isRecord(entry) || typeof entry.severity !== 'string') return null;
  return {
    name,
    severity: entry.severity as Severity,
    range: typeof entry.range === 'string' ? entry.range : '',
    fixAvailable: entry.fixAvailable !== false && entry.fixAvailable !== undefined,
  };
}

/** What the JSON `npm audit --json` printed says: a report, an endpoint error, or neither. */
export function auditVerdict(output: string): AuditVerdict {
  let parsed: unknown;
  try {
    parsed = JSON.parse(output);
  } catch {
    return { kind: 'unreadable', output: output.slice(0, 2000) };
  }
  if (!isRecord(parsed)) return { kind: 'unreadable', output: output.slice(0, 2000) };
  if (isRecord(parsed.vulnerabilities) && isRecord(parsed.metadata)) {
    const all = Object.entries(parsed.vulnerabilities)
      .map(([name, entry]) => findingOf(name, entry))
      .filter((f): f is Finding => f !== null);
    const blocking = all.filter((f) => BLOCKING.has(f.severity));
    return blocking.length > 0
      ? { kind: 'findings', findings: blocking }
      : { kind: 'clean', below: all.length };
  }
  const error = isRecord(parsed.error) ? parsed.error : null;
  if (error || typeof parsed.statusCode === 'number') {
    const parts = [parsed.message, error?.summary, error?.code].filter(
      (p) => typeof p === 'string' && p !== '',
    );
    return { kind: 'unavailable', reason: parts.join(' — ') || 'the audit endpoint returned an error' };
  }
  return { kind: 'unreadable', output: output.slice(0, 2000) };
}

function main(): number {
  const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], {
    encoding: 'utf8',
    env: { ...process.env, npm_config_loglevel: 'error' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const verdict = auditVerdict(run.stdout ?? '');
  switch (verdict.kind) {
    case 'clean':
      console.log(
        `dependency audit: no high or critical advisory in a runtime dependency (${verdict.below} below high)`,
      );
      return 0;
    case 'findings':
      console.error('dependency audit: high or critical advisories in runtime dependencies:');
      for (const f of verdict.findings) {
        console.error(
          `  ${f.severity.padEnd(8)} ${f.name} ${f.range}${f.fixAvailable ? ' (fix available)' : ''}`,
        );
      }
      return 1;
    case 'unavailable':
      console.warn(
        `WARNING: dependency audit not run: the registry's audit endpoint did not answer (${verdict.reason})`,
      );
      return 0;
    case 'unreadable':
      console.error(
        `dependency audit: npm audit printed no report (exit ${run.status}):\n${verdict.output}\n${run.stderr ?? ''}`,
      );
      return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = main();
