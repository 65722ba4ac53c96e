import type { Queryable } from '../db/pool.js';
import { supersedeHeldEvents } from './event-store.js';
import type { ArticleEvent, LanguageOrigin, NormalizedArticle } from './types.js';

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
  featured: boolean;
  priority: number;
  held_reason: string | null;
}

export interface ApplyResult {
  articleId: string | null;
  lifecycle: Lifecycle | null;
  /** why nothing changed, for the event row and the logs */
  skipped?: string;
}

const CONTENT_FIELDS = [
  'title',
  'summary',
  'url',
  'image_url',
  'body_html',
  'breaking',
  'featured',
  'priority',
] as const;

function contentChanged(row: StoredArticle, a: NormalizedArticle): boolean {
  const next = {
    title: a.title,
    summary: a.summary,
    url: a.url,
    image_url: a.imageUrl,
    body_html: a.bodyHtml,
    breaking: a.breaking,
    featured: a.featured,
    priority: a.priority,
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
    `SELECT id, status, modified_at, title, summary, url, image_url, body_html, topics, breaking, featured, priority,
            held_reason
       FROM articles WHERE source = $1 AND external_id = $2 FOR UPDATE`,
    [sourceKey, event.externalId],
  );
  const row = rows[0];

  if (event.action !== 'upsert') {
    if (!row) return { articleId: null, lifecycle: null, skipped: 'unknown article' };
    if (row.held_reason !== null) {
      // The CMS removed it: changes still held for it must not bring it back when applied later.
      await supersedeHeldEvents(db, sourceKey, event.externalId);
      await db.query('UPDATE articles SET held_reason = NULL WHERE id = $1', [row.id]);
    }
    if (row.status === 'held') {
      await db.query('DELETE FROM articles WHERE id = $1', [row.id]);
      return { articleId: null, lifecycle: null, skipped: 'removed before its held event was applied' };
    }
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
    a.languageOrigin,
    a.featured,
    a.priority,
  ];
  if (!row) {
    const inserted = await db.query<{ id: string }>(
      `INSERT INTO articles (url, title, summary, body_html, image_url, image_alt, author, categories, tags, topics,
         language, breaking, status, published_at, modified_at, updated_at, created_at, first_published_at,
         language_origin, featured, priority, source, external_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16,
         CASE WHEN $13 = 'published' THEN $16::timestamptz END, $17, $18, $19, $20, $21)
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
       modified_at = $15, updated_at = $16, language_origin = $17, featured = $18, priority = $19, held_reason = NULL,
       first_published_at = CASE WHEN $13 = 'published' THEN coalesce(first_published_at, $16) ELSE first_published_at END,
       revision = revision + CASE WHEN status = 'published' AND $13 = 'published' AND $21 THEN 1 ELSE 0 END
     WHERE id = $20`,
    [...values, row.id, changed],
  );
  let lifecycle: Lifecycle | null = null;
  if (!wasPublished && isPublished) lifecycle = 'published';
  else if (wasPublished && !isPublished) lifecycle = 'withdrawn';
  else if (wasPublished && isPublished && changed) lifecycle = 'changed';
  return { articleId: row.id, lifecycle };
}

/**
 * Marks an article held: a placeholder row (status 'held', no language, no URL yet) when Gazette
 * has no copy, or the reason on the live copy, which stays as it is, when only a change is held.
 */
export async function holdArticle(
  db: Queryable,
  source: string,
  externalId: string,
  title: string | undefined,
  reason: string,
  now: Date,
): Promise<void> {
  await db.query(
    `INSERT INTO articles (source, external_id, url, title, status, held_reason, created_at, updated_at)
     VALUES ($1, $2, '', $3, 'held', $4, $5, $5)
     ON CONFLICT (source, external_id) DO UPDATE SET held_reason = EXCLUDED.held_reason, updated_at = EXCLUDED.updated_at`,
    [source, externalId, title ?? '', reason, now],
  );
}

/**
 * The held reason on an article, or none: a placeholder keeps it until its event is applied (null
 * leaves a placeholder as it is: only a live copy's reason is cleared).
 */
export async function setHeldReason(
  db: Queryable,
  source: string,
  externalId: string,
  reason: string | null,
  now: Date,
): Promise<void> {
  await db.query(
    `UPDATE articles SET held_reason = $3, updated_at = $4
      WHERE source = $1 AND external_id = $2 AND ($3::text IS NOT NULL OR status <> 'held')`,
    [source, externalId, reason, now],
  );
}

/** Placeholders whose every held event was applied under another key, or ignored. */
export async function dropOrphanHeldArticles(db: Queryable): Promise<void> {
  await db.query(
    `DELETE FROM articles a WHERE a.status = 'held' AND NOT EXISTS (
       SELECT 1 FROM article_events e
       WHERE e.held_reason IS NOT NULL AND e.provider = a.source AND e.external_id = a.external_id)
     AND NOT EXISTS (SELECT 1 FROM article_events e WHERE e.article_id = a.id)`,
  );
}

/** Articles waiting for a configuration change (a held placeholder, or a held change of a live one). */
export async function countHeldArticles(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM articles WHERE held_reason IS NOT NULL',
  );
  return rows[0]?.n ?? 0;
}

/** Which of a source's external ids are stored already. */
export async function knownExternalIds(
  db: Queryable,
  source: string,
  externalIds: readonly string[],
): Promise<Set<string>> {
  const { rows } = await db.query<{ external_id: string }>(
    'SELECT external_id FROM articles WHERE source = $1 AND external_id = ANY($2)',
    [source, externalIds],
  );
  return new Set(rows.map((r) => r.external_id));
}

export type ArticleListState = 'published' | 'updated' | 'unpublished' | 'draft' | 'scheduled' | 'held';

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
  /** null while held: the event that would set it has not been applied */
  language: string | null;
  languageOrigin: LanguageOrigin | null;
  breaking: boolean;
  featured: boolean;
  priority: number;
  /** why the article, or its latest change, waits for a configuration change */
  heldReason: string | null;
  publishedAt: string | null;
  modifiedAt: string | null;
  receivedAt: string;
}

function listState(status: string, revision: number): ArticleListState {
  if (status === 'published') return revision > 0 ? 'updated' : 'published';
  if (status === 'unpublished' || status === 'deleted') return 'unpublished';
  if (status === 'held') return 'held';
  return status as ArticleListState;
}

/** Newest first (by publication time, else arrival), keyset-paginated. */
export async function listArticles(
  db: Queryable,
  opts: { limit: number; cursor?: { at: Date; id: string }; held?: boolean },
): Promise<{ items: ArticleListItem[]; nextCursor: { at: Date; id: string } | null }> {
  const params: unknown[] = [opts.limit + 1];
  const conditions: string[] = [];
  if (opts.cursor) {
    params.push(opts.cursor.at, opts.cursor.id);
    conditions.push('(coalesce(published_at, created_at), id) < ($2, $3)');
  }
  // held placeholders and live articles with a held change alike
  if (opts.held) conditions.push('held_reason IS NOT NULL');
  const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
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
    languageOrigin: r.language_origin,
    breaking: r.breaking,
    featured: r.featured,
    priority: r.priority,
    heldReason: r.held_reason,
    publishedAt: r.published_at?.toISOString() ?? null,
    modifiedAt: r.modified_at?.toISOString() ?? null,
    receivedAt: r.created_at.toISOString(),
  }));
  const last = page[page.length - 1];
  return { items, nextCursor: rows.length > opts.limit && last ? { at: last.sort_at, id: last.id } : null };
}
