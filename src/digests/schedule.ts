/**
 * When a reader's next digest is due, computed on calendar dates in the reader's time zone with
 * Intl. Working from the local date (never "now + 24 h") is what keeps DST days from being skipped
 * (spring forward) or sent twice (fall back).
 */
import type { Frequency } from '../render/index.js';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export interface LocalDate {
  year: number;
  month: number;
  day: number;
}

interface WallClock extends LocalDate {
  hour: number;
  minute: number;
  second: number;
}

export function wallClock(at: Date, timeZone: string): WallClock {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(at)) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** The zone's UTC offset at an instant, in ms (east positive). */
function offsetAt(ms: number, timeZone: string): number {
  const w = wallClock(new Date(ms), timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant the reader's wall clock shows `hour`:00 on `date`. A time that does not exist
 * (inside a spring-forward gap) maps to the first instant after the gap; a time that exists twice
 * (fall back) maps to the earlier one, so the day still gets exactly one slot.
 */
export function localSlot(date: LocalDate, hour: number, timeZone: string): Date {
  const naive = Date.UTC(date.year, date.month - 1, date.day, hour);
  const offsets = new Set([
    offsetAt(naive - 36 * 3600_000, timeZone),
    offsetAt(naive, timeZone),
    offsetAt(naive + 36 * 3600_000, timeZone),
  ]);
  const valid: number[] = [];
  for (const off of offsets) {
    const t = naive - off;
    const w = wallClock(new Date(t), timeZone);
    if (w.year === date.year && w.month === date.month && w.day === date.day && w.hour === hour)
      valid.push(t);
  }
  if (valid.length > 0) return new Date(Math.min(...valid));
  // In the gap: the offset before the transition is the larger-numbered wall time's predecessor;
  // naive - offsetBefore lands exactly at the end of the gap.
  const before = offsetAt(naive - 36 * 3600_000, timeZone);
  return new Date(naive - before);
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
