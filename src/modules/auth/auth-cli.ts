/**
 * `kluis user create` and `kluis user reset`: staff accounts from the command line (first
 * admin of a new org, locked-out owners). The CLI acts as a system actor in the named org, so
 * every change is audited like any other. The one-time password is printed once, never logged.
 */
import type { Command } from 'commander';
import { loadConfig } from '../../config/env.js';
import { type Kluis, openKluis } from '../../kluis.js';
import { type Actor, roles as allRoles, type Role } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { createOrgsRepository, type Org } from '../orgs/orgs-repository.js';
import { authServiceFor } from './auth-service.js';

export function cliActor(org: Org, command: string): Actor {
  return { kind: 'system', orgId: org.id, orgKind: org.kind, reason: `cli:${command}`, roles: ['owner'] };
}

async function orgBySlug(kluis: Kluis, slug: string): Promise<Org> {
  const org = await createOrgsRepository(kluis.db).findBySlug(slug.trim().toLowerCase());
  if (org === undefined)
    throw new AppError('ERR_NOT_FOUND', { message: `no organisation with slug "${slug}"` });
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

async function withKluis<T>(fn: (kluis: Kluis) => Promise<T>): Promise<T> {
  const kluis = await openKluis(loadConfig());
  try {
    return await fn(kluis);
  } catch (error) {
    if (error instanceof AppError) {
      // Say what is wrong in words (cli.ts prints the message): the code, the detail, the fields.
      const detail = error.message === error.code ? '' : `: ${error.message}`;
      const fields = error.fields === undefined ? '' : ` (check ${Object.keys(error.fields).join(', ')})`;
      error.message = `${error.code}${detail}${fields}`;
    }
    throw error;
  } finally {
    await kluis.close();
  }
}

/** Creates a user and returns the lines to print (shared with the demo seed). */
export async function createUserFromCli(
  kluis: Kluis,
  input: { org: string; email: string; name: string; roles: readonly string[]; command?: string },
): Promise<{ userId: string; email: string; oneTimePassword: string }> {
  const org = await orgBySlug(kluis, input.org);
  const { user, oneTimePassword } = await authServiceFor(kluis).createUser({
    actor: cliActor(org, input.command ?? 'user-create'),
    orgId: org.id,
    email: input.email,
    displayName: input.name,
    roles: parseRoles(input.roles),
  });
  return { userId: user.id, email: user.email, oneTimePassword };
}

export function registerAuthCommands(program: Command): void {
  const user = program.command('user').description('manage staff accounts');

  user
    .command('create')
    .description('create a staff user; prints a one-time password they must change at first sign-in')
    .requiredOption('--org <slug>', 'the organisation (slug)')
    .requiredOption('--email <email>', 'the email address the user signs in with')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--role <role...>', `one or more of: ${allRoles.join(', ')}`)
    .action(async (opts: { org: string; email: string; name: string; role: string[] }) => {
      const created = await withKluis((kluis) =>
        createUserFromCli(kluis, { org: opts.org, email: opts.email, name: opts.name, roles: opts.role }),
      );
      process.stdout.write(
        [
          `User ${created.email} created (id ${created.userId}).`,
          `One-time password: ${created.oneTimePassword}`,
          'It is shown only now. The user must choose a new password at first sign-in.',
          '',
        ].join('\n'),
      );
    });

  user
    .command('reset')
    .description('set a new one-time password, lift any lock and end all sessions of a user')
    .requiredOption('--org <slug>', 'the organisation (slug)')
    .requiredOption('--email <email>', 'the user’s email address')
    .option('--totp', 'also remove two-step verification (lost phone); the user enrols again')
    .action(async (opts: { org: string; email: string; totp?: boolean }) => {
      const result = await withKluis(async (kluis) => {
        const org = await orgBySlug(kluis, opts.org);
        const auth = authServiceFor(kluis);
        const actor = cliActor(org, 'user-reset');
        const found = await auth.findUserByEmail({ actor, email: opts.email });
        if (found === undefined) {
          throw new AppError('ERR_NOT_FOUND', { message: `no user with that email in ${org.slug}` });
        }
        if (opts.totp) await auth.resetTotp({ actor, userId: found.id });
        const { oneTimePassword } = await auth.resetPassword({ actor, userId: found.id });
        return { email: found.email, oneTimePassword };
      });
      process.stdout.write(
        [
          `Password of ${result.email} reset; all sessions ended.`,
          `One-time password: ${result.oneTimePassword}`,
          'It is shown only now. The user must choose a new password at first sign-in.',
          '',
        ].join('\n'),
      );
    });
}
