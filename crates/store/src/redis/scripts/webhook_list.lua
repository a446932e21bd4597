-- webhook_endpoints: every registered endpoint, oldest first, and whether a 410 stopped it.
-- KEYS: 1 endpoints (id -> JSON), 2 order (id by creation), 3 stopped endpoint ids.
-- Returns {JSON, '1'/'0' stopped, ...}; a JSON is false when the order names a missing one.
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  out[#out + 1] = redis.call('HGET', KEYS[1], id)
  out[#out + 1] = tostring(redis.call('SISMEMBER', KEYS[3], id))
end
return out
