import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildMessage, prepareEditionMessage } from '../../src/mail/mime/index.js';
import { editionHeaders, feedbackList, recipientHeaders } from '../../src/mail/newsletter-headers.js';
import type { Language } from '../../src/publication.js';
import { type RenderArticle, renderEdition, renderTransactional } from '../../src/render/index.js';
import {
  arabicArticles,
  englishArticles,
  SAMPLE_DATE,
  samplePublication,
} from '../fixtures/sample-articles.js';

/**
 * Every sample message as a receiving system sees it: its HTML part within Gmail's clipping size
 * once transfer-encoded, and no SpamAssassin rule scoring against it (Debian's spamassassin with
 * its local rules only, -L: no network tests). Rules that only say the message never crossed a
 * relay (it did not: it was built here) are the environment's, not the message's.
 */
const GMAIL_CLIP_BYTES = 102 * 1024;
const ENVIRONMENT_RULES = new Set(['NO_RECEIVED', 'NO_RELAYS', 'MISSING_DATE', 'NO_DNS_FOR_FROM']);
const PUBLIC_URL = 'https://news.almadar.example';
const publication = samplePublication();

interface Sample {
  name: string;
  raw: Buffer;
}

async function newsletter(
  name: string,
  language: Language,
  template: 'digest' | 'alert',
  articles: RenderArticle[],
  frequency: 'daily' | 'weekly' | 'immediate' = 'daily',
): Promise<Sample> {
  const rendered = await renderEdition({
    template,
    language,
    articles,
    publication,
    editionId: `sample-${name}`,
    date: SAMPLE_DATE,
    frequency,
  });
  const kind = template === 'alert' ? 'alert' : 'digest';
  const prepared = prepareEditionMessage({
    from: { name: publication.sender.name[language], address: publication.sender.email },
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    language,
    greeting: rendered.greeting,
    headers: editionHeaders({
      kind,
      list: feedbackList(kind, kind === 'alert' ? null : frequency, language),
      listName: publication.name[language],
      domain: 'almadar.example',
    }),
  });
  const raw = buildMessage(prepared, {
    to: { name: language === 'ar' ? 'سلمى الأحمد' : 'Salma Ahmad', address: 'salma@example.org' },
    messageId: `<${name}.sample@almadar.example>`,
    date: SAMPLE_DATE,
    values: {
      greeting_name: language === 'ar' ? 'سلمى' : 'Salma',
      preferences_url: `${PUBLIC_URL}/preferences/c2FtcGxlLXRva2Vu`,
      unsubscribe_url: `${PUBLIC_URL}/unsubscribe/c2FtcGxlLXRva2Vu`,
      archive_url: `${PUBLIC_URL}/archive/sample-${name}`,
    },
    extraHeaders: recipientHeaders({ publicUrl: PUBLIC_URL, unsubscribeToken: 'c2FtcGxlLXRva2Vu' }),
  });
  return { name, raw };
}

/** Transactional mail goes out through nodemailer (transactional-sender.ts): built the same way. */
async function transactional(name: string, language: Language, template: 'confirmation' | 'welcome') {
  const rendered =
    template === 'confirmation'
      ? await renderTransactional('confirmation', {
          language,
          publication,
          confirmUrl: `${PUBLIC_URL}/confirm/c2FtcGxlLXRva2Vu`,
          expiresAt: new Date(SAMPLE_DATE.getTime() + 7 * 86_400_000),
        })
      : await renderTransactional('welcome', {
          language,
          publication,
          name: language === 'ar' ? 'سلمى' : 'Salma',
          preferencesUrl: `${PUBLIC_URL}/preferences/c2FtcGxlLXRva2Vu`,
          unsubscribeUrl: `${PUBLIC_URL}/unsubscribe/c2FtcGxlLXRva2Vu`,
        });
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const info = await transport.sendMail({
    from: { name: publication.sender.name[language], address: publication.sender.email },
    to: 'salma@example.org',
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    messageId: `<${name}.sample@almadar.example>`,
    date: SAMPLE_DATE,
    headers: { 'Auto-Submitted': 'auto-generated' },
  });
  return { name, raw: info.message as Buffer };
}

/** The HTML part's transfer-encoded bytes, as stored by the receiver. */
function encodedHtmlBytes(raw: Buffer): number {
  const text = raw.toString('latin1');
  const start = text.search(/Content-Type: text\/html/i);
  if (start < 0) throw new Error('no text/html part');
  const bodyStart = text.indexOf('\r\n\r\n', start) + 4;
  const end = text.indexOf('\r\n--', bodyStart);
  return end - bodyStart;
}

function spamAssassin(mbox: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      '/usr/bin/spamassassin',
      ['-L', '-t', '--mbox'],
      { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (err, stdout) => (err && !stdout ? reject(err) : resolve(stdout)),
    );
    child.stdin?.end(mbox);
  });
}

/** rule name -> points, for each message's report in spamassassin -t output (in mbox order). */
function reports(output: string): Map<string, number>[] {
  return output
    .split('Content analysis details:')
    .slice(1)
    .map((report) => {
      const rules = new Map<string, number>();
      const table = report.split(/\n-{4} -+ -+\n/)[1] ?? '';
      for (const line of table.split('\n')) {
        const m = /^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s/.exec(line);
        if (m) rules.set(m[2]!, Number(m[1]));
        else if (line.trim() === '' && rules.size > 0) break;
      }
      return rules;
    });
}

describe('every sample message, as receiving systems judge it', () => {
  const samples: Sample[] = [];
  const fifteen = (articles: RenderArticle[]) =>
    Array.from({ length: 15 }, (_, i) => ({ ...articles[i % articles.length]!, id: `full-${i}` }));

  beforeAll(async () => {
    for (const language of ['ar', 'en'] as const) {
      const articles = language === 'ar' ? arabicArticles : englishArticles;
      samples.push(await newsletter(`digest-${language}`, language, 'digest', articles));
      samples.push(await newsletter(`daily-15-${language}`, language, 'digest', fifteen(articles)));
      samples.push(await newsletter(`weekly-${language}`, language, 'digest', fifteen(articles), 'weekly'));
      samples.push(await newsletter(`alert-${language}`, language, 'alert', [articles[1]!], 'immediate'));
      samples.push(await transactional(`confirmation-${language}`, language, 'confirmation'));
      samples.push(await transactional(`welcome-${language}`, language, 'welcome'));
    }
  });

  it("keeps every message's HTML under Gmail's clipping size once encoded, footer included", async () => {
    for (const { name, raw } of samples) {
      expect(encodedHtmlBytes(raw), name).toBeLessThan(GMAIL_CLIP_BYTES);
      const parsed = await simpleParser(raw);
      // the unsubscribe link is in the footer: the end of the HTML is what clipping would hide
      const footer = name.startsWith('confirmation') ? '/confirm/' : '/unsubscribe/';
      expect(parsed.html || '', name).toContain(footer);
    }
  });

  it('trips no SpamAssassin rule that scores above zero', async () => {
    expect(existsSync('/usr/bin/spamassassin'), 'install spamassassin (see README)').toBe(true);
    // one run over an mbox: spamassassin's start-up costs more than judging a message
    const mbox = samples
      .map(
        ({ raw }) =>
          `From gazette@almadar.example Sun Nov  1 07:00:00 2026\n${raw
            .toString('utf8')
            .replace(/\r\n/g, '\n')
            .replace(/^From /gm, '>From ')}\n`,
      )
      .join('\n');
    const judged = reports(await spamAssassin(mbox));
    expect(judged).toHaveLength(samples.length);
    judged.forEach((rules, i) => {
      const scoring = [...rules].filter(([rule, points]) => points > 0 && !ENVIRONMENT_RULES.has(rule));
      expect(scoring, samples[i]!.name).toEqual([]);
    });
  });
});
