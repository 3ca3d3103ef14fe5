/**
 * Configuration: environment variables (optionally from a KEY=VALUE file named by KLUIS_CONFIG_FILE),
 * parsed once with zod and frozen. Keeps P11: production refuses insecure settings (see
 * `productionProblems`). Secrets are read from the environment or from `*_FILE` paths and are
 * never logged: `describeConfig` prints only whether they are set.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const positiveInt = z.coerce.number().int().positive();

const mailbox = (name: string) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[^\s@<>]+@[^\s@<>]+$/, {
      message: `${name} must be a plain address such as contact@example.nl`,
    });

/** Raw variables as the operator sets them. Every message says what to set. */
const rawSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  KLUIS_HOST: z.string().min(1).default('127.0.0.1'),
  KLUIS_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  KLUIS_PUBLIC_ORIGIN: z
    .url({ message: 'KLUIS_PUBLIC_ORIGIN must be a full URL such as https://kluis.example.nl' })
    .optional(),
  KLUIS_DATABASE_URL: z
    .string()
    .regex(/^(sqlite:|postgres:\/\/|postgresql:\/\/)/, {
      message: 'KLUIS_DATABASE_URL must start with sqlite: (e.g. sqlite:./data/kluis.db) or postgres://',
    })
    .default('sqlite:./data/kluis.db'),
  KLUIS_KEYSTORE_URL: z
    .string()
    .regex(/^(sqlite:|postgres:\/\/|postgresql:\/\/)/, {
      message: 'KLUIS_KEYSTORE_URL must start with sqlite: or postgres://',
    })
    .optional(),
  KLUIS_LEDGER_DATABASE_URL: z
    .string()
    .refine((v) => v.startsWith('postgres://') || v.startsWith('postgresql://'), {
      message: 'KLUIS_LEDGER_DATABASE_URL must start with postgres:// (the shared ledger is for PostgreSQL)',
    })
    .optional(),
  KLUIS_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, { message: 'KLUIS_REDIS_URL must start with redis:// or rediss://' })
    .optional(),
  KLUIS_DATABASE_KEY: z.string().optional(),
  KLUIS_DATABASE_KEY_FILE: z.string().optional(),
  KLUIS_MASTER_KEY: z.string().optional(),
  KLUIS_MASTER_KEY_FILE: z.string().optional(),
  KLUIS_MASTER_KEY_PREVIOUS: z.string().optional(),
  KLUIS_MASTER_KEY_PREVIOUS_FILE: z.string().optional(),
  KLUIS_DATA_DIR: z.string().default('./data'),
  KLUIS_TLS_CERT_FILE: z.string().optional(),
  KLUIS_TLS_KEY_FILE: z.string().optional(),
  KLUIS_TRUST_PROXY: z.string().optional(),
  KLUIS_COOKIE_SECURE: bool.optional(),
  KLUIS_SESSION_IDLE_MINUTES: positiveInt.default(30),
  KLUIS_SESSION_ABSOLUTE_HOURS: positiveInt.default(12),
  KLUIS_REQUIRE_TOTP_OPERATOR: bool.default(true),
  KLUIS_ACCESS_LOG_TRUNCATE_DAYS: positiveInt.default(7),
  KLUIS_ACCESS_LOG_RETENTION_DAYS: positiveInt.default(90),
  /** Days an offboarded tenant's owner can download its export before its data is destroyed. */
  KLUIS_OFFBOARDING_NOTICE_DAYS: positiveInt.default(30),
  /** Art. 28(2): days between announcing a new sub-processor and the earliest date it may start. */
  KLUIS_SUBPROCESSOR_NOTICE_DAYS: z.coerce.number().int().min(0).max(365).default(30),
  KLUIS_SMTP_URL: z.string().optional(),
  KLUIS_MAIL_FROM: z.string().default('Kluis <kluis@localhost>'),
  KLUIS_DEV_MAIL_SINK_PORT: z.coerce.number().int().min(0).max(65535).default(2525),
  KLUIS_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KLUIS_BODY_LIMIT_BYTES: positiveInt.default(1_048_576),
  KLUIS_RATE_LIMIT_PER_MINUTE: positiveInt.default(300),
  KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: positiveInt.default(10),
  /** Issue 15: sign-ins without a device cookie worked on at once, process-wide. */
  KLUIS_LOGIN_CONCURRENCY: positiveInt.default(2),
  /** Sign-ins with a valid device cookie worked on at once (their own lane). */
  KLUIS_LOGIN_TRUSTED_CONCURRENCY: positiveInt.default(2),
  /** How long a sign-in may wait for a slot before it is refused with 429 (ms). */
  KLUIS_LOGIN_QUEUE_MS: positiveInt.default(250),
  KLUIS_INBOUND_SMTP_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  KLUIS_INBOUND_SMTP_HOST: z.string().min(1).default('127.0.0.1'),
  KLUIS_INBOUND_MAX_BYTES: positiveInt.default(10_485_760),
  KLUIS_CONTACT_ADDRESS: mailbox('KLUIS_CONTACT_ADDRESS').optional(),
  KLUIS_PRIVACY_ADDRESS: mailbox('KLUIS_PRIVACY_ADDRESS').optional(),
  KLUIS_CONTACT_RATE_LIMIT_PER_HOUR: positiveInt.default(10),
  KLUIS_INBOUND_TLS_CERT_FILE: z.string().optional(),
  KLUIS_INBOUND_TLS_KEY_FILE: z.string().optional(),
  KLUIS_ALLOW_INSECURE: z.string().optional(),
  KLUIS_INCIDENT_LOGIN_ACCOUNTS: positiveInt.default(10),
  KLUIS_INCIDENT_LOGIN_WINDOW_MINUTES: positiveInt.default(10),
  KLUIS_INCIDENT_READ_RECORDS: positiveInt.default(200),
  KLUIS_INCIDENT_READ_WINDOW_MINUTES: positiveInt.default(15),
});

/**
 * Named exceptions to production's transport rules, for a deployment that truly needs one (set
 * `KLUIS_ALLOW_INSECURE` to a comma-separated list). Each is shown by `kluis doctor`, and the
 * statement words the affected claim as it is.
 */
export const insecureOverrides = {
  'smtp-relay-without-tls': 'outgoing mail goes to the SMTP relay without TLS',
  'postgres-without-tls': 'the PostgreSQL connection to another host is not encrypted',
  'inbound-smtp-without-tls': 'the inbound SMTP listener on a public interface offers no STARTTLS',
  'operator-without-totp': 'operator staff may sign in without two-step verification',
} as const;
export type InsecureOverride = keyof typeof insecureOverrides;

/** The access log's retention bounds (P12): the `access_log` retention policy uses the same. */
export const ACCESS_LOG_DAYS = { min: 1, max: 365 } as const;

/** How each connection is protected, derived from the configuration (the statement's facts). */
export interface TransportFacts {
  /** Browsers: TLS served by Kluis, by a trusted proxy in front, or none (development). */
  readonly web: 'tls' | 'tls-proxy' | 'none';
  /** Outgoing mail: TLS to the relay, plain to a relay on this machine, plain, or the dev sink. */
  readonly smtpRelay: 'tls' | 'loopback' | 'plain' | 'development-sink';
  /** The main database: SQLite on this machine, PostgreSQL over TLS, over loopback, or plain. */
  readonly database: 'local-file' | 'tls' | 'loopback' | 'plain';
  /** Inbound mail: STARTTLS offered, listening on loopback only, plain, or off. */
  readonly inboundSmtp: 'starttls' | 'loopback' | 'plain' | 'off';
}

/** The thresholds at which the incident register opens an incident from the audit trail. */
export interface IncidentThresholds {
  /** Failed sign-ins on at least this many different accounts … */
  readonly loginFailureAccounts: number;
  /** … within this many minutes. */
  readonly loginWindowMinutes: number;
  /** One account reading at least this many different records … */
  readonly readRecords: number;
  /** … within this many minutes. */
  readonly readWindowMinutes: number;
}

export type Secret = { readonly value: string; readonly source: 'env' | 'file' | 'dev-generated' };

export interface Config {
  readonly env: 'development' | 'production' | 'test';
  readonly host: string;
  readonly port: number;
  readonly publicOrigin: string;
  readonly databaseUrl: string;
  readonly keystoreUrl: string;
  /**
   * PostgreSQL: where the shared erasure ledger and audit witness live (KLUIS_LEDGER_DATABASE_URL,
   * default the main database, in schema `kluis_ledger`). Undefined on SQLite (files instead).
   */
  readonly ledgerUrl: string | undefined;
  /** Redis for the rate limits a cluster shares (KLUIS_REDIS_URL); undefined: per node. */
  readonly redisUrl: string | undefined;
  readonly databaseKey: Secret | undefined;
  readonly masterKey: Secret;
  /** Older master keys, accepted for unwrapping during a rotation (`kluis keys rotate`). */
  readonly previousMasterKeys: readonly Secret[];
  readonly dataDir: string;
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  readonly trustProxy: boolean | string;
  readonly cookieSecure: boolean;
  readonly sessionIdleMinutes: number;
  readonly sessionAbsoluteHours: number;
  readonly requireTotpForOperator: boolean;
  readonly accessLog: { readonly truncateIpAfterDays: number; readonly deleteAfterDays: number };
  /** Tenant offboarding (Art. 28(3)(g)): the notice period during which the export can be fetched. */
  readonly offboardingNoticeDays: number;
  readonly smtpUrl: string | undefined;
  /** Art. 28(2): notice (days) before an announced sub-processor may become active. */
  readonly subprocessorNoticeDays: number;
  readonly mailFrom: string;
  readonly devMailSinkPort: number;
  readonly logLevel: z.infer<typeof rawSchema>['KLUIS_LOG_LEVEL'];
  readonly bodyLimitBytes: number;
  readonly rateLimitPerMinute: number;
  readonly loginRateLimitPerMinute: number;
  /** The process-wide sign-in work budget (issue 15, auth-login-budget.ts). */
  readonly loginBudget: { readonly untrusted: number; readonly trusted: number; readonly waitMs: number };
  /** When a signal opens an incident by itself (issue 14, Art. 33). */
  readonly incidents: IncidentThresholds;
  /** Production exceptions in force (named, shown by doctor and the statement). */
  readonly insecureOverrides: readonly InsecureOverride[];
  /** How each connection is protected (the facts the statement's security claims rest on). */
  readonly transport: TransportFacts;
  /** Intake (P1): the inbound SMTP listener (off when `inboundSmtpPort` is undefined) and the contact form. */
  readonly intake: {
    readonly inboundSmtpPort: number | undefined;
    readonly inboundSmtpHost: string;
    readonly inboundMaxBytes: number;
    readonly contactAddress: string | undefined;
    readonly privacyAddress: string | undefined;
    readonly contactRateLimitPerHour: number;
    /** STARTTLS certificate for the inbound listener. */
    readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Kluis cannot start:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses a KEY=VALUE file (comments with #, optional quotes). Values from the environment win. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) continue;
    const key = trimmed.slice(0, eq).trim();
    let value = trimmed.slice(eq + 1).trim();
    if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'"))) {
      value = value.slice(1, -1);
    }
    out[key] = value;
  }
  return out;
}

function readSecret(
  name: string,
  direct: string | undefined,
  file: string | undefined,
  problems: string[],
): Secret | undefined {
  if (direct !== undefined && file !== undefined) {
    problems.push(`set either ${name} or ${name}_FILE, not both`);
    return undefined;
  }
  if (direct !== undefined) return { value: direct, source: 'env' };
  if (file !== undefined) {
    try {
      return { value: readFileSync(file, 'utf8').trim(), source: 'file' };
    } catch {
      problems.push(`${name}_FILE points to ${file}, which cannot be read`);
    }
  }
  return undefined;
}

const DEV_KEY_TAG = 'kluis/development-key/v1';

/**
 * A development key: 24 random bytes and an 8-byte tag (HMAC-SHA256 of them under a constant
 * label). Anyone can recognise one by its fingerprint — wherever it is copied to, with or without
 * the `dev-secrets.json` it came from — and production refuses it. A real 32-byte random key
 * carries such a tag by chance with probability 2^-64.
 */
function developmentKey(): Buffer {
  const body = randomBytes(24);
  return Buffer.concat([body, createHmac('sha256', DEV_KEY_TAG).update(body).digest().subarray(0, 8)]);
}

/** Is this key (base64, base64url or hex of 32 bytes) a development key? */
export function isDevelopmentKey(value: string): boolean {
  const buf = decodeMasterKey(value.trim());
  if (buf === undefined) return false;
  const tag = createHmac('sha256', DEV_KEY_TAG).update(buf.subarray(0, 24)).digest().subarray(0, 8);
  return timingSafeEqual(tag, buf.subarray(24));
}

/**
 * Development secrets: generated once into the data directory (mode 0600) so that
 * `npm start` works with no configuration. Production never uses them: they carry the
 * development fingerprint (see `developmentKey`).
 */
function devSecrets(dataDir: string): { masterKey: string; databaseKey: string } {
  const file = resolve(dataDir, 'dev-secrets.json');
  if (existsSync(file)) {
    const parsed = z
      .object({ masterKey: z.string(), databaseKey: z.string() })
      .parse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed;
  }
  if (!existsSync(dirname(file))) {
    // The data folder holds the database and these keys: owner-only, like `kluis init` makes it.
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    chmodSync(dirname(file), 0o700);
  }
  const secrets = {
    masterKey: developmentKey().toString('base64url'),
    databaseKey: developmentKey().toString('base64url'),
  };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
  return secrets;
}

/** Production refuses keys copied from a development secrets file left in the data directory. */
function copiedDevSecretProblems(
  dataDir: string,
  masterKey: Secret | undefined,
  databaseKey: Secret | undefined,
): string[] {
  const file = resolve(dataDir, 'dev-secrets.json');
  if (!existsSync(file)) return [];
  const problems = [
    `${file} exists: development secrets do not belong in a production data directory; remove it`,
  ];
  try {
    const dev = z
      .object({ masterKey: z.string(), databaseKey: z.string() })
      .parse(JSON.parse(readFileSync(file, 'utf8')));
    // Keys generated before they carried the development fingerprint are caught by equality.
    if (masterKey?.value === dev.masterKey && !isDevelopmentKey(masterKey.value))
      problems.push('KLUIS_MASTER_KEY is the development master key: generate a new one');
    if (databaseKey?.value === dev.databaseKey && !isDevelopmentKey(databaseKey.value))
      problems.push('KLUIS_DATABASE_KEY is the development database key: generate a new one');
  } catch {
    // An unreadable file is reported by the first message already.
  }
  return problems;
}

/** A master key must be 32 random bytes, given as base64/base64url (43–44 chars) or 64 hex chars. */
export function decodeMasterKey(value: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(value)) {
    const buf = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    return buf.length === 32 ? buf : undefined;
  }
  return undefined;
}

function isWeakKey(buf: Buffer): boolean {
  return new Set(buf).size < 8;
}

/**
 * The master key, the database key and a previous master key, from the environment or their
 * files; outside production, missing keys are generated for development. Problems are added to
 * `problems`.
 */
function secretsOf(
  raw: z.infer<typeof rawSchema>,
  production: boolean,
  sqlite: boolean,
  problems: string[],
): { masterKey: Secret | undefined; databaseKey: Secret | undefined; previousMasterKey: Secret | undefined } {
  let masterKey = readSecret('KLUIS_MASTER_KEY', raw.KLUIS_MASTER_KEY, raw.KLUIS_MASTER_KEY_FILE, problems);
  let databaseKey = readSecret(
    'KLUIS_DATABASE_KEY',
    raw.KLUIS_DATABASE_KEY,
    raw.KLUIS_DATABASE_KEY_FILE,
    problems,
  );
  const previousMasterKey = readSecret(
    'KLUIS_MASTER_KEY_PREVIOUS',
    raw.KLUIS_MASTER_KEY_PREVIOUS,
    raw.KLUIS_MASTER_KEY_PREVIOUS_FILE,
    problems,
  );
  if (previousMasterKey !== undefined && decodeMasterKey(previousMasterKey.value) === undefined) {
    problems.push('KLUIS_MASTER_KEY_PREVIOUS must be 32 bytes as base64 or hex, like KLUIS_MASTER_KEY');
  }
  if (!production && (masterKey === undefined || (sqlite && databaseKey === undefined))) {
    const dev = devSecrets(raw.KLUIS_DATA_DIR);
    masterKey ??= { value: dev.masterKey, source: 'dev-generated' };
    if (sqlite) databaseKey ??= { value: dev.databaseKey, source: 'dev-generated' };
  }
  if (masterKey === undefined) {
    problems.push(
      'KLUIS_MASTER_KEY (or KLUIS_MASTER_KEY_FILE) is not set: generate one with `kluis init` or `openssl rand -base64 32`',
    );
  } else {
    const decoded = decodeMasterKey(masterKey.value);
    if (decoded === undefined) {
      problems.push('KLUIS_MASTER_KEY must be 32 random bytes as base64 (44 chars) or hex (64 chars)');
    } else if (isWeakKey(decoded)) {
      problems.push('KLUIS_MASTER_KEY is not random (too few distinct bytes): generate a new one');
    }
  }
  return { masterKey, databaseKey, previousMasterKey };
}

/** Loads configuration from `env` (default: process.env). Throws ConfigError with every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const fileVars = env.KLUIS_CONFIG_FILE ? parseEnvFile(readFileSync(env.KLUIS_CONFIG_FILE, 'utf8')) : {};
  const merged: Record<string, string | undefined> = { ...fileVars };
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') merged[k] = v;

  const parsed = rawSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`));
  }
  const raw = parsed.data;
  const problems: string[] = [];
  const production = raw.NODE_ENV === 'production';
  const sqlite = raw.KLUIS_DATABASE_URL.startsWith('sqlite:');
  const { masterKey, databaseKey, previousMasterKey } = secretsOf(raw, production, sqlite, problems);

  const publicOrigin = raw.KLUIS_PUBLIC_ORIGIN ?? `http://localhost:${raw.KLUIS_PORT}`;
  const tls =
    raw.KLUIS_TLS_CERT_FILE && raw.KLUIS_TLS_KEY_FILE
      ? { certFile: raw.KLUIS_TLS_CERT_FILE, keyFile: raw.KLUIS_TLS_KEY_FILE }
      : undefined;
  if ((raw.KLUIS_TLS_CERT_FILE === undefined) !== (raw.KLUIS_TLS_KEY_FILE === undefined)) {
    problems.push('set both KLUIS_TLS_CERT_FILE and KLUIS_TLS_KEY_FILE, or neither');
  }
  const trustProxy = parseTrustProxy(raw.KLUIS_TRUST_PROXY);
  const cookieSecure = raw.KLUIS_COOKIE_SECURE ?? production;
  const overrides = parseOverrides(raw.KLUIS_ALLOW_INSECURE, problems);
  if ((raw.KLUIS_INBOUND_TLS_CERT_FILE === undefined) !== (raw.KLUIS_INBOUND_TLS_KEY_FILE === undefined)) {
    problems.push('set both KLUIS_INBOUND_TLS_CERT_FILE and KLUIS_INBOUND_TLS_KEY_FILE, or neither');
  }
  const inboundTls =
    raw.KLUIS_INBOUND_TLS_CERT_FILE && raw.KLUIS_INBOUND_TLS_KEY_FILE
      ? { certFile: raw.KLUIS_INBOUND_TLS_CERT_FILE, keyFile: raw.KLUIS_INBOUND_TLS_KEY_FILE }
      : undefined;
  // Development listens on loopback by default; production and tests only when asked.
  const inboundSmtpPort = raw.KLUIS_INBOUND_SMTP_PORT ?? (raw.NODE_ENV === 'development' ? 2526 : undefined);
  const keystoreUrl =
    raw.KLUIS_KEYSTORE_URL ??
    (sqlite ? `sqlite:${resolve(raw.KLUIS_DATA_DIR, 'kluis-keys.db')}` : raw.KLUIS_DATABASE_URL);
  // A key store in a file on this host cannot be shared by a cluster's nodes (see the function).
  const localKeys = localKeystoreProblem({ databaseUrl: raw.KLUIS_DATABASE_URL, keystoreUrl });
  if (localKeys !== undefined && (production || raw.KLUIS_REDIS_URL !== undefined)) problems.push(localKeys);
  const transport: TransportFacts = {
    web: tls !== undefined ? 'tls' : trustProxy !== false ? 'tls-proxy' : 'none',
    smtpRelay: smtpTransportOf(raw.KLUIS_SMTP_URL),
    database: worstOf(databaseTransportOf(raw.KLUIS_DATABASE_URL), databaseTransportOf(keystoreUrl)),
    inboundSmtp:
      inboundSmtpPort === undefined
        ? 'off'
        : inboundTls !== undefined
          ? 'starttls'
          : isLoopbackHost(raw.KLUIS_INBOUND_SMTP_HOST)
            ? 'loopback'
            : 'plain',
  };
  // The access log's periods are bounded like its retention policy (P12), in every environment.
  if (raw.KLUIS_ACCESS_LOG_RETENTION_DAYS > ACCESS_LOG_DAYS.max) {
    problems.push(
      `KLUIS_ACCESS_LOG_RETENTION_DAYS is ${raw.KLUIS_ACCESS_LOG_RETENTION_DAYS}: the access log is kept at most ${ACCESS_LOG_DAYS.max} days (the statement promises a bounded period)`,
    );
  }
  if (raw.KLUIS_ACCESS_LOG_TRUNCATE_DAYS > raw.KLUIS_ACCESS_LOG_RETENTION_DAYS) {
    problems.push('KLUIS_ACCESS_LOG_TRUNCATE_DAYS must not exceed KLUIS_ACCESS_LOG_RETENTION_DAYS');
  }

  if (production) {
    problems.push(
      ...productionProblems({
        masterKey,
        databaseKey,
        sqlite,
        publicOrigin: raw.KLUIS_PUBLIC_ORIGIN,
        tls,
        trustProxy,
        cookieSecure,
        inboundSmtp: raw.KLUIS_INBOUND_SMTP_PORT !== undefined,
        inboundAddresses: raw.KLUIS_CONTACT_ADDRESS !== undefined && raw.KLUIS_PRIVACY_ADDRESS !== undefined,
        smtpUrl: raw.KLUIS_SMTP_URL,
        transport,
        requireTotpForOperator: raw.KLUIS_REQUIRE_TOTP_OPERATOR,
        overrides,
      }),
      ...(overrides.includes('postgres-without-tls')
        ? []
        : unverifiedPostgresProblems({
            KLUIS_DATABASE_URL: raw.KLUIS_DATABASE_URL,
            KLUIS_KEYSTORE_URL: raw.KLUIS_KEYSTORE_URL,
            KLUIS_LEDGER_DATABASE_URL: raw.KLUIS_LEDGER_DATABASE_URL,
          })),
      ...copiedDevSecretProblems(raw.KLUIS_DATA_DIR, masterKey, databaseKey),
    );
  }
  if (problems.length > 0 || masterKey === undefined) throw new ConfigError(problems);

  return Object.freeze({
    env: raw.NODE_ENV,
    host: raw.KLUIS_HOST,
    port: raw.KLUIS_PORT,
    publicOrigin: publicOrigin.replace(/\/$/, ''),
    databaseUrl: raw.KLUIS_DATABASE_URL,
    keystoreUrl,
    redisUrl: raw.KLUIS_REDIS_URL,
    ledgerUrl: sqlite ? undefined : (raw.KLUIS_LEDGER_DATABASE_URL ?? raw.KLUIS_DATABASE_URL),
    databaseKey,
    masterKey,
    previousMasterKeys: previousMasterKey === undefined ? [] : [previousMasterKey],
    dataDir: raw.KLUIS_DATA_DIR,
    tls,
    trustProxy,
    cookieSecure,
    sessionIdleMinutes: raw.KLUIS_SESSION_IDLE_MINUTES,
    sessionAbsoluteHours: raw.KLUIS_SESSION_ABSOLUTE_HOURS,
    requireTotpForOperator: raw.KLUIS_REQUIRE_TOTP_OPERATOR,
    accessLog: Object.freeze({
      truncateIpAfterDays: raw.KLUIS_ACCESS_LOG_TRUNCATE_DAYS,
      deleteAfterDays: raw.KLUIS_ACCESS_LOG_RETENTION_DAYS,
    }),
    offboardingNoticeDays: raw.KLUIS_OFFBOARDING_NOTICE_DAYS,
    smtpUrl: raw.KLUIS_SMTP_URL,
    subprocessorNoticeDays: raw.KLUIS_SUBPROCESSOR_NOTICE_DAYS,
    mailFrom: raw.KLUIS_MAIL_FROM,
    devMailSinkPort: raw.KLUIS_DEV_MAIL_SINK_PORT,
    logLevel: raw.KLUIS_LOG_LEVEL,
    bodyLimitBytes: raw.KLUIS_BODY_LIMIT_BYTES,
    rateLimitPerMinute: raw.KLUIS_RATE_LIMIT_PER_MINUTE,
    loginRateLimitPerMinute: raw.KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE,
    loginBudget: Object.freeze({
      untrusted: raw.KLUIS_LOGIN_CONCURRENCY,
      trusted: raw.KLUIS_LOGIN_TRUSTED_CONCURRENCY,
      waitMs: raw.KLUIS_LOGIN_QUEUE_MS,
    }),
    incidents: Object.freeze({
      loginFailureAccounts: raw.KLUIS_INCIDENT_LOGIN_ACCOUNTS,
      loginWindowMinutes: raw.KLUIS_INCIDENT_LOGIN_WINDOW_MINUTES,
      readRecords: raw.KLUIS_INCIDENT_READ_RECORDS,
      readWindowMinutes: raw.KLUIS_INCIDENT_READ_WINDOW_MINUTES,
    }),
    insecureOverrides: Object.freeze(overrides),
    transport: Object.freeze(transport),
    intake: Object.freeze({
      inboundSmtpPort,
      inboundSmtpHost: raw.KLUIS_INBOUND_SMTP_HOST,
      inboundMaxBytes: raw.KLUIS_INBOUND_MAX_BYTES,
      contactAddress: raw.KLUIS_CONTACT_ADDRESS ?? (production ? undefined : 'contact@localhost'),
      privacyAddress: raw.KLUIS_PRIVACY_ADDRESS ?? (production ? undefined : 'privacy@localhost'),
      contactRateLimitPerHour: raw.KLUIS_CONTACT_RATE_LIMIT_PER_HOUR,
      tls: inboundTls,
    }),
  });
}

function parseOverrides(value: string | undefined, problems: string[]): InsecureOverride[] {
  const out: InsecureOverride[] = [];
  for (const name of (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '')) {
    if (Object.hasOwn(insecureOverrides, name)) out.push(name as InsecureOverride);
    else {
      problems.push(
        `KLUIS_ALLOW_INSECURE names "${name}", which is not an exception Kluis knows: use ${Object.keys(insecureOverrides).join(', ')}`,
      );
    }
  }
  return out;
}

/** 127.0.0.0/8, ::1 and localhost: traffic that never leaves the machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** `smtps://` (implicit TLS) or `smtp://…?requireTLS=true` (STARTTLS required) is TLS. */
function smtpTransportOf(url: string | undefined): TransportFacts['smtpRelay'] {
  if (url === undefined) return 'development-sink';
  if (/^smtps:\/\//i.test(url)) return 'tls';
  let requireTls = false;
  try {
    requireTls = new URL(url).searchParams.get('requireTLS') === 'true';
  } catch {
    // A malformed URL is reported when the mailer is created; here it counts as plain.
  }
  if (requireTls) return 'tls';
  const host = hostOf(url);
  return host !== undefined && isLoopbackHost(host) ? 'loopback' : 'plain';
}

/** PostgreSQL over TLS when `sslmode` requires it; a Unix socket or loopback never leaves the machine. */
function databaseTransportOf(url: string): TransportFacts['database'] {
  if (url.startsWith('sqlite:')) return 'local-file';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'plain';
  }
  const sslmode = parsed.searchParams.get('sslmode');
  if (sslmode === 'require' || sslmode === 'verify-ca' || sslmode === 'verify-full') return 'tls';
  const host = parsed.searchParams.get('host') ?? parsed.hostname;
  return host === '' || host.startsWith('/') || isLoopbackHost(host) ? 'loopback' : 'plain';
}

/**
 * ASVS 12.3.2: TLS to PostgreSQL on another host must check the server's certificate and name.
 * libpq's `sslmode=require` and `verify-ca` do not check the name (`require` not even the
 * certificate); node-postgres treats them as `verify-full` today but warns that it will follow
 * libpq, and `uselibpqcompat=true` does so already. Production asks for `verify-full` by name.
 */
function unverifiedPostgresProblems(urls: Readonly<Record<string, string | undefined>>): string[] {
  const problems: string[] = [];
  for (const [name, url] of Object.entries(urls)) {
    if (url === undefined || !url.startsWith('postgres')) continue;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      continue;
    }
    const host = parsed.searchParams.get('host') ?? parsed.hostname;
    if (host === '' || host.startsWith('/') || isLoopbackHost(host)) continue;
    const sslmode = parsed.searchParams.get('sslmode');
    if (sslmode === 'require' || sslmode === 'verify-ca') {
      problems.push(
        `${name} uses sslmode=${sslmode}, which does not check the database server's certificate and name: use sslmode=verify-full (with sslrootcert=<file> for an internal certificate authority)`,
      );
    }
  }
  return problems;
}

function worstOf(a: TransportFacts['database'], b: TransportFacts['database']): TransportFacts['database'] {
  const rank = ['local-file', 'tls', 'loopback', 'plain'] as const;
  return rank.indexOf(a) >= rank.indexOf(b) ? a : b;
}

function parseTrustProxy(value: string | undefined): boolean | string {
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  return value;
}

/**
 * A SQLite key store beside a PostgreSQL database. PostgreSQL is there so that several nodes and
 * workers share one database; a key store in a file would be each host's own. A subject or tenant
 * key minted on one host would be missing on the others (their sealed rows unreadable there, or a
 * second key minted for the same org), and an erasure would destroy the key on one host only. So
 * production refuses it, and so does any configured cluster: KLUIS_REDIS_URL here, `kluis worker`
 * and `kluis serve --no-worker` at their start (`assertSharedKeystore`). One development process
 * on PostgreSQL may keep its keys in a local file.
 */
export function localKeystoreProblem(c: Pick<Config, 'databaseUrl' | 'keystoreUrl'>): string | undefined {
  if (c.databaseUrl.startsWith('sqlite:') || !c.keystoreUrl.startsWith('sqlite:')) return undefined;
  return 'KLUIS_KEYSTORE_URL is a SQLite file on this host while KLUIS_DATABASE_URL is PostgreSQL: every node and worker would keep a key store of its own (a key minted on one missing on the others, an erasure destroying a key on one host only); leave KLUIS_KEYSTORE_URL unset (schema kluis_keys in the same database) or point it at a PostgreSQL database of its own (postgres://…)';
}

/**
 * For the processes of a split installation (`kluis worker`, `kluis serve --no-worker`): throws
 * a ConfigError when the key store is a file on this host beside PostgreSQL (see above).
 */
export function assertSharedKeystore(config: Config, command: string): void {
  const problem = localKeystoreProblem(config);
  if (problem !== undefined) throw new ConfigError([`${command} is one of several processes: ${problem}`]);
}

/** The reasons a production start is refused (P11: secure by default). */
function productionProblems(c: {
  masterKey: Secret | undefined;
  databaseKey: Secret | undefined;
  sqlite: boolean;
  publicOrigin: string | undefined;
  tls: Config['tls'];
  trustProxy: boolean | string;
  cookieSecure: boolean;
  inboundSmtp: boolean;
  inboundAddresses: boolean;
  smtpUrl: string | undefined;
  transport: TransportFacts;
  requireTotpForOperator: boolean;
  overrides: readonly InsecureOverride[];
}): string[] {
  const problems: string[] = [];
  const allowed = (o: InsecureOverride) => c.overrides.includes(o);
  if (c.masterKey?.source === 'dev-generated') {
    problems.push('production cannot use the generated development master key: set KLUIS_MASTER_KEY_FILE');
  } else if (c.masterKey !== undefined && isDevelopmentKey(c.masterKey.value)) {
    problems.push(
      'KLUIS_MASTER_KEY is a development key (it carries the development fingerprint): generate a new one',
    );
  }
  if (
    c.databaseKey !== undefined &&
    c.databaseKey.source !== 'dev-generated' &&
    isDevelopmentKey(c.databaseKey.value)
  ) {
    problems.push(
      'KLUIS_DATABASE_KEY is a development key (it carries the development fingerprint): generate a new one',
    );
  }
  if (c.smtpUrl === undefined) {
    problems.push(
      'KLUIS_SMTP_URL is not set: production sends mail through a relay (smtps://… or smtp://…?requireTLS=true)',
    );
  } else if (c.transport.smtpRelay !== 'tls' && !allowed('smtp-relay-without-tls')) {
    problems.push(
      'KLUIS_SMTP_URL sends mail without TLS: use smtps://host:465 or smtp://host:587/?requireTLS=true (or name the exception smtp-relay-without-tls in KLUIS_ALLOW_INSECURE)',
    );
  }
  if (c.transport.database === 'plain' && !allowed('postgres-without-tls')) {
    problems.push(
      'the PostgreSQL URL connects to another host without TLS: add ?sslmode=verify-full to KLUIS_DATABASE_URL / KLUIS_KEYSTORE_URL (or name the exception postgres-without-tls in KLUIS_ALLOW_INSECURE)',
    );
  }
  if (c.transport.inboundSmtp === 'plain' && !allowed('inbound-smtp-without-tls')) {
    problems.push(
      'the inbound SMTP listener is on a public interface without STARTTLS: set KLUIS_INBOUND_TLS_CERT_FILE and KLUIS_INBOUND_TLS_KEY_FILE, or listen on 127.0.0.1 behind your MTA (or name the exception inbound-smtp-without-tls in KLUIS_ALLOW_INSECURE)',
    );
  }
  if (!c.requireTotpForOperator && !allowed('operator-without-totp')) {
    problems.push(
      'KLUIS_REQUIRE_TOTP_OPERATOR=false is not allowed in production: operator staff sign in with two-step verification (or name the exception operator-without-totp in KLUIS_ALLOW_INSECURE)',
    );
  }
  if (c.sqlite) {
    if (c.databaseKey === undefined) {
      problems.push(
        'production refuses an unencrypted SQLite database: set KLUIS_DATABASE_KEY_FILE (or use PostgreSQL)',
      );
    } else if (c.databaseKey.value.length < 32) {
      problems.push('KLUIS_DATABASE_KEY is too short: use at least 32 random characters');
    }
  }
  if (c.publicOrigin === undefined) {
    problems.push('KLUIS_PUBLIC_ORIGIN is not set: production needs its public https:// address');
  } else if (!c.publicOrigin.startsWith('https://')) {
    problems.push('KLUIS_PUBLIC_ORIGIN must start with https:// in production');
  }
  if (c.tls === undefined && c.trustProxy === false) {
    problems.push(
      'no TLS termination configured: set KLUIS_TLS_CERT_FILE and KLUIS_TLS_KEY_FILE, or KLUIS_TRUST_PROXY for the TLS-terminating proxy in front of Kluis',
    );
  }
  // `true` makes Fastify take the client address from the left of X-Forwarded-For, which any
  // client writes itself: the access log, rate limits and sign-in throttling would believe it
  // (ASVS 15.3.4). Only the proxy's own addresses may be trusted.
  if (c.trustProxy === true) {
    problems.push(
      "KLUIS_TRUST_PROXY=true trusts X-Forwarded-For from any client: name the proxy's address(es) instead, e.g. KLUIS_TRUST_PROXY=127.0.0.1",
    );
  }
  if (!c.cookieSecure) problems.push('KLUIS_COOKIE_SECURE=false is not allowed in production');
  if (c.inboundSmtp && !c.inboundAddresses) {
    problems.push(
      'KLUIS_INBOUND_SMTP_PORT is set: set KLUIS_CONTACT_ADDRESS and KLUIS_PRIVACY_ADDRESS, the addresses it receives for',
    );
  }
  return problems;
}

/** A printable summary without secret values, for `kluis doctor` and the start banner. */
export function describeConfig(c: Config): Record<string, string | number | boolean> {
  return {
    environment: c.env,
    listen: `${c.host}:${c.port}`,
    publicOrigin: c.publicOrigin,
    database: redactUrl(c.databaseUrl),
    keystore: redactUrl(c.keystoreUrl),
    databaseEncryption: c.databaseUrl.startsWith('sqlite:')
      ? c.databaseKey
        ? `SQLCipher (key from ${c.databaseKey.source})`
        : 'NONE'
      : 'field-level (PostgreSQL)',
    masterKey: `set (from ${c.masterKey.source})`,
    tls: c.tls ? 'served by Kluis' : c.trustProxy !== false ? 'terminated by trusted proxy' : 'none',
    cookieSecure: c.cookieSecure,
    sessionIdleMinutes: c.sessionIdleMinutes,
    sessionAbsoluteHours: c.sessionAbsoluteHours,
    requireTotpForOperator: c.requireTotpForOperator,
    accessLogTruncateIpAfterDays: c.accessLog.truncateIpAfterDays,
    accessLogDeleteAfterDays: c.accessLog.deleteAfterDays,
    mail: c.smtpUrl
      ? `${redactUrl(c.smtpUrl)} (${c.transport.smtpRelay})`
      : c.env === 'production'
        ? 'not configured'
        : `development sink on 127.0.0.1:${c.devMailSinkPort}`,
    transport: `web ${c.transport.web}, database ${c.transport.database}, outgoing mail ${c.transport.smtpRelay}, inbound mail ${c.transport.inboundSmtp}`,
    incidentThresholds: `${c.incidents.loginFailureAccounts} accounts failing sign-in in ${c.incidents.loginWindowMinutes} min; ${c.incidents.readRecords} records read by one account in ${c.incidents.readWindowMinutes} min`,
    insecureOverrides: c.insecureOverrides.length === 0 ? 'none' : c.insecureOverrides.join(', '),
  };
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:***@');
}

export function masterKeysOf(config: Pick<Config, 'masterKey' | 'previousMasterKeys'>): Buffer[] {
  const keys = [config.masterKey, ...config.previousMasterKeys].map((s) => decodeMasterKey(s.value));
  return keys.filter((k): k is Buffer => k !== undefined);
}

/** The key store file's SQLCipher key: its own, derived from the database key. */
export function keystoreEncryptionKey(config: Config): string | undefined {
  return config.databaseKey === undefined ? undefined : `${config.databaseKey.value}/keystore`;
}
