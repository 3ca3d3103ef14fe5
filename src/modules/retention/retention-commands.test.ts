import { Writable } from 'node:stream';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testCli } from '../../../test/cli.js';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg } from '../../../test/factories.js';
import { countRows, seedConversation, tableCounts } from '../../../test/retention-fixtures.js';
import { createFixedClock } from '../../shared/clock.js';
import { registerRetentionCommands } from './retention-commands.js';

function _sink(tty = false): Writable & { isTTY?: boolean; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as Writable & { isTTY?: boolean; text(): string };
  stream.isTTY = tty;
  stream.text = () => chunks.join('');
  return stream;
}

describe('kluis retention', () => {
  let kluis: TestKluis;
  const clock = createFixedClock('2024-01-01T00:00:00.000Z');
  beforeEach(async () => {
    clock.set('2024-01-01T00:00:00.000Z');
    kluis = await createTestKluis({ clock });
    const orgId = (await createOrg(kluis, 'tenant')).id;
    for (let i = 0; i < 5; i++)
      await seedConversation(kluis, orgId, { closedAt: '2021-05-01T00:00:00.000Z' });
    await seedConversation(kluis, orgId, { status: 'open' });
    clock.set('2024-01-10T00:00:00.000Z');
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  async function cli(args: string[], tty = false) {
    const run = testCli({ kluis, tty });
    const program = new Command().exitOverride();
    registerRetentionCommands(program, run.io);
    await program.parseAsync(['node', 'kluis', 'retention', ...args]);
    return { out: run.out.text(), err: run.err.text(), code: run.code() };
  }

  it('run --dry-run prints what would go per category and changes nothing', async () => {
    const before = await tableCounts(kluis);
    const { out } = await cli(['run', '--dry-run']);
    expect(out).toContain('Dry run as of 2024-01-10T00:00:00.000Z: nothing was changed.');
    expect(out).toContain('intake.conversations: 5 would go');
    expect(await tableCounts(kluis)).toEqual(before);
  });

  it('run sweeps with a progress bar on stderr and the counts on stdout; the ledger verifies', async () => {
    const { out, err } = await cli(['run', '--batch-size', '2'], true);
    expect(out).toMatch(/Sweep [0-9a-f-]{36} as of 2024-01-10T00:00:00.000Z: done\./);
    expect(out).toContain('intake.conversations: 5 handled');
    expect(out).toContain('subjects.erase: 5 handled');
    expect(err).toMatch(/\[#+-*\]\s+\d+% \d+\/\d+ intake\.conversations/);
    expect(err).toContain('100%');
    expect(await countRows(kluis, 'conversations')).toBe(1);
    const verify = await cli(['ledger', 'verify']);
    expect(verify.out).toMatch(/^OK: \d+ lines, \d+ erasures of 10 records/);
    expect(verify.code).toBe(0);
  });

  it('prints progress every 10% when stderr is a log, not a terminal', async () => {
    const { err } = await cli(['run', '--batch-size', '1']);
    expect(err.split('\n').filter((l) => l.includes('%')).length).toBeLessThanOrEqual(11);
    expect(err).toContain('100% ');
  });
});
