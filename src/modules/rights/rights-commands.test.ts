import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCli } from '../../../test/cli.js';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg } from '../../../test/factories.js';
import { createFixedClock } from '../../shared/clock.js';
import { registerRightsCommands } from './rights-commands.js';
import { requestRecords } from './rights-records.js';

describe('kluis rights', () => {
  const clock = createFixedClock('2026-01-12T09:00:00.000Z');
  let kluis: TestKluis;
  let slug: string;
  let requestId: string;

  beforeAll(async () => {
    kluis = await createTestKluis({ clock });
    const org = await createOrg(kluis, 'tenant');
    slug = org.slug;
    const { conversationId } = await kluis.services.intake.submitContactRequest({
      actor: { kind: 'anonymous', orgId: org.id, ref: 'test' },
      channel: 'web',
      request: { name: 'Kim', email: 'kim@example.nl', phone: undefined, message: 'Hallo' },
      locale: 'nl',
    });
    const subject = await kluis.db
      .selectFrom('conversations')
      .select('subject_id')
      .where('id', '=', conversationId)
      .executeTakeFirstOrThrow();
    const { row } = await kluis.db.transaction().execute((trx) =>
      requestRecords(kluis).insertRequest(trx, {
        orgId: org.id,
        right: 'access',
        channel: 'portal',
        email: 'kim@example.nl',
        locale: 'nl',
      }),
    );
    requestId = row.id;
    await kluis.db
      .updateTable('rights_requests')
      .set({
        status: 'in_progress',
        verified_at: clock.now().toISOString(),
        verification_method: 'email_link',
        subject_id: subject.subject_id,
        paused_at: null,
        pause_reason: null,
      })
      .where('id', '=', requestId)
      .execute();
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  async function cli(args: string[]): Promise<string> {
    const run = testCli({ kluis });
    const program = new Command().exitOverride();
    registerRightsCommands(program, run.io);
    await program.parseAsync(['node', 'kluis', 'rights', ...args]);
    return run.out.text();
  }

  it('lists open requests with their due day and no personal values', async () => {
    const out = await cli(['list', '--org', slug]);
    expect(out).toContain(requestId);
    expect(out).toContain('due 2026-02-12');
    expect(out).not.toContain('kim@example.nl');
  });

  it('queues the export of an access request again, and refuses an unknown organisation', async () => {
    await cli(['retry', requestId, '--org', slug]);
    const jobs = await kluis.db
      .selectFrom('jobs')
      .select(['type', 'payload'])
      .where('type', '=', 'rights.export')
      .execute();
    expect(jobs.map((j) => JSON.parse(j.payload).requestId)).toEqual([requestId]);
    await expect(cli(['retry', requestId, '--org', 'no-such-org'])).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
    });
  });
});
