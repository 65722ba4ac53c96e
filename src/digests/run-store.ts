/**
 * The owner of digest_runs: an operator's "send now", the selection it was made with and the
 * cursor of its fan-out (the last reader id added), so a restarted fan-out resumes without
 * repeats or gaps.
 */
import type { Queryable } from '../db/pool.js';
import type { Language } from '../publication.js';
import type { Frequency } from '../subscriptions/schemas.js';

/** The reader selection a run was made with; null: any. */
export interface RunCriteria {
  topics: string[] | null;
  language: Language | null;
  frequency: Frequency | null;
}

export interface LockedRun {
  criteria: RunCriteria;
  article_ids: string[];
  cursor: string | null;
  state: string;
  created_at: Date;
}

export async function createRun(
  q: Queryable,
  r: { id: string; criteria: RunCriteria; articleIds: string[]; now: Date },
): Promise<void> {
  await q.query(
    `INSERT INTO digest_runs (id, criteria, article_ids, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`,
    [r.id, JSON.stringify(r.criteria), r.articleIds, r.now],
  );
}

/** The run row, locked for one chunk of its fan-out. */
export async function lockRun(q: Queryable, runId: string): Promise<LockedRun | undefined> {
  const { rows } = await q.query<LockedRun>(
    'SELECT criteria, article_ids, cursor, state, created_at FROM digest_runs WHERE id = $1 FOR UPDATE',
    [runId],
  );
  return rows[0];
}

/** The fan-out's cursor after a chunk, and `done` once the last chunk is in. */
export async function advanceRun(
  q: Queryable,
  runId: string,
  cursor: string | null,
  done: boolean,
  now: Date,
): Promise<void> {
  await q.query(
    `UPDATE digest_runs SET cursor = $2, state = CASE WHEN $3 THEN 'done' ELSE state END, updated_at = $4
     WHERE id = $1`,
    [runId, cursor, done, now],
  );
}

/** A run with nothing to fan out (no edition could be rendered) is done at once. */
export async function finishRun(q: Queryable, runId: string, now: Date): Promise<void> {
  await q.query(`UPDATE digest_runs SET state = 'done', updated_at = $2 WHERE id = $1`, [runId, now]);
}
