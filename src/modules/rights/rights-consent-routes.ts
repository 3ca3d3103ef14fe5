/**
 * `/staff/consents` (P15): find a person, see and record consent and objections, download their
 * consent record (ISO/IEC TS 27560 JSON) and the newsletter recipients (only who consents now).
 * Thin handlers: parse, call the use case (which checks the permission, scopes to the org and
 * audits), render.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import type { SafeHtml } from '../../shared/html/html.js';
import { renderPage } from '../../shared/http/render.js';
import { sendDownload } from '../../shared/http/responses.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import type { Translate } from '../../shared/i18n/messages.js';
import { can } from '../../shared/permissions.js';
import type { SubjectsService } from '../subjects/index.js';
import { statesOf } from './rights-consent.js';
import type { ConsentFormValues } from './rights-consent-views.js';
import { consentIndexPage, consentSubjectPage } from './rights-consent-views.js';
import type { ConsentServices } from './rights-service.js';

const readers = { kind: 'staff', permission: 'consent.read' } as const;
const recorders = { kind: 'staff', permission: 'consent.record' } as const;
const exporters = { kind: 'staff', permission: 'consent.export_newsletter' } as const;

const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const subjectParams = z.object({ subjectId: z.uuid() });
const savedQuery = z.object({ saved: z.string().max(10).optional() });

const lookupForm = z.object({
  email: z.preprocess(
    (v) => (typeof v === 'string' ? v.trim() : v),
    z
      .email({ message: 'rights.consent.lookup.invalid' })
      .max(254, { message: 'rights.consent.lookup.invalid' }),
  ),
});

/** The recording form; a date may not lie after today (as the clock says when it is parsed). */
export function recordFormSchema(clock: Clock) {
  return z.object({
    purpose: z.string({ message: 'rights.consent.invalidPurpose' }).max(60),
    event: z.string({ message: 'rights.consent.invalidEvent' }).max(40),
    method: z.string({ message: 'rights.consent.invalidMethod' }).max(40),
    date: z.preprocess(
      emptyToUndefined,
      z.iso
        .date({ message: 'rights.consent.invalidAt' })
        .refine((d) => d <= clock.now().toISOString().slice(0, 10), { message: 'rights.consent.invalidAt' })
        .optional(),
    ),
    statementVersion: z.preprocess(
      emptyToUndefined,
      z.coerce
        .number({ message: 'rights.consent.invalidVersion' })
        .int({ message: 'rights.consent.invalidVersion' })
        .positive({ message: 'rights.consent.invalidVersion' })
        .max(1_000_000, { message: 'rights.consent.invalidVersion' })
        .optional(),
    ),
  });
}

function text(values: Readonly<Record<string, string>>, key: string): string | undefined {
  return values[key]?.slice(0, 300);
}

export type ConsentRouteDeps = {
  readonly clock: Clock;
  readonly db: Parameters<SubjectsService['findByContact']>[0];
  readonly consent: ConsentServices;
  readonly subjects: Pick<SubjectsService, 'findByContact'>;
};

interface PageContext {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly actor: Actor;
}

/** Registers the consent registry's staff routes (the rights module mounts them). */
export function registerConsentRoutes(kit: RouteKit, deps: ConsentRouteDeps): void {
  const { consent } = deps;

  /** A page of the registry, with a fresh CSRF token for its forms. */
  function render(ctx: PageContext, status: number, body: (t: Translate, csrfToken: string) => SafeHtml) {
    const csrfToken = ctx.reply.generateCsrf();
    const title = ctx.request.locale === 'nl' ? 'Toestemmingen' : 'Consent';
    return renderPage(ctx.request, ctx.reply, { title, status, csrfToken, body: (t) => body(t, csrfToken) });
  }

  async function index(
    ctx: PageContext,
    extra: { email?: string | undefined; errors?: FieldErrors; notFound?: boolean } = {},
    status = 200,
  ) {
    const newsletterCount = await consent.newsletterCount(ctx.actor);
    return render(ctx, status, (t, csrfToken) =>
      consentIndexPage(t, {
        csrfToken,
        canExport: can(ctx.actor, 'consent.export_newsletter'),
        newsletterCount,
        email: extra.email,
        errors: extra.errors,
        notFound: extra.notFound ?? false,
      }),
    );
  }

  async function subjectPage(
    ctx: PageContext,
    subjectId: string,
    extra: { saved?: boolean; errors?: FieldErrors; values?: ConsentFormValues } = {},
    status = 200,
  ) {
    const { erased, records } = await consent.history(ctx.actor, subjectId);
    return render(ctx, status, (t, csrfToken) =>
      consentSubjectPage(t, {
        subjectId,
        locale: ctx.request.locale,
        erased,
        states: statesOf(records),
        records,
        csrfToken,
        canRecord: can(ctx.actor, 'consent.record'),
        saved: extra.saved ?? false,
        errors: extra.errors,
        values: extra.values,
      }),
    );
  }

  kit.route({ method: 'GET', url: '/staff/consents', access: readers, handler: (ctx) => index(ctx) });

  kit.route({
    method: 'POST',
    url: '/staff/consents/lookup',
    access: readers,
    body: lookupForm,
    form: true,
    handler: async (ctx) => {
      const email = text(ctx.body.values, 'email') ?? '';
      if (!ctx.body.ok) return index(ctx, { email, errors: ctx.body.errors }, 400);
      const found = await deps.subjects.findByContact(deps.db, ctx.actor, { email: ctx.body.data.email });
      const subject = found[0];
      if (subject === undefined) return index(ctx, { email, notFound: true }, 404);
      return ctx.reply.redirect(`/staff/consents/subjects/${subject.id}`, 303);
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/consents/newsletter.csv',
    access: exporters,
    handler: async ({ reply, actor, locale }) => {
      const result = await consent.exportNewsletter(actor, locale);
      const day = deps.clock.now().toISOString().slice(0, 10);
      return sendDownload(reply, {
        contentType: 'text/csv; charset=utf-8',
        filename: `newsletter-${day}.csv`,
        content: result.csv,
        noStore: true,
      });
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/consents/subjects/:subjectId',
    access: readers,
    params: subjectParams,
    query: savedQuery,
    handler: (ctx) => subjectPage(ctx, ctx.params.subjectId, { saved: ctx.query.saved === '1' }),
  });

  kit.route({
    method: 'GET',
    url: '/staff/consents/subjects/:subjectId/consent-records.json',
    access: readers,
    params: subjectParams,
    handler: async ({ reply, actor, params, locale }) => {
      const records = await consent.exportRecords(actor, params.subjectId, locale);
      return sendDownload(reply, {
        contentType: 'application/json; charset=utf-8',
        filename: `consent-records-${params.subjectId}.json`,
        content: JSON.stringify(records, null, 2),
        noStore: true,
      });
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/consents/subjects/:subjectId',
    access: recorders,
    params: subjectParams,
    body: recordFormSchema(deps.clock),
    form: true,
    handler: async (ctx) => {
      const { subjectId } = ctx.params;
      const fields = ['purpose', 'event', 'method', 'date', 'statementVersion'] as const;
      const values: ConsentFormValues = Object.fromEntries(fields.map((k) => [k, text(ctx.body.values, k)]));
      if (!ctx.body.ok) return subjectPage(ctx, subjectId, { errors: ctx.body.errors, values }, 400);
      const v = ctx.body.data;
      const today = deps.clock.now().toISOString().slice(0, 10);
      try {
        await consent.record({
          actor: ctx.actor,
          values: {
            subjectId,
            purpose: v.purpose,
            event: v.event,
            method: v.method,
            // A date of today means now (so it is the newest record); an earlier day its start.
            ...(v.date === undefined || v.date === today ? {} : { at: `${v.date}T00:00:00.000Z` }),
            ...(v.statementVersion === undefined ? {} : { statementVersion: v.statementVersion }),
          },
        });
      } catch (error) {
        if (isAppError(error) && error.code === 'ERR_VALIDATION' && error.fields !== undefined) {
          return subjectPage(ctx, subjectId, { errors: error.fields, values }, 400);
        }
        throw error;
      }
      return ctx.reply.redirect(`/staff/consents/subjects/${subjectId}?saved=1`, 303);
    },
  });
}
