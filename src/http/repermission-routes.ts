import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Container } from '../container.js';
import { conflict, notFound } from '../errors.js';
import { localeStrings } from '../render/locale-strings.js';
import { keepUrl } from '../render/reader-links.js';
import { SubscriberParams, SubscriberView } from '../subscriptions/schemas.js';
import { toView } from '../subscriptions/subscriber-store.js';
import { adminSecurity } from './admin-auth.js';
import { messagePage } from './pages/layout.js';
import { fmt } from './pages/strings.js';
import { buttonPage } from './pages/subscribe-page.js';
import { deadLink, LangQuery, languageFrom, requestMeta, sendHtml, TokenParams } from './reader-http.js';

const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });
const Counts = Type.Object(
  {
    waiting: Type.Integer({ description: 're-permission mails sent or owed, not answered, not yet paused' }),
    paused: Type.Integer({ description: 'readers paused now (no digests or alerts until resumed)' }),
    keptByReader: Type.Integer({
      description: 'rounds the reader answered (keep link, a click, preferences)',
    }),
    resumedByOperator: Type.Integer({ description: 'rounds closed by an operator' }),
  },
  { title: 'RepermissionCounts' },
);
type Token = Static<typeof TokenParams>;
type Lang = Static<typeof LangQuery>;

/**
 * Re-permission (src/engagement/): the reader's "yes, keep sending" link (a GET shows the button,
 * the POST answers: mail scanners open links) and the operator's count and resume.
 */
export const repermissionRoutes: FastifyPluginAsync<{ container: Container }> = async (
  app,
  { container },
) => {
  const { tokens, publication, config } = container;
  const service = container.repermission;
  const langFrom = languageFrom(config.DEFAULT_LANGUAGE);

  /** the reader a keep token names, while they may still be mailed */
  const readerOf = async (token: string) => {
    const id = tokens.verifyKeep(token);
    const sub = id ? await service.reader(id) : undefined;
    return sub && (sub.status === 'confirmed' || sub.status === 'paused') ? sub : undefined;
  };

  app.get<{ Params: Token; Querystring: Lang }>(
    '/keep/:token',
    { schema: { hide: true, params: TokenParams, querystring: LangQuery } },
    async (request, reply) => {
      const sub = await readerOf(request.params.token);
      if (!sub) return deadLink(reply, publication, langFrom(request.query.lang));
      const r = localeStrings(sub.language).repermission;
      const name = publication.name[sub.language];
      return sendHtml(
        reply,
        200,
        buttonPage({
          language: sub.language,
          publication,
          heading: r.heading,
          text: fmt(r.keepPrompt, { publication: name }),
          action: keepUrl('', request.params.token),
          button: r.button,
        }),
      );
    },
  );

  app.post<{ Params: Token; Querystring: Lang }>(
    '/keep/:token',
    {
      schema: {
        tags: ['subscriptions'],
        summary: '"Yes, keep sending": answers the re-permission mail, resumes a paused reader',
        description: 'The button of GET /keep/{token}. Idempotent; answers 200 with an HTML page.',
        params: TokenParams,
        querystring: LangQuery,
      },
    },
    async (request, reply) => {
      const sub = await readerOf(request.params.token);
      if (!sub) return deadLink(reply, publication, langFrom(request.query.lang));
      await service.keep(sub.id, 'reader', requestMeta(request, 'keep-link'));
      const r = localeStrings(sub.language).repermission;
      return sendHtml(
        reply,
        200,
        messagePage({
          language: sub.language,
          publication,
          heading: r.keptHeading,
          text: fmt(r.keptBody, { publication: publication.name[sub.language] }),
        }),
      );
    },
  );

  app.get(
    '/api/v1/engagement/repermission',
    {
      schema: {
        tags: ['operators'],
        summary: 'Re-permission counts: waiting for an answer, paused, kept',
        security: adminSecurity,
        response: { 200: Counts },
      },
    },
    async () => service.counts(),
  );

  app.post<{ Params: Static<typeof SubscriberParams> }>(
    '/api/v1/subscribers/:id/resume',
    {
      schema: {
        tags: ['operators'],
        summary: 'Resume a reader paused by re-permission',
        description:
          'Back to confirmed; not asked again for engagement.repermissionAfterDays. 409 unless paused.',
        security: adminSecurity,
        params: SubscriberParams,
        response: { 200: SubscriberView, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request) => {
      const sub = await service.reader(request.params.id);
      if (!sub) throw notFound('subscriber');
      if (sub.status !== 'paused') throw conflict(`this reader is ${sub.status}, not paused`);
      await service.keep(sub.id, 'operator', requestMeta(request, 'operator'));
      return toView((await service.reader(sub.id))!);
    },
  );
};
