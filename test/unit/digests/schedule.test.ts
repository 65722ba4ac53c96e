import { describe, expect, it } from 'vitest';
import { localSlot, nextSlot, type SlotRule, wallClock } from '../../../src/digests/schedule.js';

const daily = (timezone: string, sendHour: number): SlotRule => ({
  frequency: 'daily',
  timezone,
  sendHour,
  weeklyDay: 5,
});

function slots(rule: SlotRule, from: string, n: number): string[] {
  const out: string[] = [];
  let at = new Date(from);
  for (let i = 0; i < n; i++) {
    at = nextSlot(rule, at)!;
    out.push(at.toISOString());
  }
  return out;
}

describe('next digest slot', () => {
  it('Berlin, spring forward (29 March 2026): 07:00 every day, the day itself not skipped', () => {
    expect(slots(daily('Europe/Berlin', 7), '2026-03-27T12:00:00Z', 4)).toEqual([
      '2026-03-28T06:00:00.000Z', // CET
      '2026-03-29T05:00:00.000Z', // CEST from this morning
      '2026-03-30T05:00:00.000Z',
      '2026-03-31T05:00:00.000Z',
    ]);
  });

  it('Berlin, a send hour inside the skipped hour: 02:00 becomes 03:00 CEST that day, once', () => {
    expect(slots(daily('Europe/Berlin', 2), '2026-03-27T12:00:00Z', 3)).toEqual([
      '2026-03-28T01:00:00.000Z', // 02:00 CET
      '2026-03-29T01:00:00.000Z', // 02:00 does not exist: 03:00 CEST, the end of the gap
      '2026-03-30T00:00:00.000Z', // 02:00 CEST
    ]);
  });

  it('Berlin, fall back (25 October 2026): 02:00 happens twice, the digest once', () => {
    expect(slots(daily('Europe/Berlin', 2), '2026-10-23T12:00:00Z', 3)).toEqual([
      '2026-10-24T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T00:00:00.000Z', // the first 02:00 (CEST); not again at 01:00Z (02:00 CET)
      '2026-10-26T01:00:00.000Z', // 02:00 CET
    ]);
    // a planner running between the two 02:00s (e.g. late) does not send the day again
    expect(nextSlot(daily('Europe/Berlin', 2), new Date('2026-10-25T00:30:00Z'))!.toISOString()).toBe(
      '2026-10-26T01:00:00.000Z',
    );
  });

  it('New York: spring forward (8 March) and fall back (1 November 2026)', () => {
    expect(slots(daily('America/New_York', 7), '2026-03-06T18:00:00Z', 3)).toEqual([
      '2026-03-07T12:00:00.000Z', // EST
      '2026-03-08T11:00:00.000Z', // EDT
      '2026-03-09T11:00:00.000Z',
    ]);
    expect(slots(daily('America/New_York', 2), '2026-03-07T12:00:00Z', 2)).toEqual([
      '2026-03-08T07:00:00.000Z', // 02:00 skipped: 03:00 EDT
      '2026-03-09T06:00:00.000Z',
    ]);
    expect(slots(daily('America/New_York', 1), '2026-10-31T12:00:00Z', 2)).toEqual([
      '2026-11-01T05:00:00.000Z', // the first 01:00 (EDT)
      '2026-11-02T06:00:00.000Z', // EST
    ]);
  });

  it('weekly: the publication day at the reader hour, across a DST change', () => {
    const weekly: SlotRule = { frequency: 'weekly', timezone: 'Europe/Berlin', sendHour: 9, weeklyDay: 5 };
    expect(slots(weekly, '2026-03-21T00:00:00Z', 3)).toEqual([
      '2026-03-27T08:00:00.000Z', // Friday, CET
      '2026-04-03T07:00:00.000Z', // Friday, CEST
      '2026-04-10T07:00:00.000Z',
    ]);
  });

  it('immediate readers have no slot', () => {
    expect(nextSlot({ ...daily('UTC', 7), frequency: 'immediate' }, new Date())).toBeNull();
  });

  // Every local date exactly once, at the hour (or just after a gap), over a year of DST changes,
  // including a zone with a 30-minute shift.
  for (const zone of ['Europe/Berlin', 'America/New_York', 'Asia/Damascus', 'Australia/Lord_Howe']) {
    it(`${zone}: one slot per local day over 2026, for hours around the changes`, () => {
      for (const hour of [0, 1, 2, 3, 7, 23]) {
        let at = new Date('2025-12-31T12:00:00Z');
        let prevDate: string | null = null;
        for (let i = 0; i < 366; i++) {
          const next = nextSlot(daily(zone, hour), at)!;
          expect(next.getTime()).toBeGreaterThan(at.getTime());
          const w = wallClock(next, zone);
          const date = `${w.year}-${w.month}-${w.day}`;
          if (prevDate) {
            const prev = new Date(
              `${prevDate
                .split('-')
                .map((p) => p.padStart(2, '0'))
                .join('-')}T00:00:00Z`,
            );
            const cur = new Date(
              `${date
                .split('-')
                .map((p) => p.padStart(2, '0'))
                .join('-')}T00:00:00Z`,
            );
            expect(cur.getTime() - prev.getTime()).toBe(24 * 3600_000);
          }
          // the hour itself, or (inside a gap) the first instant after it
          const minutes = w.hour * 60 + w.minute;
          expect(minutes).toBeGreaterThanOrEqual(hour * 60);
          expect(minutes).toBeLessThanOrEqual(hour * 60 + 60);
          prevDate = date;
          at = next;
        }
      }
    });
  }

  it('localSlot of an ordinary day is the wall-clock hour', () => {
    expect(localSlot({ year: 2026, month: 6, day: 1 }, 7, 'Asia/Damascus').toISOString()).toBe(
      '2026-06-01T04:00:00.000Z',
    );
  });
});
