import { describe, expect, it } from 'vitest';
import {
  parseAlerts,
  parseSendHour,
  parseWeeklyDay,
  unescapeFormula,
  WEEKDAY_NAMES,
} from '../../../src/imports/cell-values.js';
import { suggestMapping } from '../../../src/imports/columns.js';

describe('import cells: send hour, weekly day, alerts', () => {
  it('reads hours as the export writes them and as people type them', () => {
    expect(['0', '7', '09', '23', '09:00', '٩'].map((h) => parseSendHour(h))).toEqual(
      [0, 7, 9, 23, 9, 9].map((value) => ({ value })),
    );
    expect(parseSendHour('')).toEqual({ value: null });
    for (const bad of ['25', '24', '-1', '7.5', 'seven', '9:30'])
      expect(parseSendHour(bad)).toEqual({ reason: `send_hour must be 0-23, got ${bad}` });
  });

  it('reads English and Arabic day names, abbreviations and 0-6, Sunday first', () => {
    expect(WEEKDAY_NAMES.map((d) => parseWeeklyDay(d))).toEqual(
      [0, 1, 2, 3, 4, 5, 6].map((value) => ({ value })),
    );
    const arabic = ['الأحد', 'الاثنين', 'الثلاثاء', 'الأربعاء', 'الخميس', 'الجمعة', 'السبت'];
    expect(arabic.map((d) => parseWeeklyDay(d))).toEqual([0, 1, 2, 3, 4, 5, 6].map((value) => ({ value })));
    expect(
      ['Friday', 'FRI', 'Thurs', 'الإثنين', 'يوم الجمعة', 'جمعة', '5', '٥'].map((d) => parseWeeklyDay(d)),
    ).toEqual([5, 5, 4, 1, 5, 5, 5, 5].map((value) => ({ value })));
    expect(parseWeeklyDay('')).toEqual({ value: null });
    for (const bad of ['7', 'someday', 'fr', 'الشهر'])
      expect(parseWeeklyDay(bad)).toEqual({
        reason: `weekly_day must be a day name (sunday … saturday, الأحد … السبت) or 0-6, got ${bad}`,
      });
  });

  it('reads alerts as true or false, in English or Arabic', () => {
    expect(['true', 'TRUE', 'yes', '1', 'نعم'].map((a) => parseAlerts(a))).toEqual(
      Array(5).fill({ value: true }),
    );
    expect(['false', 'No', '0', 'لا'].map((a) => parseAlerts(a))).toEqual(Array(4).fill({ value: false }));
    expect(parseAlerts('')).toEqual({ value: null });
    expect(parseAlerts('maybe')).toEqual({ reason: 'alerts must be true or false, got maybe' });
  });

  it("undoes the export's formula escape, and nothing else", () => {
    expect(unescapeFormula("'-Huda")).toBe('-Huda');
    expect(unescapeFormula(`'=HYPERLINK("x")`)).toBe('=HYPERLINK("x")');
    expect(unescapeFormula("'Neil")).toBe("'Neil");
    expect(unescapeFormula('O’Brien')).toBe('O’Brien');
  });

  it("maps Gazette's own export columns and their Arabic names", () => {
    expect(suggestMapping(['email', 'alerts', 'send_hour', 'weekly_day'])).toEqual({
      email: 'email',
      alerts: 'alerts',
      sendHour: 'send_hour',
      weeklyDay: 'weekly_day',
    });
    expect(suggestMapping(['البريد', 'ساعة الإرسال', 'يوم الأسبوع', 'التنبيهات'])).toEqual({
      email: 'البريد',
      sendHour: 'ساعة الإرسال',
      weeklyDay: 'يوم الأسبوع',
      alerts: 'التنبيهات',
    });
    expect(suggestMapping(['Email', 'Hour', 'Day'])).toMatchObject({ sendHour: 'Hour', weeklyDay: 'Day' });
  });
});
