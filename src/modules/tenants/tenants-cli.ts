/**
 * `kluis tenant create|list|show|suspend|activate|invite` and `kluis tenant host|address
 * add|remove`: the operator's tenants from the command line. The CLI acts as a system actor of
 * the operator org with the owner's standing (whoever runs it holds the server's keys); every
 * change is audited as `system:cli:tenant-<command>`. Output is metadata and counts only: no
 * address of a person is printed (the owner's address is written once, into the invitation).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import type { Kluis } from '../../kluis.js';
import type { Actor } from '../../shared/actor.js';
import { type CliIo, sayTo, withKluis } from '../../shared/cli.js';
import { AppError } from '../../shared/errors.js';
import { isLocale } from '../../shared/i18n/messages.js';
import { type Mailbox, mailboxes } from '../orgs/index.js';
import { type AgreementOnRecord, plusAddress, type TenantView, tenantLanguages } from './tenants-service.js';

async function operatorActor(kluis: Kluis, command: string): Promise<Actor> {
  const operator = await kluis.services.orgs.findOperator();
  if (operator === undefined) {
    throw new AppError('ERR_NOT_FOUND', { message: 'no operator organisation yet: run kluis init first' });
  }
  return {
    kind: 'system',
    orgId: operator.id,
    orgKind: 'operator',
    reason: `cli:tenant-${command}`,
    roles: ['owner', 'admin'],
  };
}

/** The lines `tenant show` prints (and `create` after it). */
export function describeTenant(v: TenantView): string[] {
  return [
    `Tenant ${v.slug} (${v.name})`,
    `  id:         ${v.id}`,
    `  status:     ${v.status}`,
    `  KvK:        ${v.kvk ?? '-'}`,
    `  country:    ${v.country ?? '-'}`,
    `  languages:  ${v.languages.join(', ') || '-'}`,
    `  agreement:  ${v.agreement === undefined ? 'none (the tenant cannot be active)' : `${v.agreement.kind}, version ${v.agreement.version}`}`,
    `  TOTP:       ${v.requireTotp ? 'required for all staff' : 'not required'}`,
    `  staff:      ${v.staffCount}`,
    `  hosts:      ${v.hosts.join(', ') || '-'}`,
    `  addresses:  ${v.addresses.map((a) => `${a.address} (${a.mailbox})`).join(', ') || '-'}`,
    `  created:    ${v.createdAt}`,
  ];
}

function agreementFrom(opts: { agreement?: string; standardAgreement?: boolean }): AgreementOnRecord {
  if ((opts.agreement === undefined) === (opts.standardAgreement !== true)) {
    throw new AppError('ERR_VALIDATION', {
      message: 'give exactly one of --agreement <signed.pdf> and --standard-agreement',
    });
  }
  if (opts.agreement === undefined) return { kind: 'standard' };
  return {
    kind: 'document',
    document: {
      filename: basename(opts.agreement),
      contentType: 'application/pdf',
      data: readFileSync(opts.agreement),
    },
  };
}

function mailboxOf(value: string): Mailbox {
  const found = mailboxes.find((m) => m === value);
  if (found === undefined) throw new AppError('ERR_VALIDATION', { message: 'mailbox is contact or privacy' });
  return found;
}

interface CreateOptions {
  slug: string;
  name: string;
  ownerEmail: string;
  ownerName?: string;
  agreement?: string;
  standardAgreement?: boolean;
  agreementVersion: string;
  signedOn?: string;
  kvk?: string;
  country?: string;
  languages?: string;
}

function registerAddressCommands(tenant: Command, io: CliIo): void {
  const say = sayTo(io.out);
  const address = tenant.command('address').description('inbound mail addresses of a tenant');
  address
    .command('add')
    .description('route mail for an address to a tenant’s contact or privacy mailbox')
    .requiredOption('--slug <slug>', 'the tenant')
    .option('--address <address>', 'the address (e.g. privacy@tenant.example)')
    .option('--mailbox <mailbox>', 'contact or privacy', 'contact')
    .option('--plus', 'add contact+<slug>@ and privacy+<slug>@ on the operator’s own addresses')
    .action(async (opts: { slug: string; address?: string; mailbox: string; plus?: boolean }) => {
      const added = await withKluis(io, async (kluis) => {
        const actor = await operatorActor(kluis, 'address-add');
        const tenants = kluis.services.tenants;
        if (opts.plus) {
          const { contactAddress, privacyAddress } = kluis.config.intake;
          if (contactAddress === undefined || privacyAddress === undefined) {
            throw new AppError('ERR_VALIDATION', {
              message: 'KLUIS_CONTACT_ADDRESS and KLUIS_PRIVACY_ADDRESS must be set for --plus',
            });
          }
          return [
            await tenants.addAddress(actor, opts.slug, plusAddress(contactAddress, opts.slug), 'contact'),
            await tenants.addAddress(actor, opts.slug, plusAddress(privacyAddress, opts.slug), 'privacy'),
          ];
        }
        if (opts.address === undefined)
          throw new AppError('ERR_VALIDATION', { message: 'give --address or --plus' });
        return [await tenants.addAddress(actor, opts.slug, opts.address, mailboxOf(opts.mailbox))];
      });
      for (const a of added) say(`Mail for ${a} now goes to tenant ${opts.slug}.`);
    });
  address
    .command('remove')
    .requiredOption('--slug <slug>', 'the tenant')
    .requiredOption('--address <address>', 'the address')
    .action(async (opts: { slug: string; address: string }) => {
      await withKluis(io, async (kluis) =>
        kluis.services.tenants.removeAddress(
          await operatorActor(kluis, 'address-remove'),
          opts.slug,
          opts.address,
        ),
      );
      say(`Address ${opts.address} removed from tenant ${opts.slug}.`);
    });
}

function registerHostCommands(tenant: Command, io: CliIo): void {
  const say = sayTo(io.out);
  const host = tenant.command('host').description('host names of a tenant’s public pages');
  host
    .command('add')
    .requiredOption('--slug <slug>', 'the tenant')
    .requiredOption('--host <host>', 'the host name, e.g. privacy.tenant.example')
    .action(async (opts: { slug: string; host: string }) => {
      const added = await withKluis(io, async (kluis) =>
        kluis.services.tenants.addHost(await operatorActor(kluis, 'host-add'), opts.slug, opts.host),
      );
      say(`Host ${added} now serves the public pages of tenant ${opts.slug}.`);
    });
  host
    .command('remove')
    .requiredOption('--slug <slug>', 'the tenant')
    .requiredOption('--host <host>', 'the host name')
    .action(async (opts: { slug: string; host: string }) => {
      await withKluis(io, async (kluis) =>
        kluis.services.tenants.removeHost(await operatorActor(kluis, 'host-remove'), opts.slug, opts.host),
      );
      say(`Host ${opts.host} removed from tenant ${opts.slug}.`);
    });
}

export function registerTenantCommands(program: Command, io: CliIo): void {
  const say = sayTo(io.out);
  const tenant = program.command('tenant').description('the operator’s tenants (clients as controllers)');

  tenant
    .command('create')
    .description('onboard a tenant with its processor agreement; mails the invitation to its first owner')
    .requiredOption('--slug <slug>', 'short name used in paths and addresses')
    .requiredOption('--name <legal name>', 'the tenant’s legal name')
    .requiredOption('--owner-email <address>', 'the first owner, who gets the invitation')
    .option('--owner-name <name>', 'the first owner’s name (default: the legal name)')
    .option('--agreement <file.pdf>', 'the signed processor agreement (PDF)')
    .option('--standard-agreement', 'the tenant accepted the operator’s standard agreement')
    .option('--agreement-version <version>', 'version of the agreement', '1.0')
    .option('--signed-on <date>', 'date the uploaded agreement was signed (YYYY-MM-DD)')
    .option('--kvk <number>', 'Chamber of Commerce number (8 digits)')
    .option('--country <code>', 'ISO country code', 'NL')
    .option('--languages <list>', `comma-separated: ${tenantLanguages.join(', ')}`, 'nl')
    .action(async (opts: CreateOptions) => {
      const agreement = agreementFrom(opts);
      const languages = (opts.languages ?? 'nl').split(',').map((l) => l.trim());
      const created = await withKluis(io, async (kluis) =>
        kluis.services.tenants.create({
          actor: await operatorActor(kluis, 'create'),
          values: {
            slug: opts.slug,
            name: opts.name,
            ownerEmail: opts.ownerEmail,
            ownerName: opts.ownerName,
            kvk: opts.kvk,
            country: opts.country,
            languages: languages.filter((l) => isLocale(l)),
            agreementVersion: opts.agreementVersion,
            signedOn: opts.signedOn,
          },
          agreement,
          locale: isLocale(languages[0] ?? '') && languages[0] === 'en' ? 'en' : 'nl',
        }),
      );
      for (const line of describeTenant(created)) say(line);
      say('The invitation to the first owner is queued; the worker sends it.');
    });

  tenant
    .command('list')
    .description('every tenant with status and counts')
    .action(async () => {
      const list = await withKluis(io, async (kluis) =>
        kluis.services.tenants.list(await operatorActor(kluis, 'list')),
      );
      if (list.length === 0) say('No tenants.');
      for (const v of list) {
        say(
          `${v.slug}\t${v.status}\t${v.name}\tstaff ${v.staffCount}\thosts ${v.hosts.length}\taddresses ${v.addresses.length}\tagreement ${v.agreement?.kind ?? 'none'}`,
        );
      }
    });

  tenant
    .command('show')
    .requiredOption('--slug <slug>', 'the tenant')
    .action(async (opts: { slug: string }) => {
      const v = await withKluis(io, async (kluis) =>
        kluis.services.tenants.show(await operatorActor(kluis, 'show'), opts.slug),
      );
      for (const line of describeTenant(v)) say(line);
    });

  tenant
    .command('suspend')
    .description('stop a tenant’s pages, inbound mail and sign-ins; ends its staff’s sessions')
    .requiredOption('--slug <slug>', 'the tenant')
    .action(async (opts: { slug: string }) => {
      await withKluis(io, async (kluis) =>
        kluis.services.tenants.suspend(await operatorActor(kluis, 'suspend'), opts.slug),
      );
      say(`Tenant ${opts.slug} suspended.`);
    });

  tenant
    .command('activate')
    .description('make a pending or suspended tenant active (only with its agreement on record)')
    .requiredOption('--slug <slug>', 'the tenant')
    .action(async (opts: { slug: string }) => {
      await withKluis(io, async (kluis) =>
        kluis.services.tenants.activate(await operatorActor(kluis, 'activate'), opts.slug),
      );
      say(`Tenant ${opts.slug} is active.`);
    });

  tenant
    .command('invite')
    .description('invite an owner of a tenant again (the first invitation expired unused)')
    .requiredOption('--slug <slug>', 'the tenant')
    .requiredOption('--email <address>', 'the owner’s address')
    .action(async (opts: { slug: string; email: string }) => {
      await withKluis(io, async (kluis) =>
        kluis.services.tenants.inviteOwner({
          actor: await operatorActor(kluis, 'invite'),
          slug: opts.slug,
          email: opts.email,
          locale: 'nl',
        }),
      );
      say(`Invitation queued for the owner of ${opts.slug}.`);
    });

  // Offboarding is its own command: `kluis offboarding start|status|finish` (offboarding module).

  registerHostCommands(tenant, io);
  registerAddressCommands(tenant, io);
}
