/**
 * OpenDSR 2.0 endpoint per tenant (issue 13 part 3; P14, Art. 28): a controller's systems hand
 * data-subject requests to Kluis as its processor, follow their status and receive signed
 * callbacks. Public surface of the module: the manifest.
 */
import { z } from 'zod';
import { AppError } from '../../shared/errors.js';
import { defineModule } from '../module.js';
import { opendsrFields } from './opendsr-fields.js';
import { opendsrEn, opendsrNl } from './opendsr-messages.js';
import { opendsrDashboardPanel } from './opendsr-panel.js';
import { opendsrPersonalData } from './opendsr-personal-data.js';
import { opendsrRoutes } from './opendsr-routes.js';
import { opendsrMigrations } from './opendsr-schema.js';
import { CALLBACK_JOB, createOpendsrService, type OpendsrService } from './opendsr-service.js';

export type { OpendsrService } from './opendsr-service.js';

declare module '../module.js' {
  interface KluisServices {
    opendsr: OpendsrService;
  }
}

export const opendsrModule = defineModule({
  name: 'opendsr',
  migrations: opendsrMigrations,
  tables: ['opendsr_requests', 'opendsr_callbacks'],
  catalogue: opendsrFields,
  personalData: opendsrPersonalData,
  messages: { nl: opendsrNl, en: opendsrEn },
  provides: ['opendsr'],
  needs: ['rights', 'register', 'orgs'],
  services: ({ db, clock, config, rights, register, orgs }) => ({
    opendsr: createOpendsrService({ db, clock, config, rights, register, orgs }),
  }),
  jobs(registry, deps) {
    registry.register(CALLBACK_JOB, z.object({ callbackId: z.string().max(100) }), async (payload, ctx) => {
      if (ctx.job.orgId === null) {
        throw new AppError('ERR_VALIDATION', { message: 'an OpenDSR callback job names no organisation' });
      }
      await deps.opendsr.deliverCallback(
        ctx.job.orgId,
        payload.callbackId,
        ctx.job.attempt >= ctx.job.maxAttempts,
      );
    });
  },
  panels: (deps) => [opendsrDashboardPanel(deps)],
  routes: opendsrRoutes,
});
