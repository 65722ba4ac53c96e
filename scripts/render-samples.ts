/**
 * Writes sample emails to samples/ (HTML and PNG screenshots at 375 px and 800 px) so layout
 * changes can be looked at. Images are served from a generated placeholder because the sample
 * hosts do not exist (and the renderer must not depend on the network).
 *
 *   npm run render:samples
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Language } from '../src/publication.js';
import { personalize, renderEdition, renderTransactional } from '../src/render/index.js';
import { nextDigestText } from '../src/render/next-digest.js';
import {
  arabicArticles,
  englishArticles,
  SAMPLE_DATE,
  samplePublication,
} from '../test/fixtures/sample-articles.js';

const OUT_DIR = join(process.cwd(), 'samples');
const WIDTHS = [375, 800] as const;
/** Dark-mode screenshots of these (prefers-color-scheme: dark). */
const DARK = ['digest-ar', 'digest-en', 'alert-ar'];

const publication = samplePublication();
const readerValues = (language: Language) => ({
  greeting_name: language === 'ar' ? 'سلمى' : 'Salma',
  preferences_url: `https://almadar.example/${language}/newsletter/preferences?token=sample`,
  unsubscribe_url: `https://almadar.example/${language}/newsletter/unsubscribe?token=sample`,
  archive_url: `https://almadar.example/${language}/newsletter/archive/sample`,
});

/** A neutral grey placeholder with the image's file name, standing in for every remote image. */
function placeholderSvg(label: string): string {
  const safe = label.replace(/[^\w.-]/g, '');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="675" viewBox="0 0 1200 675">
<rect width="1200" height="675" fill="#cfd6de"/><rect x="40" y="40" width="1120" height="595" fill="none" stroke="#9aa7b4" stroke-width="6"/>
<text x="600" y="360" font-family="sans-serif" font-size="56" fill="#5b6875" text-anchor="middle">${safe}</text></svg>`;
}

async function renderAll(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const language of ['ar', 'en'] as const) {
    const articles = language === 'ar' ? arabicArticles : englishArticles;
    const common = { language, publication, date: SAMPLE_DATE, editionId: `sample-${language}` };
    const digest = await renderEdition({ ...common, template: 'digest', articles, frequency: 'daily' });
    files.set(`digest-${language}`, personalize(digest, readerValues(language)).html);
    if (language === 'ar') {
      // A headline that opens with a Latin brand must still read right to left.
      const latinFirst = [
        { ...articles[0]!, title: 'Apple Pay متاحة في سوريا بدءاً من كانون الثاني المقبل.' },
        ...articles.slice(1),
      ];
      const latin = await renderEdition({
        ...common,
        template: 'digest',
        articles: latinFirst,
        frequency: 'daily',
      });
      files.set('digest-ar-latin-first', personalize(latin, readerValues(language)).html);
      // A full daily: fifteen items, to see the length and the size budget at work.
      const full = Array.from({ length: 15 }, (_, i) => ({
        ...articles[i % articles.length]!,
        id: `full-${i}`,
      }));
      const daily = await renderEdition({
        ...common,
        template: 'digest',
        articles: full,
        frequency: 'daily',
      });
      files.set('digest-ar-full', personalize(daily, readerValues(language)).html);
    }
    const alert = await renderEdition({
      ...common,
      template: 'alert',
      articles: [articles[1]!],
      frequency: 'immediate',
    });
    files.set(`alert-${language}`, personalize(alert, readerValues(language)).html);
    const links = readerValues(language);
    const confirmation = await renderTransactional('confirmation', {
      language,
      publication,
      name: links.greeting_name,
      confirmUrl: `https://almadar.example/${language}/newsletter/confirm?token=sample`,
      expiresAt: new Date(SAMPLE_DATE.getTime() + 48 * 3600_000),
    });
    files.set(`confirmation-${language}`, confirmation.html);
    const welcome = await renderTransactional('welcome', {
      language,
      publication,
      name: links.greeting_name,
      preferencesUrl: links.preferences_url,
      unsubscribeUrl: links.unsubscribe_url,
      choices: {
        topics: publication.topics.slice(0, 2).map((t) => t.id),
        alerts: true,
        nextDigest: nextDigestText(
          publication,
          language,
          {
            frequency: 'daily',
            timezone: publication.timezone,
            sendHour: publication.digest.defaultSendHour,
          },
          SAMPLE_DATE,
        ),
      },
    });
    files.set(`welcome-${language}`, welcome.html);
  }
  return files;
}

async function main(): Promise<void> {
  mkdirSync(OUT_DIR, { recursive: true });
  const files = await renderAll();
  for (const [name, html] of files) writeFileSync(join(OUT_DIR, `${name}.html`), html);

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    for (const width of WIDTHS) {
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      // Nothing leaves the machine: images get the placeholder, everything else is refused.
      await page.route('**/*', (route) => {
        const request = route.request();
        if (request.resourceType() === 'image') {
          const file = new URL(request.url()).pathname.split('/').pop() ?? 'image';
          return route.fulfill({ contentType: 'image/svg+xml', body: placeholderSvg(file) });
        }
        if (request.url().startsWith('file:')) return route.continue();
        return route.abort();
      });
      for (const name of files.keys()) {
        await page.goto(`file://${join(OUT_DIR, `${name}.html`)}`);
        await page.screenshot({ path: join(OUT_DIR, `${name}-${width}.png`), fullPage: true });
      }
      await page.emulateMedia({ colorScheme: 'dark' });
      for (const name of DARK) {
        await page.goto(`file://${join(OUT_DIR, `${name}.html`)}`);
        await page.screenshot({ path: join(OUT_DIR, `${name}-dark-${width}.png`), fullPage: true });
      }
      await page.close();
    }
  } finally {
    await browser.close();
  }
  const shots = (files.size + DARK.length) * WIDTHS.length;
  console.log(`wrote ${files.size} samples and ${shots} screenshots to ${OUT_DIR}`);
}

await main();
