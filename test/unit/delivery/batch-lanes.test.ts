import { describe, expect, it } from 'vitest';
import { BatchLanes, LaneHold } from '../../../src/delivery/batch-lanes.js';

describe('full-speed lanes of a send worker', () => {
  it('lets two batches hold a lane and hands a freed lane to the first waiting', async () => {
    const lanes = new BatchLanes(2);
    expect(lanes.tryTake()).toBe(true);
    expect(lanes.tryTake()).toBe(true);
    expect(lanes.tryTake()).toBe(false);
    const order: string[] = [];
    const first = lanes.take(5_000).then((got) => order.push(`first ${got}`));
    const second = lanes.take(5_000).then((got) => order.push(`second ${got}`));
    lanes.give();
    await first;
    expect(order).toEqual(['first true']);
    // the lane went to the waiter, not back to the pool
    expect(lanes.tryTake()).toBe(false);
    lanes.give();
    await second;
    expect(order).toEqual(['first true', 'second true']);
  });

  it('gives up waiting after its time, and a lane freed later is not lost to it', async () => {
    const lanes = new BatchLanes(1);
    expect(lanes.tryTake()).toBe(true);
    expect(await lanes.take(20)).toBe(false);
    lanes.give();
    expect(lanes.tryTake()).toBe(true);
  });

  it('a hold takes at most one lane and gives it back once', () => {
    const lanes = new BatchLanes(1);
    const hold = new LaneHold(lanes);
    expect(hold.hold()).toBe(true);
    expect(hold.hold()).toBe(true);
    expect(new LaneHold(lanes).hold()).toBe(false);
    hold.give();
    hold.give();
    expect(lanes.tryTake()).toBe(true);
    expect(lanes.tryTake()).toBe(false);
    // without lanes (alerts) a hold never waits
    expect(new LaneHold(undefined).hold()).toBe(true);
  });
});
