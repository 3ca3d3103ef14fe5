/**
 * Tables of the staff authentication core (P11, ASVS 5.0 V6/V7). Migration range 0100-0149.
 *
 * - `users`: staff accounts, one org each. The email is staff data (plain text, unique per org);
 *   the password is an argon2id hash; the TOTP seed is sealed with the org key, bound to its row.
 * - `sessions`: server-side sessions. The id is SHA-256 of the opaque cookie token, so a copy of
 *   the table cannot be replayed as cookies.
 * - `recovery_codes`: SHA-256 of high-entropy single-use codes.
 * - `login_attempts`: recent failures per throttle key (`ip:<addr>`, `acct:<hash>`, a device
 *   cookie's `device:<hash>`), short-lived; also password-reset requests (`reset-ip:<addr>`,
 *   `reset-acct:<hash>`).
 * - `users.device_epoch` (0116): the generation of the user's device cookies (auth-device-cookies.ts).
 * - `api_keys` (0111): keys for the REST API, one org each, with a subset of their creator's roles.
 *   Only SHA-256 of the 256-bit random secret is stored (bound to the key id); the token
 *   `kluis_<id>_<secret>` is shown once.
 *   Each key carries scopes (0115): the interfaces it may call (REST API, OpenDSR).
 * - `password_reset_tokens` (0112): SHA-256 of single-use, 30-minute reset tokens sent by email.
 * - `operator_grants` (0113): a tenant's instruction that lets one operator staff member act in
 *   the tenant's org with some roles, for a purpose, until a time (P8, decision 0013); a session
 *   entered under it carries `grant_id`.
 */
import { type Generated, type Migration, sql } from 'kysely';
import { binaryType, isPostgres, withSerialPk } from '../../db/dialect.js';

/** The tables a cached session look-up depends on: a change to any of them drops every node's cache. */
export const sessionCacheTables = ['sessions', 'users', 'user_roles', 'operator_grants', 'orgs'] as const;

import { type Role, roles } from '../../shared/actor.js';
import type { SessionState } from '../../shared/http/access.js';
import { type PurposeRole, purposeRoles } from '../../shared/permissions.js';

export type PendingStep = SessionState['pending'][number];

export interface UsersTable {
  id: string;
  org_id: string;
  /** Lowercased, trimmed; unique per org. */
  email: string;
  display_name: string;
  password_hash: string;
  must_change_password: number;
  disabled: number;
  /** Base32 TOTP seed sealed with `keyring.encryptForOrg` at {users, totp_secret, id}. */
  totp_secret: Buffer | null;
  totp_enabled: number;
  /** The last TOTP time step accepted; a code for this step or an earlier one is a replay. */
  totp_last_step: number | null;
  /** Consecutive failed logins (password or second factor) since the last success or lock. */
  failed_logins: number;
  /** How many times the account was locked since the last success (lock time doubles). */
  lockout_count: number;
  locked_until: string | null;
  password_changed_at: string;
  created_at: string;
  updated_at: string;
  /** When the user last completed sign-in (every factor); null before the first (0110). */
  last_login_at: string | null;
  /** The language the user last signed in with (`nl`/`en`), for mail to them (0110). */
  locale: string | null;
  /**
   * Raised on a password change or reset and when the account is disabled (0116): a device
   * cookie carries the epoch it was issued at and trusts nothing once it differs.
   */
  device_epoch: number;
}

export interface UserRolesTable {
  user_id: string;
  org_id: string;
  role: Role;
}

export interface SessionsTable {
  /** SHA-256 hex of the cookie token. */
  id: string;
  user_id: string;
  org_id: string;
  created_at: string;
  last_seen_at: string;
  /** Absolute expiry, fixed at creation. */
  expires_at: string;
  /** JSON array of `PendingStep`. */
  pending: string;
  /** Set when operator staff act in a tenant's org under its grant (`org_id` is the tenant's). */
  grant_id: string | null;
}

/**
 * Roles a grant may give: exactly the permission table's purpose roles, never owner or admin (a
 * grant does not manage users or grants).
 */
export const grantableRoles = purposeRoles;
export type GrantableRole = PurposeRole;

export interface OperatorGrantsTable {
  id: string;
  /** The tenant that gives the instruction. */
  org_id: string;
  /** The operator staff member it is given to. */
  grantee_user_id: string;
  /** JSON array of `GrantableRole`. */
  roles: string;
  /** The instruction in the tenant's words: what to do and why. */
  purpose: string;
  /** The processor agreement it falls under (a reference in the tenant's register). */
  agreement_ref: string;
  created_by: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  revoked_by: string | null;
}

export interface RecoveryCodesTable {
  user_id: string;
  org_id: string;
  code_hash: string;
  created_at: string;
  used_at: string | null;
}

export interface LoginAttemptsTable {
  id: Generated<number>;
  key: string;
  at: string;
}

export interface ApiKeysTable {
  id: string;
  org_id: string;
  name: string;
  /** The token's first characters (`kluis_` and the start of the id), for recognising a key. */
  prefix: string;
  /** SHA-256 hex of `kluis/api-key/v1|<id>|<secret>`. */
  secret_hash: string;
  /** JSON array of `Role`. */
  roles: string;
  /** JSON array of `ApiScope` (0115): the interfaces the key may call. */
  scopes: string;
  /** The user who made the key; the key never holds a role that user does not hold. */
  created_by: string;
  created_at: string;
  /** Written at most once a minute. */
  last_used_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
}

export interface PasswordResetTokensTable {
  id: string;
  org_id: string;
  user_id: string;
  /** SHA-256 hex of the token in the emailed link. */
  token_hash: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface AuthTables {
  users: UsersTable;
  user_roles: UserRolesTable;
  sessions: SessionsTable;
  recovery_codes: RecoveryCodesTable;
  login_attempts: LoginAttemptsTable;
  api_keys: ApiKeysTable;
  password_reset_tokens: PasswordResetTokensTable;
  operator_grants: OperatorGrantsTable;
}

const roleList = sql.join(roles.map((r) => sql.lit(r)));

export const authMigrations: Record<string, Migration> = {
  '0100_auth_users_sessions': {
    async up(db) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('must_change_password', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('totp_secret', binaryType(db))
        .addColumn('totp_enabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('totp_last_step', 'bigint')
        .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('lockout_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('locked_until', 'text')
        .addColumn('password_changed_at', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('users_org_email', ['org_id', 'email'])
        .execute();
      // Login finds the org by the email address.
      await db.schema.createIndex('users_email').on('users').column('email').execute();

      await db.schema
        .createTable('user_roles')
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('role', 'text', (c) => c.notNull().check(sql`role in (${roleList})`))
        .addPrimaryKeyConstraint('user_roles_pk', ['user_id', 'role'])
        .execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('pending', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
      await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
      await db.schema.createIndex('sessions_expires').on('sessions').column('expires_at').execute();

      await db.schema
        .createTable('recovery_codes')
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .addPrimaryKeyConstraint('recovery_codes_pk', ['user_id', 'code_hash'])
        .execute();

      await withSerialPk(db, db.schema.createTable('login_attempts'), 'id')
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('login_attempts_key_at')
        .on('login_attempts')
        .columns(['key', 'at'])
        .execute();
      await db.schema.createIndex('login_attempts_at').on('login_attempts').column('at').execute();
    },
  },
  '0110_auth_user_last_login': {
    async up(db) {
      await db.schema.alterTable('users').addColumn('last_login_at', 'text').execute();
      await db.schema.alterTable('users').addColumn('locale', 'text').execute();
    },
  },
  '0111_auth_api_keys': {
    async up(db) {
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('roles', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .addColumn('expires_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema.createIndex('api_keys_org').on('api_keys').columns(['org_id', 'created_at']).execute();
    },
  },
  '0112_auth_password_reset_tokens': {
    async up(db) {
      await db.schema
        .createTable('password_reset_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .execute();
      await db.schema
        .createIndex('password_reset_tokens_user')
        .on('password_reset_tokens')
        .columns(['user_id', 'used_at'])
        .execute();
    },
  },
  '0113_auth_operator_grants': {
    async up(db) {
      await db.schema
        .createTable('operator_grants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('grantee_user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('roles', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('agreement_ref', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .addColumn('revoked_by', 'text', (c) => c.references('users.id'))
        .execute();
      await db.schema
        .createIndex('operator_grants_org')
        .on('operator_grants')
        .columns(['org_id', 'created_at'])
        .execute();
      await db.schema
        .createIndex('operator_grants_grantee')
        .on('operator_grants')
        .columns(['grantee_user_id', 'expires_at'])
        .execute();
      await db.schema
        .alterTable('sessions')
        .addColumn('grant_id', 'text', (c) => c.references('operator_grants.id'))
        .execute();
    },
  },
  /**
   * PostgreSQL: every committed change to what a session look-up reads NOTIFYs the nodes'
   * session caches (db/change-feed.ts, decision 0020). SQLite needs none: its change stamp
   * (data_version) sees every writer on the file.
   */
  '0114_auth_change_notify': {
    async up(db) {
      if (!isPostgres(db)) return;
      await sql`create or replace function kluis_notify_change() returns trigger language plpgsql as $$
        begin perform pg_notify(left('kluis_changes_' || TG_TABLE_SCHEMA, 63), TG_TABLE_NAME); return null; end $$`.execute(
        db,
      );
      for (const table of sessionCacheTables) {
        await sql`create trigger ${sql.raw(`${table}_notify_change`)}
          after insert or update or delete or truncate on ${sql.table(table)}
          for each statement execute function kluis_notify_change()`.execute(db);
      }
    },
  },
  /**
   * API keys get scopes (issue 13: a controller's key for the OpenDSR endpoint reaches nothing
   * else). Keys made before keep working on the REST API, the only interface they knew.
   */
  '0115_auth_api_key_scopes': {
    async up(db) {
      await db.schema
        .alterTable('api_keys')
        .addColumn('scopes', 'text', (c) => c.notNull().defaultTo('["api"]'))
        .execute();
    },
  },
  /** Device cookies (issue 15): the per-user epoch every device cookie must match. */
  '0116_auth_device_epoch': {
    async up(db) {
      await db.schema
        .alterTable('users')
        .addColumn('device_epoch', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
};
