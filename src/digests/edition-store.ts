/**
 * Editions and their ledger rows. An edition is found or created by its key (unique), rendered
 * once by whichever transaction created it, and receives readers in persisted batches. Callers
 * hold the edition row lock (ensureEdition takes it) while adding readers, so batch numbers are
 * allocated without gaps or overlaps even when two planners feed the same edition. The editions
 * table's other state changes are in edition-state-store.ts; the two files are its one owner.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from '../db/pool.js';
import { cancelPendingRows, insertEditionRows } from '../delivery/delivery-store.js';
import type { Language } from '../publication.js';
import { type EditionTemplate, type RenderArticle, RenderError } from '../render/index.js';
import { archiveUrl } from '../render/reader-links.js';
import type { Frequency } from '../subscriptions/schemas.js';
import type { DigestDeps, EditionKind, EditionState, Lane, LockedEdition } from './types.js';

export interface EditionSpec {
  kind: EditionKind;
  key: string;
  template: EditionTemplate;
  language: Language;
  /** null for alerts */
  frequency: Frequency | null;
  articleIds: string[];
  dueAt: Date;
  moreUrl: string | null;
  createdBy: string;
  runId?: string | null;
}

export function articleSetHash(articleIds: string[], hasMore: boolean): string {
  return createHash('sha256')
    .update(`${articleIds.join(',')}${hasMore ? '+' : ''}`)
    .digest('hex')
    .slice(0, 20);
}

export function laneFor(kind: EditionKind): Lane {
  return kind === 'digest' ? 'send' : 'alerts';
}

/** Inserts the edition if its key is new, then locks it. Waits for a concurrent creator to commit. */
export async function lockEdition(q: Queryable, spec: EditionSpec, now: Date): Promise<LockedEdition> {
  const ins = await q.query<{ id: string }>(
    `INSERT INTO editions (kind, template, language, frequency, article_ids, edition_key, state, due_at,
                           more_url, created_by, run_id, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'planned', $7, $8, $9, $10, $11, $11)
     ON CONFLICT (edition_key) DO NOTHING RETURNING id`,
    [
      spec.kind,
      spec.template,
      spec.language,
      spec.frequency,
      spec.articleIds,
      spec.key,
      spec.dueAt,
      spec.moreUrl,
      spec.createdBy,
      spec.runId ?? null,
      now,
    ],
  );
  const { rows } = await q.query<{ id: string; kind: EditionKind; state: EditionState; batch_count: number }>(
    'SELECT id, kind, state, batch_count FROM editions WHERE edition_key = $1 FOR UPDATE',
    [spec.key],
  );
  const row = rows[0]!;
  return {
    id: row.id,
    kind: row.kind,
    state: row.state,
    batchCount: row.batch_count,
    created: ins.rows.length > 0,
  };
}

interface ArticleRow {
  id: string;
  title: string;
  summary: string;
  url: string;
  image_url: string | null;
  image_alt: string | null;
  author: string | null;
  topics: string[];
  published_at: Date;
  breaking: boolean;
}

/** Published articles by id, in the order given; anything no longer published is left out. */
export async function loadRenderArticles(q: Queryable, ids: string[]): Promise<RenderArticle[]> {
  if (ids.length === 0) return [];
  const { rows } = await q.query<ArticleRow>(
    `SELECT id, title, summary, url, image_url, image_alt, author, topics, breaking,
            coalesce(published_at, first_published_at, created_at) AS published_at
     FROM articles WHERE id = ANY($1::uuid[]) AND status = 'published'`,
    [ids],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.flatMap((id) => {
    const r = byId.get(id);
    if (!r) return [];
    return [
      {
        id: r.id,
        title: r.title,
        summary: r.summary,
        url: r.url,
        imageUrl: r.image_url,
        imageAlt: r.image_alt,
        author: r.author,
        topics: r.topics,
        publishedAt: r.published_at,
        breaking: r.breaking,
      },
    ];
  });
}

export type RenderOutcome = { ok: true; articleIds: string[] } | { ok: false; reason: string };

/**
 * Renders the edition from its stored inputs (MJML once) and stores subject, html, text, greeting
 * and the article ids that made it into the mail. The archive link is the same for every reader,
 * so it is filled in here; only per-reader tokens remain. An edition with nothing renderable left
 * is cancelled with its pending rows.
 */
export async function renderStoredEdition(
  q: Queryable,
  deps: Pick<DigestDeps, 'render' | 'publication' | 'config' | 'clock' | 'mostRead'>,
  editionId: string,
): Promise<RenderOutcome> {
  const { rows } = await q.query<{
    template: EditionTemplate;
    language: Language;
    frequency: Frequency | null;
    article_ids: string[];
    due_at: Date;
    more_url: string | null;
  }>('SELECT template, language, frequency, article_ids, due_at, more_url FROM editions WHERE id = $1', [
    editionId,
  ]);
  const e = rows[0];
  if (!e) return { ok: false, reason: 'missing' };
  const articles = await loadRenderArticles(q, e.article_ids);
  const now = deps.clock.now();
  if (articles.length === 0 || (e.template === 'alert' && articles.length !== 1)) {
    await cancelEdition(q, editionId, now);
    return { ok: false, reason: 'no published article left' };
  }
  const withMostRead = e.template === 'digest' && (e.frequency === 'daily' || e.frequency === 'weekly');
  const mostRead =
    withMostRead && deps.mostRead
      ? await loadRenderArticles(
          q,
          await deps.mostRead(q, { language: e.language, exclude: e.article_ids, at: e.due_at }),
        )
      : [];
  let rendered: Awaited<ReturnType<DigestDeps['render']>>;
  try {
    rendered = await deps.render({
      template: e.template,
      language: e.language,
      articles,
      publication: deps.publication,
      editionId,
      date: e.due_at,
      frequency: e.frequency ?? 'immediate',
      moreUrl: e.more_url ?? undefined,
      mostRead,
    });
  } catch (err) {
    if (!(err instanceof RenderError)) throw err;
    await cancelEdition(q, editionId, now);
    return { ok: false, reason: err.message };
  }
  const archive = archiveUrl(deps.config.PUBLIC_URL, editionId);
  await q.query(
    `UPDATE editions SET subject = $2, html = $3, text_body = $4, greeting = $5, article_ids = $6, links = $8,
            -- strictly increasing: the sender caches prepared messages by rendered_at
            rendered_at = CASE WHEN rendered_at >= $7 THEN rendered_at + interval '1 millisecond' ELSE $7 END,
            updated_at = $7
     WHERE id = $1`,
    [
      editionId,
      rendered.subject,
      rendered.html.replaceAll('{{archive_url}}', archive),
      rendered.text.replaceAll('{{archive_url}}', archive),
      JSON.stringify(rendered.greeting),
      rendered.included,
      now,
      JSON.stringify(rendered.links),
    ],
  );
  return { ok: true, articleIds: rendered.included };
}

export async function cancelEdition(q: Queryable, editionId: string, now: Date): Promise<void> {
  await q.query(
    `UPDATE editions SET state = 'cancelled', updated_at = $2
     WHERE id = $1 AND state IN ('planned', 'sending', 'paused')`,
    [editionId, now],
  );
  await cancelPendingRows(q, [editionId], now);
}

export interface Persisted {
  rows: number;
  batches: number[];
}

/**
 * Adds one ledger row per reader (still confirmed) in persisted batches continuing the edition's
 * numbering (insertEditionRows in the deliveries store). The caller holds the edition lock. The
 * first persisted batch moves the edition to 'sending'; a paused edition stays paused (rows wait).
 */
export async function addRecipients(
  q: Queryable,
  edition: LockedEdition,
  subscriberIds: string[],
  batchSize: number,
  now: Date,
): Promise<Persisted> {
  const r = await insertEditionRows(q, {
    editionId: edition.id,
    kind: edition.kind,
    firstBatch: edition.batchCount,
    batchSize,
    subscriberIds,
    at: now,
  });
  if (r.lastBatch === null) return { rows: 0, batches: [] };
  const batchCount = Math.max(edition.batchCount, r.lastBatch + 1);
  await q.query(
    `UPDATE editions SET batch_count = $2, updated_at = $3,
       state = CASE WHEN state IN ('planned', 'sent') THEN 'sending' ELSE state END
     WHERE id = $1`,
    [edition.id, batchCount, now],
  );
  edition.batchCount = batchCount;
  if (edition.state === 'planned' || edition.state === 'sent') edition.state = 'sending';
  return { rows: r.rows, batches: r.batches };
}

/** Editions that accept readers: not cancelled, not expired. */
export function acceptsReaders(state: EditionState): boolean {
  return state !== 'cancelled' && state !== 'expired';
}

type EditionDeps = Pick<DigestDeps, 'render' | 'publication' | 'config' | 'clock' | 'mostRead'>;

export type OpenedEdition =
  | { ok: true; edition: LockedEdition }
  | { ok: false; edition: LockedEdition; reason: string };

/**
 * Locks the edition (creating it when its key is new) and renders it once, in the transaction
 * that created it. An edition that cannot be rendered has been cancelled by renderStoredEdition.
 */
export async function openEdition(
  q: Queryable,
  deps: EditionDeps,
  spec: EditionSpec,
  now: Date,
): Promise<OpenedEdition> {
  const edition = await lockEdition(q, spec, now);
  if (edition.created) {
    const outcome = await renderStoredEdition(q, deps, edition.id);
    if (!outcome.ok) return { ok: false, edition, reason: outcome.reason };
  }
  return { ok: true, edition };
}

export type FillOutcome =
  | { status: 'filled'; edition: LockedEdition; persisted: Persisted }
  | { status: 'not-rendered'; edition: LockedEdition; reason: string }
  /** cancelled or expired, or `pick` had nobody to add */
  | { status: 'closed'; edition: LockedEdition };

/**
 * The one way readers join an edition (planner, operator runs, alerts): lock → render once →
 * accept readers → add recipients in persisted batches. `pick` runs under the edition lock, so
 * what it reads on the edition (a fan-out cursor) cannot move meanwhile; null means nothing to add.
 */
export async function fillEdition(
  q: Queryable,
  deps: EditionDeps,
  spec: EditionSpec,
  now: Date,
  pick: (edition: LockedEdition) => string[] | null | Promise<string[] | null>,
): Promise<FillOutcome> {
  const opened = await openEdition(q, deps, spec, now);
  const { edition } = opened;
  if (!opened.ok) return { status: 'not-rendered', edition, reason: opened.reason };
  if (!acceptsReaders(edition.state)) return { status: 'closed', edition };
  const readers = await pick(edition);
  if (readers === null) return { status: 'closed', edition };
  const persisted = await addRecipients(q, edition, readers, deps.config.DELIVERY_BATCH_SIZE, now);
  return { status: 'filled', edition, persisted };
}
