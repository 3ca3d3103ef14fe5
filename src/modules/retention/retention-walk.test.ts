/**
 * Sweeps delete a batch by its walk range (`applyWalked`) instead of by a list of ids (P6). The
 * range must take exactly what the batch listed: records that are not expired, or held, stay even
 * when they sit between expired ones, and the ledger names every record that went. A target that
 * takes more than it listed is refused and its batch rolled back.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg } from '../../../test/factories.js';
import { countRows, seedConversation } from '../../../test/retention-fixtures.js';
import type { Actor } from '../../shared/actor.js';
import { createFixedClock } from '../../shared/clock.js';
import { conversationsTarget, quarantineTarget } from '../intake/intake-retention.js';
import { totalOf } from './retention-engine.js';
import { ledgerPathOf, readErasureLedger } from './retention-ledger.js';
import type { RetentionTarget } from './retention-target.js';

const clock = createFixedClock('2024-01-01T00:00:00.000Z');
const EXPIRED = '2022-01-01T00:00:00.000Z';

async function erasedIds(kluis: TestKluis, target: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const read of readErasureLedger(kluis.services.retention.ledger.source)) {
    if (read.ok && read.line.kind === 'erasure' && read.line.target === target) ids.push(...read.line.ids);
  }
  return ids.sort();
}

async function conversationIds(kluis: TestKluis): Promise<string[]> {
  const rows = await kluis.db.selectFrom('conversations').select('id').execute();
  return rows.map((r) => r.id).sort();
}

describe('sweeping by walk range', () => {
  let kluis: TestKluis;
  let orgId: string;
  beforeEach(async () => {
    clock.set('2024-01-01T00:00:00.000Z');
    kluis = await createTestKluis({ clock });
    orgId = (await createOrg(kluis, 'tenant')).id;
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  it('deletes what each small batch listed and leaves open and held requests between them', async () => {
    const seeded = [];
    for (const kind of ['expired', 'open', 'held', 'expired', 'expired', 'open', 'expired'] as const) {
      const c = await seedConversation(
        kluis,
        orgId,
        kind === 'open' ? { status: 'open' } : { closedAt: EXPIRED },
      );
      seeded.push({ kind, id: c.id });
    }
    const officer: Actor = {
      kind: 'user',
      orgId,
      orgKind: 'tenant',
      userId: 'o',
      roles: ['privacy_officer'],
    };
    const heldId = seeded.find((s) => s.kind === 'held')?.id ?? '';
    await kluis.services.retention.createHold(officer, {
      target: 'conversations',
      id: heldId,
      reason: 'litigation',
    });
    const expired = seeded.filter((s) => s.kind === 'expired').map((s) => s.id);
    const kept = seeded.filter((s) => s.kind !== 'expired').map((s) => s.id);

    clock.set('2024-01-10T00:00:00.000Z');
    const result = await kluis.services.retention.run({ batchSize: 2 });

    expect(totalOf(result.counts, 'intake.conversations')).toMatchObject({ applied: 4, held: 1 });
    expect(await conversationIds(kluis)).toEqual([...kept].sort());
    expect(await erasedIds(kluis, 'intake.conversations')).toEqual([...expired].sort());
    // Messages and attachments went with exactly those requests.
    expect(await countRows(kluis, 'conversation_entries')).toBe(kept.length);
    expect(await countRows(kluis, 'conversation_attachments')).toBe(kept.length);
  });

  it('refuses a target that takes more than its batch listed, and rolls the batch back', async () => {
    for (let i = 0; i < 3; i++) await seedConversation(kluis, orgId, { closedAt: EXPIRED });
    // A broken target: ignores the batch's range and takes every expired request at once.
    const greedy: RetentionTarget = {
      ...conversationsTarget,
      async applyWalked(trx, ctx) {
        const all = await conversationsTarget.listExpired(trx, ctx, 1000, '');
        return conversationsTarget.apply(
          trx,
          ctx,
          all.map((c) => c.id),
          'sweep',
        );
      },
    };
    clock.set('2024-01-10T00:00:00.000Z');
    await expect(
      kluis.services.retention.run({ batchSize: 1, targets: [greedy, quarantineTarget], accessLog: false }),
    ).rejects.toMatchObject({ code: 'ERR_INTERNAL' });
    expect(await countRows(kluis, 'conversations')).toBe(3);
  });
});
