/**
 * The privacy officer's side of the statement: the editor with its status, sections and versions
 * (`statement.read`), the preview, and saving sections and publishing (`statement.publish`). The
 * public pages are in statement-public-routes.ts.
 */
import { z } from 'zod';
import type { FieldErrors } from '../../shared/html/forms.js';
import {
  type FormPageContext,
  type FormRefusal,
  renderFormPage,
  submitForm,
  typedText,
} from '../../shared/http/form-submit.js';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import { locales } from '../../shared/i18n/messages.js';
import { can } from '../../shared/permissions.js';
import { publicPath, type RegisterService } from '../register/index.js';
import { statementPublicRoutes } from './statement-public-routes.js';
import { publishInput, type StatementService, sectionsInput } from './statement-service.js';
import { editorPage, previewPage } from './statement-views.js';

const read = { kind: 'staff', permission: 'statement.read' } as const;
const publish = { kind: 'staff', permission: 'statement.publish' } as const;

/** What the statement's routes use: its own service, and the register's for the public pages. */
export interface StatementRouteDeps {
  readonly statement: StatementService;
  readonly register: Pick<RegisterService, 'findPublicOrg'>;
}

/** The editor as shown again after a refused form, or with the notice of what was just done. */
interface EditorState {
  readonly status?: number;
  readonly notice?: 'sections' | 'published' | undefined;
  readonly sectionErrors?: FieldErrors;
  readonly sectionValues?: Readonly<Record<string, string>>;
  readonly publishErrors?: FieldErrors;
  readonly publishValues?: { changeSummaryNl: string; changeSummaryEn: string };
}

export function statementRoutes(kit: RouteKit, deps: StatementRouteDeps): void {
  const { statement } = deps;

  const showEditor = async (ctx: FormPageContext, state: EditorState = {}) => {
    const { t, locale } = ctx;
    const editor = await statement.getEditor({ actor: ctx.actor });
    const published = editor.versions[0]?.number;
    return renderFormPage(ctx, {
      title: t('statement.title'),
      status: state.status,
      body: (csrf) =>
        editorPage({
          t,
          locale,
          csrf,
          sections: editor.sections,
          status: editor.status,
          versions: editor.versions,
          publicBase: publicPath(editor.org, locale, ''),
          canEdit: can(ctx.actor, 'statement.publish'),
          notice:
            state.notice === 'sections'
              ? t('statement.sections.saved')
              : state.notice === 'published' && published !== undefined
                ? t('statement.publish.done', { number: published })
                : undefined,
          sectionErrors: state.sectionErrors,
          sectionValues: state.sectionValues,
          publishErrors: state.publishErrors,
          publishValues: state.publishValues,
        }),
    });
  };

  kit.route({
    method: 'GET',
    url: '/staff/statement',
    access: read,
    query: z.object({ done: z.enum(['sections', 'published']).optional().catch(undefined) }),
    handler: (ctx) => showEditor(ctx, { notice: ctx.query.done }),
  });

  kit.route({
    method: 'POST',
    url: '/staff/statement/sections',
    access: publish,
    body: sectionsInput,
    form: true,
    handler: (ctx) => {
      const showAgain = (refusal: FormRefusal) =>
        showEditor(ctx, {
          status: refusal.status,
          sectionErrors: refusal.errors,
          sectionValues: ctx.body.values,
        });
      return submitForm(
        ctx,
        async (values) => {
          await statement.saveSections({ actor: ctx.actor, values });
          return '/staff/statement?done=sections';
        },
        showAgain,
      );
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/statement/preview',
    access: read,
    query: z.object({ show: z.enum(locales).catch('nl') }),
    handler: async ({ request, reply, actor, query, t }) => {
      const preview = await statement.preview({ actor, locale: query.show });
      return renderPage(request, reply, {
        title: t('statement.preview.title'),
        body: previewPage({ t, show: query.show, html: preview.html, nextNumber: preview.nextNumber }),
      });
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/statement/publish',
    access: publish,
    body: publishInput,
    form: true,
    handler: (ctx) => {
      const publishValues = typedText(ctx.body.values, ['changeSummaryNl', 'changeSummaryEn']);
      const showAgain = (refusal: FormRefusal) =>
        showEditor(ctx, { status: refusal.status, publishErrors: refusal.errors, publishValues });
      return submitForm(
        ctx,
        async (values) => {
          await statement.publish({ actor: ctx.actor, values });
          return '/staff/statement?done=published';
        },
        showAgain,
      );
    },
  });

  statementPublicRoutes(kit, deps);
}
