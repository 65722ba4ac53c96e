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
 * is about to go (batch-sender.ts), one round trip per dozen messages or so. After a crash the rows
 * above W were never handed off; the few at or below W that were still waiting for a connection
 * stay ambiguous with the ones in flight.
 *
 * One string key per attempt (its claim token): `<Redis run id when the attempt began>:<W>`. A mark
 * is `SET ... XX` (only while the key exists; 2-3 us of Redis against 60 for a Lua script here)
 * and the reader takes the key away with GET and DEL in one transaction, so an attempt that was
 * only stalled (not dead) cannot hand off a row above W once its log has been read: its mark fails
 * and it stops; rows at or below W are ambiguous to the reader, so the stalled attempt may still
 * send them.
 *
 * The log is trusted only when it was opened on the Redis server that answers now (same run id,
 * read before and after taking it): a Redis that restarted, even from an append-only file that
 * may lack the last second, or a replica promoted after a failover, gives a different run id, and
 * every row of the attempt is then ambiguous, as without the log.
 */
export interface HandoffLog {
  /** Starts the attempt's log; before its first claim. */
  open(token: string): Promise<void>;
  /** Raises the watermark: rows up to this id may be handed to SMTP; rejects once the log was taken away. */
  markUpTo(token: string, deliveryId: number): Promise<void>;
  /** Takes the attempt's log away (its later marks fail) and says what it held. */
  take(token: string): Promise<HandoffRecord>;
  /** The attempt recorded every outcome: its log is no longer needed (dropped later if Redis is away now). */
  discard(token: string): Promise<void>;
  /** The attempt ended without recording every outcome: its log stays for the next attempt. */
  forget(token: string): void;
}

export type HandoffRecord =
  /** no row above `upTo` was handed off (0: none was) */
  | { trusted: true; upTo: number }
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
    async markUpTo(token, deliveryId) {
      const mine = opened.get(token);
      if (!mine) throw new HandoffLogClosedError(token);
      // never lower: one connection executes this process's marks in the order they were sent
      mine.upTo = Math.max(mine.upTo, deliveryId);
      // XX: only while the log exists, so once another attempt took it, this attempt stops
      const ok = await redis.set(key(token), `${mine.runId}:${mine.upTo}`, 'PX', LOG_TTL_MS, 'XX');
      if (ok !== 'OK') throw new HandoffLogClosedError(token);
    },
    async take(token) {
      const before = await runId(redis);
      // read and delete in one transaction: a mark after it finds no log
      const replies = await redis.multi().get(key(token)).del(key(token)).exec();
      const after = await runId(redis);
      const value = replies?.[0]?.[1];
      const m = typeof value === 'string' ? /^(\w+):(\d+)$/.exec(value) : null;
      if (!m) return { trusted: false, why: 'missing' };
      if (before === null) return { trusted: false, why: 'redis run id unknown' };
      if (m[1] !== before || before !== after)
        return { trusted: false, why: 'redis restarted or failed over' };
      return { trusted: true, upTo: Number(m[2]) };
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

/**
 * One attempt's side of its log: rows up to `markedUpTo` may be handed to SMTP. A row above it
 * raises the mark to the highest row a sending slot has taken (`takenUpTo`), so the rows the other
 * slots hold go without a round trip of their own.
 */
export class HandoffWatermark {
  private takenUpTo = 0;
  private markedUpTo = 0;
  private marking: { upTo: number; done: Promise<void> } | undefined;
  /** another attempt took the log away (this one stalled past its claim): nothing more may go */
  fenced = false;

  constructor(
    private readonly log: HandoffLog,
    private readonly token: string,
  ) {}

  /** A sending slot took this row. */
  taken(id: number): void {
    if (id > this.takenUpTo) this.takenUpTo = id;
  }

  /** Resolves once the log covers the row: only then may its body leave. */
  cover(id: number): Promise<void> {
    if (id <= this.markedUpTo) return COVERED;
    if (this.marking && id <= this.marking.upTo) return this.marking.done;
    const upTo = Math.max(id, this.takenUpTo);
    const done = this.log.markUpTo(this.token, upTo).then(
      () => {
        if (upTo > this.markedUpTo) this.markedUpTo = upTo;
      },
      (err: unknown) => {
        if (err instanceof HandoffLogClosedError) this.fenced = true;
        throw err;
      },
    );
    this.marking = { upTo, done };
    return done;
  }
}
