/**
 * What an article's lifecycle means for mail not yet sent. Mail already sent is never recalled.
 */
import { withTransaction } from '../db/pool.js';
import { openImmediateWindows } from '../subscriptions/subscriber-store.js';
import { setArticleIds } from './edition-state-store.js';
import { cancelEdition, renderStoredEdition } from './edition-store.js';
import type { DigestDeps } from './types.js';

export interface LifecycleResult {
  windowsOpened?: number;
  alert?: boolean;
  rerendered?: string[];
  cancelled?: string[];
}

export function createLifecycle(deps: DigestDeps) {
  const { db, clock, log, config, enqueuer } = deps;

  /**
   * A newly published article opens the window of every immediate reader it concerns whose window
   * is closed: everything arriving before it closes goes out in one mail. A breaking article also
   * fans out an alert at once.
   */
  async function published(articleId: string): Promise<LifecycleResult> {
    const { rows } = await db.query<{ language: string; topics: string[]; breaking: boolean }>(
      `SELECT language, topics, breaking FROM articles WHERE id = $1 AND status = 'published'`,
      [articleId],
    );
    const a = rows[0];
    if (!a) return {};
    const now = clock.now();
    const closes = new Date(now.getTime() + config.IMMEDIATE_WINDOW_SECONDS * 1000);
    const windowsOpened = await openImmediateWindows(db, closes, a.language, a.topics);
    if (windowsOpened > 0) await enqueuer.planAt(closes);
    if (a.breaking) await enqueuer.fanoutAlert(articleId);
    log.info({ articleId, windowsOpened, breaking: a.breaking }, 'article published');
    return { windowsOpened, alert: a.breaking };
  }

  /** Editions not started yet (planned) that carry the article are rendered again. */
  async function changed(articleId: string): Promise<LifecycleResult> {
    const rerendered: string[] = [];
    const cancelled: string[] = [];
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM editions
       WHERE state = 'planned' AND kind IN ('digest', 'alert', 'test') AND article_ids @> ARRAY[$1::uuid]
       ORDER BY id`,
      [articleId],
    );
    for (const { id } of rows) {
      await withTransaction(db, async (client) => {
        const locked = await client.query(
          `SELECT 1 FROM editions WHERE id = $1 AND state = 'planned' FOR UPDATE`,
          [id],
        );
        if (locked.rows.length === 0) return;
        const outcome = await renderStoredEdition(client, deps, id);
        (outcome.ok ? rerendered : cancelled).push(id);
      });
    }
    if (rows.length > 0)
      log.info({ articleId, rerendered, cancelled }, 'article changed: editions re-rendered');
    return { rerendered, cancelled };
  }

  /**
   * Withdrawn (unpublished or deleted): out of every edition not yet sent. Digests are rendered
   * again without it (readers still pending get the new version); an edition left empty, and an
   * alert for it, is cancelled with its pending rows.
   */
  async function withdrawn(articleId: string): Promise<LifecycleResult> {
    const rerendered: string[] = [];
    const cancelled: string[] = [];
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM editions
       WHERE state IN ('planned', 'sending', 'paused') AND article_ids @> ARRAY[$1::uuid]
       ORDER BY id`,
      [articleId],
    );
    for (const { id } of rows) {
      await withTransaction(db, async (client) => {
        const { rows: locked } = await client.query<{ template: string; article_ids: string[] }>(
          `SELECT template, article_ids FROM editions
           WHERE id = $1 AND state IN ('planned', 'sending', 'paused') FOR UPDATE`,
          [id],
        );
        const e = locked[0];
        if (!e) return;
        const now = clock.now();
        const remaining = e.article_ids.filter((x) => x !== articleId);
        if (e.template === 'alert' || remaining.length === 0) {
          await cancelEdition(client, id, now);
          cancelled.push(id);
          return;
        }
        await setArticleIds(client, id, remaining);
        const outcome = await renderStoredEdition(client, deps, id);
        (outcome.ok ? rerendered : cancelled).push(id);
      });
    }
    if (rows.length > 0)
      log.info({ articleId, rerendered, cancelled }, 'article withdrawn from unsent editions');
    return { rerendered, cancelled };
  }

  return { published, changed, withdrawn };
}
