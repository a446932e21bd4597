-- remove_webhook_endpoint: forgets one endpoint (queued deliveries and the stopped mark stay).
-- KEYS as webhook_put.lua. ARGV[1] the id. Returns 1 removed | 0 there was none.
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
