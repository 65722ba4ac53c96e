import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Container } from '../container.js';
import { GazetteError, validationError } from '../errors.js';
import { POW_FIELD, type PowVerdict } from '../subscriptions/proof-of-work.js';
import { Accepted, ChallengeResponse, SubscribeBody } from '../subscriptions/schemas.js';
import { normalizeEmail, type RawFields, topicsFromForm } from '../subscriptions/validate.js';
import { messagePage } from './pages/layout.js';
import { pageStrings } from './pages/strings.js';
import {
  checkInboxPage,
  EMBED_RENDERED_FIELD,
  type FormValues,
  HONEYPOT_FIELD,
  localizedError,
  RENDERED_FIELD,
  subscribePage,
  TOPICS_MODE_FIELD,
} from './pages/subscribe-page.js';
import { SUBSCRIBE_SCRIPT } from './pages/subscribe-script.js';
import {
  type Body,
  first,
  LangQuery,
  languageFrom,
  requestMeta,
  sendHtml,
  text,
  topicValues,
} from './reader-http.js';

/**
 * Subscription HTTP: the hosted and embedded form, the JSON API and the operator endpoints. The
 * pages reached from a mail's links (confirm, preferences, unsubscribe) are in reader-routes.ts.
 * The domain lives in src/subscriptions; this file maps HTTP to it.
 */
export const subscriptionRoutes: FastifyPluginAsyncTypebox<{ container: Container }> = async (
  app,
  { container },
) => {
  const { config, publication, clock, tokens, log } = container;
  const service = container.subscriptions;
  const budgets = container.subscribeBudgets;
  const pow = container.proofOfWork;
  /** Why a request that must carry a proof-of-work does not have a usable one, or undefined. */
  const powRefusal = async (verdict: PowVerdict): Promise<string | undefined> => {
    if (verdict === 'valid' || !(await pow.required())) return undefined;
    return {
      missing: 'a solved proof-of-work challenge (GET /api/v1/subscriptions/challenge) is required',
      invalid: 'is not a valid solution of a challenge from GET /api/v1/subscriptions/challenge',
      expired: 'solves a challenge that has expired; fetch a new one',
      replayed: 'solves a challenge that was already used; fetch a new one',
    }[verdict];
  };
  /**
   * One per-IP budget for the form, embeds and the API together (a separate one per path let a
   * client use both), counted before the body is read.
   */
  const clientBudget = async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      await budgets.takeClient(request.ip);
    } catch (err) {
      const retry = (err as { retryAfterSeconds?: number }).retryAfterSeconds;
      if (retry) reply.header('retry-after', String(retry));
      throw err;
    }
  };
  const redirectOrigins = new Set(publication.redirectOrigins);

  const meta = requestMeta;
  const langFrom = languageFrom(config.DEFAULT_LANGUAGE);
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

  // ---- what a form needs before it posts: a timing proof and a proof-of-work ------------------

  app.get(
    '/api/v1/subscriptions/challenge',
    {
      schema: {
        tags: ['subscriptions'],
        summary: 'A proof-of-work challenge and a timing proof for a subscription form',
        description:
          'Self-hosted ALTCHA challenge: find number ≤ maxnumber with hex(SHA-256(salt + number)) = challenge, ' +
          'then send base64(JSON {algorithm, challenge, number, salt, signature}) as `altcha` with the form or the ' +
          "JSON body. /assets/subscribe.js does this in the browser. Readable cross-origin from the publication's " +
          'redirectOrigins (embedded forms); no cookies.',
        response: { 200: ChallengeResponse },
      },
    },
    async (request, reply) => {
      const origin = request.headers.origin;
      if (origin && redirectOrigins.has(origin)) reply.header('access-control-allow-origin', origin);
      reply.header('vary', 'origin').header('cache-control', 'no-store');
      return {
        rendered: tokens.formRender(clock.now()),
        altcha: await pow.challenge(),
        expiresInSeconds: config.ALTCHA_CHALLENGE_TTL_SECONDS,
      };
    },
  );

  // ---- hosted and embedded subscription form -------------------------------------------------

  /** The form's topics; a bad address is named before the topics (the fields' order on the page). */
  const formTopics = (body: Body): unknown => {
    try {
      return topicsFromForm(body[TOPICS_MODE_FIELD], body.topics);
    } catch (err) {
      normalizeEmail(body.email);
      throw err;
    }
  };

  const defaultFormValues = (): FormValues => ({
    email: '',
    name: '',
    topics: publication.topics.map((t) => t.id),
    frequency: 'daily',
    alerts: false,
    weeklyDay: null,
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
    {
      schema: {
        hide: true,
        querystring: Type.Object({
          lang: Type.Optional(Type.String()),
          topics: Type.Optional(Type.String({ maxLength: 500 })),
        }),
      },
    },
    async (request, reply) => {
      const asked = request.query.topics;
      const known = publication.topics.map((t) => t.id);
      const chosen =
        asked === 'all' ? [] : asked ? known.filter((id) => asked.split(',').includes(id)) : undefined;
      return sendHtml(
        reply,
        200,
        checkInboxPage(
          langFrom(request.query.lang),
          publication,
          config.CONFIRM_TOKEN_TTL_SECONDS,
          chosen?.length === 0 && asked !== 'all' ? undefined : chosen,
        ),
      );
    },
  );

  app.post(
    '/subscribe',
    {
      schema: { hide: true, querystring: LangQuery },
      onRequest: clientBudget,
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
      // the page after the form says which topics were asked for, from the request alone (so it
      // reads the same whatever the state of the address)
      const mode = text(first(body[TOPICS_MODE_FIELD]));
      const known = new Set(publication.topics.map((t) => t.id));
      const asked =
        mode === 'all'
          ? 'all'
          : topicValues(body.topics)
              .filter((t) => known.has(t))
              .join(',');
      const success = () =>
        reply
          .code(303)
          .header('cache-control', 'no-store')
          .header(
            'location',
            redirect ??
              `/subscribe/check-inbox?lang=${language}${asked ? `&topics=${encodeURIComponent(asked)}` : ''}`,
          )
          .send();

      /** The form again, with what was typed and a fresh render time, and what to fix. */
      const formAgain = (field: string) =>
        sendHtml(
          reply,
          400,
          subscribePage({
            language,
            publication,
            values: {
              email: text(first(body.email)).slice(0, 300),
              name: text(first(body.name)).slice(0, 200),
              topics: mode === 'all' ? [] : topicValues(body.topics),
              frequency: text(first(body.frequency)) || 'daily',
              alerts: body.alerts !== undefined && body.alerts !== 'false',
              weeklyDay: /^[0-6]$/.test(text(first(body.weeklyDay))) ? Number(first(body.weeklyDay)) : null,
            },
            rendered: tokens.formRender(clock.now()),
            error: localizedError(publication, language, field),
          }),
        );

      // A filled honeypot is a bot for sure: it gets the same answer as people, and nothing is
      // written or sent.
      if (text(first(body[HONEYPOT_FIELD])) !== '') {
        log.info({ ip: request.ip }, 'subscribe form: honeypot filled, ignored');
        return success();
      }
      const hosted = body[RENDERED_FIELD] !== undefined;
      const verdict = await pow.verify(first(body[POW_FIELD]));
      // The minimum time-to-submit needs a signed render time: our page's, or the one an embedded
      // form got from the challenge endpoint. A post with neither passes only with a solved
      // proof-of-work (which took the browser its time); otherwise it is a bot that skipped the page.
      const stamp = hosted ? body[RENDERED_FIELD] : body[EMBED_RENDERED_FIELD];
      if (stamp !== undefined || verdict !== 'valid') {
        const renderedAt = stamp === undefined ? null : tokens.verifyFormRender(text(first(stamp)));
        const elapsed = renderedAt ? clock.now().getTime() - renderedAt.getTime() : -1;
        if (elapsed < config.FORM_MIN_SUBMIT_SECONDS * 1000) {
          // a person with a password manager can be this quick too: say so and let them send
          // again (the form comes back with a fresh render time), rather than pretend it worked
          log.info(
            { ip: request.ip, elapsed, timed: stamp !== undefined },
            'subscribe form: sent too fast, untimed or tampered, asked to send again',
          );
          return formAgain('tooFast');
        }
      }

      try {
        const fields: RawFields = {
          email: body.email,
          name: text(body.name) === '' ? undefined : body.name,
          // our form says "all topics" or "only these" explicitly (nothing ticked is then an
          // error); a post without that choice keeps the old reading: a hosted form with
          // nothing ticked, or an embed without topic boxes, follows every topic
          topics:
            body[TOPICS_MODE_FIELD] !== undefined
              ? formTopics(body)
              : (body.topics ?? (hosted ? [] : undefined)),
          frequency: body.frequency,
          alerts: body.alerts ?? false,
          language,
          timezone: text(body.timezone) === '' ? undefined : body.timezone,
          sendHour: text(body.sendHour) === '' ? undefined : body.sendHour,
          weeklyDay: text(body.weeklyDay) === '' ? undefined : body.weeklyDay,
        };
        const refused = await powRefusal(verdict);
        if (refused) throw validationError(POW_FIELD, refused);
        await service.subscribe(fields, meta(request, hosted ? 'form' : 'embed'));
      } catch (err) {
        if (!(err instanceof GazetteError) || err.statusCode !== 400) throw err;
        return formAgain(err.field ?? 'generic');
      }
      return success();
    },
  );

  // ---- JSON API -----------------------------------------------------------------------------

  app.post(
    '/api/v1/subscriptions',
    {
      onRequest: clientBudget,
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
      const refused = await powRefusal(await pow.verify(request.body.altcha));
      if (refused) throw validationError(POW_FIELD, refused);
      await service.subscribe(request.body, meta(request, 'api'));
      return reply
        .code(202)
        .header('cache-control', 'no-store')
        .send({ status: 'pending' as const });
    },
  );
};
