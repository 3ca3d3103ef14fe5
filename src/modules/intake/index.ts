/**
 * Intake (P1–P3): the public contact form, inbound mail with threading and quarantine, phone
 * notes, `POST /api/v1/contact-requests`, and the staff inbox with replies by email; message
 * content sealed per data subject. Public surface of the module: the manifest and what other
 * modules use.
 */
import { z } from 'zod';
import { defineModule } from '../module.js';
import { intakeFields } from './intake-fields.js';
import { pruneSpentFormTokens } from './intake-form-tokens.js';
import { createInboxService, type InboxService } from './intake-inbox.js';
import { createInboundMail, type InboundMail } from './intake-mail.js';
import { intakeEn, intakeNl } from './intake-messages.js';
import { intakePersonalData } from './intake-personal-data.js';
import { registerIntakeJobs } from './intake-replies.js';
import { intakeRoutes } from './intake-routes.js';
import { intakeMigrations } from './intake-schema.js';
import { createIntakeService, type IntakeService } from './intake-service.js';

export { startConfiguredInboundSmtp } from './intake-smtp.js';

declare module '../module.js' {
  interface KluisServices {
    /** Contact requests from the web form, the API and phone calls. */
    intake: IntakeService;
    /** The staff inbox: conversations, replies, notes, assignment, quarantine. */
    inbox: InboxService;
    /** Mail received for the organisation's contact and privacy addresses. */
    inboundMail: InboundMail;
  }
}

/** The hourly job that forgets spent contact-form tokens once they have expired anyway. */
export const PRUNE_SPENT_TOKENS = 'intake.tokens.prune';

export const intakeModule = defineModule({
  name: 'intake',
  migrations: intakeMigrations,
  tables: [
    'conversations',
    'conversation_entries',
    'conversation_attachments',
    'inbound_quarantine',
    'intake_spent_tokens',
  ],
  catalogue: intakeFields,
  messages: { nl: intakeNl, en: intakeEn },
  provides: ['intake', 'inbox', 'inboundMail'],
  needs: ['audit', 'auth'],
  services: (deps) => ({
    intake: createIntakeService(deps),
    inbox: createInboxService({ ...deps, publicOrigin: deps.config.publicOrigin }),
    inboundMail: createInboundMail(deps),
  }),
  personalData: intakePersonalData,
  jobs(registry, deps) {
    registerIntakeJobs(registry, deps);
    registry.register(PRUNE_SPENT_TOKENS, z.object({}), async (_payload, ctx) => {
      const removed = await pruneSpentFormTokens(deps.db, deps.clock.now());
      ctx.logger.info({ removed }, 'expired contact-form tokens forgotten');
    });
  },
  schedules: [{ name: PRUNE_SPENT_TOKENS, type: PRUNE_SPENT_TOKENS, everySeconds: 3600 }],
  navigation: [{ href: '/staff/conversations', label: 'intake.nav.conversations', order: 10 }],
  routes: intakeRoutes,
});
