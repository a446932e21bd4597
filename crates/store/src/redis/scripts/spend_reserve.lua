-- reserve_spend: one subscriber's month of reservations, a hash of payment member -> amount
-- (integer thousandths) plus the running sum in field '#total' (no encoded member holds '#').
-- KEYS[1] the month hash. ARGV: 1 payment member, 2 amount, 3 limit, 4 retention (ms).
-- Returns {1, total} reserved (or already reserved for this payment) | {0, total} over the limit.
local total = tonumber(redis.call('HGET', KEYS[1], '#total') or '0')
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return {1, total}
end
local amount = tonumber(ARGV[2])
if total + amount > tonumber(ARGV[3]) then
  return {0, total}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[1], '#total', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {1, total + amount}
