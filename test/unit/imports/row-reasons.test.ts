import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAlerts, parseSendHour, parseWeeklyDay } from '../../../src/imports/cell-values.js';
import { createRowParser } from '../../../src/imports/row-parser.js';
import { rowReason, rowReasonCode } from '../../../src/imports/row-reasons.js';
import type { Publication } from '../../../src/publication.js';
import type { AddressHasher } from '../../../src/subscriptions/suppression-store.js';

/** The reasons as their writers produce them must keep a code (the console translates by it). */
const FIELDS = [
  'email',
  'name',
  'language',
  'frequency',
  'topics',
  'timezone',
  'sendHour',
  'weeklyDay',
  'alerts',
  'consentDate',
  'status',
  'emailDisabled',
] as const;

function parser(attested = false) {
  const publication = {
    timezone: 'Asia/Damascus',
    topics: [{ id: 'news', label: { ar: 'أخبار', en: 'News' } }],
  } as unknown as Publication;
  const hasher = { hash: () => Buffer.alloc(32) } as unknown as AddressHasher;
  const columns = Object.fromEntries(FIELDS.map((f, i) => [f, i]));
  const parse = createRowParser({ attested, publication, defaultLanguage: 'ar', hasher, columns });
  const good: Record<(typeof FIELDS)[number], string> = {
    email: 'huda@example.org',
    name: 'Huda',
    language: 'ar',
    frequency: 'daily',
    topics: 'news',
    timezone: 'Asia/Damascus',
    sendHour: '7',
    weeklyDay: 'friday',
    alerts: 'true',
    consentDate: '2024-01-02',
    status: 'subscribed',
    emailDisabled: '',
  };
  return (change: Partial<typeof good>) =>
    parse(
      FIELDS.map((f) => change[f] ?? good[f]),
      1,
    ).reason;
}

describe('import row reasons as codes', () => {
  it('reads a code and the quoted value from every reason the row parser writes', () => {
    const row = parser();
    expect(row({})).toBeNull();
    const cases: Array<[Parameters<typeof row>[0], string, string | null]> = [
      [{ email: '' }, 'email_missing', null],
      [{ email: 'not-an-address' }, 'email_invalid', 'is not an email address'],
      [
        { email: 'a@b.c, d@e.f' },
        'email_invalid',
        'must be a single address (no spaces, commas or semicolons)',
      ],
      [{ name: 'x'.repeat(500) }, 'name_invalid', expect.stringContaining('at most') as unknown as string],
      [{ language: 'fr' }, 'language', 'fr'],
      [{ frequency: 'monthly' }, 'frequency', 'monthly'],
      [{ topics: 'sport' }, 'topic', 'sport'],
      [{ timezone: 'Mars/Olympus' }, 'timezone', 'Mars/Olympus'],
      [{ sendHour: '25' }, 'send_hour', '25'],
      [{ weeklyDay: 'someday' }, 'weekly_day', 'someday'],
      [{ alerts: 'maybe' }, 'alerts', 'maybe'],
      [{ consentDate: 'yesterday' }, 'consent_date', 'yesterday'],
      [{ status: 'unsubscribed' }, 'status_left', 'unsubscribed'],
      [{ emailDisabled: 'true' }, 'email_disabled', null],
    ];
    for (const [change, code, value] of cases) {
      const reason = row(change);
      expect(rowReason(reason), reason ?? '').toEqual({ code, value, erased: false });
    }
    expect(rowReason(parser(true)({ status: 'pending' }))).toMatchObject({
      code: 'status_unconfirmed',
      value: 'pending',
    });
  });

  it('knows the cell parsers’ reasons', () => {
    for (const [parsed, code] of [
      [parseSendHour('٢٥'), 'send_hour'],
      [parseWeeklyDay('الخميسس'), 'weekly_day'],
      [parseAlerts('ربما'), 'alerts'],
    ] as const)
      expect('reason' in parsed && rowReasonCode(parsed.reason)).toBe(code);
  });

  it('knows the reasons the import store writes in SQL, and the erasure suffix', () => {
    const store = readFileSync('src/imports/import-store.ts', 'utf8');
    for (const [sentence, code, value] of [
      ['same address as row 12', 'duplicate_in_file', '12'],
      ['address erased earlier: on the suppression list', 'erased_earlier', null],
      ['address is suppressed', 'suppressed', null],
      ['already a reader (confirmed)', 'already_reader', 'confirmed'],
      ['already a reader (subscribed during the import)', 'subscribed_during_import', null],
    ] as const) {
      // the literal (its fixed part) is still what the store writes
      expect(store).toContain(sentence.replace(/ \d+$| \(confirmed\)$/, ' '));
      expect(rowReason(sentence)).toEqual({ code, value, erased: false });
    }
    expect(store).toContain("coalesce(reason || '; ', '') || 'erased'");
    expect(rowReason('same address as row 3; erased')).toEqual({
      code: 'duplicate_in_file',
      value: '3',
      erased: true,
    });
    expect(rowReason('erased')).toEqual({ code: 'erased', value: null, erased: true });
    expect(rowReason('something new')).toEqual({ code: 'other', value: 'something new', erased: false });
    expect(rowReason(null)).toBeNull();
  });
});
