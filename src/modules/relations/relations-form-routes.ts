/**
 * What the relations pages and API share: path parameters and the list query, the notice after a
 * redirect, and the one pattern of every form about a relation — GET shows it (empty, or filled
 * from the relation), POST saves it and returns to the relation with `?done=…`, or shows it again
 * with the field errors and the input as typed (nothing stored).
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import type { SafeHtml } from '../../shared/html/html.js';
import { type FormPageContext, renderFormPage } from '../../shared/http/form-submit.js';
import { type RouteKit, recordId, type StaffAccess, type UserActor } from '../../shared/http/route-kit.js';
import type { MessageKey, Translate } from '../../shared/i18n/messages.js';
import type { KluisServices } from '../module.js';
import { relationStatuses } from './relations-schema.js';
import type { RelationDetail } from './relations-service.js';
import type { FormValues, RelationFormArgs } from './relations-views.js';

export const relationParams = z.object({ id: recordId });
export const mandateParams = z.object({ id: recordId, mandateId: recordId });

/** The list's sorting, filter and page as the URL carries them; nonsense falls back to the defaults. */
export const relationListQuery = z.object({
  sort: z.enum(['name', 'status', 'started', 'created']).catch('name'),
  dir: z.enum(['asc', 'desc']).catch('asc'),
  status: z.enum(relationStatuses).optional().catch(undefined),
  page: z.coerce.number().int().min(1).max(100_000).catch(1),
});

/** `?done=…` after a redirect names what was just done; anything else is ignored. */
export const doneQuery = z.object({ done: z.string().max(40).optional().catch(undefined) });

const notices = {
  created: 'relations.done.created',
  updated: 'relations.done.updated',
  contact: 'relations.done.contact',
  contactRemoved: 'relations.done.contactRemoved',
  address: 'relations.done.address',
  agreement: 'relations.done.agreement',
  mandate: 'relations.done.mandate',
  revoked: 'relations.done.revoked',
  creditor: 'relations.dd.creditorSaved',
} as const satisfies Record<string, MessageKey>;

export type Done = keyof typeof notices;

export function noticeOf(t: Translate, done: string | undefined): string | undefined {
  return done !== undefined && Object.hasOwn(notices, done) ? t(notices[done as Done]) : undefined;
}

/** Field errors of a refused use case (shown on the form again), or rethrows anything else. */
export function fieldErrorsOf(error: unknown): { errors: FieldErrors; status: number } {
  if (isAppError(error) && error.fields !== undefined) return { errors: error.fields, status: error.status };
  throw error;
}

/**
 * A form about one relation at `form` (GET) posting to `action` (POST). `body` is the form's
 * schema, checked before `save`; without one, `save` (the use case) checks everything at once.
 */
export function relationFormRoutes<S extends z.ZodType | undefined>(
  kit: RouteKit,
  relations: Pick<KluisServices['relations'], 'getRelation'>,
  spec: {
    form: string;
    action: string;
    access: StaffAccess;
    title: MessageKey;
    page: (o: RelationFormArgs) => SafeHtml;
    initial?: (relation: RelationDetail) => FormValues;
    body?: S;
    save: (
      actor: UserActor,
      relationId: string,
      values: FormValues,
      request: FastifyRequest,
    ) => Promise<unknown>;
    done: Done;
  },
): void {
  const render = async (
    ctx: FormPageContext,
    relationId: string,
    o: { values?: FormValues; errors?: FieldErrors; status?: number },
  ) => {
    const { actor, t, locale } = ctx;
    const relation = await relations.getRelation({ actor, relationId });
    const values = o.values ?? spec.initial?.(relation) ?? {};
    return renderFormPage(ctx, {
      title: t(spec.title),
      status: o.status,
      body: (csrf) => spec.page({ t, locale, csrf, relation, values, errors: o.errors }),
    });
  };

  kit.route({
    method: 'GET',
    url: spec.form,
    access: spec.access,
    params: relationParams,
    handler: ({ request, reply, actor, t, locale, params }) =>
      render({ request, reply, actor, t, locale }, params.id, {}),
  });

  kit.route({
    method: 'POST',
    url: spec.action,
    access: spec.access,
    params: relationParams,
    body: spec.body,
    form: true,
    handler: async ({ request, reply, actor, t, locale, params, body }) => {
      const ctx = { request, reply, actor, t, locale };
      if (!body.ok) return render(ctx, params.id, { values: body.values, errors: body.errors, status: 400 });
      try {
        await spec.save(actor, params.id, body.values, request);
        return reply.redirect(`/staff/relations/${params.id}?done=${spec.done}`, 303);
      } catch (error) {
        const { errors, status } = fieldErrorsOf(error);
        return render(ctx, params.id, { values: body.values, errors, status });
      }
    },
  });
}
