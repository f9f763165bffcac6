import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Paths that never reach a log line. Credentials travel in `hello.auth`, in
 * Admin/* args and in welcome frames; anything logged that might hold them
 * goes through these paths.
 */
export const redactedPaths = [
  'password',
  'newPassword',
  'currentPassword',
  'token',
  'resumeToken',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  '*.token',
  '*.resumeToken',
  'auth.password',
  'auth.token',
  'args.password',
  'args.newPassword',
  'args.currentPassword',
  'headers.authorization',
  'headers.cookie',
];

/** NDJSON to stdout (or the given stream); child loggers add connId, sessionId, userId. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'dmci' },
    redact: { paths: redactedPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
