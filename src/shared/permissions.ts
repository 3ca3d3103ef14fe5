/**
 * The one permission table: what each role may do. Route access, navigation and every service use
 * case check a named permission here (services check too: defence in depth), never a list of
 * roles of their own. Access follows purpose (P5): `owner` and `admin` run the organisation
 * (users, keys, grants, settings) but read no messages, relations, IBANs or rights requests unless
 * they also hold the purpose role that needs them — and they cannot give that role to themselves
 * (`auth` refuses it; another owner or admin must, audited).
 */
import type { Actor, Role } from './actor.js';
import { AppError } from './errors.js';

/** Roles that give access to personal data for a purpose; never self-assigned. */
export const purposeRoles = [
  'support',
  'finance',
  'privacy_officer',
  'security',
] as const satisfies readonly Role[];
export type PurposeRole = (typeof purposeRoles)[number];

export function isPurposeRole(role: Role): role is PurposeRole {
  return (purposeRoles as readonly Role[]).includes(role);
}

export const permissionTable = {
  // Organisation management (no personal data of data subjects).
  'users.read': ['owner', 'admin', 'security'],
  'users.manage': ['owner', 'admin'],
  /** Granting, removing or managing the owner role and owners' accounts (an admin cannot take over). */
  'users.manage_owners': ['owner'],
  'api_keys.manage': ['owner', 'admin'],
  'grants.manage': ['owner', 'admin'],
  /** Offboarding (Art. 28(3)(g)): the tenant's owner for its own org; the operator's owner for a tenant. */
  'offboarding.manage': ['owner'],
  /** Legally compelled disclosure (P9): operator privacy officer and owner record and approve cases. */
  'legal_orders.manage': ['owner', 'privacy_officer'],
  'health.view': ['owner', 'admin', 'security'],
  'mail.dev_read': ['owner', 'admin'],
  /** The operator's tenants: onboarding, metadata and counts, suspension (never tenant data). */
  'tenants.manage': ['owner', 'admin'],
  /**
   * The organisation's own settings: the name its pages show, languages, terms link, contact and
   * privacy addresses, and retention periods within the legal bounds (a tenant's self-service).
   */
  'settings.manage': ['owner', 'admin'],

  // Intake (P1–P3): conversations are read and answered by support.
  'intake.read': ['support'],
  'intake.handle': ['support'],
  'intake.submit': ['support', 'admin', 'owner'],

  // Relations (P4, P5): support and finance keep client records; payment data is finance's.
  'relations.read': ['support', 'finance'],
  'relations.edit': ['support', 'finance'],
  'relations.read_payment': ['finance'],
  'relations.manage_mandates': ['finance'],
  /** Records kept only for a legal duty (Art. 18 restriction, P6). */
  'records.read_restricted': ['finance'],

  // Register and statement (P5, P10, P13, P14, P18).
  'register.read': ['owner', 'admin', 'privacy_officer'],
  'register.edit': ['privacy_officer'],
  /** A client's objection to a sub-processor its processor announces (Art. 28(2)). */
  'register.object': ['owner', 'privacy_officer'],
  'statement.read': ['owner', 'admin', 'privacy_officer'],
  'statement.publish': ['privacy_officer'],

  // Retention (P6).
  'retention.read': ['owner', 'admin', 'privacy_officer'],
  'retention.edit': ['privacy_officer'],

  // Rights (P15–P17) and consent.
  'rights.handle': ['privacy_officer'],
  /**
   * Handing over a request the organisation verified itself (its OpenDSR endpoint, with a key of
   * scope `opendsr`): creating and cancelling, never reading the queue.
   */
  'rights.submit': ['owner', 'admin', 'privacy_officer'],
  'rights.erase': ['privacy_officer'],
  'consent.read': ['owner', 'admin', 'privacy_officer', 'support'],
  'consent.record': ['privacy_officer', 'support'],
  'consent.export_newsletter': ['owner', 'admin', 'privacy_officer'],

  // Security (P11, P12).
  'security.audit_read': ['security'],
  'security.access_log_read': ['security'],

  // Incidents and breach notification (Art. 33, 34): each organisation's own register.
  'incidents.read': ['security', 'privacy_officer'],
  'incidents.manage': ['security'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof permissionTable;

export const permissions = Object.keys(permissionTable) as Permission[];

/** The roles that hold `permission`. */
export function rolesFor(permission: Permission): readonly Role[] {
  return permissionTable[permission];
}

/** May a holder of `roles` do `permission`? */
export function rolesCan(roles: readonly Role[], permission: Permission): boolean {
  const allowed: readonly Role[] = permissionTable[permission];
  return roles.some((r) => allowed.includes(r));
}

/** May `actor` do `permission`? System actors (jobs, CLI) carry the roles their reason needs. */
export function can(actor: Pick<Actor, 'roles'>, permission: Permission): boolean {
  return rolesCan(actor.roles, permission);
}

/** Refuses (403) unless `actor` may do `permission`. */
export function assertCan(actor: Pick<Actor, 'roles'>, permission: Permission): void {
  if (!can(actor, permission)) {
    throw new AppError('ERR_FORBIDDEN', { message: `requires permission ${permission}` });
  }
}

/** The permissions `role` holds, for the closing documentation and the users page. */
export function permissionsOf(role: Role): Permission[] {
  return permissions.filter((p) => rolesCan([role], p));
}
