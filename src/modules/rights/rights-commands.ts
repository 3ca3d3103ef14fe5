/**
 * `kluis rights list|retry`: the privacy officer's queue from the command line (ids, rights,
 * states and due days — no personal values), and a retry of a failed fulfilment step (the export
 * job of an access or portability request), as the request page's button does.
 */
import type { Command } from 'commander';
import type { Kluis } from '../../kluis.js';
import type { Actor } from '../../shared/actor.js';
import { type CliIo, sayTo, withKluis } from '../../shared/cli.js';
import { AppError } from '../../shared/errors.js';
import { createOrgsRepository } from '../orgs/index.js';
import { closedStatuses } from './rights-schema.js';

/** The CLI acts as the organisation's privacy officer (`rights.handle`). */
async function cliActor(kluis: Pick<Kluis, 'db'>, slug: string): Promise<Actor> {
  const org = await createOrgsRepository(kluis.db).findBySlug(slug);
  if (org === undefined)
    throw new AppError('ERR_NOT_FOUND', { message: `no organisation with slug ${slug}` });
  return { kind: 'system', orgId: org.id, orgKind: org.kind, reason: 'cli', roles: ['privacy_officer'] };
}

export function registerRightsCommands(program: Command, io: CliIo): void {
  const say = sayTo(io.out);

  const rights = program.command('rights').description('data-subject rights requests (P15–P17)');

  rights
    .command('list')
    .description('open requests with their due day (use --all for closed ones too)')
    .requiredOption('--org <slug>', 'the organisation')
    .option('--all', 'also closed requests')
    .action(async (opts: { org: string; all?: boolean }) => {
      await withKluis(io, async (kluis) => {
        const actor = await cliActor(kluis, opts.org);
        const service = kluis.services.rights;
        const rows = [
          ...(await service.list(actor, { open: true })),
          ...(opts.all ? await service.list(actor, { open: false }) : []),
        ];
        if (rows.length === 0) say('no requests');
        for (const r of rows) {
          const due = (closedStatuses as readonly string[]).includes(r.status)
            ? ''
            : ` due ${r.dueOn} (${r.daysLeft} days${r.paused ? ', paused' : ''})`;
          say(`${r.id}  ${(r.right ?? 'unspecified').padEnd(16)} ${r.status.padEnd(11)}${due}`);
        }
      });
    });

  rights
    .command('retry')
    .description('queue the export of an access or portability request again (after a failed job)')
    .argument('<request-id>')
    .requiredOption('--org <slug>', 'the organisation')
    .action(async (id: string, opts: { org: string }) => {
      await withKluis(io, async (kluis) => {
        await kluis.services.rights.requestExport(await cliActor(kluis, opts.org), id);
        say(`export of ${id} queued; the worker compiles it and mails the requester`);
      });
    });
}
