-- finish_delivery: records the result of one attempt.
-- ARGV: 1 delivery id, 2 'delivered' | 'retry' | 'dead' | 'gone', 3 now (us), 4 next attempt
-- (us; retry) or '', 5 the error (retry) or the reason (dead, gone).
-- Returns 1 done | 0 no such delivery.
local id = ARGV[1]
local f = delivery(id)
if not f then
  return 0
end
if ARGV[2] == 'delivered' then
  drop(id, f.s)
  return 1
end
local attempts, next_at, err = state(id, f)
attempts = attempts + 1
if ARGV[2] == 'retry' then
  -- Stays queued (and in this worker's pending list), so it keeps blocking its subject.
  redis.call('HSET', retries, id, string.format('%d', attempts) .. ' ' .. ARGV[4] .. ' ' .. ARGV[5])
  return 1
end
bury(id, f, attempts, next_at, err, ARGV[5], ARGV[3])
if ARGV[2] == 'gone' then
  redis.call('SADD', stopped, f.e)
end
return 1
