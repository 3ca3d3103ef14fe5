/**
 * The dependency graph of one Kluis process: configuration, databases, keyring, clock, logger,
 * and the services of every module, built once from the module list (modules/index.ts). Built at
 * start (or per test on a fresh database) and handed to the app, the worker and the CLI. No
 * module keeps a global singleton.
 */
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { type Config, keystoreEncryptionKey, masterKeysOf } from './config/env.js';
import { createKeyring } from './crypto/keyring.js';
import { type KeystoreDB, keystoreMigrations } from './crypto/keystore-schema.js';
import { type ChangeFeed, listenForChanges } from './db/change-feed.js';
import { type ChangeStamp, openDatabase } from './db/database.js';
import { currentSchemaOf } from './db/dialect.js';
import { DEFAULT_LEDGER_SCHEMA, openLedgerStore } from './db/ledger-store.js';
import { migrateToLatest } from './db/migrations.js';
import type { DB } from './db/schema.js';
import { buildServices, depsOf, migrationsOf, modules } from './modules/index.js';
import { createJobRegistry, type JobRegistry, type ScheduleInput } from './modules/jobs/index.js';
import { createMailer, guardMailer, type Mailer } from './modules/mail/index.js';
import type { AnyModule, KluisCore, KluisServices } from './modules/module.js';
import { personalDataOf } from './modules/personal-data.js';
import { fieldCatalogue } from './shared/catalogue.js';
import { type Clock, systemClock } from './shared/clock.js';
import { AppError } from './shared/errors.js';
import { createLogger, type Logger } from './shared/logger.js';

export interface Kluis extends KluisCore {
  /** Every module's services, built once for this Kluis. */
  readonly services: KluisServices;
  /** The modules this Kluis was built from (the app registers their routes). */
  readonly modules: readonly AnyModule[];
  /** Every module's job types (the worker runs these). */
  readonly jobRegistry: JobRegistry;
  /** Every module's recurring schedules (ensured when a worker starts). */
  readonly schedules: readonly ScheduleInput[];
  /** PostgreSQL: the listener that keeps the session cache exact across nodes (undefined on SQLite). */
  readonly changeFeed: ChangeFeed | undefined;
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
  /** PostgreSQL schema of the shared erasure ledger and audit witness; defaults to `kluis_ledger`. */
  ledgerSchema?: string;
  migrate?: boolean;
  mailer?: Mailer;
  /** The module list (tests add modules; the default is modules/index.ts). */
  modules?: readonly AnyModule[];
}

/**
 * PostgreSQL's change stamp: what the feed heard from every node, and what this node wrote itself
 * (seen at once, before its notification comes back). Undefined while the feed is down.
 */
function withLocalWrites(feed: ChangeFeed, writeCount: (() => number) | undefined): ChangeStamp {
  return () => {
    const heard = feed.stamp();
    return heard === undefined ? undefined : `${heard}:${writeCount?.() ?? 0}`;
  };
}

export async function openKluis(config: Config, options: OpenKluisOptions = {}): Promise<Kluis> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const list = options.modules ?? modules;
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
  const ledgerStore =
    config.ledgerUrl === undefined || main.dialect !== 'postgres'
      ? undefined
      : await openLedgerStore({
          url: config.ledgerUrl,
          schema: options.ledgerSchema ?? DEFAULT_LEDGER_SCHEMA,
        });
  if (options.migrate ?? true) {
    await migrateToLatest(main.db as Kysely<unknown>, migrationsOf(list));
    await migrateToLatest(keys.db as Kysely<unknown>, keystoreMigrations, 'kluis_keystore_migration');
  }
  // PostgreSQL: the session cache stays exact across nodes by listening for changes.
  const changeFeed =
    main.dialect === 'postgres'
      ? await listenForChanges({
          url: config.databaseUrl,
          schema: await currentSchemaOf(main.db as Kysely<unknown>),
          onError: (error) =>
            logger.warn({ err: error.message }, 'change listener lost; session cache off until it is back'),
        })
      : undefined;
  const redis =
    config.redisUrl === undefined
      ? undefined
      : new Redis(config.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true });
  redis?.on('error', (error: Error) => logger.warn({ err: error.message }, 'redis unavailable'));
  const keyring = createKeyring({ keystore: keys.db, masterKeys: masterKeysOf(config), clock });
  // P14: every send asks the egress registry (the register module, built below) whether the relay
  // is a registered recipient; until it exists, nothing is sent (fail closed).
  let egressCheck: ((relay: string) => Promise<unknown>) | undefined;
  const mailer = guardMailer(options.mailer ?? createMailer(config), async (relay) => {
    if (egressCheck === undefined) {
      throw new AppError('ERR_EGRESS_REFUSED', { message: 'no egress registry in this Kluis' });
    }
    return egressCheck(relay);
  });
  const core: KluisCore = {
    config,
    db: main.db,
    dialect: main.dialect,
    dbFile: main.file,
    changeStamp: changeFeed === undefined ? main.changeStamp : withLocalWrites(changeFeed, main.writeCount),
    keystore: keys.db,
    ledgerStore,
    redis,
    keyring,
    clock,
    logger,
    mailer,
    checkpoint: async () => {
      await main.checkpoint();
      await keys.checkpoint();
    },
    catalogue: fieldCatalogue(),
    personalData: personalDataOf(list),
  };
  const services = buildServices(core, list);
  const register: Partial<KluisServices>['register'] = (services as Partial<KluisServices>).register;
  if (register !== undefined) egressCheck = (relay) => register.egress.checkMailRelay(relay);
  const jobRegistry = createJobRegistry();
  for (const m of list) m.jobs?.(jobRegistry, depsOf(m, core, services));
  return {
    ...core,
    services,
    modules: list,
    jobRegistry,
    schedules: list.flatMap((m) => m.schedules ?? []),
    backupTo: (store, target) => (store === 'database' ? main : keys).backupTo(target),
    changeFeed,
    close: async () => {
      mailer.close();
      await changeFeed?.close();
      await redis?.quit().catch(() => undefined);
      await main.close();
      await keys.close();
      await ledgerStore?.close();
    },
  };
}
