-- Shared head of refund_insert.lua and refund_update.lua (prepended by refunds.rs).
-- KEYS[1] the refund hash, KEYS[2] its payment's refund ledger (hash: member -> amount held, in
-- thousandths), KEYS[3] its payment's list index (visible refunds by creation), KEYS[4] the
-- merchant's refund due index, KEYS[5] its refund review index.
-- ARGV[1..12]: 1 member, 2 JSON, 3 version, 4 visible '1'/'0', 5 created score (us),
--   6 due score (us) or '', 7 status, 8 '' (no MSISDN on refunds), 9 has merchantIdentifier
--   '1'/'0', 10 merchantIdentifier, 11 amount held (thousandths; 0 when denied or refused),
--   12 review score (us; needs_review) or ''.
local function write_refund()
  local member = ARGV[1]
  redis.call('HSET', KEYS[1], 'json', ARGV[2], 'v', ARGV[3], 'st', ARGV[7], 'ms', ARGV[8])
  if ARGV[9] == '1' then
    redis.call('HSET', KEYS[1], 'mi', ARGV[10])
  else
    redis.call('HDEL', KEYS[1], 'mi')
  end
  redis.call('HSET', KEYS[2], member, ARGV[11])
  if ARGV[4] == '1' then
    redis.call('ZADD', KEYS[3], ARGV[5], member)
  else
    redis.call('ZREM', KEYS[3], member)
  end
  if ARGV[6] ~= '' then
    redis.call('ZADD', KEYS[4], ARGV[6], member)
  else
    redis.call('ZREM', KEYS[4], member)
  end
  if ARGV[12] ~= '' then
    redis.call('ZADD', KEYS[5], ARGV[12], member)
  else
    redis.call('ZREM', KEYS[5], member)
  end
end
