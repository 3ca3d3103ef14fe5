/**
 * Agreements with a relation (P4: "handtekening bij getekende overeenkomsten"): title, version,
 * dates, the signed PDF (checked by its magic bytes and size, sealed with the relation's subject
 * key) and/or a captured signature (typed name, time, channel). Only finance reads the signer's
 * name and the document, and every such read is audited with its purpose (P5).
 */
import { basename } from 'node:path';
import { type Actor, actorRef, scopeOf } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { fieldErrorsFromZod } from '../../shared/http/validation.js';
import type { MessageKey } from '../../shared/i18n/messages.js';
import { newId } from '../../shared/ids.js';
import { assertCan } from '../../shared/permissions.js';
import { isRestricted } from '../retention/index.js';
import { assertMayRead, mayRead } from './relations-access.js';
import { type AgreementInput, agreementSchema } from './relations-forms.js';
import { loadRelation, type RelationsDeps, sealerOf } from './relations-records.js';
import { createRelationsRepository } from './relations-repository.js';
import type { SignatureChannel } from './relations-schema.js';

/** Largest signed PDF accepted. */
export const MAX_AGREEMENT_PDF_BYTES = 10 * 1024 * 1024;

export interface UploadedFile {
  readonly fileName: string;
  readonly content: Buffer;
  /** True when the upload went past the size limit and was cut off. */
  readonly truncated: boolean;
}

export interface AgreementView {
  readonly id: string;
  readonly relationId: string;
  readonly title: string;
  readonly version: string;
  readonly effectiveFrom: string;
  readonly effectiveUntil: string | null;
  readonly signedAt: string | null;
  readonly signatureChannel: SignatureChannel | null;
  /** The typed signature; undefined when the actor may not read it, null when there is none. */
  readonly signedByName: string | null | undefined;
  readonly hasDocument: boolean;
  readonly documentSize: number | null;
  /** Kept only for the fiscal duty (Art. 18): shown to finance with that mark. */
  readonly restricted: boolean;
}

/** Why a file is not an acceptable signed PDF, or undefined when it is. */
export function pdfProblem(file: UploadedFile, maxBytes = MAX_AGREEMENT_PDF_BYTES): MessageKey | undefined {
  if (file.truncated || file.content.length > maxBytes) return 'relations.agreement.tooLarge';
  if (file.content.length === 0) return 'relations.agreement.emptyFile';
  if (!file.content.subarray(0, 5).equals(Buffer.from('%PDF-', 'latin1')))
    return 'relations.agreement.notPdf';
  return undefined;
}

/** A file name safe to store and to send back: no path, no control or quote characters. */
export function safeFileName(name: string): string {
  const cleaned = basename(name.replace(/\\/g, '/'))
    .normalize('NFC')
    .replace(/[\p{Cc}"<>|*?:;]/gu, '_')
    .trim()
    .slice(0, 200);
  if (cleaned === '' || cleaned === '.' || cleaned === '..') return 'overeenkomst.pdf';
  return cleaned.toLowerCase().endsWith('.pdf') ? cleaned : `${cleaned}.pdf`;
}

/**
 * The agreement form's values and the signed PDF, checked together so that every problem is
 * reported at once; an agreement needs a document or a typed signature.
 */
function checkAgreement(
  values: unknown,
  document: UploadedFile | undefined,
  maxBytes: number,
): AgreementInput {
  const parsed = agreementSchema.safeParse(values);
  const fields: Record<string, MessageKey> = parsed.success ? {} : fieldErrorsFromZod(parsed.error);
  if (document !== undefined) {
    const problem = pdfProblem(document, maxBytes);
    if (problem !== undefined) fields.document = problem;
  } else if (parsed.success && parsed.data.signedByName === null) {
    fields.document = 'relations.agreement.documentOrSignature';
  }
  if (!parsed.success || Object.keys(fields).length > 0) {
    throw new AppError('ERR_VALIDATION', { message: 'invalid agreement', fields });
  }
  return parsed.data;
}

export function createAgreementsService(deps: RelationsDeps & { maxPdfBytes?: number }) {
  const { db, keyring, clock, audit } = deps;
  const maxBytes = deps.maxPdfBytes ?? MAX_AGREEMENT_PDF_BYTES;

  return {
    /** Records a signed agreement: its PDF and/or a typed signature; nothing is stored when anything is invalid. */
    async addAgreement(input: {
      actor: Actor;
      relationId: string;
      values: unknown;
      document?: UploadedFile | undefined;
    }): Promise<{ id: string }> {
      assertCan(input.actor, 'relations.edit');
      const v = checkAgreement(input.values, input.document, maxBytes);
      const id = newId();
      const now = clock.now().toISOString();
      await db.transaction().execute(async (trx) => {
        const relation = await loadRelation(trx, input.actor, input.relationId);
        const repo = createRelationsRepository(trx);
        const s = sealerOf(keyring, relation, 'relation_agreements', id);
        await repo.insertAgreement({
          id,
          org_id: relation.org_id,
          relation_id: relation.id,
          title: v.title,
          version: v.version,
          effective_from: v.effectiveFrom,
          effective_until: v.effectiveUntil ?? null,
          signed_at: v.signedByName === null ? null : (v.signedAt ?? null),
          signed_by_name: await s.sealOptional('signed_by_name', v.signedByName),
          signature_channel: v.signedByName === null ? null : (v.signatureChannel ?? null),
          recorded_by_id: actorRef(input.actor),
          created_at: now,
        });
        if (input.document !== undefined) {
          const docId = newId();
          const d = sealerOf(keyring, relation, 'relation_agreement_documents', docId);
          await repo.insertAgreementDocument({
            id: docId,
            org_id: relation.org_id,
            agreement_id: id,
            file_name: await d.seal('file_name', safeFileName(input.document.fileName)),
            // The keyring seals text: the PDF goes in as base64.
            content: await d.seal('content', input.document.content.toString('base64')),
            size_bytes: input.document.content.length,
            created_at: now,
          });
        }
        await audit.append(trx, {
          actor: input.actor,
          action: 'relations.agreement.added',
          target: { type: 'relation', id: relation.id },
          fields: [
            ...(v.signedByName === null ? [] : ['relation_agreements.signed_by_name']),
            ...(input.document === undefined
              ? []
              : ['relation_agreement_documents.content', 'relation_agreement_documents.file_name']),
          ],
          meta: { agreement_id: id },
        });
      });
      return { id };
    },

    /** One agreement; finance also sees the signer's name (an audited read). */
    async getAgreement(input: {
      actor: Actor;
      relationId: string;
      agreementId: string;
    }): Promise<AgreementView> {
      assertCan(input.actor, 'relations.read');
      assertMayRead(input.actor, 'relations.family_name');
      return db.transaction().execute(async (trx) => {
        const relation = await loadRelation(trx, input.actor, input.relationId);
        const a = await createRelationsRepository(trx).findAgreement(
          input.actor,
          relation.id,
          input.agreementId,
        );
        if (a === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'agreement not found' });
        let signedByName: string | null | undefined;
        if (mayRead(input.actor, 'relation_agreements.signed_by_name')) {
          const s = sealerOf(keyring, relation, 'relation_agreements', a.id);
          signedByName = await s.openOptional('signed_by_name', a.signed_by_name);
          if (signedByName !== null) {
            await audit.append(trx, {
              actor: input.actor,
              action: 'relations.agreement.signature.read',
              target: { type: 'agreement', id: a.id },
              fields: ['relation_agreements.signed_by_name'],
              purpose: 'contract_administration',
            });
          }
        }
        return {
          id: a.id,
          relationId: relation.id,
          title: a.title,
          version: a.version,
          effectiveFrom: a.effective_from,
          effectiveUntil: a.effective_until,
          signedAt: a.signed_at,
          signatureChannel: a.signature_channel,
          signedByName,
          hasDocument: a.document_id !== null,
          documentSize: a.document_size === null ? null : Number(a.document_size),
          restricted: await isRestricted(trx, 'relation_agreements', a.id),
        };
      });
    },

    /** The signed PDF, for finance only; every download is audited with its purpose. */
    async getAgreementDocument(input: {
      actor: Actor;
      relationId: string;
      agreementId: string;
    }): Promise<{ fileName: string; content: Buffer }> {
      assertMayRead(input.actor, 'relation_agreement_documents.content');
      return db.transaction().execute(async (trx) => {
        const relation = await loadRelation(trx, input.actor, input.relationId);
        const repo = createRelationsRepository(trx);
        const a = await repo.findAgreement(input.actor, relation.id, input.agreementId);
        const doc =
          a === undefined ? undefined : await repo.findAgreementDocument(scopeOf(input.actor), a.id);
        if (doc === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'document not found' });
        const d = sealerOf(keyring, relation, 'relation_agreement_documents', doc.id);
        const fileName = await d.open('file_name', doc.file_name);
        const content = Buffer.from(await d.open('content', doc.content), 'base64');
        await audit.append(trx, {
          actor: input.actor,
          action: 'relations.agreement.document.read',
          target: { type: 'agreement', id: doc.agreement_id },
          fields: ['relation_agreement_documents.content', 'relation_agreement_documents.file_name'],
          purpose: 'contract_administration',
        });
        return { fileName, content };
      });
    },
  };
}

export type AgreementsService = ReturnType<typeof createAgreementsService>;
