import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';

const HomeQuery = Type.Object({ lang: Type.Optional(Type.String({ maxLength: 8 })) });

/**
 * A reader who types the service's address lands on the subscription form, not on a JSON 404.
 * The form page chooses the language; an unknown `lang` is its business, passed on as given.
 */
export const homeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { schema: { hide: true, querystring: HomeQuery } }, async (request, reply) => {
    const { lang } = request.query;
    return reply.redirect(lang ? `/subscribe?lang=${encodeURIComponent(lang)}` : '/subscribe', 302);
  });
};
