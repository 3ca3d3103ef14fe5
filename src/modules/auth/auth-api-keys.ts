/**
 * API keys for the REST API (P7 tenants' self-service, P11; ASVS 6.x/8.x). A key belongs to one
 * org and holds a subset of its creator's roles; owners and admins make, list and revoke them,
 * every change audited. The token `kluis_<id>_<secret>` carries 256 random bits and is shown
 * once; only SHA-256 of the secret (bound to the key id) is stored, which is enough for a secret
 * of that entropy (no password hashing needed). Authentication looks the key up by id and
 * compares hashes in constant time. A key stops working when revoked, when it expires, and
 * when its creator's account is disabled; it never holds a role its creator no longer holds.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { DB } from '../../db/schema.js';
import {
  type Actor,
  type ApiScope,
  roles as allRoles,
  apiScopes,
  type Role,
  scopeOf,
} from '../../shared/actor.js';
import { type Clock, MINUTE } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import { assertCan } from '../../shared/permissions.js';
import type { OrgsService } from '../orgs/index.js';
import type { AuditService } from '../security/index.js';
import { type ApiKeyRow, createApiKeysRepository } from './auth-api-keys-repository.js';
import { createUserRolesRepository } from './auth-users-repository.js';

type ApiKeyActor = Extract<Actor, { kind: 'api_key' }>;

/** A key as the pages show it: never the hash. */
export interface ApiKeyView {
  readonly id: string;
  readonly name: string;
  readonly prefix: string;
  readonly roles: readonly Role[];
  /** The interfaces the key may call (REST API, OpenDSR). */
  readonly scopes: readonly ApiScope[];
  readonly createdBy: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  /** Whether the key works now (not revoked, not expired). */
  readonly active: boolean;
}

const TOKEN_PATTERN =
  /^kluis_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
/** `last_used_at` is written at most this often. */
const TOUCH_INTERVAL_MS = MINUTE;
const PREFIX_LENGTH = 'kluis_'.length + 8;

export function apiKeySecretHash(keyId: string, secret: string): string {
  return createHash('sha256').update(`kluis/api-key/v1|${keyId}|${secret}`, 'utf8').digest('hex');
}

/** Splits a token into key id and secret, or undefined when it does not have the shape. */
export function parseApiKeyToken(token: string): { keyId: string; secret: string } | undefined {
  const match = TOKEN_PATTERN.exec(token);
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  return { keyId: match[1], secret: match[2] };
}

function parseRoles(json: string): Role[] {
  try {
    const value: unknown = JSON.parse(json);
    if (!Array.isArray(value)) return [];
    return value.filter((v): v is Role => allRoles.includes(v as Role));
  } catch {
    return [];
  }
}

function parseScopes(json: string): ApiScope[] {
  try {
    const value: unknown = JSON.parse(json);
    if (!Array.isArray(value)) return [];
    return value.filter((v): v is ApiScope => apiScopes.includes(v as ApiScope));
  } catch {
    return [];
  }
}

function isActive(row: ApiKeyRow, now: Date): boolean {
  return row.revoked_at === null && (row.expires_at === null || new Date(row.expires_at) > now);
}

function toView(row: ApiKeyRow, now: Date): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    roles: parseRoles(row.roles),
    scopes: parseScopes(row.scopes),
    createdBy: row.created_by,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    active: isActive(row, now),
  };
}

const createKeySchema = z.object({
  name: z.string().trim().min(1, { message: 'field.required' }).max(100, { message: 'field.tooLong' }),
  roles: z.array(z.enum(allRoles)).min(1, { message: 'auth.user.rolesRequired' }),
  scopes: z.array(z.enum(apiScopes)).min(1, { message: 'auth.apiKeys.scopesRequired' }),
});

function invalidKey(message: string): AppError {
  return new AppError('ERR_AUTH_API_KEY_INVALID', { message });
}

// Compared against when the key id is unknown, so a miss costs the same hashing and comparison.
const dummyHash = apiKeySecretHash('00000000-0000-0000-0000-000000000000', 'x'.repeat(43));

/** Keys are managed by people (and the CLI), never by another key. */
function assertManager(actor: Actor): void {
  if (actor.kind === 'api_key') throw new AppError('ERR_FORBIDDEN', { message: 'a key cannot manage keys' });
  assertCan(actor, 'api_keys.manage');
}

interface ApiKeysDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly orgs: Pick<OrgsService, 'kindOf'>;
  readonly audit: AuditService;
}

export function createApiKeysService(deps: ApiKeysDeps) {
  const { db, clock, orgs, audit } = deps;
  const keys = createApiKeysRepository(db);

  return {
    /**
     * Makes a key for the actor's org with `roles` (each one the actor holds) and an optional
     * expiry. Returns the token, which is shown once and not kept.
     */
    async createApiKey(input: {
      actor: Actor;
      name: string;
      roles: readonly Role[];
      /** The interfaces the key may call (default: the REST API only). */
      scopes?: readonly ApiScope[] | undefined;
      expiresAt?: Date | undefined;
    }): Promise<{ key: ApiKeyView; token: string }> {
      const { actor } = input;
      assertManager(actor);
      if (actor.kind !== 'user') {
        throw new AppError('ERR_FORBIDDEN', { message: 'only a signed-in user can make an API key' });
      }
      const data = parseOrThrow(createKeySchema, {
        name: input.name,
        roles: input.roles,
        scopes: input.scopes ?? ['api'],
      });
      const keyRoles = [...new Set(data.roles)].sort();
      const keyScopes = [...new Set(data.scopes)].sort();
      if (keyRoles.some((r) => !actor.roles.includes(r))) {
        throw new AppError('ERR_VALIDATION', {
          message: 'an API key cannot hold a role its creator does not hold',
          fields: { roles: 'auth.apiKeys.rolesExceed' },
        });
      }
      const now = clock.now();
      if (input.expiresAt !== undefined && input.expiresAt.getTime() <= now.getTime()) {
        throw new AppError('ERR_VALIDATION', {
          message: 'expiry in the past',
          fields: { expires: 'auth.apiKeys.expiryPast' },
        });
      }
      const id = randomUUID();
      const secret = randomBytes(32).toString('base64url');
      const token = `kluis_${id}_${secret}`;
      const row: ApiKeyRow = {
        id,
        org_id: actor.orgId,
        name: data.name,
        prefix: token.slice(0, PREFIX_LENGTH),
        secret_hash: apiKeySecretHash(id, secret),
        roles: JSON.stringify(keyRoles),
        scopes: JSON.stringify(keyScopes),
        created_by: actor.userId,
        created_at: now.toISOString(),
        last_used_at: null,
        expires_at: input.expiresAt?.toISOString() ?? null,
        revoked_at: null,
      };
      await db.transaction().execute(async (trx) => {
        await createApiKeysRepository(trx).insertApiKey(row);
        await audit.append(trx, {
          actor,
          action: 'auth.api_key.created',
          target: { type: 'api_key', id },
          meta: { roles: keyRoles.join(','), scopes: keyScopes.join(','), expires_at: row.expires_at },
        });
      });
      return { key: toView(row, now), token };
    },

    /** The org's keys, newest first (revoked and expired ones included, marked as such). */
    async listApiKeys(input: { actor: Actor }): Promise<ApiKeyView[]> {
      assertManager(input.actor);
      const now = clock.now();
      const rows = await keys.listApiKeys(scopeOf(input.actor));
      return rows.map((r) => toView(r, now));
    },

    /** Revokes a key at once. Another org's key is a 404; revoking twice changes nothing. */
    async revokeApiKey(input: { actor: Actor; keyId: string }): Promise<void> {
      assertManager(input.actor);
      await db.transaction().execute(async (trx) => {
        const repo = createApiKeysRepository(trx);
        const scope = scopeOf(input.actor);
        const row = await repo.findApiKey(scope, input.keyId);
        if (row === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'API key not found' });
        if (!(await repo.revokeApiKey(scope, input.keyId, clock.now().toISOString()))) return;
        await audit.append(trx, {
          actor: input.actor,
          action: 'auth.api_key.revoked',
          target: { type: 'api_key', id: input.keyId },
        });
      });
    },

    /**
     * Resolves a bearer token to its actor, or throws ERR_AUTH_API_KEY_INVALID (unknown,
     * malformed, tampered, revoked, expired, or its creator disabled). The key's roles are cut
     * to the roles its creator holds now.
     */
    async authenticateApiKey(token: string): Promise<ApiKeyActor> {
      const parsed = parseApiKeyToken(token);
      if (parsed === undefined) throw invalidKey('malformed API key');
      const row = await keys.findApiKeyForRequest(parsed.keyId);
      const presented = Buffer.from(apiKeySecretHash(parsed.keyId, parsed.secret), 'hex');
      const stored = Buffer.from(row?.secret_hash ?? dummyHash, 'hex');
      const matches = stored.length === presented.length && timingSafeEqual(stored, presented);
      if (row === undefined || !matches) throw invalidKey('unknown API key or wrong secret');
      const now = clock.now();
      if (row.revoked_at !== null) throw invalidKey('API key revoked');
      if (row.expires_at !== null && new Date(row.expires_at) <= now) throw invalidKey('API key expired');
      if (row.creator_disabled === 1) throw invalidKey('the creator of this API key is disabled');
      const creatorRoles = await createUserRolesRepository(db).rolesOf({ orgId: row.org_id }, row.created_by);
      const keyRoles = parseRoles(row.roles).filter((r) => creatorRoles.includes(r));
      const last = row.last_used_at === null ? 0 : new Date(row.last_used_at).getTime();
      if (now.getTime() - last >= TOUCH_INTERVAL_MS) {
        await keys.touchApiKey(
          row.id,
          now.toISOString(),
          new Date(now.getTime() - TOUCH_INTERVAL_MS).toISOString(),
        );
      }
      return {
        kind: 'api_key',
        orgId: row.org_id,
        orgKind: await orgs.kindOf(row.org_id),
        apiKeyId: row.id,
        roles: keyRoles,
        scopes: parseScopes(row.scopes),
      };
    },
  };
}
