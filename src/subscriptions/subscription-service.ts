/**
 * The subscription service: one object for the routes, put together from its parts by concern —
 * the subscribe request (subscribe-flow.ts), confirmation (confirmation.ts), the reader's own links
 * (reader-choices.ts) and the operator's list and block (subscriber-directory.ts).
 */
import { createConfirmation } from './confirmation.js';
import { createReaderChoices } from './reader-choices.js';
import { createSubscribeFlow } from './subscribe-flow.js';
import { createSubscriberDirectory } from './subscriber-directory.js';
import type { SubscriptionDeps } from './subscription-types.js';

export type { ConfirmOutcome, TokenCheck } from './confirmation.js';
export {
  confirmationDedupeKey,
  type RequestMeta,
  type SubscriptionDeps,
} from './subscription-types.js';

export function createSubscriptionService(deps: SubscriptionDeps) {
  const subscribe = createSubscribeFlow(deps);
  return {
    /**
     * A subscription request from a form, an embed or the API. The caller answers the same way
     * whatever happened here, so nothing about the address leaks.
     */
    subscribe,
    ...createConfirmation(deps, subscribe),
    ...createReaderChoices(deps),
    ...createSubscriberDirectory(deps),
  };
}

export type SubscriptionService = ReturnType<typeof createSubscriptionService>;
