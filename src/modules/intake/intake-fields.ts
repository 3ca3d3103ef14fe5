/**
 * The intake module's personal fields (P5): contact details and message content, sealed with the
 * data subject's key and readable by support (or the staff member a conversation is assigned to,
 * checked per conversation in intake-inbox.ts); Message-IDs kept plain for threading.
 */
import type { CatalogueField, ModuleCatalogue } from '../../shared/catalogue.js';

const request = {
  purposes: ['handle_requests'],
  legalBasis: 'legitimate_interest',
  subjects: 'contact',
  retention: 'contact_request',
  readRoles: ['support'],
} as const;

const contact = { ...request, category: 'contact_details', protection: 'subject_key' } as const;
const content = { ...request, category: 'message_content', protection: 'subject_key' } as const;
const threading = { ...request, category: 'technical_metadata', protection: 'plain' } as const;

const fields: CatalogueField[] = [
  { table: 'conversations', column: 'requester_name', ...contact },
  { table: 'conversations', column: 'requester_email', ...contact },
  { table: 'conversations', column: 'requester_phone', ...contact },
  { table: 'conversations', column: 'subject_line', ...content },
  { table: 'conversations', column: 'thread_key', ...threading },
  { table: 'conversation_entries', column: 'body', ...content },
  { table: 'conversation_entries', column: 'message_id', ...threading },
  { table: 'conversation_entries', column: 'in_reply_to', ...threading },
  { table: 'conversation_attachments', column: 'filename', ...content },
  { table: 'conversation_attachments', column: 'content', ...content },
  // The sender of a quarantined mail is unknown, so the raw message is sealed with the org key.
  { table: 'inbound_quarantine', column: 'raw', ...content, protection: 'org_key' },
];

export const intakeFields: ModuleCatalogue = {
  fields,
  notPersonal: {
    conversations: {
      channel: 'the channel a request came in by (web, email, phone, api)',
      status: 'workflow state of the conversation',
      locale: 'the interface language the request was made in (nl/en), to answer in it',
      possible_rights_request: 'flag: the mail reached the privacy address',
    },
    conversation_entries: {
      kind: 'inbound, outbound, note or phone',
      seq: 'order of the entry within its conversation',
      delivery: 'queued or sent, for outbound mail',
      refused_attachments: 'content types and sizes of refused attachments (no names, no content)',
    },
    conversation_attachments: {
      content_type: 'one of the allowed file types',
      size_bytes: 'file size',
    },
    inbound_quarantine: {
      reason: 'a code saying why the mail was quarantined',
      mailbox: "which of the organisation's own addresses the mail was sent to (contact or privacy)",
      size_bytes: 'message size',
    },
    intake_spent_tokens: {
      token_hash: 'hash of a contact-form token already used, so the form is taken once (no content)',
    },
  },
};
