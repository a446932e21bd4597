-- Shared part of insert.lua and insert_rated.lua (after record.lua, prepended by scripts.rs).
-- claim(first, gate): KEYS[first..] are the idempotency keys. ARGV[12] payment key prefix
-- (+ member = a payment's key), ARGV[13] idempotency TTL in ms.
-- Claims every key in order, or reports the first one taken (a replay: the gate is not asked).
-- Then `gate()` (may be nil) may refuse with a reply of its own, before anything is written.
-- Returns {0} inserted | {1, key index (0-based), holder JSON or false} | {2} id already used |
-- the gate's reply.
local function claim(first, gate)
  for i = first, #KEYS do
    local holder = redis.call('GET', KEYS[i])
    if holder then
      return {1, i - first, redis.call('HGET', ARGV[12] .. holder, 'json')}
    end
  end
  if redis.call('EXISTS', KEYS[1]) == 1 then
    return {2}
  end
  if gate then
    local refused = gate()
    if refused then
      return refused
    end
  end
  write_record()
  for i = first, #KEYS do
    redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[13])
  end
  return {0}
end
