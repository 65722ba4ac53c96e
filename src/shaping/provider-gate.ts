import type { Redis } from 'ioredis';
import type { SendPriority } from '../delivery/token-bucket.js';
import type { ProviderLimits } from './shaping-schema.js';
import { warmupCap } from './warmup.js';

/**
 * Per-provider limits and backoff, shared by every worker process through Redis. One Lua call per
 * provider per claim decides how many of that provider's rows may be claimed now:
 * - a backoff after throttling replies (`until`, on the injected clock) grants none;
 * - the per-second token bucket (Redis's own time, like token-bucket.ts), at rate / 2^level while
 *   backing off, with the same priority floors as the global bucket, so alerts keep priority
 *   inside the provider's share; it holds one second's worth (floors included), so no window of
 *   T seconds sees more than rate * (1 + T) messages, as a provider counting its rate would;
 * - the clock hour's and the day's counters (perHour, warm-up cap);
 * - leases for messages in flight (maxConnections), given back as each row settles.
 * Rows not granted are never claimed: they stay `pending` and spend nothing.
 */
export interface ProviderState {
  provider: string;
  /** 0 = full speed; each throttling reply raises it, successes after the pause lower it */
  level: number;
  /** backing off until then (ISO), or null */
  until: string | null;
  throttles: number;
  lastError: string | null;
}

export interface GateTake {
  granted: number;
  /** when none was granted: ms until one could be (clock ms for a backoff, real ms for a rate) */
  waitMs: number;
  why: 'ok' | 'backoff' | 'rate' | 'hour' | 'day' | 'connections';
  /** lease ids for maxConnections, one per granted row (empty when unlimited) */
  leases: string[];
}

export interface ProviderGateOptions {
  redis: Redis;
  prefix: string;
  /** first backoff; doubles with each level */
  backoffMs: number;
  maxBackoffMs: number;
  /** successes after the pause before the level goes down by one */
  recoverAfter: number;
  /** a lease of a crashed process expires after this long */
  leaseMs: number;
}

const WHY = ['ok', 'backoff', 'rate', 'hour', 'day', 'connections'] as const;
const FLOOR: Record<SendPriority, number> = { transactional: 0, alert: 0.5, bulk: 1 };
const MAX_LEVEL = 6;

// KEYS: state hash, hour counter, day counter, lease zset
// ARGV: mode, now (clock ms), rate/s, floor multiplier, want, hour limit, day limit, max leases,
//       lease ms, lease prefix, window ttl s
const SCRIPT = `
local mode = ARGV[1]
local now = tonumber(ARGV[2])
local t = redis.call('TIME')
local real = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local st = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'level', 'until', 'ok')
local level = tonumber(st[3]) or 0
local untilMs = tonumber(st[4]) or 0
if mode == 'take' then
  if untilMs > now then return {0, untilMs - now, 1} end
  local want = tonumber(ARGV[5])
  local rate = tonumber(ARGV[3])
  local capacity = 0
  local tokens = 0
  if rate > 0 then
    rate = rate / (2 ^ level)
    local base = math.max(1, rate)
    local reserve = math.max(1, math.ceil(base * 0.2))
    -- the alerts' reserve is carved out of one second's worth, not added on top (as the global
    -- bucket does): a provider counting its own window must never see more than the rate
    capacity = math.max(base, reserve + 1)
    local floor = reserve * tonumber(ARGV[4])
    tokens = tonumber(st[1])
    local ts = tonumber(st[2])
    if tokens == nil or ts == nil then tokens = capacity; ts = real end
    if real > ts then tokens = math.min(capacity, tokens + (real - ts) * rate / 1000) end
    local available = math.floor(tokens - floor + 1e-9)
    if available < 1 then
      redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', real)
      return {0, math.ceil((floor + 1 - tokens) * 1000 / rate), 2}
    end
    want = math.min(want, available)
  end
  local hourLimit = tonumber(ARGV[6])
  if hourLimit > 0 then
    local used = tonumber(redis.call('GET', KEYS[2]) or '0')
    if used >= hourLimit then return {0, 3600000 - (now % 3600000), 3} end
    want = math.min(want, hourLimit - used)
  end
  local dayLimit = tonumber(ARGV[7])
  if dayLimit > 0 then
    local used = tonumber(redis.call('GET', KEYS[3]) or '0')
    if used >= dayLimit then return {0, 86400000 - (now % 86400000), 4} end
    want = math.min(want, dayLimit - used)
  end
  local leases = {}
  local maxLeases = tonumber(ARGV[8])
  if maxLeases > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', real)
    local free = maxLeases - redis.call('ZCARD', KEYS[4])
    -- every connection is another attempt's message in flight: that attempt goes on using them
    -- (provider-share.ts), so this one comes back later rather than poll
    if free < 1 then return {0, 1000, 5} end
    want = math.min(want, free)
    local seq = redis.call('HINCRBY', KEYS[1], 'leaseSeq', want)
    for i = 1, want do
      local id = ARGV[10] .. (seq - want + i)
      redis.call('ZADD', KEYS[4], real + tonumber(ARGV[9]), id)
      leases[i] = id
    end
    redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[9]) * 2)
  end
  if rate > 0 then
    redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens - want), 'ts', real)
  end
  if hourLimit > 0 then redis.call('INCRBY', KEYS[2], want); redis.call('EXPIRE', KEYS[2], 7200) end
  if dayLimit > 0 then redis.call('INCRBY', KEYS[3], want); redis.call('EXPIRE', KEYS[3], 172800) end
  return {want, 0, 0, unpack(leases)}
elseif mode == 'refund' then
  local n = tonumber(ARGV[5])
  local tokens = tonumber(st[1])
  if tokens ~= nil then redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens + n)) end
  if tonumber(ARGV[6]) > 0 and redis.call('EXISTS', KEYS[2]) == 1 then redis.call('DECRBY', KEYS[2], n) end
  if tonumber(ARGV[7]) > 0 and redis.call('EXISTS', KEYS[3]) == 1 then redis.call('DECRBY', KEYS[3], n) end
  return {0}
elseif mode == 'throttle' then
  -- the replies to messages already in flight when the first came do not deepen the backoff
  if untilMs > now then return {level, untilMs} end
  level = math.min(level + 1, ${MAX_LEVEL})
  local pause = math.min(tonumber(ARGV[3]) * (2 ^ (level - 1)), tonumber(ARGV[4]))
  untilMs = math.max(untilMs, now + pause)
  redis.call('HSET', KEYS[1], 'level', level, 'until', untilMs, 'ok', 0, 'tokens', 0, 'ts', real,
    'error', ARGV[5])
  redis.call('HINCRBY', KEYS[1], 'throttles', 1)
  return {level, untilMs}
elseif mode == 'drop' then
  -- connections lost mid-transaction, counted in a window from the first (on the injected clock);
  -- the one that reaches the storm count starts the count again, so exactly one caller sees it;
  -- like throttling replies, the drops of messages in flight while it pauses do not count
  if untilMs > now then return {0, 0} end
  local at = tonumber(redis.call('HGET', KEYS[1], 'dropsAt') or '0')
  local n = 1
  if at + tonumber(ARGV[3]) <= now then
    redis.call('HSET', KEYS[1], 'drops', 1, 'dropsAt', now)
  else
    n = redis.call('HINCRBY', KEYS[1], 'drops', 1)
  end
  if n >= tonumber(ARGV[4]) then
    redis.call('HSET', KEYS[1], 'drops', 0, 'dropsAt', 0)
    return {n, 1}
  end
  return {n, 0}
elseif mode == 'ok' then
  if level == 0 or untilMs > now then return {level} end
  local ok = redis.call('HINCRBY', KEYS[1], 'ok', tonumber(ARGV[5]))
  if ok >= tonumber(ARGV[3]) then
    level = level - 1
    redis.call('HSET', KEYS[1], 'level', level, 'ok', 0)
  end
  return {level}
end
return {0}
`;

type Evaluator = Redis & { gazetteProviderGate(...args: string[]): Promise<Array<number | string>> };

export interface ProviderGate {
  take(
    provider: string,
    limits: ProviderLimits,
    want: number,
    priority: SendPriority,
    nowMs: number,
  ): Promise<GateTake>;
  /** gives back what was granted and not claimed */
  refund(
    provider: string,
    limits: ProviderLimits,
    count: number,
    leases: string[],
    nowMs: number,
  ): Promise<void>;
  /** a row of this provider has its outcome: its connection lease is free */
  release(provider: string, leases: string[]): Promise<void>;
  /** a throttling reply: the provider backs off; returns the level and when the pause ends */
  throttled(provider: string, error: string, nowMs: number): Promise<{ level: number; untilMs: number }>;
  /**
   * A connection was lost during a message's transaction to this provider: how many were lost in
   * the window that began with the first, and whether this one reached `storm` (only one caller
   * does: the count starts again).
   */
  dropped(
    provider: string,
    storm: number,
    windowMs: number,
    nowMs: number,
  ): Promise<{ drops: number; storm: boolean }>;
  /** successes of a provider that was backing off; returns its level */
  succeeded(provider: string, count: number, nowMs: number): Promise<number>;
  state(provider: string): Promise<ProviderState>;
  /** every provider with a state in Redis (backoff now or earlier) */
  states(): Promise<ProviderState[]>;
}

export function createProviderGate(opts: ProviderGateOptions): ProviderGate {
  const { redis, prefix } = opts;
  const client = redis as Evaluator;
  if (typeof client.gazetteProviderGate !== 'function')
    redis.defineCommand('gazetteProviderGate', { numberOfKeys: 4, lua: SCRIPT });
  const base = `${prefix}:provider`;
  const keys = (provider: string, nowMs: number) => [
    `${base}:${provider}`,
    `${base}:${provider}:hour:${Math.floor(nowMs / 3_600_000)}`,
    `${base}:${provider}:day:${Math.floor(nowMs / 86_400_000)}`,
    `${base}:${provider}:leases`,
  ];
  const call = (provider: string, nowMs: number, ...args: Array<string | number>) =>
    client.gazetteProviderGate(...keys(provider, nowMs), ...args.map(String));
  const dayLimit = (limits: ProviderLimits, nowMs: number) =>
    limits.warmup ? warmupCap(limits.warmup, nowMs) : 0;

  function parseState(provider: string, h: Record<string, string>): ProviderState {
    const until = Number(h.until ?? 0);
    return {
      provider,
      level: Number(h.level ?? 0),
      until: until > 0 ? new Date(until).toISOString() : null,
      throttles: Number(h.throttles ?? 0),
      lastError: h.error ?? null,
    };
  }

  return {
    async take(provider, limits, want, priority, nowMs) {
      const [granted, waitMs, why, ...leases] = await call(
        provider,
        nowMs,
        'take',
        Math.floor(nowMs),
        limits.perSecond ?? 0,
        FLOOR[priority],
        Math.max(1, Math.floor(want)),
        limits.perHour ?? 0,
        dayLimit(limits, nowMs),
        limits.maxConnections ?? 0,
        opts.leaseMs,
        `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}-`,
        0,
      );
      return {
        granted: Number(granted),
        waitMs: Number(waitMs),
        why: WHY[Number(why)] ?? 'ok',
        leases: leases.map(String),
      };
    },
    async refund(provider, limits, count, leases, nowMs) {
      if (count > 0)
        await call(
          provider,
          nowMs,
          'refund',
          Math.floor(nowMs),
          0,
          0,
          count,
          limits.perHour ?? 0,
          dayLimit(limits, nowMs),
          0,
          0,
          '',
          0,
        );
      if (leases.length > 0) await redis.zrem(`${base}:${provider}:leases`, ...leases);
    },
    async release(provider, leases) {
      if (leases.length > 0) await redis.zrem(`${base}:${provider}:leases`, ...leases);
    },
    async throttled(provider, error, nowMs) {
      const [level, untilMs] = await call(
        provider,
        nowMs,
        'throttle',
        Math.floor(nowMs),
        opts.backoffMs,
        opts.maxBackoffMs,
        error.slice(0, 300),
        0,
        0,
        0,
        0,
        '',
        0,
      );
      await redis.sadd(`${base}s`, provider);
      return { level: Number(level), untilMs: Number(untilMs) };
    },
    async dropped(provider, storm, windowMs, nowMs) {
      const [n, reached] = await call(
        provider,
        nowMs,
        'drop',
        Math.floor(nowMs),
        windowMs,
        storm,
        0,
        0,
        0,
        0,
        0,
        '',
        0,
      );
      return { drops: Number(n), storm: Number(reached) === 1 };
    },
    async succeeded(provider, count, nowMs) {
      const [level] = await call(
        provider,
        nowMs,
        'ok',
        Math.floor(nowMs),
        opts.recoverAfter,
        0,
        count,
        0,
        0,
        0,
        0,
        '',
        0,
      );
      return Number(level);
    },
    async state(provider) {
      return parseState(provider, await redis.hgetall(`${base}:${provider}`));
    },
    async states() {
      const names = (await redis.smembers(`${base}s`)).sort();
      const hashes = await Promise.all(names.map((p) => redis.hgetall(`${base}:${p}`)));
      return names.map((p, i) => parseState(p, hashes[i]!));
    },
  };
}
