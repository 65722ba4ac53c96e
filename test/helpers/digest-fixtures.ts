/**
 * Readers and articles for the digest tests, written straight to SQL (confirmed readers as the
 * subscription flow leaves them; articles as ingestion leaves them), and small readers of the
 * ledger and the SMTP sink.
 */
import type { Digests } from '../../src/digests/index.js';
import type { TestContext } from './context.js';
import type { ReceivedMail } from './smtp-sink.js';

export interface ReaderSpec {
  email: string;
  language?: 'ar' | 'en';
  topics?: string[];
  frequency?: 'immediate' | 'daily' | 'weekly';
  alerts?: boolean;
  timezone?: string;
  sendHour?: number;
  /** 0 = Sunday; default null: the publication's weekly day */
  weeklyDay?: number | null;
  name?: string | null;
  confirmedAt?: Date | string;
  status?: 'confirmed' | 'pending' | 'unsubscribed' | 'paused';
}

export async function addReader(ctx: TestContext, r: ReaderSpec): Promise<string> {
  const { rows } = await ctx.db.query<{ id: string }>(
    `INSERT INTO subscribers (email, email_key, name, status, language, topics, frequency, alerts, timezone,
                              send_hour, confirmed_at, weekly_day)
     VALUES ($1, lower($1), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
    [
      r.email,
      r.name ?? null,
      r.status ?? 'confirmed',
      r.language ?? 'en',
      r.topics ?? [],
      r.frequency ?? 'daily',
      r.alerts ?? false,
      r.timezone ?? 'UTC',
      r.sendHour ?? 7,
      new Date(r.confirmedAt ?? ctx.clock.now().getTime() - 3 * 24 * 3600_000),
      r.weeklyDay ?? null,
    ],
  );
  return rows[0]!.id;
}

export interface ArticleSpec {
  title: string;
  language?: 'ar' | 'en';
  topics?: string[];
  breaking?: boolean;
  status?: 'published' | 'draft' | 'unpublished' | 'deleted';
  /** default: the clock's now */
  at?: Date | string;
  summary?: string;
}

let seq = 0;

export async function addArticle(ctx: TestContext, a: ArticleSpec): Promise<string> {
  const at = new Date(a.at ?? ctx.clock.now());
  const n = ++seq;
  const { rows } = await ctx.db.query<{ id: string }>(
    `INSERT INTO articles (source, external_id, url, title, summary, topics, language, breaking, status,
                           published_at, first_published_at, created_at, updated_at)
     VALUES ('generic', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, $9) RETURNING id`,
    [
      `ext-${n}`,
      `https://almadar.example/news/${n}`,
      a.title,
      a.summary ?? `Summary of ${a.title}`,
      a.topics ?? [],
      a.language ?? 'en',
      a.breaking ?? false,
      a.status ?? 'published',
      at,
      (a.status ?? 'published') === 'published' ? at : null,
    ],
  );
  return rows[0]!.id;
}

export const digests = (ctx: TestContext): Digests => ctx.container.digests;

export interface LedgerRow {
  subscriber_id: string | null;
  recipient: string;
  kind: string;
  state: string;
  edition_id: string;
  batch_no: number;
  article_ids: string[];
  edition_state: string;
  frequency: string | null;
  language: string;
}

export async function ledger(ctx: TestContext): Promise<LedgerRow[]> {
  const { rows } = await ctx.db.query<LedgerRow>(
    `SELECT d.subscriber_id, d.recipient, d.kind, d.state, d.edition_id, d.batch_no, e.article_ids,
            e.state AS edition_state, e.frequency, e.language
     FROM deliveries d JOIN editions e ON e.id = d.edition_id ORDER BY d.id`,
  );
  return rows;
}

/** Titles of articles each recipient has a live ledger row for, per recipient. */
export async function receivedTitles(ctx: TestContext): Promise<Map<string, string[][]>> {
  const { rows } = await ctx.db.query<{ recipient: string; titles: string[] }>(
    `SELECT d.recipient, array(SELECT a.title FROM unnest(e.article_ids) WITH ORDINALITY x(id, o)
                               JOIN articles a ON a.id = x.id ORDER BY x.o) AS titles
     FROM deliveries d JOIN editions e ON e.id = d.edition_id
     WHERE d.state IN ('pending', 'sending', 'sent', 'ambiguous') AND e.kind <> 'test'
     ORDER BY d.id`,
  );
  const out = new Map<string, string[][]>();
  for (const r of rows) out.set(r.recipient, [...(out.get(r.recipient) ?? []), r.titles]);
  return out;
}

export function mailsTo(mails: ReceivedMail[], address: string): ReceivedMail[] {
  return mails.filter((m) => m.to.includes(address));
}

export function htmlOf(m: ReceivedMail): string {
  return typeof m.parsed.html === 'string' ? m.parsed.html : '';
}

/**
 * Four interleaved daily audiences due at 07:00 UTC (reader i: i % 4 = 0 en all topics, 1 en economy,
 * 2 en politics+sport, 3 ar all) and one article each for politics, economy and Arabic politics.
 */
export async function seedFourAudiences(ctx: TestContext, opts: { prefix: string; readers: number }) {
  await ctx.db.query(
    `INSERT INTO subscribers (email, email_key, status, language, topics, frequency, timezone, send_hour,
                              confirmed_at, next_digest_at)
     SELECT $3 || i || '@example.org', $3 || i || '@example.org', 'confirmed',
            CASE WHEN i % 4 = 3 THEN 'ar' ELSE 'en' END,
            CASE i % 4 WHEN 1 THEN ARRAY['economy'] WHEN 2 THEN ARRAY['politics', 'sport'] ELSE '{}' END,
            'daily', 'UTC', 7, $2::timestamptz - interval '3 days', $2
     FROM generate_series(1, $1) AS i`,
    [opts.readers, '2026-11-29T07:00:00Z', opts.prefix],
  );
  await addArticle(ctx, { title: 'Politics one', topics: ['politics'], at: '2026-11-29T05:00:00Z' });
  await addArticle(ctx, { title: 'Economy one', topics: ['economy'], at: '2026-11-29T05:00:00Z' });
  await addArticle(ctx, { title: 'سياسة', language: 'ar', topics: ['politics'], at: '2026-11-29T05:00:00Z' });
}
