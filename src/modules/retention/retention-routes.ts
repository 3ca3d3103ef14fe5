/**
 * `/staff/retention` (P6): the privacy officer, owners and admins read policies, the forecast, a
 * dry run, legal holds and recent sweeps; only the privacy officer changes policies and holds.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Actor } from '../../shared/actor.js';
import { AppError, isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import { parseForm } from '../../shared/http/validation.js';
import type { MessageKey } from '../../shared/i18n/messages.js';
import type { KluisCore } from '../module.js';
import { holdReasons } from './retention-schema.js';
import { createRetentionService, holdTargets } from './retention-service.js';
import {
  dryRunPage,
  type HoldFormValues,
  type OverviewPageOptions,
  retentionPage,
} from './retention-views.js';

const readers = { access: { kind: 'staff', permission: 'retention.read' } } as const;
const editors = { access: { kind: 'staff', permission: 'retention.edit' } } as const;

const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

export const policyFormSchema = z.object({
  value: z.preprocess(
    emptyToUndefined,
    z.coerce
      .number({ message: 'retention.policy.notWhole' })
      .int({ message: 'retention.policy.notWhole' })
      .min(0, { message: 'retention.policy.notWhole' })
      .max(100_000, { message: 'retention.policy.aboveLegalMax' }),
  ),
});

export function holdFormSchema(today: string) {
  return z.object({
    target: z.enum(holdTargets, { message: 'field.invalid' }),
    id: z.preprocess(emptyToUndefined, z.uuid({ message: 'retention.holds.invalidId' })),
    reason: z.enum(holdReasons, { message: 'field.invalid' }),
    reference: z.preprocess(
      emptyToUndefined,
      z
        .string()
        .max(100, { message: 'retention.holds.invalidReference' })
        .regex(/^[\p{L}\p{N} ./_-]+$/u, { message: 'retention.holds.invalidReference' })
        .optional(),
    ),
    until: z.preprocess(
      emptyToUndefined,
      z.iso
        .date({ message: 'retention.holds.invalidUntil' })
        .refine((d) => d >= today, { message: 'retention.holds.invalidUntil' })
        .optional(),
    ),
  });
}

const policyParams = z.object({ policyId: z.string().regex(/^[a-z0-9_]{1,40}$/) });
const holdParams = z.object({ id: z.uuid() });
const flashes: Record<string, MessageKey> = {
  policy: 'retention.saved.policy',
  hold: 'retention.saved.hold',
  released: 'retention.saved.released',
};

function actorOf(request: FastifyRequest): Actor {
  if (request.actor === undefined) throw new AppError('ERR_UNAUTHENTICATED');
  return request.actor;
}

function text(body: unknown, key: string): string | undefined {
  const v = (body as Record<string, unknown> | undefined)?.[key];
  return typeof v === 'string' ? v.slice(0, 200) : undefined;
}

export async function retentionRoutes(kit: RouteKit, kluis: KluisCore): Promise<void> {
  const app = kit.app;
  const service = createRetentionService(kluis);

  async function page(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: Partial<Pick<OverviewPageOptions, 'flash' | 'policyError' | 'holdErrors' | 'holdValues'>> = {},
    status = 200,
  ) {
    const actor = actorOf(request);
    const overview = await service.overview(actor);
    const csrfToken = reply.generateCsrf();
    return renderPage(request, reply, {
      title: request.locale === 'nl' ? 'Bewaartermijnen' : 'Retention',
      status,
      csrfToken,
      body: (t) =>
        retentionPage(t, {
          overview,
          csrfToken,
          orgId: actor.orgId,
          now: kluis.clock.now().toISOString(),
          accessLog: {
            truncateDays: kluis.config.accessLog.truncateIpAfterDays,
            deleteDays: kluis.config.accessLog.deleteAfterDays,
          },
          ...extra,
        }),
    });
  }

  app.get('/staff/retention', { config: readers }, async (request, reply) => {
    const saved = (request.query as Record<string, unknown> | undefined)?.saved;
    return page(request, reply, { flash: typeof saved === 'string' ? flashes[saved] : undefined });
  });

  app.get('/staff/retention/dry-run', { config: readers }, async (request, reply) => {
    const result = await service.dryRun(actorOf(request));
    return renderPage(request, reply, {
      title: request.locale === 'nl' ? 'Proefdraai' : 'Dry run',
      body: (t) => dryRunPage(t, result),
    });
  });

  app.post('/staff/retention/policies/:policyId', { config: editors }, async (request, reply) => {
    const actor = actorOf(request);
    const params = policyParams.safeParse(request.params);
    if (!params.success) throw new AppError('ERR_NOT_FOUND', { message: 'unknown policy' });
    const { policyId } = params.data;
    const typed = text(request.body, 'value') ?? '';
    const fail = (errors: FieldErrors) =>
      page(request, reply, { policyError: { policyId, errors, value: typed } }, 400);
    const parsed = parseForm(policyFormSchema, request.body ?? {});
    if (!parsed.ok) return fail({ [`value-${policyId}`]: parsed.errors.value ?? 'field.invalid' });
    try {
      await service.updatePolicy(actor, policyId, parsed.data.value);
    } catch (error) {
      if (isAppError(error) && error.fields?.value !== undefined) {
        return fail({ [`value-${policyId}`]: error.fields.value });
      }
      throw error;
    }
    return reply.redirect('/staff/retention?saved=policy#policies', 303);
  });

  app.post('/staff/retention/holds', { config: editors }, async (request, reply) => {
    const actor = actorOf(request);
    const values: HoldFormValues = {
      target: text(request.body, 'target'),
      id: text(request.body, 'id'),
      reason: text(request.body, 'reason'),
      reference: text(request.body, 'reference'),
      until: text(request.body, 'until'),
    };
    const today = kluis.clock.now().toISOString().slice(0, 10);
    const parsed = parseForm(holdFormSchema(today), request.body ?? {});
    if (!parsed.ok) return page(request, reply, { holdErrors: parsed.errors, holdValues: values }, 400);
    try {
      await service.createHold(actor, parsed.data);
    } catch (error) {
      if (isAppError(error) && error.fields !== undefined) {
        return page(request, reply, { holdErrors: error.fields, holdValues: values }, 400);
      }
      throw error;
    }
    return reply.redirect('/staff/retention?saved=hold#holds', 303);
  });

  app.post('/staff/retention/holds/:id/release', { config: editors }, async (request, reply) => {
    const params = holdParams.safeParse(request.params);
    if (!params.success) throw new AppError('ERR_NOT_FOUND', { message: 'hold not found' });
    await service.releaseHold(actorOf(request), params.data.id);
    return reply.redirect('/staff/retention?saved=released#holds', 303);
  });
}
