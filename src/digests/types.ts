import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db, Queryable } from '../db/pool.js';
import type { Logger } from '../logger.js';
import type { Language, Publication } from '../publication.js';
import type { RenderEditionInput, RenderedEdition } from '../render/index.js';

export type EditionKind = 'digest' | 'alert' | 'test';
export type EditionState = 'planned' | 'sending' | 'paused' | 'cancelled' | 'sent' | 'expired';

/** An edition row held under its row lock by the caller's transaction. */
export interface LockedEdition {
  id: string;
  kind: EditionKind;
  state: EditionState;
  batchCount: number;
  created: boolean;
}

/** Which queue a batch goes to: alerts (and operator test copies) ahead of digest traffic. */
export type Lane = 'send' | 'alerts';

/**
 * What the digest domain asks of the job system. Implemented over BullMQ in
 * src/queues/digest-enqueuer.ts; the domain never imports BullMQ.
 */
export interface Enqueuer {
  /**
   * One job per persisted batch. `retry` makes fresh job ids, for re-enqueueing batches whose
   * first job already completed (resume after pause, maintenance re-kick).
   */
  sendBatches(lane: Lane, editionId: string, batches: number[], retry?: string): Promise<void>;
  /**
   * Enqueues again the batches (with rows still pending) that have no live job: one lost between
   * the planner's commit and its enqueue (a crash), or one that ended failed (it stalled too often,
   * or ran out of attempts). A batch whose job is waiting, delayed or active is left alone.
   * Returns the batches enqueued.
   */
  repairBatches(lane: Lane, editionId: string, batches: number[]): Promise<number[]>;
  /** Runs the planner at (about) this instant: closes immediate windows without waiting a tick. */
  planAt(at: Date): Promise<void>;
  fanoutAlert(articleId: string): Promise<void>;
  /** Continues the fan-out of the operator run that `editionId` belongs to. */
  buildRun(editionId: string): Promise<void>;
}

export type DigestConfig = Pick<
  Config,
  | 'PUBLIC_URL'
  | 'IMMEDIATE_WINDOW_SECONDS'
  | 'PLANNER_INTERVAL_SECONDS'
  | 'DIGEST_MAX_AGE_SECONDS'
  | 'DELIVERY_BATCH_SIZE'
  | 'PLANNER_CHUNK_SIZE'
  | 'DIGEST_ARRIVAL_GRACE_SECONDS'
  | 'DELIVERY_RETENTION_DAYS'
  | 'JOB_LOCK_DURATION_MS'
>;

export interface DigestDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  publication: Publication;
  config: DigestConfig;
  enqueuer: Enqueuer;
  /** renderEdition from src/render; injectable so the benchmark can count or stub compiles */
  render: (input: RenderEditionInput) => Promise<RenderedEdition>;
  /**
   * Daily and weekly digests' "most read" article ids, most read first (src/clicks/most-read.ts);
   * absent: no such section.
   */
  mostRead?: (
    q: Queryable,
    edition: { language: Language; exclude: string[]; at: Date },
  ) => Promise<string[]>;
  /** counts slots skipped because they were too old to send (metrics) */
  onExpired?: (count: number) => void;
}
