/**
 * Operator controls over an edition: pause, resume (expired instead when too old to send by
 * now), cancel, and a resend of the rows that failed as a new edition. Each answers with the
 * edition's view.
 */
import { randomUUID } from 'node:crypto';
import { withTransaction } from '../db/pool.js';
import { failedReaders } from '../delivery/delivery-store.js';
import { conflict, notFound } from '../errors.js';
import { archiveUrl } from '../render/reader-links.js';
import { copyForResend, expireEdition, pauseEdition, resumeEdition } from './edition-state-store.js';
import { addRecipients, cancelEdition, laneFor } from './edition-store.js';
import type { EditionView, EditionViews } from './edition-views.js';
import type { DigestDeps, EditionKind, EditionState } from './types.js';

export function createEditionControls(deps: DigestDeps, views: Pick<EditionViews, 'get'>) {
  const { db, clock, log, config, enqueuer } = deps;
  const { get } = views;

  async function pause(editionId: string): Promise<EditionView> {
    const now = clock.now();
    if (!(await pauseEdition(db, editionId, now))) await refuse(editionId, 'paused', ['paused']);
    return get(editionId);
  }

  /**
   * Back to sending, with fresh jobs for every batch that still has pending rows (the first jobs
   * completed while paused). Too old to send by now: expired instead, not sent late.
   */
  async function resume(editionId: string): Promise<EditionView> {
    const now = clock.now();
    const outcome = await withTransaction(db, async (client) => {
      const { rows } = await client.query<{
        state: EditionState;
        kind: EditionKind;
        due_at: Date;
        batch_count: number;
        run_id: string | null;
        fanout_done_at: Date | null;
        article_ids: string[];
      }>(
        'SELECT state, kind, due_at, batch_count, run_id, fanout_done_at, article_ids FROM editions WHERE id = $1 FOR UPDATE',
        [editionId],
      );
      const e = rows[0];
      if (!e) throw notFound('edition');
      if (e.state !== 'paused') return { refused: e.state };
      if (now.getTime() - e.due_at.getTime() > config.DIGEST_MAX_AGE_SECONDS * 1000) {
        await expireEdition(client, editionId, now);
        log.warn({ editionId }, 'paused edition resumed too late: expired');
        return { batches: [] as number[], e };
      }
      await resumeEdition(client, editionId, now);
      const { rows: pending } = await client.query<{ batch_no: number }>(
        `SELECT DISTINCT batch_no FROM deliveries WHERE edition_id = $1 AND state = 'pending' ORDER BY batch_no`,
        [editionId],
      );
      return { batches: pending.map((r) => r.batch_no), e };
    });
    if ('refused' in outcome) {
      throw conflict(`edition is ${outcome.refused}; only a paused edition can be resumed`);
    }
    const { e, batches } = outcome;
    if (batches.length)
      await enqueuer.sendBatches(laneFor(e.kind), editionId, batches, `resume${now.getTime()}`);
    if (e.run_id) await enqueuer.buildRun(editionId);
    if (e.kind === 'alert' && !e.fanout_done_at && e.article_ids[0])
      await enqueuer.fanoutAlert(e.article_ids[0]);
    return get(editionId);
  }

  async function cancel(editionId: string): Promise<EditionView> {
    const now = clock.now();
    const done = await withTransaction(db, async (client) => {
      const { rows } = await client.query<{ state: EditionState }>(
        'SELECT state FROM editions WHERE id = $1 FOR UPDATE',
        [editionId],
      );
      if (!rows[0]) throw notFound('edition');
      if (rows[0].state === 'cancelled') return true;
      if (!['planned', 'sending', 'paused'].includes(rows[0].state)) return false;
      await cancelEdition(client, editionId, now);
      return true;
    });
    if (!done) await refuse(editionId, 'cancelled', []);
    log.info({ editionId }, 'edition cancelled');
    return get(editionId);
  }

  async function refuse(editionId: string, action: string, idempotentIn: EditionState[]): Promise<void> {
    const { rows } = await db.query<{ state: EditionState }>('SELECT state FROM editions WHERE id = $1', [
      editionId,
    ]);
    if (!rows[0]) throw notFound('edition');
    if (idempotentIn.includes(rows[0].state)) return;
    throw conflict(`edition is ${rows[0].state}; it cannot be ${action}`);
  }

  /**
   * A copy of the edition (same rendered content and articles) for the readers whose row failed
   * and who have no later row that did not fail; new rows with new dedupe keys. Readers whose row
   * was sent or ambiguous are never included.
   */
  async function resendFailed(
    editionId: string,
  ): Promise<{ editions: { id: string }[]; recipients: number }> {
    const now = clock.now();
    const { rows: origin } = await db.query<{ id: string; kind: EditionKind; state: EditionState }>(
      'SELECT id, kind, state FROM editions WHERE id = $1',
      [editionId],
    );
    const o = origin[0];
    if (!o) throw notFound('edition');
    if (o.kind === 'test') throw conflict('test copies are not resent');
    const copy = await withTransaction(db, async (client) => {
      const failed = await failedReaders(client, editionId);
      if (failed.length === 0) return null;
      const newId = randomUUID();
      const edition = await copyForResend(client, {
        originId: editionId,
        newId,
        originArchive: archiveUrl(config.PUBLIC_URL, editionId),
        newArchive: archiveUrl(config.PUBLIC_URL, newId),
        now,
      });
      const persisted = await addRecipients(client, edition, failed, config.DELIVERY_BATCH_SIZE, now);
      return { id: newId, rows: persisted.rows, batches: persisted.batches };
    });
    if (!copy) return { editions: [], recipients: 0 };
    await enqueuer.sendBatches(laneFor(o.kind), copy.id, copy.batches);
    log.info({ editionId, resendId: copy.id, recipients: copy.rows }, 'failed rows resent');
    return { editions: [{ id: copy.id }], recipients: copy.rows };
  }

  return { pause, resume, cancel, resendFailed };
}
