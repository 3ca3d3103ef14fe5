/**
 * The shape of a domain module. Each module has one manifest (`<module>/index.ts`) declaring
 * everything it contributes; `modules/index.ts` is the one list of modules, and whatever gathers
 * contributions (migrations, tables, the field catalogue, messages, services, jobs, schedules,
 * personal-data providers, CLI commands, navigation, dashboard panels, routes) reads that list.
 * A module's public surface is its manifest file: other modules import nothing else from it.
 *
 * Services are built once per running Kluis, in list order: a module's `services` receives the
 * core (configuration, databases, keyring, clock, mailer, …) and exactly the services it names in
 * `needs`, built by modules earlier in the list. Routes, jobs, panels and commands receive the
 * same narrow dependencies (their module's own services plus its needs), never the whole graph.
 * See docs/architecture.md and docs/decisions/0014-module-manifests.md.
 */
import type { Command } from 'commander';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Kysely, Migration } from 'kysely';
import { z } from 'zod';
import type { Config } from '../config/env.js';
import type { Keyring } from '../crypto/keyring.js';
import type { KeystoreDB } from '../crypto/keystore-schema.js';
import type { ChangeStamp, DialectName } from '../db/database.js';
import type { LedgerStore } from '../db/ledger-store.js';
import type { DB } from '../db/schema.js';
import type { Actor } from '../shared/actor.js';
import type { Catalogue, ModuleCatalogue } from '../shared/catalogue.js';
import type { CliIo } from '../shared/cli.js';
import type { Clock } from '../shared/clock.js';
import type { HtmlValue } from '../shared/html/html.js';
import type { NavItem } from '../shared/html/layout.js';
import type { RouteKit } from '../shared/http/route-kit.js';
import type { Locale, Translate } from '../shared/i18n/messages.js';
import type { Logger } from '../shared/logger.js';
import type { Permission } from '../shared/permissions.js';
import type { JobRegistry, ScheduleInput } from './jobs/index.js';
import type { Mailer } from './mail/index.js';
import type { PersonalDataProvider, PersonalDataRegistry } from './personal-data.js';

export type { PersonalDataRegistry } from './personal-data.js';

/**
 * The services of one running Kluis, by name. Each module adds its own entries to this interface
 * from its manifest (`declare module '../module.js' { interface KluisServices { … } }`).
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging from each manifest
export interface KluisServices {}

export type ServiceName = keyof KluisServices;

/** What every module may use: the parts of a running Kluis that belong to no module. */
export interface KluisCore {
  readonly config: Config;
  readonly db: Kysely<DB>;
  readonly dialect: DialectName;
  /** The SQLite file of the main database (undefined on PostgreSQL). */
  readonly dbFile: string | undefined;
  /** The main database's change stamp (see db/database.ts): lets hot-path caches stay exact. */
  readonly changeStamp: ChangeStamp;
  readonly keystore: Kysely<KeystoreDB>;
  /**
   * PostgreSQL: the shared, append-only home of the erasure ledger and the audit witness
   * (db/ledger-store.ts). Undefined on SQLite, which keeps them as files in the data directory.
   */
  readonly ledgerStore: LedgerStore | undefined;
  /**
   * Redis (KLUIS_REDIS_URL), where a cluster keeps its request and submission rate limits so
   * every node counts against one budget. Undefined: each node counts on its own.
   */
  readonly redis: Redis | undefined;
  readonly keyring: Keyring;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly mailer: Mailer;
  /** Checkpoints SQLite WAL files (TRUNCATE); used after erasure and before backups. */
  checkpoint(): Promise<void>;
  /** The field catalogue gathered from every module (P5). */
  readonly catalogue: Catalogue;
  /** Every module's personal-data provider, in module order, with the tables' owners. */
  readonly personalData: PersonalDataRegistry;
}

/** The dependencies handed to a module: the core and the named services. */
export type ModuleDeps<N extends ServiceName = never> = KluisCore & Pick<KluisServices, N>;

export interface DashboardPanelContext {
  readonly actor: Actor;
  readonly t: Translate;
  readonly locale: Locale;
}

export interface DashboardPanel {
  readonly id: string;
  /** Shown only to actors holding this permission (everyone when omitted). */
  readonly permission?: Permission;
  render(ctx: DashboardPanelContext): Promise<HtmlValue>;
}

/** A message catalogue: Dutch is the source, English typed against it in the module. */
export interface ModuleMessages {
  readonly nl: Readonly<Record<string, string>>;
  readonly en: Readonly<Record<string, string>>;
}

export interface ModuleManifest<P extends ServiceName = ServiceName, N extends ServiceName = ServiceName> {
  readonly name: string;
  /** Forward-only migrations (`NNNN_module_what`, in the module's number range). */
  readonly migrations?: Readonly<Record<string, Migration>>;
  /** The tables this module creates; only this module's queries may name them. */
  readonly tables?: readonly (keyof DB & string)[];
  /** The personal fields of those tables and the columns that hold none (P5). */
  readonly catalogue?: ModuleCatalogue;
  readonly messages?: ModuleMessages;
  /** The services this module builds (entries of `KluisServices`). */
  readonly provides?: readonly P[];
  /** Services of other modules this module uses (built earlier in the module list). */
  readonly needs?: readonly N[];
  readonly services?: (deps: ModuleDeps<N>) => Pick<KluisServices, P>;
  /**
   * What this module knows about data subjects in its tables: export, retention, erasure. A plain
   * value (see personal-data.ts): the ledger replay after a restore runs it without a Kluis.
   */
  readonly personalData?: PersonalDataProvider;
  readonly jobs?: (registry: JobRegistry, deps: ModuleDeps<P | N>) => void;
  readonly schedules?: readonly ScheduleInput[];
  readonly cli?: (program: Command, io: CliIo) => void;
  readonly navigation?: readonly NavItem[];
  readonly panels?: (deps: ModuleDeps<P | N>) => readonly DashboardPanel[];
  /** Hooks at the root of the app (e.g. turning a session cookie into the request's actor). */
  readonly setup?: (app: FastifyInstance, deps: ModuleDeps<P | N>) => void | Promise<void>;
  readonly routes?: (kit: RouteKit, deps: ModuleDeps<P | N>) => void | Promise<void>;
}

/** A manifest with its service names checked against what its functions take and return. */
export function defineModule<const P extends ServiceName = never, const N extends ServiceName = never>(
  manifest: ModuleManifest<P, N>,
): ModuleManifest<P, N> {
  return manifest;
}

/**
 * A module's recurring job without a payload, declared once: the handler (`jobs`) and its schedule
 * (`schedules`, named after the job type) come from one call, so the schedule cannot name a type
 * nobody registers. `run` returns what the job logs under `done` (counts, never personal values).
 * Spread into the manifest: `...recurringJob(TYPE, { dailyAt: '03:15' }, 'pruned', (deps) => …)`.
 */
export function recurringJob<D>(
  type: string,
  cadence: { readonly everySeconds: number } | { readonly dailyAt: string },
  done: string,
  run: (deps: D) => Promise<object>,
): { jobs(registry: JobRegistry, deps: D): void; readonly schedules: readonly ScheduleInput[] } {
  return {
    jobs(registry, deps) {
      registry.register(type, z.object({}), async (_payload, ctx) => {
        ctx.logger.info(await run(deps), done);
      });
    },
    schedules: [{ name: type, type, ...cadence }],
  };
}

/**
 * Any module, as the gatherers see it: the same parts with method signatures, so that every
 * manifest, whatever services it provides and needs, is one (each is checked where defined).
 */
export interface AnyModule {
  readonly name: string;
  readonly migrations?: Readonly<Record<string, Migration>>;
  readonly tables?: readonly (keyof DB & string)[];
  readonly catalogue?: ModuleCatalogue;
  readonly messages?: ModuleMessages;
  readonly provides?: readonly ServiceName[];
  readonly needs?: readonly ServiceName[];
  services?(deps: ModuleDeps<ServiceName>): Partial<KluisServices>;
  readonly personalData?: PersonalDataProvider;
  jobs?(registry: JobRegistry, deps: ModuleDeps<ServiceName>): void;
  readonly schedules?: readonly ScheduleInput[];
  cli?(program: Command, io: CliIo): void;
  readonly navigation?: readonly NavItem[];
  panels?(deps: ModuleDeps<ServiceName>): readonly DashboardPanel[];
  setup?(app: FastifyInstance, deps: ModuleDeps<ServiceName>): void | Promise<void>;
  routes?(kit: RouteKit, deps: ModuleDeps<ServiceName>): void | Promise<void>;
}
