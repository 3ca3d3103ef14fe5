/** The statement module holds published texts about the organisation, not about people. */
import type { ModuleCatalogue } from '../../shared/catalogue.js';

export const statementFields: ModuleCatalogue = {
  fields: [],
  notPersonal: {
    statement_sections: {
      section: 'section id from a fixed list',
      locale: 'language code',
      markdown: 'text of the public privacy statement',
    },
    statement_versions: {
      number: 'version number',
      change_summary_nl: 'public summary of changes',
      change_summary_en: 'public summary of changes',
      source_hash: 'hash of the generated statement',
      markdown_nl: 'text of the public privacy statement',
      markdown_en: 'text of the public privacy statement',
      html_nl: 'text of the public privacy statement',
      html_en: 'text of the public privacy statement',
    },
  },
};
