import { pino } from 'pino';
import type { Config } from './config.js';

export type Logger = pino.Logger;

export function createLogger(config: Pick<Config, 'LOG_LEVEL' | 'NODE_ENV'>): Logger {
  return pino({
    level: config.LOG_LEVEL,
    base: { service: 'gazette' },
    // secrets that may appear in request logs: query tokens on webhook URLs, auth headers
    redact: {
      paths: ['req.headers.authorization', 'req.query.token', 'token', 'secret'],
      censor: '[redacted]',
    },
  });
}
