-- release_spend: gives one payment's reservation back (idempotent).
-- KEYS[1] the month hash. ARGV[1] payment member. Returns 1 released | 0 nothing to release.
local amount = redis.call('HGET', KEYS[1], ARGV[1])
if not amount then
  return 0
end
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HINCRBY', KEYS[1], '#total', -tonumber(amount)) <= 0 and redis.call('HLEN', KEYS[1]) <= 1 then
  redis.call('DEL', KEYS[1])
end
return 1
