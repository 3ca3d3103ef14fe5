/**
 * Routes of the statement: the privacy officer's editor, preview and publication (staff), and the
 * public pages under four prefixes — the operator's (`''`, `/en`) and each tenant's (`/o/:slug`,
 * `/en/o/:slug`): `/privacy` (newest, a stable URL), `/privacy/versions` (archive),
 * `/privacy/v/:n` (each version's permanent URL) and `/privacy/diff?from=&to=`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type Actor, hasRole } from '../../shared/actor.js';
import { AppError, isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import { type Locale, locales, translator } from '../../shared/i18n/messages.js';
import type { KluisCore } from '../module.js';
import { editorRoles } from '../register/register-access.js';
import type { OrgInfo, RegisterService } from '../register/register-service.js';
import { publicPath, sectionIds } from './statement-generate.js';
import type { StatementService } from './statement-service.js';
import {
  archivePage,
  diffPage,
  editorPage,
  noStatementPage,
  previewPage,
  versionPage,
} from './statement-views.js';

const viewAccess = { kind: 'staff', permission: 'statement.read' } as const;
const editAccess = { kind: 'staff', permission: 'statement.publish' } as const;

/** What the statement's routes use: the core, the statement and the register services. */
export type StatementRouteDeps = KluisCore & {
  readonly statement: StatementService;
  readonly register: RegisterService;
};

function actorOf(request: FastifyRequest): Actor {
  const actor = request.actor;
  if (actor === undefined) throw new AppError('ERR_UNAUTHENTICATED');
  return actor;
}

function formBody(request: FastifyRequest): Record<string, unknown> {
  const b = request.body;
  return b !== null && typeof b === 'object' ? (b as Record<string, unknown>) : {};
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

const versionNumber = z.coerce.number().int().min(1).max(1_000_000);
const versionParams = z.object({ n: z.string().regex(/^\d{1,7}$/) });
const slugParams = z.object({ slug: z.string().min(1).max(100) });
const diffQuery = z.object({ from: versionNumber, to: versionNumber });
const previewQuery = z.object({ show: z.enum(locales).catch('nl') });

async function staffRoutes(app: FastifyInstance, kluis: StatementRouteDeps): Promise<void> {
  const statement = kluis.statement;

  const renderEditor = async (
    request: FastifyRequest,
    reply: FastifyReply,
    o: {
      httpStatus?: number;
      sectionErrors?: FieldErrors;
      sectionValues?: Record<string, string>;
      publishErrors?: FieldErrors;
      publishValues?: { changeSummaryNl: string; changeSummaryEn: string };
    } = {},
  ) => {
    const actor = actorOf(request);
    const t = translator(request.locale);
    const editor = await statement.getEditor({ actor });
    const csrf = reply.generateCsrf();
    const q = request.query as Record<string, unknown> | undefined;
    const done = typeof q?.done === 'string' ? q.done : undefined;
    const published = editor.versions[0]?.number;
    return renderPage(request, reply, {
      title: t('statement.title'),
      status: o.httpStatus ?? 200,
      csrfToken: csrf,
      body: editorPage({
        t,
        locale: request.locale,
        csrf,
        sections: editor.sections,
        status: editor.status,
        versions: editor.versions,
        publicBase: publicPath(editor.org, request.locale, ''),
        canEdit: hasRole(actor, ...editorRoles),
        notice:
          o.httpStatus !== undefined
            ? undefined
            : done === 'sections'
              ? t('statement.sections.saved')
              : done === 'published' && published !== undefined
                ? t('statement.publish.done', { number: published })
                : undefined,
        sectionErrors: o.sectionErrors,
        sectionValues: o.sectionValues,
        publishErrors: o.publishErrors,
        publishValues: o.publishValues,
      }),
    });
  };

  app.get('/staff/statement', { config: { access: viewAccess } }, async (request, reply) =>
    renderEditor(request, reply),
  );

  app.post('/staff/statement/sections', { config: { access: editAccess } }, async (request, reply) => {
    const b = formBody(request);
    const values: Record<string, string> = {};
    for (const s of sectionIds) {
      for (const l of locales) {
        const v = b[`${s}_${l}`];
        if (typeof v === 'string') values[`${s}_${l}`] = v;
      }
    }
    try {
      await statement.saveSections({ actor: actorOf(request), values });
    } catch (error) {
      if (isAppError(error) && error.fields !== undefined && error.status < 500) {
        return renderEditor(request, reply, {
          httpStatus: error.status,
          sectionErrors: error.fields,
          sectionValues: values,
        });
      }
      throw error;
    }
    return reply.redirect('/staff/statement?done=sections', 303);
  });

  app.get('/staff/statement/preview', { config: { access: viewAccess } }, async (request, reply) => {
    const t = translator(request.locale);
    const { show } = previewQuery.parse(request.query ?? {});
    const preview = await statement.preview({ actor: actorOf(request), locale: show });
    return renderPage(request, reply, {
      title: t('statement.preview.title'),
      body: previewPage({ t, show, html: preview.html, nextNumber: preview.nextNumber }),
    });
  });

  app.post('/staff/statement/publish', { config: { access: editAccess } }, async (request, reply) => {
    const b = formBody(request);
    const values = { changeSummaryNl: text(b.changeSummaryNl), changeSummaryEn: text(b.changeSummaryEn) };
    try {
      await statement.publish({ actor: actorOf(request), values });
    } catch (error) {
      if (isAppError(error) && error.fields !== undefined && error.status < 500) {
        return renderEditor(request, reply, {
          httpStatus: error.status,
          publishErrors: error.fields,
          publishValues: values,
        });
      }
      throw error;
    }
    return reply.redirect('/staff/statement?done=published', 303);
  });
}

async function publicRoutes(app: FastifyInstance, kluis: StatementRouteDeps): Promise<void> {
  const statement = kluis.statement;
  const register = kluis.register;
  const access = { access: { kind: 'public' } } as const;

  const orgOf = async (request: FastifyRequest, tenant: boolean): Promise<OrgInfo> => {
    let slug: string | undefined;
    if (tenant) {
      const parsed = slugParams.safeParse(request.params);
      if (!parsed.success) throw new AppError('ERR_NOT_FOUND', { message: 'not a slug' });
      slug = parsed.data.slug;
    }
    const org = await statement.findPublicOrg(slug);
    if (org === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'organisation not found' });
    return org;
  };

  const orgName = async (org: OrgInfo) => (await register.snapshotOf(org.id)).settings.name;
  const baseOf = (org: OrgInfo, locale: Locale) => publicPath(org, locale, '');

  for (const prefix of ['', '/en', '/o/:slug', '/en/o/:slug']) {
    const tenant = prefix.includes(':slug');

    app.get(`${prefix}/privacy`, { config: access }, async (request, reply) => {
      const org = await orgOf(request, tenant);
      const t = translator(request.locale);
      const latest = await statement.findLatestVersion(org.id);
      if (latest === undefined) {
        return renderPage(request, reply, {
          title: t('statement.title'),
          status: 404,
          body: noStatementPage(t),
        });
      }
      return renderPage(request, reply, {
        title: `${t('statement.title')} ${await orgName(org)}`,
        body: versionPage({
          t,
          locale: request.locale,
          version: latest,
          latestNumber: latest.number,
          base: baseOf(org, request.locale),
        }),
      });
    });

    app.get(`${prefix}/privacy/versions`, { config: access }, async (request, reply) => {
      const org = await orgOf(request, tenant);
      const t = translator(request.locale);
      const name = await orgName(org);
      return renderPage(request, reply, {
        title: t('statement.archive.title', { org: name }),
        body: archivePage({
          t,
          locale: request.locale,
          orgName: name,
          versions: await statement.listVersions(org.id),
          base: baseOf(org, request.locale),
        }),
      });
    });

    app.get(`${prefix}/privacy/v/:n`, { config: access }, async (request, reply) => {
      const org = await orgOf(request, tenant);
      const parsed = versionParams.safeParse(request.params);
      if (!parsed.success) throw new AppError('ERR_NOT_FOUND', { message: 'not a version number' });
      const version = await statement.findVersion(org.id, Number(parsed.data.n));
      if (version === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'no such version' });
      const versions = await statement.listVersions(org.id);
      const t = translator(request.locale);
      return renderPage(request, reply, {
        title: `${t('statement.title')} ${await orgName(org)} · ${t('statement.versions.col.number')} ${version.number}`,
        body: versionPage({
          t,
          locale: request.locale,
          version,
          latestNumber: versions[0]?.number ?? version.number,
          base: baseOf(org, request.locale),
        }),
      });
    });

    app.get(`${prefix}/privacy/diff`, { config: access }, async (request, reply) => {
      const org = await orgOf(request, tenant);
      const versions = await statement.listVersions(org.id);
      const parsed = diffQuery.safeParse(request.query ?? {});
      const from = parsed.success ? parsed.data.from : versions[1]?.number;
      const to = parsed.success ? parsed.data.to : versions[0]?.number;
      const diff =
        from === undefined || to === undefined
          ? undefined
          : await statement.diff(org.id, from, to, request.locale);
      if (diff === undefined || from === undefined || to === undefined) {
        throw new AppError('ERR_NOT_FOUND', { message: 'no such versions to compare' });
      }
      const t = translator(request.locale);
      return renderPage(request, reply, {
        title: t('statement.diff.title', { from, to }),
        body: diffPage({ t, from, to, diff, versions, base: baseOf(org, request.locale) }),
      });
    });
  }
}

export async function statementRoutes(kit: RouteKit, kluis: StatementRouteDeps): Promise<void> {
  const app = kit.app;
  await staffRoutes(app, kluis);
  await publicRoutes(app, kluis);
}
