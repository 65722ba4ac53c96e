/**
 * Editions and ledger rows for the delivery tests, written straight to SQL as the planner would
 * leave them, with a really rendered edition; and the header-contract check every message in
 * those tests goes through.
 */

import { generateKeyPairSync } from 'node:crypto';
import { authenticate } from 'mailauth';
import { expect } from 'vitest';
import { unsubscribeMailto } from '../../src/bounces/unsubscribe-mailto.js';
import { jobId } from '../../src/queues/definitions.js';
import { type RenderedEdition, renderEdition } from '../../src/render/index.js';
import { createTokens } from '../../src/security/tokens.js';
import {
  arabicArticles,
  englishArticles,
  SAMPLE_DATE,
  samplePublication,
} from '../fixtures/sample-articles.js';
import type { TestContext } from './context.js';
import type { ReceivedMail } from './smtp-sink.js';

export interface Reader {
  id: string;
  email: string;
  name: string | null;
}

export interface SeededEdition {
  editionId: string;
  readers: Reader[];
  batches: number;
  rendered: RenderedEdition;
}

const renders = new Map<string, Promise<RenderedEdition>>();

/** One MJML compile per language and template per test file. */
export function renderedEdition(
  language: 'ar' | 'en',
  template: 'digest' | 'alert',
): Promise<RenderedEdition> {
  const key = `${language}-${template}`;
  let p = renders.get(key);
  if (!p) {
    const articles = language === 'ar' ? arabicArticles : englishArticles;
    p = renderEdition({
      template,
      language,
      articles: template === 'alert' ? articles.slice(0, 1) : articles.slice(0, 4),
      publication: samplePublication(),
      // only used in render errors: the archive link is a personal token filled at send time
      editionId: '00000000-0000-4000-8000-000000000000',
      date: SAMPLE_DATE,
      frequency: 'daily',
    });
    renders.set(key, p);
  }
  return p;
}

let readerSeq = 0;

export interface SeedOptions {
  readers: number;
  batchSize: number;
  language?: 'ar' | 'en';
  kind?: 'digest' | 'alert';
  /** every third reader has no name (the generic greeting) */
  namePattern?: (i: number) => string | null;
}

export async function seedEdition(ctx: TestContext, opts: SeedOptions): Promise<SeededEdition> {
  const language = opts.language ?? 'ar';
  const kind = opts.kind ?? 'digest';
  const rendered = await renderedEdition(language, kind === 'alert' ? 'alert' : 'digest');
  const names =
    opts.namePattern ??
    ((i: number) => (i % 3 === 2 ? null : language === 'ar' ? `قارئ ${i}` : `Reader ${i}`));
  const readers: Reader[] = [];
  const tag = `${ctx.id}-${readerSeq++}`;
  for (let i = 0; i < opts.readers; i++) {
    const email = `reader${i}-${tag}@example.org`;
    const name = names(i);
    const { rows } = await ctx.db.query<{ id: string }>(
      `INSERT INTO subscribers (email, email_key, name, status, language, frequency, timezone, alerts, confirmed_at)
       VALUES ($1, $1, $2, 'confirmed', $3, 'daily', 'Asia/Damascus', true, now()) RETURNING id`,
      [email, name, language],
    );
    readers.push({ id: rows[0]!.id, email, name });
  }
  const batches = Math.ceil(opts.readers / opts.batchSize);
  const { rows } = await ctx.db.query<{ id: string }>(
    `INSERT INTO editions (kind, template, language, frequency, article_ids, edition_key, state, due_at,
                           subject, html, text_body, rendered_at, batch_count)
     VALUES ($1, $2, $3, $4, '{}', $5, 'planned', now(), $6, $7, $8, now(), $9) RETURNING id`,
    [
      kind,
      kind === 'alert' ? 'alert' : 'digest',
      language,
      kind === 'alert' ? null : 'daily',
      `test-${tag}`,
      rendered.subject,
      rendered.html,
      rendered.text,
      batches,
    ],
  );
  const editionId = rows[0]!.id;
  await ctx.db.query(
    `INSERT INTO deliveries (kind, dedupe_key, subscriber_id, recipient, edition_id, batch_no)
     SELECT $1, $1 || '-' || $2 || '-' || r.id, r.id, r.email, $2::uuid, (r.ord - 1) / $5
       FROM unnest($3::uuid[], $4::text[]) WITH ORDINALITY AS r(id, email, ord)`,
    [kind, editionId, readers.map((r) => r.id), readers.map((r) => r.email), opts.batchSize],
  );
  return { editionId, readers, batches, rendered };
}

/** Enqueues one job per batch the way the planner does (jobId send-<edition>-<batch>). */
export async function enqueueBatches(
  ctx: TestContext,
  editionId: string,
  batches: number[],
  opts: { suffix?: string; queue?: 'send' | 'alerts'; backoffMs?: number } = {},
): Promise<void> {
  const queue = opts.queue ?? 'send';
  for (const batch of batches) {
    const id = jobId('send', editionId, batch, ...(opts.suffix ? [opts.suffix] : []));
    const jobOpts = { jobId: id, backoff: { type: 'fixed', delay: opts.backoffMs ?? 100 } };
    if (queue === 'send') await ctx.container.queues.enqueue('send', 'batch', { editionId, batch }, jobOpts);
    else await ctx.container.queues.enqueue('alerts', 'send', { editionId, batch }, jobOpts);
  }
}

export interface LedgerRow {
  id: number;
  subscriber_id: string;
  recipient: string;
  state: string;
  attempts: number;
  message_id: string | null;
  smtp_response: string | null;
  error: string | null;
  batch_no: number;
}

export async function ledger(ctx: TestContext, editionId: string): Promise<LedgerRow[]> {
  const { rows } = await ctx.db.query<LedgerRow>(
    `SELECT id, subscriber_id, recipient, state, attempts, message_id, smtp_response, error, batch_no
       FROM deliveries WHERE edition_id = $1 ORDER BY id`,
    [editionId],
  );
  return rows;
}

export async function editionRow(ctx: TestContext, editionId: string) {
  const { rows } = await ctx.db.query<{ state: string; final_counts: Record<string, number> | null }>(
    'SELECT state, final_counts FROM editions WHERE id = $1',
    [editionId],
  );
  return rows[0]!;
}

/** Waits until no row of the edition is pending or sending and the edition is marked sent. */
export async function settled(ctx: TestContext, editionId: string, timeoutMs = 20_000): Promise<LedgerRow[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await ledger(ctx, editionId);
    const done = rows.every((r) => r.state !== 'pending' && r.state !== 'sending');
    if (done && (await editionRow(ctx, editionId)).state === 'sent') return rows;
    if (Date.now() > deadline) {
      const states: Record<string, number> = {};
      for (const r of rows) states[r.state] = (states[r.state] ?? 0) + 1;
      throw new Error(`edition not settled in ${timeoutMs} ms: ${JSON.stringify(states)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Copies at the sink per recipient. */
export function copiesByRecipient(received: ReceivedMail[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const mail of received) for (const to of mail.to) m.set(to, (m.get(to) ?? 0) + 1);
  return m;
}

/** The unfolded value of a header as it is on the wire. */
export function rawHeader(mail: ReceivedMail, name: string): string | undefined {
  const line = mail.parsed.headerLines.find((h) => h.key === name.toLowerCase())?.line;
  if (!line) return undefined;
  return line
    .slice(line.indexOf(':') + 1)
    .replace(/\r?\n[ \t]+/g, ' ')
    .trim();
}

/** RFC 2047 B-words (what our encoder writes) back to text; whitespace between words is dropped. */
function decodeWords(value: string): string {
  const bytes: Buffer[] = [];
  const rest = value.replace(/=\?UTF-8\?B\?([A-Za-z0-9+/=]+)\?=\s*/gi, (_, b64: string) => {
    bytes.push(Buffer.from(b64, 'base64'));
    return '';
  });
  return bytes.length > 0 ? Buffer.concat(bytes).toString('utf8') + rest : value;
}

export interface ContractInput {
  mail: ReceivedMail;
  reader: Reader;
  row: LedgerRow;
  editionId: string;
  ctx: TestContext;
  kind?: 'digest' | 'alert';
  language?: 'ar' | 'en';
  mailto?: string;
}

/** The newsletter header contract and what the reader sees, for one delivered message. */
export function expectNewsletterContract(input: ContractInput): void {
  const { mail, reader, row, editionId, ctx } = input;
  const kind = input.kind ?? 'digest';
  const { config, publication } = ctx;
  const tokens = createTokens({ secretKey: config.SECRET_KEY });
  const language = input.language ?? 'ar';

  expect(mail.to).toEqual([reader.email]);
  expect(mail.from).toBe(publication.sender.email);
  expect(mail.parsed.to && 'value' in mail.parsed.to ? mail.parsed.to.value[0]?.address : undefined).toBe(
    reader.email,
  );

  // List-Unsubscribe: the https one-click URL with this reader's token, mailto when configured
  const lu = rawHeader(mail, 'List-Unsubscribe');
  const urls = [...(lu ?? '').matchAll(/<([^>]+)>/g)].map((m) => m[1]!);
  expect(urls[0]).toMatch(
    new RegExp(`^${config.PUBLIC_URL.replace(/[.]/g, '\\.')}/unsubscribe/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$`),
  );
  const token = urls[0]!.split('/').pop()!;
  expect(tokens.verifyUnsubscribe(token)).toBe(reader.id);
  expect(urls[0]!.startsWith('https://')).toBe(true);
  // the mailto names this reader (signed), so mail to it unsubscribes them
  if (input.mailto)
    expect(urls[1]).toBe(
      `mailto:${unsubscribeMailto(input.mailto, reader.id, config.SECRET_KEY)}?subject=unsubscribe`,
    );
  else expect(urls).toHaveLength(1);
  expect(rawHeader(mail, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');

  // List-Id: phrase + <newsletter.domain>; the identifier stays readable even for Arabic names
  const listId = rawHeader(mail, 'List-Id') ?? '';
  expect(listId).toMatch(/ <newsletter\.almadar\.example>$/);
  expect(decodeWords(listId.replace(/ <[^>]+>$/, '')).replace(/^"|"$/g, '')).toBe(publication.name[language]);

  // Message-ID: the one recorded on the row, on the sending domain
  expect(mail.parsed.messageId).toBe(row.message_id);
  expect(row.message_id).toMatch(/^<[A-Za-z0-9_-]{24}@almadar\.example>$/);

  const list = kind === 'alert' ? `alerts-${language}` : `daily-${language}`;
  // stable fields only (list, kind, sender), never the edition: Gmail aggregates per value
  expect(rawHeader(mail, 'Feedback-ID')).toBe(`${list}:${kind}:almadar.example`);
  expect(rawHeader(mail, 'Precedence')).toBe('bulk');
  expect(rawHeader(mail, 'Auto-Submitted')).toBe('auto-generated');

  // what the reader sees: their own links, the postal address, the greeting
  const html = mail.parsed.html || '';
  const text = mail.parsed.text ?? '';
  const unsubscribeHref = `${config.PUBLIC_URL}/unsubscribe/${tokens.unsubscribe(reader.id)}`;
  const preferencesHref = `${config.PUBLIC_URL}/preferences/${tokens.preferences(reader.id)}`;
  expect(html).toContain(`href="${unsubscribeHref}"`);
  expect(html).toContain(`href="${preferencesHref}"`);
  expect(text).toContain(unsubscribeHref);
  expect(html).toContain(publication.postalAddress[language]);
  expect(text).toContain(publication.postalAddress[language]);
  if (kind === 'digest') {
    expect(html).toContain(`${config.PUBLIC_URL}/archive/${editionId}`);
    if (reader.name) expect(text).toContain(reader.name);
  }
  expect(html).not.toMatch(/\{\{\w+\}\}/);
  expect(text).not.toMatch(/\{\{\w+\}\}/);
}

/** A test DKIM key and the DNS answer that publishes it. */
export function dkimTestKey(selector = 'gz2026', domain = 'almadar.example') {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const record = `${selector}._domainkey.${domain}`;
  const resolver = async (name: string, rr: string) => {
    if (rr === 'TXT' && name.toLowerCase() === record) return [[`v=DKIM1; k=rsa; p=${p}`]];
    throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  };
  return { env: { DKIM_DOMAIN: domain, DKIM_SELECTOR: selector, DKIM_PRIVATE_KEY: pem }, resolver };
}

/** DKIM as a receiver checks it (mailauth), against the stub DNS. */
export async function expectDkimPass(
  mail: ReceivedMail,
  resolver: (name: string, rr: string) => Promise<string[][]>,
): Promise<void> {
  const result = await authenticate(mail.raw, {
    ip: '127.0.0.1',
    helo: 'localhost',
    sender: mail.from,
    mta: 'sink.test',
    resolver,
    disableArc: true,
    disableBimi: true,
  });
  const dkim = result.dkim.results[0];
  expect(dkim?.status.result, dkim?.info).toBe('pass');
  expect(dkim?.signingDomain).toBe('almadar.example');
  // the one-click and list headers are covered by the signature (Gmail ignores unsigned ones)
  const h =
    /\bh=([^;]+)/
      .exec(rawHeader(mail, 'DKIM-Signature') ?? '')?.[1]
      ?.toLowerCase()
      .replace(/\s+/g, '') ?? '';
  for (const name of [
    'list-unsubscribe',
    'list-unsubscribe-post',
    'list-id',
    'feedback-id',
    'from',
    'subject',
    'message-id',
  ]) {
    expect(h.split(':')).toContain(name);
  }
}
