-- payment_refunds: every refund of one payment (any phase), from its ledger.
-- KEYS[1] the payment's refund ledger. ARGV[1] refund key prefix.
-- Returns {JSON...}; a JSON is false when the ledger names a missing refund.
local out = {}
for i, member in ipairs(redis.call('HKEYS', KEYS[1])) do
  out[i] = redis.call('HGET', ARGV[1] .. member, 'json')
end
return out
