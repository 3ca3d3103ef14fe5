/**
 * `kluis user create` and `kluis user reset`: operator staff accounts from the command line (first
 * admin of the installation, locked-out owners); refused for a tenant's accounts (P9). The CLI acts as a system actor in the named org, so
 * every change is audited like any other. The one-time password is printed once, never logged.
 */
import type { Command } from 'commander';
import { type Actor, roles as allRoles, type Role } from '../../shared/actor.js';
import { type CliIo, sayTo, withKluis } from '../../shared/cli.js';
import { AppError } from '../../shared/errors.js';
import type { Org, OrgsService } from '../orgs/index.js';
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

export function registerAuthCommands(program: Command, io: CliIo): void {
  const say = sayTo(io.out);
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
