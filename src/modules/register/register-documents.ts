/**
 * Agreement documents (Art. 28): PDF only, at most 5 MB, sealed with the org key and bound to
 * their row, because a signed agreement carries names and signatures. Served back only as an
 * attachment with its own media type, never rendered inline.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { FieldLocation, Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { MessageKey } from '../../shared/i18n/messages.js';
import { createRegisterRepository } from './register-repository.js';

export const MAX_DOCUMENT_BYTES = 5 * 1024 * 1024;

export interface UploadedDocument {
  readonly filename: string;
  readonly contentType: string;
  readonly data: Buffer;
}

export interface StoredDocument {
  readonly filename: string;
  readonly contentType: string;
  readonly data: Buffer;
}

const location = (id: string): FieldLocation => ({
  table: 'register_documents',
  column: 'content',
  rowId: id,
});

/** A file name safe for a Content-Disposition header and a page: no path, no control characters. */
function safeFilename(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const cleaned = base
    .replace(/[^\p{L}\p{N} ._()-]/gu, '_')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 150);
  const withName = cleaned === '' || cleaned.startsWith('.') ? `document${cleaned}` : cleaned;
  return /\.pdf$/i.test(withName) ? withName : `${withName}.pdf`;
}

/** Throws ERR_VALIDATION (on `field`) unless `doc` is a PDF within the size limit. */
export function validateDocument(doc: UploadedDocument, field: string): void {
  const problem: MessageKey | undefined =
    doc.data.length > MAX_DOCUMENT_BYTES
      ? 'register.document.tooLarge'
      : doc.data.subarray(0, 5).toString('latin1') !== '%PDF-'
        ? 'register.document.notPdf'
        : undefined;
  if (problem !== undefined) {
    throw new AppError('ERR_VALIDATION', {
      message: 'agreement document refused',
      fields: { [field]: problem },
    });
  }
}

/** Seals and stores `doc` in `orgId`; returns the document id. Call inside the use case's transaction. */
export async function storeDocument(
  trx: Kysely<DB>,
  clock: Clock,
  keyring: Pick<Keyring, 'encryptForOrg'>,
  orgId: string,
  doc: UploadedDocument,
): Promise<string> {
  const id = randomUUID();
  const sealed = await keyring.encryptForOrg(orgId, location(id), doc.data.toString('base64'));
  await createRegisterRepository(trx).insertDocument({
    id,
    org_id: orgId,
    filename: safeFilename(doc.filename),
    content_type: 'application/pdf',
    size_bytes: doc.data.length,
    sha256: createHash('sha256').update(doc.data).digest('hex'),
    content: sealed,
    uploaded_at: clock.now().toISOString(),
  });
  return id;
}

export async function readDocument(
  db: Kysely<DB>,
  keyring: Pick<Keyring, 'decryptForOrg'>,
  ownerOrgId: string,
  id: string,
): Promise<StoredDocument> {
  const row = await createRegisterRepository(db).findDocument(ownerOrgId, id);
  if (row === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'document not found' });
  const base64 = await keyring.decryptForOrg(ownerOrgId, location(id), row.content);
  return { filename: row.filename, contentType: row.content_type, data: Buffer.from(base64, 'base64') };
}
