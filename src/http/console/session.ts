/**
 * Who is signed in to the console: an encrypted, signed session cookie (@fastify/secure-session,
 * keyed from SESSION_SECRET) that ends after SESSION_IDLE_MINUTES without a request and
 * SESSION_MAX_HOURS after sign-in, measured on the container's clock; a CSRF token on every form
 * (@fastify/csrf-protection); and the role a route needs. Everything here is scoped to /admin.
 */
import { createHash } from 'node:crypto';
import csrf from '@fastify/csrf-protection';
import secureSession from '@fastify/secure-session';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Container } from '../../container.js';
import type { OperatorView, Role } from '../../operators/operator-service.js';
import type { Language } from '../../publication.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** the signed-in operator (console routes only) */
    operator?: OperatorView;
  }
  interface FastifyContextConfig {
    /** the console route is for this role only (editors are refused admin routes) */
    role?: Role;
    /** reachable without signing in (the sign-in page itself) */
    publicConsole?: boolean;
    /**
     * a multipart upload: the body is a stream the hook cannot read, so the handler checks the
     * form's `_csrf` field (sent before the file) with `checkCsrf` before it reads the file
     */
    csrfInHandler?: boolean;
  }
}

declare module '@fastify/secure-session' {
  interface SessionData {
    /** operator id */
    op: string;
    /** sign-in and last request, ms on the container's clock */
    iat: number;
    seen: number;
    lang: Language;
    _csrf: string;
    /** the outcome of the last action, shown once on the next page */
    flash: { notice?: string; problem?: string };
  }
}

export const SIGN_IN = '/admin/sign-in';

/** The session's language, else the publication's default. */
export function consoleLanguage(request: FastifyRequest, fallback: Language): Language {
  const lang = request.session?.get('lang');
  return lang === 'ar' || lang === 'en' ? lang : fallback;
}

/** Same-origin check for the JSON calls of Bull Board, which carry no form token. */
function sameOrigin(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site === 'same-origin') return true;
  const origin = request.headers.origin;
  return typeof origin === 'string' && origin === `${request.protocol}://${request.host}`;
}

export async function installConsoleSession(app: FastifyInstance, container: Container): Promise<void> {
  const { config, clock, operators } = container;
  await app.register(secureSession, {
    cookieName: 'gazette_console',
    // a 32-byte key from any SESSION_SECRET of at least 32 characters
    key: createHash('sha256').update(config.SESSION_SECRET).digest(),
    expiry: config.SESSION_MAX_HOURS * 3600,
    cookie: {
      path: '/admin',
      httpOnly: true,
      sameSite: 'lax',
      // by the public address, not the request: behind a TLS proxy the request itself is http
      secure: config.PUBLIC_URL.startsWith('https://'),
    },
  });
  await app.register(csrf, { sessionPlugin: '@fastify/secure-session' });

  const idleMs = config.SESSION_IDLE_MINUTES * 60_000;
  const maxMs = config.SESSION_MAX_HOURS * 3600_000;

  const toSignIn = (request: FastifyRequest, reply: FastifyReply, why?: 'expired') => {
    if (request.method !== 'GET') return reply.code(401).type('text/plain').send('sign in first');
    const next = encodeURIComponent(request.url);
    return reply.redirect(`${SIGN_IN}?next=${next}${why ? `&${why}=1` : ''}`, 303);
  };

  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.publicConsole) return;
    const session = request.session;
    const id = session.get('op');
    if (!id) return toSignIn(request, reply);
    const now = clock.now().getTime();
    const iat = session.get('iat') ?? 0;
    const seen = session.get('seen') ?? 0;
    if (now - seen > idleMs || now - iat > maxMs) {
      const lang = session.get('lang');
      session.regenerate();
      if (lang) session.set('lang', lang);
      return toSignIn(request, reply, 'expired');
    }
    const operator = await operators.get(id);
    // signed out since this session began (the cookie alone cannot be taken back)
    if (!operator || (operator.signedOutAt && Date.parse(operator.signedOutAt) >= iat)) {
      session.delete();
      return toSignIn(request, reply);
    }
    request.operator = operator;
    session.set('seen', now);
    const needs = request.routeOptions.config.role;
    // Bull Board's own buttons (retry, clean, pause a queue) are sending controls: admins only
    const queueControl = request.url.startsWith('/admin/queues/api/') && request.method !== 'GET';
    if ((needs === 'admin' || queueControl) && operator.role !== 'admin')
      return reply.code(403).type('text/plain; charset=utf-8').send('admins only');
    if (queueControl && !sameOrigin(request))
      return reply.code(403).type('text/plain').send('cross-site request');
  });

  // forms post urlencoded bodies: the token is checked once the body is parsed
  app.addHook('preValidation', (request, reply, done) => {
    if (request.method === 'GET' || request.method === 'HEAD' || request.url.startsWith('/admin/queues/'))
      return done();
    if (request.routeOptions.config.csrfInHandler) return done();
    app.csrfProtection(request, reply, done);
  });
}

/**
 * The CSRF check of a multipart form, once its `_csrf` field is read: the same check the hook
 * makes (the plugin's), given the token; rejects with the plugin's 403 error.
 */
export function checkCsrf(app: FastifyInstance, request: FastifyRequest, token: string): Promise<void> {
  const previous = request.body;
  request.body = { _csrf: token };
  return new Promise<void>((resolve, reject) => {
    // the plugin answers a bad token with reply.send(error): that error is raised here instead
    const refuse = { send: (err: Error) => reject(err) } as unknown as FastifyReply;
    app.csrfProtection(request, refuse, () => resolve());
  }).finally(() => {
    request.body = previous;
  });
}
