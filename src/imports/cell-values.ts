/**
 * The cells of an import file that hold a reader's schedule and alerts, read the way Gazette's own
 * export writes them (send_hour 7, weekly_day friday, alerts true) and the way a person types them
 * in a spreadsheet (09, الجمعة, نعم). Each parser answers the value, null for an empty cell (the
 * default applies), or a reason naming the column and what it got.
 */

/** 0 = Sunday ... 6 = Saturday, the numbering of subscribers.weekly_day and digest.weeklyDay */
export const WEEKDAY_NAMES = [
  'sunday',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
] as const;

const ARABIC_DAYS = ['احد', 'اثنين', 'ثلاثاء', 'اربعاء', 'خميس', 'جمعه', 'سبت'];
const ENGLISH_SHORT: Record<string, number> = { tues: 2, thur: 4, thurs: 4 };

export type Parsed<T> = { value: T | null } | { reason: string };

const got = (raw: string) => raw.slice(0, 40);

/** Arabic-Indic and Persian digits as ASCII: "٩" is a 9 to whoever typed it. */
function asciiDigits(raw: string): string {
  return raw.replace(/[\u0660-\u0669\u06F0-\u06F9]/g, (d) => String((d.charCodeAt(0) & 0xf) % 10));
}

export function parseSendHour(raw: string): Parsed<number> {
  if (raw === '') return { value: null };
  // "9", "09", and a spreadsheet's "09:00"
  const m = /^(\d{1,2})(?::00)?$/.exec(asciiDigits(raw));
  const hour = m ? Number(m[1]) : NaN;
  if (!(hour >= 0 && hour <= 23)) return { reason: `send_hour must be 0-23, got ${got(raw)}` };
  return { value: hour };
}

/** Spelling variants folded away: diacritics, tatweel, the forms of alef, taa marbuta, "يوم", "ال". */
function foldArabic(raw: string): string {
  return raw
    .replace(/[\u064B-\u0652\u0640]/g, '')
    .replace(/[أإآ]/g, 'ا')
    .replace(/ة/g, 'ه')
    .replace(/^يوم\s*/, '')
    .replace(/^ال/, '');
}

export function parseWeeklyDay(raw: string): Parsed<number> {
  if (raw === '') return { value: null };
  const v = asciiDigits(raw).toLowerCase();
  let day = /^[0-6]$/.test(v) ? Number(v) : WEEKDAY_NAMES.indexOf(v as (typeof WEEKDAY_NAMES)[number]);
  if (day < 0 && v.length >= 3) {
    day = ENGLISH_SHORT[v] ?? WEEKDAY_NAMES.findIndex((n) => v.length === 3 && n.startsWith(v));
  }
  if (day < 0) day = ARABIC_DAYS.indexOf(foldArabic(v.normalize('NFC')));
  if (day < 0)
    return {
      reason: `weekly_day must be a day name (sunday … saturday, الأحد … السبت) or 0-6, got ${got(raw)}`,
    };
  return { value: day };
}

const TRUE = new Set(['true', 'yes', '1', 'نعم']);
const FALSE = new Set(['false', 'no', '0', 'لا']);

export function parseAlerts(raw: string): Parsed<boolean> {
  if (raw === '') return { value: null };
  const v = raw.toLowerCase();
  if (TRUE.has(v)) return { value: true };
  if (FALSE.has(v)) return { value: false };
  return { reason: `alerts must be true or false, got ${got(raw)}` };
}

/**
 * Undoes the export's formula escape (csv-stringify escape_formulas puts an apostrophe before a
 * cell starting with = + - @ tab or CR): "'-Huda" comes back as the "-Huda" that was exported. A
 * value that starts with an apostrophe and no such character was not escaped and is left alone.
 */
export function unescapeFormula(raw: string): string {
  return /^'[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/.test(raw) ? raw.slice(1) : raw;
}
