import type { BouncePolicy } from '../bounces/policy.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import type { Logger } from '../logger.js';
import type { Mailer } from '../mail/transport.js';
import type { Metrics } from '../metrics.js';
import type { EditionMessages } from './edition-messages.js';
import type { HandoffLog } from './handoff-log.js';
import type { ShapingDeps } from './provider-share.js';
import type { PauseReason } from './sending-pause.js';
import type { TokenBucket } from './token-bucket.js';

/** What one attempt did, row by row (the batch sender adds the stale-claim counts). */
export interface BatchCounts {
  sent: number;
  failed: number;
  retry: number;
  ambiguous: number;
  suppressed: number;
  /** rows a receiving provider deferred as too fast (421, 4.7.x, TS0x): pending, no attempt spent */
  throttled: number;
  /** rows of an older, expired claim found still `sending` and marked ambiguous */
  staleAmbiguous: number;
  /** rows of an older, expired claim its hand-off log shows were never handed to SMTP: pending again */
  staleReleased: number;
}

export function emptyCounts(): BatchCounts {
  return {
    sent: 0,
    failed: 0,
    retry: 0,
    ambiguous: 0,
    suppressed: 0,
    throttled: 0,
    staleAmbiguous: 0,
    staleReleased: 0,
  };
}

/** Why an attempt stopped taking rows before the batch ran out. */
export interface AttemptStop {
  why: 'pause' | 'retry';
  error: string;
}

export interface AttemptEnd {
  stop: AttemptStop | undefined;
  /** the last retryable error seen, for the job's retry message */
  lastRetryError: string;
  /** the worker is shutting down and rows of the batch are left for another attempt */
  interrupted: boolean;
  /** rows are left that wait on throttled or limited providers: run the job again after waitMs */
  waiting: { providers: string[]; waitMs: number } | undefined;
}

export interface SendAttemptDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  mailer: Pick<Mailer, 'sendRaw' | 'probe'>;
  bucket: TokenBucket;
  handoffs: HandoffLog;
  messages: EditionMessages;
  pause: { pause(reason: PauseReason): Promise<boolean> };
  /** a refusal of a reader at SMTP time is a bounce like any other (bounces/policy.ts) */
  bounces: Pick<BouncePolicy, 'record'>;
  /** the VERP envelope sender of a row (bounces/verp.ts), or undefined: the edition's From address */
  returnPath: (deliveryId: number) => string | undefined;
  config: Pick<Config, 'SEND_CONCURRENCY' | 'SEND_CLAIM_SIZE' | 'JOB_LOCK_DURATION_MS'>;
  /** outcomes buffered before one UPDATE writes them */
  flushEvery: number;
  alertsPending?: () => Promise<boolean>;
  /** traffic shaping per receiving provider (provider-share.ts); absent = the global bucket only */
  shaping?: ShapingDeps;
}
