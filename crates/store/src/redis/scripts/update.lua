-- update_payment: compare-and-set on the stored version, write, keep the indexes right,
-- release the given keys if they still point at this payment, and queue the events.
-- KEYS[5..10] the outbox keys (see outbox.lua), KEYS[11..] keys to release.
-- ARGV[12] expected version (compared as text: exact for any u64), ARGV[13..] the events.
-- Returns {0} updated | {1, stored JSON or false} conflict | {2} missing.
local stored = redis.call('HMGET', KEYS[1], 'v', 'json')
if not stored[1] then
  return {2}
end
if stored[1] ~= ARGV[12] then
  return {1, stored[2]}
end
write_record()
outbox_append(5, 13)
for i = 11, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
  end
end
return {0}
