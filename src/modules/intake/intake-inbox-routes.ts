/**
 * Staff inbox routes (`/staff/conversations…`): thin handlers (parse → inbox service → view).
 * Every route is for signed-in staff; the service decides per conversation (support, or the
 * assignee) and answers another org's conversation with 404.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type Actor, hasRole } from '../../shared/actor.js';
import { AppError, isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import { renderPage } from '../../shared/http/render.js';
import { parseForm } from '../../shared/http/validation.js';
import { type MessageKey, translator } from '../../shared/i18n/messages.js';
import type { KluisCore } from '../module.js';
import { createInboxService } from './intake-inbox.js';
import {
  type ConversationFormState,
  conversationListPage,
  conversationPage,
  newCallPage,
  quarantinePage,
} from './intake-inbox-views.js';
import { conversationSorts } from './intake-repository.js';
import { channels, conversationStatuses } from './intake-schema.js';
import { MESSAGE_MAX, parseContactRequest } from './intake-schemas.js';
import { createIntakeService } from './intake-service.js';

const BASE = '/staff/conversations';

const emptyToUndefined = (v: unknown) => (v === '' ? undefined : v);

const listQuerySchema = z.object({
  status: z.preprocess(emptyToUndefined, z.enum(conversationStatuses).optional()).catch(undefined),
  channel: z.preprocess(emptyToUndefined, z.enum(channels).optional()).catch(undefined),
  mine: z.literal('1').optional().catch(undefined),
  rights: z.literal('1').optional().catch(undefined),
  sort: z.enum(conversationSorts).default('updated').catch('updated'),
  dir: z.enum(['asc', 'desc']).default('desc').catch('desc'),
  page: z.coerce.number().int().min(1).max(100_000).default(1).catch(1),
  done: z.string().max(40).optional().catch(undefined),
});

const idParams = z.object({ id: z.uuid() });
const attachmentParams = z.object({ id: z.uuid(), attachmentId: z.uuid() });

const text = (field: string, required: MessageKey) =>
  z.object({
    [field]: z
      .string({ message: required })
      .trim()
      .min(1, { message: required })
      .max(MESSAGE_MAX, { message: 'intake.form.messageTooLong' }),
  });
const replyForm = text('reply', 'intake.entry.bodyRequired');
const noteForm = text('note', 'intake.entry.bodyRequired');
const phoneForm = text('summary', 'intake.phone.summaryRequired');
const statusForm = z.object({ status: z.enum(conversationStatuses) });
const assignForm = z.object({ userId: z.string().trim().max(100).default('') });

const doneKeys: Record<string, MessageKey> = {
  reply: 'intake.done.reply',
  note: 'intake.done.note',
  phone: 'intake.done.phone',
  assigned: 'intake.done.assigned',
  status: 'intake.done.status',
  deleted: 'intake.done.deleted',
  quarantineDeleted: 'intake.done.quarantineDeleted',
};

function actorOf(request: FastifyRequest): Actor {
  const actor = request.actor;
  if (actor === undefined) throw new AppError('ERR_UNAUTHENTICATED');
  return actor;
}

/** A missing or malformed id is simply not found. */
function idOf(request: FastifyRequest): string {
  const parsed = idParams.safeParse(request.params);
  if (!parsed.success) throw new AppError('ERR_NOT_FOUND', { message: 'conversation id malformed' });
  return parsed.data.id;
}

function doneNotice(request: FastifyRequest): string | undefined {
  const done = (request.query as Record<string, unknown>).done;
  const key = typeof done === 'string' ? doneKeys[done] : undefined;
  return key === undefined ? undefined : translator(request.locale)(key);
}

/** `filename*` (RFC 6266) keeps non-ASCII names; the plain `filename` is an ASCII fallback. */
function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

export async function registerInboxRoutes(app: FastifyInstance, kluis: KluisCore): Promise<void> {
  const inbox = createInboxService({ ...kluis, publicOrigin: kluis.config.publicOrigin });
  const intake = createIntakeService(kluis);
  const staff = { kind: 'staff' } as const;
  const supportOnly = { kind: 'staff', permission: 'intake.handle' } as const;

  async function showConversation(
    request: FastifyRequest,
    reply: FastifyReply,
    id: string,
    state?: ConversationFormState,
    status = 200,
  ) {
    const actor = actorOf(request);
    const conversation = await inbox.getConversation({ actor, id });
    const support = hasRole(actor, 'support');
    const t = translator(request.locale);
    const csrf = reply.generateCsrf();
    return renderPage(request, reply, {
      title: t('intake.list.title'),
      status,
      csrfToken: csrf,
      body: conversationPage({
        t,
        locale: request.locale,
        csrf,
        conversation,
        staff: support ? await inbox.assignableStaff({ actor }) : [],
        names: await inbox.staffNames({ actor }),
        support,
        state,
        notice: doneNotice(request),
      }),
    });
  }

  /** Runs a form post on one conversation: errors re-render the page with the input kept. */
  function conversationPost<S extends z.ZodType>(
    path: string,
    schema: S,
    run: (actor: Actor, id: string, data: z.output<S>) => Promise<unknown>,
    done: keyof typeof doneKeys,
  ) {
    app.post(`${BASE}/:id/${path}`, { config: { access: staff } }, async (request, reply) => {
      const id = idOf(request);
      const body = (request.body ?? {}) as Record<string, unknown>;
      const values = Object.fromEntries(
        Object.entries(body).filter(
          (e): e is [string, string] => typeof e[1] === 'string' && e[0] !== '_csrf',
        ),
      );
      const parsed = parseForm(schema, body);
      if (!parsed.ok) return showConversation(request, reply, id, { errors: parsed.errors, values }, 400);
      try {
        await run(actorOf(request), id, parsed.data);
      } catch (error) {
        if (isAppError(error) && error.code === 'ERR_VALIDATION' && error.fields !== undefined) {
          return showConversation(request, reply, id, { errors: error.fields as FieldErrors, values }, 400);
        }
        throw error;
      }
      return reply.redirect(`${BASE}/${id}?done=${done}`, 303);
    });
  }

  app.get(BASE, { config: { access: staff } }, async (request, reply) => {
    const actor = actorOf(request);
    const q = listQuerySchema.parse(request.query ?? {});
    const params = {
      status: q.status,
      channel: q.channel,
      mine: q.mine === '1',
      rightsOnly: q.rights === '1',
      sort: q.sort,
      dir: q.dir,
    };
    const result = await inbox.listConversations({ actor, filters: { ...params, page: q.page } });
    const t = translator(request.locale);
    return renderPage(request, reply, {
      title: t('intake.list.title'),
      body: conversationListPage({
        t,
        locale: request.locale,
        params,
        result,
        staff: await inbox.staffNames({ actor }),
        support: hasRole(actor, 'support'),
        notice: doneNotice(request),
      }),
    });
  });

  // --- a new phone call (a conversation on the phone channel) ------------------------------

  app.get(`${BASE}/new-call`, { config: { access: staff } }, async (request, reply) => {
    const t = translator(request.locale);
    const csrf = reply.generateCsrf();
    return renderPage(request, reply, {
      title: t('intake.call.new'),
      csrfToken: csrf,
      body: newCallPage({ t, csrf, values: {} }),
    });
  });

  app.post(`${BASE}/new-call`, { config: { access: staff } }, async (request, reply) => {
    const actor = actorOf(request);
    const body = (request.body ?? {}) as Record<string, unknown>;
    const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : '');
    const values = { name: str('name'), phone: str('phone'), email: str('email'), message: str('message') };
    const parsed = parseContactRequest('phone', values);
    if (!parsed.ok) {
      const t = translator(request.locale);
      const csrf = reply.generateCsrf();
      return renderPage(request, reply, {
        title: t('intake.call.new'),
        status: 400,
        csrfToken: csrf,
        body: newCallPage({ t, csrf, values, errors: parsed.errors }),
      });
    }
    const { conversationId } = await intake.recordPhoneCall({
      actor,
      request: parsed.data,
      locale: request.locale,
    });
    return reply.redirect(`${BASE}/${conversationId}?done=phone`, 303);
  });

  // --- quarantine (support) ----------------------------------------------------------------

  app.get(`${BASE}/quarantine`, { config: { access: supportOnly } }, async (request, reply) => {
    const actor = actorOf(request);
    const t = translator(request.locale);
    const csrf = reply.generateCsrf();
    return renderPage(request, reply, {
      title: t('intake.quarantine.title'),
      csrfToken: csrf,
      body: quarantinePage({
        t,
        locale: request.locale,
        csrf,
        items: await inbox.listQuarantine({ actor }),
        notice: doneNotice(request),
      }),
    });
  });

  app.get(`${BASE}/quarantine/:id/raw`, { config: { access: supportOnly } }, async (request, reply) => {
    const raw = await inbox.readQuarantined({ actor: actorOf(request), id: idOf(request) });
    return reply
      .type('message/rfc822')
      .header('content-disposition', contentDisposition(`quarantine-${idOf(request)}.eml`))
      .send(raw);
  });

  app.post(`${BASE}/quarantine/:id/delete`, { config: { access: supportOnly } }, async (request, reply) => {
    await inbox.deleteQuarantined({ actor: actorOf(request), id: idOf(request) });
    return reply.redirect(`${BASE}/quarantine?done=quarantineDeleted`, 303);
  });

  // --- one conversation ------------------------------------------------------------------------

  app.get(`${BASE}/:id`, { config: { access: staff } }, async (request, reply) =>
    showConversation(request, reply, idOf(request)),
  );

  app.get(`${BASE}/:id/attachments/:attachmentId`, { config: { access: staff } }, async (request, reply) => {
    const params = attachmentParams.safeParse(request.params);
    if (!params.success) throw new AppError('ERR_NOT_FOUND', { message: 'attachment id malformed' });
    const file = await inbox.readAttachment({
      actor: actorOf(request),
      conversationId: params.data.id,
      attachmentId: params.data.attachmentId,
    });
    return reply
      .type(file.contentType)
      .header('content-disposition', contentDisposition(file.filename))
      .send(file.content);
  });

  conversationPost(
    'reply',
    replyForm,
    (actor, id, d) => inbox.reply({ actor, id, body: String(d.reply) }),
    'reply',
  );
  conversationPost(
    'note',
    noteForm,
    (actor, id, d) => inbox.addNote({ actor, id, body: String(d.note) }),
    'note',
  );
  conversationPost(
    'phone',
    phoneForm,
    (actor, id, d) => inbox.addPhoneNote({ actor, id, body: String(d.summary) }),
    'phone',
  );
  conversationPost(
    'status',
    statusForm,
    (actor, id, d) => inbox.setStatus({ actor, id, status: d.status }),
    'status',
  );
  conversationPost(
    'assign',
    assignForm,
    (actor, id, d) => inbox.assign({ actor, id, userId: d.userId === '' ? null : d.userId }),
    'assigned',
  );

  app.post(`${BASE}/:id/delete`, { config: { access: staff } }, async (request, reply) => {
    await inbox.deleteConversation({ actor: actorOf(request), id: idOf(request) });
    return reply.redirect(`${BASE}?done=deleted`, 303);
  });
}
