import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { hasClickOptOut, setClickOptOut } from '../clicks/index.js';
import type { Container } from '../container.js';
import { GazetteError } from '../errors.js';
import type { Language } from '../publication.js';
import { preferencesUrl, readerDataUrl, unsubscribeUrl } from '../render/reader-links.js';
import { PreferencesBody, SubscriberView } from '../subscriptions/schemas.js';
import { type SubscriberRow, toView } from '../subscriptions/subscriber-store.js';
import type { RequestMeta } from '../subscriptions/subscription-service.js';
import { type Preferences, type RawFields, topicsFromForm } from '../subscriptions/validate.js';
import { messagePage } from './pages/layout.js';
import { fmt, pageStrings } from './pages/strings.js';
import { localizedError, preferencesPage, TOPICS_MODE_FIELD } from './pages/subscribe-page.js';
import { TRACKING_FIELD, trackingSection } from './pages/tracking-section.js';
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
  text,
  topicValues,
} from './reader-http.js';

/**
 * The preference centre, reached from every mail's footer with a signed token: the reader's topics,
 * frequency, alerts, language, send hour and time zone.
 */
export const preferenceRoutes: FastifyPluginAsyncTypebox<{ container: Container }> = async (
  app,
  { container },
) => {
  const { config, publication, tokens } = container;
  const service = container.subscriptions;
  const langFrom = languageFrom(config.DEFAULT_LANGUAGE);

  // ---- preferences --------------------------------------------------------------------------

  const badLink = (reply: FastifyReply, language: Language) => deadLink(reply, publication, language);
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
    weeklyDay: sub.weekly_day,
  });

  const trackingOf = async (sub: SubscriberRow, token: string, saved: boolean) =>
    publication.engagement.clickTracking
      ? trackingSection({
          language: sub.language,
          tracked: !(await hasClickOptOut(container.db, sub.id)),
          action: `${preferencesUrl('', token)}/tracking`,
          saved,
        })
      : undefined;

  /**
   * Saving preferences (the page or the JSON API) answers the re-permission mail: a paused reader
   * resumes, with the `resumed` consent event. Returns the reader as they are now.
   */
  const resumeIfPaused = async (sub: SubscriberRow, m: RequestMeta): Promise<SubscriberRow> => {
    if (sub.status !== 'paused') return sub;
    await container.repermission.keep(sub.id, 'reader', m);
    return (await container.repermission.reader(sub.id)) ?? sub;
  };

  const pendingOf = (sub: SubscriberRow, resent: boolean) =>
    sub.status === 'pending'
      ? { resent, intervalSeconds: config.CONFIRMATION_RESEND_INTERVAL_SECONDS }
      : undefined;

  app.get(
    '/preferences/:token',
    {
      schema: {
        hide: true,
        params: TokenParams,
        querystring: Type.Object({
          lang: Type.Optional(Type.String()),
          saved: Type.Optional(Type.String()),
          resent: Type.Optional(Type.String()),
          tracking: Type.Optional(Type.String()),
        }),
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
          name: sub.name ?? '',
          action: preferencesUrl('', request.params.token),
          unsubscribeHref: unsubscribeUrl('', tokens.unsubscribe(sub.id)),
          dataHref: readerDataUrl('', request.params.token),
          values: prefsOf(sub),
          saved: request.query.saved === '1',
          pending: pendingOf(sub, request.query.resent === '1'),
          tracking: await trackingOf(sub, request.params.token, request.query.tracking === 'saved'),
        }),
      );
    },
  );

  // click counting: a reader who turns it off gets plain article links from the next mail on
  app.post(
    '/preferences/:token/tracking',
    { schema: { hide: true, params: TokenParams, querystring: LangQuery } },
    async (request, reply) => {
      const token = request.params.token;
      const sub = await service.forPreferences(token);
      if (!sub) return badLink(reply, langFrom(request.query.lang));
      if (sub.status === 'unsubscribed' || sub.status === 'suppressed') return inactive(reply, sub);
      const choice = text(first((request.body as Body | undefined)?.[TRACKING_FIELD]));
      if (choice !== 'on' && choice !== 'off') {
        throw new GazetteError(
          'GZ_VALIDATION',
          `${TRACKING_FIELD} must be "on" or "off"`,
          400,
          TRACKING_FIELD,
        );
      }
      await setClickOptOut(container.db, sub.id, choice === 'off', container.clock.now());
      request.log.info({ subscriberId: sub.id, tracking: choice }, 'click tracking preference changed');
      return reply
        .code(303)
        .header('location', `${preferencesUrl('', token)}?tracking=saved`)
        .send();
    },
  );

  app.post(
    '/preferences/:token',
    { schema: { hide: true, params: TokenParams, querystring: LangQuery } },
    async (request, reply) => {
      const body = (request.body ?? {}) as Body;
      const token = request.params.token;
      try {
        const fields: RawFields = {
          topics: topicsFromForm(body[TOPICS_MODE_FIELD] ?? 'chosen', body.topics),
          frequency: body.frequency,
          alerts: body.alerts ?? false,
          language: body.language,
          timezone: body.timezone,
          sendHour: body.sendHour,
          weeklyDay: body.weeklyDay,
          name: body.name === undefined ? undefined : text(first(body.name)),
        };
        const result = await service.updatePreferences(token, fields, meta(request, 'preferences-page'));
        if (!result) return badLink(reply, langFrom(request.query.lang));
        if (!result.changed) return inactive(reply, result.subscriber);
        await resumeIfPaused(result.subscriber, meta(request, 'preferences-page'));
      } catch (err) {
        if (!(err instanceof GazetteError) || err.statusCode !== 400) throw err;
        const sub = await service.forPreferences(token);
        if (!sub) return badLink(reply, langFrom(request.query.lang));
        const values = {
          ...prefsOf(sub),
          topics: text(first(body[TOPICS_MODE_FIELD])) === 'all' ? [] : topicValues(body.topics),
          frequency: (text(first(body.frequency)) || sub.frequency) as Preferences['frequency'],
          alerts: body.alerts !== undefined && body.alerts !== 'false',
          timezone: text(first(body.timezone)).slice(0, 64),
          weeklyDay: /^[0-6]$/.test(text(first(body.weeklyDay)))
            ? Number(first(body.weeklyDay))
            : sub.weekly_day,
        };
        return sendHtml(
          reply,
          400,
          preferencesPage({
            language: sub.language,
            publication,
            email: sub.email,
            name: text(first(body.name)).slice(0, 200),
            action: preferencesUrl('', token),
            unsubscribeHref: unsubscribeUrl('', tokens.unsubscribe(sub.id)),
            dataHref: readerDataUrl('', token),
            values,
            error: localizedError(publication, sub.language, err.field ?? 'generic'),
            pending: pendingOf(sub, false),
          }),
        );
      }
      return reply
        .code(303)
        .header('location', `${preferencesUrl('', token)}?saved=1`)
        .send();
    },
  );

  // the same change as JSON, for a publisher's own preference page (the token is the one in every
  // mail's preference link)
  app.patch(
    '/api/v1/subscriptions/preferences/:token',
    {
      schema: {
        tags: ['subscriptions'],
        summary: "Change a reader's preferences with their preference link's token",
        description:
          'The token is the last path segment of the preference link in every mail. Fields left out keep their value; ' +
          'topics [] is every topic. Unsubscribed and suppressed readers need a new subscription (409). ' +
          'Saving answers the re-permission mail as the preference page does: a paused reader is confirmed again ' +
          '(a `resumed` consent event, source preferences-api) and the answer shows the new status.',
        params: TokenParams,
        body: PreferencesBody,
        response: { 200: SubscriberView },
      },
    },
    async (request) => {
      const result = await service.updatePreferences(
        request.params.token,
        request.body,
        meta(request, 'preferences-api'),
      );
      if (!result) throw new GazetteError('GZ_NOT_FOUND', 'the preference link is not valid', 404);
      if (!result.changed)
        throw new GazetteError('GZ_NOT_SUBSCRIBED', 'this address is not subscribed: subscribe again', 409);
      return toView(await resumeIfPaused(result.subscriber, meta(request, 'preferences-api')));
    },
  );

  // a reader who has not confirmed yet asks for the mail again, from the page that says so
  app.post(
    '/preferences/:token/resend',
    { schema: { hide: true, params: TokenParams, querystring: LangQuery } },
    async (request, reply) => {
      const token = request.params.token;
      const result = await service.resendConfirmation(token, meta(request, 'preferences-resend'));
      if (!result) return badLink(reply, langFrom(request.query.lang));
      return reply
        .code(303)
        .header('location', `${preferencesUrl('', token)}${result === 'requested' ? '?resent=1' : ''}`)
        .send();
    },
  );
};
