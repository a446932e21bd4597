-- Shared head of outbox_claim.lua and outbox_finish.lua (prepended by outbox.rs).
-- KEYS: 1 the outbox stream, 2 the subject queues, 3 the retry states (id -> '<attempts> <next
-- attempt us> <last error>', once retried), 4 the dead letters, 5 the stopped endpoints.
local stream, queues, retries, dead, stopped = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]

-- The fields of delivery `id` (see outbox.lua), or nil when the stream does not hold it.
local function delivery(id)
  local found = redis.call('XRANGE', stream, id, id)[1]
  if not found then
    return nil
  end
  local fields, flat = {}, found[2]
  for i = 1, #flat, 2 do
    fields[flat[i]] = flat[i + 1]
  end
  return fields
end

-- Attempts so far (a number), next attempt (us, text) and last error (or nil).
local function state(id, f)
  local s = redis.call('HGET', retries, id)
  if not s then
    return 0, f.n, nil
  end
  local attempts, next_at, err = string.match(s, '^(%d+) (%-?%d+) (.*)$')
  if not attempts then
    error('unreadable outbox retry state')
  end
  return tonumber(attempts), next_at, err
end

-- The delivery at the head of a subject's queue.
local function head(subject)
  local queue = redis.call('HGET', queues, subject)
  return queue and string.match(queue, '^%S+')
end

-- Takes a delivery out of the outbox: acknowledged, deleted, out of its subject's queue.
local function drop(id, subject)
  redis.call('XACK', stream, 'workers', id)
  redis.call('XDEL', stream, id)
  redis.call('HDEL', retries, id)
  local queue = redis.call('HGET', queues, subject)
  if not queue then
    return
  end
  local rest = {}
  for other in string.gmatch(queue, '%S+') do
    if other ~= id then
      rest[#rest + 1] = other
    end
  end
  if #rest == 0 then
    redis.call('HDEL', queues, subject)
  else
    redis.call('HSET', queues, subject, table.concat(rest, ' '))
  end
end

-- Moves a delivery to the dead letters, as a flat JSON object of strings: Lua only encodes it
-- (and outbox_replay.lua reads back strings, losslessly).
local function bury(id, f, attempts, next_at, err, reason, failed_at)
  drop(id, f.s)
  redis.call('HSET', dead, id, cjson.encode({
    id = id, s = f.s, e = f.e, x = f.x, ev = f.ev, ep = f.ep,
    a = string.format('%d', attempts), n = next_at, err = err, r = reason, f = failed_at,
  }))
end
