/**
 * `kluis offboarding start|status|finish` (the operator, once a tenant's agreement has ended) and
 * `kluis certificate verify <file>`: the deletion certificate checked against the installation's
 * audit key (or a published key given with `--public-key`). Prints ids, counts and dates only.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Kluis } from '../../kluis.js';
import type { Actor } from '../../shared/actor.js';
import { type CliIo, sayTo, withKluis } from '../../shared/cli.js';
import { AppError } from '../../shared/errors.js';
import { trustedAuditKeysOf, trustedKeyMap } from '../security/index.js';
import { verifyCertificate } from './offboarding-certificate.js';

/** The CLI acts as the operator's owner, on the tenant named by its slug. */
async function operatorOn(kluis: Kluis, slug: string): Promise<{ actor: Actor; tenantId: string }> {
  const operator = await kluis.services.orgs.findOperator();
  if (operator === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'no operator organisation' });
  const tenant = await kluis.services.orgs.findBySlug(slug);
  if (tenant === undefined || tenant.kind !== 'tenant')
    throw new AppError('ERR_NOT_FOUND', { message: `no tenant with slug ${slug}` });
  return {
    actor: { kind: 'system', orgId: operator.id, orgKind: 'operator', reason: 'cli', roles: ['owner'] },
    tenantId: tenant.id,
  };
}

export function registerOffboardingCommands(program: Command, io: CliIo): void {
  const say = sayTo(io.out);
  const offboarding = program
    .command('offboarding')
    .description('offboard a tenant: export, notice period, deletion and certificate (Art. 28(3)(g))');

  offboarding
    .command('start')
    .description('start offboarding a tenant whose agreement has ended (compiles its export)')
    .requiredOption('--tenant <slug>', 'the tenant')
    .requiredOption('--agreement-ended <date>', 'the day the processing agreement ended (YYYY-MM-DD)')
    .action(async (opts: { tenant: string; agreementEnded: string }) => {
      await withKluis(io, async (kluis) => {
        const { actor, tenantId } = await operatorOn(kluis, opts.tenant);
        const view = await kluis.services.offboarding.start({
          actor,
          tenantId,
          agreementEndedOn: opts.agreementEnded,
        });
        say(`offboarding of ${opts.tenant} started; export ${view.exportBytes ?? 0} bytes`);
        say(`the tenant's owner can download it until ${view.noticeEndsAt}; then its data is destroyed`);
      });
    });

  offboarding
    .command('status')
    .description('the state of a tenant’s offboarding and the rows it would delete')
    .requiredOption('--tenant <slug>', 'the tenant')
    .action(async (opts: { tenant: string }) => {
      await withKluis(io, async (kluis) => {
        const { actor, tenantId } = await operatorOn(kluis, opts.tenant);
        const { offboarding: o, rows } = await kluis.services.offboarding.status(actor, tenantId);
        say(
          o === undefined
            ? 'not offboarding'
            : `${o.status} since ${o.startedAt}, notice ends ${o.noticeEndsAt}`,
        );
        for (const [table, n] of Object.entries(rows)) say(`  ${table}: ${n}`);
      });
    });

  offboarding
    .command('finish')
    .description('destroy the tenant’s data once the notice period has ended; prints the certificate')
    .requiredOption('--tenant <slug>', 'the tenant')
    .option('--early', 'before the notice period ends (only once the owner downloaded the export)')
    .action(async (opts: { tenant: string; early?: boolean }) => {
      await withKluis(io, async (kluis) => {
        const { actor, tenantId } = await operatorOn(kluis, opts.tenant);
        const signed = await kluis.services.offboarding.finish({
          actor,
          tenantId,
          early: opts.early === true,
        });
        io.out.write(`${signed}\n`);
      });
    });

  program
    .command('certificate')
    .description('deletion certificates')
    .command('verify')
    .description('check a deletion certificate’s signature (exit 1 when it does not verify)')
    .argument('<file>')
    .option(
      '--public-key <base64>',
      'a published audit key to trust besides this installation’s',
      collect,
      [],
    )
    .action((file: string, opts: { publicKey: string[] }) => {
      const trusted = trustedKeyMap(trustedAuditKeysOf(io.loadConfig(), opts.publicKey));
      const check = verifyCertificate(readFileSync(file, 'utf8'), trusted);
      if (check.ok) {
        const c = check.certificate;
        const rows = Object.values(c.deleted).reduce((a, b) => a + b, 0);
        say(`OK deletion certificate of ${c.tenant.slug} (${c.tenant.id}), finished ${c.finished_at}`);
        say(
          `${rows} rows deleted, ${c.destroyed_keys.subjects.length} subject keys and the org key destroyed; key ${check.keyId}`,
        );
      } else {
        say(`INVALID ${check.reason}`);
        io.setExitCode(1);
      }
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
