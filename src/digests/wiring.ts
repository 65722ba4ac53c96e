import client from 'prom-client';
import type { Container } from '../container.js';
import { createDigestEnqueuer } from '../queues/digest-enqueuer.js';
import { renderEdition } from '../render/index.js';
import { createDigests, type Digests } from './index.js';

const built = new WeakMap<Container, Digests>();

/** The digest domain for a container, built once (the API and the workers share it in one process). */
export function digestsFor(container: Container): Digests {
  let digests = built.get(container);
  if (!digests) {
    const expired = new client.Counter({
      name: 'gazette_digest_slots_expired_total',
      help: 'Reader digest slots skipped because they could not start within DIGEST_MAX_AGE_SECONDS',
      registers: [container.metrics.registry],
    });
    digests = createDigests({
      db: container.db,
      clock: container.clock,
      log: container.log.child({ component: 'digests' }),
      publication: container.publication,
      config: container.config,
      enqueuer: createDigestEnqueuer(container.queues, () => container.clock.now()),
      render: renderEdition,
      onExpired: (n) => expired.inc(n),
    });
    built.set(container, digests);
  }
  return digests;
}
