-- insert_payment: claim every idempotency key in order, or report the first one taken.
-- KEYS[5..] idempotency keys. ARGV[12] payment key prefix (+ member = a payment's key),
-- ARGV[13] idempotency TTL in ms.
-- Returns {0} inserted | {1, key index (0-based), holder JSON or false} | {2} id already used.
for i = 5, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if holder then
    return {1, i - 5, redis.call('HGET', ARGV[12] .. holder, 'json')}
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {2}
end
write_record()
for i = 5, #KEYS do
  redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[13])
end
return {0}
