import { pino } from 'pino';
import type { Config } from './config.js';

export type Logger = pino.Logger;

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
  /** the matched route pattern (Fastify), e.g. /confirm/:token */
  routeOptions?: { url?: string };
}

const REDACTED = '[redacted]';
const SECRET_NAME = /token|secret/i;
// a personal token follows these segments in links Gazette mails, matched or mistyped
const TOKEN_PATH_SEGMENTS = new Set(['confirm', 'preferences', 'unsubscribe']);

function decoded(part: string): string | undefined {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

function redactPath(path: string, pattern: string | undefined): string {
  const segments = path.split('/');
  const patternSegments = pattern?.split('/') ?? [];
  for (let i = 0; i < segments.length; i++) {
    const p = patternSegments[i];
    const byPattern = p?.startsWith(':') && SECRET_NAME.test(p);
    const previous = i > 0 ? decoded(segments[i - 1] as string)?.toLowerCase() : undefined;
    if (byPattern || (previous !== undefined && TOKEN_PATH_SEGMENTS.has(previous) && segments[i] !== ''))
      segments[i] = REDACTED;
  }
  return segments.join('/');
}

/**
 * Secrets travel in some URLs (a WordPress webhook's ?token=, an admin preview link, the personal
 * token in /confirm/<token>, /preferences/<token>, /unsubscribe/<token>): never log them. Query
 * names are compared after percent-decoding, as the query parser reads them (?%74oken= is token);
 * a name that does not decode is redacted whole.
 */
export function redactUrl(url: string | undefined, routePattern?: string): string | undefined {
  if (!url) return url;
  const q = url.indexOf('?');
  const path = redactPath(q === -1 ? url : url.slice(0, q), routePattern);
  if (q === -1) return path;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const name = eq === -1 ? part : part.slice(0, eq);
      const plain = decoded(name);
      if (plain === undefined) return REDACTED;
      return SECRET_NAME.test(plain) ? `${name}=${REDACTED}` : part;
    })
    .join('&');
  return `${path}?${query}`;
}

export function createLogger(
  config: Pick<Config, 'LOG_LEVEL' | 'NODE_ENV'>,
  destination: pino.DestinationStream = pino.destination(1),
): Logger {
  return pino(
    {
      level: config.LOG_LEVEL,
      base: { service: 'gazette' },
      redact: { paths: ['req.headers.authorization', 'token', 'secret'], censor: '[redacted]' },
      serializers: {
        req: (req: LoggedRequest) => ({
          method: req.method,
          url: redactUrl(req.url, req.routeOptions?.url),
          host: req.host,
          remoteAddress: req.ip,
          remotePort: req.socket?.remotePort,
        }),
      },
    },
    destination,
  );
}
