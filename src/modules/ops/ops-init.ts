/**
 * `kluis init`: a production secrets set (P11). The master key and the SQLite database key are
 * written to their own files (mode 0600, in a 0700 folder next to the env file, not inside the
 * data directory: a copy of the data directory must not carry the keys that open it). The env
 * file names them by `*_FILE` and lists what else production needs. Existing keys are never
 * overwritten silently: losing the master key loses every encrypted field.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type Clock, compactStamp } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { fsyncPath, writeFileAtomic } from './ops-files.js';

export interface InitOptions {
  /** The data directory (`--dir`, default ./data). */
  dataDir: string;
  /** The env file to write (`--env-out`, default kluis.env). */
  envFile: string;
  /** Where the key files go (`--secrets-dir`); default: `secrets/` beside the env file. */
  secretsDir?: string | undefined;
  /** Replace existing key files (the old ones are kept as `*.replaced-<time>`). */
  force?: boolean | undefined;
  clock: Clock;
}

export interface InitResult {
  dataDir: string;
  secretsDir: string;
  masterKeyFile: string;
  databaseKeyFile: string;
  envFile: string;
  /** Files that existed and were moved aside (only with force). */
  keptAside: string[];
}

/** 32 random bytes as base64: the format `decodeMasterKey` expects. */
export function generateMasterKey(): string {
  return randomBytes(32).toString('base64');
}

/** 32 random bytes as base64url (43 characters; production wants at least 32). */
export function generateDatabaseKey(): string {
  return randomBytes(32).toString('base64url');
}

/** Creates the secret files and the env file; throws ERR_CONFLICT rather than overwrite keys. */
export function initSecrets(options: InitOptions): InitResult {
  const dataDir = resolve(options.dataDir);
  const envFile = resolve(options.envFile);
  const secretsDir = resolve(options.secretsDir ?? join(dirname(envFile), 'secrets'));
  const masterKeyFile = join(secretsDir, 'master.key');
  const databaseKeyFile = join(secretsDir, 'database.key');
  const databaseFiles = [join(dataDir, 'kluis.db'), join(dataDir, 'kluis-keys.db')];

  const blockers: string[] = [];
  if (existsSync(masterKeyFile)) {
    blockers.push(
      `${masterKeyFile} exists: it is the master key, and losing it makes every encrypted field unreadable for good`,
    );
  }
  if (existsSync(databaseKeyFile)) {
    blockers.push(
      `${databaseKeyFile} exists: it is the database key, without it the database cannot be opened`,
    );
  }
  for (const db of databaseFiles) {
    if (existsSync(db)) blockers.push(`${db} exists: new keys cannot open a database made with other keys`);
  }
  if (existsSync(envFile)) blockers.push(`${envFile} exists (it may hold your settings)`);
  if (blockers.length > 0 && options.force !== true) {
    throw new AppError('ERR_CONFLICT', {
      message: [
        'init refuses to overwrite existing keys or configuration:',
        ...blockers.map((b) => `  - ${b}`),
        'Nothing was written. Keep the existing files (back up the keys first!), or run again with --force:',
        'existing key and env files are then kept beside the new ones as *.replaced-<time>, never deleted.',
      ].join('\n'),
    });
  }

  const stamp = compactStamp(options.clock.now());
  const keptAside: string[] = [];
  for (const file of [masterKeyFile, databaseKeyFile, envFile]) {
    if (!existsSync(file)) continue;
    const aside = `${file}.replaced-${stamp}`;
    renameSync(file, aside);
    keptAside.push(aside);
  }

  ensureDir(dataDir);
  ensureDir(secretsDir);
  ensureDir(dirname(envFile), 0o755);
  writeSecretFile(masterKeyFile, generateMasterKey());
  writeSecretFile(databaseKeyFile, generateDatabaseKey());
  fsyncPath(secretsDir);
  writeFileAtomic(
    envFile,
    envFileText({ dataDir, masterKeyFile, databaseKeyFile, at: options.clock.now().toISOString() }),
    0o600,
  );
  return { dataDir, secretsDir, masterKeyFile, databaseKeyFile, envFile, keptAside };
}

/** Creates a folder owner-only; an existing folder is left as it is (doctor reports its mode). */
function ensureDir(dir: string, mode = 0o700): void {
  if (existsSync(dir)) return;
  mkdirSync(dir, { recursive: true, mode });
  chmodSync(dir, mode);
}

/** Exclusive create (never clobbers a file that appeared meanwhile), mode 0600, fsynced. */
function writeSecretFile(file: string, value: string): void {
  const fd = openSync(file, 'wx', 0o600);
  try {
    writeSync(fd, `${value}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(file, 0o600);
}

function envValue(value: string): string {
  return /[\s#"']/.test(value) ? `"${value}"` : value;
}

function envFileText(v: {
  dataDir: string;
  masterKeyFile: string;
  databaseKeyFile: string;
  at: string;
}): string {
  return `# Kluis configuration, written by \`kluis init\` at ${v.at}.
# Use it as KLUIS_CONFIG_FILE=<this file> (variables set in the environment win) or as a systemd
# EnvironmentFile. Check it with: KLUIS_CONFIG_FILE=<this file> kluis doctor
#
# The two key files below are the ONLY copies of the keys. Back them up now, somewhere other
# than the database backups: without the master key every encrypted field is lost, and a backup
# that travels with its key protects nothing.

NODE_ENV=production
KLUIS_DATA_DIR=${envValue(v.dataDir)}
KLUIS_DATABASE_URL=${envValue(`sqlite:${join(v.dataDir, 'kluis.db')}`)}
# The key store (org and subject keys) is kluis-keys.db beside the database, apart from it so that
# erasure reaches old backups; KLUIS_KEYSTORE_URL moves it. Left unset so that a switch to
# PostgreSQL below takes the key store along (schema kluis_keys).
KLUIS_MASTER_KEY_FILE=${envValue(v.masterKeyFile)}
KLUIS_DATABASE_KEY_FILE=${envValue(v.databaseKeyFile)}

# --- Fill in before \`kluis serve\`: production refuses to start without them ---
# The public https:// address people use to reach Kluis:
# KLUIS_PUBLIC_ORIGIN=https://kluis.example.nl
#
# TLS, one of the two:
# (a) a reverse proxy in front of Kluis terminates TLS; name its address(es) or CIDR(s),
#     comma-separated, so Kluis trusts its X-Forwarded-* headers:
# KLUIS_TRUST_PROXY=127.0.0.1
# (b) Kluis serves TLS itself:
# KLUIS_TLS_CERT_FILE=/etc/kluis/tls/fullchain.pem
# KLUIS_TLS_KEY_FILE=/etc/kluis/tls/privkey.pem
#
# Where Kluis listens (default 127.0.0.1:3000, right for a proxy on the same machine):
# KLUIS_HOST=127.0.0.1
# KLUIS_PORT=3000
#
# Outgoing mail, over TLS (smtps:// on 465, or smtp://…:587/?requireTLS=true for STARTTLS):
# KLUIS_SMTP_URL=smtps://kluis%40example.nl:PASSWORD@smtp.example.nl:465
# KLUIS_MAIL_FROM=Kluis <kluis@example.nl>

# --- PostgreSQL instead of the embedded SQLite file (see docs/operations.md); to another host
# only over TLS that checks the server (sslmode=verify-full) ---
# KLUIS_DATABASE_URL=postgres://kluis:PASSWORD@db.example.nl:5432/kluis?sslmode=verify-full
# The key store then lives in the schema kluis_keys, or set KLUIS_KEYSTORE_URL to another database.
`;
}
