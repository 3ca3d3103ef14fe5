/**
 * `/staff/dev/mail`, development only: the messages the local SMTP sink received. The module
 * exists only when `kluis serve` started the sink, and registers nothing in production.
 * Operator owners and admins only (the sink holds every organisation's outgoing mail).
 */
import { AppError } from '../../shared/errors.js';
import { renderPage } from '../../shared/http/render.js';
import { defineModule } from '../module.js';
import type { MailSink } from './mail-sink.js';
import { devMailPage } from './mail-views.js';

export function createDevMailModule(sink: MailSink) {
  return defineModule({
    name: 'dev-mail',
    routes(kit, deps) {
      if (deps.config.env === 'production') return;
      kit.route({
        method: 'GET',
        url: '/staff/dev/mail',
        access: { kind: 'staff', permission: 'mail.dev_read' },
        handler: async ({ request, reply, actor, t, locale }) => {
          if (actor.orgKind !== 'operator') {
            throw new AppError('ERR_NOT_FOUND', { message: 'dev mail page is for operator staff' });
          }
          return renderPage(request, reply, {
            title: t('mail.dev.title'),
            body: devMailPage({ t, locale, address: `${sink.host}:${sink.port}`, messages: sink.messages() }),
          });
        },
      });
    },
  });
}
