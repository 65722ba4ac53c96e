/**
 * Re-permission (list hygiene from engagement, issue 20; see CONTEXT.md): with click tracking on,
 * a reader with no human click for engagement.repermissionAfterDays is asked once, by a
 * transactional mail with a "yes, keep sending" link, whether to keep sending. A round left
 * unanswered engagement.repermissionGraceDays after its mail was sent pauses the reader: status
 * 'paused', which every audience leaves out (they select 'confirmed'), nothing deleted. The keep
 * link, the preference centre or an operator resumes them.
 */
import type { Clock } from '../clock.js';
import { type Db, withTransaction } from '../db/pool.js';
import { createDelivery } from '../delivery/delivery-store.js';
import type { Logger } from '../logger.js';
import type { Publication } from '../publication.js';
import { markPaused, markUnpaused } from '../subscriptions/subscriber-state-store.js';
import { appendConsent, findById, type SubscriberRow } from '../subscriptions/subscriber-store.js';
import type { RequestMeta } from '../subscriptions/subscription-types.js';
import {
  answerByClicks,
  candidates,
  closeUnanswered,
  firstClickAt,
  openRounds,
  type RepermissionCounts,
  recordAnswer,
  repermissionCounts,
  setDelivery,
} from './repermission-store.js';

const DAY_MS = 24 * 3600 * 1000;
const CHUNK = 500;

export interface RepermissionDeps {
  db: Db;
  clock: Clock;
  publication: Publication;
  log: Logger;
  /** hands a stored ledger row to the transactional queue (the sweep catches a failed enqueue) */
  enqueueDelivery(deliveryId: number): Promise<void>;
}

export interface RepermissionRun {
  /** false: click tracking is off, nobody is judged by clicks */
  tracking: boolean;
  answeredByClick: number;
  asked: number;
  paused: number;
}

export function createRepermission(deps: RepermissionDeps) {
  const { db, clock, publication, log, enqueueDelivery } = deps;
  const { clickTracking, repermissionAfterDays, repermissionGraceDays } = publication.engagement;

  async function pauseUnanswered(now: Date): Promise<number> {
    const cutoff = new Date(now.getTime() - repermissionGraceDays * DAY_MS);
    return withTransaction(db, async (tx) => {
      const closed = await closeUnanswered(tx, cutoff, now);
      return (await markPaused(tx, closed, now)).length;
    });
  }

  async function ask(now: Date): Promise<number> {
    const cutoff = new Date(now.getTime() - repermissionAfterDays * DAY_MS);
    // tracking newly turned on: no reader has had the whole period to click yet
    const since = await firstClickAt(db);
    if (!since || since > cutoff) return 0;
    let asked = 0;
    for (let after: string | null = null; ; ) {
      const chunk = await candidates(db, cutoff, after, CHUNK);
      if (chunk.length === 0) break;
      after = chunk[chunk.length - 1]!.id;
      const emails = new Map(chunk.map((c) => [c.id, c.email]));
      const deliveryIds = await withTransaction(db, async (tx) => {
        const opened = await openRounds(tx, [...emails.keys()], now, cutoff);
        const ids: number[] = [];
        for (const id of opened) {
          const d = await createDelivery(tx, {
            kind: 'repermission',
            // one mail per round: a round starts at most once per period
            dedupeKey: `repermission-${id}-${now.getTime()}`,
            subscriberId: id,
            recipient: emails.get(id)!,
            at: now,
          });
          await setDelivery(tx, id, d.id);
          ids.push(d.id);
        }
        return ids;
      });
      for (const id of deliveryIds) await enqueueDelivery(id);
      asked += deliveryIds.length;
      if (chunk.length < CHUNK) break;
    }
    return asked;
  }

  return {
    /** The periodic job: answers seen as clicks, pauses after the grace, then new questions. */
    async run(): Promise<RepermissionRun> {
      if (!clickTracking) return { tracking: false, answeredByClick: 0, asked: 0, paused: 0 };
      const now = clock.now();
      const answeredByClick = await answerByClicks(db);
      const paused = await pauseUnanswered(now);
      const asked = await ask(now);
      const result = { tracking: true, answeredByClick, asked, paused };
      if (answeredByClick + paused + asked > 0) log.info(result, 're-permission run');
      return result;
    },

    /**
     * "Yes, keep sending" (the reader's keep link or preference centre) or an operator's resume:
     * the round is answered and a paused reader is confirmed again, with a `resumed` consent event
     * (who, from where). Returns whether they were paused.
     */
    async keep(subscriberId: string, by: 'reader' | 'operator', meta: RequestMeta): Promise<boolean> {
      const now = clock.now();
      return withTransaction(db, async (tx) => {
        await recordAnswer(tx, subscriberId, by, now);
        if (!(await markUnpaused(tx, subscriberId, now))) return false;
        const sub = (await findById(tx, subscriberId))!;
        await appendConsent(tx, {
          subscriberId,
          email: sub.email,
          event: 'resumed',
          source: meta.source,
          consentVersion: publication.consent.version,
          consentText: publication.consent.text[sub.language],
          ip: meta.ip,
          userAgent: meta.userAgent,
          details: { by, previousStatus: 'paused' },
          at: now,
        });
        return true;
      });
    },

    /** The reader a keep link or an operator names, if they still exist. */
    reader(subscriberId: string): Promise<SubscriberRow | undefined> {
      return findById(db, subscriberId);
    },

    counts(): Promise<RepermissionCounts> {
      return repermissionCounts(db);
    },
  };
}

export type Repermission = ReturnType<typeof createRepermission>;
