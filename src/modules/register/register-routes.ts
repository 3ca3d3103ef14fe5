/**
 * Routes of the register: staff pages (privacy officer edits; owners and admins view), exports,
 * agreement documents, and the public sub-processor pages (`/subprocessors`, `/en/subprocessors`,
 * `/o/:slug/subprocessors`, `/en/o/:slug/subprocessors`). Forms with a document upload are
 * multipart (parsed in this module's scope only, before the CSRF check reads `_csrf`).
 */
import fastifyMultipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type Actor, hasRole } from '../../shared/actor.js';
import { AppError, isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import { translator } from '../../shared/i18n/messages.js';
import type { KluisCore } from '../module.js';
import { createOrgsRepository } from '../orgs/orgs-repository.js';
import { editorRoles } from './register-access.js';
import { MAX_DOCUMENT_BYTES, type UploadedDocument } from './register-documents.js';
import { registerCsv, registerJson } from './register-export.js';
import type { RetentionValues } from './register-labels.js';
import { isChannel, type RegisterService } from './register-service.js';
import {
  type AgreementFormValues,
  activityPage,
  agreementFormPage,
  agreementsPage,
  printPage,
  publicSubprocessorsPage,
  registerPage,
  type SubprocessorFormValues,
  settingsPage,
  subprocessorFormPage,
  subprocessorListPage,
} from './register-views.js';

const viewAccess = { kind: 'staff', permission: 'register.read' } as const;
const editAccess = { kind: 'staff', permission: 'register.edit' } as const;

/** What the register's routes use: the core and the register service. */
export type RegisterRouteDeps = KluisCore & { readonly register: RegisterService };

export function retentionValuesOf(kluis: Pick<KluisCore, 'config'>): RetentionValues {
  return {
    truncateDays: kluis.config.accessLog.truncateIpAfterDays,
    deleteDays: kluis.config.accessLog.deleteAfterDays,
    sessionHours: kluis.config.sessionAbsoluteHours,
  };
}

function actorOf(request: FastifyRequest): Actor {
  const actor = request.actor;
  if (actor === undefined) throw new AppError('ERR_UNAUTHENTICATED');
  return actor;
}

function body(request: FastifyRequest): Record<string, unknown> {
  const b = request.body;
  return b !== null && typeof b === 'object' ? (b as Record<string, unknown>) : {};
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Repeated fields (checkboxes) as a list of strings. */
function strings(value: unknown): string[] {
  if (value === undefined || value === null || value === '') return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

interface FilePart {
  filename: string;
  mimetype: string;
  data: Buffer;
}

function isFilePart(value: unknown): value is FilePart {
  return (
    value !== null &&
    typeof value === 'object' &&
    'data' in value &&
    Buffer.isBuffer((value as FilePart).data)
  );
}

/** The uploaded document, or undefined when the file field was left empty. */
function documentOf(request: FastifyRequest): UploadedDocument | undefined {
  const part = body(request).document;
  if (!isFilePart(part) || part.data.length === 0) return undefined;
  return { filename: part.filename, contentType: part.mimetype, data: part.data };
}

const idParams = z.object({ id: z.uuid() });
const purposeParams = z.object({ purpose: z.string().regex(/^[a-z][a-z0-9_]{0,60}$/) });
const slugParams = z.object({ slug: z.string().min(1).max(100) });

function idOf(request: FastifyRequest): string {
  const parsed = idParams.safeParse(request.params);
  if (!parsed.success) throw new AppError('ERR_NOT_FOUND', { message: 'not an id' });
  return parsed.data.id;
}

function doneOf(request: FastifyRequest): string | undefined {
  const q = request.query as Record<string, unknown> | undefined;
  return typeof q?.done === 'string' ? q.done : undefined;
}

/** Runs a save; a validation error re-renders the form (status 400) with the input kept. */
async function withFormErrors(
  save: () => Promise<FastifyReply>,
  rerender: (errors: FieldErrors, status: number) => FastifyReply | Promise<FastifyReply>,
): Promise<FastifyReply> {
  try {
    return await save();
  } catch (error) {
    if (isAppError(error) && error.fields !== undefined && error.status < 500) {
      return rerender(error.fields, error.status);
    }
    throw error;
  }
}

async function staffRoutes(app: FastifyInstance, kluis: RegisterRouteDeps): Promise<void> {
  const register = kluis.register;
  const retention = retentionValuesOf(kluis);

  app.get('/staff/register', { config: { access: viewAccess } }, async (request, reply) => {
    const actor = actorOf(request);
    const t = translator(request.locale);
    const snapshot = await register.getRegister({ actor });
    return renderPage(request, reply, {
      title: t('register.title'),
      body: registerPage({
        t,
        locale: request.locale,
        snapshot,
        retention,
        canEdit: hasRole(actor, ...editorRoles),
        notice: doneOf(request) === 'saved' ? t('register.saved') : undefined,
      }),
    });
  });

  app.get('/staff/register/print', { config: { access: viewAccess } }, async (request, reply) => {
    const t = translator(request.locale);
    const snapshot = await register.getRegister({ actor: actorOf(request) });
    return renderPage(request, reply, {
      title: t('register.printTitle'),
      body: printPage({
        t,
        locale: request.locale,
        snapshot,
        retention,
        date: kluis.clock.now().toISOString(),
      }),
    });
  });

  const exportName = (slug: string, ext: string) =>
    `register-${slug.replace(/[^a-z0-9-]/gi, '')}-${kluis.clock.now().toISOString().slice(0, 10)}.${ext}`;

  app.get('/staff/register/export.csv', { config: { access: viewAccess } }, async (request, reply) => {
    const t = translator(request.locale);
    const snapshot = await register.getRegister({ actor: actorOf(request) });
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${exportName(snapshot.org.slug, 'csv')}"`)
      .send(registerCsv(snapshot, t, request.locale, retention));
  });

  app.get('/staff/register/export.json', { config: { access: viewAccess } }, async (request, reply) => {
    const t = translator(request.locale);
    const snapshot = await register.getRegister({ actor: actorOf(request) });
    return reply
      .type('application/json; charset=utf-8')
      .header('content-disposition', `attachment; filename="${exportName(snapshot.org.slug, 'json')}"`)
      .send(
        JSON.stringify(
          registerJson(snapshot, t, request.locale, retention, kluis.clock.now().toISOString()),
          null,
          2,
        ),
      );
  });

  // --- activities ---------------------------------------------------------------------------

  const purposeOf = (request: FastifyRequest): string => {
    const parsed = purposeParams.safeParse(request.params);
    if (!parsed.success) throw new AppError('ERR_NOT_FOUND', { message: 'not a purpose' });
    return parsed.data.purpose;
  };

  const renderActivity = async (
    request: FastifyRequest,
    reply: FastifyReply,
    o: { values?: Record<string, unknown>; errors?: FieldErrors; status?: number } = {},
  ) => {
    const actor = actorOf(request);
    const purpose = purposeOf(request);
    const snapshot = await register.getRegister({ actor });
    const activity = snapshot.activities.find((a) => a.purpose === purpose);
    if (activity === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'no such activity' });
    const t = translator(request.locale);
    const csrf = reply.generateCsrf();
    const v = o.values;
    return renderPage(request, reply, {
      title: t('register.activity.editTitle', { name: purpose }),
      status: o.status ?? 200,
      csrfToken: csrf,
      body: activityPage({
        t,
        locale: request.locale,
        csrf,
        snapshot,
        purpose,
        retention,
        values:
          v === undefined
            ? {
                description: activity.description,
                recipients: activity.recipients,
                transfers: activity.transfers,
                securityMeasures: activity.securityMeasures,
              }
            : {
                description: str(v.description),
                recipients: str(v.recipients),
                transfers: str(v.transfers),
                securityMeasures: str(v.securityMeasures),
              },
        errors: o.errors,
      }),
    });
  };

  app.get('/staff/register/activities/:purpose', { config: { access: editAccess } }, async (request, reply) =>
    renderActivity(request, reply),
  );

  app.post(
    '/staff/register/activities/:purpose',
    { config: { access: editAccess } },
    async (request, reply) => {
      const values = body(request);
      const purpose = purposeOf(request);
      return withFormErrors(
        async () => {
          await register.updateActivity({
            actor: actorOf(request),
            purpose,
            values: {
              description: str(values.description),
              recipients: str(values.recipients),
              transfers: str(values.transfers),
              securityMeasures: str(values.securityMeasures),
            },
          });
          return reply.redirect(`/staff/register?done=saved#activity-${purpose}`, 303);
        },
        (errors, status) => renderActivity(request, reply, { values, errors, status }),
      );
    },
  );

  // --- organisation details -----------------------------------------------------------------

  const renderSettings = async (
    request: FastifyRequest,
    reply: FastifyReply,
    o: { values?: Record<string, unknown>; errors?: FieldErrors; status?: number } = {},
  ) => {
    const { org, settings } = await register.getSettings({ actor: actorOf(request) });
    const t = translator(request.locale);
    const csrf = reply.generateCsrf();
    const v = o.values;
    return renderPage(request, reply, {
      title: t('register.settings.title'),
      status: o.status ?? 200,
      csrfToken: csrf,
      body: settingsPage({
        t,
        csrf,
        org,
        values:
          v === undefined
            ? settings
            : {
                displayName: str(v.displayName),
                contactAddress: str(v.contactAddress),
                contactEmail: str(v.contactEmail),
                privacyEmail: str(v.privacyEmail),
                phone: str(v.phone),
                website: str(v.website),
                termsUrl: str(v.termsUrl),
                channels: strings(v.channels).filter(isChannel),
              },
        errors: o.errors,
        notice: doneOf(request) === 'saved' ? t('register.saved') : undefined,
      }),
    });
  };

  app.get('/staff/register/settings', { config: { access: editAccess } }, async (request, reply) =>
    renderSettings(request, reply),
  );

  app.post('/staff/register/settings', { config: { access: editAccess } }, async (request, reply) => {
    const values = body(request);
    return withFormErrors(
      async () => {
        await register.updateSettings({
          actor: actorOf(request),
          values: {
            displayName: str(values.displayName),
            contactAddress: str(values.contactAddress),
            contactEmail: str(values.contactEmail),
            privacyEmail: str(values.privacyEmail),
            phone: str(values.phone),
            website: str(values.website),
            termsUrl: str(values.termsUrl),
            channels: strings(values.channels).filter(isChannel),
          },
        });
        return reply.redirect('/staff/register/settings?done=saved', 303);
      },
      (errors, status) => renderSettings(request, reply, { values, errors, status }),
    );
  });

  // --- sub-processors -----------------------------------------------------------------------

  app.get('/staff/subprocessors', { config: { access: viewAccess } }, async (request, reply) => {
    const actor = actorOf(request);
    const t = translator(request.locale);
    const done = doneOf(request);
    return renderPage(request, reply, {
      title: t('register.sp.title'),
      body: subprocessorListPage({
        t,
        locale: request.locale,
        list: await register.listSubprocessors({ actor }),
        canEdit: hasRole(actor, ...editorRoles),
        notice:
          done === 'announced'
            ? t('register.sp.saved')
            : done === 'saved'
              ? t('register.sp.savedNoNotice')
              : undefined,
      }),
    });
  });

  const spValues = (v: Record<string, unknown>): SubprocessorFormValues => ({
    name: str(v.name),
    service: str(v.service),
    location: str(v.location),
    country: str(v.country),
    dataCategories: strings(v.dataCategories),
    status: str(v.status) || 'active',
    agreementVersion: str(v.agreementVersion),
    agreementSignedOn: str(v.agreementSignedOn),
  });

  const renderSpForm = async (
    request: FastifyRequest,
    reply: FastifyReply,
    o: { id?: string; values?: SubprocessorFormValues; errors?: FieldErrors; status?: number },
  ) => {
    const t = translator(request.locale);
    const csrf = reply.generateCsrf();
    let values = o.values;
    let title = t('register.sp.newTitle');
    if (o.id !== undefined) {
      const sp = await register.getSubprocessor({ actor: actorOf(request), id: o.id });
      title = t('register.sp.editTitle', { name: sp.name });
      values ??= {
        name: sp.name,
        service: sp.service,
        location: sp.location,
        country: sp.country,
        dataCategories: sp.dataCategories,
        status: sp.status,
        agreementVersion: sp.agreement?.version ?? '',
        agreementSignedOn: sp.agreement?.signedOn ?? '',
      };
    }
    return renderPage(request, reply, {
      title,
      status: o.status ?? 200,
      csrfToken: csrf,
      body: subprocessorFormPage({
        t,
        locale: request.locale,
        csrf,
        title,
        action: o.id === undefined ? '/staff/subprocessors' : `/staff/subprocessors/${o.id}`,
        values: values ?? spValues({}),
        errors: o.errors,
      }),
    });
  };

  app.get('/staff/subprocessors/new', { config: { access: editAccess } }, async (request, reply) =>
    renderSpForm(request, reply, {}),
  );

  app.get('/staff/subprocessors/:id', { config: { access: editAccess } }, async (request, reply) =>
    renderSpForm(request, reply, { id: idOf(request) }),
  );

  const saveSp = async (request: FastifyRequest, reply: FastifyReply, id: string | undefined) => {
    const values = spValues(body(request));
    return withFormErrors(
      async () => {
        const input = {
          actor: actorOf(request),
          values,
          document: documentOf(request),
        };
        const { announced } =
          id === undefined
            ? await register.createSubprocessor(input)
            : await register.updateSubprocessor({ ...input, id });
        return reply.redirect(`/staff/subprocessors?done=${announced > 0 ? 'announced' : 'saved'}`, 303);
      },
      (errors, status) =>
        renderSpForm(request, reply, { ...(id === undefined ? {} : { id }), values, errors, status }),
    );
  };

  app.post('/staff/subprocessors', { config: { access: editAccess } }, async (request, reply) =>
    saveSp(request, reply, undefined),
  );

  app.post('/staff/subprocessors/:id', { config: { access: editAccess } }, async (request, reply) =>
    saveSp(request, reply, idOf(request)),
  );

  // --- processor agreements -----------------------------------------------------------------

  app.get('/staff/agreements', { config: { access: viewAccess } }, async (request, reply) => {
    const actor = actorOf(request);
    const t = translator(request.locale);
    const { held, withUs } = await register.listAgreements({ actor });
    const operator = await createOrgsRepository(kluis.db).findOperator();
    return renderPage(request, reply, {
      title: t('register.ag.title'),
      body: agreementsPage({
        t,
        locale: request.locale,
        held,
        withUs,
        isTenant: actor.orgKind === 'tenant',
        operatorName: operator?.name ?? '',
        canEdit: hasRole(actor, ...editorRoles),
        notice: doneOf(request) === 'saved' ? t('register.ag.saved') : undefined,
      }),
    });
  });

  const agValues = (v: Record<string, unknown>): AgreementFormValues => ({
    counterparty: str(v.counterparty),
    version: str(v.version),
    signedOn: str(v.signedOn),
    parties: str(v.parties),
  });

  const renderAgForm = async (
    request: FastifyRequest,
    reply: FastifyReply,
    o: { id?: string; values?: AgreementFormValues; errors?: FieldErrors; status?: number },
  ) => {
    const actor = actorOf(request);
    const t = translator(request.locale);
    const csrf = reply.generateCsrf();
    const existing = o.id === undefined ? undefined : await register.getAgreement({ actor, id: o.id });
    const title = existing === undefined ? t('register.ag.newTitle') : t('register.ag.editTitle');
    return renderPage(request, reply, {
      title,
      status: o.status ?? 200,
      csrfToken: csrf,
      body: agreementFormPage({
        t,
        csrf,
        title,
        action: existing === undefined ? '/staff/agreements' : `/staff/agreements/${existing.id}`,
        options: existing === undefined ? await register.counterpartyOptions({ actor }) : undefined,
        counterpartyName: existing?.counterpartyName,
        values:
          o.values ??
          (existing === undefined
            ? agValues({})
            : {
                counterparty: '',
                version: existing.version,
                signedOn: existing.signedOn,
                parties: existing.parties,
              }),
        errors: o.errors,
      }),
    });
  };

  app.get('/staff/agreements/new', { config: { access: editAccess } }, async (request, reply) =>
    renderAgForm(request, reply, {}),
  );

  app.get('/staff/agreements/:id', { config: { access: editAccess } }, async (request, reply) =>
    renderAgForm(request, reply, { id: idOf(request) }),
  );

  app.post('/staff/agreements', { config: { access: editAccess } }, async (request, reply) => {
    const values = agValues(body(request));
    return withFormErrors(
      async () => {
        await register.createAgreement({ actor: actorOf(request), values, document: documentOf(request) });
        return reply.redirect('/staff/agreements?done=saved', 303);
      },
      (errors, status) => renderAgForm(request, reply, { values, errors, status }),
    );
  });

  app.post('/staff/agreements/:id', { config: { access: editAccess } }, async (request, reply) => {
    const id = idOf(request);
    const values = agValues(body(request));
    return withFormErrors(
      async () => {
        await register.updateAgreement({
          actor: actorOf(request),
          id,
          values,
          document: documentOf(request),
        });
        return reply.redirect('/staff/agreements?done=saved', 303);
      },
      (errors, status) => renderAgForm(request, reply, { id, values, errors, status }),
    );
  });

  app.get('/staff/agreements/:id/document', { config: { access: viewAccess } }, async (request, reply) => {
    const doc = await register.readAgreementDocument({ actor: actorOf(request), id: idOf(request) });
    return reply
      .type('application/pdf')
      .header('content-disposition', `attachment; filename="${doc.filename.replace(/"/g, '')}"`)
      .send(doc.data);
  });
}

async function publicRoutes(app: FastifyInstance, kluis: RegisterRouteDeps): Promise<void> {
  const register = kluis.register;

  const show = async (request: FastifyRequest, reply: FastifyReply, slug: string | undefined) => {
    const orgs = createOrgsRepository(kluis.db);
    const org = slug === undefined ? await orgs.findOperator() : await orgs.findBySlug(slug);
    if (org === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'organisation not found' });
    const info = { id: org.id, kind: org.kind, name: org.name, slug: org.slug };
    const snapshot = await register.snapshotOf(org.id);
    const t = translator(request.locale);
    const base = `${request.locale === 'en' ? '/en' : ''}${org.kind === 'operator' ? '' : `/o/${encodeURIComponent(org.slug)}`}`;
    return renderPage(request, reply, {
      title: t('register.sp.publicTitle', { org: snapshot.settings.name }),
      body: publicSubprocessorsPage({
        t,
        locale: request.locale,
        orgName: snapshot.settings.name,
        list: await register.listPublicSubprocessors(info.id),
        statementHref: `${base}/privacy`,
      }),
    });
  };

  const slugOf = (request: FastifyRequest): string => {
    const parsed = slugParams.safeParse(request.params);
    if (!parsed.success) throw new AppError('ERR_NOT_FOUND', { message: 'not a slug' });
    return parsed.data.slug;
  };

  const access = { access: { kind: 'public' } } as const;
  app.get('/subprocessors', { config: access }, async (request, reply) => show(request, reply, undefined));
  app.get('/en/subprocessors', { config: access }, async (request, reply) => show(request, reply, undefined));
  app.get('/o/:slug/subprocessors', { config: access }, async (request, reply) =>
    show(request, reply, slugOf(request)),
  );
  app.get('/en/o/:slug/subprocessors', { config: access }, async (request, reply) =>
    show(request, reply, slugOf(request)),
  );
}

/**
 * Parses multipart forms of this module into `request.body` (fields as strings, repeated fields as
 * lists, the file as `{ filename, mimetype, data }`) before the CSRF check reads `_csrf`. A
 * malformed body is a 400, a file over the limit a 413. Only signed-in staff get their upload read.
 */
async function parseMultipart(request: FastifyRequest): Promise<void> {
  // Nobody signed in: nothing here accepts an upload from them, so the body is not even read.
  if (!request.isMultipart() || request.actor === undefined) return;
  const fields: Record<string, unknown> = {};
  const add = (name: string, value: unknown) => {
    const existing = fields[name];
    if (existing === undefined) fields[name] = value;
    else fields[name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  };
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        const data = await part.toBuffer();
        fields[part.fieldname] = {
          filename: part.filename,
          mimetype: part.mimetype,
          data,
        } satisfies FilePart;
      } else if (typeof part.value === 'string') {
        add(part.fieldname, part.value);
      }
    }
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw new AppError('ERR_PAYLOAD_TOO_LARGE', { cause });
    throw new AppError('ERR_VALIDATION', { message: 'malformed multipart body', cause });
  }
  request.body = fields;
}

export async function registerRoutes(kit: RouteKit, kluis: RegisterRouteDeps): Promise<void> {
  const app = kit.app;
  // Multipart only in this module's scope (forms with an agreement document).
  await app.register(fastifyMultipart, {
    limits: { fileSize: MAX_DOCUMENT_BYTES + 1, files: 1, fields: 60, fieldSize: 100_000, parts: 70 },
  });
  app.addHook('preValidation', parseMultipart);
  await staffRoutes(app, kluis);
  await publicRoutes(app, kluis);
}
