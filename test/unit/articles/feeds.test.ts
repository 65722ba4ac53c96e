import { describe, expect, it } from 'vitest';
import {
  type NormalizedArticle,
  PayloadError,
  parseFeed,
  selectNewItems,
} from '../../../src/articles/index.js';
import { fixture, fixtureText, publication } from './helpers.js';

const pub = publication();

describe('RSS 2.0', () => {
  it('parses an Arabic feed: content:encoded, dc:creator, media:content, enclosure, categories, language', () => {
    const skipped: [string, number][] = [];
    const items = parseFeed(
      fixtureText('feeds/rss-ar.xml'),
      { id: 'main', type: 'rss', url: 'https://almadar.example/feed/' },
      pub,
      (reason, index) => skipped.push([reason, index]),
    );
    expect(skipped).toEqual([['item 2: neither <link> nor <guid>', 2]]);
    expect(items).toEqual([
      {
        source: 'feed',
        sourceKey: 'feed:main',
        externalId: 'https://almadar.example/?p=7001',
        url: 'https://almadar.example/2024/05/جسر-العاصي/',
        title: 'افتتاح جسر جديد فوق نهر العاصي – المرحلة الأولى',
        summary: 'افتتحت محافظة حماة اليوم جسراً جديداً فوق نهر العاصي يربط الأحياء الغربية بوسط المدينة.',
        bodyHtml:
          '<p>افتتحت محافظة حماة اليوم جسراً جديداً فوق نهر العاصي.</p><p>ويبلغ طول الجسر مئة وعشرين متراً.</p>',
        imageUrl: 'https://almadar.example/wp-content/uploads/2024/05/bridge.jpg',
        imageAlt: 'الجسر الجديد عند الافتتاح',
        author: 'عمر الشامي',
        categories: ['سياسة', 'عاجل'],
        tags: [],
        topics: ['politics'],
        language: 'ar',
        languageOrigin: 'cms',
        publishedAt: new Date('2024-05-21T07:15:00Z'),
        modifiedAt: new Date('2024-05-21T07:15:00Z'),
        status: 'published',
        breaking: true,
        featured: false,
        priority: 0,
      },
      {
        source: 'feed',
        sourceKey: 'feed:main',
        externalId: 'https://almadar.example/?p=7002',
        url: 'https://almadar.example/2024/05/results/',
        title: 'نتائج امتحانات الشهادة الثانوية',
        summary: 'صدرت نتائج امتحانات الشهادة الثانوية & يمكن الاطلاع عليها عبر الموقع.',
        bodyHtml: '<p>صدرت نتائج امتحانات الشهادة الثانوية &amp; يمكن الاطلاع عليها عبر الموقع.</p>',
        imageUrl: 'https://almadar.example/wp-content/uploads/2024/05/results.png',
        imageAlt: null,
        author: 'قسم الأخبار',
        categories: ['مجتمع'],
        tags: [],
        topics: ['society'],
        language: 'ar',
        languageOrigin: 'cms',
        publishedAt: new Date('2024-05-21T06:00:00Z'),
        modifiedAt: new Date('2024-05-21T06:00:00Z'),
        status: 'published',
        breaking: false,
        featured: false,
        priority: 0,
      },
    ]);
  });

  it('takes the language the channel declares (en-US → en), then the letters, then the feed default', () => {
    const xml = fixtureText('feeds/rss-ar.xml');
    const feed = { id: 'x', type: 'rss' as const, url: 'https://almadar.example/feed/' };
    const lang = (body: string, f: typeof feed & { language?: 'ar' | 'en' } = feed) => {
      const first = parseFeed(body, f, pub)[0];
      return [first?.language, first?.languageOrigin];
    };
    const declaredEn = xml.replace('<language>ar-SY</language>', '<language>en-US</language>');
    // a declaration wins over the configured default: the configuration is the last resort
    expect(lang(declaredEn, { ...feed, language: 'ar' })).toEqual(['en', 'cms']);
    const undeclared = xml.replace('<language>ar-SY</language>', '');
    expect(lang(undeclared, { ...feed, language: 'en' })).toEqual(['ar', 'script']);
    const noLetters = undeclared
      .replace(/<title>[^<]*<\/title>/g, '<title>2024</title>')
      .replace(/<description>[\s\S]*?<\/description>/g, '')
      .replace(/<content:encoded>[\s\S]*?<\/content:encoded>/g, '');
    expect(lang(noLetters, { ...feed, language: 'en' })).toEqual(['en', 'source-default']);
  });

  it('skips an item whose declared language is neither mapped nor Arabic/English, naming the setting', () => {
    const xml = fixtureText('feeds/rss-ar.xml').replace(
      '<language>ar-SY</language>',
      '<language>fr</language>',
    );
    const feed = { id: 'x', type: 'rss' as const, url: 'https://almadar.example/feed/' };
    const skipped: string[] = [];
    expect(parseFeed(xml, feed, pub, (reason) => skipped.push(reason))).toEqual([]);
    expect(skipped[0]).toBe(
      'held: language "fr" (channel language) is neither Arabic nor English: map it in the publication file\'s languageMap',
    );
    const mapped = publication({ languageMap: { fr: 'en' } });
    expect(parseFeed(xml, feed, mapped)[0]?.language).toBe('en');
  });

  it('does not expand DOCTYPE entities (no billion laughs)', () => {
    const lol = `<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<rss version="2.0"><channel><title>t</title><item><title>&d;</title><link>https://x.example/1</link></item></channel></rss>`;
    const [item] = parseFeed(lol, { id: 'x', type: 'rss', url: 'https://x.example/' }, pub);
    expect(item?.title).toBe('&d;');
  });

  it('rejects documents that are not feeds', () => {
    const feed = { id: 'x', type: 'rss' as const, url: 'https://x.example/' };
    expect(() => parseFeed('<html><body>hi</body></html>', feed, pub)).toThrow(PayloadError);
    expect(() => parseFeed('<rss><channel><item>', feed, pub)).toThrow(/feed: /);
  });
});

describe('Atom', () => {
  it('parses an Arabic Atom feed: id, alternate link, published/updated, summary, xhtml content, category, author', () => {
    const items = parseFeed(
      fixtureText('feeds/atom-ar.xml'),
      { id: 'reports', type: 'atom', url: 'https://almadar.example/reports/feed/atom/' },
      pub,
    );
    expect(items).toEqual([
      {
        source: 'feed',
        sourceKey: 'feed:reports',
        externalId: 'tag:almadar.example,2024:reports/812',
        url: 'https://almadar.example/reports/solar-villages/',
        title: 'الطاقة الشمسية في الأرياف – تجربة ناجحة',
        summary: 'ركّبت عشرات الأسر في ريف إدلب ألواحاً شمسية <لتأمين> الكهرباء.',
        bodyHtml: '<p>ركّبت عشرات الأسر في ريف إدلب ألواحاً شمسية لتأمين الكهرباء لمنازلها.</p>',
        imageUrl: null,
        imageAlt: null,
        author: 'فريق التحرير',
        categories: ['تقارير'],
        tags: [],
        topics: ['reports'],
        language: 'ar',
        languageOrigin: 'cms',
        publishedAt: new Date('2024-05-22T03:00:00Z'),
        modifiedAt: new Date('2024-05-22T06:30:00Z'),
        status: 'published',
        breaking: false,
        featured: false,
        priority: 0,
      },
      {
        source: 'feed',
        sourceKey: 'feed:reports',
        externalId: 'tag:almadar.example,2024:reports/813',
        url: 'https://almadar.example/en/reports/solar/',
        title: 'Solar power spreads in rural areas',
        summary: 'Dozens of families installed solar panels.',
        bodyHtml: '<p>Dozens of families installed <b>solar panels</b>.</p>',
        imageUrl: null,
        imageAlt: null,
        author: 'Omar Saleh',
        categories: [],
        tags: [],
        topics: [],
        language: 'en',
        languageOrigin: 'cms',
        publishedAt: new Date('2024-05-22T09:45:00Z'),
        modifiedAt: new Date('2024-05-22T09:45:00Z'),
        status: 'published',
        breaking: false,
        featured: false,
        priority: 0,
      },
    ]);
  });
});

describe('WordPress REST list', () => {
  it('parses an array of _embed posts into articles of the feed source', () => {
    const post = fixture('wordpress/rest-post-embed.json');
    const items = parseFeed(
      JSON.stringify([post]),
      { id: 'wp', type: 'wordpress', url: 'https://almadar.example/wp-json/wp/v2/posts?_embed' },
      pub,
    );
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      source: 'feed',
      sourceKey: 'feed:wp',
      externalId: '6230',
      url: 'https://almadar.example/sport/مباراة/',
      categories: ['رياضة'],
      topics: ['sport'],
      author: 'سامر خليل',
    });
  });

  it('reads posts without _embed too (term names then unknown) and rejects non-arrays', () => {
    const feed = { id: 'wp', type: 'wordpress' as const, url: 'https://almadar.example/wp-json/wp/v2/posts' };
    const [item] = parseFeed(JSON.stringify([fixture('wordpress/rest-post-no-embed.json')]), feed, pub);
    expect(item?.title).toBe('ارتفاع أسعار الخضار في الأسواق');
    expect(item?.categories).toEqual([]);
    expect(() => parseFeed('{"code":"rest_no_route"}', feed, pub)).toThrow(/expected a JSON array/);
  });
});

describe('selectNewItems', () => {
  const item = (
    externalId: string,
    at: string | null,
  ): Pick<NormalizedArticle, 'externalId' | 'publishedAt' | 'modifiedAt'> => ({
    externalId,
    publishedAt: at ? new Date(at) : null,
    modifiedAt: null,
  });
  const items = [
    item('c', '2024-05-21T10:00:00Z'),
    item('old', '2024-05-01T00:00:00Z'),
    item('a', '2024-05-21T08:00:00Z'),
    item('undated', null),
    item('a', '2024-05-21T08:00:00Z'),
  ];

  it('on the first poll takes only items newer than since, oldest first, once each', () => {
    const picked = selectNewItems(items, { since: new Date('2024-05-20T00:00:00Z'), seen: new Set() });
    expect(picked.map((i) => i.externalId)).toEqual(['a', 'c']);
  });

  it('skips seen items and takes undated ones only when asked', () => {
    const picked = selectNewItems(items, {
      since: new Date('2024-05-20T00:00:00Z'),
      seen: new Set(['a']),
      includeUndated: true,
    });
    expect(picked.map((i) => i.externalId)).toEqual(['c', 'undated']);
  });
});

describe('RSS 1.0 (RDF)', () => {
  it('reads items beside the channel: rdf:about, dc:date, dc:creator, dc:subject, dc:language, content:encoded', () => {
    const items = parseFeed(
      fixtureText('feeds/rss1-rdf-ar.xml'),
      { id: 'rdf', type: 'rss', url: 'https://almadar.example/rdf' },
      pub,
    );
    expect(items).toEqual([
      {
        source: 'feed',
        sourceKey: 'feed:rdf',
        externalId: 'https://almadar.example/2026/11/قطار-حلب/',
        url: 'https://almadar.example/2026/11/قطار-حلب/',
        title: 'عودة قطار الركاب بين دمشق وحلب بعد انقطاع طويل',
        summary: 'انطلقت أول رحلة لقطار الركاب بين دمشق وحلب صباح اليوم.',
        bodyHtml:
          '<p>انطلقت أول رحلة لقطار الركاب بين دمشق وحلب صباح اليوم.</p><p>وتستغرق الرحلة خمس ساعات.</p>',
        imageUrl: null,
        imageAlt: null,
        author: 'سلمى النجار',
        categories: ['اقتصاد', 'نقل'],
        tags: [],
        topics: ['economy'],
        language: 'ar',
        languageOrigin: 'cms',
        publishedAt: new Date('2026-11-29T06:10:00Z'),
        modifiedAt: new Date('2026-11-29T06:10:00Z'),
        status: 'published',
        breaking: false,
        featured: false,
        priority: 0,
      },
      expect.objectContaining({
        externalId: 'https://almadar.example/2026/11/مهرجان-الزيتون/',
        url: 'https://almadar.example/en/2026/11/olive-festival/',
        title: 'Olive festival opens in Idlib',
        categories: ['Culture'],
        // the item's own dc:language wins over the channel's
        language: 'en',
        languageOrigin: 'cms',
      }),
    ]);
  });
});
