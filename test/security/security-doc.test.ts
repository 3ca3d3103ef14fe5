/**
 * docs/security.md's "Rules, limits and ways in" (ASVS 2.1.2, 2.1.3, 5.1.1, 6.1.1–6.1.3, 6.3.4,
 * 6.4.4, 7.1.2) held to the code, so neither can change without the other:
 *
 * - every value in a table with a `source` column equals the constant or configuration default it
 *   names, and every such constant is in a table;
 * - every cross-field message key the schemas raise (`ctx.addIssue`) is documented, and every key
 *   documented is one the code raises;
 * - every route that authenticates or changes a credential is named under "Ways to sign in";
 * - every upload route and every place that parses multipart is named under "Uploads", with the
 *   attachment types the intake keeps;
 * - sessions: several at once are allowed and each is listed, as the text says.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { REAUTH_MAX_FAILURES } from '../../src/modules/auth/auth-account.js';
import { DEVICE_COOKIE_DAYS, DEVICE_MAX_FAILURES } from '../../src/modules/auth/auth-device-cookies.js';
import { MAX_GRANT_DAYS } from '../../src/modules/auth/auth-grants.js';
import { defaultThrottlePolicy } from '../../src/modules/auth/auth-login-throttle.js';
import { INVITATION_DAYS, RESET_TOKEN_MINUTES } from '../../src/modules/auth/auth-password-reset.js';
import { PRODUCT_WORDS } from '../../src/modules/auth/auth-passwords.js';
import { NOTIFY_WITHIN_HOURS } from '../../src/modules/incidents/incidents-clock.js';
import {
  attachmentTypes,
  MAX_ATTACHMENT_BYTES,
  MAX_ATTACHMENTS,
} from '../../src/modules/intake/intake-mail.js';
import { MAX_EXPANDED_BYTES, MAX_ZIP_ENTRIES } from '../../src/modules/intake/intake-zip.js';
import { MAX_PAYLOAD_BYTES } from '../../src/modules/jobs/jobs-queue.js';
import { MAX_DOCUMENT_BYTES } from '../../src/modules/register/register-documents.js';
import { MAX_AGREEMENT_PDF_BYTES } from '../../src/modules/relations/relations-agreements.js';
import { MAX_EXTENSION_MONTHS } from '../../src/modules/rights/rights-deadlines.js';
import { CONFIRM_DAYS } from '../../src/modules/rights/rights-records.js';
import { createTestKluis, type TestKluis, testEnv } from '../dialects.js';
import { createOrg, createStaffUser, loginAs, staffRequests } from '../factories.js';

const root = join(import.meta.dirname, '..', '..');
const doc = readFileSync(join(root, 'docs', 'security.md'), 'utf8');

/** The text of the `###` section whose heading starts with `title`, up to the next heading. */
function section(title: string): string {
  const start = doc.indexOf(`### ${title}`);
  if (start < 0) throw new Error(`docs/security.md has no section "${title}"`);
  const rest = doc.slice(start + 4);
  const end = rest.search(/\n#{2,3} /);
  return end < 0 ? rest : rest.slice(0, end);
}

/** Table rows of a section (header and separator left out), as trimmed cells. */
function rows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .slice(2)
    .map((l) =>
      l
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );
}

const codeSpans = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
const oneLine = (text: string) => text.replace(/\s+/g, ' ');
const MiB = 1024 * 1024;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}
const sources = sourceFiles(join(root, 'src')).map((path) => ({
  path: relative(root, path),
  text: readFileSync(path, 'utf8'),
}));

/** What each `source` of the tables is in the code, rendered as the doc writes it. */
function facts(): Record<string, string> {
  const env: Record<string, string> = testEnv(mkdtempSync(join(tmpdir(), 'kluis-doc-')));
  // The test settings raise these; the doc states the defaults.
  delete env.KLUIS_RATE_LIMIT_PER_MINUTE;
  const config = loadConfig(env as NodeJS.ProcessEnv);
  const t = defaultThrottlePolicy;
  return {
    KLUIS_RATE_LIMIT_PER_MINUTE: `${config.rateLimitPerMinute} per minute`,
    KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: `${config.loginRateLimitPerMinute} per minute`,
    KLUIS_LOGIN_CONCURRENCY: `${config.loginBudget.untrusted}`,
    KLUIS_LOGIN_TRUSTED_CONCURRENCY: `${config.loginBudget.trusted}`,
    KLUIS_LOGIN_QUEUE_MS: `${config.loginBudget.waitMs} ms`,
    KLUIS_CONTACT_RATE_LIMIT_PER_HOUR: `${config.intake.contactRateLimitPerHour} per hour`,
    KLUIS_BODY_LIMIT_BYTES: `${config.bodyLimitBytes / MiB} MiB`,
    KLUIS_INBOUND_MAX_BYTES: `${config.intake.inboundMaxBytes / MiB} MiB`,
    MAX_GRANT_DAYS: `${MAX_GRANT_DAYS} days`,
    MAX_EXTENSION_MONTHS: `${MAX_EXTENSION_MONTHS} months`,
    CONFIRM_DAYS: `${CONFIRM_DAYS} days`,
    RESET_TOKEN_MINUTES: `${RESET_TOKEN_MINUTES} minutes`,
    INVITATION_DAYS: `${INVITATION_DAYS} days`,
    NOTIFY_WITHIN_HOURS: `${NOTIFY_WITHIN_HOURS} hours`,
    MAX_PAYLOAD_BYTES: `${MAX_PAYLOAD_BYTES / 1024} KiB`,
    MAX_AGREEMENT_PDF_BYTES: `${MAX_AGREEMENT_PDF_BYTES / MiB} MiB`,
    MAX_DOCUMENT_BYTES: `${MAX_DOCUMENT_BYTES / MiB} MiB`,
    MAX_ATTACHMENT_BYTES: `${MAX_ATTACHMENT_BYTES / MiB} MiB`,
    MAX_ATTACHMENTS: `${MAX_ATTACHMENTS}`,
    MAX_EXPANDED_BYTES: `${MAX_EXPANDED_BYTES / MiB} MiB`,
    MAX_ZIP_ENTRIES: `${MAX_ZIP_ENTRIES}`,
    accountMaxFailures: `${t.accountMaxFailures}`,
    accountLockMinutes: `${t.accountLockMinutes} minutes`,
    accountMaxLockMinutes: `${t.accountMaxLockMinutes} minutes`,
    ipMaxFailures: `${t.ipMaxFailures}`,
    windowMinutes: `${t.windowMinutes} minutes`,
    REAUTH_MAX_FAILURES: `${REAUTH_MAX_FAILURES}`,
    DEVICE_MAX_FAILURES: `${DEVICE_MAX_FAILURES}`,
    DEVICE_COOKIE_DAYS: `${DEVICE_COOKIE_DAYS} days`,
  };
}

/** Problems between the tables with a `source` column and the code's values. */
function valueProblems(known: Record<string, string>, sections: readonly string[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const title of sections) {
    for (const row of rows(section(title))) {
      const source = codeSpans(row.at(-1) ?? '')[0];
      const value = row.at(-2) ?? '';
      if (source === undefined) {
        problems.push(`${title}: a row without a source: ${row.join(' | ')}`);
        continue;
      }
      seen.add(source);
      const expected = known[source];
      if (expected === undefined) problems.push(`${title}: ${source} is not known to this test`);
      else if (!value.startsWith(expected))
        problems.push(`${title}: ${source} is "${value}", the code says ${expected}`);
    }
  }
  for (const source of Object.keys(known)) if (!seen.has(source)) problems.push(`${source} is in no table`);
  return problems;
}

const valueSections = ['Business limits', 'Uploads', 'Defences against guessing'];

describe('docs/security.md: rules, limits and ways in, held to the code', () => {
  it('states every limit, upload size and lockout value as the code has it (2.1.3, 5.1.1, 6.1.1)', () => {
    expect(valueProblems(facts(), valueSections)).toEqual([]);
  });

  it('would notice a changed value, an unknown source and an undocumented constant', () => {
    const known = facts();
    expect(valueProblems({ ...known, MAX_GRANT_DAYS: '31 days' }, valueSections)).toContain(
      'Business limits: MAX_GRANT_DAYS is "30 days at most", the code says 31 days',
    );
    const { MAX_ZIP_ENTRIES: _gone, ...fewer } = known;
    expect(valueProblems(fewer, valueSections)).toContain(
      'Uploads: MAX_ZIP_ENTRIES is not known to this test',
    );
    expect(valueProblems({ ...known, NEW_LIMIT: '1' }, valueSections)).toContain('NEW_LIMIT is in no table');
  });

  it('documents every cross-field rule the schemas raise, and only those (2.1.2)', () => {
    const raised = new Set<string>();
    for (const { text } of sources) {
      for (const m of text.matchAll(/addIssue\(\{[^}]*?message: '([a-zA-Z.]+)'/g)) raised.add(m[1] ?? '');
    }
    // The generic field messages belong to single fields, not to a rule.
    const specific = [...raised].filter((k) => !k.startsWith('field.') && k !== 'intake.form.phoneInvalid');
    expect(specific.length).toBeGreaterThan(8);
    const documented = rows(section('Rules across fields')).flatMap((r) => codeSpans(r.at(-1) ?? ''));
    expect(specific.filter((k) => !documented.includes(k))).toEqual([]);
    // Every documented key is produced by the code (an addIssue, or a field error of a service).
    const produced = (key: string) =>
      sources.some(({ path, text }) => !path.endsWith('-messages.ts') && text.includes(`'${key}'`));
    expect(documented.filter((k) => !produced(k))).toEqual([]);
    expect(documented.length).toBeGreaterThan(12);
  });

  it('names the product words and the user-derived words passwords are checked against (6.1.2)', () => {
    const text = section('Words refused');
    for (const word of PRODUCT_WORDS) expect(text).toContain(`\`${word}\``);
    expect(text).toContain('`PRODUCT_WORDS`');
  });

  it('lists every upload route, every multipart parser and every attachment type kept (5.1.1)', () => {
    const text = oneLine(section('Uploads'));
    for (const type of attachmentTypes) expect(text, type).toContain(`\`${type}\``);
    const parsers = sources
      .filter(({ text: t }) => t.includes("from '@fastify/multipart'"))
      .map((s) => s.path);
    expect(parsers.length).toBeGreaterThan(0);
    for (const path of parsers) expect(text, path).toContain(`\`${path}\``);
    const users = sources
      .filter(({ path, text: t }) => /installMultipart\(/.test(t) && !path.endsWith('register-multipart.ts'))
      .map((s) => s.path.split('/')[2]);
    for (const module of users) expect(text, `module ${module}`).toContain(`the ${module} module`);
  });
});

describe('docs/security.md against the running app', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;

  beforeAll(async () => {
    kluis = await createTestKluis();
    app = await buildApp(kluis);
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  /** Routes that authenticate or change a credential, by their path. */
  const credentialRoute =
    /^\/(login|logout)(\/|$)|\/(password|totp|recovery-codes|reset-password|reset-totp|logout-all|api-keys|grants)(\/|$)/;

  it('names every route that authenticates or changes a credential under "Ways to sign in" (6.1.3, 6.3.4)', () => {
    const text = oneLine(section('Ways to sign in'));
    const routes = app.routeTable.filter((r) => r.method !== 'GET' && credentialRoute.test(r.url));
    expect(routes.length).toBeGreaterThan(15);
    expect(routes.map((r) => `${r.method} ${r.url}`).filter((r) => !text.includes(`\`${r}\``))).toEqual([]);
    expect(text).toContain('Bearer');
    expect(app.routeTable.some((r) => r.access.kind === 'api')).toBe(true);
    // The lost-factor procedure names the route and the audit action it leaves.
    const lost = oneLine(section('Lost second factor'));
    expect(lost).toContain('`auth.totp.reset`');
    expect(app.routeTable.some((r) => r.url === '/staff/users/:id/reset-totp')).toBe(true);
    expect(sources.some(({ text: t }) => t.includes("action: 'auth.totp.reset'"))).toBe(true);
  });

  it('names every upload route the app has under "Uploads" (5.1.1)', () => {
    const text = oneLine(section('Uploads'));
    const named = [...text.matchAll(/`POST ([^`]+)`/g)].map((m) => m[1] ?? '');
    expect(named.length).toBeGreaterThan(5);
    for (const url of named)
      expect(
        app.routeTable.some((r) => r.method === 'POST' && r.url === url),
        url,
      ).toBe(true);
  });

  it('allows several sessions at once and lists each on the account page, as "Sessions" says (7.1.2)', async () => {
    expect(section('Sessions')).toContain('no limit');
    const org = await createOrg(kluis, 'tenant');
    const user = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const sessions = [];
    for (let i = 0; i < 4; i++) sessions.push(await loginAs(app, user));
    const requests = staffRequests(app);
    for (const s of sessions) expect((await requests.get(s, '/staff')).statusCode).toBe(200);
    const page = await requests.get(sessions[0] ?? { cookie: '' }, '/staff/account');
    const listed = page.body.match(/<tr><td>/g) ?? [];
    expect(listed.length).toBeGreaterThanOrEqual(4);
  });
});
