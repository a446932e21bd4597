-- insert_esim_order: claim the merchant's order key and store the order, or report the holder.
-- KEYS[1] the order hash, KEYS[2] the key claim (kept as long as the order).
-- ARGV[1] index member (encoded id), ARGV[2] record JSON, ARGV[3] version, ARGV[4] order key prefix.
-- Returns {0} inserted | {1, holder JSON or false} claimed | {2} id already used.
local holder = redis.call('GET', KEYS[2])
if holder then
  return {1, redis.call('HGET', ARGV[4] .. holder, 'json')}
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {2}
end
redis.call('HSET', KEYS[1], 'json', ARGV[2], 'v', ARGV[3])
redis.call('SET', KEYS[2], ARGV[1])
return {0}
