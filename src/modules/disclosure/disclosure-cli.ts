/**
 * `kluis legal-order create|list|approve|export`: legal orders from the command line, after the
 * tenants CLI (`--tenant <slug>`, metadata and ids only on stdout, AppErrors rewritten for a
 * person at a terminal). One difference, on purpose: the tenants CLI acts as a system actor,
 * but a legal order must be handled and approved by operator staff in person — two named
 * people (P9). So every command signs in the operator staff member named by `--as <email>`: the
 * password from KLUIS_STAFF_PASSWORD (never on the command line, where `ps` shows it) and a TOTP
 * code from `--totp`, through the same sign-in as the web (throttling, lockout, audit), and
 * signs out again when done. The approval is then that person's, with their user id.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Kluis } from '../../kluis.js';
import type { Actor } from '../../shared/actor.js';
import { type CliIo, sayTo, withKluis } from '../../shared/cli.js';
import { AppError } from '../../shared/errors.js';
import type { LegalOrderView } from './disclosure-cases.js';

interface StaffOptions {
  as: string;
  totp?: string;
}

/** Signs in `opts.as` (an operator staff member) for one command; signs out afterwards. */
async function asStaff<T>(
  kluis: Kluis,
  io: CliIo,
  opts: StaffOptions,
  work: (actor: Extract<Actor, { kind: 'user' }>) => Promise<T>,
): Promise<T> {
  const password = io.env.KLUIS_STAFF_PASSWORD;
  if (password === undefined || password === '') {
    throw new AppError('ERR_VALIDATION', {
      message: 'set KLUIS_STAFF_PASSWORD to the password of the staff member named by --as',
    });
  }
  const operator = await kluis.services.orgs.findOperator();
  if (operator === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'no operator organisation' });
  const { auth } = kluis.services;
  const ip = 'cli';
  const login = await auth.loginWithPassword({ email: opts.as, password, orgSlug: operator.slug, ip });
  if (login.kind !== 'signed_in') throw new AppError('ERR_AUTH_INVALID_CREDENTIALS');
  let session = login.session;
  if (session.pending.includes('totp')) {
    if (opts.totp === undefined)
      throw new AppError('ERR_VALIDATION', { message: 'give the TOTP code with --totp' });
    session = await auth.verifySecondFactor({ sessionId: session.id, code: opts.totp, ip });
  }
  const resolved = await auth.sessions.resolve(session.token);
  if (resolved.kind !== 'valid' || session.pending.length > 0) {
    if (resolved.kind === 'valid') await auth.sessions.logout(resolved.actor, session.id);
    throw new AppError('ERR_FORBIDDEN', {
      message: 'finish signing in on the web first (new password or TOTP enrolment pending)',
    });
  }
  try {
    return await work(resolved.actor);
  } finally {
    await auth.sessions.logout(resolved.actor, session.id);
  }
}

function staffOptions(command: Command): Command {
  return command
    .requiredOption('--as <email>', 'the operator staff member acting (password in KLUIS_STAFF_PASSWORD)')
    .option('--totp <code>', 'their current TOTP code');
}

/** The lines `legal-order list` prints per case. */
export function describeCase(v: LegalOrderView): string {
  const approvals = `privacy officer ${v.privacyOfficer === undefined ? '-' : 'yes'}, owner ${v.owner === undefined ? '-' : 'yes'}`;
  return `${v.id}\t${v.tenant.slug}\t${v.orderReference}\t${v.status}\tdeadline ${v.deadline}\t${approvals}\tgag ${v.gagUntil ?? '-'}\ttold ${v.tenantNotifiedAt === null ? 'no' : 'yes'}`;
}

export function registerDisclosureCommands(program: Command, io: CliIo): void {
  const say = sayTo(io.out);
  const legal = program
    .command('legal-order')
    .description('legally compelled disclosure (P9): cases, two approvals, a sealed export of the scope');

  staffOptions(
    legal
      .command('create')
      .description('record an order of an authority about a tenant’s data; tells the tenant unless gagged')
      .requiredOption('--tenant <slug>', 'the tenant whose data the order concerns')
      .requiredOption('--authority <name>', 'the authority that served the order')
      .requiredOption('--legal-basis <text>', 'the statutory provision')
      .requiredOption('--order-reference <ref>', 'the order’s reference')
      .requiredOption('--subject <id...>', 'data subject ids in scope')
      .option('--record <table:id...>', 'narrow the scope to these records')
      .requiredOption('--deadline <date>', 'the order’s deadline (YYYY-MM-DD)')
      .option('--gag-until <date>', 'end of a non-disclosure order (YYYY-MM-DD)'),
  ).action(
    async (
      opts: StaffOptions & {
        tenant: string;
        authority: string;
        legalBasis: string;
        orderReference: string;
        subject: string[];
        record?: string[];
        deadline: string;
        gagUntil?: string;
      },
    ) => {
      const id = await withKluis(io, async (kluis) => {
        const tenant = await kluis.services.orgs.findBySlug(opts.tenant);
        if (tenant === undefined || tenant.kind !== 'tenant')
          throw new AppError('ERR_NOT_FOUND', { message: `no tenant with slug ${opts.tenant}` });
        return asStaff(kluis, io, opts, async (actor) =>
          kluis.services.disclosure.record({
            actor,
            tenantId: tenant.id,
            values: {
              authority: opts.authority,
              legalBasis: opts.legalBasis,
              orderReference: opts.orderReference,
              subjects: opts.subject,
              records: opts.record ?? [],
              deadline: opts.deadline,
              ...(opts.gagUntil === undefined ? {} : { gagUntil: opts.gagUntil }),
            },
          }),
        );
      });
      say(`legal order ${id.id} recorded for tenant ${opts.tenant}`);
      say('it needs the approval of the privacy officer and of the owner (two people): legal-order approve');
    },
  );

  staffOptions(legal.command('list').description('every case with its state')).action(
    async (opts: StaffOptions) => {
      const cases = await withKluis(io, (kluis) =>
        asStaff(kluis, io, opts, (actor) => kluis.services.disclosure.list(actor)),
      );
      if (cases.length === 0) say('No legal orders.');
      for (const c of cases) say(describeCase(c));
    },
  );

  staffOptions(
    legal
      .command('approve')
      .description('approve a case as its privacy officer or its owner (two different people)')
      .requiredOption('--id <id>', 'the case')
      .requiredOption('--role <role>', 'privacy_officer or owner'),
  ).action(async (opts: StaffOptions & { id: string; role: string }) => {
    if (opts.role !== 'privacy_officer' && opts.role !== 'owner') {
      throw new AppError('ERR_VALIDATION', { message: '--role is privacy_officer or owner' });
    }
    const as = opts.role;
    await withKluis(io, (kluis) =>
      asStaff(kluis, io, opts, (actor) => kluis.services.disclosure.approve({ actor, id: opts.id, as })),
    );
    say(`legal order ${opts.id} approved as ${as}`);
  });

  staffOptions(
    legal
      .command('export')
      .description('make (once) and write the sealed export of an approved case: only its scope')
      .requiredOption('--id <id>', 'the case')
      .requiredOption('--out <file.zip>', 'where to write the zip (mode 0600)'),
  ).action(async (opts: StaffOptions & { id: string; out: string }) => {
    const file = await withKluis(io, (kluis) =>
      asStaff(kluis, io, opts, async (actor) => {
        const { disclosure } = kluis.services;
        const current = await disclosure.get(actor, opts.id);
        if (current.status !== 'disclosed') {
          const made = await disclosure.disclose({ actor, id: opts.id });
          return { zip: made.zip, sha256: made.sha256 };
        }
        return disclosure.downloadExport(actor, opts.id);
      }),
    );
    writeFileSync(opts.out, file.zip, { mode: 0o600 });
    say(`export of legal order ${opts.id} written to ${opts.out} (${file.zip.length} bytes)`);
    say(`sha256 ${file.sha256}`);
  });
}
