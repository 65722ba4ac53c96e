/**
 * Owner of outbox_events, webhook_deliveries and webhook_attempts. An event and its delivery rows
 * (one per enabled endpoint that takes the type) are one statement, run inside the caller's
 * transaction: a rolled-back change leaves no event, a committed one always has its rows.
 */
import type { Queryable } from '../db/pool.js';
import type { OutboxEventType } from './events.js';

/**
 * CTEs that store the events `source` selects (columns id, type, payload, at) and their delivery
 * rows (for enabled endpoints still configured: a file endpoint taken out of the file takes none). For callers whose change is one statement (the edition becoming sent): the event is then
 * part of that statement. An id already stored is skipped (ids like "msg_edition-sent-<id>" make a
 * repeated change report once).
 */
export function outboxInsertCtes(source: string): string {
  return `outbox_ev AS (
       INSERT INTO outbox_events (id, type, payload, occurred_at)
       SELECT id, type, payload, at FROM (${source}) src
       ON CONFLICT (id) DO NOTHING
       RETURNING id, type, occurred_at
     ), outbox_wd AS (
       INSERT INTO webhook_deliveries (event_id, endpoint_id, created_at, updated_at)
       SELECT ev.id, w.id, ev.occurred_at, ev.occurred_at
         FROM outbox_ev ev JOIN webhook_endpoints w
           ON w.enabled AND w.removed_from_file_at IS NULL AND ev.type = ANY (w.events)
       RETURNING id
     )`;
}

/** Stores one event (and its delivery rows) in the caller's transaction. */
export async function recordOutboxEvent(
  q: Queryable,
  e: { type: OutboxEventType; payload: Record<string, unknown>; at: Date; id?: string },
): Promise<void> {
  await q.query(
    `WITH ${outboxInsertCtes(
      `SELECT COALESCE($1::text, 'msg_' || replace(gen_random_uuid()::text, '-', '')) AS id, $2::text AS type,
              $3::jsonb AS payload, $4::timestamptz AS at`,
    )}
     SELECT count(*) FROM outbox_wd`,
    [e.id ?? null, e.type, JSON.stringify(e.payload), e.at],
  );
}

export interface ClaimedDelivery {
  id: number;
  attempts: number;
  eventId: string;
  type: string;
  payload: unknown;
  occurredAt: Date;
  endpointId: string;
  url: string;
  secrets: string[];
}

/**
 * The status lock: pending (or `sending` whose holder's lease ran out: a killed worker) becomes
 * `sending` for `leaseMs`; undefined when the row is delivered, finished or held by another job.
 */
export async function claimDelivery(
  q: Queryable,
  id: number,
  now: Date,
  leaseMs: number,
): Promise<ClaimedDelivery | undefined> {
  const { rows } = await q.query(
    `UPDATE webhook_deliveries d SET state = 'sending', attempts = d.attempts + 1,
            locked_until = $2::timestamptz + make_interval(secs => $3::float8 / 1000), updated_at = $2
       FROM outbox_events ev, webhook_endpoints w
      WHERE d.id = $1 AND ev.id = d.event_id AND w.id = d.endpoint_id AND w.enabled AND w.removed_from_file_at IS NULL
        AND (d.state = 'pending' OR (d.state = 'sending' AND d.locked_until < $2))
      RETURNING d.id, d.attempts, ev.id AS event_id, ev.type, ev.payload, ev.occurred_at, w.id AS endpoint_id,
                w.url, w.secret, CASE WHEN w.previous_secret_until > $2 THEN w.previous_secret END AS previous`,
    [id, now, leaseMs],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: Number(r.id),
    attempts: r.attempts,
    eventId: r.event_id,
    type: r.type,
    payload: r.payload,
    occurredAt: r.occurred_at,
    endpointId: r.endpoint_id,
    url: r.url,
    secrets: r.previous ? [r.secret, r.previous] : [r.secret],
  };
}

export type DeliveryEnd = 'delivered' | 'pending' | 'failed' | 'cancelled';

/** Ends an attempt: the row leaves `sending`, and the attempt goes to the delivery log. */
export async function finishAttempt(
  q: Queryable,
  d: ClaimedDelivery,
  end: DeliveryEnd,
  log: { status: number | null; error: string | null; excerpt: string | null; durationMs: number | null },
  at: Date,
): Promise<void> {
  await q.query(
    `WITH upd AS (
       UPDATE webhook_deliveries SET state = $2, locked_until = NULL, last_error = $3, updated_at = $4,
              delivered_at = CASE WHEN $2 = 'delivered' THEN $4 ELSE delivered_at END
        WHERE id = $1 AND state = 'sending' RETURNING id
     )
     INSERT INTO webhook_attempts (delivery_id, endpoint_id, attempt, status, error, response_excerpt, attempted_at,
                                   duration_ms)
     VALUES ($1, $5, $6, $7, $3, $8, $4, $9)`,
    [
      d.id,
      end,
      log.error?.slice(0, 1000) ?? null,
      at,
      d.endpointId,
      d.attempts,
      log.status,
      log.excerpt,
      log.durationMs,
    ],
  );
}

/**
 * Erasure: a reader's events go, delivered or not (their delivery rows and log with them): the CMS
 * is not told an erased address afterwards.
 */
export async function deleteSubscriberEvents(q: Queryable, subscriberId: string): Promise<number> {
  const res = await q.query(`DELETE FROM outbox_events WHERE payload->>'subscriberId' = $1`, [subscriberId]);
  return res.rowCount ?? 0;
}

/** An endpoint that answered 410 (or was disabled): nothing more is owed to it. */
export async function cancelEndpointDeliveries(q: Queryable, endpointId: string, at: Date): Promise<number> {
  const res = await q.query(
    `UPDATE webhook_deliveries SET state = 'cancelled', locked_until = NULL, updated_at = $2
      WHERE endpoint_id = $1 AND state IN ('pending', 'sending')`,
    [endpointId, at],
  );
  return res.rowCount ?? 0;
}

/** Rows owed to a queue: pending, or `sending` under a lease that ran out (its worker died). */
export async function owedDeliveryIds(q: Queryable, now: Date, limit: number): Promise<number[]> {
  const { rows } = await q.query<{ id: number }>(
    `SELECT id FROM webhook_deliveries
      WHERE state = 'pending' OR (state = 'sending' AND locked_until < $1)
      ORDER BY id LIMIT $2`,
    [now, limit],
  );
  return rows.map((r) => Number(r.id));
}

export interface AttemptView {
  deliveryId: number;
  eventId: string;
  type: string;
  attempt: number;
  status: number | null;
  error: string | null;
  state: string;
  /** null for attempts logged before durations were kept */
  durationMs: number | null;
  attemptedAt: string;
}

/** The delivery log of one endpoint, newest first, from `offset`. */
export async function endpointLog(
  q: Queryable,
  endpointId: string,
  limit: number,
  offset = 0,
): Promise<AttemptView[]> {
  const { rows } = await q.query(
    `SELECT a.delivery_id, d.event_id, ev.type, a.attempt, a.status, a.error, d.state, a.duration_ms, a.attempted_at
       FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
       JOIN outbox_events ev ON ev.id = d.event_id
      WHERE a.endpoint_id = $1 ORDER BY a.id DESC LIMIT $2 OFFSET $3`,
    [endpointId, limit, offset],
  );
  return rows.map((r) => ({
    deliveryId: Number(r.delivery_id),
    eventId: r.event_id,
    type: r.type,
    attempt: r.attempt,
    status: r.status,
    error: r.error,
    state: r.state,
    durationMs: r.duration_ms,
    attemptedAt: (r.attempted_at as Date).toISOString(),
  }));
}

/** How many attempts an endpoint's delivery log holds (for its pager). */
export async function endpointLogSize(q: Queryable, endpointId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM webhook_attempts WHERE endpoint_id = $1',
    [endpointId],
  );
  return rows[0]!.n;
}

export interface EndpointDeliveryCounts {
  /** pending or being sent now */
  pending: number;
  delivered: number;
  failed: number;
  cancelled: number;
}

/** Delivery rows per endpoint by state; an endpoint with none is absent. */
export async function deliveryCountsByEndpoint(q: Queryable): Promise<Map<string, EndpointDeliveryCounts>> {
  const { rows } = await q.query<{ endpoint_id: string } & EndpointDeliveryCounts>(
    `SELECT endpoint_id,
            count(*) FILTER (WHERE state IN ('pending', 'sending'))::int AS pending,
            count(*) FILTER (WHERE state = 'delivered')::int AS delivered,
            count(*) FILTER (WHERE state = 'failed')::int AS failed,
            count(*) FILTER (WHERE state = 'cancelled')::int AS cancelled
       FROM webhook_deliveries GROUP BY endpoint_id`,
  );
  return new Map(rows.map(({ endpoint_id, ...c }) => [endpoint_id, c]));
}

/**
 * Retention: events older than `before` whose deliveries all ended (delivered, failed, cancelled)
 * go, with their delivery rows and attempt log (ON DELETE CASCADE); an event still owed to an
 * endpoint stays however old. At most `limit` events per call, so one run holds no long lock.
 */
export async function pruneOutboxEvents(q: Queryable, before: Date, limit: number): Promise<number> {
  const res = await q.query(
    `DELETE FROM outbox_events WHERE id IN (
       SELECT e.id FROM outbox_events e
        WHERE e.occurred_at < $1
          AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                           WHERE d.event_id = e.id AND d.state IN ('pending', 'sending'))
        ORDER BY e.occurred_at LIMIT $2)`,
    [before, limit],
  );
  return res.rowCount ?? 0;
}
