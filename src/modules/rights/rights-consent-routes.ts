/**
 * `/staff/consents` (P15): find a person, see and record consent and objections, download their
 * consent record (ISO/IEC TS 27560 JSON) and the newsletter recipients (only who consents now).
 * Thin handlers: parse, call the use case (which checks roles, scopes to the org and audits), render.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type Actor, hasRole } from '../../shared/actor.js';
import { AppError, isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import { renderPage } from '../../shared/http/render.js';
import { parseForm } from '../../shared/http/validation.js';
import type { KluisCore, KluisServices } from '../module.js';
import { createSubjectsService } from '../subjects/subjects-service.js';
import { consentRecorders, createConsentService, currentRecords, statesOf } from './rights-consent.js';
import {
  exportConsentRecords,
  exportNewsletterRecipients,
  newsletterExporters,
} from './rights-consent-export.js';
import { type ConsentFormValues, consentIndexPage, consentSubjectPage } from './rights-consent-views.js';

const readers = { access: { kind: 'staff', permission: 'consent.read' } } as const;
const recorders = { access: { kind: 'staff', permission: 'consent.record' } } as const;
const exporters = { access: { kind: 'staff', permission: 'consent.export_newsletter' } } as const;

const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const lookupForm = z.object({
  email: z.preprocess(
    (v) => (typeof v === 'string' ? v.trim() : v),
    z
      .email({ message: 'rights.consent.lookup.invalid' })
      .max(254, { message: 'rights.consent.lookup.invalid' }),
  ),
});

export function recordFormSchema(today: string) {
  return z.object({
    purpose: z.string({ message: 'rights.consent.invalidPurpose' }).max(60),
    event: z.string({ message: 'rights.consent.invalidEvent' }).max(40),
    method: z.string({ message: 'rights.consent.invalidMethod' }).max(40),
    date: z.preprocess(
      emptyToUndefined,
      z.iso
        .date({ message: 'rights.consent.invalidAt' })
        .refine((d) => d <= today, { message: 'rights.consent.invalidAt' })
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

function actorOf(request: FastifyRequest): Actor {
  if (request.actor === undefined) throw new AppError('ERR_UNAUTHENTICATED');
  return request.actor;
}

/** A uuid route parameter, or a 404. */
function subjectParam(request: FastifyRequest): string {
  const parsed = z.uuid().safeParse((request.params as Record<string, unknown> | undefined)?.subjectId);
  if (!parsed.success) throw new AppError('ERR_NOT_FOUND', { message: 'data subject not found' });
  return parsed.data;
}

function text(body: unknown, key: string): string | undefined {
  const v = (body as Record<string, unknown> | undefined)?.[key];
  return typeof v === 'string' ? v.slice(0, 300) : undefined;
}

/** Registers the consent registry's staff routes (the rights module mounts them). */
export function registerConsentRoutes(
  app: FastifyInstance,
  kluis: KluisCore & Pick<KluisServices, 'relations'>,
): void {
  const consents = createConsentService(kluis);

  async function index(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: {
      email?: string;
      errors?: FieldErrors;
      notFound?: boolean;
    } = {},
    status = 200,
  ) {
    const actor = actorOf(request);
    const consenting = await currentRecords(kluis.db, { orgId: actor.orgId }, 'newsletter')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('c.event', '=', 'given')
      .executeTakeFirst();
    const csrfToken = reply.generateCsrf();
    return renderPage(request, reply, {
      title: request.locale === 'nl' ? 'Toestemmingen' : 'Consent',
      status,
      csrfToken,
      body: (t) =>
        consentIndexPage(t, {
          csrfToken,
          canExport: hasRole(actor, ...newsletterExporters),
          newsletterCount: Number(consenting?.n ?? 0),
          email: extra.email,
          errors: extra.errors,
          notFound: extra.notFound ?? false,
        }),
    });
  }

  async function subjectPage(
    request: FastifyRequest,
    reply: FastifyReply,
    subjectId: string,
    extra: {
      saved?: boolean;
      errors?: FieldErrors;
      values?: ConsentFormValues;
    } = {},
    status = 200,
  ) {
    const actor = actorOf(request);
    const { erased, records } = await consents.history(actor, subjectId);
    const csrfToken = reply.generateCsrf();
    return renderPage(request, reply, {
      title: request.locale === 'nl' ? 'Toestemmingen' : 'Consent',
      status,
      csrfToken,
      body: (t) =>
        consentSubjectPage(t, {
          subjectId,
          erased,
          states: statesOf(records),
          records,
          csrfToken,
          canRecord: hasRole(actor, ...consentRecorders),
          saved: extra.saved ?? false,
          errors: extra.errors,
          values: extra.values,
        }),
    });
  }

  app.get('/staff/consents', { config: readers }, async (request, reply) => index(request, reply));

  app.post('/staff/consents/lookup', { config: readers }, async (request, reply) => {
    const actor = actorOf(request);
    const email = text(request.body, 'email') ?? '';
    const parsed = parseForm(lookupForm, request.body ?? {});
    if (!parsed.ok) return index(request, reply, { email, errors: parsed.errors }, 400);
    const found = await createSubjectsService(kluis).findByContact(
      kluis.db,
      { orgId: actor.orgId },
      { email: parsed.data.email },
    );
    const subject = found[0];
    if (subject === undefined) return index(request, reply, { email, notFound: true }, 404);
    return reply.redirect(`/staff/consents/subjects/${subject.id}`, 303);
  });

  app.get('/staff/consents/newsletter.csv', { config: exporters }, async (request, reply) => {
    const result = await exportNewsletterRecipients(kluis, actorOf(request), request.locale);
    const day = kluis.clock.now().toISOString().slice(0, 10);
    return reply
      .type('text/csv; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-disposition', `attachment; filename="newsletter-${day}.csv"`)
      .send(result.csv);
  });

  app.get('/staff/consents/subjects/:subjectId', { config: readers }, async (request, reply) => {
    const saved = (request.query as Record<string, unknown> | undefined)?.saved === '1';
    return subjectPage(request, reply, subjectParam(request), { saved });
  });

  app.get(
    '/staff/consents/subjects/:subjectId/consent-records.json',
    { config: readers },
    async (request, reply) => {
      const subjectId = subjectParam(request);
      const records = await exportConsentRecords(kluis, actorOf(request), subjectId, request.locale);
      return reply
        .type('application/json; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('content-disposition', `attachment; filename="consent-records-${subjectId}.json"`)
        .send(JSON.stringify(records, null, 2));
    },
  );

  app.post('/staff/consents/subjects/:subjectId', { config: recorders }, async (request, reply) => {
    const actor = actorOf(request);
    const subjectId = subjectParam(request);
    const values: ConsentFormValues = {
      purpose: text(request.body, 'purpose'),
      event: text(request.body, 'event'),
      method: text(request.body, 'method'),
      date: text(request.body, 'date'),
      statementVersion: text(request.body, 'statementVersion'),
    };
    const now = kluis.clock.now().toISOString();
    const parsed = parseForm(recordFormSchema(now.slice(0, 10)), request.body ?? {});
    if (!parsed.ok) return subjectPage(request, reply, subjectId, { errors: parsed.errors, values }, 400);
    const v = parsed.data;
    try {
      await consents.record({
        actor,
        values: {
          subjectId,
          purpose: v.purpose,
          event: v.event,
          method: v.method,
          // A date of today means now (so it is the newest record); an earlier day its start.
          ...(v.date === undefined || v.date === now.slice(0, 10) ? {} : { at: `${v.date}T00:00:00.000Z` }),
          ...(v.statementVersion === undefined ? {} : { statementVersion: v.statementVersion }),
        },
      });
    } catch (error) {
      if (isAppError(error) && error.code === 'ERR_VALIDATION' && error.fields !== undefined) {
        return subjectPage(request, reply, subjectId, { errors: error.fields, values }, 400);
      }
      throw error;
    }
    return reply.redirect(`/staff/consents/subjects/${subjectId}?saved=1`, 303);
  });
}
