/**
 * When a reader's next digest is due, computed on calendar dates in the reader's time zone with
 * Intl. Working from the local date (never "now + 24 h") is what keeps DST days from being skipped
 * (spring forward) or sent twice (fall back).
 */
import type { Frequency } from '../subscriptions/schemas.js';
import { wallClock, wallClockToUtc } from '../time/zoned-time.js';

export interface LocalDate {
  year: number;
  month: number;
  day: number;
}

export { wallClock };

/**
 * The instant the reader's wall clock shows `hour`:00 on `date`. A time that does not exist
 * (inside a spring-forward gap) maps to the first instant after the gap; a time that exists twice
 * (fall back) maps to the earlier one, so the day still gets exactly one slot.
 */
export function localSlot(date: LocalDate, hour: number, timeZone: string): Date {
  return wallClockToUtc({ ...date, hour, minute: 0, second: 0, millisecond: 0 }, timeZone);
}

function addDays(date: LocalDate, days: number): LocalDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

function weekday(date: LocalDate): number {
  return new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay();
}

export interface SlotRule {
  frequency: Frequency;
  timezone: string;
  sendHour: number;
  /** 0 = Sunday; weekly only */
  weeklyDay: number;
}

/**
 * A reader's weekly day: the one they chose, or (NULL: never chose one) the publication's, so
 * they follow the publisher when it moves its weekly edition.
 */
export function weeklyDayOf(own: number | null | undefined, publicationDay: number): number {
  return own ?? publicationDay;
}

/**
 * The first slot strictly after `after`. Immediate readers have no slot (their window is opened
 * by an article), so null.
 */
export function nextSlot(rule: SlotRule, after: Date): Date | null {
  if (rule.frequency === 'immediate') return null;
  const { year, month, day } = wallClock(after, rule.timezone);
  const today: LocalDate = { year, month, day };
  for (let i = 0; i <= 8; i++) {
    const date = addDays(today, i);
    if (rule.frequency === 'weekly' && weekday(date) !== rule.weeklyDay) continue;
    const slot = localSlot(date, rule.sendHour, rule.timezone);
    if (slot.getTime() > after.getTime()) return slot;
  }
  throw new Error(`no slot found for ${JSON.stringify(rule)} after ${after.toISOString()}`);
}

/**
 * `nextSlot`, with a zone the runtime does not know (an old row, an alias dropped from tzdata)
 * replaced by `fallbackZone` (the publication's), so the reader stays on a clock rather than stuck.
 * Says which zone the slot is in.
 */
export function nextSlotOrFallback(
  rule: SlotRule,
  after: Date,
  fallbackZone: string,
): { at: Date | null; timezone: string } {
  try {
    return { at: nextSlot(rule, after), timezone: rule.timezone };
  } catch {
    return { at: nextSlot({ ...rule, timezone: fallbackZone }, after), timezone: fallbackZone };
  }
}
