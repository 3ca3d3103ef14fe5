/**
 * Seeds for the retention tests: data subjects, contact requests and client relations written
 * straight into the intake and relations tables (as their schemas stand), with personal values
 * sealed under the subject's key like the real modules do, plus helpers to read the SQLite files
 * page by page (decrypted with the test's own key) to prove erased bytes are gone.
 */
import { createDecipheriv, createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { sql } from 'kysely';
import type { Kluis } from '../src/kluis.js';

/** A deterministic UUID from a label, so two databases can be seeded with the same ids. */
export function idOf(label: string): string {
  const h = createHash('sha256').update(label).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export async function seedSubject(
  kluis: Kluis,
  orgId: string,
  o: { id?: string; createdAt?: string; email?: string } = {},
): Promise<string> {
  const id = o.id ?? randomUUID();
  await kluis.db
    .insertInto('data_subjects')
    .values({
      id,
      org_id: orgId,
      email_bidx: await kluis.keyring.blindIndex(orgId, 'email', o.email ?? `${id}@example.test`),
      phone_bidx: null,
      created_at: o.createdAt ?? '2020-01-01T00:00:00.000Z',
      erased_at: null,
    })
    .execute();
  return id;
}

/**
 * A `rights_requests` row as the rights module stores it, for tests that need one in a given state
 * (dates fixed by `receivedAt`; a `completed` request is closed 9 days later and fulfilled).
 */
export function rightsRequestRow(o: {
  id: string;
  orgId: string;
  subjectId: string | null;
  status: 'received' | 'in_progress' | 'completed';
  receivedAt: string;
  sealed?: boolean;
}) {
  const day = (offset: number) => new Date(Date.parse(o.receivedAt) + offset * 86_400_000).toISOString();
  const closed = o.status === 'completed';
  return {
    id: o.id,
    org_id: o.orgId,
    subject_id: o.subjectId,
    right_kind: 'access' as const,
    channel: 'portal' as const,
    locale: 'nl' as const,
    status: o.status,
    requester_email: o.sealed ? Buffer.from('sealed-address') : null,
    requester_phone: null,
    requester_email_bidx: o.sealed ? 'bidx' : null,
    requester_phone_bidx: null,
    details: o.sealed ? Buffer.from('sealed-details') : null,
    token_hash: `hash-${o.id}`,
    token_expires_at: day(14),
    received_at: o.receivedAt,
    verified_at: null,
    verification_method: null,
    identity_note: null,
    paused_at: null,
    pause_reason: null,
    paused_days: 0,
    extended_months: 0,
    extension_reason: null,
    extended_at: null,
    due_on: day(31).slice(0, 10),
    closed_at: closed ? day(9) : null,
    outcome: closed ? ('fulfilled' as const) : null,
    outcome_reason: null,
    conversation_id: null,
    created_at: o.receivedAt,
    updated_at: o.receivedAt,
  };
}

export interface SeededConversation {
  readonly id: string;
  readonly subjectId: string;
  readonly entryId: string;
  /** The sealed message body as stored (to search the raw file for it). */
  readonly sealedBody: Buffer;
}

/** A contact request with one inbound message (sealed) and one attachment. */
export async function seedConversation(
  kluis: Kluis,
  orgId: string,
  o: {
    id?: string;
    subjectId?: string;
    status?: 'open' | 'waiting' | 'closed';
    closedAt?: string | null;
    createdAt?: string;
    message?: string;
    /** A plain-text marker stored in a non-personal column (the entry's Message-ID). */
    marker?: string;
  } = {},
): Promise<SeededConversation> {
  const subjectId = o.subjectId ?? (await seedSubject(kluis, orgId));
  const id = o.id ?? randomUUID();
  const entryId = randomUUID();
  const created = o.createdAt ?? '2020-01-01T00:00:00.000Z';
  const seal = (table: string, column: string, rowId: string, value: string) =>
    kluis.keyring.encryptForSubject(orgId, subjectId, { table, column, rowId }, value);
  const status = o.status ?? 'closed';
  await kluis.db
    .insertInto('conversations')
    .values({
      id,
      org_id: orgId,
      subject_id: subjectId,
      channel: 'web',
      status,
      assigned_user_id: null,
      subject_line: null,
      requester_name: await seal('conversations', 'requester_name', id, 'Jan Jansen'),
      requester_email: await seal('conversations', 'requester_email', id, 'jan@example.test'),
      requester_phone: null,
      locale: 'nl',
      possible_rights_request: 0,
      thread_key: null,
      created_at: created,
      updated_at: o.closedAt ?? created,
      closed_at: status === 'closed' ? (o.closedAt ?? created) : null,
    })
    .execute();
  const sealedBody = await seal(
    'conversation_entries',
    'body',
    entryId,
    o.message ?? 'Mijn vraag over de factuur',
  );
  await kluis.db
    .insertInto('conversation_entries')
    .values({
      id: entryId,
      org_id: orgId,
      conversation_id: id,
      seq: 1,
      kind: 'inbound',
      body: sealedBody,
      author_user_id: null,
      message_id: o.marker ?? `<${entryId}@example.test>`,
      in_reply_to: null,
      delivery: null,
      sent_at: null,
      refused_attachments: null,
      created_at: created,
    })
    .execute();
  const attachmentId = randomUUID();
  await kluis.db
    .insertInto('conversation_attachments')
    .values({
      id: attachmentId,
      org_id: orgId,
      conversation_id: id,
      entry_id: entryId,
      filename: await seal('conversation_attachments', 'filename', attachmentId, 'factuur.pdf'),
      content_type: 'application/pdf',
      size_bytes: 4,
      content: await seal('conversation_attachments', 'content', attachmentId, '%PDF'),
      created_at: created,
    })
    .execute();
  return { id, subjectId, entryId, sealedBody };
}

export interface SeededRelation {
  readonly id: string;
  readonly subjectId: string;
  readonly contactSubjectId: string;
  readonly mandateIds: string[];
  readonly agreementIds: string[];
  readonly collectionIds: string[];
}

/**
 * A client relation (a person) with a contact person and a billing address; optionally an
 * agreement with its signed document, and a mandate with collections.
 */
export async function seedRelation(
  kluis: Kluis,
  orgId: string,
  o: {
    status?: 'prospect' | 'active' | 'ended';
    endedAt?: string | null;
    agreement?: boolean;
    mandate?: {
      status?: 'active' | 'revoked' | 'completed';
      revokedAt?: string | null;
      collections?: string[];
    };
  } = {},
): Promise<SeededRelation> {
  const subjectId = await seedSubject(kluis, orgId);
  const contactSubjectId = await seedSubject(kluis, orgId);
  const id = randomUUID();
  const now = '2020-01-01T00:00:00.000Z';
  const seal = (subject: string, table: string, column: string, rowId: string, value: string) =>
    kluis.keyring.encryptForSubject(orgId, subject, { table, column, rowId }, value);
  await kluis.db
    .insertInto('relations')
    .values({
      id,
      org_id: orgId,
      subject_id: subjectId,
      kind: 'person',
      organisation_name: null,
      given_name: await seal(subjectId, 'relations', 'given_name', id, 'Anna'),
      family_name: await seal(subjectId, 'relations', 'family_name', id, 'de Vries'),
      form_of_address: await seal(subjectId, 'relations', 'form_of_address', id, 'ms'),
      email: await seal(subjectId, 'relations', 'email', id, 'anna@example.test'),
      phone: null,
      status: o.status ?? 'ended',
      started_at: '2019-01-01',
      ended_at: o.endedAt ?? null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  const contactId = randomUUID();
  await kluis.db
    .insertInto('relation_contacts')
    .values({
      id: contactId,
      org_id: orgId,
      relation_id: id,
      subject_id: contactSubjectId,
      role: 'billing',
      given_name: null,
      family_name: await seal(contactSubjectId, 'relation_contacts', 'family_name', contactId, 'Bakker'),
      form_of_address: await seal(
        contactSubjectId,
        'relation_contacts',
        'form_of_address',
        contactId,
        'neutral',
      ),
      email: null,
      phone: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  const addressId = randomUUID();
  const a = (column: string, value: string) =>
    seal(subjectId, 'relation_addresses', column, addressId, value);
  await kluis.db
    .insertInto('relation_addresses')
    .values({
      id: addressId,
      org_id: orgId,
      relation_id: id,
      country: await a('country', 'NL'),
      city: await a('city', 'Utrecht'),
      postcode: await a('postcode', '3511 AB'),
      street: await a('street', 'Oudegracht'),
      house_number: await a('house_number', '1'),
      house_number_addition: null,
      updated_at: now,
    })
    .execute();
  const agreementIds: string[] = [];
  if (o.agreement) {
    const agreementId = randomUUID();
    agreementIds.push(agreementId);
    await kluis.db
      .insertInto('relation_agreements')
      .values({
        id: agreementId,
        org_id: orgId,
        relation_id: id,
        title: 'Overeenkomst',
        version: '1',
        effective_from: '2019-01-01',
        effective_until: null,
        signed_at: '2019-01-01T10:00:00.000Z',
        signed_by_name: await seal(
          subjectId,
          'relation_agreements',
          'signed_by_name',
          agreementId,
          'A. de Vries',
        ),
        signature_channel: 'paper',
        recorded_by_id: 'staff',
        created_at: now,
      })
      .execute();
    const docId = randomUUID();
    await kluis.db
      .insertInto('relation_agreement_documents')
      .values({
        id: docId,
        org_id: orgId,
        agreement_id: agreementId,
        file_name: await seal(subjectId, 'relation_agreement_documents', 'file_name', docId, 'getekend.pdf'),
        content: await seal(subjectId, 'relation_agreement_documents', 'content', docId, '%PDF-1.7'),
        size_bytes: 8,
        created_at: now,
      })
      .execute();
  }
  const mandateIds: string[] = [];
  const collectionIds: string[] = [];
  if (o.mandate !== undefined) {
    const mandateId = randomUUID();
    mandateIds.push(mandateId);
    const m = (column: string, value: string) =>
      seal(subjectId, 'relation_mandates', column, mandateId, value);
    await kluis.db
      .insertInto('relation_mandates')
      .values({
        id: mandateId,
        org_id: orgId,
        relation_id: id,
        reference: `M-${mandateId.slice(0, 8)}`,
        scheme: 'CORE',
        sequence: 'recurrent',
        account_holder: await m('account_holder', 'A de Vries'),
        iban: await m('iban', 'NL91ABNA0417164300'),
        iban_bidx: await kluis.keyring.blindIndex(orgId, 'iban', 'NL91ABNA0417164300'),
        iban_masked: 'NL** **** **** **** 4300',
        bic: null,
        signed_at: '2019-01-01',
        signature_name: null,
        signature_channel: 'paper',
        status: o.mandate.status ?? 'active',
        first_collection_at: null,
        last_collection_at: null,
        revoked_at: o.mandate.revokedAt ?? null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    for (const requestedAt of o.mandate.collections ?? []) {
      const collectionId = randomUUID();
      collectionIds.push(collectionId);
      await kluis.db
        .insertInto('relation_collections')
        .values({
          id: collectionId,
          org_id: orgId,
          batch_id: 'batch-1',
          mandate_id: mandateId,
          sequence_type: 'RCUR',
          amount_cents: 1250,
          requested_at: requestedAt,
          created_by_id: 'staff',
          created_at: now,
        })
        .execute();
    }
  }
  return { id, subjectId, contactSubjectId, mandateIds, agreementIds, collectionIds };
}

export async function countRows(
  kluis: Kluis,
  table: string,
  where?: { column: string; value: string },
): Promise<number> {
  const r =
    where === undefined
      ? await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(kluis.db)
      : await sql<{
          n: number | string;
        }>`select count(*) as n from ${sql.table(table)} where ${sql.ref(where.column)} = ${where.value}`.execute(
          kluis.db,
        );
  return Number(r.rows[0]?.n ?? 0);
}

/** Every table's row count: a cheap fingerprint of "nothing changed". */
export async function tableCounts(kluis: Kluis): Promise<Record<string, number>> {
  const tables = await kluis.db.introspection.getTables();
  const out: Record<string, number> = {};
  for (const t of tables) out[t.name] = await countRows(kluis, t.name);
  return out;
}

/**
 * The pages of a SQLCipher 4 file (or WAL frames), decrypted with the raw key: AES-256-CBC per
 * page, IV in the 80-byte reserve at the page end, the first 16 bytes of page 1 being the salt.
 * Free pages are decrypted too — that is the point: nothing erased may survive in them.
 */
export function decryptSqlcipherPages(
  bytes: Buffer,
  rawKeyHex: string,
  pageSize = 4096,
  reserve = 80,
): Buffer {
  const key = Buffer.from(rawKeyHex, 'hex');
  const out: Buffer[] = [];
  for (let off = 0, pg = 1; off + pageSize <= bytes.length; off += pageSize, pg++) {
    out.push(decryptPage(bytes.subarray(off, off + pageSize), key, pg === 1, reserve));
  }
  return Buffer.concat(out);
}

function decryptPage(page: Buffer, key: Buffer, first: boolean, reserve: number): Buffer {
  const size = page.length;
  const iv = page.subarray(size - reserve, size - reserve + 16);
  const decipher = createDecipheriv('aes-256-cbc', key, iv);
  decipher.setAutoPadding(false);
  return Buffer.concat([decipher.update(page.subarray(first ? 16 : 0, size - reserve)), decipher.final()]);
}

/** WAL frames (32-byte header, then 24-byte frame header + page each), decrypted. */
export function decryptSqlcipherWal(bytes: Buffer, rawKeyHex: string, pageSize = 4096, reserve = 80): Buffer {
  const key = Buffer.from(rawKeyHex, 'hex');
  const out: Buffer[] = [];
  for (let off = 32; off + 24 + pageSize <= bytes.length; off += 24 + pageSize) {
    const pgno = bytes.readUInt32BE(off);
    out.push(decryptPage(bytes.subarray(off + 24, off + 24 + pageSize), key, pgno === 1, reserve));
  }
  return Buffer.concat(out);
}

export function fileBytes(path: string): Buffer {
  return existsSync(path) ? readFileSync(path) : Buffer.alloc(0);
}
