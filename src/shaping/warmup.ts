import type { ProviderLimits } from './shaping-schema.js';

/**
 * The warm-up day cap: `start` messages on day 0 (the `since` date, UTC), times `growth` each
 * day after, up to `max` (unlimited once `max` is reached, or when there is none and the cap has
 * grown past any batch). Before `since` the first day's cap applies.
 */
export function warmupCap(warmup: NonNullable<ProviderLimits['warmup']>, nowMs: number): number {
  const day = Math.max(0, Math.floor((nowMs - Date.parse(`${warmup.since}T00:00:00Z`)) / 86_400_000));
  const cap = Math.floor(warmup.start * warmup.growth ** Math.min(day, 200));
  return warmup.max !== undefined ? Math.min(cap, warmup.max) : Math.min(cap, Number.MAX_SAFE_INTEGER);
}
