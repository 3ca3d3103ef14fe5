/**
 * Every route declares who may call it (`config.access`); a route without a declaration makes
 * the app refuse to start. The access check runs before validation and every handler, with the
 * permission named from the one permission table (shared/permissions.ts). Another org's resource
 * is answered with 404 by the services themselves (never a 403 that confirms it exists).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Actor, ApiScope } from '../actor.js';
import { AppError } from '../errors.js';
import type { Locale } from '../i18n/messages.js';
import { can, type Permission } from '../permissions.js';

export type RouteAccess =
  /** Anyone: public pages, login, assets. */
  | { readonly kind: 'public' }
  /** A signed-in staff user holding `permission` (any signed-in staff user when omitted). */
  | {
      readonly kind: 'staff';
      readonly permission?: Permission;
      /** Reachable before the one-time password is changed / TOTP enrolled (account set-up pages). */
      readonly duringSetup?: boolean;
    }
  /**
   * An API key (Bearer) or a staff session holding `permission`. A key must carry `scope`
   * (default `api`); a route of another scope than `api` takes keys only, no staff session.
   */
  | { readonly kind: 'api'; readonly permission?: Permission; readonly scope?: ApiScope };

export interface SessionState {
  readonly id: string;
  /** Steps still required before the user may do anything else. */
  readonly pending: readonly ('password_change' | 'totp_enrolment' | 'totp')[];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
    /** A public page of an organisation's site (route kit `site`): host-name routing applies. */
    site?: boolean;
  }
  interface FastifyRequest {
    locale: Locale;
    actor: Actor | undefined;
    session: SessionState | undefined;
  }
}

export function accessOf(request: FastifyRequest): RouteAccess | undefined {
  return request.routeOptions.config.access;
}

export interface DeclaredRoute {
  readonly method: string;
  readonly url: string;
  readonly access: RouteAccess;
  /** Which parts of the request and response the route declares a schema for. */
  readonly schemas: {
    readonly params: boolean;
    readonly query: boolean;
    readonly body: boolean;
    readonly response: boolean;
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route with its declared access: the authorization suite walks this table. */
    routeTable: DeclaredRoute[];
  }
}

/** Refuses to register a route that does not declare its access, and records the rest. */
export function requireAccessDeclarations(app: FastifyInstance): void {
  const table: DeclaredRoute[] = [];
  app.decorate('routeTable', table);
  app.addHook('onRoute', (route) => {
    const config = route.config as { access?: RouteAccess } | undefined;
    if (route.url.startsWith('/assets/')) return;
    if (config?.access === undefined) {
      throw new Error(`route ${route.method} ${route.url} does not declare config.access`);
    }
    const schema = route.schema ?? {};
    const schemas = {
      params: schema.params !== undefined,
      query: schema.querystring !== undefined,
      body: schema.body !== undefined,
      response: schema.response !== undefined,
    };
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') table.push({ method, url: route.url, access: config.access, schemas });
    }
  });
}

/** Throws unless the request's actor and session may call its route. */
export function assertAccess(request: FastifyRequest): void {
  const access = accessOf(request);
  if (access === undefined || access.kind === 'public') return;
  const actor = request.actor;
  if (actor === undefined) throw new AppError('ERR_UNAUTHENTICATED');
  if (access.kind === 'staff') {
    if (actor.kind !== 'user') throw new AppError('ERR_UNAUTHENTICATED');
    const pending = request.session?.pending ?? [];
    if (pending.length > 0 && !access.duringSetup) {
      throw new AppError(
        pending.includes('password_change') ? 'ERR_AUTH_PASSWORD_CHANGE_REQUIRED' : 'ERR_AUTH_TOTP_REQUIRED',
      );
    }
  }
  if (access.kind === 'api' && actor.kind === 'user' && (request.session?.pending.length ?? 0) > 0) {
    throw new AppError('ERR_AUTH_TOTP_REQUIRED');
  }
  if (access.kind === 'api') {
    const scope = access.scope ?? 'api';
    if (actor.kind === 'api_key' ? !actor.scopes.includes(scope) : scope !== 'api') {
      throw new AppError('ERR_FORBIDDEN', { message: `requires an API key with scope ${scope}` });
    }
  }
  if (access.permission !== undefined && !can(actor, access.permission)) {
    throw new AppError('ERR_FORBIDDEN', { message: `requires permission ${access.permission}` });
  }
}
