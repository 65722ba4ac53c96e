import type { Redis } from 'ioredis';

/**
 * Which claimed ledger rows an attempt has handed to the SMTP server, kept in Redis so it outlives
 * a killed worker process.
 *
 * A batch attempt claims rows a chunk at a time (they turn `sending`) and hands them to SMTP one by
 * one. When the process dies, its rows stay `sending`, and the next attempt used to have to mark
 * them all `ambiguous` (never resent, RFC 1047), although most had never left the process: they
 * were waiting for a connection. With this log the next attempt can tell them apart: a row the
 * log does not name was never handed off and is plainly pending again; a row it names may have
 * reached the server and stays ambiguous.
 *
 * The log is a watermark, not a list: "no row above id W has been handed off". A mark per message
 * would cost a Redis round trip per message (12-18% of the benchmark's throughput, measured), so
 * the sender raises W to the highest row any of its slots has taken so far whenever a row above W
 * is about to go (send-attempt.ts), one round trip per dozen messages or so. After a crash the rows
 * above W were never handed off; the few at or below W that were still waiting for a connection
 * stay ambiguous with the ones in flight.
 *
 * Parked rows: an attempt may keep claimed rows of a connection-limited provider waiting in its
 * queue while rows with higher ids go out (provider-share.ts), so W passes rows that were never
 * handed off, and a crash would make them ambiguous: readers who never got their digest would
 * never be sent it. So a mark also lists the ids at or below W that the attempt holds and no slot
 * has taken yet; after a crash they are pending again with the rows above W. Each mark replaces
 * the list (the latest mark is the whole truth). The common path costs nothing more: the raise of
 * W carries the list (still one SET per raise); only covering a row the last mark listed, or a
 * claim of rows below W, sends a mark of its own. The list is the attempt's queue, a claim or two
 * of SEND_CLAIM_SIZE rows, far below MAX_PARKED (a longer one is refused, never cut short).
 *
 * One string key per attempt (its claim token): `<Redis run id when the attempt began>:<W>`, or
 * `<run id>:<W>:<id,id,...>` when rows at or below W are parked. A mark is `SET ... XX` (only
 * while the key exists; 2-3 us of Redis against 60 for a Lua script here) and the reader takes the
 * key away with GET and DEL in one transaction, so an attempt that was only stalled (not dead)
 * cannot hand off a row above W, or a row its last mark listed, once its log has been read: its
 * mark fails and it stops; other rows at or below W are ambiguous to the reader, so the stalled
 * attempt may still send them.
 *
 * The log is trusted only when it was opened on the Redis server that answers now (same run id,
 * read before and after taking it): a Redis that restarted, even from an append-only file that
 * may lack the last second, or a replica promoted after a failover, gives a different run id, and
 * every row of the attempt is then ambiguous, as without the log.
 */
export interface HandoffLog {
  /** Starts the attempt's log; before its first claim. */
  open(token: string): Promise<void>;
  /**
   * Raises the watermark: rows up to this id may be handed to SMTP, except the `parked` ones (ids at
   * or below it the attempt holds unsent; replaces the last mark's list). Rejects once the log was
   * taken away, and with a RangeError for more than MAX_PARKED parked ids.
   */
  markUpTo(token: string, deliveryId: number, parked?: readonly number[]): Promise<void>;
  /** Takes the attempt's log away (its later marks fail) and says what it held. */
  take(token: string): Promise<HandoffRecord>;
  /** The attempt recorded every outcome: its log is no longer needed (dropped later if Redis is away now). */
  discard(token: string): Promise<void>;
  /** The attempt ended without recording every outcome: its log stays for the next attempt. */
  forget(token: string): void;
}

export type HandoffRecord =
  /** no row above `upTo` was handed off (0: none was), nor any of `parked` (ascending ids <= upTo) */
  | { trusted: true; upTo: number; parked: number[] }
  | { trusted: false; why: 'missing' | 'redis restarted or failed over' | 'redis run id unknown' };

export class HandoffLogClosedError extends Error {
  constructor(token: string) {
    super(
      `the hand-off log of claim ${token} was taken by another attempt (this one stalled past its claim) or lost with Redis: row not handed off`,
    );
    this.name = 'HandoffLogClosedError';
  }
}

/** A log outlives its attempt this long (a crashed attempt's rows are recovered within minutes). */
const LOG_TTL_MS = 7 * 24 * 3600 * 1000;

/**
 * Most parked ids one mark may list. An attempt parks at most its queue (a claim or two of
 * SEND_CLAIM_SIZE rows), so this is never reached; a longer list is refused rather than cut short,
 * which would make its missing rows ambiguous.
 */
export const MAX_PARKED = 2000;

/** A log's value: `<run id>:<W>` or `<run id>:<W>:<id,id,...>`. */
const VALUE = /^(\w+):(\d+)(?::(\d+(?:,\d+)*))?$/;

/** The server's run id (new on every start and on a failover), or null where INFO is not allowed. */
async function runId(redis: Redis): Promise<string | null> {
  const info = await redis.info('server').catch(() => '');
  return /^run_id:(\w+)/m.exec(info)?.[1] ?? null;
}

export function createHandoffLog(redis: Redis, prefix: string): HandoffLog {
  const key = (token: string) => `${prefix}:handoff:${token}`;
  // per attempt of this process: the run id its log was opened under, and the highest mark sent
  const opened = new Map<string, { runId: string; upTo: number }>();
  // logs whose attempt finished but could not drop them (Redis unreachable at that moment): the
  // next attempt of this process drops them, instead of leaving them for LOG_TTL_MS
  const undropped = new Set<string>();

  return {
    async open(token) {
      if (undropped.size > 0) {
        const tokens = [...undropped];
        await redis.del(...tokens.map(key)).then(
          () => {
            for (const t of tokens) undropped.delete(t);
          },
          () => {},
        );
      }
      // without a run id the log is still kept (and fences a stalled attempt) but never trusted
      const id = (await runId(redis)) ?? 'unknown';
      await redis.set(key(token), `${id}:0`, 'PX', LOG_TTL_MS);
      opened.set(token, { runId: id, upTo: 0 });
    },
    async markUpTo(token, deliveryId, parked = []) {
      const mine = opened.get(token);
      if (!mine) throw new HandoffLogClosedError(token);
      if (parked.length > MAX_PARKED)
        throw new RangeError(`${parked.length} parked rows in one hand-off mark (at most ${MAX_PARKED})`);
      // never lower: one connection executes this process's marks in the order they were sent
      mine.upTo = Math.max(mine.upTo, deliveryId);
      const upTo = mine.upTo;
      // ids above W need no listing: those are never handed off anyway
      const listed = [...new Set(parked)].filter((id) => id <= upTo).sort((a, b) => a - b);
      const value = `${mine.runId}:${upTo}${listed.length > 0 ? `:${listed.join(',')}` : ''}`;
      // XX: only while the log exists, so once another attempt took it, this attempt stops
      const ok = await redis.set(key(token), value, 'PX', LOG_TTL_MS, 'XX');
      if (ok !== 'OK') throw new HandoffLogClosedError(token);
    },
    async take(token) {
      const before = await runId(redis);
      // read and delete in one transaction: a mark after it finds no log
      const replies = await redis.multi().get(key(token)).del(key(token)).exec();
      const after = await runId(redis);
      const value = replies?.[0]?.[1];
      const m = typeof value === 'string' ? VALUE.exec(value) : null;
      if (!m) return { trusted: false, why: 'missing' };
      if (before === null) return { trusted: false, why: 'redis run id unknown' };
      if (m[1] !== before || before !== after)
        return { trusted: false, why: 'redis restarted or failed over' };
      const parked = m[3] ? m[3].split(',').map(Number) : [];
      return { trusted: true, upTo: Number(m[2]), parked: parked.sort((a, b) => a - b) };
    },
    async discard(token) {
      opened.delete(token);
      try {
        await redis.del(key(token));
      } catch (err) {
        undropped.add(token);
        throw err;
      }
    },
    forget(token) {
      opened.delete(token);
    },
  };
}

const COVERED: Promise<void> = Promise.resolve();
const NONE: ReadonlySet<number> = new Set();

/** A mark this attempt sent: its watermark, the rows it lists as parked, its round trip. */
interface Mark {
  seq: number;
  upTo: number;
  parked: ReadonlySet<number>;
  done: Promise<void>;
}

/**
 * One attempt's side of its log: rows up to `markedUpTo` may be handed to SMTP, except the ones
 * the last mark listed as parked. A row above it raises the mark to the highest row a sending slot
 * has taken (`takenUpTo`), so the rows the other slots hold go without a round trip of their own;
 * the mark lists the rows still waiting in the attempt's queue below it (`parkedBelow`).
 */
export class HandoffWatermark {
  private takenUpTo = 0;
  private markedUpTo = 0;
  /** the parked rows of the latest mark that landed (and of a failed one after it: it may have) */
  private markedParked: ReadonlySet<number> = NONE;
  /** the latest mark sent, while it is on its way */
  private marking: Mark | undefined;
  /** rows that a mark still on its way lists as parked (how many such marks): not covered yet */
  private readonly parkedInFlight = new Map<number, number>();
  private sent = 0;
  private landed = 0;
  /** another attempt took the log away (this one stalled past its claim): nothing more may go */
  fenced = false;

  /**
   * @param parkedBelow the rows the attempt has claimed and no slot has taken yet (its queue), with
   *   ids at or below `upTo`: at most the queue, a few hundred ids (MAX_PARKED is refused)
   */
  constructor(
    private readonly log: HandoffLog,
    private readonly token: string,
    private readonly parkedBelow: (upTo: number) => number[] = () => [],
  ) {}

  /** A sending slot took this row. */
  taken(id: number): void {
    if (id > this.takenUpTo) this.takenUpTo = id;
  }

  /**
   * Resolves once the log covers the row: only then may its body leave. Without a Redis call when
   * a mark already covers it and neither the last mark nor one on its way lists it as parked.
   */
  cover(id: number): Promise<void> {
    if (id <= this.markedUpTo && !this.markedParked.has(id) && !this.parkedInFlight.has(id)) return COVERED;
    const m = this.marking;
    // marks land in the order they were sent: after the latest, the earlier ones count no more
    if (m && id <= m.upTo && !m.parked.has(id)) return m.done;
    const upTo = Math.max(id, this.takenUpTo, this.markedUpTo, m?.upTo ?? 0);
    return this.mark(upTo, id);
  }

  /**
   * The attempt claimed these rows. Those at or below the watermark (marked or on its way) would
   * count as handed off after a crash, so a mark with the same watermark lists them as parked;
   * otherwise resolves at once without a Redis call. Rejects as `cover` does (sets `fenced` once
   * the log was taken away): the rows are not to be sent then.
   */
  claimed(ids: readonly number[]): Promise<void> {
    const upTo = Math.max(this.markedUpTo, this.marking?.upTo ?? 0);
    if (!ids.some((id) => id <= upTo)) return COVERED;
    return this.mark(upTo);
  }

  /** Sends a mark up to `upTo` listing the queue below it (less `handingOff`, the row about to go). */
  private mark(upTo: number, handingOff?: number): Promise<void> {
    let list = this.parkedBelow(upTo);
    if (list.length > 0 && handingOff !== undefined) list = list.filter((p) => p !== handingOff);
    const parked = list.length > 0 ? new Set(list) : NONE;
    const seq = ++this.sent;
    for (const p of parked) this.parkedInFlight.set(p, (this.parkedInFlight.get(p) ?? 0) + 1);
    const settled = () => {
      for (const p of parked) {
        const n = this.parkedInFlight.get(p) ?? 1;
        if (n > 1) this.parkedInFlight.set(p, n - 1);
        else this.parkedInFlight.delete(p);
      }
      if (this.marking?.seq === seq) this.marking = undefined;
    };
    const done = this.log.markUpTo(this.token, upTo, list).then(
      () => {
        settled();
        if (seq < this.landed) return;
        this.landed = seq;
        if (upTo > this.markedUpTo) this.markedUpTo = upTo;
        this.markedParked = parked;
      },
      (err: unknown) => {
        settled();
        // a mark lost with the connection may have landed: its parked rows stay uncovered
        if (seq > this.landed && parked.size > 0) {
          this.landed = seq;
          this.markedParked = new Set([...this.markedParked, ...parked]);
        }
        if (err instanceof HandoffLogClosedError) this.fenced = true;
        throw err;
      },
    );
    this.marking = { seq, upTo, parked, done };
    return done;
  }
}
