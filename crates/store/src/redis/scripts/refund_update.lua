-- update_refund: compare-and-set on the stored version, write (the ledger follows the record),
-- and release the given keys if they still point at this refund.
-- KEYS[5..] keys to release. ARGV[12] expected version (compared as text).
-- Returns {0} updated | {1, stored JSON or false} conflict | {2} missing.
local stored = redis.call('HMGET', KEYS[1], 'v', 'json')
if not stored[1] then
  return {2}
end
if stored[1] ~= ARGV[12] then
  return {1, stored[2]}
end
write_refund()
for i = 5, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
  end
end
return {0}
