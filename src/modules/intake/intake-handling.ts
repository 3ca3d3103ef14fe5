/**
 * Who may handle a conversation (P3, P5), decided in one place from the permission table:
 * holders of `intake.read` (support) handle every conversation of their organisation; anyone else
 * only the conversations assigned to them. Another organisation's conversation is not found.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { type Actor, scopeOf } from '../../shared/actor.js';
import { AppError, isAppError } from '../../shared/errors.js';
import { can } from '../../shared/permissions.js';
import type { KluisCore, KluisServices } from '../module.js';
import { type ConversationRow, createIntakeRepository } from './intake-repository.js';

/** Every opening of message content is for handling the request it belongs to. */
export const HANDLE_PURPOSE = 'handle_requests';

/** What the inbox's use cases need; colleagues' names come from the auth service. */
export type InboxDeps = Pick<KluisCore, 'db' | 'keyring' | 'clock'> &
  Pick<KluisServices, 'audit'> & {
    readonly auth: Pick<KluisServices['auth'], 'listStaffNames'>;
    /** For the host part of outbound Message-IDs. */
    readonly publicOrigin: string;
  };

/** Does `actor` see every conversation of the org (not only those assigned to them)? */
export function handlesAll(actor: Actor): boolean {
  return can(actor, 'intake.read');
}

/** Support handles every conversation of the org; anyone else only those assigned to them. */
function canHandle(actor: Actor, conversation: Pick<ConversationRow, 'assigned_user_id'>): boolean {
  return handlesAll(actor) || (actor.kind === 'user' && conversation.assigned_user_id === actor.userId);
}

export function userIdOf(actor: Actor): string | null {
  return actor.kind === 'user' ? actor.userId : null;
}

/** The conversation, if it is in the actor's org (else 404) and the actor may handle it (else 403). */
export async function getHandled(db: Kysely<DB>, actor: Actor, id: string): Promise<ConversationRow> {
  const row = await createIntakeRepository(db).findConversation(scopeOf(actor), id);
  if (row === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'conversation not found' });
  if (!canHandle(actor, row)) {
    throw new AppError('ERR_FORBIDDEN', { message: 'conversation is for support or its assignee' });
  }
  return row;
}

/** Opens a sealed value, or null when the subject was erased (their key is gone). */
export async function openOrErased<T>(open: () => Promise<T>): Promise<T | null> {
  try {
    return await open();
  } catch (error) {
    if (isAppError(error) && error.code === 'ERR_CRYPTO_KEY_DESTROYED') return null;
    throw error;
  }
}
