-- The outbox writer, prepended by scripts.rs to update.lua, topup_update.lua, refund_update.lua
-- and outbox_replay.lua.
-- A delivery is one entry of the merchant's outbox stream (read through the consumer group
-- 'workers'); its entry id is the delivery id. Fields: s subject, e endpoint id, x bearer expiry
-- (us) or '', n first attempt (us), ev the event JSON, ep the endpoint JSON (both written by the
-- client; Lua only copies them).

-- Adds one delivery at the tail of its subject's queue (hash: subject -> ids, oldest first,
-- separated by spaces). Creates the stream and its group on first use.
local function outbox_add(stream, queues, subject, endpoint, expiry, due, event, address)
  if redis.call('EXISTS', stream) == 0 then
    redis.call('XGROUP', 'CREATE', stream, 'workers', '0', 'MKSTREAM')
  end
  local id = redis.call('XADD', stream, '*', 's', subject, 'e', endpoint, 'x', expiry,
    'n', due, 'ev', event, 'ep', address)
  local queue = redis.call('HGET', queues, subject)
  if queue then
    queue = queue .. ' ' .. id
  else
    queue = id
  end
  redis.call('HSET', queues, subject, queue)
  return id
end

-- Queues the events of a write that succeeded.
-- KEYS[k..k+5]: the stream, the subject queues, the stopped endpoints, the webhook order (ids by
-- creation), the webhook targets (id -> endpoint JSON), the webhook filters (id -> '' for every
-- type, else ' type1 type2 ' with encoded types).
-- ARGV[a] the number of events, then 8 fields each: kind 'sink' | 'fan', subject, event type
-- (encoded), first attempt (us), event JSON, and for a sink: endpoint id, endpoint JSON, bearer
-- expiry (us) or ''. With no events, no outbox key is touched.
local function outbox_append(k, a)
  local count = tonumber(ARGV[a]) or 0
  if count == 0 then
    return
  end
  local stream, queues, stopped = KEYS[k], KEYS[k + 1], KEYS[k + 2]
  local order, targets, filters = KEYS[k + 3], KEYS[k + 4], KEYS[k + 5]
  for i = 0, count - 1 do
    local b = a + 1 + i * 8
    local kind, subject, etype, due, event = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
    if kind == 'sink' then
      outbox_add(stream, queues, subject, ARGV[b + 5], ARGV[b + 7], due, event, ARGV[b + 6])
    else
      -- One delivery per endpoint registered now, oldest first, unless stopped or filtered out.
      for _, id in ipairs(redis.call('ZRANGE', order, 0, -1)) do
        local filter = redis.call('HGET', filters, id)
        local target = redis.call('HGET', targets, id)
        local wanted = filter == '' or (filter and string.find(filter, ' ' .. etype .. ' ', 1, true))
        if wanted and target and redis.call('SISMEMBER', stopped, id) == 0 then
          outbox_add(stream, queues, subject .. '|' .. id, id, '', due, event, target)
        end
      end
    end
  end
end
