/**
 * The route kit: a route is declared once — method, path, who may call it (a permission from the
 * one permission table), and its params, query, body and response as zod schemas — and receives
 * the parsed values, the actor and the path prefixes. The same declaration feeds Fastify's
 * validation (through fastify-type-provider-zod), the OpenAPI document (`/api/v1` routes), the
 * authorization suite (`app.routeTable`) and navigation.
 *
 * JSON bodies are validated by Fastify before the handler (a bad body is a 400 with a message per
 * field, in the caller's language). HTML forms declare `form: true`: the kit parses the body with
 * the same kind of schema and hands the handler either the data or the field errors with the
 * input as typed, so the page can be shown again with an error summary (nothing is stored).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, HTTPMethods } from 'fastify';
import type { z } from 'zod';
import { z as zod } from 'zod';
import type { Actor } from '../actor.js';
import { AppError } from '../errors.js';
import type { FieldErrors } from '../html/forms.js';
import { type Locale, type Translate, translator } from '../i18n/messages.js';
import type { RouteAccess } from './access.js';
import { fieldErrorsFromZod } from './validation.js';

export type UserActor = Extract<Actor, { kind: 'user' }>;

/** The actor a handler gets: a signed-in user on staff routes, any caller on API routes. */
export type ActorOf<A extends RouteAccess> = A extends { kind: 'staff' }
  ? UserActor
  : A extends { kind: 'api' }
    ? Actor
    : Actor | undefined;

export type FormResult<T> =
  | { readonly ok: true; readonly data: T; readonly values: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly errors: FieldErrors; readonly values: Readonly<Record<string, string>> };

type AnyObject = z.ZodObject<z.ZodRawShape>;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

/** The public pages of an organisation are served under these prefixes (language, tenant). */
export const sitePrefixes = ['', '/en', '/o/:slug', '/en/o/:slug'] as const;

/**
 * The message of a path parameter that names something: a value that cannot name anything is
 * answered like an unknown one, with 404 (see zodValidatorCompiler), so nothing tells a
 * malformed id from another organisation's.
 */
const namesNothing = 'error.notFound';

/** A path parameter naming a record by id (malformed: 404, like an unknown or foreign id). */
export const recordId = zod.uuid({ message: namesNothing });

/** The organisation part of a site path (`/o/:slug`); an impossible slug names no organisation (404). */
export const slugSchema = zod.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: namesNothing });

export interface RouteContext<A extends RouteAccess, P, Q, B> {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly actor: ActorOf<A>;
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly locale: Locale;
  readonly t: Translate;
  /** `''` or `'/en'`: the language part of the path (public pages). */
  readonly lang: '' | '/en';
  /** `''` or `'/o/<slug>'`: the organisation part of a site path, for links and redirects. */
  readonly site: string;
  /**
   * The tenant whose site page this is: the path's slug or, on a tenant's own host name, the
   * host's (host routing fills it); undefined for the operator's site and for other routes.
   */
  readonly siteSlug: string | undefined;
}

/** The access of a staff page: every signed-in staff user, or those holding a permission. */
export type StaffAccess = Extract<RouteAccess, { kind: 'staff' }>;

/** What a staff page's handler hands on to the helpers that render its page. */
export type StaffPageContext = Pick<
  RouteContext<StaffAccess, unknown, unknown, unknown>,
  'request' | 'reply' | 'actor' | 't' | 'locale'
>;

export interface RouteSpec<
  A extends RouteAccess,
  P extends AnyObject | undefined,
  Q extends AnyObject | undefined,
  B extends z.ZodType | undefined,
  F extends boolean,
> {
  readonly method: Exclude<HTTPMethods, 'HEAD' | 'OPTIONS' | 'head' | 'options'>;
  /** The path; with `site`, the path after the site prefix (e.g. `/contact`). */
  readonly url: string;
  /** A public page of an organisation's site: also served under `/en`, `/o/:slug` and `/en/o/:slug`. */
  readonly site?: boolean;
  readonly access: A;
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  /** The body is an HTML form: the handler gets a `FormResult` instead of a 400. */
  readonly form?: F;
  /** Response schemas by status (JSON routes): serialised through them, and documented. */
  readonly response?: Readonly<Record<number, z.ZodType>>;
  /** OpenAPI: a one-line summary, a longer description and tags (API routes). */
  readonly summary?: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  /** Route options Fastify knows (rate limit, body limit). */
  readonly rateLimit?: { readonly max: number; readonly timeWindow: number };
  readonly bodyLimit?: number;
  readonly handler: (
    ctx: RouteContext<A, Out<P>, Out<Q>, F extends true ? FormResult<Out<B>> : Out<B>>,
  ) => unknown;
}

export interface RouteKit {
  /** The module's own Fastify scope (plugins such as multipart, scoped hooks). */
  readonly app: FastifyInstance;
  route<
    A extends RouteAccess,
    P extends AnyObject | undefined = undefined,
    Q extends AnyObject | undefined = undefined,
    B extends z.ZodType | undefined = undefined,
    F extends boolean = false,
  >(spec: RouteSpec<A, P, Q, B, F>): void;
}

/** The string fields of a parsed form body, to show the form again as it was typed. */
export function formValues(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof body !== 'object' || body === null) return out;
  for (const [key, value] of Object.entries(body)) {
    if (typeof value === 'string' && key !== '_csrf') out[key] = value;
  }
  return out;
}

function parseFormBody<T>(schema: z.ZodType<T> | undefined, body: unknown): FormResult<T> {
  const values = formValues(body);
  if (schema === undefined) return { ok: true, data: undefined as T, values };
  const result = schema.safeParse(body ?? {});
  return result.success
    ? { ok: true, data: result.data, values }
    : { ok: false, errors: fieldErrorsFromZod(result.error), values };
}

/** Machine interfaces (documented in OpenAPI): `/api/…` and the OpenDSR endpoints. */
export function isApiPath(url: string): boolean {
  return url.startsWith('/api/') || url.includes('/opendsr/');
}

function langOf(url: string): '' | '/en' {
  return url === '/en' || url.startsWith('/en/') || url.startsWith('/en?') ? '/en' : '';
}

/** The kit over one Fastify scope. */
export function createRouteKit(app: FastifyInstance): RouteKit {
  return {
    app,
    route(spec) {
      const urls = spec.site
        ? sitePrefixes.map((p) => `${p}${spec.url === '/' ? '' : spec.url}` || '/')
        : [spec.url];
      for (const url of urls) {
        const hasSlug = url.includes(':slug');
        const params =
          spec.site && hasSlug ? (spec.params ?? zod.object({})).extend({ slug: slugSchema }) : spec.params;
        const api = isApiPath(url);
        const schema: FastifySchema & Record<string, unknown> = {
          ...(params === undefined ? {} : { params }),
          ...(spec.query === undefined ? {} : { querystring: spec.query }),
          ...(spec.body === undefined || spec.form ? {} : { body: spec.body }),
          ...(spec.response === undefined ? {} : { response: spec.response }),
          ...(api
            ? {
                ...(spec.summary === undefined ? {} : { summary: spec.summary }),
                ...(spec.description === undefined ? {} : { description: spec.description }),
                ...(spec.tags === undefined ? {} : { tags: [...spec.tags] }),
                ...(spec.access.kind === 'api' ? { security: [{ apiKey: [] }] } : {}),
              }
            : { hide: true }),
        };
        app.route({
          method: spec.method,
          url,
          schema,
          ...(spec.bodyLimit === undefined ? {} : { bodyLimit: spec.bodyLimit }),
          config: {
            access: spec.access,
            ...(spec.site ? { site: true } : {}),
            ...(spec.rateLimit === undefined ? {} : { rateLimit: spec.rateLimit }),
          },
          handler: async (request, reply) => {
            const actor = request.actor;
            if (spec.access.kind !== 'public' && actor === undefined)
              throw new AppError('ERR_UNAUTHENTICATED');
            const slug = (request.params as { slug?: unknown } | undefined)?.slug;
            const ctx = {
              request,
              reply,
              actor,
              params: request.params,
              query: request.query,
              body: spec.form ? parseFormBody(spec.body, request.body) : request.body,
              locale: request.locale,
              t: translator(request.locale),
              lang: langOf(request.url),
              // Only a path that named the slug keeps it in links and redirects: on a tenant's own
              // host, host routing fills the slug of `/contact`, whose links stay `/contact/…`.
              site: hasSlug && typeof slug === 'string' ? `/o/${slug}` : '',
              siteSlug: spec.site === true && typeof slug === 'string' ? slug : undefined,
            };
            // The context's parts are exactly what Fastify validated against the spec's schemas.
            return spec.handler(ctx as unknown as Parameters<typeof spec.handler>[0]);
          },
        });
      }
    },
  };
}

/**
 * Fastify's validator for the kit's zod schemas: a failure is an ERR_VALIDATION with one message
 * key per field (the error handler translates them), the same shape forms get. Path parameters
 * declared as naming something (`recordId`, the site slug) that cannot name anything are a 404.
 */
export function zodValidatorCompiler({ schema, httpPart }: { schema: unknown; httpPart?: string }) {
  const zodSchema = schema as z.ZodType;
  return (data: unknown) => {
    const result = zodSchema.safeParse(data);
    if (result.success) return { value: result.data };
    if (httpPart === 'params' && result.error.issues.every((i) => i.message === namesNothing)) {
      return { error: new AppError('ERR_NOT_FOUND', { message: 'path parameter names nothing' }) };
    }
    return {
      error: new AppError('ERR_VALIDATION', {
        fields: fieldErrorsFromZod(result.error),
        cause: result.error,
      }),
    };
  };
}
