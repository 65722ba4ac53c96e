import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LANGUAGES, type Language, type Publication } from '../publication.js';
import type { RequestMeta } from '../subscriptions/subscription-service.js';
import { messagePage } from './pages/layout.js';
import { pageStrings } from './pages/strings.js';

/**
 * What the reader-facing routes share: reading form bodies (a field may come once or several
 * times), the query and path schemas, HTML answers that are never cached, and the request's
 * consent metadata.
 */
export type Body = Record<string, unknown>;

export const isLanguage = (v: unknown): v is Language => LANGUAGES.includes(v as Language);
export const first = (v: unknown): unknown => (Array.isArray(v) ? v[0] : v);
export const text = (v: unknown): string => (typeof v === 'string' ? v : '');
/** The form's topic boxes: one value or several, as the form body parser gives them. */
export const topicValues = (v: unknown): string[] => ([] as unknown[]).concat(v ?? []).map(String);

export const LangQuery = Type.Object({
  lang: Type.Optional(Type.String()),
  redirect: Type.Optional(Type.String()),
});
export const TokenParams = Type.Object({ token: Type.String({ maxLength: 512 }) });

const HTML = 'text/html; charset=utf-8';

/** Pages about one reader's address are never cached, by the browser or anything between. */
export const sendHtml = (reply: FastifyReply, status: number, body: string) =>
  reply.code(status).type(HTML).header('cache-control', 'no-store').send(body);

/** The first candidate that names a language we publish in, else the default. */
export const languageFrom =
  (fallback: Language) =>
  (...candidates: unknown[]): Language =>
    (candidates.map(first).find(isLanguage) as Language | undefined) ?? fallback;

/** Who asked, for the consent record. */
export const requestMeta = (request: FastifyRequest, source: string): RequestMeta => ({
  source,
  ip: request.ip,
  userAgent: request.headers['user-agent'] ?? null,
});

/** The way back to the form, under a page that ends a reader's path. */
export const subscribeAgain = (language: Language) => ({
  href: `/subscribe?lang=${language}`,
  label: pageStrings(language).confirm.again,
});

/** A reader link whose token is not (or no longer) valid. */
export const deadLink = (reply: FastifyReply, publication: Publication, language: Language) => {
  const s = pageStrings(language).unsubscribe;
  return sendHtml(
    reply,
    404,
    messagePage({ language, publication, heading: s.invalid, text: s.invalidBody }),
  );
};
