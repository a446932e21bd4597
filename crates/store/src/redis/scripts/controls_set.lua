-- Replaces the routing controls document if its version is still the expected one, and logs the
-- change, in one step.
-- KEYS[1] controls hash {v, doc}; KEYS[2] audit list (newest first)
-- ARGV[1] expected version; ARGV[2] document; ARGV[3] audit entry (JSON); ARGV[4] entries kept
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if current ~= tonumber(ARGV[1]) then
  return -1
end
local version = current + 1
redis.call('HSET', KEYS[1], 'v', version, 'doc', ARGV[2])
redis.call('LPUSH', KEYS[2], ARGV[3])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
return version
