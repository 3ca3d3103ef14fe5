/**
 * How each table's rows belong to a data subject (P15: access and portability; the same map tells
 * erasure what to reach). The access export walks these links and the field catalogue, never a
 * hand-picked list of queries: a table that holds data about people is either linked here or named
 * in `notLinkedTables` with the reason, and `rights-subject-links.test.ts` fails for a table that
 * is neither (as `test/catalogue.test.ts` does for a column).
 *
 * A link also says whose key seals the row's `subject_key` fields (the AAD is always
 * {table, column, row id}, see relations-sealing.ts and intake-service.ts):
 * - `self`: the `data_subjects` row itself (only blind indexes: no value to open);
 * - `subject`: the row has a `subject_id` column and is sealed with that subject's key;
 * - `parent`: the row hangs off a parent row (`column` → `parent.id`) and is sealed with the
 *   parent's subject key (a message with its conversation's, a mandate with its relation's).
 *
 * Contact persons (`relation_contacts`) are subjects of their own: a contact row is linked by its
 * own `subject_id` and sealed with that key. It also belongs to a relation, but that relation's
 * subject is someone else (a company's record, or a sole trader): the relation's export does not
 * include its contact persons, and a contact person's export does not include the relation's
 * sealed values, only its (company) name as context.
 */

/** Order matters: a `parent` link comes after the link of its parent table. */
export type SubjectLink =
  | { readonly table: string; readonly via: 'self' }
  | { readonly table: string; readonly via: 'subject' }
  | { readonly table: string; readonly via: 'parent'; readonly column: string; readonly parent: string };

export interface LinkDetails {
  /** Sort keys of the rows in the export (the row id breaks ties). */
  readonly orderBy: readonly string[];
  /** Columns left out of the export, with the reason (besides `org_id`, which every table has). */
  readonly omit?: Readonly<Record<string, string>>;
  /**
   * Sealed columns that hold a file (base64 of the bytes, as the keyring seals text), with the
   * column that holds its name: the zip carries them as files as well.
   */
  readonly files?: Readonly<Record<string, string>>;
  /** Columns PostgreSQL returns as strings (bigint) that are numbers. */
  readonly numbers?: readonly string[];
  /** Plain columns of the parent shown next to each row, as context (never sealed ones). */
  readonly context?: { readonly via: string; readonly parent: string; readonly columns: readonly string[] };
}

export type LinkedTable = SubjectLink & LinkDetails;

export const subjectLinks: readonly LinkedTable[] = [
  { table: 'data_subjects', via: 'self', orderBy: ['created_at'] },

  // Intake (P1–P3): every channel (web form, email, phone, API) is a conversation of one subject.
  { table: 'conversations', via: 'subject', orderBy: ['created_at'] },
  {
    table: 'conversation_entries',
    via: 'parent',
    column: 'conversation_id',
    parent: 'conversations',
    orderBy: ['conversation_id', 'seq'],
  },
  {
    table: 'conversation_attachments',
    via: 'parent',
    column: 'conversation_id',
    parent: 'conversations',
    orderBy: ['conversation_id', 'created_at'],
    files: { content: 'filename' },
  },

  // Relations (P4): a person relation is the subject; its address, agreements and mandates hang off it.
  { table: 'relations', via: 'subject', orderBy: ['created_at'] },
  {
    table: 'relation_contacts',
    via: 'subject',
    orderBy: ['created_at'],
    context: { via: 'relation_id', parent: 'relations', columns: ['kind', 'organisation_name'] },
  },
  {
    table: 'relation_addresses',
    via: 'parent',
    column: 'relation_id',
    parent: 'relations',
    orderBy: ['updated_at'],
  },
  {
    table: 'relation_agreements',
    via: 'parent',
    column: 'relation_id',
    parent: 'relations',
    orderBy: ['effective_from', 'created_at'],
  },
  {
    table: 'relation_agreement_documents',
    via: 'parent',
    column: 'agreement_id',
    parent: 'relation_agreements',
    orderBy: ['created_at'],
    files: { content: 'file_name' },
  },
  {
    table: 'relation_mandates',
    via: 'parent',
    column: 'relation_id',
    parent: 'relations',
    orderBy: ['created_at'],
  },
  {
    table: 'relation_collections',
    via: 'parent',
    column: 'mandate_id',
    parent: 'relation_mandates',
    orderBy: ['requested_at', 'created_at'],
    numbers: ['amount_cents'],
  },

  // Rights (P15–P17): the subject's own requests, their timeline, and the consent registry.
  {
    table: 'rights_requests',
    via: 'subject',
    orderBy: ['received_at'],
    omit: { token_hash: 'a hash of the secret in the status link: a credential, not data about the person' },
  },
  {
    table: 'rights_request_events',
    via: 'parent',
    column: 'request_id',
    parent: 'rights_requests',
    orderBy: ['request_id', 'at'],
  },
  { table: 'consent_records', via: 'subject', orderBy: ['at', 'created_at'] },
];

/**
 * Tables that are not linked to data subjects, and why. Their existence and purpose still appear
 * in the export where they matter (the access log's section, restrictions and holds per record).
 */
export const notLinkedTables: Readonly<Record<string, string>> = {
  orgs: 'organisations (companies), not people',
  users:
    'staff accounts: staff are not data subjects of the organisation’s register (their own account page shows what is stored)',
  user_roles: 'staff roles',
  sessions: 'staff sign-in sessions',
  recovery_codes: 'hashes of staff recovery codes',
  api_keys: 'organisation credentials',
  password_reset_tokens: 'hashes of staff password-reset tokens',
  operator_grants:
    'a tenant’s instructions to operator staff (P8): about staff access, not about a data subject',
  login_attempts: 'sign-in throttling keys, kept less than a day and never tied to a data subject',
  access_log:
    'IP address and user agent of requests: deliberately never linked to people (P12), so it cannot be searched per person; the export says so',
  audit_log:
    'the tamper-evident audit trail: ids and field names only, never values, and it cannot be filtered or rewritten per person',
  audit_head: 'head of the audit chain',
  audit_checkpoints: 'signed checkpoints of the audit chain',
  jobs: 'queued work: a pending mail’s sealed envelope is scrubbed once sent (minutes), and what it says is in the conversation it answers',
  job_schedules: 'recurring system jobs',
  inbound_quarantine:
    'mail that could not be taken in: its sender is unknown (sealed with the organisation’s key), so it cannot be attributed to anyone',
  register_settings: 'the organisation’s own published details (used for the controller’s section)',
  processing_activities: 'the register’s activities (used for the purposes and recipients sections)',
  subprocessors: 'companies that process data for the organisation (used for the recipients section)',
  processor_agreements: 'agreements between companies',
  register_documents: 'agreement documents between companies',
  statement_sections: 'the public privacy statement',
  statement_versions: 'published versions of the privacy statement',
  relation_creditors: 'the organisation’s own SEPA creditor details',
  retention_policies: 'the organisation’s retention settings (used for the retention section)',
  retention_runs: 'bookkeeping of retention sweeps (counts only)',
  retention_run_steps: 'bookkeeping of retention sweeps (counts only)',
  retention_restrictions: 'marks on records kept only for a legal duty: shown on each record as restricted',
  legal_holds:
    'the organisation’s own legal file (reason code, case reference); its effect, that a record is kept longer, is shown on each record',
  rights_exports: 'sealed copies of exports like this one, made for the subject and removed after download',
};

export function linkOf(table: string): LinkedTable | undefined {
  return subjectLinks.find((l) => l.table === table);
}
