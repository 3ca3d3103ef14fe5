/**
 * Sealing a row's personal fields with its data subject's key, bound to {table, column, row id}
 * (P4, P11): a ciphertext moved to another row or column does not open.
 */
import type { Keyring } from '../../crypto/keyring.js';
import { AppError } from '../../shared/errors.js';

export interface RowSealer {
  seal(column: string, value: string): Promise<Buffer>;
  sealOptional(column: string, value: string | null): Promise<Buffer | null>;
  open(column: string, value: Buffer): Promise<string>;
  openOptional(column: string, value: Buffer | null): Promise<string | null>;
}

export function rowSealer(
  keyring: Keyring,
  row: { orgId: string; subjectId: string; table: string; rowId: string },
): RowSealer {
  const loc = (column: string) => ({ table: row.table, column, rowId: row.rowId });
  const seal = (column: string, value: string) =>
    keyring.encryptForSubject(row.orgId, row.subjectId, loc(column), value);
  const open = (column: string, value: Buffer) =>
    keyring.decryptForSubject(row.orgId, row.subjectId, loc(column), value);
  return {
    seal,
    sealOptional: async (column, value) => (value === null ? null : seal(column, value)),
    open,
    openOptional: async (column, value) => (value === null ? null : open(column, value)),
  };
}

/** Runs `read`; a destroyed subject key (erased person) gives undefined instead of an error. */
export async function unlessErased<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof AppError && error.code === 'ERR_CRYPTO_KEY_DESTROYED') return undefined;
    throw error;
  }
}
