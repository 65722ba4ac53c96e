/**
 * What the parts of the subscription service share: their dependencies, the request evidence, and
 * the small helpers each of them needs (subscribe-flow.ts, confirmation.ts, reader-choices.ts,
 * subscriber-directory.ts; subscription-service.ts puts them together).
 */
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import type { Logger } from '../logger.js';
import type { Publication } from '../publication.js';
import type { Tokens } from '../security/tokens.js';
import type { SubscribeBudgets } from './budgets.js';
import type { SubscriberRow } from './subscriber-store.js';
import type { AddressHasher } from './suppression-store.js';
import type { Preferences } from './validate.js';

/** Where a request came from: kept as consent evidence. */
export interface RequestMeta {
  source: string;
  ip?: string | null;
  userAgent?: string | null;
}

export interface SubscriptionDeps {
  db: Db;
  clock: Clock;
  config: Pick<
    Config,
    'DEFAULT_LANGUAGE' | 'CONFIRM_TOKEN_TTL_SECONDS' | 'CONFIRMATION_RESEND_INTERVAL_SECONDS' | 'PUBLIC_URL'
  >;
  publication: Publication;
  tokens: Tokens;
  log: Logger;
  /** per-mailbox and per-domain budgets, shared by every path and every API process */
  budgets: Pick<SubscribeBudgets, 'takeRecipient'>;
  /** keyed hashes of erased addresses: a subscribe request for one is ignored */
  hasher: AddressHasher;
  /** hands a ledger row to the transactional queue, after the transaction that created it committed */
  enqueueDelivery(deliveryId: number): Promise<void>;
}

export function confirmationDedupeKey(subscriberId: string, nonce: string): string {
  return `confirmation-${subscriberId}-${nonce}`;
}

export const prefsOf = (r: SubscriberRow): Preferences => ({
  topics: r.topics,
  frequency: r.frequency,
  alerts: r.alerts,
  language: r.language,
  timezone: r.timezone,
  sendHour: r.send_hour,
  weeklyDay: r.weekly_day,
});

/** Hands committed ledger rows to the queue; a failure is logged and thrown (the row stays pending). */
export function deliveryEnqueuer(deps: Pick<SubscriptionDeps, 'enqueueDelivery' | 'log'>) {
  return async (ids: number[]): Promise<void> => {
    for (const id of ids) {
      try {
        await deps.enqueueDelivery(id);
      } catch (err) {
        // the row stays pending; the next request for the address enqueues it again
        deps.log.error(
          { deliveryId: id, err: (err as Error).message },
          'could not enqueue a transactional mail',
        );
        throw err;
      }
    }
  };
}
