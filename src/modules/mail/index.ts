/**
 * Mail: outgoing templates in Dutch and English over real SMTP, queued as sealed envelopes
 * (`mail.send`), the development sink and its page. Public surface of the module: the manifest
 * and what other modules use.
 */
import { defineModule } from '../module.js';
import { mailEn, mailNl } from './mail-messages.js';
import { createMailService, type MailService, registerMailJobs } from './mail-service.js';

export type { EnqueueMailInput, MailService } from './mail-service.js';
export { enqueueMail, type MailOrgs, senderOf } from './mail-service.js';
export { type MailVars, renderMail } from './mail-templates.js';
export { createMailer, guardMailer, type Mailer, type OutgoingMail, type SentMail } from './mailer.js';

declare module '../module.js' {
  interface KluisServices {
    mail: MailService;
  }
}

export const mailModule = defineModule({
  name: 'mail',
  messages: { nl: mailNl, en: mailEn },
  provides: ['mail'],
  needs: ['orgs'],
  services: (deps) => ({ mail: createMailService(deps) }),
  jobs: registerMailJobs,
});
