import { scrubReaderBounces } from '../bounces/bounce-store.js';
import { deleteInboundMailOf } from '../bounces/inbound-store.js';
import type { Clock } from '../clock.js';
import { type Db, withTransaction } from '../db/pool.js';
import { scrubReaderRows } from '../delivery/reader-rows.js';
import { GazetteError, notFound } from '../errors.js';
import { scrubAddress } from '../imports/import-store.js';
import type { Logger } from '../logger.js';
import { deleteMailTo } from '../mail/dev-mailbox.js';
import { deleteSubscriberEvents } from '../outbox/outbox-store.js';
import { deleteReader } from './subscriber-import-store.js';
import { consentHistory, findById, toView } from './subscriber-store.js';
import { type AddressHasher, addSuppressionHash, findErasure, recordErasure } from './suppression-store.js';

/**
 * The reader's data rights: everything Gazette holds about a reader as one JSON document, and
 * erasure. Erasure removes the reader from PostgreSQL (reader, consent history, the address on
 * ledger rows, import rows, caught development mail, bounce reports and inbound mail) and from
 * Redis job data, keeps the keyed hash on the suppression list so the address is refused from
 * then on, and records who erased which id when.
 */
export interface JobScrubber {
  /** removes the queued transactional jobs of these ledger rows; returns how many it removed */
  removeDeliveryJobs(deliveryIds: number[]): Promise<number>;
}

export interface ReaderDataDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  hasher: AddressHasher;
  jobs: JobScrubber;
}

export function createReaderData(deps: ReaderDataDeps) {
  const { db, clock, log, hasher, jobs } = deps;
  return {
    async export(subscriberId: string) {
      const sub = await findById(db, subscriberId);
      if (!sub) throw notFound('subscriber');
      const deliveries = await db.query(
        `SELECT d.id, d.kind, d.state, d.created_at, d.sent_at, d.edition_id, e.subject
           FROM deliveries d LEFT JOIN editions e ON e.id = d.edition_id
          WHERE d.subscriber_id = $1 ORDER BY d.id`,
        [subscriberId],
      );
      // read only: bounce_events is written by src/bounces/bounce-store.ts
      const bounces = await db.query(
        `SELECT id, class, source, delivery_id, edition_id, status, diagnostic, occurred_at
           FROM bounce_events WHERE subscriber_id = $1 ORDER BY occurred_at, id`,
        [subscriberId],
      );
      const imports = await db.query(
        `SELECT r.import_id, r.row_no, r.outcome, i.mode, i.created_at
           FROM import_rows r JOIN imports i ON i.id = r.import_id WHERE r.subscriber_id = $1 ORDER BY i.created_at`,
        [subscriberId],
      );
      const {
        id,
        email,
        name,
        status,
        createdAt,
        confirmedAt,
        unsubscribedAt,
        suppressedReason,
        ...preferences
      } = toView(sub);
      return {
        exportedAt: clock.now().toISOString(),
        subscriber: { id, email, name, status, createdAt, confirmedAt, unsubscribedAt, suppressedReason },
        preferences,
        consent: await consentHistory(db, subscriberId),
        deliveries: deliveries.rows.map((r) => ({
          id: Number(r.id),
          kind: r.kind as string,
          state: r.state as string,
          editionId: (r.edition_id as string | null) ?? null,
          subject: (r.subject as string | null) ?? null,
          createdAt: (r.created_at as Date).toISOString(),
          sentAt: r.sent_at ? (r.sent_at as Date).toISOString() : null,
        })),
        // the reports received about this reader (src/bounces/): bounces, complaints, auto-replies
        bounces: bounces.rows.map((r) => ({
          id: Number(r.id),
          class: r.class as string,
          source: r.source as string,
          deliveryId: r.delivery_id === null ? null : Number(r.delivery_id),
          editionId: (r.edition_id as string | null) ?? null,
          status: (r.status as string | null) ?? null,
          diagnostic: (r.diagnostic as string | null) ?? null,
          at: (r.occurred_at as Date).toISOString(),
        })),
        imports: imports.rows.map((r) => ({
          importId: r.import_id as string,
          row: r.row_no as number,
          outcome: r.outcome as string,
          mode: r.mode as string,
          at: (r.created_at as Date).toISOString(),
        })),
      };
    },

    async erase(subscriberId: string, erasedBy: string) {
      const at = clock.now();
      const result = await withTransaction(db, async (tx) => {
        const sub = await findById(tx, subscriberId, true);
        if (!sub) return undefined;
        await addSuppressionHash(tx, hasher.hash(sub.email_key), at);
        const deliveryIds = await scrubReaderRows(tx, sub.id, sub.email_key, at);
        const importRows = await scrubAddress(tx, sub.id, sub.email_key);
        const mailbox = await deleteMailTo(tx, sub.email_key);
        const bounceEvents = await scrubReaderBounces(tx, sub.id, sub.email_key);
        const inboundMail = await deleteInboundMailOf(tx, sub.email_key);
        const webhookEvents = await deleteSubscriberEvents(tx, sub.id);
        const { consentEvents } = await deleteReader(tx, sub.id);
        const details = {
          deliveries: deliveryIds.length,
          importRows,
          devMailbox: mailbox,
          bounceEvents,
          inboundMail,
          consentEvents,
          webhookEvents,
        };
        // the row ids (no address) let a repeated call remove queued jobs a first call could not
        await recordErasure(tx, { subscriberId: sub.id, erasedBy, at, details: { ...details, deliveryIds } });
        return { deliveryIds, details };
      });
      if (!result) {
        const earlier = await findErasure(db, subscriberId);
        if (earlier) {
          const ids = (earlier.details.deliveryIds as number[] | undefined) ?? [];
          const jobsRemoved = await jobs.removeDeliveryJobs(ids);
          const { deliveryIds: _ids, ...details } = earlier.details;
          return { ...earlier, details: { ...details, jobsRemoved }, alreadyErased: true };
        }
        throw notFound('subscriber');
      }
      // after the commit: a job that runs in between finds no reader and cancels its row
      let jobsRemoved = 0;
      try {
        jobsRemoved = await jobs.removeDeliveryJobs(result.deliveryIds);
      } catch (err) {
        // the rows are scrubbed and cancelled already; a leftover job carries only a row id
        log.warn({ subscriberId, err: (err as Error).message }, 'erasure: could not remove queued jobs');
        throw new GazetteError(
          'GZ_PARTIAL_ERASURE',
          'the reader is erased from the database; removing their queued jobs failed (Redis unreachable): retry',
          503,
        );
      }
      log.info({ subscriberId, erasedBy, ...result.details, jobsRemoved }, 'reader erased');
      return {
        subscriberId,
        erasedBy,
        erasedAt: at.toISOString(),
        details: { ...result.details, jobsRemoved },
        alreadyErased: false,
      };
    },
  };
}

export type ReaderData = ReturnType<typeof createReaderData>;
