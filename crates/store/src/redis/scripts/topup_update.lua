-- update_topup: compare-and-set on the stored version, write, keep the due index right.
-- ARGV[5] expected version (compared as text: exact for any u64).
-- Returns {0} updated | {1, stored JSON or false} conflict | {2} missing.
local stored = redis.call('HMGET', KEYS[1], 'v', 'json')
if not stored[1] then
  return {2}
end
if stored[1] ~= ARGV[5] then
  return {1, stored[2]}
end
write_topup()
return {0}
