import type { Queryable } from '../db/pool.js';
import type { ArticleEvent, NormalizedArticle } from './types.js';

export type Lifecycle = 'published' | 'changed' | 'withdrawn';

interface StoredArticle {
  id: string;
  status: string;
  modified_at: Date | null;
  title: string;
  summary: string;
  url: string;
  image_url: string | null;
  body_html: string;
  topics: string[];
  breaking: boolean;
}

export interface ApplyResult {
  articleId: string | null;
  lifecycle: Lifecycle | null;
  /** why nothing changed, for the event row and the logs */
  skipped?: string;
}

const CONTENT_FIELDS = ['title', 'summary', 'url', 'image_url', 'body_html', 'breaking'] as const;

function contentChanged(row: StoredArticle, a: NormalizedArticle): boolean {
  const next = {
    title: a.title,
    summary: a.summary,
    url: a.url,
    image_url: a.imageUrl,
    body_html: a.bodyHtml,
    breaking: a.breaking,
  };
  return CONTENT_FIELDS.some((f) => row[f] !== next[f]) || row.topics.join() !== a.topics.join();
}

/**
 * Applies one normalized event to the article table inside the caller's transaction and says what
 * the digest pipeline must hear about. Events may arrive out of order: one older than the stored
 * modification time changes nothing.
 */
export async function applyArticleEvent(db: Queryable, event: ArticleEvent, now: Date): Promise<ApplyResult> {
  const sourceKey = event.article?.sourceKey ?? event.provider;
  const { rows } = await db.query<StoredArticle>(
    `SELECT id, status, modified_at, title, summary, url, image_url, body_html, topics, breaking
       FROM articles WHERE source = $1 AND external_id = $2 FOR UPDATE`,
    [sourceKey, event.externalId],
  );
  const row = rows[0];

  if (event.action !== 'upsert') {
    if (!row) return { articleId: null, lifecycle: null, skipped: 'unknown article' };
    const status = event.action === 'delete' ? 'deleted' : 'unpublished';
    if (row.status === status) return { articleId: row.id, lifecycle: null, skipped: `already ${status}` };
    await db.query('UPDATE articles SET status = $2, updated_at = $3 WHERE id = $1', [row.id, status, now]);
    return { articleId: row.id, lifecycle: row.status === 'published' ? 'withdrawn' : null };
  }

  const a = event.article;
  if (!a) throw new Error(`event ${event.eventId} is an upsert without an article`);
  if (row?.modified_at && a.modifiedAt && a.modifiedAt.getTime() < row.modified_at.getTime()) {
    return { articleId: row.id, lifecycle: null, skipped: 'older than the stored copy' };
  }
  // A draft saved beside a live copy (Strapi 5 keeps both) must not replace what readers see.
  if (row?.status === 'published' && a.status === 'draft') {
    return { articleId: row.id, lifecycle: null, skipped: 'draft of a published article' };
  }
  const values = [
    a.url,
    a.title,
    a.summary,
    a.bodyHtml,
    a.imageUrl,
    a.imageAlt,
    a.author,
    a.categories,
    a.tags,
    a.topics,
    a.language,
    a.breaking,
    a.status,
    a.publishedAt,
    a.modifiedAt,
    now,
  ];
  if (!row) {
    const inserted = await db.query<{ id: string }>(
      `INSERT INTO articles (url, title, summary, body_html, image_url, image_alt, author, categories, tags, topics,
         language, breaking, status, published_at, modified_at, updated_at, created_at, first_published_at, source, external_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16,
         CASE WHEN $13 = 'published' THEN $16::timestamptz END, $17, $18)
       RETURNING id`,
      [...values, sourceKey, event.externalId],
    );
    const id = inserted.rows[0]!.id;
    return { articleId: id, lifecycle: a.status === 'published' ? 'published' : null };
  }
  const wasPublished = row.status === 'published';
  const isPublished = a.status === 'published';
  const changed = contentChanged(row, a);
  await db.query(
    `UPDATE articles SET url = $1, title = $2, summary = $3, body_html = $4, image_url = $5, image_alt = $6, author = $7,
       categories = $8, tags = $9, topics = $10, language = $11, breaking = $12, status = $13, published_at = $14,
       modified_at = $15, updated_at = $16,
       first_published_at = CASE WHEN $13 = 'published' THEN coalesce(first_published_at, $16) ELSE first_published_at END,
       revision = revision + CASE WHEN status = 'published' AND $13 = 'published' AND $18 THEN 1 ELSE 0 END
     WHERE id = $17`,
    [...values, row.id, changed],
  );
  let lifecycle: Lifecycle | null = null;
  if (!wasPublished && isPublished) lifecycle = 'published';
  else if (wasPublished && !isPublished) lifecycle = 'withdrawn';
  else if (wasPublished && isPublished && changed) lifecycle = 'changed';
  return { articleId: row.id, lifecycle };
}

export type ArticleListState = 'published' | 'updated' | 'unpublished' | 'draft' | 'scheduled';

export interface ArticleListItem {
  id: string;
  source: string;
  externalId: string;
  state: ArticleListState;
  title: string;
  summary: string;
  url: string;
  imageUrl: string | null;
  imageAlt: string | null;
  author: string | null;
  categories: string[];
  tags: string[];
  topics: string[];
  language: string;
  breaking: boolean;
  publishedAt: string | null;
  modifiedAt: string | null;
  receivedAt: string;
}

function listState(status: string, revision: number): ArticleListState {
  if (status === 'published') return revision > 0 ? 'updated' : 'published';
  if (status === 'unpublished' || status === 'deleted') return 'unpublished';
  return status as ArticleListState;
}

/** Newest first (by publication time, else arrival), keyset-paginated. */
export async function listArticles(
  db: Queryable,
  opts: { limit: number; cursor?: { at: Date; id: string } },
): Promise<{ items: ArticleListItem[]; nextCursor: { at: Date; id: string } | null }> {
  const params: unknown[] = [opts.limit + 1];
  let where = '';
  if (opts.cursor) {
    params.push(opts.cursor.at, opts.cursor.id);
    where = 'WHERE (coalesce(published_at, created_at), id) < ($2, $3)';
  }
  const { rows } = await db.query(
    `SELECT *, coalesce(published_at, created_at) AS sort_at FROM articles ${where}
      ORDER BY coalesce(published_at, created_at) DESC, id DESC LIMIT $1`,
    params,
  );
  const page = rows.slice(0, opts.limit);
  const items = page.map((r) => ({
    id: r.id,
    source: r.source,
    externalId: r.external_id,
    state: listState(r.status, r.revision),
    title: r.title,
    summary: r.summary,
    url: r.url,
    imageUrl: r.image_url,
    imageAlt: r.image_alt,
    author: r.author,
    categories: r.categories,
    tags: r.tags,
    topics: r.topics,
    language: r.language,
    breaking: r.breaking,
    publishedAt: r.published_at?.toISOString() ?? null,
    modifiedAt: r.modified_at?.toISOString() ?? null,
    receivedAt: r.created_at.toISOString(),
  }));
  const last = page[page.length - 1];
  return { items, nextCursor: rows.length > opts.limit && last ? { at: last.sort_at, id: last.id } : null };
}
