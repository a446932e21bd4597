-- replay_dead_letter (after outbox.lua): the dead letter becomes a fresh delivery at the tail of
-- its subject, due now, and its endpoint is no longer stopped.
-- KEYS: 1 the outbox stream, 2 the subject queues, 3 the dead letters, 4 the stopped endpoints.
-- ARGV: 1 the dead letter's delivery id, 2 now (us).
-- Returns the new delivery id | 0 no such dead letter.
local letter = redis.call('HGET', KEYS[3], ARGV[1])
if not letter then
  return 0
end
-- Written by outbox_work.lua's bury: every value is a string.
local d = cjson.decode(letter)
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[4], d.e)
return outbox_add(KEYS[1], KEYS[2], d.s, d.e, d.x, ARGV[2], d.ev, d.ep)
