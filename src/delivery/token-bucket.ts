import type { Redis } from 'ioredis';

/**
 * The global send rate: one token bucket in Redis shared by every worker process and every queue,
 * counting MESSAGES (BullMQ's limiter counts jobs per queue, and one bulk job is hundreds of
 * messages). Refill and take happen in one Lua script, so concurrent takers never overdraw.
 *
 * Priorities share the bucket through floors: a taker may only bring the bucket down to its
 * floor. Transactional mail may empty it, alerts must leave half the reserve, bulk the whole
 * reserve; so when the bucket runs short, confirmations and breaking alerts get the next tokens
 * and bulk waits. The long-run rate of all traffic together is the configured rate.
 */
export type SendPriority = 'transactional' | 'alert' | 'bulk';

export interface TokenBucketOptions {
  redis: Redis;
  /** Redis key of the bucket, e.g. `${QUEUE_PREFIX}:send-rate` */
  key: string;
  /** messages per second, all traffic together; 0 = unlimited */
  ratePerSecond: number;
  /** waits are taken with this (tests pass a fake); default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

export interface TakeResult {
  /** tokens granted (0..want) */
  granted: number;
  /** when none was granted: ms until one could be */
  waitMs: number;
}

export interface TokenBucket {
  readonly unlimited: boolean;
  /** One attempt: takes up to `want` tokens without going below the priority's floor. */
  tryTake(want: number, priority: SendPriority, nowMs?: number): Promise<TakeResult>;
  /** Waits until at least one token is granted; returns how many (1..want). */
  take(want: number, priority: SendPriority, signal?: AbortSignal): Promise<number>;
  /** Gives back tokens that were taken but not used (capped at the bucket's capacity). */
  refund(count: number, nowMs?: number): Promise<void>;
  /** the shape derived from the rate, for tests and logs */
  readonly shape: { capacity: number; reserve: number; floors: Record<SendPriority, number> };
}

// KEYS[1] bucket; ARGV: rate/s, capacity, floor, want, now ms ('' = Redis TIME), mode take|refund
const SCRIPT = `
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local floor = tonumber(ARGV[3])
local want = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
if now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * rate / 1000)
  ts = now
end
local granted = 0
local wait = 0
if ARGV[6] == 'refund' then
  tokens = math.min(capacity, tokens + want)
else
  local available = math.floor(tokens - floor + 1e-9)
  if available >= 1 then
    granted = math.min(want, available)
    tokens = tokens - granted
  else
    wait = math.ceil((floor + 1 - tokens) * 1000 / rate)
  end
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.0f', ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity * 1000 / rate) + 60000)
return {granted, wait}
`;

type Evaluator = Redis & {
  gazetteTokenBucket(key: string, ...args: string[]): Promise<[number, number]>;
};

export function bucketShape(ratePerSecond: number) {
  // one second of traffic may burst, plus a reserve that only priority mail may dig into
  const base = Math.max(1, ratePerSecond);
  const reserve = Math.max(1, Math.ceil(base * 0.2));
  return {
    capacity: base + reserve,
    reserve,
    floors: { transactional: 0, alert: reserve / 2, bulk: reserve } as Record<SendPriority, number>,
  };
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createTokenBucket(opts: TokenBucketOptions): TokenBucket {
  const { redis, key, ratePerSecond } = opts;
  const sleep = opts.sleep ?? defaultSleep;
  const shape = bucketShape(ratePerSecond);
  const unlimited = ratePerSecond <= 0;
  const client = redis as Evaluator;
  if (!unlimited && typeof client.gazetteTokenBucket !== 'function') {
    redis.defineCommand('gazetteTokenBucket', { numberOfKeys: 1, lua: SCRIPT });
  }

  async function run(want: number, floor: number, nowMs: number | undefined, mode: 'take' | 'refund') {
    const [granted, waitMs] = await client.gazetteTokenBucket(
      key,
      String(ratePerSecond),
      String(shape.capacity),
      String(floor),
      String(want),
      nowMs === undefined ? '' : String(Math.floor(nowMs)),
      mode,
    );
    return { granted: Number(granted), waitMs: Number(waitMs) };
  }

  const bucket: TokenBucket = {
    unlimited,
    shape,
    async tryTake(want, priority, nowMs) {
      if (unlimited) return { granted: want, waitMs: 0 };
      return run(Math.max(1, Math.floor(want)), shape.floors[priority], nowMs, 'take');
    },
    async take(want, priority, signal) {
      for (;;) {
        signal?.throwIfAborted();
        const { granted, waitMs } = await bucket.tryTake(want, priority);
        if (granted > 0) return granted;
        // a little jitter, so many waiting takers do not all come back in the same millisecond
        await sleep(Math.max(1, waitMs) + Math.floor(Math.random() * 5));
      }
    },
    async refund(count, nowMs) {
      if (unlimited || count <= 0) return;
      await run(count, 0, nowMs, 'refund');
    },
  };
  return bucket;
}

/** The one key every Gazette process shares for its prefix. */
export function sendRateKey(queuePrefix: string): string {
  return `${queuePrefix}:send-rate`;
}
