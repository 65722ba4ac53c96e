/**
 * What an operator or a reader sees of an edition: its state and ledger counts, the stored html
 * as a preview or as the public web copy (with a generic greeting and links to the site), and a
 * preview of what a reader with given settings would get now.
 */
import { type EditionBounceCounts, editionBounceCounts } from '../bounces/bounce-store.js';
import { type EditionLink, plainLinks } from '../clicks/index.js';
import { type EditionCounts, editionCounts } from '../delivery/delivery-store.js';
import { notFound } from '../errors.js';
import type { Language } from '../publication.js';
import { type GreetingPair, personalize } from '../render/index.js';
import { archiveUrl } from '../render/reader-links.js';
import type { Frequency } from '../subscriptions/schemas.js';
import { loadRenderArticles } from './edition-store.js';
import { topicCheck } from './operator-runs.js';
import type { DigestDeps, EditionKind, EditionState } from './types.js';

/** An edition's ledger counts as the API shows them: `planned` is every row (the ledger's total). */
export type EditionCountsView = Omit<EditionCounts, 'total'> & { planned: number } & EditionBounceCounts;

export interface EditionView {
  id: string;
  kind: EditionKind;
  state: EditionState;
  template: string;
  language: Language;
  frequency: Frequency | null;
  subject: string | null;
  dueAt: string;
  createdAt: string;
  createdBy: string;
  batchCount: number;
  articleIds: string[];
  resendOf: string | null;
  archiveUrl: string;
  counts: EditionCountsView;
}

/** Live counts, or the ones retention sealed in final_counts (older seals may lack a state). */
export function countsView(
  f: Partial<EditionCounts> & { planned?: number },
  bounces: EditionBounceCounts,
): EditionCountsView {
  return {
    ...bounces,
    planned: f.total ?? f.planned ?? 0,
    pending: f.pending ?? 0,
    sending: f.sending ?? 0,
    sent: f.sent ?? 0,
    failed: f.failed ?? 0,
    ambiguous: f.ambiguous ?? 0,
    suppressed: f.suppressed ?? 0,
    cancelled: f.cancelled ?? 0,
  };
}

export function createEditionViews(deps: DigestDeps) {
  const { db, clock, publication, config } = deps;
  const checkTopics = topicCheck(publication);

  async function get(editionId: string): Promise<EditionView> {
    const { rows } = await db.query<{
      id: string;
      kind: EditionKind;
      state: EditionState;
      template: string;
      language: Language;
      frequency: Frequency | null;
      subject: string | null;
      due_at: Date;
      created_at: Date;
      created_by: string;
      batch_count: number;
      article_ids: string[];
      resend_of: string | null;
      final_counts: (Partial<EditionCounts> & { planned?: number }) | null;
      ledger_pruned_at: Date | null;
    }>('SELECT * FROM editions WHERE id = $1', [editionId]);
    const e = rows[0];
    if (!e) throw notFound('edition');
    const bounces = await editionBounceCounts(db, editionId);
    return {
      id: e.id,
      kind: e.kind,
      state: e.state,
      template: e.template,
      language: e.language,
      frequency: e.frequency,
      subject: e.subject,
      dueAt: e.due_at.toISOString(),
      createdAt: e.created_at.toISOString(),
      createdBy: e.created_by,
      batchCount: e.batch_count,
      articleIds: e.article_ids,
      resendOf: e.resend_of,
      archiveUrl: archiveUrl(config.PUBLIC_URL, e.id),
      // ledger detail pruned by retention: the counts sealed at pruning time
      counts: countsView(
        e.ledger_pruned_at && e.final_counts ? e.final_counts : await editionCounts(db, editionId),
        bounces,
      ),
    };
  }

  /** The stored html with a generic greeting; personal links point at the publication's site. */
  function generic(
    e: { html: string; text_body: string; greeting: GreetingPair | null; links: EditionLink[] | null },
    id: string,
  ): string {
    return personalize(
      { html: e.html, text: e.text_body, greeting: e.greeting ?? undefined },
      {
        greeting_name: '',
        preferences_url: publication.website,
        unsubscribe_url: publication.website,
        archive_url: archiveUrl(config.PUBLIC_URL, id),
        links: plainLinks(e.links),
      },
    ).html;
  }

  async function storedHtml(editionId: string): Promise<string> {
    const { rows } = await db.query<{
      html: string | null;
      text_body: string | null;
      greeting: GreetingPair | null;
      kind: EditionKind;
      state: EditionState;
      links: EditionLink[] | null;
    }>('SELECT html, text_body, greeting, kind, state, links FROM editions WHERE id = $1', [editionId]);
    const e = rows[0];
    if (!e?.html) throw notFound('edition');
    return generic(
      { html: e.html, text_body: e.text_body ?? '', greeting: e.greeting, links: e.links },
      editionId,
    );
  }

  /** What a reader with these settings would get now (ledger not applied). */
  async function previewDigest(input: { language: Language; frequency: Frequency; topics: string[] }) {
    checkTopics(input.topics);
    const now = clock.now();
    const lookback = input.frequency === 'weekly' ? 7 * 24 : 24;
    const max =
      input.frequency === 'weekly' ? publication.digest.weeklyMaxItems : publication.digest.maxItems;
    const { rows } = await db.query<{ id: string; n: number }>(
      `SELECT id, count(*) OVER () AS n FROM articles
       WHERE status = 'published' AND language = $1 AND first_published_at > $2 AND first_published_at <= $3
         AND ($4::text[] = '{}' OR topics && $4)
       ORDER BY featured DESC, priority DESC, breaking DESC, coalesce(published_at, first_published_at) DESC, id
       LIMIT $5`,
      [input.language, new Date(now.getTime() - lookback * 3600_000), now, input.topics, max],
    );
    const articles = await loadRenderArticles(
      db,
      rows.map((r) => r.id),
    );
    if (articles.length === 0) throw notFound('published article for this preview');
    const rendered = await deps.render({
      template: 'digest',
      language: input.language,
      articles,
      publication,
      editionId: 'preview',
      date: now,
      frequency: input.frequency,
      moreUrl: (rows[0]?.n ?? 0) > max ? publication.website : undefined,
    });
    return generic(
      { html: rendered.html, text_body: rendered.text, greeting: rendered.greeting, links: rendered.links },
      'preview',
    );
  }

  return {
    get,
    previewEdition: (id: string) => storedHtml(id),
    previewDigest,
  };
}

export type EditionViews = ReturnType<typeof createEditionViews>;
