import { describe, expect, it } from 'vitest';
import type { Language } from '../../../src/publication.js';
import { SUBJECT_MAX_CHARS } from '../../../src/render/edition-renderer.js';
import {
  getCompileCount,
  PERSONAL_TOKENS,
  personalize,
  type RenderArticle,
  RenderError,
  type RenderedEdition,
  renderEdition,
} from '../../../src/render/index.js';
import {
  arabicArticles,
  englishArticles,
  SAMPLE_DATE,
  samplePublication,
} from '../../fixtures/sample-articles.js';
import { expectGolden, hrefs, visibleText } from './render-helpers.js';

const publication = samplePublication();
const articlesFor = (language: Language) => (language === 'ar' ? arabicArticles : englishArticles);

async function digest(language: Language, overrides: Partial<Parameters<typeof renderEdition>[0]> = {}) {
  return renderEdition({
    template: 'digest',
    language,
    articles: articlesFor(language),
    publication,
    editionId: `golden-${language}`,
    date: SAMPLE_DATE,
    frequency: 'daily',
    ...overrides,
  });
}

async function alert(language: Language): Promise<RenderedEdition> {
  return renderEdition({
    template: 'alert',
    language,
    articles: [articlesFor(language)[1]!],
    publication,
    editionId: `golden-alert-${language}`,
    date: SAMPLE_DATE,
    frequency: 'immediate',
  });
}

describe('renderEdition goldens', () => {
  it.each(['ar', 'en'] as const)('digest %s matches its golden files', async (language) => {
    const rendered = await digest(language);
    expectGolden(`digest-${language}.html`, rendered.html);
    expectGolden(`digest-${language}.txt`, rendered.text);
  });

  it.each(['ar', 'en'] as const)('alert %s matches its golden files', async (language) => {
    const rendered = await alert(language);
    expectGolden(`alert-${language}.html`, rendered.html);
    expectGolden(`alert-${language}.txt`, rendered.text);
  });
});

describe('what an Arabic reader sees', () => {
  it('is right-to-left Arabic with a localised subject and date', async () => {
    const { html, subject, text } = await digest('ar');
    expect(html).toMatch(/<html lang="ar" dir="rtl"/);
    // The body wrapper div carries lang and dir too (Gmail drops the <html> element).
    expect(html).toMatch(/<div[^>]*role="article"[^>]*lang="ar" dir="rtl"/);
    // The subject leads with the news; the brand is the sender's name, the date is in the mail.
    expect(subject).toBe('الحكومة تقرّ خطة لإعادة تأهيل شبكة الكهرباء في المحافظات… و٧ أخبار أخرى');
    expect(html).toContain('الأحد، ١ تشرين الثاني ٢٠٢٦');
    expect(html).toContain("font-family:'Noto Naskh Arabic', 'SF Arabic', 'Geeza Pro', 'Segoe UI'");
    expect(html).toMatch(/text-align:right/);
    expect(html).not.toMatch(/<div[^>]*style="[^"]*text-align:left/);
    // Multi-column rows run right to left.
    expect(html).toContain('direction:rtl');
    expect(text).toContain('== سياسة ==');
  });

  it('isolates a Latin byline inside Arabic text', async () => {
    const { html, text } = await digest('ar');
    expect(html).toContain('بقلم <bdi>\u2068Sarah Whitfield\u2069</bdi>');
    expect(text).toContain('بقلم \u2068Sarah Whitfield\u2069');
  });

  it('groups articles under topic headings in the publication order with every link', async () => {
    const { html, text, included, omitted } = await digest('ar');
    expect(included).toEqual(arabicArticles.map((a) => a.id));
    expect(omitted).toEqual([]);
    const seen = visibleText(html);
    const order = ['سياسة', 'اقتصاد', 'صحة ومجتمع', 'تقارير', 'ثقافة', 'رياضة'].map((label) =>
      seen.indexOf(label),
    );
    expect(order.every((at, i) => at > 0 && (i === 0 || at > order[i - 1]!))).toBe(true);
    const links = hrefs(html);
    for (const article of arabicArticles) {
      expect(links).toContain(article.url);
      expect(text).toContain(article.url);
    }
    expect(html).toContain('src="https://almadar.example/images/2026/11/power-grid.jpg"');
    expect(html).toContain('alt="عمال صيانة على أحد أبراج نقل الكهرباء"');
  });

  it('has a footer with the publisher, address and the personal links', async () => {
    const { html, text } = await digest('ar');
    for (const part of [html, text]) {
      expect(part).toContain('صحيفة المدار، شارع بغداد 12، دمشق، سوريا');
      expect(part).toContain(PERSONAL_TOKENS.unsubscribe_url);
      expect(part).toContain(PERSONAL_TOKENS.preferences_url);
      expect(part).toContain(PERSONAL_TOKENS.archive_url);
    }
    expect(html).toContain(
      `<a href="${PERSONAL_TOKENS.unsubscribe_url}" style="color:#3c3c43;">إلغاء الاشتراك</a>`,
    );
    expect(html).toContain('عرض الرسالة في المتصفح');
  });

  it('writes a plain-text part without HTML remnants', async () => {
    const { text } = await digest('ar');
    expect(text).not.toMatch(/<[a-z/!]|&[a-z]+;|&#\d+;/i);
    expect(text).toContain('الحكومة تقرّ خطة لإعادة تأهيل شبكة الكهرباء');
    expect(text.startsWith('\u200fصحيفة المدار\n')).toBe(true);
  });
});

describe('what an English reader sees', () => {
  it('is left-to-right from the same templates', async () => {
    const { html, subject, text } = await digest('en');
    expect(html).toMatch(/<html lang="en" dir="ltr"/);
    expect(html).toMatch(/<div[^>]*role="article"[^>]*lang="en" dir="ltr"/);
    expect(html).not.toContain('direction:rtl');
    expect(html).toMatch(/text-align:left/);
    expect(subject).toBe('Cabinet approves plan to rebuild the northern power grid and 7 more stories');
    expect(text).toContain('== Politics ==');
    expect(text).toContain('Damascus International Fair returns with 35 countries & local start-ups');
    expect(html).toContain('35 countries &amp; local start-ups');
  });

  it('alert subject carries the breaking title', async () => {
    expect((await alert('en')).subject).toBe(
      'Breaking | Neighbouring foreign ministers meet in Amman on border crossings',
    );
    expect((await alert('ar')).subject).toBe(
      'عاجل | وزراء خارجية دول الجوار يجتمعون في عمّان لبحث ملف المعابر الحدودية',
    );
  });
});

describe('subjects lead with the news', () => {
  const take = (n: number) =>
    arabicArticles
      .concat(arabicArticles)
      .slice(0, n)
      .map((a, i) => ({ ...a, id: `s-${i}` }));

  it.each([
    [1, 'الحكومة تقرّ خطة لإعادة تأهيل شبكة الكهرباء في المحافظات الشمالية'],
    [2, ' وخبر آخر'],
    [3, ' وخبران آخران'],
    [5, ' و٤ أخبار أخرى'],
  ])(
    'an Arabic digest of %i stories says how many follow in Arabic grammar and digits',
    async (n, ending) => {
      const { subject } = await digest('ar', { articles: take(n) });
      expect(subject.endsWith(ending)).toBe(true);
      expect(subject.length).toBeLessThanOrEqual(SUBJECT_MAX_CHARS);
    },
  );

  it('uses the many form from eleven on, and fits the subject line', async () => {
    const many = Array.from({ length: 14 }, (_, i) => ({
      ...arabicArticles[i % arabicArticles.length]!,
      id: `m-${i}`,
    }));
    const { subject } = await digest('ar', { articles: many, maxHtmlBytes: 10_000_000 });
    expect(subject).toMatch(/ و١٣ خبراً آخر$/);
    expect(subject.length).toBeLessThanOrEqual(SUBJECT_MAX_CHARS);
  });

  it('does not say Breaking twice when the title already does', async () => {
    const base = arabicArticles[1]!;
    const own = await renderEdition({
      template: 'alert',
      language: 'ar',
      articles: [{ ...base, title: 'عاجل: زلزال بقوة 5 درجات يضرب ريف اللاذقية' }],
      publication,
      editionId: 'alert-own-term',
      date: SAMPLE_DATE,
      frequency: 'immediate',
    });
    expect(own.subject).toBe('عاجل: زلزال بقوة 5 درجات يضرب ريف اللاذقية');
    const english = await renderEdition({
      template: 'alert',
      language: 'en',
      articles: [{ ...englishArticles[1]!, title: 'BREAKING - Earthquake shakes the coast' }],
      publication,
      editionId: 'alert-own-term-en',
      date: SAMPLE_DATE,
      frequency: 'immediate',
    });
    expect(english.subject).toBe('BREAKING - Earthquake shakes the coast');
    // a word that only starts like the term is not the term
    const breakingPoint = await renderEdition({
      template: 'alert',
      language: 'en',
      articles: [{ ...englishArticles[1]!, title: 'Breakingviews: markets calm' }],
      publication,
      editionId: 'alert-not-term-en',
      date: SAMPLE_DATE,
      frequency: 'immediate',
    });
    expect(breakingPoint.subject).toBe('Breaking | Breakingviews: markets calm');
  });
});

describe('one compile per edition', () => {
  it('runs MJML exactly once per renderEdition call, never in personalize', async () => {
    const before = getCompileCount();
    const rendered = await digest('ar');
    expect(rendered.compileCount).toBe(1);
    expect(getCompileCount() - before).toBe(1);
    for (let i = 0; i < 50; i++) {
      personalize(rendered, {
        greeting_name: `reader ${i}`,
        preferences_url: `https://almadar.example/p/${i}`,
        unsubscribe_url: `https://almadar.example/u/${i}`,
        archive_url: 'https://almadar.example/a/1',
      });
    }
    expect(getCompileCount() - before).toBe(1);
  });
});

describe('personalize', () => {
  it('escapes values for html, keeps them raw for text, and picks the greeting phrasing', async () => {
    const rendered = await digest('ar');
    const values = {
      greeting_name: 'Tom <script>alert(1)</script>',
      preferences_url: 'https://almadar.example/p?a=1&b=2',
      unsubscribe_url: 'https://almadar.example/u?t="x"',
      archive_url: 'https://almadar.example/a/1',
    };
    const { html, text } = personalize(rendered, values);
    expect(html).not.toMatch(/\{\{\w+\}\}/);
    expect(html).not.toContain('<script>');
    expect(html).toContain('مرحباً \u2068Tom &lt;script&gt;alert(1)&lt;/script&gt;\u2069،');
    expect(html).toContain('href="https://almadar.example/p?a=1&amp;b=2"');
    expect(html).toContain('href="https://almadar.example/u?t=&quot;x&quot;"');
    expect(text).toContain('مرحباً \u2068Tom <script>alert(1)</script>\u2069،');
    expect(text).toContain('https://almadar.example/p?a=1&b=2');
    expect(personalize(rendered, { ...values, greeting_name: '  ' }).text).toContain('مرحباً بك،');
  });
});

describe('untrusted content', () => {
  const hostile: RenderArticle = {
    id: 'evil',
    title: '<mj-include path="/etc/passwd" /> <script>alert("x")</script> {{unsubscribe_url}}',
    summary: '</mj-text><mj-raw><img src=x onerror=alert(1)></mj-raw> & more',
    url: 'https://almadar.example/ar/evil?q="><script>',
    imageUrl: 'javascript:alert(1)',
    imageAlt: '" onerror="alert(1)',
    author: '<b>Mallory</b>',
    topics: ['politics'],
    publishedAt: SAMPLE_DATE,
    breaking: false,
  };

  it('renders titles, summaries and names as inert text', async () => {
    const { html, text } = await digest('ar', { articles: [arabicArticles[0]!, hostile] });
    expect(html).not.toContain('root:');
    expect(html).not.toMatch(/<script|<mj-|<img[^>]*src="x"|<[^>]*onerror=|<b>Mallory/);
    expect(html).toContain('&lt;mj-include path=&quot;/etc/passwd&quot; /&gt; &lt;script&gt;');
    expect(html).toContain('&lt;/mj-text&gt;&lt;mj-raw&gt;');
    expect(html).toContain('&lt;b&gt;Mallory&lt;/b&gt;');
    expect(html).toContain('href="https://almadar.example/ar/evil?q=%22%3E%3Cscript%3E"');
    expect(html).not.toContain('javascript:');
    // A title cannot spell a personal token: only the footer's real tokens remain.
    expect(html.split(PERSONAL_TOKENS.unsubscribe_url)).toHaveLength(2);
    expect(text.split(PERSONAL_TOKENS.unsubscribe_url)).toHaveLength(2);
  });

  it('omits articles whose URL is not http(s)', async () => {
    const rendered = await digest('en', {
      articles: [englishArticles[0]!, { ...englishArticles[1]!, url: 'javascript:alert(1)' }],
    });
    expect(rendered.included).toEqual([englishArticles[0]!.id]);
    expect(rendered.omitted).toEqual([{ id: englishArticles[1]!.id, reason: 'invalid-url' }]);
  });

  it('refuses an edition with nothing renderable and an alert with several articles', async () => {
    await expect(digest('en', { articles: [] })).rejects.toThrow(RenderError);
    await expect(
      renderEdition({
        template: 'alert',
        language: 'en',
        articles: englishArticles.slice(0, 2),
        publication,
        editionId: 'x',
        date: SAMPLE_DATE,
        frequency: 'immediate',
      }),
    ).rejects.toThrow(/exactly one article/);
  });
});

describe('size and count limits', () => {
  const many = Array.from({ length: 40 }, (_, i) => ({
    ...arabicArticles[i % arabicArticles.length]!,
    id: `bulk-${i}`,
    url: `https://almadar.example/ar/bulk/${i}`,
  }));

  it('drops the lowest items to stay under the byte budget and links to the site', async () => {
    const full = await digest('ar', { articles: many.slice(0, 8) });
    const budget = full.htmlBytes - 4000;
    const capped = await digest('ar', { articles: many.slice(0, 8), maxHtmlBytes: budget });
    expect(capped.compileCount).toBe(1);
    expect(capped.htmlBytes).toBeLessThanOrEqual(budget);
    expect(capped.included[0]).toBe('bulk-0');
    const dropped = capped.omitted.map((o) => o.id);
    expect(dropped.length).toBeGreaterThan(0);
    expect(capped.omitted.every((o) => o.reason === 'size-limit')).toBe(true);
    // Lowest priority first.
    expect(dropped).toEqual(
      many
        .slice(8 - dropped.length, 8)
        .map((a) => a.id)
        .reverse(),
    );
    expect(capped.html).not.toContain('https://almadar.example/ar/bulk/7"');
    expect(capped.text).not.toContain('https://almadar.example/ar/bulk/7\n');
    expect(capped.html).toContain('href="https://almadar.example"');
    expect(capped.html).toContain('المزيد من الأخبار على موقع صحيفة المدار');
    expect(capped.html).not.toContain('<!--gz:');
    // A topic whose only item was dropped loses its heading as well.
    expect(visibleText(capped.html)).not.toContain('رياضة');
    expect(full.html).not.toContain('المزيد من الأخبار على موقع');
  });

  it('applies the publication item limit and keeps the default budget under Gmail clipping', async () => {
    const rendered = await digest('ar', { articles: many, frequency: 'weekly' });
    const sizeDrops = rendered.omitted.filter((o) => o.reason === 'size-limit').length;
    expect(rendered.omitted.filter((o) => o.reason === 'count-limit')).toHaveLength(40 - 20);
    expect(rendered.included).toHaveLength(publication.digest.weeklyMaxItems - sizeDrops);
    expect(rendered.htmlBytes).toBeLessThanOrEqual(92_000);
    // The count in the subject is of the stories that stayed after the size budget.
    const others = rendered.included.length - 1;
    expect(rendered.subject).toMatch(/^حصاد الأسبوع: الحكومة تقرّ .*… و[٠-٩]+ (?:خبراً آخر|أخبار أخرى)$/);
    expect(rendered.subject).toContain(
      `و${others.toLocaleString('ar-SY', { numberingSystem: 'arab' } as Intl.NumberFormatOptions)} `,
    );
    expect(rendered.html).toContain(`<title>${rendered.subject}</title>`);
  });
});

describe('personal tokens never leak into content links', () => {
  // Braces in a query string survive URL normalisation; a CMS author (or a feed) can therefore
  // ask for the reader's own links inside an article URL or an image URL.
  const leaky: RenderArticle = {
    id: 'leaky',
    title: 'عرض خاص لقرّاء المدار',
    summary: 'تفاصيل العرض في الرابط',
    url: 'https://evil.example/r?p={{preferences_url}}&u={{unsubscribe_url}}#{{greeting_name}}',
    imageUrl: 'https://evil.example/pixel.png?p={{preferences_url}}&u={{unsubscribe_url}}',
    imageAlt: 'صورة',
    author: null,
    topics: ['politics'],
    publishedAt: SAMPLE_DATE,
    breaking: false,
  };
  const values = {
    greeting_name: 'سلمى',
    preferences_url: 'https://almadar.example/preferences/PREFS-SECRET-7',
    unsubscribe_url: 'https://almadar.example/unsubscribe/UNSUB-SECRET-7',
    archive_url: 'https://almadar.example/archive/1',
  };
  const evilUrls = (s: string) => s.match(/https:\/\/evil\.example[^\s"'<>]*/g) ?? [];

  it.each([
    ['digest', 'ar'],
    ['digest', 'en'],
    ['alert', 'ar'],
  ] as const)(
    '%s %s: article and image URLs keep their braces inert in both parts',
    async (template, language) => {
      const rendered = await renderEdition({
        template,
        language,
        articles: template === 'alert' ? [leaky] : [articlesFor(language)[0]!, leaky],
        publication,
        editionId: `leak-${template}-${language}`,
        date: SAMPLE_DATE,
        frequency: template === 'alert' ? 'immediate' : 'daily',
      });
      const { html, text } = personalize(rendered, values);
      const urls = [...evilUrls(html), ...evilUrls(text)];
      // Both parts link the article, the html part also shows its image.
      expect(urls.length).toBeGreaterThanOrEqual(template === 'alert' ? 3 : 3);
      for (const url of urls) {
        expect(url).not.toMatch(/SECRET|سلمى|almadar/);
        expect(url).not.toContain('{{');
      }
      // The reader's own links are still filled where the template put them.
      expect(html).toContain('href="https://almadar.example/unsubscribe/UNSUB-SECRET-7"');
      expect(text).toContain('\nhttps://almadar.example/unsubscribe/UNSUB-SECRET-7\n');
      expect(text).toContain(
        'https://evil.example/r?p=%7B%7Bpreferences_url%7D%7D&u=%7B%7Bunsubscribe_url%7D%7D',
      );
    },
  );
});
