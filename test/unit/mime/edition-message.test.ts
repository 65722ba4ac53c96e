import { type ParsedMail, simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildMessage,
  encodeQp,
  type PreparedMessage,
  prepareEditionMessage,
} from '../../../src/mail/mime/index.js';
import { personalize, type RenderedEdition, renderEdition } from '../../../src/render/index.js';
import { arabicArticles, SAMPLE_DATE, samplePublication } from '../../fixtures/sample-articles.js';

const publication = samplePublication();
const from = { name: publication.sender.name.ar, address: publication.sender.email };
const to = { name: 'سلمى الأحمد', address: 'salma@example.org' };
const editionHeaders = {
  'List-Id': 'Al-Madar Arabic <ar.newsletter.almadar.example>',
  'X-Gazette-Edition': 'ed-42',
};

const longUrl = `https://almadar.example/ar/newsletter/unsubscribe?token=${'Zm9v'.repeat(60)}&lang=ar`;
const values = {
  greeting_name: 'Salma <script>alert(1)</script> = "الأحمد"',
  preferences_url: 'https://almadar.example/ar/newsletter/preferences?t=a=b&c=d%3D',
  unsubscribe_url: longUrl,
  archive_url: 'https://almadar.example/ar/newsletter/archive/ed-42?ref=مدار',
};
const extraHeaders = {
  'List-Unsubscribe': `<${longUrl}>, <mailto:unsubscribe@almadar.example?subject=ed-42>`,
  'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
};
const messageId = '<ed-42.r-7@almadar.example>';

let rendered: RenderedEdition;
let prepared: PreparedMessage;
let ours: Buffer;
let oursParsed: ParsedMail;
let theirsParsed: ParsedMail;

beforeAll(async () => {
  rendered = await renderEdition({
    template: 'digest',
    language: 'ar',
    articles: arabicArticles,
    publication,
    editionId: 'ed-42',
    date: SAMPLE_DATE,
    frequency: 'daily',
  });
  prepared = prepareEditionMessage({
    from,
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    headers: editionHeaders,
    language: 'ar',
    greeting: rendered.greeting,
  });
  ours = buildMessage(prepared, { to, messageId, date: SAMPLE_DATE, values, extraHeaders });

  // The reference: nodemailer building the same message from the personalised strings.
  const personal = personalize(rendered, values);
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const info = await transport.sendMail({
    from,
    to,
    subject: rendered.subject,
    html: personal.html,
    text: personal.text,
    messageId,
    date: SAMPLE_DATE,
    headers: { ...editionHeaders, ...extraHeaders },
  });
  oursParsed = await simpleParser(ours);
  theirsParsed = await simpleParser(info.message as Buffer);
});

describe('transfer encoding by content', () => {
  const prepare = (html: string, text: string) =>
    prepareEditionMessage({ from, subject: 's', html, text, headers: {}, language: 'ar' });
  const partEncodings = (raw: Buffer) =>
    [...raw.toString('latin1').matchAll(/Content-Transfer-Encoding: ([\w-]+)/g)].map((m) => m[1]);

  it('keeps English in quoted-printable and puts Arabic in base64, each part on its own', async () => {
    const english = prepare('<p>Cabinet approves the budget</p>\n', 'Cabinet approves the budget\n');
    const mixed = prepare('<p>الحكومة تقرّ الموازنة العامة للدولة</p>\n', 'Cabinet approves the budget\n');
    const build = (p: PreparedMessage) => buildMessage(p, { to, messageId, date: SAMPLE_DATE, values });
    expect(partEncodings(build(english))).toEqual(['quoted-printable', 'quoted-printable']);
    expect(partEncodings(build(mixed))).toEqual(['quoted-printable', 'base64']);
  });

  it('decodes to exactly the personalised text for values of every length around each token', async () => {
    // Base64 works in three-byte groups: values of 0-7 bytes (ASCII and two-byte Arabic) put the
    // static run after each token at every offset, and runs shorter than a group sit between.
    const html =
      '<p dir="rtl">مرحباً {{greeting_name}}،</p>\n<a href="{{preferences_url}}">ا</a>{{unsubscribe_url}}ب{{archive_url}}\n<p>نهاية الرسالة العربية الطويلة بما يكفي</p>\n';
    const text = 'مرحباً {{greeting_name}}\n{{preferences_url}}\n{{unsubscribe_url}}{{archive_url}}\nنهاية\n';
    const p = prepare(html, text);
    for (const value of ['', 'a', 'ab', 'abc', 'س', 'سل', 'سلم', 'سلمى', 'a&b<c>"d"']) {
      const vals = {
        greeting_name: value,
        preferences_url: `https://x.example/${value}`,
        unsubscribe_url: value,
        archive_url: `${value}z`,
      };
      const parsed = await simpleParser(buildMessage(p, { to, messageId, date: SAMPLE_DATE, values: vals }));
      const expected = personalize({ html, text, greeting: undefined } as unknown as RenderedEdition, vals);
      expect(parsed.html).toBe(expected.html);
      expect(parsed.text?.replace(/\r\n/g, '\n')).toBe(expected.text);
    }
  });

  it('sends each part in the smaller encoding: the Arabic text part at about half its QP size', () => {
    const raw = ours.toString('latin1');
    const textPart = raw.slice(
      raw.indexOf('Content-Type: text/plain'),
      raw.indexOf('Content-Type: text/html'),
    );
    expect(textPart).toContain('base64');
    expect(textPart.length).toBeLessThan(encodeQp(rendered.text).length * 0.6);
    // MJML's markup is ASCII: the Arabic HTML is still smaller in QP, and stays in it
    const htmlPart = raw.slice(raw.indexOf('Content-Type: text/html'));
    expect(htmlPart).toContain('quoted-printable');
    expect(htmlPart.length).toBeLessThanOrEqual(encodeQp(rendered.html).length + 1500);
  });
});

describe('prepareEditionMessage + buildMessage', () => {
  it('parses to the same message nodemailer builds', () => {
    expect(oursParsed.subject).toBe(rendered.subject);
    expect(oursParsed.html).toContain('<html lang="ar" dir="rtl"');
    expect(oursParsed.text).toContain('صحيفة المدار');
    expect(oursParsed.headers.get('list')).toMatchObject({
      id: { id: 'ar.newsletter.almadar.example' },
      unsubscribe: { url: longUrl, mail: 'unsubscribe@almadar.example?subject=ed-42' },
    });
    expect(oursParsed.subject).toBe(theirsParsed.subject);
    expect(oursParsed.from?.value).toEqual(theirsParsed.from?.value);
    expect(oursParsed.to).toEqual(theirsParsed.to);
    expect(oursParsed.messageId).toBe(theirsParsed.messageId);
    expect(oursParsed.date?.toISOString()).toBe(theirsParsed.date?.toISOString());
    expect(oursParsed.html).toBe(theirsParsed.html);
    expect(oursParsed.text).toBe(theirsParsed.text);
    for (const name of ['list', 'list-unsubscribe-post', 'x-gazette-edition']) {
      expect(oursParsed.headers.get(name), name).toEqual(theirsParsed.headers.get(name));
    }
  });

  it('carries the reader values: escaped in html, raw in text', () => {
    const html = oursParsed.html as string;
    expect(html).not.toContain('<script>');
    expect(html).toContain('Salma &lt;script&gt;alert(1)&lt;/script&gt; = &quot;الأحمد&quot;');
    expect(html).toContain(`href="${longUrl.replace(/&/g, '&amp;')}"`);
    expect(html).toContain('href="https://almadar.example/ar/newsletter/preferences?t=a=b&amp;c=d%3D"');
    expect(oursParsed.text).toContain('مرحباً \u2068Salma <script>alert(1)</script> = "الأحمد"\u2069،');
    expect(oursParsed.text).toContain(longUrl);
    expect(oursParsed.text).toContain(values.archive_url);
    expect(`${html}${oursParsed.text}`).not.toMatch(/\{\{\w+\}\}/);
  });

  it('encodes the Arabic subject and From name as RFC 2047 encoded-words', () => {
    const head = ours.toString('latin1').split('\r\n\r\n')[0]!;
    expect(head).toMatch(/^Subject: =\?UTF-8\?B\?/m);
    expect(head).toMatch(/^From: =\?UTF-8\?B\?[^\r\n]+<newsletter@almadar\.example>/m);
    expect(head).toMatch(/^[\x20-\x7e\r\n\t]*$/);
    for (const line of head.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
    // Only the one long URL token may exceed the recommended 78 characters.
    const long = head.split('\r\n').filter((l) => l.length > 78);
    expect(long).toHaveLength(1);
    expect(long[0]).toContain(longUrl);
  });

  it('uses CRLF everywhere and keeps every encoded body line within 76 characters', () => {
    const raw = ours.toString('latin1');
    expect(raw).not.toMatch(/[^\r]\n/);
    expect(raw).not.toMatch(/\r(?!\n)/);
    const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
    for (const line of body.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
    expect(body).toMatch(/^[\x20-\x7e\r\n\t]*$/);
    // Arabic parts are base64: an Arabic letter is six bytes in QP and under three in base64.
    expect(body).toContain('Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64');
    expect(body).toContain(
      'Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable',
    );
    expect(body.trimEnd().endsWith(`--${prepared.boundary}--`)).toBe(true);
  });

  it('starts no line with a dot, though the MJML html has CSS lines that do', () => {
    // SMTP needs nothing dot-stuffed, so nodemailer's data stream passes the message on untouched
    expect(rendered.html.split('\n').some((l) => l.startsWith('.'))).toBe(true);
    expect(
      ours
        .toString('latin1')
        .split('\r\n')
        .filter((l) => l.startsWith('.')),
    ).toEqual([]);
  });

  it('builds each recipient independently from the same prepared edition', async () => {
    const other = buildMessage(prepared, {
      to: 'omar@example.org',
      messageId: 'ed-42.r-8@almadar.example',
      date: SAMPLE_DATE,
      values: { ...values, greeting_name: '', unsubscribe_url: 'https://almadar.example/u/omar' },
      extraHeaders: { 'List-Unsubscribe': '<https://almadar.example/u/omar>' },
    });
    const parsed = await simpleParser(other);
    expect(parsed.to).toMatchObject({ value: [{ address: 'omar@example.org', name: '' }] });
    expect(parsed.text).toContain('مرحباً بك،');
    expect(parsed.html).toContain('href="https://almadar.example/u/omar"');
    expect(parsed.html).not.toContain(longUrl.replace(/&/g, '&amp;'));
    // The first recipient's message is untouched by the second build.
    expect((await simpleParser(ours)).html).toBe(oursParsed.html);
  });

  it('refuses headers it writes itself and unsafe addresses', () => {
    const base = { from, subject: 's', html: '<p>x</p>', text: 'x', language: 'en' as const };
    expect(() => prepareEditionMessage({ ...base, headers: { Subject: 'again' } })).toThrow(
      /set by the message builder/,
    );
    expect(() =>
      buildMessage(prepareEditionMessage({ ...base, headers: {} }), {
        to: 'x@example.org\r\nBcc: y@example.org',
        messageId: 'a@b.example',
        date: SAMPLE_DATE,
        values,
      }),
    ).toThrow(/invalid email address/);
  });
});
