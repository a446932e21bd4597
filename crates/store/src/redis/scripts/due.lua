-- due_for_reconciliation or due_topups, one merchant: its unsettled payments (or top-ups) due
-- at ARGV[2], earliest first.
-- KEYS[1] the due index. ARGV: 1 record key prefix, 2 max score (us), 3 limit.
-- Returns {JSON...}; a JSON is false when the index names a missing record.
local out = {}
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, ARGV[3])
for i, member in ipairs(members) do
  out[i] = redis.call('HGET', ARGV[1] .. member, 'json')
end
return out
