/**
 * The register's forms with an agreement document are multipart. This module's scope parses them
 * into `request.body` — fields as strings, repeated fields as lists, the file as
 * `{ filename, mimetype, data }` — during preValidation, after the app's access check (nobody can
 * make the server read an upload they may not send) and before the CSRF check reads `_csrf`. A
 * malformed body is a 400, a file over the limit a 413.
 */
import fastifyMultipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../shared/errors.js';
import { MAX_DOCUMENT_BYTES, type UploadedDocument } from './register-documents.js';

interface FilePart {
  readonly filename: string;
  readonly mimetype: string;
  readonly data: Buffer;
}

function isFilePart(value: unknown): value is FilePart {
  return (
    value !== null &&
    typeof value === 'object' &&
    'data' in value &&
    Buffer.isBuffer((value as FilePart).data)
  );
}

async function parseMultipart(request: FastifyRequest): Promise<void> {
  // Nobody signed in: nothing here accepts an upload from them, so the body is not even read.
  if (!request.isMultipart() || request.actor === undefined) return;
  const fields: Record<string, unknown> = {};
  const add = (name: string, value: unknown) => {
    const existing = fields[name];
    if (existing === undefined) fields[name] = value;
    else fields[name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  };
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        const data = await part.toBuffer();
        fields[part.fieldname] = {
          filename: part.filename,
          mimetype: part.mimetype,
          data,
        } satisfies FilePart;
      } else if (typeof part.value === 'string') {
        add(part.fieldname, part.value);
      }
    }
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw new AppError('ERR_PAYLOAD_TOO_LARGE', { cause });
    throw new AppError('ERR_VALIDATION', { message: 'malformed multipart body', cause });
  }
  request.body = fields;
}

/** Multipart forms in this module's scope only (the forms with an agreement document). */
export async function installMultipart(app: FastifyInstance): Promise<void> {
  await app.register(fastifyMultipart, {
    limits: { fileSize: MAX_DOCUMENT_BYTES + 1, files: 1, fields: 60, fieldSize: 100_000, parts: 70 },
  });
  app.addHook('preValidation', parseMultipart);
}

/** The uploaded document of a parsed form body, or undefined when the file field was left empty. */
export function documentOf(body: unknown): UploadedDocument | undefined {
  const part =
    typeof body === 'object' && body !== null ? (body as Record<string, unknown>).document : undefined;
  if (!isFilePart(part) || part.data.length === 0) return undefined;
  return { filename: part.filename, contentType: part.mimetype, data: part.data };
}
