-- Shared head of rate.lua and insert_rated.lua (prepended by scripts.rs / limits.rs).
-- GCRA on one key holding the theoretical arrival time (us, server clock).
-- gcra(key, interval, tolerance): interval the emission interval (us), tolerance the burst (us).
-- Returns 0 allowed (and the arrival time moves on) | the wait (us) before the next request is
-- allowed (nothing written).
local function gcra(key, interval, tolerance)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then
    tat = now
  end
  local nxt = tat + interval
  local allowed_at = nxt - tolerance
  if allowed_at > now then
    return allowed_at - now
  end
  redis.call('SET', key, string.format('%d', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1)
  return 0
end
