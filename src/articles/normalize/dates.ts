import { wallClockToUtc } from '../../time/zoned-time.js';
import { PayloadError } from '../types.js';

/** Dates from payloads, zone-less ones read in the source's time zone. */

const ZONELESS = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?$/;
const HAS_ZONE = /(?:Z|[+-]\d{2}:?\d{2}|\b(?:GMT|UTC|UT|[ECMP][SD]T))$/i;

/**
 * A date from a payload: strings with an explicit zone (ISO 8601 or RFC 822) as written; zone-less
 * wall-clock strings in `timeZone`. Empty and WordPress's "0000-00-00 00:00:00" mean no date.
 * Returns undefined for an unreadable string so the caller can name the field.
 */
export function parseDate(value: unknown, timeZone: string): Date | null | undefined {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  if (typeof value === 'number') {
    // Numbers are Unix times; seconds unless clearly milliseconds.
    const ms = value < 1e11 ? value * 1000 : value;
    return Number.isFinite(ms) ? new Date(ms) : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '' || text.startsWith('0000-00-00')) return null;
  const local = ZONELESS.exec(text);
  if (local) {
    const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0'] = local;
    const date = wallClockToUtc(
      {
        year: Number(y),
        month: Number(mo),
        day: Number(d),
        hour: Number(h),
        minute: Number(mi),
        second: Number(s),
        millisecond: Number(frac.padEnd(3, '0').slice(0, 3)),
      },
      timeZone,
    );
    return Number.isNaN(date.getTime()) ? undefined : date;
  }
  // A zone-less string in any other format would be read in the server's zone: refuse it instead.
  if (!HAS_ZONE.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/** parseDate that throws a PayloadError naming the field. */
export function dateField(value: unknown, path: string, timeZone: string): Date | null {
  const date = parseDate(value, timeZone);
  if (date === undefined) throw new PayloadError(`${path}: not a date`);
  return date;
}
