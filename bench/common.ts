/**
 * Shared pieces of the benchmark lanes: the run context, the Gazette environment, Redis and
 * PostgreSQL counters, and the sample edition the library, naive and wire lanes send.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config.js';
import type { Db } from '../src/db/pool.js';
import { buildMessage, prepareEditionMessage } from '../src/mail/mime/index.js';
import { loadPublication, type Publication } from '../src/publication.js';
import { type RenderArticle, type RenderedEdition, renderEdition } from '../src/render/index.js';
import { localeStrings } from '../src/render/locale-strings.js';
import type { RemoteSink } from './procs.js';
import { articleSeeds, REDIS_URL, TOPIC_PROFILES } from './seed.js';

export const PUBLICATION_CONFIG = 'config/publication.sample.json';
export const PUBLIC_URL = 'https://news.bench.example';
export const SECRET_KEY = 'bench-secret-key-0123456789abcdef0123456789abcdef';
export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
/** Standard Webhooks secret (whsec_ + base64) for the generic webhook */
export const WEBHOOK_SECRET = `whsec_${Buffer.from('gazette-bench-webhook-secret-32b').toString('base64')}`;

export interface Dkim {
  domain: string;
  selector: string;
  privateKey: string;
}

export interface RunOptions {
  readers: number;
  connections: number;
  naiveSample: number;
  httpDuration: number;
  httpRate: number;
  subscribeRate: number;
  logLevel: string;
  profile: boolean;
  /** seconds without sink progress before a lane gives up */
  idleTimeout: number;
  /** extra environment for Gazette's processes (--set KEY=VALUE) */
  gazetteEnv: Record<string, string>;
}

/** One edition to send `count` times (the gazette lane's real mix, or the synthetic one). */
export interface MixEdition {
  subject: string;
  html: string;
  text: string;
  language: 'ar' | 'en';
  count: number;
}

export interface LaneContext {
  /** the editions the gazette lane sent and how many readers each had (for library/naive/wire) */
  mix?: MixEdition[];
  opts: RunOptions;
  sink: RemoteSink;
  publication: Publication;
  dkim: Dkim;
  /** results of lanes already run (alert and dkim reuse the gazette setup, ratios need all) */
  results: Record<string, LaneResult>;
  profileDir: string;
  note(msg: string): void;
}

export interface LaneResult {
  lane: string;
  messages?: number;
  seconds?: number;
  msgPerSec?: number;
  [key: string]: unknown;
}

export function generateDkim(): Dkim {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    domain: 'almadar.example',
    selector: 'bench',
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

export function uniqueId(): string {
  return `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
}

/** Environment for Gazette's processes: everything from here, nothing inherited by accident. */
export function gazetteEnv(args: {
  dbUrl: string;
  prefix: string;
  sinkUrl: string;
  port?: number;
  logLevel: string;
  connections: number;
  dkim?: Dkim;
  extra?: Record<string, string>;
}): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: args.logLevel,
    HOST: '127.0.0.1',
    PORT: String(args.port ?? 0),
    PUBLIC_URL,
    DATABASE_URL: args.dbUrl,
    REDIS_URL,
    QUEUE_PREFIX: args.prefix,
    SMTP_URL: args.sinkUrl,
    SMTP_POOL_SIZE: String(args.connections),
    SECRET_KEY,
    ADMIN_TOKEN,
    // production refuses to boot without it (console sessions)
    SESSION_SECRET: 'Bn4Kq8Wz2Lp6Xv1Rt9Hs3Jd7Mf5Gc0Ya',
    PUBLICATION_CONFIG,
    WEBHOOK_SECRET_GENERIC: WEBHOOK_SECRET,
    ...(args.dkim
      ? {
          DKIM_DOMAIN: args.dkim.domain,
          DKIM_SELECTOR: args.dkim.selector,
          DKIM_PRIVATE_KEY: args.dkim.privateKey.replace(/\n/g, '\\n'),
        }
      : {}),
    ...args.extra,
  };
}

/** A config object for code that wants one (dkimOptions) */
export function benchConfig(dkim?: Dkim) {
  return loadConfig({
    NODE_ENV: 'test',
    PUBLIC_URL,
    SECRET_KEY,
    ADMIN_TOKEN,
    ...(dkim
      ? { DKIM_DOMAIN: dkim.domain, DKIM_SELECTOR: dkim.selector, DKIM_PRIVATE_KEY: dkim.privateKey }
      : {}),
  });
}

export function loadBenchPublication(): Publication {
  return loadPublication(PUBLICATION_CONFIG);
}

/** The sample publication with click tracking on (and UTM parameters), written to a temp file. */
export function writeTrackedPublication(): string {
  const sample = JSON.parse(readFileSync(PUBLICATION_CONFIG, 'utf8'));
  const path = join(tmpdir(), `gazette-bench-publication-tracking-${process.pid}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      ...sample,
      engagement: {
        clickTracking: true,
        utm: { source: 'gazette', medium: 'email', campaign: '{kind}-{date}' },
      },
    }),
  );
  return path;
}

// ------------------------------------------------------------------ Redis and PostgreSQL counters

export async function redisUsedMemory(): Promise<number> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info('memory');
    return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0);
  } finally {
    redis.disconnect();
  }
}

/** Samples Redis used_memory until stopped; reports the peak growth over the starting value. */
export function watchRedisMemory() {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  let base = -1;
  let peak = 0;
  let last = 0;
  const sample = async () => {
    const info = await redis.info('memory');
    const used = Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0);
    if (base < 0) base = used;
    peak = Math.max(peak, used);
    last = used;
  };
  const ready = sample();
  const timer = setInterval(() => void sample().catch(() => {}), 250);
  return {
    ready,
    async stop() {
      clearInterval(timer);
      await sample().catch(() => {});
      redis.disconnect();
      return {
        baseMb: base / 2 ** 20,
        peakGrowthMb: (peak - base) / 2 ** 20,
        endGrowthMb: (last - base) / 2 ** 20,
      };
    },
  };
}

export async function deleteRedisPrefix(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL);
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

export interface PgWrites {
  inserted: number;
  updated: number;
  deleted: number;
}

/** Row writes in this database so far (pg_stat_database; the stats collector lags up to ~1 s). */
export async function pgWrites(db: Db, name: string): Promise<PgWrites> {
  await db.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await db.query<{ ins: string; upd: string; del: string }>(
    'SELECT tup_inserted AS ins, tup_updated AS upd, tup_deleted AS del FROM pg_stat_database WHERE datname = $1',
    [name],
  );
  const r = rows[0];
  return { inserted: Number(r?.ins ?? 0), updated: Number(r?.upd ?? 0), deleted: Number(r?.del ?? 0) };
}

// ------------------------------------------------------------------ the sample edition

export interface SampleEdition {
  rendered: RenderedEdition;
  /** one reader's raw message as Gazette builds it (for the wire lane's size) */
  raw: Buffer;
  from: { name: string; address: string };
  language: 'ar' | 'en';
}

export function renderArticles(language: 'ar' | 'en', topics: string[] = []): RenderArticle[] {
  return articleSeeds
    .map((a, i) => ({ a, i }))
    .filter(({ a }) => a.language === language && (topics.length === 0 || topics.includes(a.topic)))
    .map(({ a, i }) => ({
      id: `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
      title: a.title,
      summary: a.summary,
      url: `https://almadar.example/${a.language}/${a.topic}/${i + 1}`,
      imageUrl: null,
      imageAlt: null,
      author: a.language === 'ar' ? 'قسم الأخبار' : 'Newsroom',
      topics: [a.topic],
      publishedAt: new Date(Date.now() - (5 + (i + 1) * 7) * 60_000),
      breaking: false,
    }));
}

export function renderSample(
  publication: Publication,
  language: 'ar' | 'en' = 'ar',
  editionId = 'bench-sample',
  topics: string[] = [],
) {
  return renderEdition({
    template: 'digest',
    language,
    articles: renderArticles(language, topics),
    publication,
    editionId,
    date: new Date(),
    frequency: 'daily',
  });
}

/** The Arabic daily digest with every topic: the most common edition of the gazette lane. */
export async function sampleEdition(publication: Publication): Promise<SampleEdition> {
  const language = 'ar' as const;
  const rendered = await renderSample(publication, language);
  const from = { name: publication.sender.name[language], address: publication.sender.email };
  const strings = localeStrings(language);
  const prepared = prepareEditionMessage({
    from,
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    language,
    greeting: { named: strings.greeting.named, generic: strings.greeting.generic },
    headers: benchEditionHeaders('wire'),
  });
  const raw = buildMessage(prepared, {
    to: 'reader-1@bench.example',
    messageId: `bench-1@${publication.sender.email.split('@')[1]}`,
    date: new Date(),
    values: personalValues(1, 'أحمد'),
    extraHeaders: benchRecipientHeaders(1),
  });
  return { rendered, raw, from, language };
}

export function benchEditionHeaders(kind: string): Record<string, string> {
  return {
    'List-Id': `Al-Madar Daily <daily-ar.almadar.example>`,
    'Feedback-ID': `bench-sample:${kind}:daily-ar:gazette`,
    Precedence: 'bulk',
    'Auto-Submitted': 'auto-generated',
  };
}

export function benchRecipientHeaders(i: number): Record<string, string> {
  return {
    'List-Unsubscribe': `<${PUBLIC_URL}/u/bench-token-${i}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  };
}

/**
 * Values for the article-link tokens of editions rendered with click tracking on: the same for
 * every reader, so the library and wire lanes skip the per-reader signing Gazette does (their
 * ratios with tracking on lean against Gazette, never for it).
 */
const BENCH_LINKS = Array.from({ length: 64 }, (_, slot) => `${PUBLIC_URL}/c/bench-link-${slot}`);

export function personalValues(i: number, name: string) {
  return {
    links: BENCH_LINKS,
    greeting_name: name,
    preferences_url: `${PUBLIC_URL}/preferences/bench-token-${i}`,
    unsubscribe_url: `${PUBLIC_URL}/u/bench-token-${i}`,
    archive_url: `${PUBLIC_URL}/archive/bench-sample`,
  };
}

/** Runs fn(i) for i in [0, total) with at most `window` in flight. */
export async function windowed(
  total: number,
  window: number,
  fn: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const runner = async () => {
    while (next < total) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(window, total) }, runner));
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * Without a gazette run to copy from: the same mix the seed produces, one edition per language
 * and topic profile, each sent to an equal share of `messages`.
 */
export async function syntheticMix(publication: Publication, messages: number): Promise<MixEdition[]> {
  const mix: MixEdition[] = [];
  const slots = TOPIC_PROFILES.length * 2;
  let i = 0;
  for (const language of ['ar', 'en'] as const) {
    for (const topics of TOPIC_PROFILES) {
      const r = await renderSample(publication, language, `mix-${i}`, topics);
      const count = Math.floor(messages / slots) + (i < messages % slots ? 1 : 0);
      mix.push({ subject: r.subject, html: r.html, text: r.text, language, count });
      i++;
    }
  }
  return mix.filter((m) => m.count > 0);
}

/** Message i of a mix (the mix spread evenly over the sequence). */
export function mixPicker(mix: MixEdition[]): (i: number) => MixEdition {
  const seq: number[] = [];
  mix.forEach((m, k) => {
    for (let j = 0; j < m.count; j++) seq.push(k);
  });
  // interleave: a deterministic shuffle so neighbours get different editions
  for (let a = seq.length - 1; a > 0; a--) {
    const b = (a * 2654435761) % (a + 1);
    [seq[a], seq[b]] = [seq[b]!, seq[a]!];
  }
  return (i) => mix[seq[i % seq.length]!]!;
}

/** Gazette's raw message for one reader of a mix edition (wire lane). */
export function rawFor(publication: Publication, m: MixEdition): Buffer {
  const from = { name: publication.sender.name[m.language], address: publication.sender.email };
  const strings = localeStrings(m.language);
  const prepared = prepareEditionMessage({
    from,
    subject: m.subject,
    html: m.html,
    text: m.text,
    language: m.language,
    greeting: { named: strings.greeting.named, generic: strings.greeting.generic },
    headers: benchEditionHeaders('wire'),
  });
  return buildMessage(prepared, {
    to: 'reader-1@bench.example',
    messageId: 'bench-1@almadar.example',
    date: new Date(),
    values: personalValues(1, 'Maya'),
    extraHeaders: benchRecipientHeaders(1),
  });
}
