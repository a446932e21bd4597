-- update_refund: compare-and-set on the stored version, write (the ledger follows the record),
-- release the given keys if they still point at this refund, and queue the events.
-- KEYS[6..11] the outbox keys (see outbox.lua), KEYS[12..] keys to release.
-- ARGV[13] expected version (compared as text), ARGV[14..] the events.
-- Returns {0} updated | {1, stored JSON or false} conflict | {2} missing.
local stored = redis.call('HMGET', KEYS[1], 'v', 'json')
if not stored[1] then
  return {2}
end
if stored[1] ~= ARGV[13] then
  return {1, stored[2]}
end
write_refund()
outbox_append(6, 14)
for i = 12, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
  end
end
return {0}
