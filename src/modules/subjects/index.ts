/**
 * Data subjects: one row per person an organisation knows, found by blind index (P3, P15).
 * Public surface of the module: the manifest and what other modules use.
 */
import { defineModule } from '../module.js';
import { subjectsFields } from './subjects-fields.js';
import { subjectsMigrations } from './subjects-schema.js';

export const subjectsModule = defineModule({
  name: 'subjects',
  migrations: subjectsMigrations,
  tables: ['data_subjects'],
  catalogue: subjectsFields,
});
