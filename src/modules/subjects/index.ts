/**
 * Data subjects: one row per person an organisation knows, found by blind index (P3, P15).
 * Public surface of the module: the manifest and what other modules use.
 */
import { defineModule } from '../module.js';
import { subjectsFields } from './subjects-fields.js';
import { subjectsPersonalData } from './subjects-personal-data.js';
import { SUBJECTS_ERASE_TARGET } from './subjects-retention.js';
import { subjectsMigrations } from './subjects-schema.js';
import { createSubjectsService, type SubjectsService } from './subjects-service.js';

declare module '../module.js' {
  interface KluisServices {
    subjects: SubjectsService;
  }
}

export {
  type ContactKeys,
  createSubjectsService,
  type DataSubject,
  insertRemnantSubject,
  isLiveSubject,
  type SubjectsService,
} from './subjects-service.js';
export { SUBJECTS_ERASE_TARGET };

/** The table whose ids are data subjects (ledger lines of erasures name it). */
export const SUBJECTS_TABLE = 'data_subjects';

export const subjectsModule = defineModule({
  name: 'subjects',
  migrations: subjectsMigrations,
  tables: ['data_subjects'],
  catalogue: subjectsFields,
  personalData: subjectsPersonalData,
  provides: ['subjects'],
  services: ({ keyring, clock }) => ({ subjects: createSubjectsService({ keyring, clock }) }),
});
