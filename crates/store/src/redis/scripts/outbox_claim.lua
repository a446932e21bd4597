-- claim_deliveries: take over stale entries (XAUTOCLAIM) and fresh ones (XREADGROUP), at most
-- `limit` new ones in all, renew the
-- lease of everything this worker holds (XCLAIM ... TIME now JUSTID), bury what is stopped or
-- expired, and hand out what is due and at the head of its subject.
-- ARGV: 1 worker (consumer), 2 now (us), 3 now (ms), 4 lease (ms), 5 limit, 6 the stopped
-- reason, 7 the expired reason.
-- Returns {{id, event JSON, endpoint JSON, subject, attempts, next attempt (us), '1'/'0' has an
-- error, error}...} in write order.
if redis.call('EXISTS', stream) == 0 then
  return {}
end
local worker, now_us, now_ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local lease, limit = tonumber(ARGV[4]), tonumber(ARGV[5])

-- Leases run on the callers' clock: a lease starts at the delivery time XCLAIM ... TIME sets to
-- the claim's now. Redis measures idle time on its own clock, so "now - start >= lease" reads
-- "idle >= lease + (server ms - now ms)". At or below 0 every start (never later than the server
-- clock: Redis clamps TIME) is a lease that ran out, which XAUTOCLAIM's 0 means too.
local t = redis.call('TIME')
local server_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local min_idle = math.max(lease + server_ms - now_ms, 0)
-- At most `limit` new deliveries per claim (the worker's free slots), stale ones first, so a
-- backlog spreads over the workers instead of landing on the first one that claims.
local taken = 0
if limit > 0 then
  taken = #redis.call('XAUTOCLAIM', stream, 'workers', worker, string.format('%d', min_idle),
    '0-0', 'COUNT', limit, 'JUSTID')[2]
end
if taken < limit then
  redis.call('XREADGROUP', 'GROUP', 'workers', worker, 'COUNT', limit - taken, 'STREAMS', stream,
    '>')
end

-- Everything this worker holds, in write order.
local held, from = {}, '-'
repeat
  local page = redis.call('XPENDING', stream, 'workers', from, '+', 500, worker)
  for _, entry in ipairs(page) do
    held[#held + 1] = entry[1]
  end
  if #page > 0 then
    from = '(' .. page[#page][1]
  end
until #page < 500
-- The heartbeat: every lease restarts now.
for i = 1, #held, 500 do
  local args = {'XCLAIM', stream, 'workers', worker, '0'}
  for j = i, math.min(i + 499, #held) do
    args[#args + 1] = held[j]
  end
  args[#args + 1] = 'TIME'
  args[#args + 1] = ARGV[3]
  args[#args + 1] = 'JUSTID'
  redis.call(unpack(args))
end

local out = {}
for _, id in ipairs(held) do
  local f = delivery(id)
  if not f then
    -- Not in the stream (never happens: entries are acknowledged before they are deleted).
    redis.call('XACK', stream, 'workers', id)
  else
    local attempts, next_at, err = state(id, f)
    if redis.call('SISMEMBER', stopped, f.e) == 1 then
      bury(id, f, attempts, next_at, err, ARGV[6], ARGV[2])
    elseif f.x ~= '' and tonumber(f.x) < now_us then
      bury(id, f, attempts, next_at, err, ARGV[7], ARGV[2])
    elseif #out < limit and tonumber(next_at) <= now_us and head(f.s) == id then
      local has_err = '0'
      if err then
        has_err = '1'
      end
      out[#out + 1] = {id, f.ev, f.ep, f.s, string.format('%d', attempts), next_at, has_err, err or ''}
    end
  end
end
return out
