-- insert_topup: claim the merchant's external_tx_id and store the top-up, or report the holder.
-- KEYS[4] the external_tx_id claim. ARGV[6] top-up key prefix (+ member = a top-up's key),
-- ARGV[7] idempotency TTL in ms.
-- Returns {0} inserted | {1, holder JSON or false} claimed | {2} id already used.
local holder = redis.call('GET', KEYS[4])
if holder then
  return {1, redis.call('HGET', ARGV[6] .. holder, 'json')}
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {2}
end
write_topup()
redis.call('SET', KEYS[4], ARGV[1], 'PX', ARGV[7])
return {0}
