/**
 * The egress registry (P14: "data leaves the system only to registered recipients"). Every
 * destination Kluis sends personal data to is a registered recipient:
 *
 * - the outgoing SMTP relay: its host (or host:port) must be a receiving host of an ACTIVE
 *   sub-processor of the operator with an agreement on file; outside production a loopback relay
 *   (the development sink) is allowed and shown as such;
 * - webhook / callback URLs: only URLs the tenant registered beforehand (https; plain http only
 *   to loopback outside production);
 * - the data subject: download links handed to the verified requester only.
 *
 * A send to anything else is refused and recorded as the security event `egress.refused` in the
 * audit trail (the incident tooling reads it). `kluis serve` in production refuses to start with
 * a relay no active sub-processor covers.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { type Config, isLoopbackHost } from '../../config/env.js';
import type { DB } from '../../db/schema.js';
import { type Actor, scopeOf } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import { assertCan } from '../../shared/permissions.js';
import type { KluisServices } from '../module.js';
import type { OrgDirectory } from './register-orgs.js';
import { createRegisterRepository, type WebhookRow } from './register-repository.js';
import type { Subprocessor } from './register-subprocessors.js';

export type EgressKind = 'smtp_relay' | 'webhook' | 'data_subject';

/** How a destination is allowed (or not). */
export type EgressMode =
  | 'subprocessor'
  | 'loopback_development'
  | 'registered_webhook'
  | 'data_subject'
  | 'refused';

export interface EgressDecision {
  readonly kind: EgressKind;
  /** `host:port` of a relay, the URL of a webhook. */
  readonly destination: string;
  readonly mode: EgressMode;
  /** The sub-processor that covers a relay. */
  readonly subprocessor?: string;
}

export interface EgressWebhook {
  readonly id: string;
  readonly orgId: string;
  readonly url: string;
  readonly createdAt: string;
}

export const webhookInput = z.object({
  url: z
    .string()
    .trim()
    .max(2000, { message: 'field.tooLong' })
    .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), {
      message: 'register.egress.invalidUrl',
    }),
});

/** The relay's `host` and `host:port` as nodemailer reaches it (587, or 465 for smtps). */
export function relayEndpoint(url: string): { host: string; hostPort: string } | undefined {
  if (!URL.canParse(url)) return undefined;
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === '') return undefined;
  const port = u.port === '' ? (u.protocol === 'smtps:' ? '465' : '587') : u.port;
  return { host, hostPort: `${host}:${port}` };
}

/** A URL as compared against the registered ones (the URL parser's normal form). */
function normalUrl(url: string): string | undefined {
  return URL.canParse(url) ? new URL(url).href : undefined;
}

export interface EgressDeps {
  db: Kysely<DB>;
  clock: Clock;
  config: Pick<Config, 'env'>;
  audit: Pick<KluisServices['audit'], 'append'>;
  orgs: OrgDirectory;
  listOf(orgId: string): Promise<Subprocessor[]>;
}

/** Registering and removing an org's webhook / callback URLs (register.edit), audited. */
function webhookManagement(deps: {
  db: Kysely<DB>;
  clock: Clock;
  audit: EgressDeps['audit'];
  production: boolean;
  webhookRows(orgId: string): Promise<WebhookRow[]>;
}) {
  const { db, clock, audit, production, webhookRows } = deps;
  return {
    async listWebhooks(input: { actor: Actor }): Promise<EgressWebhook[]> {
      assertCan(input.actor, 'register.read');
      return (await webhookRows(input.actor.orgId)).map((w) => ({
        id: w.id,
        orgId: w.org_id,
        url: w.url,
        createdAt: w.created_at,
      }));
    },

    /** Registers a webhook / callback URL of the actor's org as a recipient. */
    async registerWebhook(input: { actor: Actor; values: { url?: string } }): Promise<EgressWebhook> {
      assertCan(input.actor, 'register.edit');
      const v = parseOrThrow(webhookInput, input.values);
      const url = normalUrl(v.url) ?? v.url;
      const u = new URL(url);
      if (u.protocol !== 'https:' && (production || !isLoopbackHost(u.hostname))) {
        throw new AppError('ERR_VALIDATION', {
          message: 'webhook without TLS',
          fields: { url: 'register.egress.httpsOnly' },
        });
      }
      const existing = (await webhookRows(input.actor.orgId)).find((w) => w.url === url);
      if (existing !== undefined) {
        return { id: existing.id, orgId: existing.org_id, url: existing.url, createdAt: existing.created_at };
      }
      const row = {
        id: randomUUID(),
        org_id: input.actor.orgId,
        url,
        created_at: clock.now().toISOString(),
      };
      await db.transaction().execute(async (trx) => {
        await createRegisterRepository(trx).insertWebhook(row);
        await audit.append(trx, {
          actor: input.actor,
          action: 'register.webhook.create',
          target: { type: 'webhook', id: row.id },
        });
      });
      return { id: row.id, orgId: row.org_id, url: row.url, createdAt: row.created_at };
    },

    async removeWebhook(input: { actor: Actor; id: string }): Promise<void> {
      assertCan(input.actor, 'register.edit');
      await db.transaction().execute(async (trx) => {
        const removed = await createRegisterRepository(trx).deleteWebhook(scopeOf(input.actor), input.id);
        if (!removed) throw new AppError('ERR_NOT_FOUND', { message: 'webhook not found' });
        await audit.append(trx, {
          actor: input.actor,
          action: 'register.webhook.delete',
          target: { type: 'webhook', id: input.id },
        });
      });
    },
  };
}

export function createEgressService(deps: EgressDeps) {
  const { db, audit } = deps;
  const production = deps.config.env === 'production';

  async function operatorId(): Promise<string | undefined> {
    return (await deps.orgs.list()).find((o) => o.kind === 'operator')?.id;
  }

  /** Records a refused destination as a security event (its own write: the send did not happen). */
  async function refused(decision: EgressDecision, orgId: string | null, reason: string): Promise<never> {
    await audit.append(db, {
      actor:
        orgId === null
          ? { kind: 'anonymous', orgId: null, ref: 'system:egress' }
          : { kind: 'system', orgId, orgKind: 'operator', reason: 'egress', roles: [] },
      action: 'egress.refused',
      target: { type: decision.kind, id: decision.destination.slice(0, 200) },
      meta: { kind: decision.kind, reason },
    });
    throw new AppError('ERR_EGRESS_REFUSED', {
      message: `egress refused: ${decision.kind} to an unregistered destination (${reason})`,
    });
  }

  /**
   * Which active sub-processor with an agreement covers the relay at `url`, if any. `asProduction`
   * judges as production does (start-up runs it with the configuration's own answer).
   */
  async function relayDecision(url: string, asProduction = production): Promise<EgressDecision> {
    const endpoint = relayEndpoint(url);
    const destination = endpoint?.hostPort ?? 'invalid';
    if (endpoint === undefined) return { kind: 'smtp_relay', destination, mode: 'refused' };
    const operator = await operatorId();
    const covering = (operator === undefined ? [] : await deps.listOf(operator)).find(
      (s) =>
        s.status === 'active' &&
        s.agreement !== undefined &&
        s.egressHosts.some((h) => h === endpoint.host || h === endpoint.hostPort),
    );
    if (covering !== undefined) {
      return { kind: 'smtp_relay', destination, mode: 'subprocessor', subprocessor: covering.name };
    }
    if (!asProduction && isLoopbackHost(endpoint.host)) {
      return { kind: 'smtp_relay', destination, mode: 'loopback_development' };
    }
    return { kind: 'smtp_relay', destination, mode: 'refused' };
  }

  async function webhookRows(orgId: string) {
    return createRegisterRepository(db).listWebhooks({ orgId });
  }

  /** Whether `url` may receive calls for `orgId`: registered, and https (http only to loopback, not in production). */
  async function webhookDecision(orgId: string, url: string): Promise<EgressDecision> {
    const normal = normalUrl(url);
    const destination = (normal ?? url).slice(0, 2000);
    if (normal === undefined) return { kind: 'webhook', destination, mode: 'refused' };
    const u = new URL(normal);
    const transportOk = u.protocol === 'https:' || (!production && isLoopbackHost(u.hostname));
    const registered = (await webhookRows(orgId)).some((w) => w.url === normal);
    return {
      kind: 'webhook',
      destination,
      mode: registered && transportOk ? 'registered_webhook' : 'refused',
    };
  }

  return {
    relayDecision,
    webhookDecision,

    /** Refuses (and records) mail through a relay no active sub-processor covers. */
    async checkMailRelay(url: string): Promise<EgressDecision> {
      const decision = await relayDecision(url);
      if (decision.mode === 'refused')
        return refused(decision, (await operatorId()) ?? null, 'relay not registered');
      return decision;
    },

    /** Refuses (and records) a call to a URL the tenant did not register. */
    async checkWebhook(orgId: string, url: string): Promise<EgressDecision> {
      const decision = await webhookDecision(orgId, url);
      if (decision.mode === 'refused') return refused(decision, orgId, 'webhook not registered');
      return decision;
    },

    /**
     * Production start-up: a message naming the problem when the relay is not covered by an
     * active sub-processor (undefined when it is, or outside production).
     */
    async startupProblem(relayUrl: string, asProduction = production): Promise<string | undefined> {
      if (!asProduction) return undefined;
      const decision = await relayDecision(relayUrl, true);
      if (decision.mode !== 'refused') return undefined;
      return `the SMTP relay ${decision.destination} is not a receiving host of an active sub-processor with an agreement (P14): register it under /staff/subprocessors (Receiving hosts) before starting`;
    },

    ...webhookManagement({ ...deps, production, webhookRows }),

    /**
     * The egress list of the actor's org: the relay (the operator's), the org's webhooks and the
     * data subject. Shown on /staff/register; the statement's recipients section is made from it.
     */
    async egressList(orgId: string, relayUrl: string | undefined): Promise<EgressDecision[]> {
      const webhooks = await webhookRows(orgId);
      return [
        ...(relayUrl === undefined ? [] : [await relayDecision(relayUrl)]),
        ...webhooks.map(
          (w): EgressDecision => ({ kind: 'webhook', destination: w.url, mode: 'registered_webhook' }),
        ),
        { kind: 'data_subject', destination: '', mode: 'data_subject' },
      ];
    },
  };
}

export type EgressService = ReturnType<typeof createEgressService>;
