/**
 * Operator runs: "send now" with its dry run. The editions are decided (and rendered, once each)
 * before answering; build-edition jobs then add the readers, walking the audience with the run's
 * cursor (digest_runs) so a restarted fan-out resumes without repeats or gaps.
 */
import { randomUUID } from 'node:crypto';
import { withTransaction } from '../db/pool.js';
import { validationError } from '../errors.js';
import type { Language, Publication } from '../publication.js';
import type { Frequency } from '../subscriptions/schemas.js';
import { type AudienceGroup, groupReaders } from './audience.js';
import { articleSetHash, fillEdition, openEdition } from './edition-store.js';
import { advanceRun, createRun, finishRun, lockRun, type RunCriteria } from './run-store.js';
import type { DigestDeps } from './types.js';

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

/** Readers who would get nothing because every selected article is in another language. */
export interface DryRunLanguageGap {
  language: Language;
  readers: number;
  /** selected articles per other language */
  articlesByLanguage: Partial<Record<Language, number>>;
  message: string;
}

export interface DryRunResult {
  recipients: number;
  articles: number;
  editions: DryRunEdition[];
  languageGaps: DryRunLanguageGap[];
}

const SAMPLE_SIZE = 5;

const RUN_READERS = `
  SELECT id FROM subscribers
  WHERE status = 'confirmed' AND ($1::uuid IS NULL OR id > $1)
    AND ($2::text IS NULL OR language = $2) AND ($3::text IS NULL OR frequency = $3)
    AND ($4::text[] IS NULL OR topics = '{}' OR topics && $4)
  ORDER BY id LIMIT $5`;

function groupKey(runId: string, g: AudienceGroup): string {
  return `run-${runId}-${g.language}-${g.frequency}-${articleSetHash(g.articleIds, g.hasMore)}`;
}

/** Refuses topic ids the publication does not define, naming the field. */
export function topicCheck(publication: Publication): (topics: string[] | undefined) => void {
  const known = new Set(publication.topics.map((t) => t.id));
  return (topics) => {
    for (const t of topics ?? []) if (!known.has(t)) throw validationError('topics', `unknown topic "${t}"`);
  };
}

export function createOperatorRuns(deps: DigestDeps) {
  const { db, clock, log, publication, config, enqueuer } = deps;
  const checkTopics = topicCheck(publication);

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
    return { recipients, articles: articleIds.length, editions, languageGaps: await languageGaps(c, now) };
  }

  /** Languages whose selected readers get nothing while articles in another language were selected. */
  async function languageGaps(c: SendCriteria, now: Date): Promise<DryRunLanguageGap[]> {
    const anyLanguage = await candidates({ ...c, language: undefined }, now);
    if (anyLanguage.length === 0) return [];
    const { rows: byArticle } = await db.query<{ language: Language; n: number }>(
      `SELECT language, count(*)::int AS n FROM articles WHERE id = ANY($1::uuid[]) GROUP BY language`,
      [anyLanguage],
    );
    const criteria = runCriteria(c);
    const { rows: byReader } = await db.query<{ language: Language; n: number }>(
      `SELECT language, count(*)::int AS n FROM subscribers
        WHERE status = 'confirmed' AND ($1::text IS NULL OR language = $1) AND ($2::text IS NULL OR frequency = $2)
          AND ($3::text[] IS NULL OR topics = '{}' OR topics && $3)
        GROUP BY language`,
      [criteria.language, criteria.frequency, criteria.topics],
    );
    const articles = new Map(byArticle.map((r) => [r.language, r.n]));
    return byReader.flatMap((r) => {
      if (articles.has(r.language)) return [];
      const other = Object.fromEntries(articles) as Partial<Record<Language, number>>;
      const list = [...articles].map(([l, n]) => `${n} in ${l}`).join(', ');
      return [
        {
          language: r.language,
          readers: r.n,
          articlesByLanguage: other,
          message: `${r.n} ${r.language} readers get nothing: no selected article is in ${r.language} (${list})`,
        },
      ];
    });
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
    await createRun(db, { id: runId, criteria, articleIds, now });
    const seen = new Map<string, AudienceGroup>();
    for await (const groups of audienceChunks(criteria, articleIds, now, null)) {
      for (const g of groups) if (!seen.has(groupKey(runId, g))) seen.set(groupKey(runId, g), g);
    }
    const editions: { id: string }[] = [];
    for (const [key, g] of [...seen].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const id = await withTransaction(db, async (client) => {
        const opened = await openEdition(client, deps, runEditionSpec(runId, key, g, now), now);
        return opened.ok ? opened.edition.id : null;
      });
      if (id) editions.push({ id });
    }
    if (editions.length === 0) {
      await finishRun(db, runId, now);
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
        const run = await lockRun(client, runId);
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
          const filled = await fillEdition(
            client,
            deps,
            runEditionSpec(runId, key, g, run.created_at),
            now,
            () => g.subscriberIds,
          );
          if (filled.status !== 'filled') continue;
          const { edition, persisted } = filled;
          total += persisted.rows;
          if (persisted.batches.length) jobs.push({ editionId: edition.id, batches: persisted.batches });
        }
        const done = readers.length < config.PLANNER_CHUNK_SIZE;
        await advanceRun(client, runId, readers.at(-1)?.id ?? run.cursor, done, now);
        return !done;
      });
      for (const j of jobs) await enqueuer.sendBatches('send', j.editionId, j.batches);
      if (!more) break;
    }
    return { rows: total, done: true };
  }

  return { dryRun, send, buildRun };
}
