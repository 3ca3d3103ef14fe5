/**
 * The security documentation checked against the code, so it cannot drift (ASVS 11.1.1, 11.1.2,
 * 13.1.1, 13.4.5, 15.1.1–15.1.3, 16.1.1, 16.2.3): each section of `docs/security.md` named below
 * must name every algorithm, key, connection, log store, limit and public route the code has.
 * Adding one to the code without documenting it fails here.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { registerCommands } from '../src/cli/commands.js';
import { LOGIN_PASSWORD_MAX_LENGTH, owaspArgon2id } from '../src/modules/auth/auth-passwords.js';
import { MAX_DOCUMENT_BYTES } from '../src/modules/register/index.js';
import { MAX_AGREEMENT_PDF_BYTES } from '../src/modules/relations/relations-agreements.js';
import { DEFAULT_BATCH_SIZE } from '../src/modules/retention/retention-sweep.js';
import { ACCESS_LOG_MAX_PAGE, ACCESS_LOG_PAGE_SIZE } from '../src/modules/security/access-log-service.js';
import { FULL_VERIFY_LIMIT, TRAIL_WINDOW_LIMIT } from '../src/modules/security/security-service.js';
import type { CliIo } from '../src/shared/cli.js';
import { createLogger } from '../src/shared/logger.js';
import { createTestKluis, type TestKluis } from './dialects.js';

const root = join(import.meta.dirname, '..');
const doc = readFileSync(join(root, 'docs', 'security.md'), 'utf8');

/** The text of one `## ` section of docs/security.md, up to the next. */
function section(title: string): string {
  const start = doc.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`docs/security.md has no section "## ${title}"`);
  const next = doc.indexOf('\n## ', start + 4);
  return doc.slice(start, next < 0 ? undefined : next);
}

/** Every non-test TypeScript file under src/, with its path relative to the repository. */
function sourceFiles(): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        out.push({ path: relative(root, full), text: readFileSync(full, 'utf8') });
      }
    }
  };
  walk(join(root, 'src'));
  return out;
}

const sources = sourceFiles();
const envSource = readFileSync(join(root, 'src', 'config', 'env.ts'), 'utf8');
const settings = [...new Set([...envSource.matchAll(/^\s+(KLUIS_[A-Z0-9_]+):/gm)].map((m) => m[1] ?? ''))];

function hashName(name: string): string {
  const m = /^sha-?(\d+)$/i.exec(name);
  return m ? `SHA-${m[1] === '1' ? '1' : m[1]}` : name.toUpperCase();
}

/** The algorithms the source uses, named as the inventory names them. */
function algorithmsInSource(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const add = (name: string, path: string) => found.set(name, [...(found.get(name) ?? []), path]);
  for (const { path, text } of sources) {
    for (const m of text.matchAll(/create(?:Cipher|Decipher)iv\(\s*'([^']+)'/g))
      add((m[1] ?? '').toUpperCase(), path);
    for (const m of text.matchAll(/createHash\(\s*'([^']+)'/g)) add(hashName(m[1] ?? ''), path);
    for (const m of text.matchAll(/createHmac\(\s*'([^']+)'/g)) add(`HMAC-${hashName(m[1] ?? '')}`, path);
    for (const m of text.matchAll(/hkdf(?:Sync)?\(\s*'([^']+)'/g)) add(`HKDF-${hashName(m[1] ?? '')}`, path);
    for (const m of text.matchAll(/pbkdf2|scrypt(?:Sync)?\(/g)) add(m[0], path);
    if (/\b(?:sign|verify)\(null,/.test(text)) add('Ed25519', path);
    if (/argon2\.argon2id/.test(text)) add('argon2id', path);
    if (/from 'otpauth'/.test(text)) {
      const alg = /algorithm:\s*'([^']+)'/.exec(text)?.[1] ?? 'SHA1';
      add(`HMAC-${hashName(alg)}`, path);
    }
    if (/cipher=\$\{quoteSqliteString\('sqlcipher'\)\}/.test(text)) add('SQLCipher', path);
  }
  return found;
}

/** The literal labels (salt and info) of every HKDF call. */
function hkdfLabels(): string[] {
  const labels: string[] = [];
  for (const { text } of sources) {
    for (const call of text.matchAll(/hkdfSync\(\s*'[^']+',([^;]*?),\s*\d+\s*\)/gs)) {
      for (const lit of (call[1] ?? '').matchAll(/'([^']+)'/g)) labels.push(lit[1] ?? '');
    }
  }
  return labels;
}

describe('the cryptographic inventory and key management (ASVS 11.1.1, 11.1.2)', () => {
  const inventory = section('Cryptographic inventory (ASVS 11.1.2)');
  const keys = section('Key management (ASVS 11.1.1)');

  it('names every algorithm the source uses, and the source uses no password KDF or weak hash', () => {
    const found = algorithmsInSource();
    // The scan must find the known ones, or it proves nothing.
    for (const known of ['AES-256-GCM', 'SHA-256', 'HMAC-SHA-256', 'HKDF-SHA-256', 'Ed25519', 'argon2id']) {
      expect([...found.keys()], known).toContain(known);
    }
    for (const [name, where] of found) {
      expect(inventory, `${name} (used in ${where.join(', ')}) is not in the inventory`).toContain(name);
    }
    for (const weak of ['MD5', 'SHA-1', 'HMAC-MD5', 'pbkdf2', 'scrypt', 'DES-CBC', 'AES-128-CBC']) {
      expect(found.has(weak), `${weak} used in ${found.get(weak)?.join(', ')}`).toBe(false);
    }
  });

  it('names every HKDF label, so no derived key goes undocumented', () => {
    const labels = hkdfLabels();
    expect(labels.length).toBeGreaterThanOrEqual(4);
    for (const label of labels) expect(inventory, label).toContain(`\`${label}\``);
  });

  it('names every secret setting, and each has a lifecycle row', () => {
    const secrets = settings.filter((s) => /_KEY(?:_|$)/.test(s)).map((s) => s.replace(/_FILE$/, ''));
    expect(secrets).toContain('KLUIS_MASTER_KEY');
    for (const s of new Set(secrets)) expect(inventory, s).toContain(s);
    expect(keys).toContain('NIST SP 800-57');
    for (const key of [
      'master key',
      'org key',
      'subject key',
      'database key',
      'audit signing key',
      'TLS keys',
    ]) {
      expect(keys, key).toMatch(new RegExp(`^\\| ${key} \\|`, 'm'));
    }
  });

  it('names only commands the CLI has', () => {
    const program = new Command();
    const sink = new Writable({ write: (_c, _e, done) => done() });
    registerCommands(program, { out: sink, err: sink } as unknown as CliIo);
    const known = new Set<string>();
    const walk = (cmd: Command, prefix: string) => {
      for (const sub of cmd.commands) {
        const name = `${prefix}${sub.name()}`;
        known.add(name);
        walk(sub, `${name} `);
      }
    };
    walk(program, '');
    const named = [...`${inventory}${keys}`.matchAll(/`kluis ([a-z][a-z -]*[a-z])/g)].map((m) =>
      (m[1] ?? '').replace(/ --.*$/, ''),
    );
    expect(named.length).toBeGreaterThan(3);
    for (const command of named) expect(known, `kluis ${command}`).toContain(command);
  });
});

describe('the communication needs (ASVS 13.1.1)', () => {
  const comms = section('Communication needs (ASVS 13.1.1, 13.2.4, 13.2.5)');

  it('names every file that listens or connects to another system', () => {
    const network =
      /\.listen\(|createTransport\(|new Redis\(|new pg\.(?:Pool|Client)\(|\bfetch\(|https?\.request\(|(?:net|tls)\.connect\(/;
    const files = sources.filter((f) => network.test(f.text)).map((f) => f.path);
    expect(files).toContain('src/modules/mail/mailer.ts');
    for (const file of files) expect(comms, file).toContain(`\`${file}\``);
  });

  it('names every setting that points at another system or a listener', () => {
    const peers = settings.filter((s) => /_URL$|_HOST$|_PORT$/.test(s));
    expect(peers).toContain('KLUIS_SMTP_URL');
    for (const s of peers) expect(comms, s).toContain(s);
  });
});

describe('the logging inventory (ASVS 16.1.1, 16.2.3) and UTC timestamps', () => {
  const logging = section('Logging inventory (ASVS 16.1.1, 16.2.3)');
  let kluis: TestKluis;
  beforeAll(async () => {
    kluis = await createTestKluis();
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  it('creates the application logger in one place, writing to standard output only', () => {
    const pinoCalls = sources.filter((f) => /\bpino\(/.test(f.text)).map((f) => f.path);
    expect(pinoCalls).toEqual(['src/shared/logger.ts']);
    for (const { path, text } of sources) {
      expect(text, path).not.toMatch(/pino\.(?:transport|destination)\(|transport:\s*\{/);
      // A destination other than stdout is for tests only.
      for (const call of text.matchAll(/createLogger\(([^)]*)\)/g)) {
        if (path === 'src/shared/logger.ts') continue;
        expect(call[1], `${path}: ${call[0]}`).not.toContain(',');
      }
    }
    expect(logging).toContain('standard output only');
  });

  it('lists every table that holds a log', async () => {
    const tables = (await kluis.db.introspection.getTables())
      .map((t) => t.name)
      .filter((n) => /log|audit|witness/.test(n) && !n.startsWith('kysely_'));
    expect(tables).toContain('access_log');
    for (const table of tables) expect(logging, table).toContain(`\`${table}\``);
  });

  it('writes UTC timestamps in the application log, the audit trail and the access log (ASVS 16.2.2)', async () => {
    const lines: string[] = [];
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    logger.info('probe');
    const time = (JSON.parse(lines[0] ?? '{}') as { time?: string }).time ?? '';
    expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const app = await buildApp(kluis);
    try {
      await app.inject({ method: 'GET', url: '/' });
      await app.accessLogWriter?.flush();
      await kluis.services.audit.append(kluis.db, {
        actor: { kind: 'anonymous', orgId: null, ref: 'system:test' },
        action: 'test.probe',
      });
      const access = await kluis.db.selectFrom('access_log').select('at').executeTakeFirstOrThrow();
      const audit = await kluis.db
        .selectFrom('audit_log')
        .select('at')
        .where('action', '=', 'test.probe')
        .executeTakeFirstOrThrow();
      for (const at of [access.at, audit.at]) expect(String(at)).toMatch(/T\d\d:\d\d:\d\d\.\d{3}Z$/);
    } finally {
      await app.close();
    }
  });
});

describe('dependencies: sources, SBOM, audit and time frames (ASVS 15.1.1, 15.1.2, 15.2.1)', () => {
  const deps = section('Dependencies (ASVS 15.1.1, 15.1.2, 15.2.1)');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };

  it('states remediation time frames for every severity', () => {
    for (const [severity, frame] of [
      ['critical', '7 days'],
      ['high', '30 days'],
      ['moderate', '90 days'],
      ['low', 'the next regular update'],
    ]) {
      expect(deps).toMatch(new RegExp(`^\\| ${severity} \\| ${frame} \\|`, 'm'));
    }
  });

  it('has the audit and SBOM scripts, and CI runs both', () => {
    expect(pkg.scripts['audit:deps']).toBe('tsx scripts/audit-deps.ts');
    expect(pkg.scripts.sbom).toBe('npm sbom --package-lock-only --sbom-format cyclonedx');
    // The script audits runtime dependencies only and blocks on high and critical
    // (test/security/audit-deps.test.ts proves the verdicts).
    const script = readFileSync(join(root, 'scripts', 'audit-deps.ts'), 'utf8');
    expect(script).toContain("['audit', '--omit=dev', '--json']");
    expect(script).toContain("new Set(['high', 'critical'])");
    const ci = readFileSync(join(root, '.ci', 'run'), 'utf8');
    // Run under `set -e`, unguarded: the script's exit code fails the build on a finding.
    expect(ci).toMatch(/^set -euo pipefail$/m);
    expect(ci).toMatch(/^npm run --silent audit:deps$/m);
    expect(ci).toMatch(/^npm run --silent sbom > sbom\.cdx\.json$/m);
    expect(deps).toContain('npm run audit:deps');
    expect(deps).toContain('npm run sbom');
  });

  it('takes every locked package from the npm registry with an integrity hash', () => {
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { integrity?: string; resolved?: string; link?: boolean }>;
    };
    const entries = Object.entries(lock.packages).filter(([path]) => path !== '');
    expect(entries.length).toBeGreaterThan(100);
    for (const [path, entry] of entries) {
      expect(entry.link, path).toBeUndefined();
      expect(entry.integrity, path).toMatch(/^sha512-/);
      if (entry.resolved !== undefined)
        expect(entry.resolved, path).toMatch(/^https:\/\/registry\.npmjs\.org\//);
    }
  });

  it('lists every dependency in the SBOM', () => {
    const out = execFileSync('npm', ['run', '--silent', 'sbom'], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    const sbom = JSON.parse(out) as { bomFormat: string; components: { name: string; group?: string }[] };
    expect(sbom.bomFormat).toBe('CycloneDX');
    const names = new Set(sbom.components.map((c) => (c.group ? `${c.group}/${c.name}` : c.name)));
    // Build tools too: they run in CI and on the operator's machine. (`--omit dev` is not used:
    // npm 11 then drops a runtime package that a dev tool also needs, e.g. commander.)
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })) {
      expect(names, dep).toContain(dep);
    }
  }, 120_000);
});

describe('the resource-demanding functions (ASVS 15.1.3)', () => {
  const heavy = section('Resource-demanding functions (ASVS 15.1.3)');

  it('states the limits the code has', () => {
    const envDefault = (name: string) => {
      const m = new RegExp(`${name}: positiveInt\\.default\\(([\\d_]+)\\)`).exec(envSource);
      if (m?.[1] === undefined) throw new Error(`no default for ${name}`);
      return Number(m[1].replaceAll('_', ''));
    };
    const actual: Record<string, number> = {
      'owaspArgon2id.memoryCost': owaspArgon2id.memoryCost,
      LOGIN_PASSWORD_MAX_LENGTH,
      MAX_AGREEMENT_PDF_BYTES,
      MAX_DOCUMENT_BYTES,
      DEFAULT_BATCH_SIZE,
      FULL_VERIFY_LIMIT,
      TRAIL_WINDOW_LIMIT,
      ACCESS_LOG_PAGE_SIZE,
      ACCESS_LOG_MAX_PAGE,
    };
    for (const name of [
      'KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE',
      'KLUIS_RATE_LIMIT_PER_MINUTE',
      'KLUIS_BODY_LIMIT_BYTES',
      'KLUIS_CONTACT_RATE_LIMIT_PER_HOUR',
      'KLUIS_INBOUND_MAX_BYTES',
    ]) {
      actual[name] = envDefault(name);
    }
    const stated = new Map(
      [...heavy.matchAll(/`([A-Za-z0-9_.]+)` = (\d+)/g)].map((m) => [m[1] ?? '', Number(m[2])]),
    );
    for (const [name, value] of Object.entries(actual)) expect(stated.get(name), name).toBe(value);
    for (const name of stated.keys()) expect(Object.keys(actual), name).toContain(name);
  });
});

describe('the public endpoints (ASVS 13.4.5)', () => {
  const listed = section('Public endpoints (ASVS 13.4.5)');
  let kluis: TestKluis;
  beforeAll(async () => {
    kluis = await createTestKluis();
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  it('lists exactly the routes the app serves without signing in', async () => {
    const app = await buildApp(kluis);
    try {
      await app.ready();
      const served = new Set(
        app.routeTable
          .filter((r) => r.access.kind === 'public')
          .map((r) => {
            const path = r.url.replace(/^\/en(?=\/|$)/, '').replace(/^\/o\/:slug/, '');
            return `${r.method} ${path === '' ? '/' : path}`;
          }),
      );
      const documented = new Set(
        [...listed.matchAll(/`((?:GET|POST|PUT|PATCH|DELETE) \/[^`]*)`/g)].map((m) => m[1] ?? ''),
      );
      expect([...served].sort()).toEqual([...documented].sort());
    } finally {
      await app.close();
    }
  });
});
