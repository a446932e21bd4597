-- insert_refund: claim every key in order (or report the first one taken), then apply the
-- remaining-amount guard on the payment's ledger, then write.
-- KEYS[6..] refund idempotency keys. ARGV: 13 refund key prefix, 14 idempotency TTL (ms),
-- 15 payment amount (thousandths), 16 '1' for a total refund, 17 requested amount (thousandths).
-- Amounts are integers below 2^53, so Lua's doubles add them exactly.
-- Returns {0} inserted | {1, key index (0-based), holder JSON or false} | {2} id already used
-- | {3, what is left (thousandths)}.
for i = 6, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if holder then
    return {1, i - 6, redis.call('HGET', ARGV[13] .. holder, 'json')}
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {2}
end
local held = 0
for _, v in ipairs(redis.call('HVALS', KEYS[2])) do
  held = held + tonumber(v)
end
local left = tonumber(ARGV[15]) - held
local amount = tonumber(ARGV[17])
local fits
if ARGV[16] == '1' then
  fits = amount == left
else
  fits = amount <= left
end
if not fits or amount <= 0 or left <= 0 then
  if left < 0 then
    left = 0
  end
  return {3, left}
end
write_refund()
for i = 6, #KEYS do
  redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[14])
end
return {0}
