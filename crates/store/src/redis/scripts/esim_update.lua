-- update_esim_order: compare-and-set on the stored version.
-- KEYS[1] the order hash. ARGV[1] record JSON, ARGV[2] its version, ARGV[3] expected version
-- (compared as text: exact for any u64).
-- Returns {0} updated | {1, stored JSON or false} conflict | {2} missing.
local stored = redis.call('HMGET', KEYS[1], 'v', 'json')
if not stored[1] then
  return {2}
end
if stored[1] ~= ARGV[3] then
  return {1, stored[2]}
end
redis.call('HSET', KEYS[1], 'json', ARGV[1], 'v', ARGV[2])
return {0}
