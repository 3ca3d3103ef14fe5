/**
 * The one list of modules, in dependency order: a module's services may use only services of
 * modules above it (its manifest names them in `needs`). Everything that gathers what modules
 * contribute — migrations, tables, the field catalogue, messages, services, jobs, schedules,
 * personal-data providers, CLI commands, navigation, dashboard panels, routes — reads this list.
 * See module.ts for the manifest's parts.
 */
import type { Migration } from 'kysely';
import { installMainMigrations } from '../db/migrations.js';
import { installCatalogue } from '../shared/catalogue.js';
import type { NavItem } from '../shared/html/layout.js';
import { installMessages } from '../shared/i18n/messages.js';
import { authModule } from './auth/index.js';
import { disclosureModule } from './disclosure/index.js';
import { homeModule } from './home/index.js';
import { incidentsModule } from './incidents/index.js';
import { intakeModule } from './intake/index.js';
import { jobsModule } from './jobs/index.js';
import { mailModule } from './mail/index.js';
import type { AnyModule, KluisCore, KluisServices, ServiceName } from './module.js';
import { offboardingModule } from './offboarding/index.js';
import { opendsrModule } from './opendsr/index.js';
import { opsModule } from './ops/index.js';
import { orgsModule } from './orgs/index.js';
import { installPersonalData } from './personal-data.js';
import { registerModule } from './register/index.js';
import { relationsModule } from './relations/index.js';
import { retentionModule } from './retention/index.js';
import { rightsModule } from './rights/index.js';
import { securityModule } from './security/index.js';
import { statementModule } from './statement/index.js';
import { subjectsModule } from './subjects/index.js';
import { tenantsModule } from './tenants/index.js';

export type { AnyModule, KluisServices } from './module.js';

export const modules: readonly AnyModule[] = [
  orgsModule,
  securityModule,
  jobsModule,
  mailModule,
  authModule,
  retentionModule,
  subjectsModule,
  registerModule,
  tenantsModule,
  statementModule,
  relationsModule,
  rightsModule,
  opendsrModule,
  intakeModule,
  offboardingModule,
  disclosureModule,
  incidentsModule,
  opsModule,
  homeModule,
];

for (const m of modules) {
  if (m.messages !== undefined) installMessages(m.messages.nl, m.messages.en);
}
installCatalogue(modules.flatMap((m) => (m.catalogue === undefined ? [] : [m.catalogue])));
installMainMigrations(migrationsOf(modules));
installPersonalData(modules);

/** Every module's migrations; names are unique across modules (`NNNN_module_what`). */
export function migrationsOf(list: readonly AnyModule[]): Record<string, Migration> {
  const out: Record<string, Migration> = {};
  for (const m of list) {
    for (const [name, migration] of Object.entries(m.migrations ?? {})) {
      if (Object.hasOwn(out, name)) throw new Error(`migration ${name} is declared by two modules`);
      out[name] = migration;
    }
  }
  return out;
}

/** Which module owns each table (from the manifests). */
export function tableOwners(list: readonly AnyModule[] = modules): ReadonlyMap<string, string> {
  const owners = new Map<string, string>();
  for (const m of list) {
    for (const table of m.tables ?? []) {
      const other = owners.get(table);
      if (other !== undefined) throw new Error(`table ${table} is claimed by ${other} and ${m.name}`);
      owners.set(table, m.name);
    }
  }
  return owners;
}

/**
 * Builds every module's services once, in list order. A module gets the core and only the
 * services it names in `needs`, each of which an earlier module must have built.
 */
export function buildServices(core: KluisCore, list: readonly AnyModule[] = modules): KluisServices {
  const built: Partial<Record<ServiceName, unknown>> = {};
  for (const m of list) {
    if (m.services === undefined) continue;
    const deps: Record<string, unknown> = { ...core };
    for (const need of m.needs ?? []) {
      if (!Object.hasOwn(built, need)) {
        throw new Error(`module ${m.name} needs the ${need} service, which no earlier module provides`);
      }
      deps[need] = built[need];
    }
    const provided: Partial<Record<ServiceName, unknown>> = m.services(
      deps as unknown as Parameters<NonNullable<AnyModule['services']>>[0],
    );
    for (const name of m.provides ?? []) {
      if (Object.hasOwn(built, name)) throw new Error(`service ${name} is provided by two modules`);
      if (!Object.hasOwn(provided, name))
        throw new Error(`module ${m.name} does not build its ${name} service`);
      built[name] = provided[name];
    }
  }
  return built as KluisServices;
}

/** The dependencies a module's routes, jobs and panels get: the core, its own services and its needs. */
export function depsOf(
  m: AnyModule,
  core: KluisCore,
  services: KluisServices,
): Parameters<NonNullable<AnyModule['routes']>>[1] {
  const deps: Record<string, unknown> = { ...core };
  for (const name of [...(m.provides ?? []), ...(m.needs ?? [])]) deps[name] = services[name];
  return deps as unknown as Parameters<NonNullable<AnyModule['routes']>>[1];
}

/** The staff navigation, in module order. */
export function navigationOf(list: readonly AnyModule[] = modules): readonly NavItem[] {
  return list.flatMap((m) => m.navigation ?? []);
}
