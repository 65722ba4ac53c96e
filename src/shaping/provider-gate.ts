import type { Redis } from 'ioredis';
import type { SendPriority } from '../delivery/token-bucket.js';
import { PROVIDER_GATE_SCRIPT } from './provider-gate-script.js';
import type { ProviderLimits } from './shaping-schema.js';
import { warmupCap } from './warmup.js';

/**
 * Per-provider limits and backoff, shared by every worker process through Redis. One Lua call per
 * provider per claim decides how many of that provider's rows may be claimed now:
 * - a backoff after throttling replies (`until`, on the injected clock) grants none;
 * - the per-second token bucket (Redis's own time, like token-bucket.ts), at rate / 2^level while
 *   backing off, with the same priority floors as the global bucket, so alerts keep priority
 *   inside the provider's share; it holds a quarter second's worth (floors included, at least the
 *   reserve and one), so no window of T seconds sees more than rate * (0.25 + T) messages;
 * - the clock hour's and the day's counters (perHour, warm-up cap);
 * - leases for connections (maxConnections): taken apart from the rate (limits with only
 *   `maxConnections`), kept by a send attempt while it has rows of the provider to send, one
 *   message in flight per lease at a time (delivery/provider-connections.ts), renewed by its
 *   heartbeat and given back when its rows of that provider are done; a crashed process's expire.
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
  /** connection leases given back */
  release(provider: string, leases: string[]): Promise<void>;
  /**
   * Calls `fn` whenever this process gives leases back (release or refund): its other attempts
   * waiting for one look again at once, not at their next 100 ms poll. Returns the unsubscribe.
   */
  onRelease(fn: () => void): () => void;
  /**
   * Connection leases kept a while longer (leaseMs from now); returns those that were gone (Redis
   * wiped, or expired after the holder stalled), which are taken again: the holder has rows waiting
   * on them, and a provider briefly one connection over answers with a throttle, not a loss.
   */
  renew(provider: string, leases: string[]): Promise<string[]>;
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
    redis.defineCommand('gazetteProviderGate', { numberOfKeys: 4, lua: PROVIDER_GATE_SCRIPT });
  const base = `${prefix}:provider`;
  const onRelease = new Set<() => void>();
  const released = () => {
    for (const fn of onRelease) fn();
  };
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
      if (leases.length > 0) {
        await redis.zrem(`${base}:${provider}:leases`, ...leases);
        released();
      }
    },
    async release(provider, leases) {
      if (leases.length === 0) return;
      await redis.zrem(`${base}:${provider}:leases`, ...leases);
      released();
    },
    onRelease(fn) {
      onRelease.add(fn);
      return () => onRelease.delete(fn);
    },
    async renew(provider, leases) {
      if (leases.length === 0) return [];
      const kept = await call(provider, 0, 'renew', 0, 0, 0, 0, 0, 0, 0, opts.leaseMs, '', 0, ...leases);
      return leases.filter((_, i) => Number(kept[i]) !== 1);
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
