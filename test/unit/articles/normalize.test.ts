import { describe, expect, it } from 'vitest';
import {
  GenericArticleEventSchema,
  HeldError,
  normalizeGeneric,
  normalizeGhost,
  normalizeStrapi,
  normalizeWordPress,
  PayloadError,
} from '../../../src/articles/index.js';
import { loadPublication } from '../../../src/publication.js';
import { type FixtureJson, fixture, publication } from './helpers.js';

const pub = publication();

function payloadError(fn: () => unknown): PayloadError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PayloadError);
    expect((err as PayloadError).code).toBe('GZ_INVALID_PAYLOAD');
    return err as PayloadError;
  }
  throw new Error('expected a PayloadError');
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

describe('WordPress: WP Webhooks post_create', () => {
  const body = fixture('wordpress/wp-webhooks-post-create.json') as FixtureJson;

  it('normalizes every field', () => {
    const [event, ...rest] = normalizeWordPress(body, pub, { trigger: 'post_create' });
    expect(rest).toEqual([]);
    expect(event).toEqual({
      provider: 'wordpress',
      eventId: '4821@2024-05-14T07:05:12.000Z',
      action: 'upsert',
      externalId: '4821',
      article: {
        source: 'wordpress',
        sourceKey: 'wordpress',
        externalId: '4821',
        url: 'https://almadar.example/2024/05/14/بدء-موسم-الحصاد/',
        title: 'بدء موسم حصاد القمح في ريف حمص – توقعات بإنتاج وفير',
        summary:
          'أعلنت مديرية الزراعة في حمص صباح اليوم بدء موسم حصاد القمح في الريف الشرقي، وسط توقعات بإنتاج يفوق العام الماضي بفضل الأمطار الغزيرة التي هطلت خلال الشتاء. وقال مدير الزراعة إن فرق الدعم الفني ستجول على الحقول طوال الأسبوع لمتابعة عمليات الحصاد.',
        bodyHtml:
          '<p>أعلنت مديرية الزراعة في حمص صباح اليوم بدء موسم حصاد القمح في الريف الشرقي، وسط توقعات بإنتاج يفوق العام الماضي بفضل الأمطار الغزيرة التي هطلت خلال الشتاء.</p>\n<p>وقال مدير الزراعة إن فرق الدعم الفني ستجول على الحقول طوال الأسبوع <a href="https://almadar.example/tag/wheat/">لمتابعة</a> عمليات الحصاد.</p>',
        imageUrl: 'https://almadar.example/wp-content/uploads/2024/05/wheat.jpg',
        imageAlt: null,
        author: null,
        categories: ['اقتصاد'],
        tags: ['عاجل', 'القمح'],
        topics: ['economy'],
        language: 'ar',
        languageOrigin: 'script',
        publishedAt: new Date('2024-05-14T06:30:00Z'),
        modifiedAt: new Date('2024-05-14T07:05:12Z'),
        status: 'published',
        breaking: true,
        featured: false,
        priority: 0,
      },
    });
  });

  it('maps WordPress statuses to actions', () => {
    const cases: [string, string, string][] = [
      ['future', 'scheduled', 'upsert'],
      ['draft', 'draft', 'unpublish'],
      ['pending', 'draft', 'unpublish'],
      ['private', 'unpublished', 'unpublish'],
      ['trash', 'deleted', 'delete'],
    ];
    for (const [wp, status, action] of cases) {
      const b = clone(body);
      b.post.post_status = wp;
      const [event] = normalizeWordPress(b, pub);
      expect([event?.action, event?.article?.status]).toEqual([action, status]);
    }
  });

  it('treats post_delete as a delete even when the status still says publish', () => {
    const [event] = normalizeWordPress(body, pub, { trigger: 'post_delete' });
    expect(event?.action).toBe('delete');
    expect(event?.article?.status).toBe('deleted');
  });

  it('reads a draft without post_date_gmt in the site time zone, and wraps classic-editor paragraphs', () => {
    const b = clone(body);
    b.post.post_status = 'draft';
    b.post.post_date_gmt = '0000-00-00 00:00:00';
    b.post.post_content = 'السطر الأول\nالسطر الثاني\n\nفقرة ثانية';
    const [event] = normalizeWordPress(b, pub);
    expect(event?.article?.publishedAt).toEqual(new Date('2024-05-14T06:30:00Z'));
    expect(event?.article?.bodyHtml).toBe('<p>السطر الأول<br />\nالسطر الثاني</p>\n<p>فقرة ثانية</p>');
  });

  it('ignores pages and other post types', () => {
    const b = clone(body);
    b.post.post_type = 'page';
    expect(normalizeWordPress(b, pub)).toEqual([]);
  });

  it('names the missing field', () => {
    const b = clone(body);
    delete b.post.post_title;
    expect(payloadError(() => normalizeWordPress(b, pub)).message).toBe('post.post_title: required');
    const c = clone(body);
    c.post.post_status = 'weird';
    expect(payloadError(() => normalizeWordPress(c, pub)).message).toBe(
      'post.post_status: unknown status "weird"',
    );
    const d = clone(body);
    d.post.post_modified_gmt = 'soon';
    expect(payloadError(() => normalizeWordPress(d, pub)).message).toBe('post.post_modified_gmt: not a date');
    expect(payloadError(() => normalizeWordPress({ hello: 'world' }, pub)).message).toMatch(
      /^body: not a WordPress post payload/,
    );
    expect(payloadError(() => normalizeWordPress('nope', pub)).message).toBe('body: must be an object');
  });
});

describe('WordPress: New Post Webhook', () => {
  it('normalizes every field, reading date.raw in the site zone across the DST gap', () => {
    const [event] = normalizeWordPress(fixture('wordpress/new-post-webhook.json'), pub);
    expect(event).toEqual({
      provider: 'wordpress',
      eventId: '5102@2022-03-24T22:30:00.000Z',
      action: 'upsert',
      externalId: '5102',
      article: {
        source: 'wordpress',
        sourceKey: 'wordpress',
        externalId: '5102',
        url: 'https://almadar.example/culture/book-fair-opens/',
        title: 'افتتاح معرض الكتاب في دمشق بمشاركة “ثلاثين” دار نشر',
        summary: 'افتتح صباح اليوم معرض الكتاب السنوي في مكتبة الأسد الوطنية …',
        bodyHtml: '<p>افتتح صباح اليوم معرض الكتاب السنوي في مكتبة الأسد الوطنية، ويستمر عشرة أيام.</p>',
        imageUrl: null,
        imageAlt: null,
        author: 'ريم الحسن',
        categories: ['ثقافة'],
        tags: ['كتب', 'معارض'],
        topics: ['culture'],
        language: 'ar',
        languageOrigin: 'script',
        // 00:30 did not exist in Damascus on 25 March 2022 (00:00 jumped to 01:00): 01:30 UTC+3.
        publishedAt: new Date('2022-03-24T22:30:00Z'),
        modifiedAt: new Date('2022-03-24T22:30:00Z'),
        status: 'published',
        breaking: false,
        featured: false,
        priority: 0,
      },
    });
  });
});

describe('WordPress: REST wp/v2 post', () => {
  it('normalizes an _embed post field by field', () => {
    const [event] = normalizeWordPress(fixture('wordpress/rest-post-embed.json'), pub);
    expect(event).toEqual({
      provider: 'wordpress',
      eventId: '6230@2021-10-29T06:00:00.000Z',
      action: 'upsert',
      externalId: '6230',
      article: {
        source: 'wordpress',
        sourceKey: 'wordpress',
        externalId: '6230',
        url: 'https://almadar.example/sport/مباراة/',
        title: 'المنتخب يتأهل إلى نصف النهائي بعد فوز مثير & مستحق',
        summary: 'حقق المنتخب فوزاً مثيراً مساء أمس بهدفين مقابل هدف…',
        bodyHtml:
          '<p>حقق المنتخب فوزاً مثيراً مساء أمس بهدفين مقابل هدف، ليضرب موعداً مع منافسه في نصف النهائي.</p>\n<figure><img src="https://almadar.example/wp-content/uploads/2021/10/match.jpg" alt="لاعبو المنتخب" /><figcaption>لاعبو المنتخب بعد المباراة</figcaption></figure>',
        imageUrl: 'https://almadar.example/wp-content/uploads/2021/10/match.jpg',
        imageAlt: 'لاعبو المنتخب يحتفلون',
        author: 'سامر خليل',
        categories: ['رياضة'],
        tags: [],
        topics: ['sport'],
        language: 'ar',
        languageOrigin: 'script',
        publishedAt: new Date('2021-10-28T20:30:00Z'),
        modifiedAt: new Date('2021-10-29T06:00:00Z'),
        status: 'published',
        breaking: false,
        featured: false,
        priority: 0,
      },
    });
  });

  it('asks for a fetch when only term ids came (no _embed)', () => {
    expect(normalizeWordPress(fixture('wordpress/rest-post-no-embed.json'), pub)).toEqual([
      {
        provider: 'wordpress',
        eventId: '6231@2024-05-15T08:20:00.000Z',
        action: 'upsert',
        externalId: '6231',
        article: null,
        fetchUrl: 'https://almadar.example/wp-json/wp/v2/posts/6231?_embed=1',
      },
    ]);
  });

  it('turns an id-only body into a fetch event keyed by delivery, and holds it without siteUrl', () => {
    const receivedAt = new Date('2024-05-15T08:21:00Z');
    expect(normalizeWordPress({ post_id: 77 }, pub, { receivedAt })).toEqual([
      {
        provider: 'wordpress',
        eventId: '77@fetch-2024-05-15T08:21:00.000Z',
        action: 'upsert',
        externalId: '77',
        article: null,
        fetchUrl: 'https://almadar.example/wp-json/wp/v2/posts/77?_embed=1',
      },
    ]);
    const noSite = publication({ sources: { wordpress: { language: 'ar' } } });
    // a configuration reason: held until the publication file names the site
    expect(() => normalizeWordPress({ post_id: 77 }, noSite)).toThrow(HeldError);
    expect(() => normalizeWordPress({ post_id: 77 }, noSite)).toThrow(
      'only the id of post 77 arrived and sources.wordpress.siteUrl is not set, so Gazette cannot fetch it',
    );
  });
});

describe('Ghost', () => {
  const body = fixture('ghost/post-published.json') as FixtureJson;

  it('normalizes post.published field by field', () => {
    const [event] = normalizeGhost(body, pub, { event: 'post.published' });
    expect(event).toEqual({
      provider: 'ghost',
      eventId: '6650f0c2a1b2c3d4e5f60718@2024-05-17T08:02:45.000Z',
      action: 'upsert',
      externalId: '6650f0c2a1b2c3d4e5f60718',
      article: {
        source: 'ghost',
        sourceKey: 'ghost',
        externalId: '6650f0c2a1b2c3d4e5f60718',
        url: 'https://news.example/aid-convoy-reaches-northern-villages/',
        title: 'Aid convoy reaches the northern villages',
        summary:
          'A convoy of twelve trucks carrying food and medicine reached the northern villages on Friday. Local volunteers helped unload the supplies.',
        bodyHtml:
          '<p>A convoy of twelve trucks carrying food and medicine reached the northern villages on Friday.</p><p>Local volunteers helped unload the supplies.</p>',
        imageUrl: 'https://news.example/content/images/2024/05/convoy.jpg',
        imageAlt: 'Trucks on a mountain road',
        author: 'Lina Haddad',
        categories: [],
        tags: ['World', 'Breaking'],
        topics: ['politics'],
        language: 'en',
        languageOrigin: 'script',
        publishedAt: new Date('2024-05-17T08:00:00Z'),
        modifiedAt: new Date('2024-05-17T08:02:45Z'),
        status: 'published',
        breaking: true,
        featured: false,
        priority: 0,
      },
    });
  });

  it('maps post.unpublished to unpublish and a draft to unpublish', () => {
    const [unpub] = normalizeGhost(body, pub, { event: 'post.unpublished' });
    expect([unpub?.action, unpub?.article?.status]).toEqual(['unpublish', 'unpublished']);
    const draft = clone(body);
    draft.post.current.status = 'draft';
    const [event] = normalizeGhost(draft, pub);
    expect([event?.action, event?.article?.status]).toEqual(['unpublish', 'draft']);
  });

  it('maps post.deleted (current empty) to delete with the id from previous', () => {
    expect(normalizeGhost(fixture('ghost/post-deleted.json'), pub, { event: 'post.deleted' })).toEqual([
      {
        provider: 'ghost',
        eventId: '6650f0c2a1b2c3d4e5f60718@2024-05-18T10:00:00.000Z',
        action: 'delete',
        externalId: '6650f0c2a1b2c3d4e5f60718',
        article: null,
      },
    ]);
  });

  it('names missing fields and ignores pages', () => {
    const b = clone(body);
    delete b.post.current.url;
    expect(payloadError(() => normalizeGhost(b, pub)).message).toBe('post.current.url: required');
    expect(payloadError(() => normalizeGhost({ post: { current: {}, previous: {} } }, pub)).message).toBe(
      'post.previous.id: required',
    );
    expect(payloadError(() => normalizeGhost({ member: {} }, pub)).message).toBe('post: required');
    expect(normalizeGhost({ page: { current: {}, previous: {} } }, pub)).toEqual([]);
  });
});

describe('Strapi', () => {
  const v4 = fixture('strapi/v4-entry-publish.json') as FixtureJson;
  const v5 = fixture('strapi/v5-entry-publish.json') as FixtureJson;
  const urlTemplate = 'https://almadar.example/{locale}/news/{slug}';

  it('normalizes a v4 entry.publish with Markdown content and a relative cover', () => {
    const [event] = normalizeStrapi(v4, pub, { urlTemplate });
    expect(event).toEqual({
      provider: 'strapi',
      eventId: '87@2024-05-20T09:15:01.900Z',
      action: 'upsert',
      externalId: '87',
      article: {
        source: 'strapi',
        sourceKey: 'strapi',
        externalId: '87',
        url: 'https://almadar.example/ar/news/electricity-hours',
        title: 'تحسن ملحوظ في ساعات تغذية الكهرباء',
        summary: 'أعلنت وزارة الكهرباء زيادة ساعات التغذية في المدن الرئيسية اعتباراً من الأسبوع المقبل.',
        bodyHtml:
          '<h2>تفاصيل البرنامج</h2>\n<p>ستزداد ساعات التغذية <strong>ساعتين</strong> يومياً في <a href="https://almadar.example/tag/damascus/">دمشق</a> وحلب.</p>\n<ul><li>المرحلة الأولى: المدن</li><li>المرحلة الثانية: الأرياف</li></ul>',
        imageUrl: 'https://cms.almadar.example/uploads/power_3f2a.jpg',
        imageAlt: 'أبراج نقل الكهرباء',
        author: 'مازن العلي',
        categories: ['اقتصاد'],
        tags: [],
        topics: ['economy'],
        language: 'ar',
        languageOrigin: 'cms',
        publishedAt: new Date('2024-05-20T09:15:01.897Z'),
        modifiedAt: new Date('2024-05-20T09:15:01.900Z'),
        status: 'published',
        breaking: false,
        featured: false,
        priority: 0,
      },
    });
  });

  it('normalizes a v5 entry.publish with Blocks content, keyed by documentId and locale', () => {
    const [event] = normalizeStrapi(v5, pub);
    expect(event).toEqual({
      provider: 'strapi',
      eventId: 'h7q2m9x4k1z8c3v6b5n0p2l4:ar@2024-06-02T12:00:02.000Z',
      action: 'upsert',
      externalId: 'h7q2m9x4k1z8c3v6b5n0p2l4:ar',
      article: {
        source: 'strapi',
        sourceKey: 'strapi',
        externalId: 'h7q2m9x4k1z8c3v6b5n0p2l4:ar',
        url: 'https://almadar.example/ar/news/coast-road-closed',
        title: 'عاجل: إغلاق طريق الساحل بسبب الانهيارات',
        summary:
          'أغلقت شرطة المرور طريق الساحل صباح اليوم بعد انهيارات صخرية، ودعت السائقين إلى سلوك طرق بديلة. الطريق الأول عبر الجبل',
        bodyHtml:
          '<p>أغلقت شرطة المرور <strong>طريق الساحل</strong> صباح اليوم بعد انهيارات صخرية، ودعت السائقين إلى سلوك طرق بديلة.</p>\n<ul><li>الطريق الأول عبر الجبل</li></ul>',
        imageUrl: null,
        imageAlt: null,
        author: null,
        categories: [],
        tags: ['عاجل', 'طرق'],
        topics: [],
        language: 'ar',
        languageOrigin: 'cms',
        publishedAt: new Date('2024-06-02T12:00:02.100Z'),
        modifiedAt: new Date('2024-06-02T12:00:02.000Z'),
        status: 'published',
        breaking: true,
        featured: false,
        priority: 0,
      },
    });
  });

  it('maps entry.unpublish, entry.delete and a draft update', () => {
    expect(normalizeStrapi(fixture('strapi/v5-entry-unpublish.json'), pub)).toEqual([
      {
        provider: 'strapi',
        eventId: 'h7q2m9x4k1z8c3v6b5n0p2l4:ar@2024-06-02T15:30:00.000Z',
        action: 'unpublish',
        externalId: 'h7q2m9x4k1z8c3v6b5n0p2l4:ar',
        article: null,
      },
    ]);
    const del = clone(v5);
    del.event = 'entry.delete';
    expect(normalizeStrapi(del, pub)[0]?.action).toBe('delete');
    const draft = clone(v5);
    draft.event = 'entry.update';
    draft.entry.publishedAt = null;
    const [event] = normalizeStrapi(draft, pub);
    expect([event?.action, event?.article?.status, event?.article?.publishedAt]).toEqual([
      'upsert',
      'draft',
      null,
    ]);
  });

  it('ignores events and models that are not articles, and names missing fields', () => {
    const category = {
      ...v5,
      model: 'category',
      uid: 'api::category.category',
      entry: { id: 3, name: 'طرق' },
    };
    expect(normalizeStrapi(category, pub)).toEqual([]);
    const page = { ...v5, model: 'page', uid: 'api::page.page' };
    expect(normalizeStrapi(page, pub, { ignoredModels: ['page'] })).toEqual([]);
    expect(
      normalizeStrapi({ event: 'media.create', createdAt: '2024-06-02T12:00:00Z', media: {} }, pub),
    ).toEqual([]);
    const noTitle = clone(v5);
    delete noTitle.entry.title;
    expect(payloadError(() => normalizeStrapi(noTitle, pub)).message).toBe('entry.title: required');
    expect(payloadError(() => normalizeStrapi({ model: 'article' }, pub)).message).toBe(
      'body.event: required',
    );
  });

  it('holds, naming the setting, what only configuration keeps from being an article', () => {
    const held = (fn: () => unknown): HeldError => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(HeldError);
        return err as HeldError;
      }
      throw new Error('expected a HeldError');
    };
    // no url field and no template
    expect(held(() => normalizeStrapi(v4, pub))).toMatchObject({
      message:
        'the entry has no url field and sources.strapi.urlTemplate is not set (e.g. "https://example.com/{locale}/news/{slug}")',
      externalId: '87',
      title: 'تحسن ملحوظ في ساعات تغذية الكهرباء',
    });
    // the template needs what the entry lacks
    const noSlug = clone(v4);
    delete noSlug.entry.slug;
    expect(held(() => normalizeStrapi(noSlug, pub, { urlTemplate })).message).toBe(
      'sources.strapi.urlTemplate uses {slug} and the entry has no slug',
    );
    // an article-shaped model nobody listed
    const news = { ...v5, model: 'news-item', uid: 'api::news-item.news-item' };
    expect(held(() => normalizeStrapi(news, pub, { models: ['article'] }))).toMatchObject({
      message:
        'Strapi model "api::news-item.news-item" is not in sources.strapi.models (add it there, or to sources.strapi.ignoredModels if it is not news)',
      externalId: 'h7q2m9x4k1z8c3v6b5n0p2l4:ar',
    });
    expect(normalizeStrapi(news, pub, { models: ['news-item'] })[0]?.article?.title).toBe(v5.entry.title);
  });

  it('a default Strapi v5 entry (no url field, blocks dynamic zone) works with the sample publication file', () => {
    const sample = loadPublication('config/publication.sample.json');
    const strapi = sample.sources.strapi;
    const [event] = normalizeStrapi(fixture('strapi/v5-default-entry.json'), sample, {
      models: strapi?.models,
      ignoredModels: strapi?.ignoredModels,
      urlTemplate: strapi?.urlTemplate,
    });
    expect(event?.article).toMatchObject({
      externalId: 'r3k8v1n6q9w2e5t7y0u4i2o8:ar',
      url: 'https://almadar.example/ar/news/aleppo-old-souq-restoration',
      title: 'بلدية حلب تبدأ ترميم سوق المدينة القديم',
      summary: 'انطلقت أعمال ترميم أقسام من سوق المدينة في حلب القديمة بمشاركة حرفيين محليين.',
      bodyHtml:
        '<p>بدأت بلدية حلب <strong>ترميم</strong> أقسام من سوق المدينة القديم.</p>\n<p>وتستمر الأعمال ستة أشهر على ثلاث مراحل.</p>\n<blockquote><p>نعيد الحجر إلى مكانه كما كان.</p></blockquote>',
      imageUrl: 'https://cms.almadar.example/uploads/souq_5c1e.jpg',
      imageAlt: 'واجهة حجرية في السوق القديم',
      categories: ['ثقافة'],
      topics: ['culture'],
      language: 'ar',
      languageOrigin: 'cms',
      status: 'published',
    });
  });
});

describe('Generic', () => {
  const body = fixture('generic/article-published.json') as FixtureJson;

  it('normalizes article.published field by field', () => {
    const [event] = normalizeGeneric(body, pub);
    expect(event).toEqual({
      provider: 'generic',
      eventId: 'evt_01HZX3M6',
      action: 'upsert',
      externalId: 'a-9001',
      article: {
        source: 'generic',
        sourceKey: 'generic',
        externalId: 'a-9001',
        url: 'https://almadar.example/reports/water-2024',
        title: 'تقرير: شح المياه يهدد المحاصيل الصيفية',
        summary: 'يحذّر خبراء من أن تراجع منسوب المياه الجوفية سيؤثر في المحاصيل الصيفية هذا العام.',
        bodyHtml: '<p>يحذّر خبراء من أن تراجع منسوب المياه الجوفية سيؤثر في المحاصيل الصيفية هذا العام.</p>',
        imageUrl: 'https://almadar.example/media/water.jpg',
        imageAlt: 'أرض زراعية جافة',
        author: 'هالة يوسف',
        categories: ['تقارير'],
        tags: ['مياه'],
        topics: ['reports'],
        language: 'ar',
        languageOrigin: 'cms',
        // Zone-less: read in sources.generic.timezone (Asia/Damascus, UTC+3 since 2022).
        publishedAt: new Date('2024-07-01T05:00:00Z'),
        modifiedAt: new Date('2024-07-01T06:30:00Z'),
        status: 'published',
        breaking: false,
        featured: false,
        priority: 0,
      },
    });
  });

  it('uses the delivery id, then id@modifiedAt, when the body has no id; honours breaking: true', () => {
    const b = clone(body);
    delete b.id;
    b.data.breaking = true;
    expect(normalizeGeneric(b, pub, { deliveryId: 'msg_9' })[0]?.eventId).toBe('msg_9');
    const [event] = normalizeGeneric(b, pub);
    expect(event?.eventId).toBe('a-9001@2024-07-01T06:30:00.000Z');
    expect(event?.article?.breaking).toBe(true);
  });

  it('maps article.unpublished and article.deleted', () => {
    expect(normalizeGeneric({ type: 'article.unpublished', id: 'e2', data: { id: 9001 } }, pub)).toEqual([
      { provider: 'generic', eventId: 'e2', action: 'unpublish', externalId: '9001', article: null },
    ]);
    expect(
      normalizeGeneric({ type: 'article.deleted', id: 'e3', data: { id: 'a-9001' } }, pub)[0]?.action,
    ).toBe('delete');
  });

  it('names the first failing field', () => {
    expect(payloadError(() => normalizeGeneric({ type: 'article.created', data: {} }, pub)).message).toMatch(
      /^type: must be one of/,
    );
    const noTitle = clone(body);
    delete noTitle.data.title;
    expect(payloadError(() => normalizeGeneric(noTitle, pub)).message).toMatch(/^data\.title: /);
    const badUrl = clone(body);
    badUrl.data.url = 'ftp://x';
    expect(payloadError(() => normalizeGeneric(badUrl, pub)).message).toMatch(/^data\.url: /);
    const badDate = clone(body);
    badDate.data.publishedAt = 'next tuesday';
    expect(payloadError(() => normalizeGeneric(badDate, pub)).message).toBe('data.publishedAt: not a date');
  });

  it('exports a TypeBox schema for OpenAPI', () => {
    expect(GenericArticleEventSchema.$id).toBe('GenericArticleEvent');
    expect(GenericArticleEventSchema.anyOf).toHaveLength(2);
  });
});

describe("the editor's lead story", () => {
  it('reads Ghost featured, WordPress sticky and the generic featured / priority', () => {
    const ghost = fixture('ghost/post-published.json') as FixtureJson;
    const featuredPost = clone(ghost);
    featuredPost.post.current.featured = true;
    expect(normalizeGhost(featuredPost, pub)[0]?.article?.featured).toBe(true);
    expect(normalizeGhost(ghost, pub)[0]?.article?.featured).toBe(false);

    const rest = fixture('wordpress/rest-post-embed.json') as FixtureJson;
    expect(normalizeWordPress({ ...rest, sticky: true }, pub)[0]?.article?.featured).toBe(true);
    expect(normalizeWordPress({ ...rest, sticky: false }, pub)[0]?.article?.featured).toBe(false);

    const generic = fixture('generic/article-published.json') as FixtureJson;
    const lead = clone(generic);
    lead.data.featured = true;
    lead.data.priority = 7;
    expect(normalizeGeneric(lead, pub)[0]?.article).toMatchObject({ featured: true, priority: 7 });
    expect(normalizeGeneric(generic, pub)[0]?.article).toMatchObject({ featured: false, priority: 0 });
    const bad = clone(generic);
    bad.data.priority = -1;
    expect(payloadError(() => normalizeGeneric(bad, pub)).message).toMatch(/^data\.priority: /);
  });
});
