import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { publicationFile } from '../helpers/publication-file.js';

interface Item {
  guid: string;
  title: string;
  date: Date;
}

const rss = (items: Item[]) => `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>صحيفة المدار</title><link>https://almadar.example</link><description>آخر الأخبار</description><language>ar</language>
${items
  .map(
    (i) => `<item><title>${i.title}</title><link>https://almadar.example/news/${i.guid}</link>
<guid isPermaLink="false">${i.guid}</guid><pubDate>${i.date.toUTCString()}</pubDate>
<category><![CDATA[اقتصاد]]></category><description><![CDATA[<p>${i.title} — تفاصيل الخبر كما وردت من مراسلنا.</p>]]></description></item>`,
  )
  .join('\n')}
</channel></rss>`;

const atom = (items: Item[]) => `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en"><title>Al-Madar English</title><id>urn:almadar:en</id>
<updated>${new Date().toISOString()}</updated>
${items
  .map(
    (
      i,
    ) => `<entry><id>${i.guid}</id><title>${i.title}</title><link rel="alternate" href="https://almadar.example/en/${i.guid}"/>
<published>${i.date.toISOString()}</published><updated>${i.date.toISOString()}</updated>
<category term="Sport"/><summary>${i.title}: the full report.</summary><author><name>Desk</name></author></entry>`,
  )
  .join('\n')}
</feed>`;

const rdf = (items: Item[]) => `<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
  xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel rdf:about="https://almadar.example/rdf"><title>المدار</title><link>https://almadar.example/</link>
<description>أخبار</description><dc:language>ar</dc:language></channel>
${items
  .map(
    (i) => `<item rdf:about="https://almadar.example/rdf/${i.guid}"><title>${i.title}</title>
<link>https://almadar.example/rdf/${i.guid}</link><dc:date>${i.date.toISOString()}</dc:date>
<dc:creator>مراسل المدار</dc:creator><dc:subject>رياضة</dc:subject>
<content:encoded><![CDATA[<p>${i.title}: التفاصيل الكاملة.</p>]]></content:encoded></item>`,
  )
  .join('\n')}
</rdf:RDF>`;

describe('feed polling', () => {
  let ctx: TestContext;
  let server: Server;
  const requests: Array<{ path: string; ifNoneMatch?: string; ifModifiedSince?: string }> = [];
  let rssItems: Item[] = [];
  let atomItems: Item[] = [];
  let rdfItems: Item[] = [];
  let rssVersion = 1;

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push({
        path: req.url ?? '',
        ifNoneMatch: req.headers['if-none-match'] as string | undefined,
        ifModifiedSince: req.headers['if-modified-since'] as string | undefined,
      });
      if (req.url === '/rss.xml') {
        const etag = `"rss-${rssVersion}"`;
        if (req.headers['if-none-match'] === etag) return res.writeHead(304).end();
        res.writeHead(200, { 'content-type': 'application/rss+xml; charset=utf-8', etag });
        return res.end(rss(rssItems));
      }
      if (req.url === '/atom.xml') {
        const lastModified = 'Sun, 29 Nov 2026 08:00:00 GMT';
        if (req.headers['if-modified-since'] === lastModified) return res.writeHead(304).end();
        res.writeHead(200, { 'content-type': 'application/atom+xml', 'last-modified': lastModified });
        return res.end(atom(atomItems));
      }
      if (req.url === '/rdf.xml') {
        res.writeHead(200, { 'content-type': 'application/rdf+xml' });
        return res.end(rdf(rdfItems));
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    ctx = await createTestContext({
      workers: false,
      now: '2026-11-29T08:00:00Z',
      env: {
        PUBLICATION_CONFIG: publicationFile({
          feeds: [
            { id: 'main-rss', type: 'rss', url: `${base}/rss.xml` },
            { id: 'english', type: 'atom', url: `${base}/atom.xml`, language: 'en', lookbackHours: 2 },
            { id: 'rdf-news', type: 'rss', url: `${base}/rdf.xml`, lookbackHours: 2 },
          ],
        }),
      },
    });
  });
  afterAll(async () => {
    await ctx?.close();
    server?.close();
  });

  const stored = async (source: string) =>
    (
      await ctx.db.query(
        'SELECT external_id, title, language, topics FROM articles WHERE source = $1 ORDER BY external_id',
        [source],
      )
    ).rows;
  async function pollAndApply(feedId: string) {
    const result = await ctx.container.feedPoller.poll(feedId);
    const { rows } = await ctx.db.query(
      'SELECT id FROM article_events WHERE processed_at IS NULL ORDER BY id',
    );
    for (const r of rows) await ctx.container.ingest.process(r.id);
    return result;
  }

  it('takes only items newer than the source on the first poll, then new items, de-duplicated by guid', async () => {
    const now = ctx.clock.now().getTime();
    rssItems = [
      { guid: 'p-1', title: 'خبر قديم من الأرشيف', date: new Date(now - 3 * 3600_000) },
      { guid: 'p-2', title: 'خبر قديم آخر', date: new Date(now - 3600_000) },
    ];
    const first = await pollAndApply('main-rss');
    expect(first).toMatchObject({ status: 200, found: 2, stored: 0 });
    expect(await stored('feed:main-rss')).toEqual([]);

    ctx.clock.advance(10 * 60_000);
    rssItems = [{ guid: 'p-3', title: 'ارتفاع أسعار الذهب', date: new Date(now + 5 * 60_000) }, ...rssItems];
    rssVersion = 2;
    const second = await pollAndApply('main-rss');
    expect(second).toMatchObject({ status: 200, found: 3, stored: 1 });
    expect(await stored('feed:main-rss')).toEqual([
      { external_id: 'p-3', title: 'ارتفاع أسعار الذهب', language: 'ar', topics: ['economy'] },
    ]);

    // the same document again under a new ETag: nothing new
    rssVersion = 3;
    const third = await pollAndApply('main-rss');
    expect(third).toMatchObject({ status: 200, stored: 0 });
    expect((await stored('feed:main-rss')).length).toBe(1);
  });

  it('uses conditional GET: an unchanged feed answers 304 and costs nothing', async () => {
    const before = requests.length;
    const result = await pollAndApply('main-rss');
    expect(result).toMatchObject({ status: 304, stored: 0 });
    expect(requests[before]).toMatchObject({ path: '/rss.xml', ifNoneMatch: '"rss-3"' });
  });

  it('reads Atom with a configured look-back on the first poll, and Last-Modified on the next', async () => {
    const now = ctx.clock.now().getTime();
    atomItems = [
      { guid: 'urn:en:1', title: 'Cup final moved to Saturday', date: new Date(now - 3600_000) },
      { guid: 'urn:en:2', title: 'Old season review', date: new Date(now - 5 * 3600_000) },
    ];
    const first = await pollAndApply('english');
    expect(first).toMatchObject({ status: 200, found: 2, stored: 1 });
    expect(await stored('feed:english')).toEqual([
      { external_id: 'urn:en:1', title: 'Cup final moved to Saturday', language: 'en', topics: ['sport'] },
    ]);
    const second = await pollAndApply('english');
    expect(second?.status).toBe(304);
    expect(requests.at(-1)?.ifModifiedSince).toBe('Sun, 29 Nov 2026 08:00:00 GMT');
  });

  it('turns an RSS 1.0 (RDF) feed into articles', async () => {
    const now = ctx.clock.now().getTime();
    rdfItems = [{ guid: 'r-1', title: 'المنتخب يتأهل إلى النهائي', date: new Date(now - 30 * 60_000) }];
    const result = await pollAndApply('rdf-news');
    expect(result).toMatchObject({ status: 200, found: 1, stored: 1, skipped: [] });
    const { rows } = await ctx.db.query(
      `SELECT external_id, title, author, language, language_origin, topics, body_html, status
         FROM articles WHERE source = 'feed:rdf-news'`,
    );
    expect(rows).toEqual([
      {
        external_id: 'https://almadar.example/rdf/r-1',
        title: 'المنتخب يتأهل إلى النهائي',
        author: 'مراسل المدار',
        language: 'ar',
        language_origin: 'cms',
        topics: ['sport'],
        body_html: '<p>المنتخب يتأهل إلى النهائي: التفاصيل الكاملة.</p>',
        status: 'published',
      },
    ]);
  });

  it('runs from one BullMQ job scheduler per configured feed', async () => {
    const { setupSchedulers } = await import('../../workers/index.js');
    await setupSchedulers(ctx.container);
    await setupSchedulers(ctx.container); // a second worker process starting: still one each
    const schedulers = await ctx.container.queues.get('feeds').getJobSchedulers();
    expect(schedulers.map((s) => s.key).sort()).toEqual(['feed-english', 'feed-main-rss', 'feed-rdf-news']);
  });
});
