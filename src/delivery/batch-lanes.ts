/**
 * The full-speed lanes of one send worker process: a bulk batch claims rows of unlimited providers
 * (the global bucket's) only while it holds a lane. Two lanes keep the SMTP pool busy across the
 * short gaps between chunks, as two batch jobs did before; the worker runs more batch jobs than
 * that (SEND_BATCH_JOBS), and the others meanwhile send only rows of throttled or
 * connection-limited providers, whose pace is the provider's. A batch gives its lane up once its
 * unlimited rows are claimed, so the next batch's go at full speed rather than waiting behind a
 * batch that sends Gmail's share at Gmail's rate (provider-share.ts).
 */
/** Two batches at full speed keep the SMTP pool busy across the short gaps between chunks. */
export const FULL_SPEED_BATCHES = 2;

export class BatchLanes {
  private free: number;
  private readonly waiting: Array<(got: boolean) => void> = [];

  constructor(readonly size: number) {
    this.free = Math.max(1, size);
  }

  tryTake(): boolean {
    if (this.free <= 0) return false;
    this.free--;
    return true;
  }

  /** Waits up to `ms` for a lane, first come first served; true when the caller holds one. */
  take(ms: number): Promise<boolean> {
    if (this.tryTake()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const entry = (got: boolean) => {
        clearTimeout(timer);
        resolve(got);
      };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(false);
      }, ms);
      timer.unref();
      this.waiting.push(entry);
    });
  }

  give(): void {
    const next = this.waiting.shift();
    if (next) next(true);
    else this.free++;
  }
}

/** Longest a claim waits for a lane before looking at the other providers again. */
const LANE_WAIT_MS = 250;

/** One batch attempt's hold on a lane (none needed without lanes: alerts, or no shaping). */
export class LaneHold {
  private held = false;

  constructor(private readonly lanes: BatchLanes | undefined) {}

  /** Holds a lane, taking one when free; false when the caller must do without for now. */
  hold(): boolean {
    if (!this.lanes || this.held) return true;
    this.held = this.lanes.tryTake();
    return this.held;
  }

  /** Waits a while for a lane (the claim then looks at the other providers again). */
  async wait(ms = LANE_WAIT_MS): Promise<void> {
    if (this.lanes && !this.held) this.held = await this.lanes.take(ms);
  }

  give(): void {
    if (!this.held) return;
    this.held = false;
    this.lanes?.give();
  }
}
