-- review_list, one merchant: its payments, refunds and top-ups marked needs_review, oldest first.
-- KEYS: 1 payment, 2 refund, 3 top-up review index (scored by creation, us).
-- ARGV: 1 payment, 2 refund, 3 top-up key prefix, 4 limit (per kind).
-- Returns {{JSON...}, {JSON...}, {JSON...}}; a JSON is false when an index names a missing record.
local out = {}
for k = 1, 3 do
  local records = {}
  for i, member in ipairs(redis.call('ZRANGE', KEYS[k], 0, tonumber(ARGV[4]) - 1)) do
    records[i] = redis.call('HGET', ARGV[k] .. member, 'json')
  end
  out[k] = records
end
return out
