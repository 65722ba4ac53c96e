import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createHandoffLog,
  type HandoffLog,
  HandoffLogClosedError,
  HandoffWatermark,
} from '../../src/delivery/handoff-log.js';
import { deleteRedisPrefix } from '../helpers/context.js';

/**
 * An attempt's watermark over a real hand-off log in Redis, with parked rows: rows it claimed and
 * keeps waiting while rows with higher ids go out. The log is wrapped only to count its marks.
 */
describe('hand-off watermark with parked rows', () => {
  const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = `gz-watermark-${randomUUID().slice(0, 8)}`;
  const real = createHandoffLog(redis, prefix);
  afterAll(async () => {
    await deleteRedisPrefix(prefix);
    redis.disconnect();
  });

  /** An attempt's watermark; `queue` stands for its claimed rows no slot has taken yet. */
  async function attempt() {
    const token = randomUUID();
    await real.open(token);
    const marks: Array<{ upTo: number; parked: number[] }> = [];
    const log: HandoffLog = {
      ...real,
      markUpTo(t, id, parked) {
        marks.push({ upTo: id, parked: [...(parked ?? [])] });
        return real.markUpTo(t, id, parked);
      },
    };
    const queue = new Set<number>();
    const watermark = new HandoffWatermark(log, token, (upTo) =>
      [...queue].filter((id) => id <= upTo).sort((a, b) => a - b),
    );
    /** a slot takes the row out of the queue */
    const take = (id: number) => {
      queue.delete(id);
      watermark.taken(id);
    };
    return { token, marks, queue, watermark, take };
  }

  it('lists a waiting row below the mark; covering it sends a mark without it, other rows send none', async () => {
    const { token, marks, queue, watermark, take } = await attempt();
    for (const id of [1, 2, 3, 4, 5, 6]) queue.add(id);
    // row 3's provider has no free connection: it waits while 4 and 5 go
    for (const id of [1, 2, 4, 5]) take(id);
    await watermark.cover(1);
    expect(marks).toEqual([{ upTo: 5, parked: [3] }]);
    await Promise.all([watermark.cover(2), watermark.cover(4), watermark.cover(5)]);
    expect(marks).toHaveLength(1);

    take(3);
    await watermark.cover(3);
    expect(marks).toEqual([
      { upTo: 5, parked: [3] },
      { upTo: 5, parked: [] },
    ]);
    expect(await real.take(token)).toEqual({ trusted: true, upTo: 5, parked: [] });
  });

  it('a claim below the mark sends one mark listing the new rows; a claim above it sends none', async () => {
    const { token, marks, queue, watermark, take } = await attempt();
    take(10);
    await watermark.cover(10);
    expect(marks).toHaveLength(1);

    for (const id of [11, 12]) queue.add(id);
    await watermark.claimed([11, 12]);
    expect(marks).toHaveLength(1);

    // rows below W claimed late (handed back to pending earlier, or another provider's turn)
    for (const id of [4, 7]) queue.add(id);
    await watermark.claimed([4, 7]);
    expect(marks).toEqual([
      { upTo: 10, parked: [] },
      { upTo: 10, parked: [4, 7] },
    ]);
    expect(await real.take(token)).toEqual({ trusted: true, upTo: 10, parked: [4, 7] });

    // the log was taken: a parked row may not go any more, and the watermark says it is fenced
    take(4);
    await expect(watermark.cover(4)).rejects.toBeInstanceOf(HandoffLogClosedError);
    expect(watermark.fenced).toBe(true);
    // an unparked row at or below the last mark was ambiguous to the reader: it may still go
    await watermark.cover(10);
    queue.add(2);
    await expect(watermark.claimed([2])).rejects.toBeInstanceOf(HandoffLogClosedError);
  });

  it('a row listed by a mark still on its way is not covered until a later mark drops it', async () => {
    const { token, marks, queue, watermark, take } = await attempt();
    take(8);
    await watermark.cover(8);
    queue.add(3);
    const listing = watermark.claimed([3]);
    // a slot takes row 3 before that mark has landed: it must wait for a mark without it
    take(3);
    const covering = watermark.cover(3);
    await Promise.all([listing, covering]);
    expect(marks).toEqual([
      { upTo: 8, parked: [] },
      { upTo: 8, parked: [3] },
      { upTo: 8, parked: [] },
    ]);
    expect(await real.take(token)).toEqual({ trusted: true, upTo: 8, parked: [] });
  });
});
