/**
 * The editions an operator looks through: newest first, filtered, one page with the total, each
 * with its ledger counts (or the counts retention sealed) and its bounce counts, in one query each
 * per page.
 */
import { editionsBounceCounts } from '../bounces/bounce-store.js';
import { EDITION_COUNT_COLUMNS, type EditionCounts } from '../delivery/delivery-store.js';
import type { Language } from '../publication.js';
import { archiveUrl } from '../render/reader-links.js';
import type { Frequency } from '../subscriptions/schemas.js';
import { countsView, type EditionView } from './edition-views.js';
import type { DigestDeps, EditionKind, EditionState } from './types.js';

export interface EditionFilter {
  state?: EditionState;
  kind?: EditionKind;
  language?: Language;
  frequency?: Frequency;
  offset: number;
  limit: number;
}

export interface EditionPage {
  items: EditionView[];
  total: number;
  offset: number;
  limit: number;
}

export function createEditionList(deps: Pick<DigestDeps, 'db' | 'config'>) {
  const { db, config } = deps;
  return async function list(f: EditionFilter): Promise<EditionPage> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.state) where.push(`e.state = $${params.push(f.state)}`);
    if (f.kind) where.push(`e.kind = $${params.push(f.kind)}`);
    if (f.language) where.push(`e.language = $${params.push(f.language)}`);
    if (f.frequency) where.push(`e.frequency = $${params.push(f.frequency)}`);
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = Number(
      (await db.query<{ n: string }>(`SELECT count(*) AS n FROM editions e ${filter}`, params)).rows[0]!.n,
    );
    const { rows } = await db.query(
      `SELECT e.id, e.kind, e.state, e.template, e.language, e.frequency, e.subject, e.due_at, e.created_at,
              e.created_by, e.batch_count, e.article_ids, e.resend_of, e.final_counts, e.ledger_pruned_at,
              to_jsonb(c) AS live
         FROM (SELECT * FROM editions e ${filter}
                ORDER BY e.created_at DESC, e.id DESC OFFSET $${params.push(f.offset)} LIMIT $${params.push(f.limit)}) e
         CROSS JOIN LATERAL (SELECT ${EDITION_COUNT_COLUMNS} FROM deliveries WHERE edition_id = e.id) c
        ORDER BY e.created_at DESC, e.id DESC`,
      params,
    );
    const bounces = await editionsBounceCounts(
      db,
      rows.map((e) => e.id as string),
    );
    return {
      total,
      offset: f.offset,
      limit: f.limit,
      items: rows.map((e) => ({
        id: e.id,
        kind: e.kind,
        state: e.state,
        template: e.template,
        language: e.language,
        frequency: e.frequency,
        subject: e.subject,
        dueAt: (e.due_at as Date).toISOString(),
        createdAt: (e.created_at as Date).toISOString(),
        createdBy: e.created_by,
        batchCount: e.batch_count,
        articleIds: e.article_ids,
        resendOf: e.resend_of,
        archiveUrl: archiveUrl(config.PUBLIC_URL, e.id),
        counts: countsView(
          e.ledger_pruned_at && e.final_counts ? e.final_counts : (e.live as EditionCounts),
          bounces.get(e.id as string)!,
        ),
      })),
    };
  };
}
