import type { Queryable } from '../db/pool.js';
import { WEEKDAY_NAMES } from './cell-values.js';

/**
 * Subscribers as CSV rows, filtered, page by page in id order (keyset): memory stays flat however
 * many readers match. The header names are ones the importer recognises and the cells are written
 * the way it reads them, so an export imports back as it is (test/integration/imports-roundtrip.test.ts).
 */
export interface ExportFilter {
  status?: string;
  language?: string;
  frequency?: string;
  /** readers who get this topic: they chose it, or take every topic */
  topic?: string;
}

export const EXPORT_COLUMNS = [
  'email',
  'name',
  'status',
  'language',
  'frequency',
  'topics',
  'alerts',
  'timezone',
  'send_hour',
  // a day name, empty for a reader who follows the publication's weekly day
  'weekly_day',
  'created_at',
  'confirmed_at',
  'unsubscribed_at',
] as const;

const PAGE = 5000;

export async function* exportRows(q: Queryable, f: ExportFilter): AsyncGenerator<Record<string, string>> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (f.status) add('status = ?', f.status);
  if (f.language) add('language = ?', f.language);
  if (f.frequency) add('frequency = ?', f.frequency);
  if (f.topic) add(`(topics = '{}' OR ? = ANY(topics))`, f.topic);
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const { rows } = await q.query(
      `SELECT id, email, name, status, language, frequency, topics, alerts, timezone, send_hour, weekly_day, created_at,
              confirmed_at, unsubscribed_at
         FROM subscribers WHERE id > $${params.length + 1}${where.length ? ` AND ${where.join(' AND ')}` : ''}
        ORDER BY id LIMIT ${PAGE}`,
      [...params, after],
    );
    for (const r of rows) {
      yield {
        email: r.email,
        name: r.name ?? '',
        status: r.status,
        language: r.language,
        frequency: r.frequency,
        topics: (r.topics as string[]).join(','),
        alerts: String(r.alerts),
        timezone: r.timezone,
        send_hour: String(r.send_hour),
        weekly_day: r.weekly_day === null ? '' : WEEKDAY_NAMES[r.weekly_day as number]!,
        created_at: (r.created_at as Date).toISOString(),
        confirmed_at: r.confirmed_at ? (r.confirmed_at as Date).toISOString() : '',
        unsubscribed_at: r.unsubscribed_at ? (r.unsubscribed_at as Date).toISOString() : '',
      };
    }
    if (rows.length < PAGE) return;
    after = rows[rows.length - 1]!.id;
  }
}
