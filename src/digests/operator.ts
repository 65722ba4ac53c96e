/**
 * Operator actions: send now (with a dry run), a test copy, pause/resume/cancel, resend of failed
 * rows, previews and the public web copy. Plain functions over the database; HTTP lives in
 * src/http/digest-routes.ts.
 */
import { randomUUID } from 'node:crypto';
import { withTransaction } from '../db/pool.js';
import { conflict, notFound, validationError } from '../errors.js';
import type { Language } from '../publication.js';
import { type Frequency, type GreetingPair, personalize } from '../render/index.js';
import { type AudienceGroup, groupReaders } from './audience.js';
import {
  acceptsReaders,
  addRecipients,
  archiveUrl,
  articleSetHash,
  cancelEdition,
  laneFor,
  loadRenderArticles,
  lockEdition,
  renderStoredEdition,
} from './edition-store.js';
import type { DigestDeps, EditionKind, EditionState } from './types.js';

export interface SendCriteria {
  topics?: string[];
  language?: Language;
  frequency?: Frequency;
  lookbackHours?: number;
  articleIds?: string[];
}

export interface DryRunEdition {
  language: Language;
  frequency: Frequency;
  recipients: number;
  hasMore: boolean;
  articles: { id: string; title: string }[];
  sample: string[];
}

export interface DryRunResult {
  recipients: number;
  articles: number;
  editions: DryRunEdition[];
}

export interface EditionCounts {
  planned: number;
  pending: number;
  sending: number;
  sent: number;
  failed: number;
  ambiguous: number;
  suppressed: number;
  cancelled: number;
}

export interface EditionView {
  id: string;
  kind: EditionKind;
  state: EditionState;
  template: string;
  language: Language;
  frequency: Frequency | null;
  subject: string | null;
  dueAt: string;
  createdAt: string;
  createdBy: string;
  batchCount: number;
  articleIds: string[];
  resendOf: string | null;
  archiveUrl: string;
  counts: EditionCounts;
}

const SAMPLE_SIZE = 5;

function sealedCounts(f: Partial<EditionCounts> & { total?: number }): EditionCounts {
  return {
    planned: f.total ?? f.planned ?? 0,
    pending: f.pending ?? 0,
    sending: f.sending ?? 0,
    sent: f.sent ?? 0,
    failed: f.failed ?? 0,
    ambiguous: f.ambiguous ?? 0,
    suppressed: f.suppressed ?? 0,
    cancelled: f.cancelled ?? 0,
  };
}
const RUN_READERS = `
  SELECT id FROM subscribers
  WHERE status = 'confirmed' AND ($1::uuid IS NULL OR id > $1)
    AND ($2::text IS NULL OR language = $2) AND ($3::text IS NULL OR frequency = $3)
    AND ($4::text[] IS NULL OR topics = '{}' OR topics && $4)
  ORDER BY id LIMIT $5`;

interface RunCriteria {
  topics: string[] | null;
  language: Language | null;
  frequency: Frequency | null;
}

function groupKey(runId: string, g: AudienceGroup): string {
  return `run-${runId}-${g.language}-${g.frequency}-${articleSetHash(g.articleIds, g.hasMore)}`;
}

export function createOperator(deps: DigestDeps) {
  const { db, clock, log, publication, config, enqueuer } = deps;
  const knownTopics = new Set(publication.topics.map((t) => t.id));

  function checkTopics(topics: string[] | undefined): void {
    for (const t of topics ?? [])
      if (!knownTopics.has(t)) throw validationError('topics', `unknown topic "${t}"`);
  }

  async function candidates(c: SendCriteria, now: Date): Promise<string[]> {
    checkTopics(c.topics);
    const topics = c.topics?.length ? c.topics : null;
    if (c.articleIds?.length) {
      const { rows } = await db.query<{ id: string }>(
        `SELECT id FROM articles WHERE id = ANY($1::uuid[]) AND status = 'published'
           AND ($2::text IS NULL OR language = $2)`,
        [c.articleIds, c.language ?? null],
      );
      return rows.map((r) => r.id);
    }
    const since = new Date(now.getTime() - (c.lookbackHours ?? 24) * 3600_000);
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM articles
       WHERE status = 'published' AND first_published_at > $1 AND first_published_at <= $2
         AND ($3::text IS NULL OR language = $3) AND ($4::text[] IS NULL OR topics && $4)`,
      [since, now, c.language ?? null, topics],
    );
    return rows.map((r) => r.id);
  }

  const runCriteria = (c: SendCriteria): RunCriteria => ({
    topics: c.topics?.length ? c.topics : null,
    language: c.language ?? null,
    frequency: c.frequency ?? null,
  });

  /** Walks the selected readers in keyset chunks, grouping each chunk in SQL. */
  async function* audienceChunks(
    criteria: RunCriteria,
    articleIds: string[],
    now: Date,
    from: string | null,
  ) {
    let cursor = from;
    for (;;) {
      const { rows } = await db.query<{ id: string }>(RUN_READERS, [
        cursor,
        criteria.language,
        criteria.frequency,
        criteria.topics,
        config.PLANNER_CHUNK_SIZE,
      ]);
      if (rows.length === 0) return;
      const groups = await groupReaders(db, {
        readerIds: rows.map((r) => r.id),
        now,
        source: { kind: 'fixed', articleIds, dueAt: now },
        maxItems: publication.digest.maxItems,
        weeklyMaxItems: publication.digest.weeklyMaxItems,
      });
      yield groups;
      cursor = rows.at(-1)!.id;
      if (rows.length < config.PLANNER_CHUNK_SIZE) return;
    }
  }

  async function dryRun(c: SendCriteria): Promise<DryRunResult> {
    const now = clock.now();
    const articleIds = await candidates(c, now);
    const byKey = new Map<string, DryRunEdition & { articleIds: string[]; sampleIds: string[] }>();
    let recipients = 0;
    if (articleIds.length > 0) {
      for await (const groups of audienceChunks(runCriteria(c), articleIds, now, null)) {
        for (const g of groups) {
          const key = groupKey('dry', g);
          let e = byKey.get(key);
          if (!e) {
            e = {
              language: g.language,
              frequency: g.frequency,
              recipients: 0,
              hasMore: g.hasMore,
              articles: [],
              sample: [],
              articleIds: g.articleIds,
              sampleIds: [],
            };
            byKey.set(key, e);
          }
          e.recipients += g.subscriberIds.length;
          recipients += g.subscriberIds.length;
          if (e.sampleIds.length < SAMPLE_SIZE)
            e.sampleIds.push(...g.subscriberIds.slice(0, SAMPLE_SIZE - e.sampleIds.length));
        }
      }
    }
    const editions: DryRunEdition[] = [];
    for (const e of byKey.values()) {
      const { rows: titles } = await db.query<{ id: string; title: string }>(
        'SELECT id, title FROM articles WHERE id = ANY($1::uuid[])',
        [e.articleIds],
      );
      const title = new Map(titles.map((t) => [t.id, t.title]));
      const { rows: emails } = await db.query<{ email: string }>(
        'SELECT email FROM subscribers WHERE id = ANY($1::uuid[]) ORDER BY id',
        [e.sampleIds],
      );
      editions.push({
        language: e.language,
        frequency: e.frequency,
        recipients: e.recipients,
        hasMore: e.hasMore,
        articles: e.articleIds.map((id) => ({ id, title: title.get(id) ?? '' })),
        sample: emails.map((r) => r.email),
      });
    }
    editions.sort((a, b) => b.recipients - a.recipients);
    return { recipients, articles: articleIds.length, editions };
  }

  /**
   * Send now: the editions are decided (and rendered, once each) before answering, so their ids
   * can be returned; the readers are added by build-edition jobs that walk the audience with the
   * run's cursor.
   */
  async function send(c: SendCriteria): Promise<{ runId: string | null; editions: { id: string }[] }> {
    const now = clock.now();
    const articleIds = await candidates(c, now);
    if (articleIds.length === 0) return { runId: null, editions: [] };
    const criteria = runCriteria(c);
    const runId = randomUUID();
    await db.query(
      `INSERT INTO digest_runs (id, criteria, article_ids, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`,
      [runId, JSON.stringify(criteria), articleIds, now],
    );
    const seen = new Map<string, AudienceGroup>();
    for await (const groups of audienceChunks(criteria, articleIds, now, null)) {
      for (const g of groups) if (!seen.has(groupKey(runId, g))) seen.set(groupKey(runId, g), g);
    }
    const editions: { id: string }[] = [];
    for (const [key, g] of [...seen].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const id = await withTransaction(db, async (client) => {
        const e = await lockEdition(client, runEditionSpec(runId, key, g, now), now);
        if (e.created) {
          const outcome = await renderStoredEdition(client, deps, e.id);
          if (!outcome.ok) return null;
        }
        return e.id;
      });
      if (id) editions.push({ id });
    }
    if (editions.length === 0) {
      await db.query(`UPDATE digest_runs SET state = 'done', updated_at = $2 WHERE id = $1`, [runId, now]);
      return { runId, editions };
    }
    await enqueuer.buildRun(editions[0]!.id);
    log.info({ runId, editions: editions.length, articles: articleIds.length }, 'operator send started');
    return { runId, editions };
  }

  function runEditionSpec(runId: string, key: string, g: AudienceGroup, dueAt: Date) {
    return {
      kind: 'digest' as const,
      key,
      template: 'digest' as const,
      language: g.language,
      frequency: g.frequency,
      articleIds: g.articleIds,
      dueAt,
      moreUrl: g.hasMore ? publication.website : null,
      createdBy: 'api',
      runId,
    };
  }

  /** One chunk of a run's fan-out per transaction, cursor stored with the rows. */
  async function buildRun(editionId: string): Promise<{ rows: number; done: boolean }> {
    const { rows: found } = await db.query<{ run_id: string | null }>(
      'SELECT run_id FROM editions WHERE id = $1',
      [editionId],
    );
    const runId = found[0]?.run_id;
    if (!runId) return { rows: 0, done: true };
    let total = 0;
    for (;;) {
      const now = clock.now();
      const jobs: { editionId: string; batches: number[] }[] = [];
      const more = await withTransaction(db, async (client) => {
        const { rows: runs } = await client.query<{
          criteria: RunCriteria;
          article_ids: string[];
          cursor: string | null;
          state: string;
          created_at: Date;
        }>(
          'SELECT criteria, article_ids, cursor, state, created_at FROM digest_runs WHERE id = $1 FOR UPDATE',
          [runId],
        );
        const run = runs[0];
        if (run?.state !== 'running') return false;
        const { rows: readers } = await client.query<{ id: string }>(RUN_READERS, [
          run.cursor,
          run.criteria.language,
          run.criteria.frequency,
          run.criteria.topics,
          config.PLANNER_CHUNK_SIZE,
        ]);
        const groups = await groupReaders(client, {
          readerIds: readers.map((r) => r.id),
          now,
          source: { kind: 'fixed', articleIds: run.article_ids, dueAt: run.created_at },
          maxItems: publication.digest.maxItems,
          weeklyMaxItems: publication.digest.weeklyMaxItems,
        });
        const keyed = groups
          .map((g) => ({ g, key: groupKey(runId, g) }))
          .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        for (const { g, key } of keyed) {
          const e = await lockEdition(client, runEditionSpec(runId, key, g, run.created_at), now);
          if (e.created && !(await renderStoredEdition(client, deps, e.id)).ok) continue;
          if (!acceptsReaders(e.state)) continue;
          const persisted = await addRecipients(client, e, g.subscriberIds, config.DELIVERY_BATCH_SIZE, now);
          total += persisted.rows;
          if (persisted.batches.length) jobs.push({ editionId: e.id, batches: persisted.batches });
        }
        const done = readers.length < config.PLANNER_CHUNK_SIZE;
        await client.query(
          `UPDATE digest_runs SET cursor = $2, state = CASE WHEN $3 THEN 'done' ELSE state END, updated_at = $4
           WHERE id = $1`,
          [runId, readers.at(-1)?.id ?? run.cursor, done, now],
        );
        return !done;
      });
      for (const j of jobs) await enqueuer.sendBatches('send', j.editionId, j.batches);
      if (!more) break;
    }
    return { rows: total, done: true };
  }

  async function testSend(input: { email: string; language: Language; articleIds?: string[] }) {
    const now = clock.now();
    let ids = input.articleIds ?? [];
    if (ids.length === 0) {
      const { rows } = await db.query<{ id: string }>(
        `SELECT id FROM articles
         WHERE status = 'published' AND language = $1 AND first_published_at <= $2
         ORDER BY breaking DESC, first_published_at DESC, id LIMIT $3`,
        [input.language, now, publication.digest.maxItems],
      );
      ids = rows.map((r) => r.id);
    }
    const articles = await loadRenderArticles(db, ids);
    if (articles.length === 0) throw conflict('no published article to send');
    const editionId = await withTransaction(db, async (client) => {
      const e = await lockEdition(
        client,
        {
          kind: 'test',
          key: `test-${randomUUID()}`,
          template: 'digest',
          language: input.language,
          frequency: 'daily',
          articleIds: articles.map((a) => a.id),
          dueAt: now,
          moreUrl: null,
          createdBy: 'api-test',
        },
        now,
      );
      const outcome = await renderStoredEdition(client, deps, e.id);
      if (!outcome.ok) throw conflict(`the test copy could not be rendered: ${outcome.reason}`);
      await client.query(
        `INSERT INTO deliveries (kind, dedupe_key, subscriber_id, recipient, state, edition_id, batch_no,
                                 created_at, updated_at)
         VALUES ('test', $1::text || '-test', NULL, $2, 'pending', $1::uuid, 0, $3, $3)`,
        [e.id, input.email.trim(), now],
      );
      await client.query(
        `UPDATE editions SET batch_count = 1, state = 'sending', updated_at = $2 WHERE id = $1`,
        [e.id, now],
      );
      return e.id;
    });
    await enqueuer.sendBatches('alerts', editionId, [0]);
    return { id: editionId };
  }

  async function counts(editionId: string): Promise<EditionCounts> {
    const { rows } = await db.query<{ state: string; n: number }>(
      'SELECT state, count(*) AS n FROM deliveries WHERE edition_id = $1 GROUP BY state',
      [editionId],
    );
    const c: EditionCounts = {
      planned: 0,
      pending: 0,
      sending: 0,
      sent: 0,
      failed: 0,
      ambiguous: 0,
      suppressed: 0,
      cancelled: 0,
    };
    for (const r of rows) {
      c.planned += r.n;
      if (r.state in c) c[r.state as keyof EditionCounts] += r.n;
    }
    return c;
  }

  async function get(editionId: string): Promise<EditionView> {
    const { rows } = await db.query<{
      id: string;
      kind: EditionKind;
      state: EditionState;
      template: string;
      language: Language;
      frequency: Frequency | null;
      subject: string | null;
      due_at: Date;
      created_at: Date;
      created_by: string;
      batch_count: number;
      article_ids: string[];
      resend_of: string | null;
      final_counts: (Partial<EditionCounts> & { total?: number }) | null;
      ledger_pruned_at: Date | null;
    }>('SELECT * FROM editions WHERE id = $1', [editionId]);
    const e = rows[0];
    if (!e) throw notFound('edition');
    const live = await counts(editionId);
    return {
      id: e.id,
      kind: e.kind,
      state: e.state,
      template: e.template,
      language: e.language,
      frequency: e.frequency,
      subject: e.subject,
      dueAt: e.due_at.toISOString(),
      createdAt: e.created_at.toISOString(),
      createdBy: e.created_by,
      batchCount: e.batch_count,
      articleIds: e.article_ids,
      resendOf: e.resend_of,
      archiveUrl: archiveUrl(config.PUBLIC_URL, e.id),
      // ledger detail pruned by retention: the counts sealed at pruning time
      counts: e.ledger_pruned_at && e.final_counts ? sealedCounts(e.final_counts) : live,
    };
  }

  async function pause(editionId: string): Promise<EditionView> {
    const now = clock.now();
    const res = await db.query(
      `UPDATE editions SET state = 'paused', updated_at = $2 WHERE id = $1 AND state IN ('planned', 'sending')`,
      [editionId, now],
    );
    if (!res.rowCount) await refuse(editionId, 'paused', ['paused']);
    return get(editionId);
  }

  /**
   * Back to sending, with fresh jobs for every batch that still has pending rows (the first jobs
   * completed while paused). Too old to send by now: expired instead, not sent late.
   */
  async function resume(editionId: string): Promise<EditionView> {
    const now = clock.now();
    const outcome = await withTransaction(db, async (client) => {
      const { rows } = await client.query<{
        state: EditionState;
        kind: EditionKind;
        due_at: Date;
        batch_count: number;
        run_id: string | null;
        fanout_done_at: Date | null;
        article_ids: string[];
      }>(
        'SELECT state, kind, due_at, batch_count, run_id, fanout_done_at, article_ids FROM editions WHERE id = $1 FOR UPDATE',
        [editionId],
      );
      const e = rows[0];
      if (!e) throw notFound('edition');
      if (e.state !== 'paused') return { refused: e.state };
      if (now.getTime() - e.due_at.getTime() > config.DIGEST_MAX_AGE_SECONDS * 1000) {
        await client.query(`UPDATE editions SET state = 'expired', updated_at = $2 WHERE id = $1`, [
          editionId,
          now,
        ]);
        await client.query(
          `UPDATE deliveries SET state = 'cancelled', updated_at = $2 WHERE edition_id = $1 AND state = 'pending'`,
          [editionId, now],
        );
        log.warn({ editionId }, 'paused edition resumed too late: expired');
        return { batches: [] as number[], e };
      }
      await client.query(
        `UPDATE editions SET state = CASE WHEN batch_count > 0 THEN 'sending' ELSE 'planned' END, updated_at = $2
         WHERE id = $1`,
        [editionId, now],
      );
      const { rows: pending } = await client.query<{ batch_no: number }>(
        `SELECT DISTINCT batch_no FROM deliveries WHERE edition_id = $1 AND state = 'pending' ORDER BY batch_no`,
        [editionId],
      );
      return { batches: pending.map((r) => r.batch_no), e };
    });
    if ('refused' in outcome) {
      throw conflict(`edition is ${outcome.refused}; only a paused edition can be resumed`);
    }
    const { e, batches } = outcome;
    if (batches.length)
      await enqueuer.sendBatches(laneFor(e.kind), editionId, batches, `resume${now.getTime()}`);
    if (e.run_id) await enqueuer.buildRun(editionId);
    if (e.kind === 'alert' && !e.fanout_done_at && e.article_ids[0])
      await enqueuer.fanoutAlert(e.article_ids[0]);
    return get(editionId);
  }

  async function cancel(editionId: string): Promise<EditionView> {
    const now = clock.now();
    const done = await withTransaction(db, async (client) => {
      const { rows } = await client.query<{ state: EditionState }>(
        'SELECT state FROM editions WHERE id = $1 FOR UPDATE',
        [editionId],
      );
      if (!rows[0]) throw notFound('edition');
      if (rows[0].state === 'cancelled') return true;
      if (!['planned', 'sending', 'paused'].includes(rows[0].state)) return false;
      await cancelEdition(client, editionId, now);
      return true;
    });
    if (!done) await refuse(editionId, 'cancelled', []);
    log.info({ editionId }, 'edition cancelled');
    return get(editionId);
  }

  async function refuse(editionId: string, action: string, idempotentIn: EditionState[]): Promise<void> {
    const { rows } = await db.query<{ state: EditionState }>('SELECT state FROM editions WHERE id = $1', [
      editionId,
    ]);
    if (!rows[0]) throw notFound('edition');
    if (idempotentIn.includes(rows[0].state)) return;
    throw conflict(`edition is ${rows[0].state}; it cannot be ${action}`);
  }

  /**
   * A copy of the edition (same rendered content and articles) for the readers whose row failed
   * and who have no later row that did not fail; new rows with new dedupe keys. Readers whose row
   * was sent or ambiguous are never included.
   */
  async function resendFailed(
    editionId: string,
  ): Promise<{ editions: { id: string }[]; recipients: number }> {
    const now = clock.now();
    const { rows: origin } = await db.query<{ id: string; kind: EditionKind; state: EditionState }>(
      'SELECT id, kind, state FROM editions WHERE id = $1',
      [editionId],
    );
    const o = origin[0];
    if (!o) throw notFound('edition');
    if (o.kind === 'test') throw conflict('test copies are not resent');
    const copy = await withTransaction(db, async (client) => {
      const { rows: failed } = await client.query<{ subscriber_id: string }>(
        `WITH family AS (SELECT id FROM editions WHERE id = $1 OR resend_of = $1)
         SELECT DISTINCT d.subscriber_id FROM deliveries d
         JOIN subscribers s ON s.id = d.subscriber_id AND s.status = 'confirmed'
         WHERE d.edition_id IN (SELECT id FROM family) AND d.state = 'failed'
           AND NOT EXISTS (
             SELECT 1 FROM deliveries d2
             WHERE d2.edition_id IN (SELECT id FROM family) AND d2.subscriber_id = d.subscriber_id
               AND d2.state IN ('pending', 'sending', 'sent', 'ambiguous', 'suppressed'))`,
        [editionId],
      );
      if (failed.length === 0) return null;
      const newId = randomUUID();
      await client.query(
        `INSERT INTO editions (id, kind, template, language, frequency, article_ids, edition_key, state, due_at,
                               subject, html, text_body, greeting, more_url, rendered_at, created_by, resend_of,
                               created_at, updated_at)
         SELECT $2, kind, template, language, frequency, article_ids, $6, 'planned', $3,
                subject, replace(html, $4, $5), replace(text_body, $4, $5), greeting, more_url, rendered_at,
                'resend', id, $3, $3
         FROM editions WHERE id = $1`,
        [
          editionId,
          newId,
          now,
          archiveUrl(config.PUBLIC_URL, editionId),
          archiveUrl(config.PUBLIC_URL, newId),
          `resend-${newId}`,
        ],
      );
      const locked = await client.query<{ batch_count: number }>(
        'SELECT batch_count FROM editions WHERE id = $1 FOR UPDATE',
        [newId],
      );
      const persisted = await addRecipients(
        client,
        { id: newId, kind: o.kind, state: 'planned', batchCount: locked.rows[0]!.batch_count, created: true },
        failed.map((r) => r.subscriber_id),
        config.DELIVERY_BATCH_SIZE,
        now,
      );
      return { id: newId, rows: persisted.rows, batches: persisted.batches };
    });
    if (!copy) return { editions: [], recipients: 0 };
    await enqueuer.sendBatches(laneFor(o.kind), copy.id, copy.batches);
    log.info({ editionId, resendId: copy.id, recipients: copy.rows }, 'failed rows resent');
    return { editions: [{ id: copy.id }], recipients: copy.rows };
  }

  /** The stored html with a generic greeting; personal links point at the publication's site. */
  function generic(
    e: { html: string; text_body: string; greeting: GreetingPair | null },
    id: string,
  ): string {
    return personalize(
      { html: e.html, text: e.text_body, greeting: e.greeting ?? undefined },
      {
        greeting_name: '',
        preferences_url: publication.website,
        unsubscribe_url: publication.website,
        archive_url: archiveUrl(config.PUBLIC_URL, id),
      },
    ).html;
  }

  async function storedHtml(editionId: string, publicOnly: boolean): Promise<string> {
    const { rows } = await db.query<{
      html: string | null;
      text_body: string | null;
      greeting: GreetingPair | null;
      kind: EditionKind;
      state: EditionState;
    }>('SELECT html, text_body, greeting, kind, state FROM editions WHERE id = $1', [editionId]);
    const e = rows[0];
    if (!e?.html || (publicOnly && (e.kind === 'test' || e.state === 'cancelled' || e.state === 'planned'))) {
      throw notFound('edition');
    }
    return generic({ html: e.html, text_body: e.text_body ?? '', greeting: e.greeting }, editionId);
  }

  /** What a reader with these settings would get now (ledger not applied). */
  async function previewDigest(input: { language: Language; frequency: Frequency; topics: string[] }) {
    checkTopics(input.topics);
    const now = clock.now();
    const lookback = input.frequency === 'weekly' ? 7 * 24 : 24;
    const max =
      input.frequency === 'weekly' ? publication.digest.weeklyMaxItems : publication.digest.maxItems;
    const { rows } = await db.query<{ id: string; n: number }>(
      `SELECT id, count(*) OVER () AS n FROM articles
       WHERE status = 'published' AND language = $1 AND first_published_at > $2 AND first_published_at <= $3
         AND ($4::text[] = '{}' OR topics && $4)
       ORDER BY breaking DESC, coalesce(published_at, first_published_at) DESC, id LIMIT $5`,
      [input.language, new Date(now.getTime() - lookback * 3600_000), now, input.topics, max],
    );
    const articles = await loadRenderArticles(
      db,
      rows.map((r) => r.id),
    );
    if (articles.length === 0) throw notFound('published article for this preview');
    const rendered = await deps.render({
      template: 'digest',
      language: input.language,
      articles,
      publication,
      editionId: 'preview',
      date: now,
      frequency: input.frequency,
      moreUrl: (rows[0]?.n ?? 0) > max ? publication.website : undefined,
    });
    return generic({ html: rendered.html, text_body: rendered.text, greeting: rendered.greeting }, 'preview');
  }

  return {
    dryRun,
    send,
    buildRun,
    testSend,
    get,
    pause,
    resume,
    cancel,
    resendFailed,
    previewEdition: (id: string) => storedHtml(id, false),
    archive: (id: string) => storedHtml(id, true),
    previewDigest,
  };
}

export type Operator = ReturnType<typeof createOperator>;
