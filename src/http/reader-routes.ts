import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { Container } from '../container.js';
import type { Language } from '../publication.js';
import { nextDigestText } from '../render/next-digest.js';
import { confirmUrl, preferencesUrl, unsubscribeUrl } from '../render/reader-links.js';
import type { SubscriberRow } from '../subscriptions/subscriber-store.js';
import { registerMultipartLite } from './multipart-lite.js';
import { fmtHtml, formatDuration, html, ltr, messagePage, page } from './pages/layout.js';
import { fmt, pageStrings } from './pages/strings.js';
import { buttonPage } from './pages/subscribe-page.js';
import {
  type Body,
  deadLink,
  first,
  LangQuery,
  languageFrom,
  requestMeta as meta,
  sendHtml,
  subscribeAgain,
  TokenParams,
} from './reader-http.js';

/**
 * The pages a reader reaches from a mail's links: confirm and unsubscribe (with undo and RFC 8058
 * one-click); the preference centre is preference-routes.ts. Each link carries a signed token (src/security/tokens.ts); a GET never
 * changes anything (mail scanners open links), a button POSTs.
 */
export const readerRoutes: FastifyPluginAsyncTypebox<{ container: Container }> = async (
  app,
  { container },
) => {
  const { config, publication, tokens, clock } = container;
  const service = container.subscriptions;
  const langFrom = languageFrom(config.DEFAULT_LANGUAGE);

  // ---- confirmation -------------------------------------------------------------------------

  const badLink = (reply: FastifyReply, language: Language) => deadLink(reply, publication, language);

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
          action: confirmUrl('', request.params.token),
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
        const sub = outcome.subscriber;
        const language = sub.language;
        const s = pageStrings(language).confirm;
        const done = outcome.result === 'confirmed';
        const next = nextDigestText(
          publication,
          language,
          {
            frequency: sub.frequency,
            timezone: sub.timezone,
            sendHour: sub.send_hour,
            weeklyDay: sub.weekly_day,
          },
          clock.now(),
        );
        // after the one button: what comes next, and the two places a new reader goes from here
        return sendHtml(
          reply,
          200,
          page({
            language,
            publication,
            title: done ? s.done : s.already,
            body: html`<h1>${done ? s.done : s.already}</h1>
<p>${done ? s.doneBody : s.alreadyBody}</p>
<h2>${s.next}</h2>
<p>${next}</p>
<p><a class="button" href="${preferencesUrl('', tokens.preferences(sub.id))}">${s.preferencesLink}</a></p>
<p><a href="${publication.website}">${fmt(s.website, { publication: publication.name[language] })}</a></p>`,
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

  // ---- unsubscribe --------------------------------------------------------------------------

  /** After an unsubscribe: the way back is right there (undo), or the form for a new opt-in. */
  const unsubscribedPage = async (
    reply: FastifyReply,
    token: string,
    sub: SubscriberRow | undefined,
    fallback: Language,
  ) => {
    const language = sub?.language ?? fallback;
    const s = pageStrings(language).unsubscribe;
    const text = fmt(s.doneBody, { publication: publication.name[language] });
    if (sub && (await service.canUndoUnsubscribe(sub)))
      return sendHtml(
        reply,
        200,
        buttonPage({
          language,
          publication,
          heading: s.done,
          text,
          hint: s.undoHint,
          action: `${unsubscribeUrl('', token)}/undo`,
          button: s.undo,
          secondary: true,
        }),
      );
    return sendHtml(
      reply,
      200,
      messagePage({ language, publication, heading: s.done, text, link: subscribeAgain(language) }),
    );
  };

  app.post(
    '/unsubscribe/:token/undo',
    { schema: { hide: true, params: TokenParams, querystring: LangQuery } },
    async (request, reply) => {
      const outcome = await service.undoUnsubscribe(request.params.token, meta(request, 'unsubscribe-undo'));
      if (!outcome) return badLink(reply, langFrom(request.query.lang));
      const language = outcome.subscriber.language;
      const s = pageStrings(language).unsubscribe;
      if (outcome.result === 'refused')
        return sendHtml(
          reply,
          409,
          messagePage({
            language,
            publication,
            heading: s.undoRefused,
            text: s.undoRefusedBody,
            link: subscribeAgain(language),
          }),
        );
      return sendHtml(
        reply,
        200,
        messagePage({
          language,
          publication,
          heading: s.undone,
          text: fmt(s.undoneBody, { publication: publication.name[language] }),
          link: { href: preferencesUrl('', tokens.preferences(outcome.subscriber.id)), label: s.preferences },
        }),
      );
    },
  );

  app.get(
    '/unsubscribe/:token',
    { schema: { hide: true, params: TokenParams, querystring: LangQuery } },
    async (request, reply) => {
      const sub = await service.forUnsubscribe(request.params.token);
      if (!sub) return badLink(reply, langFrom(request.query.lang));
      if (sub.status === 'unsubscribed' || sub.status === 'suppressed')
        return unsubscribedPage(reply, request.params.token, sub, sub.language);
      const s = pageStrings(sub.language).unsubscribe;
      return sendHtml(
        reply,
        200,
        buttonPage({
          language: sub.language,
          publication,
          heading: s.title,
          text: fmtHtml(s.body, { publication: publication.name[sub.language], email: ltr(sub.email) }),
          action: unsubscribeUrl('', request.params.token),
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
        return unsubscribedPage(reply, request.params.token, sub, langFrom(request.query.lang));
      },
    );
  });
};
