-- rate_limit: GCRA on one key holding the theoretical arrival time (us, server clock).
-- KEYS[1] the cell. ARGV: 1 emission interval (us), 2 burst tolerance (us).
-- Returns 0 allowed | the wait (us) before the next request is allowed.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then
  tat = now
end
local nxt = tat + interval
local allowed_at = nxt - tolerance
if allowed_at > now then
  return allowed_at - now
end
redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1)
return 0
