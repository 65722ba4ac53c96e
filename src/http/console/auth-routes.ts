import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Container } from '../../container.js';
import type { Language } from '../../publication.js';
import { fmt } from '../pages/strings.js';
import { csrfField, html } from './layout.js';
import { pageContext } from './page-context.js';
import { SIGN_IN } from './session.js';

const SignInQuery = Type.Object({
  next: Type.Optional(Type.String({ maxLength: 2000 })),
  expired: Type.Optional(Type.String({ maxLength: 8 })),
  lang: Type.Optional(Type.String({ maxLength: 8 })),
});

/** Only a path inside the console: a sign-in link must not send the operator elsewhere. */
function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/admin(\/|\?|$)/.test(next) && !next.startsWith('//')
    ? next
    : '/admin';
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

export const consoleAuthRoutes: FastifyPluginAsync<{ container: Container }> = async (app, { container }) => {
  const { operators } = container;

  const signInPage = (
    request: FastifyRequest,
    reply: Parameters<typeof pageContext>[2],
    o: { next: string; email?: string; problem?: string; notice?: string; status?: number },
  ) => {
    const p = pageContext(container, request, reply);
    const { s } = p;
    return p.send(
      s.signIn.title,
      undefined,
      html`<div class="signin card">
<h1>${s.signIn.title}</h1>
${o.notice ? html`<p class="notice" role="status">${o.notice}</p>` : ''}
${o.problem ? html`<p class="error" role="alert">${o.problem}</p>` : ''}
<form method="post" action="${SIGN_IN}">
${csrfField(p.csrf)}
<input type="hidden" name="next" value="${o.next}">
<div class="field"><label for="email">${s.signIn.email}</label>
<input id="email" name="email" type="email" dir="ltr" autocomplete="username" required value="${o.email ?? ''}"></div>
<div class="field"><label for="password">${s.signIn.password}</label>
<input id="password" name="password" type="password" dir="ltr" autocomplete="current-password" required></div>
<button>${s.signIn.submit}</button>
</form></div>`,
      o.status,
    );
  };

  app.get<{ Querystring: { next?: string; expired?: string; lang?: string } }>(
    SIGN_IN,
    { config: { publicConsole: true }, schema: { hide: true, querystring: SignInQuery } },
    async (request, reply) => {
      const { lang } = request.query;
      if (lang === 'ar' || lang === 'en') request.session.set('lang', lang);
      if (request.session.get('op') && !request.query.expired)
        return reply.redirect(safeNext(request.query.next), 303);
      const s = pageContext(container, request, reply).s;
      return signInPage(request, reply, {
        next: safeNext(request.query.next),
        notice: request.query.expired ? s.signIn.expired : undefined,
      });
    },
  );

  app.post(SIGN_IN, { config: { publicConsole: true }, schema: { hide: true } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const email = str(body.email).slice(0, 254);
    const next = safeNext(body.next);
    const outcome = await operators.signIn(email, str(body.password).slice(0, 1000));
    const { s, when } = pageContext(container, request, reply);
    if (outcome.result === 'locked')
      return signInPage(request, reply, {
        next,
        email,
        problem: fmt(s.signIn.locked, { time: when(outcome.until) }),
        status: 429,
      });
    if (outcome.result === 'invalid')
      return signInPage(request, reply, { next, email, problem: s.signIn.invalid, status: 401 });
    const lang = request.session.get('lang');
    // a new session at sign-in: nothing from before (a planted CSRF secret included) carries over
    request.session.regenerate();
    const now = container.clock.now().getTime();
    request.session.set('op', outcome.operator.id);
    request.session.set('iat', now);
    request.session.set('seen', now);
    if (lang) request.session.set('lang', lang);
    request.log.info({ operator: outcome.operator.id }, 'operator signed in');
    return reply.redirect(next, 303);
  });

  app.post('/admin/sign-out', { schema: { hide: true } }, async (request, reply) => {
    const lang = request.session.get('lang');
    if (request.operator) await operators.signOut(request.operator.id);
    request.session.delete();
    return reply.redirect(`${SIGN_IN}${lang ? `?lang=${lang}` : ''}`, 303);
  });

  // the language is the operator's choice, kept in the session; signed out, the sign-in page sets it
  app.post(
    '/admin/language',
    { config: { publicConsole: true }, schema: { hide: true } },
    async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const lang = body.lang === 'en' || body.lang === 'ar' ? (body.lang as Language) : undefined;
      if (lang) request.session.set('lang', lang);
      return reply.redirect(safeNext(body.back), 303);
    },
  );
};
