/**
 * Mail: outgoing templates in Dutch and English over real SMTP, queued as sealed envelopes
 * (`mail.send`), the development sink and its page. Public surface of the module: the manifest
 * and what other modules use.
 */
import { defineModule } from '../module.js';
import { mailEn, mailNl } from './mail-messages.js';
import { registerMailJobs } from './mail-service.js';

export { createMailer, type Mailer, type OutgoingMail, type SentMail } from './mailer.js';

export const mailModule = defineModule({
  name: 'mail',
  messages: { nl: mailNl, en: mailEn },
  jobs: registerMailJobs,
});
