import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify';
import { unauthorized } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** the admin token is also accepted as ?token= (preview pages open in a browser) */
    adminQueryToken?: boolean;
  }
}

export const adminSecurity = [{ adminToken: [] as string[] }];

/**
 * Everything under /api/v1/ is for operators, except the readers' own subscription API and the
 * relays' bounce webhooks (each checks its relay's own signature). Deciding by prefix (not by each
 * route remembering a hook) makes a new operator route protected by default.
 */
const PUBLIC_API = /^\/api\/v1\/(subscriptions|bounces)(\/|$)/;
export function isAdminRoute(url: string): boolean {
  return url.startsWith('/api/v1/') && !PUBLIC_API.test(url);
}

function sameSecret(given: string, expected: Buffer): boolean {
  const g = Buffer.from(given);
  return g.length === expected.length && timingSafeEqual(g, expected);
}

function bearer(request: FastifyRequest): string {
  const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '');
  return match?.[1]?.trim() ?? '';
}

/** Authorization: Bearer <token>, compared in constant time; throws 401 with `message`. */
export function requireBearer(token: string, message: string) {
  const expected = Buffer.from(token);
  return async (request: FastifyRequest): Promise<void> => {
    if (!sameSecret(bearer(request), expected)) throw unauthorized(message);
  };
}

/** Authorization: Bearer $ADMIN_TOKEN (or ?token= where the route allows it). */
export function requireAdmin(adminToken: string, opts: { queryToken?: boolean } = {}) {
  const expected = Buffer.from(adminToken);
  const header = requireBearer(adminToken, 'admin endpoints need Authorization: Bearer <ADMIN_TOKEN>');
  return async (request: FastifyRequest): Promise<void> => {
    const token = opts.queryToken ? (request.query as { token?: unknown } | undefined)?.token : undefined;
    if (typeof token === 'string' && token.length > 0) {
      if (sameSecret(token, expected)) return;
      throw unauthorized('invalid token');
    }
    await header(request);
  };
}

/**
 * Puts the admin check first in onRequest of every admin route registered after this call, before
 * body parsing and validation: an unauthenticated caller gets 401, never a 400 naming schema fields.
 * Also marks the route in the OpenAPI document, so the docs cannot disagree with the check.
 */
export function installAdminAuth(app: FastifyInstance, adminToken: string): void {
  const header = requireAdmin(adminToken);
  const headerOrQuery = requireAdmin(adminToken, { queryToken: true });
  app.addHook('onRoute', (route: RouteOptions) => {
    if (!isAdminRoute(route.url)) return;
    const check = route.config?.adminQueryToken ? headerOrQuery : header;
    const existing = route.onRequest ? [route.onRequest].flat() : [];
    route.onRequest = [check as onRequestHookHandler, ...existing];
    if (route.schema) route.schema.security ??= adminSecurity;
    else route.schema = { security: adminSecurity };
  });
}
