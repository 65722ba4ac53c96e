/**
 * The public web copy of an edition ("view in browser", /archive/<id>) and the archive index.
 *
 * A web copy is a public page, not a mail: it carries no personal link (the footer's preference
 * and unsubscribe links become one "subscribe" link), and it shows only articles that are still
 * published. An edition whose articles were all withdrawn is gone. When some were withdrawn the
 * copy is rendered again from the rest, once per set of articles left (cached), since MJML is far
 * too slow to run per request.
 */
import { type EditionLink, plainLinks } from '../clicks/index.js';
import { notFound } from '../errors.js';
import type { Language } from '../publication.js';
import { type GreetingPair, personalize } from '../render/index.js';
import { formatText, localeStrings } from '../render/locale-strings.js';
import { archiveUrl, subscribeUrl as subscribeLink } from '../render/reader-links.js';
import { escapeHtml } from '../render/safe-text.js';
import type { Frequency } from '../subscriptions/schemas.js';
import { loadRenderArticles } from './edition-store.js';
import type { DigestDeps, EditionKind, EditionState } from './types.js';

export type WebCopy = { html: string } | { gone: Language };

export interface ArchiveEntry {
  id: string;
  kind: 'digest' | 'alert';
  frequency: Frequency | null;
  subject: string;
  dueAt: Date;
  url: string;
}

export interface ArchivePage {
  entries: ArchiveEntry[];
  /** pass as `before` for the next (older) page; null on the last page */
  next: string | null;
}

/** Re-rendered copies kept (an edition with withdrawn articles is rendered once per article set). */
const CACHE_SIZE = 64;
// personal links are first filled with these, then replaced (they never reach a page)
const PREFS = 'https://web-copy.invalid/preferences';
const UNSUB = 'https://web-copy.invalid/unsubscribe';

interface EditionRow {
  html: string | null;
  text_body: string | null;
  greeting: GreetingPair | null;
  kind: EditionKind;
  state: EditionState;
  article_ids: string[];
  template: string;
  language: Language;
  frequency: Frequency | null;
  due_at: Date;
  more_url: string | null;
  links: EditionLink[] | null;
}

export function createWebCopies(deps: DigestDeps) {
  const { db, publication, config } = deps;
  const rendered = new Map<string, string>();

  const subscribeUrl = (language: Language) => subscribeLink(config.PUBLIC_URL, language);

  /** The mail's html as a public page: a generic greeting, a subscribe link instead of personal ones. */
  function publicPage(
    e: { html: string; text: string; greeting: GreetingPair | null; links: EditionLink[] | null },
    id: string,
    language: Language,
  ): string {
    const strings = localeStrings(language);
    const name = publication.name[language];
    const href = escapeHtml(subscribeUrl(language));
    const subscribe = `<a href="${href}" style="color:#3c3c43;">${escapeHtml(formatText(strings.footer.subscribe, { publication: name }))}</a>`;
    let html = personalize(
      { html: e.html, text: e.text, greeting: e.greeting ?? undefined },
      {
        greeting_name: '',
        preferences_url: PREFS,
        unsubscribe_url: UNSUB,
        archive_url: archiveUrl(config.PUBLIC_URL, id),
        links: plainLinks(e.links),
      },
    ).html;
    // the footer's "preferences · unsubscribe" pair becomes one subscribe link
    html = html.replace(
      /<a href="https:\/\/web-copy\.invalid\/preferences"[^>]*>[^<]*<\/a>(?:&nbsp;|\s)*·(?:&nbsp;|\s)*<a href="https:\/\/web-copy\.invalid\/unsubscribe"[^>]*>[^<]*<\/a>/g,
      subscribe,
    );
    html = html.replace(
      /<a href="https:\/\/web-copy\.invalid\/(?:preferences|unsubscribe)"[^>]*>[^<]*<\/a>/g,
      subscribe,
    );
    html = html.replaceAll(PREFS, href).replaceAll(UNSUB, href);
    // "you receive this because you subscribed" is not true of a visitor
    for (const reason of [strings.footer.reason, strings.footer.reasonSignup])
      html = html.replaceAll(
        escapeHtml(formatText(reason, { publication: name })),
        escapeHtml(formatText(strings.footer.webCopy, { publication: name })),
      );
    return html;
  }

  async function copy(editionId: string): Promise<WebCopy> {
    const { rows } = await db.query<EditionRow>(
      `SELECT html, text_body, greeting, kind, state, article_ids, template, language, frequency, due_at, more_url, links
         FROM editions WHERE id = $1`,
      [editionId],
    );
    const e = rows[0];
    if (!e?.html || e.kind === 'test' || e.state === 'cancelled' || e.state === 'planned')
      throw notFound('edition');
    const articles = await loadRenderArticles(db, e.article_ids);
    if (articles.length === 0) return { gone: e.language };
    if (articles.length === e.article_ids.length)
      return {
        html: publicPage(
          { html: e.html, text: e.text_body ?? '', greeting: e.greeting, links: e.links },
          editionId,
          e.language,
        ),
      };

    const key = `${editionId}:${articles.map((a) => a.id).join(',')}`;
    const cached = rendered.get(key);
    if (cached !== undefined) return { html: cached };
    const again = await deps.render({
      template: e.template as 'digest' | 'alert',
      language: e.language,
      articles,
      publication,
      editionId,
      date: e.due_at,
      frequency: e.frequency ?? 'immediate',
      moreUrl: e.more_url ?? undefined,
    });
    const html = publicPage(
      { html: again.html, text: again.text, greeting: again.greeting ?? null, links: again.links },
      editionId,
      e.language,
    );
    if (rendered.size >= CACHE_SIZE) rendered.delete(rendered.keys().next().value as string);
    rendered.set(key, html);
    return { html };
  }

  /**
   * The archive index: the latest sent editions in a language, newest first. Digests go out in one
   * edition per audience segment; the index shows, per slot, the one with the most articles (the
   * fullest copy of that morning's digest), and every alert.
   */
  async function index(q: { language: Language; before?: string; limit: number }): Promise<ArchivePage> {
    const before = q.before ? new Date(q.before) : null;
    if (before && Number.isNaN(before.getTime())) throw notFound('archive page');
    const { rows } = await db.query<{
      id: string;
      kind: 'digest' | 'alert';
      frequency: Frequency | null;
      subject: string | null;
      due_at: Date;
    }>(
      `SELECT DISTINCT ON (e.due_at, e.template, e.frequency, alert_article) e.id, e.kind, e.frequency, e.subject, e.due_at
         FROM editions e, LATERAL (SELECT CASE WHEN e.kind = 'alert' THEN e.article_ids[1] END AS alert_article) k
        WHERE e.language = $1 AND e.kind IN ('digest', 'alert') AND e.state IN ('sending', 'sent')
          AND e.resend_of IS NULL AND e.html IS NOT NULL AND ($2::timestamptz IS NULL OR e.due_at < $2)
          AND EXISTS (SELECT 1 FROM articles a WHERE a.id = ANY (e.article_ids) AND a.status = 'published')
        ORDER BY e.due_at DESC, e.template, e.frequency, alert_article, cardinality(e.article_ids) DESC, e.id
        LIMIT $3`,
      [q.language, before, q.limit + 1],
    );
    const page = rows.slice(0, q.limit);
    return {
      entries: page.map((r) => ({
        id: r.id,
        kind: r.kind,
        frequency: r.frequency,
        subject: r.subject ?? '',
        dueAt: r.due_at,
        url: archiveUrl('', r.id),
      })),
      next: rows.length > q.limit ? page.at(-1)!.due_at.toISOString() : null,
    };
  }

  return { copy, index };
}

export type WebCopies = ReturnType<typeof createWebCopies>;
