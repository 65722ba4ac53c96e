import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { Container } from '../container.js';
import { ArchiveParams, Html } from './digest-schemas.js';
import { archiveIndexPage, editionGonePage } from './pages/archive-page.js';
import { languageFrom } from './reader-http.js';

const PAGE_SIZE = 20;
// public pages without personal data: shared caches may keep them a few minutes
const PUBLIC_HTML = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'public, max-age=300' };

/** The public archive: an index of past editions per language, and each edition's web copy. */
export const archiveRoutes: FastifyPluginAsyncTypebox<{ container: Container }> = async (
  app,
  { container },
) => {
  const { webCopies } = container.digests;
  const { publication, config } = container;
  const langFrom = languageFrom(config.DEFAULT_LANGUAGE);

  app.get(
    '/archive',
    {
      schema: {
        tags: ['archive'],
        summary: 'The archive: the latest sent editions in a language, newest first',
        description:
          'One entry per digest slot (the fullest edition of it) and one per alert; editions whose articles were all withdrawn are left out. Page with `before` (the link to older editions carries it).',
        querystring: Type.Object({
          lang: Type.Optional(Type.String({ description: 'ar or en' })),
          before: Type.Optional(Type.String({ format: 'date-time' })),
        }),
        response: { 200: Html },
      },
    },
    async (request, reply) => {
      const language = langFrom(request.query.lang);
      const archive = await webCopies.index({ language, before: request.query.before, limit: PAGE_SIZE });
      return reply.headers(PUBLIC_HTML).send(archiveIndexPage({ language, publication, archive }));
    },
  );

  app.get(
    '/archive/:editionId',
    {
      schema: {
        tags: ['archive'],
        summary: 'Public web copy of an edition ("view in browser"), without personal links',
        description:
          'Only the articles still published: a withdrawn article is left out (the copy is rendered again), and an edition with none left answers 410.',
        params: ArchiveParams,
        response: { 200: Html, 410: Html },
      },
    },
    async (request, reply) => {
      const copy = await webCopies.copy(request.params.editionId);
      if ('gone' in copy)
        return reply.code(410).headers(PUBLIC_HTML).send(editionGonePage(copy.gone, publication));
      return reply.headers(PUBLIC_HTML).send(copy.html);
    },
  );
};
