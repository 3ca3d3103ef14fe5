/**
 * `/staff/dev/mail`, development only: the messages the local SMTP sink received. The module
 * exists only when `kluis serve` started the sink, and registers nothing in production.
 * Operator owners and admins only (the sink holds every organisation's outgoing mail).
 */
import { AppError } from '../../shared/errors.js';
import { renderPage } from '../../shared/http/render.js';
import { translator } from '../../shared/i18n/messages.js';
import type { KluisModule } from '../module.js';
import type { MailSink } from './mail-sink.js';
import { devMailPage } from './mail-views.js';

export function createDevMailModule(sink: MailSink): KluisModule {
  return {
    name: 'dev-mail',
    async routes(app, kluis) {
      if (kluis.config.env === 'production') return;
      app.get(
        '/staff/dev/mail',
        { config: { access: { kind: 'staff', roles: ['owner', 'admin'] } } },
        async (request, reply) => {
          if (request.actor?.orgKind !== 'operator') {
            throw new AppError('ERR_NOT_FOUND', { message: 'dev mail page is for operator staff' });
          }
          return renderPage(request, reply, {
            title: translator(request.locale)('mail.dev.title'),
            body: (t) =>
              devMailPage({
                t,
                locale: request.locale,
                address: `${sink.host}:${sink.port}`,
                messages: sink.messages(),
              }),
          });
        },
      );
    },
  };
}
