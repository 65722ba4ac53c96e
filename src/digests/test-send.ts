/**
 * Operator test copies: one address gets an edition of its own (kind `test`), rendered like a
 * real digest and sent through the alerts queue, ahead of digest traffic. Nobody counts it as
 * received.
 */
import { randomUUID } from 'node:crypto';
import { withTransaction } from '../db/pool.js';
import { insertTestRow } from '../delivery/delivery-store.js';
import { conflict } from '../errors.js';
import type { Language } from '../publication.js';
import { startTestEdition } from './edition-state-store.js';
import { loadRenderArticles, openEdition } from './edition-store.js';
import type { DigestDeps } from './types.js';

export function createTestSend(deps: DigestDeps) {
  const { db, clock, publication, enqueuer } = deps;

  async function testSend(input: { email: string; language: Language; articleIds?: string[] }) {
    const now = clock.now();
    let ids = input.articleIds ?? [];
    if (ids.length === 0) {
      const { rows } = await db.query<{ id: string }>(
        `SELECT id FROM articles
         WHERE status = 'published' AND language = $1 AND first_published_at <= $2
         ORDER BY featured DESC, priority DESC, breaking DESC, first_published_at DESC, id LIMIT $3`,
        [input.language, now, publication.digest.maxItems],
      );
      ids = rows.map((r) => r.id);
    }
    const articles = await loadRenderArticles(db, ids);
    if (articles.length === 0) throw conflict('no published article to send');
    const editionId = await withTransaction(db, async (client) => {
      const opened = await openEdition(
        client,
        deps,
        {
          kind: 'test',
          key: `test-${randomUUID()}`,
          template: 'digest',
          language: input.language,
          frequency: 'daily',
          articleIds: articles.map((a) => a.id),
          dueAt: now,
          moreUrl: null,
          createdBy: 'api-test',
        },
        now,
      );
      if (!opened.ok) throw conflict(`the test copy could not be rendered: ${opened.reason}`);
      const e = opened.edition;
      await insertTestRow(client, e.id, input.email.trim(), now);
      await startTestEdition(client, e.id, now);
      return e.id;
    });
    await enqueuer.sendBatches('alerts', editionId, [0]);
    return { id: editionId };
  }

  return testSend;
}
