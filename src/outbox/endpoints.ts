/**
 * The webhook endpoints an operator manages through the admin API: create, list, disable, enable,
 * rotate, delete. Those from the publication file (file-endpoints.ts) are read-only here: their
 * url, events and secret come from the file, so rotating or deleting one is refused (409); turning
 * it off and on is not configuration and is allowed.
 */
import type { Clock } from '../clock.js';
import { type Db, withTransaction } from '../db/pool.js';
import { conflict, notFound, validationError } from '../errors.js';
import {
  deleteEndpoint,
  disableEndpoint,
  type EndpointRow,
  enableEndpoint,
  findEndpoint,
  insertEndpoint,
  listEndpoints,
  rotateEndpointSecret,
} from './endpoint-store.js';
import { endpointUrlProblem } from './events.js';
import { PREVIOUS_SECRET_MS } from './file-endpoints.js';
import {
  cancelEndpointDeliveries,
  deliveryCountsByEndpoint,
  type EndpointDeliveryCounts,
  endpointLog,
  endpointLogSize,
} from './outbox-store.js';
import type { EndpointCreate, EndpointView } from './schemas.js';
import { newWebhookSecret } from './signing.js';

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
    source: r.file_key === null ? 'api' : 'file',
    fileId: r.file_key,
    readOnly: isReadOnly(r),
    removedFromFileAt: r.removed_from_file_at?.toISOString() ?? null,
  };
}

/** In the publication file now: the file, not the API, says what it is. */
function isReadOnly(r: EndpointRow): boolean {
  return r.file_key !== null && r.removed_from_file_at === null;
}

function refuseReadOnly(r: EndpointRow, what: string): void {
  if (isReadOnly(r))
    throw conflict(
      `endpoint "${r.file_key}" is configured in the publication file (webhooks): ${what} there and restart`,
    );
}

function checkUrl(raw: string): string {
  const problem = endpointUrlProblem(raw);
  if (problem) throw validationError('url', problem);
  return new URL(raw).href;
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

    /** Back on after a 410 or a disable; what it missed meanwhile stays cancelled. */
    async enable(id: string): Promise<EndpointView> {
      const row = await findEndpoint(db, id);
      if (!row) throw notFound('webhook endpoint');
      if (row.removed_from_file_at)
        throw conflict(
          `endpoint "${row.file_key}" was taken out of the publication file: put it back in the file (webhooks) and restart`,
        );
      await enableEndpoint(db, id, clock.now());
      return toEndpointView((await findEndpoint(db, id))!);
    },

    /** The endpoint goes with its delivery log; what it was still owed goes with it. */
    async delete(id: string): Promise<void> {
      const row = await findEndpoint(db, id);
      if (!row) throw notFound('webhook endpoint');
      refuseReadOnly(row, 'remove its entry');
      await deleteEndpoint(db, id);
    },

    async rotateSecret(id: string): Promise<EndpointView & { secret: string }> {
      const existing = await findEndpoint(db, id);
      if (!existing) throw notFound('webhook endpoint');
      refuseReadOnly(existing, 'its secret is the environment variable it names (secretEnv): change that');
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

    /** One endpoint (without its secret). */
    async get(id: string): Promise<EndpointView> {
      const row = await findEndpoint(db, id);
      if (!row) throw notFound('webhook endpoint');
      return toEndpointView(row);
    },

    /** Every endpoint with its delivery rows counted by state (the console's list). */
    async withCounts(): Promise<Array<EndpointView & { deliveries: EndpointDeliveryCounts }>> {
      const [rows, counts] = await Promise.all([listEndpoints(db), deliveryCountsByEndpoint(db)]);
      const none: EndpointDeliveryCounts = { pending: 0, delivered: 0, failed: 0, cancelled: 0 };
      return rows.map((r) => ({ ...toEndpointView(r), deliveries: counts.get(r.id) ?? none }));
    },

    /** A page of the delivery log, newest first, with how many attempts it holds. */
    async logPage(id: string, offset: number, limit: number) {
      if (!(await findEndpoint(db, id))) throw notFound('webhook endpoint');
      const [items, total] = await Promise.all([endpointLog(db, id, limit, offset), endpointLogSize(db, id)]);
      return { items, total };
    },
  };
}

export type WebhookEndpoints = ReturnType<typeof createWebhookEndpoints>;
