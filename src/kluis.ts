/**
 * The dependency graph of one Kluis process: configuration, databases, keyring, clock, logger.
 * Built once at start (or per test on a fresh database) and handed to the app, the worker and
 * the CLI. No module keeps a global singleton.
 */
import type { Kysely } from 'kysely';
import { type Config, decodeMasterKey } from './config/env.js';
import { createKeyring, type Keyring } from './crypto/keyring.js';
import { type KeystoreDB, keystoreMigrations } from './crypto/keystore-schema.js';
import { type ChangeStamp, type DialectName, openDatabase } from './db/database.js';
import { mainMigrations, migrateToLatest } from './db/migrations.js';
import type { DB } from './db/schema.js';
import { createMailer, type Mailer } from './modules/mail/mailer.js';
import { type Clock, systemClock } from './shared/clock.js';
import { createLogger, type Logger } from './shared/logger.js';

export interface Kluis {
  readonly config: Config;
  readonly db: Kysely<DB>;
  readonly dialect: DialectName;
  /** The SQLite file of the main database (undefined on PostgreSQL). */
  readonly dbFile: string | undefined;
  /** The main database's change stamp (see db/database.ts): lets hot-path caches stay exact. */
  readonly changeStamp: ChangeStamp;
  readonly keystore: Kysely<KeystoreDB>;
  readonly keyring: Keyring;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly mailer: Mailer;
  /** Checkpoints SQLite WAL files (TRUNCATE); used after erasure and before backups. */
  checkpoint(): Promise<void>;
  /** SQLite: a consistent online copy of the main database or the key store, still encrypted (`kluis backup`). */
  backupTo(store: 'database' | 'keystore', target: string): Promise<void>;
  close(): Promise<void>;
}

export interface OpenKluisOptions {
  clock?: Clock;
  logger?: Logger;
  /** PostgreSQL schema for the main database (tests use one per run). */
  schema?: string;
  /** PostgreSQL schema for the key store; defaults to `kluis_keys` (or `<schema>_keys`). */
  keystoreSchema?: string;
  migrate?: boolean;
  mailer?: Mailer;
}

export function masterKeysOf(config: Config): Buffer[] {
  const keys = [config.masterKey, ...config.previousMasterKeys].map((s) => decodeMasterKey(s.value));
  return keys.filter((k): k is Buffer => k !== undefined);
}

/** The key store file's SQLCipher key: its own, derived from the database key. */
export function keystoreEncryptionKey(config: Config): string | undefined {
  return config.databaseKey === undefined ? undefined : `${config.databaseKey.value}/keystore`;
}

export async function openKluis(config: Config, options: OpenKluisOptions = {}): Promise<Kluis> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const main = await openDatabase<DB>({
    url: config.databaseUrl,
    encryptionKey: config.databaseKey?.value,
    schema: options.schema,
  });
  const sameServer = config.keystoreUrl === config.databaseUrl;
  const keys = await openDatabase<KeystoreDB>({
    url: config.keystoreUrl,
    // The key store file gets its own key, derived from the database key, and secure_delete.
    encryptionKey: keystoreEncryptionKey(config),
    schema:
      main.dialect === 'postgres'
        ? (options.keystoreSchema ?? (sameServer ? `${options.schema ?? 'kluis'}_keys` : undefined))
        : undefined,
    secureDelete: true,
    poolSize: 4,
  });
  if (options.migrate ?? true) {
    await migrateToLatest(main.db as Kysely<unknown>, mainMigrations);
    await migrateToLatest(keys.db as Kysely<unknown>, keystoreMigrations, 'kluis_keystore_migration');
  }
  const keyring = createKeyring({ keystore: keys.db, masterKeys: masterKeysOf(config), clock });
  const mailer = options.mailer ?? createMailer(config);
  return {
    config,
    db: main.db,
    dialect: main.dialect,
    dbFile: main.file,
    changeStamp: main.changeStamp,
    keystore: keys.db,
    keyring,
    clock,
    logger,
    mailer,
    checkpoint: async () => {
      await main.checkpoint();
      await keys.checkpoint();
    },
    backupTo: (store, target) => (store === 'database' ? main : keys).backupTo(target),
    close: async () => {
      mailer.close();
      await main.close();
      await keys.close();
    },
  };
}
