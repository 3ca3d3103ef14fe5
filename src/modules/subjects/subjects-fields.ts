/** Data subjects hold only blind indexes (see subjects-schema.ts). */
import type { ModuleCatalogue } from '../../shared/catalogue.js';

const index = {
  category: 'contact_details',
  purposes: ['handle_requests', 'rights_handling'],
  legalBasis: 'legitimate_interest',
  subjects: 'contact',
  retention: 'data_subject',
  readRoles: [],
  protection: 'blind_index',
} as const;

export const subjectsFields: ModuleCatalogue = {
  fields: [
    { table: 'data_subjects', column: 'email_bidx', ...index },
    { table: 'data_subjects', column: 'phone_bidx', ...index },
  ],
  notPersonal: {},
};
