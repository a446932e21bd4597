-- Sets (ARGV[2] = 'set') or removes (ARGV[2] = 'del') one MNP override and, if the table changed,
-- bumps the version and logs the change under it, trimming the log to ARGV[4] entries.
-- KEYS[1] override hash, KEYS[2] version, KEYS[3] change log (stream)
-- ARGV[1] number, ARGV[2] 'set' | 'del', ARGV[3] operator id (set), ARGV[4] log length
-- Returns 1 if the table changed, else 0.
local old = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == 'set' then
  if old == ARGV[3] then
    return 0
  end
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
else
  if not old then
    return 0
  end
  redis.call('HDEL', KEYS[1], ARGV[1])
end
local version = redis.call('INCR', KEYS[2])
local id = string.format('%d-0', version)
if ARGV[2] == 'set' then
  redis.call('XADD', KEYS[3], 'MAXLEN', ARGV[4], id, 'n', ARGV[1], 'o', ARGV[3])
else
  redis.call('XADD', KEYS[3], 'MAXLEN', ARGV[4], id, 'n', ARGV[1])
end
return 1
