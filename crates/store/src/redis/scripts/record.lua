-- Shared head of insert.lua and update.lua (prepended by scripts.rs).
-- KEYS[1] the payment hash, KEYS[2] the merchant's list index, KEYS[3] its due index,
-- KEYS[4] its review index.
-- ARGV[1..11] describe the record, computed client-side so Lua never parses JSON:
--   1 index member (encoded id)   2 record JSON            3 version
--   4 visible '1'/'0'             5 created score (us)     6 due score (us) or ''
--   7 status                      8 msisdn                 9 has merchantIdentifier '1'/'0'
--   10 merchantIdentifier         11 review score (us; needs_review) or ''
-- A visible payment is also in the index of its status, KEYS[2] .. ':' .. status (same tag, so
-- same slot), scored by creation: the one it left is emptied of it in the same step.
local function write_record()
  local member = ARGV[1]
  local old = redis.call('HGET', KEYS[1], 'st')
  if old and old ~= ARGV[7] then
    redis.call('ZREM', KEYS[2] .. ':' .. old, member)
  end
  redis.call('HSET', KEYS[1], 'json', ARGV[2], 'v', ARGV[3], 'st', ARGV[7], 'ms', ARGV[8])
  if ARGV[9] == '1' then
    redis.call('HSET', KEYS[1], 'mi', ARGV[10])
  else
    redis.call('HDEL', KEYS[1], 'mi')
  end
  if ARGV[4] == '1' then
    redis.call('ZADD', KEYS[2], ARGV[5], member)
    redis.call('ZADD', KEYS[2] .. ':' .. ARGV[7], ARGV[5], member)
  else
    redis.call('ZREM', KEYS[2], member)
    redis.call('ZREM', KEYS[2] .. ':' .. ARGV[7], member)
  end
  if ARGV[6] ~= '' then
    redis.call('ZADD', KEYS[3], ARGV[6], member)
  else
    redis.call('ZREM', KEYS[3], member)
  end
  if ARGV[11] ~= '' then
    redis.call('ZADD', KEYS[4], ARGV[11], member)
  else
    redis.call('ZREM', KEYS[4], member)
  end
end
