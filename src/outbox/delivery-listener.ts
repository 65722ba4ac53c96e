/**
 * Delivery at commit. The trigger on webhook_deliveries (migration 041) NOTIFYs the ids of new rows,
 * and PostgreSQL hands a notification out only when the inserting transaction commits, never after
 * a rollback: no job can name a row that does not exist, and no caller has to remember to enqueue.
 * Each webhooks worker process LISTENs on one dedicated connection and hands the ids to the queue
 * at once; several processes hand the same ids, and the job id (the row's) swallows the repeats.
 * What a lost connection misses is the sweep's, which stays the safety net.
 */
import pg from 'pg';
import { withDefaultUser } from '../db/pool.js';
import type { Logger } from '../logger.js';

export const DELIVERY_CHANNEL = 'gazette_webhook_deliveries';
/** what the listening connection calls itself in pg_stat_activity */
export const LISTENER_APPLICATION_NAME = 'gazette-webhooks-listener';

const MAX_RETRY_MS = 30_000;

export function parseDeliveryIds(payload: string | undefined): number[] {
  return (payload ?? '')
    .split(',')
    .map((s) => Number(s))
    .filter((n) => Number.isSafeInteger(n) && n > 0);
}

export interface DeliveryListener {
  stop(): void;
}

export function listenForDeliveries(opts: {
  connectionString: string;
  log: Logger;
  /** hands committed rows to the queue; a failure leaves them to the sweep */
  onIds(ids: number[]): Promise<void>;
  retryMs?: number;
}): DeliveryListener {
  const { log } = opts;
  const baseRetry = opts.retryMs ?? 1000;
  let retryMs = baseRetry;
  let stopped = false;
  let current: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;

  const again = (client: pg.Client, err?: Error) => {
    if (stopped || current !== client) return;
    current = undefined;
    client.end().catch(() => {});
    log.warn(
      { err: err?.message, retryMs },
      'webhook listener lost its connection: reconnecting (meanwhile the sweep delivers)',
    );
    timer = setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  };

  async function connect(): Promise<void> {
    if (stopped) return;
    const client = new pg.Client({
      connectionString: withDefaultUser(opts.connectionString),
      application_name: LISTENER_APPLICATION_NAME,
    });
    current = client;
    client.on('error', (err) => again(client, err));
    client.on('end', () => again(client));
    client.on('notification', (msg) => {
      if (msg.channel !== DELIVERY_CHANNEL) return;
      const ids = parseDeliveryIds(msg.payload);
      if (ids.length === 0) return;
      opts
        .onIds(ids)
        .catch((err) =>
          log.warn(
            { deliveryIds: ids.length, err: (err as Error).message },
            'webhook deliveries stored but not enqueued at commit: the sweep enqueues them',
          ),
        );
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${DELIVERY_CHANNEL}`);
      retryMs = baseRetry;
    } catch (err) {
      again(client, err as Error);
    }
  }

  void connect();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      current?.end().catch(() => {});
      current = undefined;
    },
  };
}
