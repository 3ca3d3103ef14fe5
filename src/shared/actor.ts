/**
 * Who acts. Every use case receives an actor; nothing reads the org from a global or a request
 * object deep inside. Repositories take the actor's `OrgScope` and filter every query by it.
 */
export const roles = ['owner', 'admin', 'support', 'finance', 'privacy_officer', 'security'] as const;
export type Role = (typeof roles)[number];

export type OrgKind = 'operator' | 'tenant';

/**
 * The interfaces an API key may call: `api` the REST API (`/api/v1`), `opendsr` a tenant's
 * OpenDSR endpoint (a controller's privacy tool handing data-subject requests to its processor).
 * A key holds the scopes it was made with, so a controller's integration key reaches nothing else.
 */
export const apiScopes = ['api', 'opendsr'] as const;
export type ApiScope = (typeof apiScopes)[number];

export interface OrgScope {
  readonly orgId: string;
}

export type Actor =
  | {
      readonly kind: 'user';
      readonly orgId: string;
      readonly orgKind: OrgKind;
      readonly userId: string;
      readonly roles: readonly Role[];
      /** Operator staff acting in a tenant's org under the tenant's grant (P8). */
      readonly grantId?: string;
    }
  | {
      readonly kind: 'api_key';
      readonly orgId: string;
      readonly orgKind: OrgKind;
      readonly apiKeyId: string;
      readonly roles: readonly Role[];
      readonly scopes: readonly ApiScope[];
    }
  | {
      /** Jobs, sweeps, CLI maintenance: acts within one org, named by `reason`. */
      readonly kind: 'system';
      readonly orgId: string;
      readonly orgKind: OrgKind;
      readonly reason: string;
      readonly roles: readonly Role[];
    };

export function scopeOf(actor: Actor): OrgScope {
  return { orgId: actor.orgId };
}

/** A stable id for the audit trail: `user:<id>`, `api_key:<id>`, `system:<reason>`. */
export function actorRef(actor: Actor): string {
  switch (actor.kind) {
    case 'user':
      return actor.grantId === undefined
        ? `user:${actor.userId}`
        : `user:${actor.userId}@grant:${actor.grantId}`;
    case 'api_key':
      return `api_key:${actor.apiKeyId}`;
    case 'system':
      return `system:${actor.reason}`;
  }
}

export function hasRole(actor: Actor, ...anyOf: readonly Role[]): boolean {
  return actor.roles.some((r) => anyOf.includes(r));
}
