import { describe, expect, it } from 'vitest';
import {
  canonicalUrl,
  decodeTitle,
  isBreaking,
  parseDate,
  sanitizeBody,
  summarize,
  topicsFor,
} from '../../../src/articles/index.js';
import { wallClockToUtc } from '../../../src/time/zoned-time.js';
import { publication } from './helpers.js';

describe('decodeTitle', () => {
  it('decodes the entities WordPress writes into titles', () => {
    expect(decodeTitle('الأسعار &#8211; تقرير')).toBe('الأسعار – تقرير');
    expect(decodeTitle('انتظر&hellip; ثم &amp; بعد')).toBe('انتظر… ثم & بعد');
    expect(decodeTitle('&#8220;اقتباس&#8221; &laquo;مزدوج&raquo;')).toBe('“اقتباس” «مزدوج»');
    expect(decodeTitle('  <em>عنوان</em>\n مائل ')).toBe('عنوان مائل');
  });
});

describe('summarize', () => {
  const sentence =
    'قالت الحكومة إن خطة إعادة الإعمار ستشمل المدارس والمستشفيات، وستبدأ المرحلة الأولى منها في الربيع المقبل؛ فهل تكفي الميزانية؟ ';

  it('keeps a short excerpt whole, text only, entities decoded, whitespace collapsed', () => {
    expect(summarize('<p>خبر   قصير &amp; واضح</p>\n<p>ثانٍ</p>', '')).toBe('خبر قصير & واضح ثانٍ');
  });

  it('cuts a long Arabic body at a word boundary within ~280 characters, ending with …', () => {
    const body = `<p>${sentence.repeat(6)}</p>`;
    const summary = summarize(undefined, body);
    expect([...summary].length).toBeLessThanOrEqual(280);
    expect([...summary].length).toBeGreaterThan(230);
    expect(summary.endsWith('…')).toBe(true);
    const kept = summary.slice(0, -1);
    // Every kept word is a whole word of the source text.
    const words = new Set(sentence.split(/\s+/).map((w) => w.replace(/[،؛؟]/g, '')));
    for (const word of kept.split(' ')) expect(words.has(word.replace(/[،؛؟]/g, ''))).toBe(true);
    // No dangling Arabic comma, semicolon or question mark before the ellipsis.
    expect(kept).not.toMatch(/[،؛؟\s]$/);
  });

  it('replaces WordPress "[&hellip;]" with a single ellipsis', () => {
    expect(summarize('<p>بداية الخبر هنا [&hellip;]</p>', '<p>النص</p>')).toBe('بداية الخبر هنا…');
  });

  it('falls back to the body when the excerpt is empty', () => {
    expect(summarize('', '<p>من النص</p><figure><figcaption>تعليق الصورة</figcaption></figure>')).toBe(
      'من النص',
    );
  });

  it('never splits a single over-long word between a letter and its diacritic', () => {
    const word = 'مُحَمَّدٌ'.repeat(60);
    const summary = summarize(undefined, word);
    expect(summary.endsWith('…')).toBe(true);
    expect(/^[\u064B-\u0652]/.test(word.slice(summary.length - 1))).toBe(false);
  });
});

describe('sanitizeBody', () => {
  it('keeps article markup and drops scripts, styles, iframes, handlers and non-http links', () => {
    const html = sanitizeBody(
      '<h2 dir="rtl">عنوان</h2><p onclick="x()" style="color:red">نص <a href="javascript:alert(1)">خبيث</a> و<a href="/local">محلي</a></p><script>alert(1)</script><style>p{}</style><iframe src="https://x"></iframe><img src="data:image/png;base64,AAAA"><img src="/a.jpg" alt="صورة" onerror="x()">',
      'https://almadar.example/news/item/',
    );
    expect(html).toBe(
      '<h2 dir="rtl">عنوان</h2><p>نص <a>خبيث</a> و<a href="https://almadar.example/local">محلي</a></p><img src="https://almadar.example/a.jpg" alt="صورة" />',
    );
  });
});

describe('canonicalUrl', () => {
  it('decodes percent-encoded Arabic slugs into a valid IRI', () => {
    const raw =
      'https://almadar.example/2024/05/%d8%ac%d8%b3%d8%b1-%d8%a7%d9%84%d8%b9%d8%a7%d8%b5%d9%8a/#comments';
    const iri = canonicalUrl(raw);
    expect(iri).toBe('https://almadar.example/2024/05/جسر-العاصي/');
    // Round trip: the IRI parses back to the same URL as the original.
    expect(new URL(iri!).href.toLowerCase()).toBe(raw.split('#')[0]!.toLowerCase());
  });

  it('keeps encoded what would change meaning, and rejects non-http URLs', () => {
    expect(canonicalUrl('https://x.example/a%2Fb/%20c?q=%d8%a7')).toBe(
      'https://x.example/a%2Fb/%20c?q=%d8%a7',
    );
    expect(canonicalUrl('https://x.example/%ZZ/')).toBe('https://x.example/%ZZ/');
    expect(canonicalUrl('/relative/', 'https://x.example/base/')).toBe('https://x.example/relative/');
    expect(canonicalUrl('javascript:alert(1)')).toBeNull();
    expect(canonicalUrl('not a url')).toBeNull();
  });
});

describe('parseDate', () => {
  it('reads explicit zones as written', () => {
    expect(parseDate('2024-05-14T09:30:00+03:00', 'UTC')).toEqual(new Date('2024-05-14T06:30:00Z'));
    expect(parseDate('Tue, 21 May 2024 09:00:00 +0300', 'UTC')).toEqual(new Date('2024-05-21T06:00:00Z'));
    expect(parseDate('Tue, 21 May 2024 09:00:00 GMT', 'Asia/Damascus')).toEqual(
      new Date('2024-05-21T09:00:00Z'),
    );
  });

  it('reads zone-less times in Asia/Damascus across the 2022 spring-forward gap', () => {
    // UTC+2 before 25 March 2022 00:00, UTC+3 after (clocks jumped from 00:00 to 01:00).
    expect(parseDate('2022-03-24 12:00:00', 'Asia/Damascus')).toEqual(new Date('2022-03-24T10:00:00Z'));
    expect(parseDate('2022-03-25 12:00:00', 'Asia/Damascus')).toEqual(new Date('2022-03-25T09:00:00Z'));
    // 00:30 never happened that night: it is read as 01:30 (UTC+3), like Temporal's "compatible".
    expect(parseDate('2022-03-25 00:30:00', 'Asia/Damascus')).toEqual(new Date('2022-03-24T22:30:00Z'));
  });

  it('takes the first occurrence of a time repeated at the 2021 fall-back', () => {
    // 29 October 2021 00:00 (UTC+3) went back to 28 October 23:00 (UTC+2): 23:30 happened twice.
    expect(parseDate('2021-10-28 23:30:00', 'Asia/Damascus')).toEqual(new Date('2021-10-28T20:30:00Z'));
    expect(parseDate('2021-10-29 08:00:00', 'Asia/Damascus')).toEqual(new Date('2021-10-29T06:00:00Z'));
    expect(
      wallClockToUtc(
        { year: 2021, month: 10, day: 28, hour: 22, minute: 59, second: 0, millisecond: 0 },
        'Asia/Damascus',
      ),
    ).toEqual(new Date('2021-10-28T19:59:00Z'));
  });

  it('handles other zones and DST rules (America/New_York)', () => {
    expect(parseDate('2024-03-10T02:30:00', 'America/New_York')).toEqual(new Date('2024-03-10T07:30:00Z'));
    expect(parseDate('2024-11-03 01:30:00', 'America/New_York')).toEqual(new Date('2024-11-03T05:30:00Z'));
  });

  it('means "no date" for WordPress zero dates and rejects unreadable strings', () => {
    expect(parseDate('0000-00-00 00:00:00', 'UTC')).toBeNull();
    expect(parseDate('', 'UTC')).toBeNull();
    expect(parseDate('yesterday', 'UTC')).toBeUndefined();
    expect(parseDate('Tue, 21 May 2024 09:00:00', 'UTC')).toBeUndefined();
  });
});

describe('topics and breaking', () => {
  const pub = publication();
  it('maps categories and tags to topics case-insensitively and trimmed, once each', () => {
    expect(topicsFor([' سياسة ', 'world', 'WORLD', 'تقارير', 'غير معروف'], pub)).toEqual([
      'politics',
      'reports',
    ]);
  });

  it('flags breaking news by term, Arabic or English, any case', () => {
    expect(isBreaking(['اقتصاد', 'عاجل'], pub)).toBe(true);
    expect(isBreaking(['BREAKING'], pub)).toBe(true);
    expect(isBreaking(['اقتصاد', 'عاجلة'], pub)).toBe(false);
  });
});
