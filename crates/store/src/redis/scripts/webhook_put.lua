-- put_webhook_endpoint: registers (or replaces) one endpoint.
-- KEYS: 1 endpoints (id -> JSON), 2 order (id by creation, us), 3 targets (id -> the endpoint
-- JSON its deliveries carry), 4 filters (id -> '' or ' type1 type2 ', encoded types).
-- ARGV: 1 id, 2 JSON, 3 created (us), 4 target JSON, 5 filter.
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[5])
return 1
