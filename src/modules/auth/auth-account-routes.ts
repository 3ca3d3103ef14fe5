/**
 * The staff user's own account (P11): the set-up steps after a one-time password (new password,
 * TOTP enrolment — reachable while those steps are pending, never before the second factor), the
 * account page with its sessions, "log out everywhere" and new recovery codes.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { z } from 'zod';
import { AppError, isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import { escapeHtml } from '../../shared/html/html.js';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit, UserActor } from '../../shared/http/route-kit.js';
import { translator } from '../../shared/i18n/messages.js';
import {
  type AuthRouteDeps,
  clearSessionCookie,
  codeForm,
  nextStepUrl,
  queryText,
  renderFormPage,
  sessionIdOf,
  setSessionCookie,
} from './auth-http.js';
import { LOGIN_PASSWORD_MAX_LENGTH, PASSWORD_MAX_LENGTH } from './auth-passwords.js';
import type { AuthService } from './auth-service.js';
import {
  accountPage,
  passwordPage,
  recoveryCodesPage,
  totpAlreadyOnPage,
  totpEnrolmentPage,
} from './auth-views.js';

const passwordForm = z.object({
  currentPassword: z.string().max(LOGIN_PASSWORD_MAX_LENGTH).optional(),
  newPassword: z
    .string()
    .min(1, { message: 'field.required' })
    .max(PASSWORD_MAX_LENGTH * 4, { message: 'auth.password.tooLong' }),
  confirmPassword: z.string().max(PASSWORD_MAX_LENGTH * 4),
});

const reauthForm = z.object({ password: z.string().min(1, { message: 'field.required' }).max(1024) });

/** The enrolment form: the code, and the current password when enrolling outside the set-up steps. */
const enrolForm = codeForm.extend({ password: z.string().max(1024).optional() });

/** Set-up pages are reachable with pending steps, but never before the second factor. */
function assertSecondFactorDone(request: FastifyRequest): void {
  if (request.session?.pending.includes('totp')) throw new AppError('ERR_AUTH_TOTP_REQUIRED');
}

/** Whether the session is still in its set-up steps (pages are shown without the staff menu). */
const inSetup = (request: FastifyRequest) => (request.session?.pending.length ?? 0) > 0;

function renderPassword(request: FastifyRequest, reply: FastifyReply, errors?: FieldErrors, status = 200) {
  const setup = request.session?.pending.includes('password_change') ?? false;
  return renderFormPage(request, reply, (t, csrf) => ({
    title: t('auth.password.title'),
    status,
    bare: inSetup(request),
    body: passwordPage({ t, csrf, setup, errors }),
  }));
}

async function renderEnrolment(
  auth: AuthService,
  request: FastifyRequest,
  reply: FastifyReply,
  actor: UserActor,
  errors?: FieldErrors,
  status = 200,
) {
  const t = translator(request.locale);
  const account = await auth.getAccount(actor);
  if (account.user.totpEnabled) {
    return renderPage(request, reply, { title: t('auth.enrol.title'), body: totpAlreadyOnPage({ t }) });
  }
  const { secret, uri } = await auth.beginTotpEnrolment({ actor, sessionId: sessionIdOf(request) });
  const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  const qrSvg = svg.replace(
    '<svg ',
    `<svg role="img" aria-label="${escapeHtml(t('auth.enrol.qrLabel'))}" width="232" height="232" `,
  );
  const setup = inSetup(request);
  // The service asks for the password exactly when enrolment is not a pending set-up step.
  const askPassword = !(request.session?.pending.includes('totp_enrolment') ?? false);
  return renderFormPage(request, reply, (_t, csrf) => ({
    title: t('auth.enrol.title'),
    status,
    bare: setup,
    body: totpEnrolmentPage({ t, csrf, qrSvg, secret, errors, setup, askPassword }),
  }));
}

async function renderAccount(
  auth: AuthService,
  request: FastifyRequest,
  reply: FastifyReply,
  actor: UserActor,
  o: { errors?: FieldErrors; status?: number; notice?: string } = {},
) {
  const [account, sessions] = await Promise.all([
    auth.getAccount(actor),
    auth.sessions.listOwn(actor, sessionIdOf(request)),
  ]);
  return renderFormPage(request, reply, (t, csrf) => ({
    title: t('auth.account.title'),
    status: o.status ?? 200,
    body: accountPage({
      t,
      locale: request.locale,
      csrf,
      user: account.user,
      recoveryCodesLeft: account.recoveryCodesLeft,
      sessions,
      notice: o.notice,
      errors: o.errors,
    }),
  }));
}

/** The set-up steps of one's own account: a new password and TOTP enrolment. */
export function registerAccountSetupRoutes(kit: RouteKit, deps: AuthRouteDeps): void {
  const { auth, config } = deps;
  const setupAccess = { kind: 'staff', duringSetup: true } as const;

  kit.route({
    method: 'GET',
    url: '/staff/account/password',
    access: setupAccess,
    handler: async ({ request, reply }) => {
      assertSecondFactorDone(request);
      return renderPassword(request, reply);
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/account/password',
    access: setupAccess,
    body: passwordForm,
    form: true,
    handler: async ({ request, reply, actor, body }) => {
      assertSecondFactorDone(request);
      if (!body.ok) return renderPassword(request, reply, body.errors, 400);
      if (body.data.newPassword !== body.data.confirmPassword) {
        return renderPassword(request, reply, { confirmPassword: 'auth.password.mismatch' }, 400);
      }
      try {
        const issued = await auth.changePassword({
          actor,
          sessionId: sessionIdOf(request),
          currentPassword: body.data.currentPassword,
          newPassword: body.data.newPassword,
        });
        setSessionCookie(reply, config, issued);
        const wasSetup = request.session?.pending.includes('password_change') ?? false;
        return reply.redirect(wasSetup ? nextStepUrl(issued.pending) : '/staff/account?done=password', 303);
      } catch (error) {
        if (isAppError(error) && error.fields !== undefined) {
          return renderPassword(request, reply, error.fields, error.status);
        }
        if (isAppError(error) && error.code === 'ERR_RATE_LIMITED') {
          return renderPassword(request, reply, { currentPassword: error.messageKey }, error.status);
        }
        throw error;
      }
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/account/totp',
    access: setupAccess,
    handler: async ({ request, reply, actor }) => {
      assertSecondFactorDone(request);
      return renderEnrolment(auth, request, reply, actor);
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/account/totp',
    access: setupAccess,
    body: enrolForm,
    form: true,
    handler: async ({ request, reply, actor, body, t }) => {
      assertSecondFactorDone(request);
      if (!body.ok) return renderEnrolment(auth, request, reply, actor, body.errors, 400);
      try {
        const { recoveryCodes, session } = await auth.confirmTotpEnrolment({
          actor,
          sessionId: sessionIdOf(request),
          code: body.data.code,
          password: body.data.password,
        });
        setSessionCookie(reply, config, session);
        return renderPage(request, reply, {
          title: t('auth.recovery.title'),
          bare: session.pending.length > 0,
          csrfToken: reply.generateCsrf(),
          body: recoveryCodesPage({ t, codes: recoveryCodes, continueTo: nextStepUrl(session.pending) }),
        });
      } catch (error) {
        if (isAppError(error) && error.code === 'ERR_AUTH_INVALID_CREDENTIALS') {
          const errors = { password: 'auth.account.currentPasswordWrong' } as const;
          return renderEnrolment(auth, request, reply, actor, errors, error.status);
        }
        if (
          isAppError(error) &&
          (error.code === 'ERR_AUTH_TOTP_INVALID' || error.code === 'ERR_RATE_LIMITED')
        ) {
          return renderEnrolment(auth, request, reply, actor, { code: error.messageKey }, error.status);
        }
        throw error;
      }
    },
  });
}

/** The account page, "log out everywhere" and new recovery codes. */
export function registerAccountRoutes(kit: RouteKit, deps: AuthRouteDeps): void {
  const { auth, config } = deps;
  const staffAccess = { kind: 'staff' } as const;

  kit.route({
    method: 'GET',
    url: '/staff/account',
    access: staffAccess,
    query: z.object({ done: queryText }),
    handler: async ({ request, reply, actor, query, t }) =>
      renderAccount(
        auth,
        request,
        reply,
        actor,
        query.done === 'password' ? { notice: t('auth.password.changed') } : {},
      ),
  });

  kit.route({
    method: 'POST',
    url: '/staff/account/sessions/logout-all',
    access: staffAccess,
    form: true,
    handler: async ({ reply, actor }) => {
      await auth.sessions.logoutEverywhere(actor);
      clearSessionCookie(reply, config);
      return reply.redirect('/login?done=logout', 303);
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/account/recovery-codes',
    access: staffAccess,
    body: reauthForm,
    form: true,
    handler: async ({ request, reply, actor, body, t }) => {
      if (!body.ok) return renderAccount(auth, request, reply, actor, { errors: body.errors, status: 400 });
      try {
        const codes = await auth.regenerateRecoveryCodes({
          actor,
          sessionId: sessionIdOf(request),
          password: body.data.password,
        });
        return renderPage(request, reply, {
          title: t('auth.recovery.title'),
          body: recoveryCodesPage({ t, codes, continueTo: '/staff/account' }),
        });
      } catch (error) {
        if (
          isAppError(error) &&
          (error.code === 'ERR_AUTH_INVALID_CREDENTIALS' || error.code === 'ERR_RATE_LIMITED')
        ) {
          const key =
            error.code === 'ERR_RATE_LIMITED' ? error.messageKey : 'auth.account.currentPasswordWrong';
          return renderAccount(auth, request, reply, actor, {
            errors: { password: key },
            status: error.status,
          });
        }
        throw error;
      }
    },
  });
}
