import { z } from 'zod';
import { isAppError } from '../../shared/errors.js';
import { renderFormPage } from '../../shared/http/form-submit.js';
import { renderPage } from '../../shared/http/render.js';
import { sendDownload } from '../../shared/http/responses.js';
import {
  type StaffPageContext as PageContext,
  type RouteKit,
  recordId,
  type StaffAccess,
  type UserActor,
} from '../../shared/http/route-kit.js';
import type { MessageKey, Translate } from '../../shared/i18n/messages.js';
import { can } from '../../shared/permissions.js';
import type { KluisServices } from '../module.js';
import {
  type ConversationFormState,
  conversationListPage,
  conversationPage,
  newCallPage,
  quarantinePage,
} from './intake-inbox-views.js';
import {
  assignFormSchema,
  contactCorrectionSchema,
  conversationListQuery,
  entryFormSchemas,
  phoneCallSchema,
  statusFormSchema,
} from './intake-schemas.js';

const BASE = '/staff/conversations';

const idParams = z.object({ id: recordId });
const attachmentParams = z.object({ id: recordId, attachmentId: recordId });
/** `?done=…` after a redirect names what was just done; anything else is ignored. */
const doneQuery = z.object({ done: z.string().max(40).optional().catch(undefined) });

const doneKeys = {
  reply: 'intake.done.reply',
  note: 'intake.done.note',
  phone: 'intake.done.phone',
  assigned: 'intake.done.assigned',
  status: 'intake.done.status',
  contact: 'intake.done.contact',
  deleted: 'intake.done.deleted',
  quarantineDeleted: 'intake.done.quarantineDeleted',
} as const satisfies Record<string, MessageKey>;

type Done = keyof typeof doneKeys;

function doneNotice(t: Translate, done: string | undefined): string | undefined {
  return done !== undefined && Object.hasOwn(doneKeys, done) ? t(doneKeys[done as Done]) : undefined;
}

type InboxRouteDeps = Pick<KluisServices, 'intake' | 'inbox'>;

const staff = { kind: 'staff' } as const;
const handlers = { kind: 'staff', permission: 'intake.handle' } as const;

/** One conversation's page, with the forms to act on it (and their errors, after a refused post). */
async function showConversation(
  inbox: KluisServices['inbox'],
  ctx: PageContext,
  id: string,
  o: { state?: ConversationFormState; notice?: string | undefined; status?: number } = {},
) {
  const { actor, t } = ctx;
  const conversation = await inbox.getConversation({ actor, id });
  const staff = await inbox.staff({ actor });
  return renderFormPage(ctx, {
    title: t('intake.list.title'),
    status: o.status,
    body: (csrf) =>
      conversationPage({
        t,
        locale: ctx.locale,
        csrf,
        conversation,
        staff,
        support: can(actor, 'intake.handle'),
        state: o.state,
        notice: o.notice,
      }),
  });
}

/** One conversation: its page, its attachments, and the forms posted about it. */
function conversationRoutes(kit: RouteKit, { inbox }: InboxRouteDeps): void {
  /** A form posted about one conversation: errors show the page again with the input kept. */
  function conversationPost<S extends z.ZodType>(o: {
    path: string;
    access: StaffAccess;
    body: S;
    run: (actor: UserActor, id: string, data: z.output<S>) => Promise<unknown>;
    done: Done;
  }) {
    kit.route({
      method: 'POST',
      url: `${BASE}/:id/${o.path}`,
      access: o.access,
      params: idParams,
      body: o.body,
      form: true,
      handler: async ({ request, reply, actor, t, locale, params, body }) => {
        const ctx = { request, reply, actor, t, locale };
        if (!body.ok) {
          return showConversation(inbox, ctx, params.id, { state: body, status: 400 });
        }
        try {
          await o.run(actor, params.id, body.data as z.output<S>);
        } catch (error) {
          if (isAppError(error) && error.code === 'ERR_VALIDATION' && error.fields !== undefined) {
            const state = { errors: error.fields, values: body.values };
            return showConversation(inbox, ctx, params.id, { state, status: 400 });
          }
          throw error;
        }
        return reply.redirect(`${BASE}/${params.id}?done=${o.done}`, 303);
      },
    });
  }

  // --- one conversation ------------------------------------------------------------------------

  kit.route({
    method: 'GET',
    url: `${BASE}/:id`,
    access: staff,
    params: idParams,
    query: doneQuery,
    handler: ({ request, reply, actor, t, locale, params, query }) =>
      showConversation(inbox, { request, reply, actor, t, locale }, params.id, {
        notice: doneNotice(t, query.done),
      }),
  });

  kit.route({
    method: 'GET',
    url: `${BASE}/:id/attachments/:attachmentId`,
    access: staff,
    params: attachmentParams,
    handler: async ({ reply, actor, params }) => {
      const file = await inbox.readAttachment({
        actor,
        conversationId: params.id,
        attachmentId: params.attachmentId,
      });
      return sendDownload(reply, file);
    },
  });

  conversationPost({
    path: 'reply',
    access: staff,
    body: entryFormSchemas.reply,
    run: (actor, id, d) => inbox.reply({ actor, id, body: d.reply }),
    done: 'reply',
  });
  conversationPost({
    path: 'note',
    access: staff,
    body: entryFormSchemas.note,
    run: (actor, id, d) => inbox.addNote({ actor, id, body: d.note }),
    done: 'note',
  });
  conversationPost({
    path: 'phone',
    access: staff,
    body: entryFormSchemas.phone,
    run: (actor, id, d) => inbox.addPhoneNote({ actor, id, body: d.summary }),
    done: 'phone',
  });
  conversationPost({
    path: 'contact',
    access: handlers,
    body: contactCorrectionSchema,
    run: (actor, id, d) => inbox.correctContact({ actor, id, values: d }),
    done: 'contact',
  });
  conversationPost({
    path: 'status',
    access: staff,
    body: statusFormSchema,
    run: (actor, id, d) => inbox.setStatus({ actor, id, status: d.status }),
    done: 'status',
  });
  conversationPost({
    path: 'assign',
    access: handlers,
    body: assignFormSchema,
    run: (actor, id, d) => inbox.assign({ actor, id, userId: d.userId }),
    done: 'assigned',
  });

  kit.route({
    method: 'POST',
    url: `${BASE}/:id/delete`,
    access: handlers,
    params: idParams,
    form: true,
    handler: async ({ reply, actor, params }) => {
      await inbox.deleteConversation({ actor, id: params.id });
      return reply.redirect(`${BASE}?done=deleted`, 303);
    },
  });
}

/** The list, and recording a new phone call. */
function listRoutes(kit: RouteKit, { inbox, intake }: InboxRouteDeps): void {
  kit.route({
    method: 'GET',
    url: BASE,
    access: staff,
    query: conversationListQuery,
    handler: async ({ request, reply, actor, t, locale, query: q }) => {
      const params = {
        status: q.status,
        channel: q.channel,
        mine: q.mine === '1',
        rightsOnly: q.rights === '1',
        sort: q.sort,
        dir: q.dir,
      };
      const result = await inbox.listConversations({ actor, filters: { ...params, page: q.page } });
      return renderPage(request, reply, {
        title: t('intake.list.title'),
        body: conversationListPage({
          t,
          locale,
          params,
          result,
          staff: (await inbox.staff({ actor })).names,
          support: can(actor, 'intake.read'),
          notice: doneNotice(t, q.done),
        }),
      });
    },
  });

  // --- a new phone call (a conversation on the phone channel) ------------------------------

  const showNewCall = (
    ctx: Omit<PageContext, 'actor' | 'locale'>,
    o: { values: Record<string, string>; errors?: ConversationFormState['errors']; status?: number },
  ) => {
    return renderFormPage(ctx, {
      title: ctx.t('intake.call.new'),
      status: o.status,
      body: (csrf) => newCallPage({ t: ctx.t, csrf, values: o.values, errors: o.errors }),
    });
  };

  kit.route({
    method: 'GET',
    url: `${BASE}/new-call`,
    access: staff,
    handler: ({ request, reply, t }) => showNewCall({ request, reply, t }, { values: {} }),
  });

  kit.route({
    method: 'POST',
    url: `${BASE}/new-call`,
    access: staff,
    body: phoneCallSchema,
    form: true,
    handler: async ({ request, reply, actor, t, locale, body }) => {
      if (!body.ok) {
        return showNewCall({ request, reply, t }, { values: body.values, errors: body.errors, status: 400 });
      }
      const { conversationId } = await intake.recordPhoneCall({ actor, request: body.data, locale });
      return reply.redirect(`${BASE}/${conversationId}?done=phone`, 303);
    },
  });
}

/** Mail that could not be taken in: support sees, downloads and deletes it. */
function quarantineRoutes(kit: RouteKit, { inbox }: InboxRouteDeps): void {
  kit.route({
    method: 'GET',
    url: `${BASE}/quarantine`,
    access: handlers,
    query: doneQuery,
    handler: async ({ request, reply, actor, t, locale, query }) => {
      const csrf = reply.generateCsrf();
      return renderPage(request, reply, {
        title: t('intake.quarantine.title'),
        csrfToken: csrf,
        body: quarantinePage({
          t,
          locale,
          csrf,
          items: await inbox.listQuarantine({ actor }),
          notice: doneNotice(t, query.done),
        }),
      });
    },
  });

  kit.route({
    method: 'GET',
    url: `${BASE}/quarantine/:id/raw`,
    access: handlers,
    params: idParams,
    handler: async ({ reply, actor, params }) => {
      const raw = await inbox.readQuarantined({ actor, id: params.id });
      return sendDownload(reply, {
        contentType: 'message/rfc822',
        filename: `quarantine-${params.id}.eml`,
        content: raw,
      });
    },
  });

  kit.route({
    method: 'POST',
    url: `${BASE}/quarantine/:id/delete`,
    access: handlers,
    params: idParams,
    form: true,
    handler: async ({ reply, actor, params }) => {
      await inbox.deleteQuarantined({ actor, id: params.id });
      return reply.redirect(`${BASE}/quarantine?done=quarantineDeleted`, 303);
    },
  });
}

export function inboxRoutes(kit: RouteKit, deps: InboxRouteDeps): void {
  listRoutes(kit, deps);
  quarantineRoutes(kit, deps);
  conversationRoutes(kit, deps);
}
