/** The public privacy statement holds no data about people. */
import type { PersonalDataProvider } from '../personal-data.js';

export const statementPersonalData: PersonalDataProvider = {
  module: 'statement',
  notLinked: {
    statement_sections: 'the public privacy statement',
    statement_versions: 'published versions of the privacy statement',
  },
};
