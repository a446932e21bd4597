-- insert_refund: claim every key in order (or report the first one taken), then apply the
-- remaining-amount guard on the payment's ledger, then write.
-- KEYS[5..] refund idempotency keys. ARGV: 12 refund key prefix, 13 idempotency TTL (ms),
-- 14 payment amount (thousandths), 15 '1' for a total refund, 16 requested amount (thousandths).
-- Amounts are integers below 2^53, so Lua's doubles add them exactly.
-- Returns {0} inserted | {1, key index (0-based), holder JSON or false} | {2} id already used
-- | {3, what is left (thousandths)}.
for i = 5, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if holder then
    return {1, i - 5, redis.call('HGET', ARGV[12] .. holder, 'json')}
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {2}
end
local held = 0
for _, v in ipairs(redis.call('HVALS', KEYS[2])) do
  held = held + tonumber(v)
end
local left = tonumber(ARGV[14]) - held
local amount = tonumber(ARGV[16])
local fits
if ARGV[15] == '1' then
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
for i = 5, #KEYS do
  redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[13])
end
return {0}
