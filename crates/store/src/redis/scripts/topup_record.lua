-- Shared head of topup_insert.lua and topup_update.lua (prepended by scripts.rs).
-- KEYS[1] the top-up hash, KEYS[2] the merchant's top-up due index, KEYS[3] its review index.
-- ARGV[1..5] describe the record, computed client-side so Lua never parses JSON:
--   1 index member (encoded id)   2 record JSON   3 version   4 due score (us) or ''
--   5 review score (us; needs_review) or ''
local function write_topup()
  redis.call('HSET', KEYS[1], 'json', ARGV[2], 'v', ARGV[3])
  if ARGV[4] ~= '' then
    redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
  else
    redis.call('ZREM', KEYS[2], ARGV[1])
  end
  if ARGV[5] ~= '' then
    redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
  else
    redis.call('ZREM', KEYS[3], ARGV[1])
  end
end
