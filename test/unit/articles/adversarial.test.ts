import { describe, expect, it } from 'vitest';
import { parseFeed } from '../../../src/articles/feeds.js';
import { normalizeGeneric } from '../../../src/articles/normalize/generic.js';
import { normalizeGhost } from '../../../src/articles/normalize/ghost.js';
import { FIELD_LIMITS, MAX_HTML_DEPTH } from '../../../src/articles/normalize/limits.js';
import { normalizeStrapi } from '../../../src/articles/normalize/strapi.js';
import { SUMMARY_MAX_CHARS } from '../../../src/articles/normalize/text.js';
import { normalizeWordPress } from '../../../src/articles/normalize/wordpress.js';
import { type NormalizedArticle, PayloadError } from '../../../src/articles/types.js';
import {
  atomFeed,
  genericPayload,
  ghostPayload,
  HOSTILE_SHAPES,
  HOSTILE_SIZE,
  rssFeed,
  strapiPayload,
  wordpressPayload,
} from '../../helpers/hostile-inputs.js';
import { publication } from './helpers.js';

/**
 * Issue 12, "the process must never freeze on input": generated pathological bodies for every
 * normalizer and the feed parser. No timing is asserted: each case only has to finish inside the
 * test timeout, which the backtracking patterns did not (a 100 KB "<p<p<p…" took 10 to 35 s,
 * 80 KB of "[" in Strapi 77 s; at a megabyte, minutes), and give a sane article or a refusal.
 */

const pub = publication({
  sources: {
    generic: { language: 'ar', timezone: 'UTC' },
    wordpress: { language: 'ar', timezone: 'UTC', siteUrl: 'https://almadar.example' },
    ghost: { language: 'ar', timezone: 'UTC' },
    strapi: { language: 'ar', timezone: 'UTC', siteUrl: 'https://cms.almadar.example' },
  },
});
const FEED = (type: 'rss' | 'atom') => ({ id: `adv-${type}`, type, url: 'https://almadar.example/feed' });

/** One article out, or the PayloadError of a refusal (a feed's skipped item counts as one). */
type Run = (body: string) => NormalizedArticle;

function only(events: Array<{ article: NormalizedArticle | null }>): NormalizedArticle {
  expect(events).toHaveLength(1);
  const article = events[0]!.article;
  expect(article).not.toBeNull();
  return article!;
}

function feedItem(xml: string, type: 'rss' | 'atom'): NormalizedArticle {
  const skipped: string[] = [];
  const items = parseFeed(xml, FEED(type), pub, (reason) => skipped.push(reason));
  if (skipped.length) throw new PayloadError(skipped[0]);
  expect(items).toHaveLength(1);
  return items[0]!;
}

const NORMALIZERS: Array<[string, Run, string]> = [
  ['generic', (b) => only(normalizeGeneric(genericPayload(b), pub)), 'data.html'],
  ['wordpress', (b) => only(normalizeWordPress(wordpressPayload(b), pub)), 'post.post_content'],
  ['ghost', (b) => only(normalizeGhost(ghostPayload(b), pub)), 'post.current.html'],
  [
    'strapi',
    (b) => only(normalizeStrapi(strapiPayload(b), pub, { urlTemplate: 'https://almadar.example/{slug}' })),
    'entry.content',
  ],
  ['feed rss', (b) => feedItem(rssFeed(b), 'rss'), 'item 0'],
  ['feed atom', (b) => feedItem(atomFeed(b, { escaped: true }), 'atom'), 'entry 0'],
];

/** The shapes the old patterns were quadratic on run at the full size; the rest at 100 KB. */
const FULL_SIZE = new Set([
  '<p<p<p… (no >)',
  '</p</p…',
  '[[[[',
  '![![![',
  '[a](b[a](b…',
  '<div> nested to the end',
]);

const codePoints = (s: string) => [...s].length;

describe.each(NORMALIZERS)('%s on hostile bodies', (_name, run, bodyField) => {
  it.each(HOSTILE_SHAPES.map((s) => [s.name, s] as const))('%s: finishes, sane', (_shape, shape) => {
    const body = shape.make(FULL_SIZE.has(shape.name) ? HOSTILE_SIZE : 100_000);
    // Strapi reads a field without block tags as Markdown, where "<b>" is text
    const tooDeep = (shape.tooDeep ?? false) && !(bodyField === 'entry.content' && !body.startsWith('<div'));
    let article: NormalizedArticle;
    try {
      article = run(body);
    } catch (err) {
      // only nesting past the cap is refused; the message names the field and the limit
      expect(tooDeep, (err as Error).message).toBe(true);
      expect(err).toBeInstanceOf(PayloadError);
      expect((err as Error).message).toContain(bodyField);
      expect((err as Error).message).toContain(`nested deeper than ${MAX_HTML_DEPTH} levels`);
      return;
    }
    expect(tooDeep).toBe(false);
    expect(article.title).toBe('عنوان الخبر');
    expect(codePoints(article.summary)).toBeLessThanOrEqual(SUMMARY_MAX_CHARS);
    // (the summary is plain text: a "<!--" typed in Markdown is text, escaped where it is shown)
    expect(article.bodyHtml).not.toMatch(/<script|<iframe|<!--|\son\w+=/i);
    // escaping at most multiplies the size ("&" → "&amp;"), it never explodes it
    expect(article.bodyHtml.length).toBeLessThanOrEqual(body.length * 6 + 100);
  });
});

describe('field caps, applied before any parsing', () => {
  const long = (n: number) => 'ع'.repeat(n);
  const refusal = (run: () => unknown): string => {
    try {
      run();
    } catch (err) {
      expect(err).toBeInstanceOf(PayloadError);
      return (err as Error).message;
    }
    throw new Error('not refused');
  };

  it('a title over 2,000 characters is refused, naming the field, in every normalizer', () => {
    const title = long(FIELD_LIMITS.title + 1);
    const over = /2,001 characters, over the limit of 2,000 for a title/;
    expect(refusal(() => normalizeGhost(ghostPayload('<p>x</p>', { title }), pub))).toMatch(
      /^post\.current\.title: 2,001 characters/,
    );
    expect(
      refusal(() => normalizeWordPress(wordpressPayload('<p>x</p>', { post_title: title }), pub)),
    ).toMatch(/^post\.post_title: /);
    expect(refusal(() => normalizeStrapi(strapiPayload('x', { title }), pub))).toMatch(/^entry\.title: /);
    for (const run of [
      () => normalizeGhost(ghostPayload('<p>x</p>', { title }), pub),
      () => normalizeStrapi(strapiPayload('x', { title }), pub),
    ])
      expect(refusal(run)).toMatch(over);
    // the generic event's schema has its own, stricter, limit
    expect(refusal(() => normalizeGeneric(genericPayload('<p>x</p>', { title }), pub))).toMatch(
      /^data\.title: .*1000/,
    );
    // a feed item is skipped with the reason; the others in the feed still count
    const skipped: string[] = [];
    expect(parseFeed(rssFeed('<p>x</p>', { title }), FEED('rss'), pub, (r) => skipped.push(r))).toEqual([]);
    expect(skipped).toEqual([expect.stringMatching(/^item 0 title: 2,001 characters/)]);
  });

  it('a held Strapi event is refused before it is stored, not held with a megabyte title', () => {
    // no urlTemplate: without the cap this would be held (stored raw) rather than refused
    const title = long(FIELD_LIMITS.title + 1);
    expect(refusal(() => normalizeStrapi(strapiPayload('x', { title }), pub))).toMatch(/^entry\.title: /);
  });

  it('author, excerpt, body, image alt and URLs over their caps are refused, naming the field', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [
        { primary_author: { name: long(FIELD_LIMITS.author + 1) } },
        /^post\.current\.primary_author\.name: 501 /,
      ],
      [
        { custom_excerpt: long(FIELD_LIMITS.excerpt + 1) },
        /^post\.current\.custom_excerpt: 20,001 .* an excerpt/,
      ],
      [{ html: long(FIELD_LIMITS.body + 1) }, /^post\.current\.html: 1,000,001 .* a body/],
      [
        { feature_image: 'https://e.example/a.jpg', feature_image_alt: long(FIELD_LIMITS.imageAlt + 1) },
        /^post\.current\.feature_image_alt: 2,001 /,
      ],
      [
        { feature_image: `https://e.example/${'a'.repeat(FIELD_LIMITS.url)}` },
        /^post\.current\.feature_image: .* a URL/,
      ],
      [{ url: `https://almadar.example/${'a'.repeat(FIELD_LIMITS.url)}` }, /^post\.current\.url: .* a URL/],
    ];
    for (const [current, message] of cases) {
      expect(refusal(() => normalizeGhost(ghostPayload('<p>x</p>', current), pub))).toMatch(message);
    }
    expect(refusal(() => normalizeWordPress(wordpressPayload(long(FIELD_LIMITS.body + 1)), pub))).toMatch(
      /^post\.post_content: 1,000,001 characters/,
    );
    expect(refusal(() => normalizeStrapi(strapiPayload(long(FIELD_LIMITS.body + 1)), pub))).toMatch(
      /^entry\.content: 1,000,001 characters/,
    );
  });

  it('exactly at the caps is accepted', () => {
    const article = only(
      normalizeGhost(
        ghostPayload(`<p>${'ب'.repeat(FIELD_LIMITS.body - 7)}</p>`, {
          title: long(FIELD_LIMITS.title),
          primary_author: { name: long(FIELD_LIMITS.author) },
          custom_excerpt: long(FIELD_LIMITS.excerpt),
        }),
        pub,
      ),
    );
    expect(article.title).toHaveLength(FIELD_LIMITS.title);
    expect(article.author).toHaveLength(FIELD_LIMITS.author);
    expect(codePoints(article.summary)).toBeLessThanOrEqual(SUMMARY_MAX_CHARS);
  });

  it('nesting up to the cap is normalized, one level more is refused', () => {
    const nested = (depth: number) => `${'<div>'.repeat(depth)}نص${'</div>'.repeat(depth)}`;
    expect(only(normalizeGhost(ghostPayload(nested(MAX_HTML_DEPTH)), pub)).summary).toBe('نص');
    expect(refusal(() => normalizeGhost(ghostPayload(nested(MAX_HTML_DEPTH + 1)), pub))).toBe(
      `post.current.html: elements nested deeper than ${MAX_HTML_DEPTH} levels`,
    );
  });
});
