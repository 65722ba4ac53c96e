import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Container } from '../../container.js';
import { GazetteError } from '../../errors.js';
import type { Language } from '../../publication.js';
import { fmt } from '../pages/strings.js';
import { consolePage, type Html, type NavKey } from './layout.js';
import { consoleLanguage } from './session.js';
import { type ConsoleStrings, consoleStrings } from './strings.js';

const HTML = 'text/html; charset=utf-8';

/** What every console page needs: the operator's language and strings, a CSRF token, the frame. */
export function pageContext(container: Container, request: FastifyRequest, reply: FastifyReply) {
  const { publication, config } = container;
  const language: Language = consoleLanguage(request, config.DEFAULT_LANGUAGE);
  const s = consoleStrings(language);
  const csrf = reply.generateCsrf();
  const { locale, numberingSystem } = publication.locales[language];
  const dateFormat = new Intl.DateTimeFormat(locale, {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: publication.timezone,
    numberingSystem,
  });
  const numberFormat = new Intl.NumberFormat(locale, { numberingSystem });
  return {
    s,
    language,
    csrf,
    operator: request.operator,
    when: (d: string | Date | null | undefined) => (d ? dateFormat.format(new Date(d)) : s.common.never),
    num: (n: number) => numberFormat.format(n),
    send(title: string, active: NavKey | undefined, body: Html, status = 200, htmx = false) {
      const flash = request.session.get('flash');
      if (flash) request.session.set('flash', undefined);
      return reply
        .code(status)
        .type(HTML)
        .header('cache-control', 'no-store')
        .send(
          consolePage({
            s,
            language,
            title,
            body,
            csrf,
            operator: request.operator,
            active,
            notice: flash?.notice,
            problem: flash?.problem,
            here: request.url,
            htmx,
          }),
        );
    },
  };
}

export type PageContext = ReturnType<typeof pageContext>;

/**
 * Runs one console action (a call to the same service the admin API calls), keeps its outcome
 * for the next page and answers with a redirect back (post/redirect/get). A refusal by the
 * service (not found, conflict, invalid) is shown, not raised.
 */
export async function act(
  request: FastifyRequest,
  reply: FastifyReply,
  back: string,
  run: (s: ConsoleStrings) => Promise<string>,
  language: Language,
): Promise<FastifyReply> {
  const s = consoleStrings(language);
  try {
    request.session.set('flash', { notice: await run(s) });
  } catch (err) {
    if (!(err instanceof GazetteError) || err.statusCode >= 500) throw err;
    const template = err.statusCode === 409 ? s.common.conflict : s.common.invalid;
    request.session.set('flash', { problem: fmt(template, { message: err.message }) });
  }
  return reply.redirect(back, 303);
}
