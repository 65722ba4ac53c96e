/**
 * What an operator sees first: the readers by state, language and frequency, 30 days of growth,
 * the last editions with their counts, whether sending is paused, the queue depths, the next
 * planned digests and what in the configuration deserves a warning. Reads only.
 */
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import type { SendingPause, SendingStatus } from '../delivery/sending-pause.js';
import type { EditionPage } from '../digests/edition-list.js';
import type { Publication } from '../publication.js';
import { QUEUE_NAMES, type QueueName, type Queues } from '../queues/definitions.js';

export interface OverviewDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'PUBLIC_URL' | 'DKIM_DOMAIN' | 'SMTP_URL' | 'NODE_ENV' | 'BOUNCE_DOMAIN'>;
  publication: Pick<Publication, 'timezone'>;
  queues: Pick<Queues, 'get'>;
  sendingPause: Pick<SendingPause, 'status'>;
  lastEditions(): Promise<EditionPage>;
}

export type Breakdown = Record<string, number>;

export interface Overview {
  /** the language and frequency breakdowns count confirmed readers only: those who get mail */
  readers: { total: number; byStatus: Breakdown; byLanguage: Breakdown; byFrequency: Breakdown };
  /** per day: consent events (confirmed, unsubscribed, suppressed) and the reports received (bounce_events) */
  growth: Array<{
    day: string;
    confirmed: number;
    unsubscribed: number;
    suppressed: number;
    bounced: number;
    complained: number;
  }>;
  editions: EditionPage['items'];
  sending: SendingStatus;
  queues: Array<{ name: QueueName; waiting: number; active: number; delayed: number; failed: number }>;
  nextDigests: Array<{ at: string; language: string; frequency: string; readers: number }>;
  warnings: Array<'public-url-not-https' | 'no-dkim' | 'no-smtp' | 'no-bounce-domain' | 'sending-paused'>;
}

const GROWTH_DAYS = 30;

export function createOverview(deps: OverviewDeps) {
  const { db, clock, config, publication } = deps;

  async function readers(): Promise<Overview['readers']> {
    const { rows } = await db.query<{ status: string; language: string; frequency: string; n: string }>(
      'SELECT status, language, frequency, count(*) AS n FROM subscribers GROUP BY 1, 2, 3',
    );
    const out = {
      total: 0,
      byStatus: {} as Breakdown,
      byLanguage: {} as Breakdown,
      byFrequency: {} as Breakdown,
    };
    for (const r of rows) {
      const n = Number(r.n);
      out.total += n;
      out.byStatus[r.status] = (out.byStatus[r.status] ?? 0) + n;
      if (r.status !== 'confirmed') continue;
      out.byLanguage[r.language] = (out.byLanguage[r.language] ?? 0) + n;
      out.byFrequency[r.frequency] = (out.byFrequency[r.frequency] ?? 0) + n;
    }
    return out;
  }

  /** One row per day of the publication's calendar, oldest first, days without events included. */
  async function growth(now: Date): Promise<Overview['growth']> {
    const { rows } = await db.query<{
      day: string;
      confirmed: number;
      unsubscribed: number;
      suppressed: number;
      bounced: number;
      complained: number;
    }>(
      `WITH days AS (
         SELECT generate_series(($1::timestamptz AT TIME ZONE $2)::date - ($3::int - 1), ($1::timestamptz AT TIME ZONE $2)::date,
                                interval '1 day')::date AS day
       ), reports AS (
         -- one pass over the window's reports, counted per local day
         SELECT (b.received_at AT TIME ZONE $2)::date AS day,
                count(*) FILTER (WHERE b.class IN ('hard', 'soft'))::int AS bounced,
                count(*) FILTER (WHERE b.class = 'complaint')::int AS complained
           FROM bounce_events b
          WHERE b.received_at >= ((SELECT min(day) FROM days)::timestamp AT TIME ZONE $2)
          GROUP BY 1
       )
       SELECT to_char(d.day, 'YYYY-MM-DD') AS day,
              count(c.id) FILTER (WHERE c.event = 'confirmed')::int AS confirmed,
              count(c.id) FILTER (WHERE c.event = 'unsubscribed')::int AS unsubscribed,
              count(c.id) FILTER (WHERE c.event = 'suppressed')::int AS suppressed,
              coalesce(max(r.bounced), 0)::int AS bounced,
              coalesce(max(r.complained), 0)::int AS complained
         FROM days d
         LEFT JOIN reports r ON r.day = d.day
         LEFT JOIN consent_events c
           ON c.occurred_at >= (d.day::timestamp AT TIME ZONE $2)
          AND c.occurred_at < ((d.day + 1)::timestamp AT TIME ZONE $2)
          AND c.event IN ('confirmed', 'unsubscribed', 'suppressed')
        GROUP BY d.day ORDER BY d.day`,
      [now, publication.timezone, GROWTH_DAYS],
    );
    return rows;
  }

  async function queueDepths(): Promise<Overview['queues']> {
    return Promise.all(
      QUEUE_NAMES.map(async (name) => {
        const c = await deps.queues
          .get(name)
          .getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'paused');
        return {
          name,
          waiting: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.paused ?? 0),
          active: c.active ?? 0,
          delayed: c.delayed ?? 0,
          failed: c.failed ?? 0,
        };
      }),
    );
  }

  async function nextDigests(): Promise<Overview['nextDigests']> {
    const { rows } = await db.query<{ at: Date; language: string; frequency: string; n: string }>(
      `SELECT next_digest_at AS at, language, frequency, count(*) AS n FROM subscribers
        WHERE status = 'confirmed' AND next_digest_at IS NOT NULL
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 LIMIT 8`,
    );
    return rows.map((r) => ({
      at: r.at.toISOString(),
      language: r.language,
      frequency: r.frequency,
      readers: Number(r.n),
    }));
  }

  return {
    async get(): Promise<Overview> {
      const now = clock.now();
      const [r, g, e, sending, q, next] = await Promise.all([
        readers(),
        growth(now),
        deps.lastEditions(),
        deps.sendingPause.status(),
        queueDepths(),
        nextDigests(),
      ]);
      const warnings: Overview['warnings'] = [];
      if (!config.PUBLIC_URL.startsWith('https://')) warnings.push('public-url-not-https');
      if (!config.DKIM_DOMAIN) warnings.push('no-dkim');
      if (!config.SMTP_URL) warnings.push('no-smtp');
      // without VERP return paths or the inbound listener, bounces that arrive by mail are never read
      if (!config.BOUNCE_DOMAIN) warnings.push('no-bounce-domain');
      if (sending.paused) warnings.push('sending-paused');
      return { readers: r, growth: g, editions: e.items, sending, queues: q, nextDigests: next, warnings };
    },
  };
}

export type OverviewService = ReturnType<typeof createOverview>;
