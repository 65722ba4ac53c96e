/**
 * Breaking alerts: one alert edition per article (key alert-<article id>), fanned out to every
 * confirmed reader of its language with alerts on, whatever their topics or frequency. The
 * fan-out walks readers by id with a cursor stored on the edition in the same transaction as
 * each chunk's rows, so a retried or restarted job resumes where the last commit left off.
 */
import { withTransaction } from '../db/pool.js';
import type { Language } from '../publication.js';
import { RECEIVED_STATES } from './audience.js';
import { advanceFanout } from './edition-state-store.js';
import { fillEdition } from './edition-store.js';
import type { DigestDeps } from './types.js';

export interface FanoutResult {
  editionId: string | null;
  rows: number;
  batches: number;
  done: boolean;
}

export function createAlertFanout(deps: DigestDeps) {
  const { db, clock, log, config, enqueuer } = deps;

  async function fanout(articleId: string): Promise<FanoutResult> {
    const { rows: found } = await db.query<{ language: Language; breaking: boolean }>(
      `SELECT language, breaking FROM articles WHERE id = $1 AND status = 'published'`,
      [articleId],
    );
    const article = found[0];
    const result: FanoutResult = { editionId: null, rows: 0, batches: 0, done: true };
    if (!article?.breaking) return result;

    for (;;) {
      const now = clock.now();
      let batches: number[] = [];
      let editionId = '';
      const more = await withTransaction(db, async (client) => {
        let readers: { id: string; received: boolean }[] = [];
        let cursor: string | null = null;
        const limit = config.PLANNER_CHUNK_SIZE;
        const filled = await fillEdition(
          client,
          deps,
          {
            kind: 'alert',
            key: `alert-${articleId}`,
            template: 'alert',
            language: article.language,
            frequency: null,
            articleIds: [articleId],
            dueAt: now,
            moreUrl: null,
            createdBy: 'alerts',
          },
          now,
          async (edition) => {
            const { rows: state } = await client.query<{
              fanout_cursor: string | null;
              fanout_done_at: Date | null;
            }>('SELECT fanout_cursor, fanout_done_at FROM editions WHERE id = $1', [edition.id]);
            if (state[0]!.fanout_done_at) return null;
            cursor = state[0]!.fanout_cursor;
            // readers of the language with alerts on, past the cursor; the id column is the keyset
            ({ rows: readers } = await client.query<{ id: string; received: boolean }>(
              `WITH rel AS MATERIALIZED (
                 SELECT id FROM editions
                 WHERE kind IN ('digest', 'alert') AND id <> $4 AND article_ids @> ARRAY[$3::uuid])
               SELECT s.id, EXISTS (
                        SELECT 1 FROM deliveries d
                        WHERE d.edition_id IN (SELECT id FROM rel) AND d.subscriber_id = s.id
                          AND d.state = ANY($5::text[])) AS received
               FROM subscribers s
               WHERE s.status = 'confirmed' AND s.alerts AND s.language = $1 AND ($2::uuid IS NULL OR s.id > $2)
               ORDER BY s.id LIMIT $6`,
              [article.language, cursor, articleId, edition.id, RECEIVED_STATES, limit],
            ));
            return readers.filter((r) => !r.received).map((r) => r.id);
          },
        );
        editionId = filled.edition.id;
        if (filled.status === 'not-rendered') {
          log.warn({ articleId, editionId, reason: filled.reason }, 'alert not rendered; cancelled');
          return false;
        }
        if (filled.status !== 'filled') return false;
        const { persisted } = filled;
        batches = persisted.batches;
        result.rows += persisted.rows;
        result.batches += persisted.batches.length;
        const last = readers.at(-1)?.id ?? cursor;
        const done = readers.length < limit;
        await advanceFanout(client, filled.edition.id, last, done, now);
        return !done;
      });
      result.editionId = editionId || result.editionId;
      if (batches.length > 0) await enqueuer.sendBatches('alerts', editionId, batches);
      if (!more) break;
    }
    log.info({ articleId, editionId: result.editionId, rows: result.rows }, 'breaking alert fanned out');
    return result;
  }

  return { fanout };
}
