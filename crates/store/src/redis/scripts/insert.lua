-- insert_payment: claim every idempotency key in order, or report the first one taken.
-- KEYS[4..] idempotency keys. ARGV[11] payment key prefix (+ member = a payment's key),
-- ARGV[12] idempotency TTL in ms.
-- Returns {0} inserted | {1, key index (0-based), holder JSON or false} | {2} id already used.
for i = 4, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if holder then
    return {1, i - 4, redis.call('HGET', ARGV[11] .. holder, 'json')}
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {2}
end
write_record()
for i = 4, #KEYS do
  redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[12])
end
return {0}
