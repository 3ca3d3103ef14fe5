/**
 * Mail that could not be taken in (P1: never dropped): support sees the reason, size and time,
 * may download a message as received (sealed with the org key; every download audited) and
 * delete it.
 */
import { type Actor, scopeOf } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { assertCan } from '../../shared/permissions.js';
import { HANDLE_PURPOSE, type InboxDeps } from './intake-handling.js';
import { createIntakeRepository, type QuarantineMeta } from './intake-repository.js';

export function createQuarantineService(deps: Pick<InboxDeps, 'db' | 'keyring' | 'audit'>) {
  const { db, keyring, audit } = deps;
  return {
    /** Mail that could not be taken in (support only): reason, size and time, no content. */
    async listQuarantine(input: { actor: Actor }): Promise<QuarantineMeta[]> {
      assertCan(input.actor, 'intake.handle');
      return createIntakeRepository(db).listQuarantine(scopeOf(input.actor), 200);
    },

    /** A quarantined message as received (an .eml download for support, audited). */
    async readQuarantined(input: { actor: Actor; id: string }): Promise<Buffer> {
      const { actor } = input;
      assertCan(actor, 'intake.handle');
      const row = await createIntakeRepository(db).findQuarantine(scopeOf(actor), input.id);
      if (row === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'quarantined mail not found' });
      const raw = await keyring.decryptForOrg(
        row.org_id,
        { table: 'inbound_quarantine', column: 'raw', rowId: row.id },
        row.raw,
      );
      await audit.append(db, {
        actor,
        action: 'intake.quarantine.read',
        target: { type: 'inbound_quarantine', id: row.id },
        purpose: HANDLE_PURPOSE,
        fields: ['raw'],
      });
      return Buffer.from(raw, 'base64');
    },

    async deleteQuarantined(input: { actor: Actor; id: string }): Promise<void> {
      const { actor } = input;
      assertCan(actor, 'intake.handle');
      await db.transaction().execute(async (trx) => {
        const removed = await createIntakeRepository(trx).deleteQuarantine(scopeOf(actor), input.id);
        if (removed === 0) throw new AppError('ERR_NOT_FOUND', { message: 'quarantined mail not found' });
        await audit.append(trx, {
          actor,
          action: 'intake.quarantine.deleted',
          target: { type: 'inbound_quarantine', id: input.id },
        });
      });
    },
  };
}
