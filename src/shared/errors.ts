/**
 * One error type for the whole application. Codes are stable and append-only: never rename or
 * reuse a code, only add. The error handler maps `status` to HTTP and `messageKey` to the
 * user's language; `message` is internal and never shown to clients for 5xx.
 */
import type { MessageKey } from './i18n/messages.js';

export const errorCodes = {
  ERR_VALIDATION: { status: 400, messageKey: 'error.validation' },
  ERR_NOT_FOUND: { status: 404, messageKey: 'error.notFound' },
  ERR_UNAUTHENTICATED: { status: 401, messageKey: 'error.unauthenticated' },
  ERR_FORBIDDEN: { status: 403, messageKey: 'error.forbidden' },
  ERR_CSRF: { status: 403, messageKey: 'error.csrf' },
  ERR_RATE_LIMITED: { status: 429, messageKey: 'error.rateLimited' },
  ERR_PAYLOAD_TOO_LARGE: { status: 413, messageKey: 'error.payloadTooLarge' },
  ERR_CONFLICT: { status: 409, messageKey: 'error.conflict' },
  ERR_INTERNAL: { status: 500, messageKey: 'error.internal' },
  ERR_AUTH_INVALID_CREDENTIALS: { status: 401, messageKey: 'auth.invalidCredentials' },
  ERR_AUTH_LOCKED: { status: 423, messageKey: 'auth.locked' },
  ERR_AUTH_TOTP_INVALID: { status: 401, messageKey: 'auth.totpInvalid' },
  ERR_AUTH_TOTP_REQUIRED: { status: 403, messageKey: 'auth.totpRequired' },
  ERR_AUTH_PASSWORD_WEAK: { status: 400, messageKey: 'auth.passwordWeak' },
  ERR_AUTH_PASSWORD_CHANGE_REQUIRED: { status: 403, messageKey: 'auth.passwordChangeRequired' },
  ERR_AUTH_TOKEN_INVALID: { status: 400, messageKey: 'auth.tokenInvalid' },
  ERR_AUTH_SESSION_EXPIRED: { status: 401, messageKey: 'auth.sessionExpired' },
  ERR_AUTH_API_KEY_INVALID: { status: 401, messageKey: 'auth.apiKeyInvalid' },
  ERR_CRYPTO_KEY_DESTROYED: { status: 410, messageKey: 'crypto.keyDestroyed' },
  ERR_CRYPTO_DECRYPT_FAILED: { status: 500, messageKey: 'error.internal' },
  ERR_AUDIT_WRITE_FAILED: { status: 503, messageKey: 'error.auditUnavailable' },
  ERR_AUDIT_CHAIN_BROKEN: { status: 500, messageKey: 'error.internal' },
  ERR_JOB_UNKNOWN_TYPE: { status: 500, messageKey: 'error.internal' },
  ERR_MAIL_SEND_FAILED: { status: 502, messageKey: 'error.mailFailed' },
  ERR_JOB_LEASE_EXPIRED: { status: 500, messageKey: 'error.internal' },
  ERR_RETENTION_POLICY_OUT_OF_BOUNDS: { status: 400, messageKey: 'retention.policy.outOfBounds' },
  ERR_RETENTION_RUN_IN_PROGRESS: { status: 409, messageKey: 'retention.run.inProgress' },
  ERR_RIGHTS_NOT_ALLOWED: { status: 409, messageKey: 'rights.problem.notAllowed' },
  ERR_RIGHTS_EXTENSION_REFUSED: { status: 400, messageKey: 'rights.problem.too_late' },
  ERR_RIGHTS_ERASURE_HELD: { status: 409, messageKey: 'rights.erasure.held' },
  ERR_RIGHTS_SUBJECT_ERASED: { status: 410, messageKey: 'rights.consent.subjectErased' },
  /** P14: a send to a destination that is not a registered recipient (recorded as `egress.refused`). */
  ERR_EGRESS_REFUSED: { status: 403, messageKey: 'error.forbidden' },
  ERR_INCIDENT_LATE_WITHOUT_REASONS: { status: 400, messageKey: 'incidents.problem.late' },
  ERR_INCIDENT_NOT_ALLOWED: { status: 409, messageKey: 'incidents.problem.closed' },
  ERR_ORG_NOT_ACTIVE: { status: 403, messageKey: 'auth.orgNotActive' },
  /** An OpenDSR status callback was not taken by the controller's URL (the job retries it). */
  ERR_OPENDSR_CALLBACK_FAILED: { status: 502, messageKey: 'error.internal' },
  /** An access export that was downloaded already (it is handed out once) or passed its 14 days. */
  ERR_RIGHTS_EXPORT_GONE: { status: 410, messageKey: 'rights.status.exportGone' },
} as const satisfies Record<string, { status: number; messageKey: MessageKey }>;

export type ErrorCode = keyof typeof errorCodes;

export interface AppErrorOptions {
  /** Internal detail for logs. Never shown to clients, never contains personal data or secrets. */
  message?: string;
  cause?: unknown;
  /** Field-level problems for forms and API clients: field name -> message key. */
  fields?: Record<string, MessageKey>;
  /** Extra safe detail for API clients (no personal data). */
  details?: Record<string, string | number | boolean>;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly messageKey: MessageKey;
  readonly fields: Record<string, MessageKey> | undefined;
  readonly details: Record<string, string | number | boolean> | undefined;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    super(options.message ?? code, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = errorCodes[code].status;
    this.messageKey = errorCodes[code].messageKey;
    this.fields = options.fields;
    this.details = options.details;
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/** `executeTakeFirstOrThrow(notFound('user'))` */
export function notFound(what: string): () => AppError {
  return () => new AppError('ERR_NOT_FOUND', { message: `${what} not found` });
}
