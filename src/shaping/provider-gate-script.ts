/**
 * The provider gate's Lua script (provider-gate.ts): one call per provider decides a claim's grant,
 * a throttle, a drop, a success, or renews connection leases, on Redis's own time.
 */
const MAX_LEVEL = 6;

// KEYS: state hash, hour counter, day counter, lease zset
// ARGV: mode, now (clock ms), rate/s, floor multiplier, want, hour limit, day limit, max leases,
//       lease ms, lease prefix, window ttl s
export const PROVIDER_GATE_SCRIPT = `
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
    -- a quarter second's worth, the alerts' reserve carved out of it, not added on top (as the
    -- global bucket does): a provider counting its own window must never see more than the rate,
    -- and with tokens taken as messages go (delivery/provider-pace.ts) a second's worth of burst
    -- on top of a full-rate second reached the bench's Gmail as 421s
    capacity = math.max(math.ceil(base / 4), reserve + 1)
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
    -- every connection is another attempt's, which goes on using them (provider-connections.ts):
    -- this one asks again shortly
    if free < 1 then return {0, 100, 5} end
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
elseif mode == 'renew' then
  -- leases an attempt keeps while it has rows of the provider to send, each leaseMs from now: 1 for
  -- one still held, 0 for one gone (Redis wiped, or expired after a stall), which is taken again
  local out = {}
  for i = 12, #ARGV do
    local had = redis.call('ZSCORE', KEYS[4], ARGV[i])
    redis.call('ZADD', KEYS[4], real + tonumber(ARGV[9]), ARGV[i])
    out[#out + 1] = had and 1 or 0
  end
  redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[9]) * 2)
  return out
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
