/**
 * Pathological inputs for the normalizers and the feed parser (issue 12: the process must never
 * freeze on input), shared by test/unit/articles/adversarial.test.ts and bench/hostile.ts. Each
 * shape repeats a unit up to about `size` characters: what a backtracking pattern, a parser's
 * stack or a per-level copy turns into quadratic time.
 */

export interface HostileShape {
  name: string;
  /** about `size` characters of it */
  make(size: number): string;
  /** deeper than Gazette's nesting cap: refused rather than normalized */
  tooDeep?: boolean;
}

/** Under the 1,000,000-character body cap with room for the "<p></p>" autoParagraph adds. */
export const HOSTILE_SIZE = 999_000;

const repeat = (unit: string, size: number) => unit.repeat(Math.max(1, Math.floor(size / unit.length)));

/** Arabic with Latin names, digits, harakat and bidi controls, as a newsroom (or an attacker) writes it. */
const ARABIC =
  'قالت وزارة الاقتصاد إنّ صادرات زيت الزيتون ارتفعت بنسبة ٢٠٪ عبر Apple Pay و NATO، ‮gnp.exe‬ ⁦اسم⁩ ؟ ';

export const HOSTILE_SHAPES: HostileShape[] = [
  { name: '<p<p<p… (no >)', make: (n) => repeat('<p', n) },
  { name: '<p<p<p…>', make: (n) => `${repeat('<p', n - 1)}>` },
  { name: '</p</p…', make: (n) => repeat('</p', n) },
  { name: '<script<script…', make: (n) => repeat('<script', n) },
  { name: '[[[[', make: (n) => repeat('[', n) },
  { name: '![![![', make: (n) => repeat('![', n) },
  { name: '[a](b[a](b…', make: (n) => repeat('[a](b', n) },
  { name: '*a*a / **a', make: (n) => repeat('*a **a ', n) },
  { name: '<div> nested to the end', make: (n) => repeat('<div>', n), tooDeep: true },
  {
    name: '<b><i> nested 2,000 deep',
    make: (n) => repeat('<b><i>', 12_000) + repeat('x', n - 72_000),
    tooDeep: true,
  },
  {
    name: '<div> 500 deep, then tags',
    make: (n) => `${repeat('<div>', 2_500)}${repeat('<p>x <b>y</b></p>', n - 2_500)}`,
  },
  {
    name: '<span> 500 deep, then </b>',
    make: (n) => `${repeat('<span>', 3_000)}${repeat('</b>', n - 3_000)}`,
  },
  { name: 'long attribute value', make: (n) => `<a href="https://e.example/${repeat('x', n - 40)}">t</a>` },
  { name: 'unclosed attribute value', make: (n) => `<img alt="${repeat('<p>', n)}` },
  { name: 'unclosed comment', make: (n) => `<!--${repeat('<p>a', n)}` },
  { name: '<!--<!--<!--', make: (n) => repeat('<!--', n) },
  { name: '<![CDATA[ flood', make: (n) => repeat('<![CDATA[<p>', n) },
  { name: 'entity flood', make: (n) => repeat('&amp;&#x41;&#1575;&hellip;&bogus;&', n) },
  { name: 'long entity name', make: (n) => `&${repeat('a', n - 2)};` },
  { name: 'Arabic and bidi text', make: (n) => `<p>${repeat(ARABIC, n - 7)}</p>` },
  {
    name: 'ordinary tags',
    make: (n) => repeat('<p>كلمة <a href="https://e.example/">رابط</a> <em>x</em></p>', n),
  },
];

// ---------------------------------------------------------------- payloads, one per normalizer

const NOW = '2026-05-01T10:00:00Z';

/** Gazette's generic event with `html` as the body. */
export function genericPayload(body: string, overrides: Record<string, unknown> = {}) {
  return {
    type: 'article.published',
    id: 'evt-hostile',
    data: {
      id: 'hostile-1',
      url: 'https://almadar.example/ar/hostile-1',
      title: 'عنوان الخبر',
      html: body,
      publishedAt: NOW,
      ...overrides,
    },
  };
}

/** WP Webhooks post_create: `post_content` (classic editor text goes through autoParagraph). */
export function wordpressPayload(body: string, post: Record<string, unknown> = {}) {
  return {
    post_id: 901,
    post: {
      ID: 901,
      post_title: 'عنوان الخبر',
      post_content: body,
      post_excerpt: '',
      post_status: 'publish',
      post_type: 'post',
      post_date_gmt: '2026-05-01 10:00:00',
      post_modified_gmt: '2026-05-01 10:00:00',
      ...post,
    },
    post_permalink: 'https://almadar.example/2026/05/hostile/',
    taxonomies: { category: { news: { name: 'سياسة', slug: 'news', taxonomy: 'category' } } },
  };
}

/** Ghost post.published: `html` as the body. */
export function ghostPayload(body: string, current: Record<string, unknown> = {}) {
  return {
    post: {
      current: {
        id: '6630a1b2c3d4e5f601234567',
        status: 'published',
        url: 'https://almadar.example/hostile/',
        title: 'عنوان الخبر',
        html: body,
        updated_at: NOW,
        published_at: NOW,
        ...current,
      },
      previous: {},
    },
  };
}

/** Strapi entry.publish: `content` as given (markdown unless it looks like HTML). */
export function strapiPayload(body: string, entry: Record<string, unknown> = {}) {
  return {
    event: 'entry.publish',
    createdAt: NOW,
    model: 'article',
    uid: 'api::article.article',
    entry: {
      id: 7,
      documentId: 'hostile7',
      title: 'عنوان الخبر',
      slug: 'hostile',
      content: body,
      locale: 'ar',
      publishedAt: NOW,
      updatedAt: NOW,
      ...entry,
    },
  };
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** CDATA may hold anything but "]]>": split there, as feed writers do. */
function cdata(text: string): string {
  return `<![CDATA[${text.split(']]>').join(']]]]><![CDATA[>')}]]>`;
}

/** An RSS 2.0 feed of one item whose content:encoded is `body` (CDATA or escaped). */
export function rssFeed(
  body: string,
  opts: { escaped?: boolean; title?: string; author?: string; description?: string } = {},
) {
  const content = opts.escaped ? xmlEscape(body) : cdata(body);
  return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>المدار</title>
<link>https://almadar.example/</link><language>ar</language>
<item><title>${xmlEscape(opts.title ?? 'عنوان الخبر')}</title><link>https://almadar.example/hostile/</link>
<guid>hostile-rss-1</guid><pubDate>Fri, 01 May 2026 10:00:00 GMT</pubDate>
${opts.author === undefined ? '' : `<author>${xmlEscape(opts.author)}</author>`}
<description>${cdata(opts.description ?? 'ملخص الخبر')}</description>
<content:encoded>${content}</content:encoded></item></channel></rss>`;
}

/** An Atom feed of one entry whose content (type="html") is `body` (CDATA or escaped). */
export function atomFeed(body: string, opts: { escaped?: boolean } = {}) {
  const content = opts.escaped ? xmlEscape(body) : cdata(body);
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="ar"><title>المدار</title>
<link href="https://almadar.example/"/><id>urn:hostile</id><updated>${NOW}</updated>
<entry><title>عنوان الخبر</title><link href="https://almadar.example/hostile-atom/"/><id>urn:hostile:1</id>
<updated>${NOW}</updated><summary>ملخص الخبر</summary><content type="html">${content}</content></entry></feed>`;
}
