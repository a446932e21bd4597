-- update_topup: compare-and-set on the stored version, write, keep the indexes right, and queue
-- the events. KEYS[4..9] the outbox keys (see outbox.lua).
-- ARGV[6] expected version (compared as text: exact for any u64), ARGV[7..] the events.
-- Returns {0} updated | {1, stored JSON or false} conflict | {2} missing.
local stored = redis.call('HMGET', KEYS[1], 'v', 'json')
if not stored[1] then
  return {2}
end
if stored[1] ~= ARGV[6] then
  return {1, stored[2]}
end
write_topup()
outbox_append(4, 7)
return {0}
