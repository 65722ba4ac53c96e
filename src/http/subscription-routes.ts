import {
  type FastifyPluginAsyncTypebox,
  Type,
  type TypeBoxTypeProvider,
} from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Container } from '../container.js';
import { GazetteError } from '../errors.js';
import { LANGUAGES, type Language } from '../publication.js';
import {
  Accepted,
  ListQuery,
  SubscribeBody,
  SubscriberDetail,
  SubscriberPage,
  SubscriberParams,
  SubscriberView,
  SuppressBody,
} from '../subscriptions/schemas.js';
import type { SubscriberRow } from '../subscriptions/subscriber-store.js';
import type { RequestMeta } from '../subscriptions/subscription-service.js';
import type { Preferences, RawFields } from '../subscriptions/validate.js';
import { adminSecurity } from './admin-auth.js';
import { registerMultipartLite } from './multipart-lite.js';
import { fmtHtml, formatDuration, ltr, messagePage } from './pages/layout.js';
import { fmt, pageStrings } from './pages/strings.js';
import {
  buttonPage,
  checkInboxPage,
  type FormValues,
  HONEYPOT_FIELD,
  localizedError,
  preferencesPage,
  RENDERED_FIELD,
  subscribePage,
} from './pages/subscribe-page.js';
import { SUBSCRIBE_SCRIPT } from './pages/subscribe-script.js';

type Body = Record<string, unknown>;

const isLanguage = (v: unknown): v is Language => LANGUAGES.includes(v as Language);
const first = (v: unknown): unknown => (Array.isArray(v) ? v[0] : v);
const text = (v: unknown): string => (typeof v === 'string' ? v : '');
const LangQuery = Type.Object({ lang: Type.Optional(Type.String()), redirect: Type.Optional(Type.String()) });
const TokenParams = Type.Object({ token: Type.String({ maxLength: 512 }) });
const HTML = 'text/html; charset=utf-8';

/**
 * Subscription HTTP: hosted pages (subscribe, confirm, preferences, unsubscribe), the JSON API
 * and the operator endpoints. The domain lives in src/subscriptions; this file maps HTTP to it.
 */
export const subscriptionRoutes: FastifyPluginAsyncTypebox<{ container: Container }> = async (
  app,
  { container },
) => {
  const { config, publication, clock, tokens, log } = container;
  const service = container.subscriptions;
  const rateLimit = { max: config.RATE_LIMIT_MAX, timeWindow: config.RATE_LIMIT_WINDOW_SECONDS * 1000 };
  const redirectOrigins = new Set(publication.redirectOrigins);

  const meta = (request: FastifyRequest, source: string): RequestMeta => ({
    source,
    ip: request.ip,
    userAgent: request.headers['user-agent'] ?? null,
  });
  const langFrom = (...candidates: unknown[]): Language =>
    (candidates.map(first).find(isLanguage) as Language | undefined) ?? config.DEFAULT_LANGUAGE;
  const sendHtml = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).type(HTML).header('cache-control', 'no-store').send(body);
  /** Only the publisher's own origins may be redirect targets; anything else goes to our page. */
  const allowedRedirect = (value: unknown): string | undefined => {
    const v = first(value);
    if (typeof v !== 'string' || v.length > 2000) return undefined;
    try {
      const url = new URL(v);
      return redirectOrigins.has(url.origin) ? url.toString() : undefined;
    } catch {
      return undefined;
    }
  };

  // browsers ask for it on every page; an empty answer keeps their consoles clean
  app.get('/favicon.ico', { schema: { hide: true } }, async (_request, reply) =>
    reply.code(204).header('cache-control', 'public, max-age=86400').send(),
  );

  app.get('/assets/subscribe.js', { schema: { hide: true } }, async (_request, reply) => {
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(SUBSCRIBE_SCRIPT);
  });

  // ---- hosted and embedded subscription form -------------------------------------------------

  const defaultFormValues = (): FormValues => ({
    email: '',
    name: '',
    topics: publication.topics.map((t) => t.id),
    frequency: 'daily',
    alerts: false,
  });

  app.get('/subscribe', { schema: { hide: true, querystring: LangQuery } }, async (request, reply) => {
    const language = langFrom(request.query.lang);
    return sendHtml(
      reply,
      200,
      subscribePage({
        language,
        publication,
        values: defaultFormValues(),
        rendered: tokens.formRender(clock.now()),
      }),
    );
  });

  app.get(
    '/subscribe/check-inbox',
    { schema: { hide: true, querystring: LangQuery } },
    async (request, reply) =>
      sendHtml(
        reply,
        200,
        checkInboxPage(langFrom(request.query.lang), publication, config.CONFIRM_TOKEN_TTL_SECONDS),
      ),
  );

  app.post(
    '/subscribe',
    {
      schema: { hide: true, querystring: LangQuery },
      config: { rateLimit },
      errorHandler(error, request, reply) {
        if ((error as { statusCode?: number }).statusCode === 429) {
          const q = request.query as { lang?: string };
          const language = langFrom((request.body as Body | undefined)?.language, q.lang);
          const s = pageStrings(language);
          return sendHtml(
            reply,
            429,
            messagePage({
              language,
              publication,
              heading: s.errors.rateLimited,
              text: s.errors.rateLimitedBody,
            }),
          );
        }
        throw error;
      },
    },
    async (request, reply) => {
      const body = (request.body ?? {}) as Body;
      const language = langFrom(body.language, request.query.lang);
      const redirect = allowedRedirect(request.query.redirect ?? body.redirect);
      const success = () =>
        reply
          .code(303)
          .header('cache-control', 'no-store')
          .header('location', redirect ?? `/subscribe/check-inbox?lang=${language}`)
          .send();

      // Bots get the same answer as people, and nothing is written or sent.
      if (text(first(body[HONEYPOT_FIELD])) !== '') {
        log.info({ ip: request.ip }, 'subscribe form: honeypot filled, ignored');
        return success();
      }
      const hosted = body[RENDERED_FIELD] !== undefined;
      if (hosted) {
        const renderedAt = tokens.verifyFormRender(text(first(body[RENDERED_FIELD])));
        const elapsed = renderedAt ? clock.now().getTime() - renderedAt.getTime() : -1;
        if (elapsed < config.FORM_MIN_SUBMIT_SECONDS * 1000) {
          log.info({ ip: request.ip, elapsed }, 'subscribe form: sent too fast or tampered, ignored');
          return success();
        }
      }

      const fields: RawFields = {
        email: body.email,
        name: text(body.name) === '' ? undefined : body.name,
        // an unticked checkbox sends nothing: on our own form, no topics means none chosen;
        // an embed without topic boxes subscribes to every topic
        topics: body.topics ?? (hosted ? [] : undefined),
        frequency: body.frequency,
        alerts: body.alerts ?? false,
        language,
        timezone: text(body.timezone) === '' ? undefined : body.timezone,
        sendHour: text(body.sendHour) === '' ? undefined : body.sendHour,
      };
      try {
        await service.subscribe(fields, meta(request, hosted ? 'form' : 'embed'));
      } catch (err) {
        if (!(err instanceof GazetteError) || err.statusCode !== 400) throw err;
        return sendHtml(
          reply,
          400,
          subscribePage({
            language,
            publication,
            values: {
              email: text(first(body.email)).slice(0, 300),
              name: text(first(body.name)).slice(0, 200),
              topics: ([] as unknown[]).concat(body.topics ?? []).map(String),
              frequency: text(first(body.frequency)) || 'daily',
              alerts: body.alerts !== undefined && body.alerts !== 'false',
            },
            rendered: tokens.formRender(clock.now()),
            error: localizedError(language, err.field ?? 'generic'),
          }),
        );
      }
      return success();
    },
  );

  // ---- JSON API -----------------------------------------------------------------------------

  app.post(
    '/api/v1/subscriptions',
    {
      config: { rateLimit },
      schema: {
        tags: ['subscriptions'],
        summary: 'Request a subscription (double opt-in)',
        description:
          'Sends a confirmation mail unless one went to this address within CONFIRMATION_RESEND_INTERVAL_SECONDS. ' +
          'The answer is the same whatever the state of the address (new, pending, confirmed, unsubscribed, suppressed).',
        body: SubscribeBody,
        response: { 202: Accepted },
      },
      preValidation: async (request) => {
        const type = String(request.headers['content-type'] ?? '')
          .split(';')[0]!
          .trim()
          .toLowerCase();
        if (type !== 'application/json')
          throw new GazetteError('GZ_UNSUPPORTED_MEDIA_TYPE', 'send application/json', 415);
      },
    },
    async (request, reply) => {
      await service.subscribe(request.body, meta(request, 'api'));
      return reply
        .code(202)
        .header('cache-control', 'no-store')
        .send({ status: 'pending' as const });
    },
  );

  // ---- confirmation -------------------------------------------------------------------------

  const subscribeAgain = (language: Language) => ({
    href: `/subscribe?lang=${language}`,
    label: pageStrings(language).confirm.again,
  });

  /** The page for a confirmation link that expired (410) or was never valid or already replaced (404). */
  function deadConfirmLink(
    reply: FastifyReply,
    queryLang: string | undefined,
    expired: { language?: Language } | undefined,
  ) {
    const language = langFrom(queryLang, expired?.language);
    const s = pageStrings(language).confirm;
    return sendHtml(
      reply,
      expired ? 410 : 404,
      messagePage({
        language,
        publication,
        heading: expired ? s.expired : s.invalid,
        text: expired
          ? fmt(s.expiredBody, {
              days: formatDuration(publication, language, config.CONFIRM_TOKEN_TTL_SECONDS),
            })
          : s.invalidBody,
        link: subscribeAgain(language),
      }),
    );
  }

  app.get(
    '/confirm/:token',
    { schema: { hide: true, params: TokenParams, querystring: LangQuery } },
    async (request, reply) => {
      const check = await service.checkConfirmToken(request.params.token);
      if (check.result !== 'valid') {
        return deadConfirmLink(
          reply,
          request.query.lang,
          check.result === 'expired' ? { language: check.language } : undefined,
        );
      }
      const sub = check.subscriber;
      const s = pageStrings(sub.language).confirm;
      if (sub.status === 'confirmed')
        return sendHtml(
          reply,
          200,
          messagePage({ language: sub.language, publication, heading: s.already, text: s.alreadyBody }),
        );
      // A button, never an automatic submit: mail scanners open links and run scripts.
      return sendHtml(
        reply,
        200,
        buttonPage({
          language: sub.language,
          publication,
          heading: s.title,
          text: fmtHtml(s.body, { publication: publication.name[sub.language], email: ltr(sub.email) }),
          action: `/confirm/${request.params.token}`,
          button: s.button,
        }),
      );
    },
  );

  app.post(
    '/confirm/:token',
    { schema: { hide: true, params: TokenParams, querystring: LangQuery } },
    async (request, reply) => {
      const outcome = await service.confirm(request.params.token, meta(request, 'email-link'));
      if (outcome.result === 'confirmed' || outcome.result === 'already') {
        const language = outcome.subscriber.language;
        const s = pageStrings(language).confirm;
        const done = outcome.result === 'confirmed';
        return sendHtml(
          reply,
          200,
          messagePage({
            language,
            publication,
            heading: done ? s.done : s.already,
            text: done ? s.doneBody : s.alreadyBody,
          }),
        );
      }
      return deadConfirmLink(
        reply,
        request.query.lang,
        outcome.result === 'expired' ? { language: outcome.language } : undefined,
      );
    },
  );

  // ---- preferences --------------------------------------------------------------------------

  const badLink = (reply: FastifyReply, language: Language) => {
    const s = pageStrings(language).unsubscribe;
    return sendHtml(
      reply,
      404,
      messagePage({ language, publication, heading: s.invalid, text: s.invalidBody }),
    );
  };
  const inactive = (reply: FastifyReply, sub: SubscriberRow) => {
    const s = pageStrings(sub.language).preferences;
    return sendHtml(
      reply,
      200,
      messagePage({
        language: sub.language,
        publication,
        heading: s.inactive,
        text: fmt(s.inactiveBody, { publication: publication.name[sub.language] }),
        link: subscribeAgain(sub.language),
      }),
    );
  };
  const prefsOf = (sub: SubscriberRow): Preferences => ({
    topics: sub.topics,
    frequency: sub.frequency,
    alerts: sub.alerts,
    language: sub.language,
    timezone: sub.timezone,
    sendHour: sub.send_hour,
  });

  app.get(
    '/preferences/:token',
    {
      schema: {
        hide: true,
        params: TokenParams,
        querystring: Type.Object({ lang: Type.Optional(Type.String()), saved: Type.Optional(Type.String()) }),
      },
    },
    async (request, reply) => {
      const sub = await service.forPreferences(request.params.token);
      if (!sub) return badLink(reply, langFrom(request.query.lang));
      if (sub.status === 'unsubscribed' || sub.status === 'suppressed') return inactive(reply, sub);
      return sendHtml(
        reply,
        200,
        preferencesPage({
          language: sub.language,
          publication,
          email: sub.email,
          action: `/preferences/${request.params.token}`,
          unsubscribeHref: `/unsubscribe/${tokens.unsubscribe(sub.id)}`,
          values: prefsOf(sub),
          saved: request.query.saved === '1',
        }),
      );
    },
  );

  app.post(
    '/preferences/:token',
    { schema: { hide: true, params: TokenParams, querystring: LangQuery } },
    async (request, reply) => {
      const body = (request.body ?? {}) as Body;
      const token = request.params.token;
      const fields: RawFields = {
        topics: body.topics ?? [],
        frequency: body.frequency,
        alerts: body.alerts ?? false,
        language: body.language,
        timezone: body.timezone,
        sendHour: body.sendHour,
      };
      try {
        const result = await service.updatePreferences(token, fields, meta(request, 'preferences-page'));
        if (!result) return badLink(reply, langFrom(request.query.lang));
        if (!result.changed) return inactive(reply, result.subscriber);
      } catch (err) {
        if (!(err instanceof GazetteError) || err.statusCode !== 400) throw err;
        const sub = await service.forPreferences(token);
        if (!sub) return badLink(reply, langFrom(request.query.lang));
        const values = {
          ...prefsOf(sub),
          topics: ([] as unknown[]).concat(body.topics ?? []).map(String),
          frequency: (text(first(body.frequency)) || sub.frequency) as Preferences['frequency'],
          alerts: body.alerts !== undefined && body.alerts !== 'false',
          timezone: text(first(body.timezone)).slice(0, 64),
        };
        return sendHtml(
          reply,
          400,
          preferencesPage({
            language: sub.language,
            publication,
            email: sub.email,
            action: `/preferences/${token}`,
            unsubscribeHref: `/unsubscribe/${tokens.unsubscribe(sub.id)}`,
            values,
            error: localizedError(sub.language, err.field ?? 'generic'),
          }),
        );
      }
      return reply.code(303).header('location', `/preferences/${token}?saved=1`).send();
    },
  );

  // ---- unsubscribe --------------------------------------------------------------------------

  const unsubscribedPage = (reply: FastifyReply, language: Language) => {
    const s = pageStrings(language).unsubscribe;
    return sendHtml(
      reply,
      200,
      messagePage({
        language,
        publication,
        heading: s.done,
        text: fmt(s.doneBody, { publication: publication.name[language] }),
        link: subscribeAgain(language),
      }),
    );
  };

  app.get(
    '/unsubscribe/:token',
    { schema: { hide: true, params: TokenParams, querystring: LangQuery } },
    async (request, reply) => {
      const sub = await service.forUnsubscribe(request.params.token);
      if (!sub) return badLink(reply, langFrom(request.query.lang));
      if (sub.status === 'unsubscribed' || sub.status === 'suppressed')
        return unsubscribedPage(reply, sub.language);
      const s = pageStrings(sub.language).unsubscribe;
      return sendHtml(
        reply,
        200,
        buttonPage({
          language: sub.language,
          publication,
          heading: s.title,
          text: fmtHtml(s.body, { publication: publication.name[sub.language], email: ltr(sub.email) }),
          action: `/unsubscribe/${request.params.token}`,
          button: s.button,
        }),
      );
    },
  );

  // RFC 8058 one-click: mail providers POST "List-Unsubscribe=One-Click", urlencoded or
  // multipart, without cookies; the answer is final (no redirect, no second step).
  await app.register(async (plain) => {
    registerMultipartLite(plain);
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
    scope.post(
      '/unsubscribe/:token',
      {
        schema: {
          tags: ['subscriptions'],
          summary: 'One-click unsubscribe (RFC 8058)',
          description:
            'Body List-Unsubscribe=One-Click as application/x-www-form-urlencoded or multipart/form-data. Idempotent; answers 200 with an HTML page.',
          params: TokenParams,
          querystring: LangQuery,
        },
      },
      async (request, reply) => {
        const body = (request.body ?? {}) as Body;
        const oneClick = first(body['List-Unsubscribe']) === 'One-Click';
        const ok = await service.unsubscribe(
          request.params.token,
          meta(request, oneClick ? 'one-click' : 'unsubscribe-page'),
        );
        if (!ok) return badLink(reply, langFrom(request.query.lang));
        const sub = await service.forUnsubscribe(request.params.token);
        return unsubscribedPage(reply, sub?.language ?? langFrom(request.query.lang));
      },
    );
  });

  // ---- operators ----------------------------------------------------------------------------

  app.get(
    '/api/v1/subscribers',
    {
      schema: {
        tags: ['operators'],
        summary: 'List subscribers',
        description: 'Filter by exact address or status; page with nextCursor.',
        security: adminSecurity,
        querystring: ListQuery,
        response: { 200: SubscriberPage },
      },
    },
    async (request) => service.list(request.query),
  );

  app.get(
    '/api/v1/subscribers/:id',
    {
      schema: {
        tags: ['operators'],
        summary: 'One subscriber with the consent history and recent deliveries',
        security: adminSecurity,
        params: SubscriberParams,
        response: { 200: SubscriberDetail },
      },
    },
    async (request) => service.detail(request.params.id),
  );

  app.post(
    '/api/v1/subscribers/:id/suppress',
    {
      // the body is optional: a bare POST blocks with reason "operator"
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags: ['operators'],
        summary: 'Block an address: no mail of any kind is sent to it again',
        security: adminSecurity,
        params: SubscriberParams,
        body: SuppressBody,
        response: { 200: SubscriberView },
      },
    },
    async (request) =>
      service.suppress(request.params.id, request.body.reason ?? 'operator', meta(request, 'operator')),
  );
};
