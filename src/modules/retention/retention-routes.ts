/**
 * `/staff/retention` (P6): `retention.read` shows policies, the forecast, a dry run, legal holds
 * and recent sweeps; `retention.edit` (the privacy officer) changes policies and holds.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import type { MessageKey } from '../../shared/i18n/messages.js';
import type { KluisCore } from '../module.js';
import { sweepTargets } from './retention-registry.js';
import { holdReasons } from './retention-schema.js';
import { holdTargetsOf, type RetentionService } from './retention-service.js';
import {
  dryRunPage,
  type HoldFormValues,
  type OverviewPageOptions,
  retentionPage,
} from './retention-views.js';

const readers = { kind: 'staff', permission: 'retention.read' } as const;
const editors = { kind: 'staff', permission: 'retention.edit' } as const;

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

/** The hold form: a table a provider declares holdable; an end day not before today. */
export function holdFormSchema(targets: readonly string[], clock: Clock) {
  return z.object({
    target: z.string().refine((t) => targets.includes(t), { message: 'field.invalid' }),
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
        .refine((d) => d >= clock.now().toISOString().slice(0, 10), {
          message: 'retention.holds.invalidUntil',
        })
        .optional(),
    ),
  });
}

const policyParams = z.object({ policyId: z.string().max(40) });
const holdParams = z.object({ id: z.uuid() });
const savedQuery = z.object({ saved: z.string().max(20).optional() });
const flashes: Readonly<Record<string, MessageKey>> = {
  policy: 'retention.saved.policy',
  hold: 'retention.saved.hold',
  released: 'retention.saved.released',
};

type PageExtra = Partial<Pick<OverviewPageOptions, 'flash' | 'policyError' | 'holdErrors' | 'holdValues'>>;

export type RetentionRouteDeps = Pick<KluisCore, 'clock' | 'config' | 'personalData'> & {
  readonly retention: RetentionService;
};

export function retentionRoutes(kit: RouteKit, deps: RetentionRouteDeps): void {
  const { retention, clock } = deps;
  const holdTargets = holdTargetsOf(deps);

  async function page(
    ctx: { request: FastifyRequest; reply: FastifyReply; actor: Actor },
    extra: PageExtra = {},
    status = 200,
  ) {
    const { request, reply, actor } = ctx;
    const overview = await retention.overview(actor);
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
          now: clock.now().toISOString(),
          locale: request.locale,
          holdTargets,
          accessLog: {
            truncateDays: deps.config.accessLog.truncateIpAfterDays,
            deleteDays: deps.config.accessLog.deleteAfterDays,
          },
          ...extra,
        }),
    });
  }

  kit.route({
    method: 'GET',
    url: '/staff/retention',
    access: readers,
    query: savedQuery,
    handler: (ctx) =>
      page(ctx, { flash: ctx.query.saved === undefined ? undefined : flashes[ctx.query.saved] }),
  });

  kit.route({
    method: 'GET',
    url: '/staff/retention/dry-run',
    access: readers,
    handler: async ({ request, reply, actor }) => {
      const result = await retention.dryRun(actor);
      const targets = sweepTargets(deps.personalData.all());
      return renderPage(request, reply, {
        title: request.locale === 'nl' ? 'Proefdraai' : 'Dry run',
        body: (t) => dryRunPage(t, result, targets, request.locale),
      });
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/retention/policies/:policyId',
    access: editors,
    params: policyParams,
    body: policyFormSchema,
    form: true,
    handler: async (ctx) => {
      const { policyId } = ctx.params;
      const typed = ctx.body.values.value?.slice(0, 200) ?? '';
      const fail = (errors: FieldErrors) =>
        page(ctx, { policyError: { policyId, errors, value: typed } }, 400);
      if (!ctx.body.ok) return fail({ [`value-${policyId}`]: ctx.body.errors.value ?? 'field.invalid' });
      try {
        await retention.updatePolicy(ctx.actor, policyId, ctx.body.data.value);
      } catch (error) {
        if (isAppError(error) && error.fields?.value !== undefined) {
          return fail({ [`value-${policyId}`]: error.fields.value });
        }
        throw error;
      }
      return ctx.reply.redirect('/staff/retention?saved=policy#policies', 303);
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/retention/holds',
    access: editors,
    body: holdFormSchema(holdTargets, clock),
    form: true,
    handler: async (ctx) => {
      const typed = (k: keyof HoldFormValues) => ctx.body.values[k]?.slice(0, 200);
      const values: HoldFormValues = {
        target: typed('target'),
        id: typed('id'),
        reason: typed('reason'),
        reference: typed('reference'),
        until: typed('until'),
      };
      if (!ctx.body.ok) return page(ctx, { holdErrors: ctx.body.errors, holdValues: values }, 400);
      try {
        await retention.createHold(ctx.actor, ctx.body.data);
      } catch (error) {
        if (isAppError(error) && error.fields !== undefined) {
          return page(ctx, { holdErrors: error.fields, holdValues: values }, 400);
        }
        throw error;
      }
      return ctx.reply.redirect('/staff/retention?saved=hold#holds', 303);
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/retention/holds/:id/release',
    access: editors,
    params: holdParams,
    form: true,
    handler: async ({ reply, actor, params }) => {
      await retention.releaseHold(actor, params.id);
      return reply.redirect('/staff/retention?saved=released#holds', 303);
    },
  });
}
