/**
 * The operator's view of the reader list through the admin API: pages of readers, one reader's
 * detail (consent history and recent mail), and the operator's block.
 */
import { withTransaction } from '../db/pool.js';
import { notFound, validationError } from '../errors.js';
import type { SubscriberDetail, SubscriberPage, SubscriberStatus, SubscriberView } from './schemas.js';
import { listSubscribers, markSuppressed, recentDeliveries } from './subscriber-state-store.js';
import { appendConsent, consentHistory, findById, toView } from './subscriber-store.js';
import type { RequestMeta, SubscriptionDeps } from './subscription-types.js';
import { normalizeEmail } from './validate.js';

export function createSubscriberDirectory(deps: Pick<SubscriptionDeps, 'db' | 'clock'>) {
  const { db, clock } = deps;

  return {
    /** Operator block: this address is never mailed again, confirmations included. */
    async suppress(id: string, reason: string, meta: RequestMeta): Promise<SubscriberView> {
      const now = clock.now();
      return withTransaction(db, async (tx) => {
        const sub = await findById(tx, id, true);
        if (!sub) throw notFound('subscriber');
        if (sub.status !== 'suppressed') {
          await markSuppressed(tx, id, reason, now);
          await appendConsent(tx, {
            subscriberId: id,
            email: sub.email,
            event: 'suppressed',
            source: meta.source,
            ip: meta.ip,
            userAgent: meta.userAgent,
            details: { reason, previousStatus: sub.status },
            at: now,
          });
        }
        return toView((await findById(tx, id))!);
      });
    },

    async list(q: {
      email?: string;
      status?: SubscriberStatus;
      cursor?: string;
      limit: number;
    }): Promise<SubscriberPage> {
      const rows = await listSubscribers(db, {
        emailKey: q.email === undefined ? undefined : normalizeEmail(q.email).key,
        status: q.status,
        after: q.cursor ? decodeCursor(q.cursor) : undefined,
        take: q.limit + 1,
      });
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      return {
        items: page.map(toView),
        nextCursor: rows.length > q.limit && last ? encodeCursor(last.created_at, last.id) : null,
      };
    },

    async detail(id: string): Promise<SubscriberDetail> {
      const sub = await findById(db, id);
      if (!sub) throw notFound('subscriber');
      const rows = await recentDeliveries(db, id);
      return {
        ...toView(sub),
        consent: await consentHistory(db, id),
        deliveries: rows.map((r) => ({
          id: Number(r.id),
          kind: r.kind,
          state: r.state,
          attempts: r.attempts,
          createdAt: r.created_at.toISOString(),
          sentAt: r.sent_at ? r.sent_at.toISOString() : null,
          error: r.error,
        })),
      };
    },
  };
}

function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof createdAt === 'string' && !Number.isNaN(Date.parse(createdAt)) && /^[0-9a-f-]{36}$/.test(id))
      return { createdAt, id };
  } catch {}
  throw validationError('cursor', 'is not a cursor from a previous page');
}
