/**
 * Application logs (pino). Secrets and personal data are redacted by path; request logs carry
 * the request id, method, route and status — never the IP or user agent, which go to the access
 * log only (P12).
 */
import { pino } from 'pino';

export const redactPaths = [
  'password',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  '*.token',
  '*.secret',
  '*.totp',
  '*.code',
  '*.email',
  '*.phone',
  '*.name',
  '*.iban',
  'req.headers.cookie',
  'req.headers.authorization',
  'headers.cookie',
  'headers.authorization',
  'res.headers["set-cookie"]',
  'config.masterKey',
  'config.databaseKey',
];

export type Logger = pino.Logger;

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { app: 'kluis' },
    redact: { paths: redactPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
