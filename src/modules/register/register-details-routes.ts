/**
 * The privacy officer completes the register (`register.edit`): an activity's description,
 * recipients, transfers and measures (everything else about it comes from the catalogue), and the
 * organisation's details as the statement publishes them.
 */
import { z } from 'zod';
import { AppError } from '../../shared/errors.js';
import { formListValues, withFormLists } from '../../shared/http/form-list.js';
import * as form from '../../shared/http/form-submit.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import { label, type RetentionValues } from './register-labels.js';
import { doneQuery, editAccess } from './register-route-parts.js';
import { activityInput, type RegisterService } from './register-service.js';
import { settingsInput } from './register-settings.js';
import {
  type ActivityFormValues,
  activityPage,
  type SettingsFormValues,
  settingsPage,
} from './register-views.js';

// Any purpose the catalogue does not derive is a page that does not exist (404, from the service).
const purposeParams = z.object({ purpose: z.string().min(1).max(100) });
/** A single ticked channel arrives as a string, several as a list. */
const settingsForm = withFormLists(['channels'], settingsInput);

export function registerDetailsRoutes(
  kit: RouteKit,
  deps: { readonly register: RegisterService; readonly retention: RetentionValues },
): void {
  const { register, retention } = deps;

  const showActivity = async (
    ctx: form.FormPageContext,
    purpose: string,
    shown?: form.RefusedForm<ActivityFormValues>,
  ) => {
    const snapshot = await register.getRegister({ actor: ctx.actor });
    const activity = snapshot.activities.find((a) => a.purpose === purpose);
    if (activity === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'no such activity' });
    return form.renderFormPage(ctx, {
      // The purpose's name, never its id (issue 16: page titles without raw ids).
      title: ctx.t('register.activity.editTitle', { name: label(ctx.t, 'purpose', purpose) }),
      status: shown?.status,
      body: (csrf) =>
        activityPage({
          t: ctx.t,
          locale: ctx.locale,
          csrf,
          snapshot,
          purpose,
          retention,
          values: shown?.values ?? activity,
          errors: shown?.errors,
        }),
    });
  };

  kit.route({
    method: 'GET',
    url: '/staff/register/activities/:purpose',
    access: editAccess,
    params: purposeParams,
    handler: (ctx) => showActivity(ctx, ctx.params.purpose),
  });

  kit.route({
    method: 'POST',
    url: '/staff/register/activities/:purpose',
    access: editAccess,
    params: purposeParams,
    body: activityInput,
    form: true,
    handler: (ctx) => {
      const { purpose } = ctx.params;
      const typed = form.typedText(ctx.body.values, activityInput.keyof().options);
      return form.submitForm(
        ctx,
        async (values) => {
          await register.updateActivity({ actor: ctx.actor, purpose, values });
          return `/staff/register?done=saved#activity-${purpose}`;
        },
        (refusal) => showActivity(ctx, purpose, { ...refusal, values: typed }),
      );
    },
  });

  const showSettings = async (
    ctx: form.FormPageContext,
    o: { shown?: form.RefusedForm<SettingsFormValues>; saved?: boolean } = {},
  ) => {
    const { org, settings } = await register.getSettings({ actor: ctx.actor });
    return form.renderFormPage(ctx, {
      title: ctx.t('register.settings.title'),
      status: o.shown?.status,
      body: (csrf) =>
        settingsPage({
          t: ctx.t,
          csrf,
          org,
          values: o.shown?.values ?? settings,
          errors: o.shown?.errors,
          notice: o.saved ? ctx.t('register.saved') : undefined,
        }),
    });
  };

  kit.route({
    method: 'GET',
    url: '/staff/register/settings',
    access: editAccess,
    query: doneQuery(['saved']),
    handler: (ctx) => showSettings(ctx, { saved: ctx.query.done === 'saved' }),
  });

  kit.route({
    method: 'POST',
    url: '/staff/register/settings',
    access: editAccess,
    body: settingsForm,
    form: true,
    handler: (ctx) =>
      form.submitForm(
        ctx,
        async (values) => {
          await register.updateSettings({ actor: ctx.actor, values });
          return '/staff/register/settings?done=saved';
        },
        (refusal) => {
          const values = {
            ...form.typedText(ctx.body.values, settingsInput.keyof().options),
            channels: formListValues(ctx.request.body, 'channels'),
          };
          return showSettings(ctx, { shown: { ...refusal, values } });
        },
      ),
  });
}
