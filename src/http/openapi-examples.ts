/**
 * Request examples for /docs, written to be copied: an Arabic article, a dry run before a real
 * send. test/integration/openapi-docs.test.ts checks each one against the schema it illustrates,
 * so they cannot drift from what the API accepts.
 */

export const genericPublishedExample = {
  type: 'article.published',
  id: 'evt-2026-12-07-0815-4471',
  data: {
    id: '4471',
    url: 'https://almadar.example/ar/news/4471',
    title: 'افتتاح سوق جديدة للحرفيين في حلب القديمة',
    summary: 'يضم السوق أربعين محلاً لصناعة الصابون والنحاس والنسيج اليدوي، ويفتح أبوابه يومياً حتى المساء.',
    html: '<p>افتتحت صباح اليوم سوق جديدة للحرفيين في حلب القديمة.</p>',
    language: 'ar',
    publishedAt: '2026-12-07T08:15:00+03:00',
    categories: ['ثقافة'],
    author: 'رنا الخطيب',
  },
};

export const genericUnpublishedExample = {
  type: 'article.unpublished',
  id: 'evt-2026-12-07-1120-4471',
  data: { id: '4471' },
};

export const dryRunSendExample = {
  language: 'ar',
  frequency: 'daily',
  topics: ['politics', 'economy'],
  lookbackHours: 12,
  dryRun: true,
};

export const testSendExample = { email: 'editor@almadar.example', language: 'ar' };
