import type { Clock } from '../clock.js';
import type { Db } from '../db/pool.js';
import type { Logger } from '../logger.js';
import type { NewsletterKind } from '../mail/newsletter-headers.js';
import type { Metrics } from '../metrics.js';
import { settleStaleClaim, staleClaimTokens } from './delivery-batch-store.js';
import type { HandoffLog } from './handoff-log.js';

export interface StaleClaimsDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  handoffs: HandoffLog;
  /** a claim nobody renewed for this long belongs to a crashed or stalled attempt */
  lockMs: number;
}

export interface StaleClaimCounts {
  /** rows the dead attempt's hand-off log shows were never handed to SMTP (above W or parked): pending again */
  released: number;
  /** rows that may have reached the server: ambiguous, never resent blindly */
  ambiguous: number;
}

/**
 * Settles the rows an earlier attempt left `sending` (it crashed, or stalled past its claim): its
 * hand-off log (handoff-log.ts) says which it never gave to SMTP; those are pending again, the
 * rest ambiguous. Taking the log fences a merely stalled attempt: it cannot hand off another row.
 */
export async function recoverStaleClaims(
  deps: StaleClaimsDeps,
  edition: { id: string; kind: NewsletterKind },
  batch: number,
  ctx: Record<string, unknown>,
): Promise<StaleClaimCounts> {
  const { db, clock, log, metrics, handoffs, lockMs } = deps;
  const out: StaleClaimCounts = { released: 0, ambiguous: 0 };
  for (const staleToken of await staleClaimTokens(db, edition.id, batch, lockMs)) {
    const record = await handoffs.take(staleToken);
    const upTo = record.trusted ? record.upTo : null;
    const parked = record.trusted ? record.parked : [];
    const stale = await settleStaleClaim(
      db,
      edition.id,
      batch,
      lockMs,
      staleToken,
      upTo,
      clock.now(),
      parked,
    );
    out.released += stale.released.length;
    if (stale.released.length > 0)
      log.info(
        { ...ctx, claim: staleToken, rows: stale.released },
        `${stale.released.length} row(s) of an expired claim were never handed to SMTP: pending again`,
      );
    if (stale.ambiguous.length > 0) {
      out.ambiguous += stale.ambiguous.length;
      metrics.mailsFailed.inc({ kind: edition.kind, outcome: 'ambiguous' }, stale.ambiguous.length);
      log.warn(
        {
          ...ctx,
          claim: staleToken,
          rows: stale.ambiguous,
          handoffLog: record.trusted ? 'trusted' : record.why,
          alert: 'delivery_ambiguous',
        },
        `${stale.ambiguous.length} row(s) found still sending after their claim expired${record.trusted ? ', handed to SMTP before the attempt stopped' : ''}: marked ambiguous, not resent`,
      );
    }
  }
  return out;
}
