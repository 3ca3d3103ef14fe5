/**
 * `kluis setup` (the installation's operator organisation and its first owner, once), `kluis user
 * create` and `kluis user reset`: operator staff accounts from the command line (later operator
 * staff, locked-out owners); refused for a tenant's accounts (P9). The CLI acts as a system actor in the named org, so
 * every change is audited like any other. The one-time password is printed once, never logged.
 */
import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { DB } from '../../db/schema.js';
import { type Actor, roles as allRoles, type Role } from '../../shared/actor.js';
import { type CliIo, sayTo, withKluis } from '../../shared/cli.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import type { Org, OrgsService } from '../orgs/index.js';
import type { AuditService } from '../security/index.js';
import type { AuthService } from './auth-service.js';

/**
 * The CLI in an org: an owner's standing (`users.manage`, `users.manage_owners`), because it is
 * how the first owner of an org is made and how a locked-out owner gets back in. Whoever runs it
 * has the server's keys already; every change is audited as `system:cli:<command>`.
 */
export function cliActor(org: Pick<Org, 'id' | 'kind'>, command: string): Actor {
  return { kind: 'system', orgId: org.id, orgKind: org.kind, reason: `cli:${command}`, roles: ['owner'] };
}

/** What creating a user from the command line (or the demo seed) needs. */
export interface CliAuthDeps {
  readonly services: { readonly auth: AuthService; readonly orgs: Pick<OrgsService, 'findBySlug'> };
}

/**
 * The operator organisation named by slug. A tenant's accounts are the tenant's own (P9): the
 * operator makes none and resets none from the command line; a tenant's first owner is invited
 * (`kluis tenant create`), later users come from the tenant's own owners and admins.
 */
async function operatorBySlug(kluis: CliAuthDeps, slug: string): Promise<Org> {
  const org = await kluis.services.orgs.findBySlug(slug.trim().toLowerCase());
  if (org === undefined)
    throw new AppError('ERR_NOT_FOUND', { message: `no organisation with slug "${slug}"` });
  if (org.kind !== 'operator') {
    throw new AppError('ERR_FORBIDDEN', {
      message: `"${org.slug}" is a tenant: its accounts are its own. Its owners and admins manage them; a new tenant's first owner is invited by kluis tenant create`,
    });
  }
  return org;
}

function parseRoles(values: readonly string[]): Role[] {
  const out: Role[] = [];
  for (const value of values.flatMap((v) => v.split(','))) {
    const role = allRoles.find((r) => r === value.trim());
    if (role === undefined) {
      throw new AppError('ERR_VALIDATION', {
        message: `unknown role "${value}": use ${allRoles.join(', ')}`,
      });
    }
    out.push(role);
  }
  return out;
}

/** Creates a user in the org named by slug, as the CLI (shared with the demo seed). */
export async function createUserFromCli(
  kluis: CliAuthDeps,
  input: { org: string; email: string; name: string; roles: readonly string[]; command?: string },
): Promise<{ userId: string; email: string; oneTimePassword: string }> {
  const org = await operatorBySlug(kluis, input.org);
  const { user, oneTimePassword } = await kluis.services.auth.createUser({
    actor: cliActor(org, input.command ?? 'user-create'),
    orgId: org.id,
    email: input.email,
    displayName: input.name,
    roles: parseRoles(input.roles),
  });
  return { userId: user.id, email: user.email, oneTimePassword };
}

/** What setting up the operator organisation needs. */
export interface CliSetupDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly services: {
    readonly auth: Pick<AuthService, 'createUserIn'>;
    readonly orgs: Pick<OrgsService, 'findOperator' | 'insert'>;
    readonly audit: Pick<AuditService, 'append'>;
  };
}

const operatorSetupInput = z.object({
  name: z.string().trim().min(1, { message: 'field.required' }).max(200, { message: 'field.tooLong' }),
  slug: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'field.invalid' }),
});

/**
 * The installation's operator organisation and its first owner (owner and admin), in one audited
 * transaction; refused once an operator exists (an installation has exactly one). The owner gets
 * a one-time password and, as every operator account, must change it and enrol TOTP at first
 * sign-in.
 */
export async function setupOperator(
  kluis: CliSetupDeps,
  input: { name: string; slug: string; ownerEmail: string; ownerName: string },
): Promise<{ org: Org; email: string; oneTimePassword: string }> {
  const v = parseOrThrow(operatorSetupInput, input);
  const { orgs, auth, audit } = kluis.services;
  const existing = await orgs.findOperator();
  if (existing !== undefined) {
    throw new AppError('ERR_CONFLICT', {
      message: `the operator organisation exists already ("${existing.slug}"): add its staff with kluis user create --org ${existing.slug}`,
    });
  }
  return kluis.db.transaction().execute(async (trx) => {
    const now = kluis.clock.now().toISOString();
    const org = await orgs.insert({ kind: 'operator', name: v.name, slug: v.slug, now, db: trx });
    const actor = cliActor(org, 'setup');
    await audit.append(trx, {
      actor,
      action: 'orgs.operator.created',
      target: { type: 'org', id: org.id },
      meta: { slug: org.slug },
    });
    const { user, oneTimePassword } = await auth.createUserIn(trx, {
      actor,
      orgId: org.id,
      email: input.ownerEmail,
      displayName: input.ownerName,
      roles: ['owner', 'admin'],
    });
    return { org, email: user.email, oneTimePassword };
  });
}

export function registerAuthCommands(program: Command, io: CliIo): void {
  const say = sayTo(io.out);

  program
    .command('setup')
    .description('create the operator organisation and its first owner (once per installation)')
    .requiredOption('--name <name>', 'the operator organisation’s name, as its pages show it')
    .requiredOption('--slug <slug>', 'its short name in paths and commands (a-z, 0-9, -)')
    .requiredOption('--owner-email <email>', 'the first owner’s sign-in address')
    .requiredOption('--owner-name <name>', 'the first owner’s display name')
    .action(async (opts: { name: string; slug: string; ownerEmail: string; ownerName: string }) => {
      const done = await withKluis(io, (kluis) => setupOperator(kluis, opts));
      say(`Operator organisation ${done.org.name} (${done.org.slug}) created.`);
      say(`Owner ${done.email} created.`);
      say(`One-time password: ${done.oneTimePassword}`);
      say('It is shown only now. The owner must choose a new password (and set up two-step');
      say('verification) at first sign-in, then adds colleagues on /staff/users.');
    });

  const user = program.command('user').description('manage staff accounts');

  user
    .command('create')
    .description('create a staff user; prints a one-time password they must change at first sign-in')
    .requiredOption('--org <slug>', 'the organisation (slug)')
    .requiredOption('--email <email>', 'the email address the user signs in with')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--role <role...>', `one or more of: ${allRoles.join(', ')}`)
    .action(async (opts: { org: string; email: string; name: string; role: string[] }) => {
      const created = await withKluis(io, (kluis) =>
        createUserFromCli(kluis, { org: opts.org, email: opts.email, name: opts.name, roles: opts.role }),
      );
      say(`User ${created.email} created (id ${created.userId}).`);
      say(`One-time password: ${created.oneTimePassword}`);
      say('It is shown only now. The user must choose a new password at first sign-in.');
    });

  user
    .command('reset')
    .description('set a new one-time password, lift any lock and end all sessions of a user')
    .requiredOption('--org <slug>', 'the organisation (slug)')
    .requiredOption('--email <email>', 'the user’s email address')
    .option('--totp', 'also remove two-step verification (lost phone); the user enrols again')
    .action(async (opts: { org: string; email: string; totp?: boolean }) => {
      const result = await withKluis(io, async (kluis) => {
        const org = await operatorBySlug(kluis, opts.org);
        const auth = kluis.services.auth;
        const actor = cliActor(org, 'user-reset');
        const found = await auth.findUserByEmail({ actor, email: opts.email });
        if (found === undefined) {
          throw new AppError('ERR_NOT_FOUND', { message: `no user with that email in ${org.slug}` });
        }
        if (opts.totp) await auth.resetTotp({ actor, userId: found.id });
        const { oneTimePassword } = await auth.resetPassword({ actor, userId: found.id });
        return { email: found.email, oneTimePassword };
      });
      say(`Password of ${result.email} reset; all sessions ended.`);
      say(`One-time password: ${result.oneTimePassword}`);
      say('It is shown only now. The user must choose a new password at first sign-in.');
    });
}
