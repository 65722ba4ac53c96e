/** The webhook endpoints an operator manages through the admin API: create, list, disable, rotate. */
import type { Clock } from '../clock.js';
import { type Db, withTransaction } from '../db/pool.js';
import { notFound, validationError } from '../errors.js';
import {
  disableEndpoint,
  type EndpointRow,
  findEndpoint,
  insertEndpoint,
  listEndpoints,
  rotateEndpointSecret,
} from './endpoint-store.js';
import { cancelEndpointDeliveries, endpointLog } from './outbox-store.js';
import type { EndpointCreate, EndpointView } from './schemas.js';
import { newWebhookSecret } from './signing.js';

/** How long a rotated-out secret still signs, beside the new one. */
const PREVIOUS_SECRET_MS = 24 * 3600 * 1000;

export function toEndpointView(r: EndpointRow): EndpointView {
  return {
    id: r.id,
    url: r.url,
    description: r.description,
    events: r.events,
    enabled: r.enabled,
    disabledReason: r.disabled_reason,
    disabledAt: r.disabled_at?.toISOString() ?? null,
    createdAt: r.created_at.toISOString(),
  };
}

function checkUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw validationError('url', 'is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw validationError('url', 'must be http or https');
  if (url.username || url.password) throw validationError('url', 'must not carry credentials');
  return url.href;
}

export function createWebhookEndpoints(deps: { db: Db; clock: Clock }) {
  const { db, clock } = deps;
  return {
    async create(body: EndpointCreate): Promise<EndpointView & { secret: string }> {
      const row = await insertEndpoint(db, {
        url: checkUrl(body.url),
        description: body.description ?? '',
        events: body.events,
        secret: newWebhookSecret(),
        at: clock.now(),
      });
      return { ...toEndpointView(row), secret: row.secret };
    },

    async list(): Promise<EndpointView[]> {
      return (await listEndpoints(db)).map(toEndpointView);
    },

    /** Disabled: nothing more is sent, and what was still owed to it is cancelled. */
    async disable(id: string, reason: string): Promise<EndpointView> {
      const now = clock.now();
      return withTransaction(db, async (tx) => {
        if (!(await findEndpoint(tx, id, true))) throw notFound('webhook endpoint');
        if (await disableEndpoint(tx, id, reason, now)) await cancelEndpointDeliveries(tx, id, now);
        return toEndpointView((await findEndpoint(tx, id))!);
      });
    },

    async rotateSecret(id: string): Promise<EndpointView & { secret: string }> {
      const now = clock.now();
      const row = await rotateEndpointSecret(
        db,
        id,
        newWebhookSecret(),
        new Date(now.getTime() + PREVIOUS_SECRET_MS),
        now,
      );
      if (!row) throw notFound('webhook endpoint');
      return { ...toEndpointView(row), secret: row.secret };
    },

    async log(id: string) {
      if (!(await findEndpoint(db, id))) throw notFound('webhook endpoint');
      return { items: await endpointLog(db, id, 200) };
    },
  };
}

export type WebhookEndpoints = ReturnType<typeof createWebhookEndpoints>;
