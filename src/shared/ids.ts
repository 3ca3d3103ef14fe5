/**
 * Ids for new rows: time-ordered UUIDs (version 7, RFC 9562), from the `uuid` package. An id
 * begins with its creation time in milliseconds, and ids made in one process keep increasing
 * within a millisecond too, so new rows land at the end of every index keyed by id instead of on
 * a random page, and a retention sweep deletes neighbours together (docs/decisions/0009).
 *
 * The price: anyone who sees an id can read when the row was created. That is fine for internal
 * record ids; never use one as a secret, token or unguessable link — those come from
 * `randomBytes`, as the auth module's tokens do.
 */
import { v7 } from 'uuid';

/** A new time-ordered record id (UUIDv7, lower-case text as stored). */
export function newId(): string {
  return v7();
}

/** The creation time encoded in a UUIDv7 (its first 48 bits), or undefined for any other id. */
export function timeOfId(id: string): Date | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(id)) return undefined;
  return new Date(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16));
}
