import type { Queryable } from '../db/pool.js';

/** Stored CMS and feed events for the operator (GET /api/v1/article-events), newest first. */

export const EVENT_LIST_STATES = ['pending', 'held', 'applied', 'failed'] as const;
export type EventListState = (typeof EVENT_LIST_STATES)[number];

interface EventRow {
  id: string;
  provider: string;
  event_key: string;
  action: string;
  external_id: string;
  article_id: string | null;
  received_at: Date;
  processed_at: Date | null;
  failed_at: Date | null;
  last_attempt_at: Date | null;
  attempts: number;
  error: string | null;
  held_reason: string | null;
}

export async function listEvents(
  db: Queryable,
  opts: { state?: EventListState; limit: number; before?: number },
) {
  const { state, limit, before } = opts;
  const where: string[] = [];
  const params: unknown[] = [];
  if (before !== undefined) where.push(`id < $${params.push(before)}`);
  if (state === 'failed') where.push('failed_at IS NOT NULL');
  if (state === 'held') where.push('held_reason IS NOT NULL');
  if (state === 'applied')
    where.push('processed_at IS NOT NULL AND failed_at IS NULL AND held_reason IS NULL');
  if (state === 'pending') where.push('processed_at IS NULL AND held_reason IS NULL');
  const { rows } = await db.query<EventRow>(
    `SELECT id, provider, event_key, action, external_id, article_id, received_at, processed_at,
            failed_at, last_attempt_at, attempts, error, held_reason
       FROM article_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY id DESC LIMIT $${params.push(limit + 1)}`,
    params,
  );
  const page = rows.slice(0, limit);
  return {
    items: page.map((r) => ({
      id: Number(r.id),
      provider: r.provider,
      eventKey: r.event_key,
      action: r.action,
      externalId: r.external_id,
      state: r.failed_at ? 'failed' : r.held_reason ? 'held' : r.processed_at ? 'applied' : 'pending',
      heldReason: r.held_reason,
      articleId: r.article_id,
      attempts: r.attempts,
      error: r.error,
      receivedAt: r.received_at.toISOString(),
      processedAt: r.processed_at?.toISOString() ?? null,
      failedAt: r.failed_at?.toISOString() ?? null,
      lastAttemptAt: r.last_attempt_at?.toISOString() ?? null,
    })),
    nextBefore: rows.length > limit ? Number(page[page.length - 1]!.id) : null,
  };
}
