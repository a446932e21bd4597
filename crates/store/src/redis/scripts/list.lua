-- list_payments: one page of a merchant's visible payments and the number of all matches.
-- KEYS[1] the list index. ARGV: 1 payment key prefix, 2 min score, 3 max score ('-inf'/'+inf'
-- or us), 4 'asc'/'desc', 5 offset, 6 count, 7 msisdn filter set '1'/'0', 8 msisdn,
-- 9 merchantIdentifier filter set '1'/'0', 10 merchantIdentifier, 11 '1' when KEYS[1] .. ':' ..
-- status indexes exist (payments), 12.. statuses (any of).
-- Returns {total, JSON...}; a JSON is false when the index names a missing payment, and
-- {-1} means the same in the filtered scan.
local base, min, max, asc = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == 'asc'
local offset, count = tonumber(ARGV[5]), tonumber(ARGV[6])
local want_msisdn, want_mi = ARGV[7] == '1', ARGV[9] == '1'
local statuses, want_status = {}, #ARGV > 11
local indexed = ARGV[11] == '1'
for i = 12, #ARGV do
  statuses[ARGV[i]] = true
end

local function range(from, n)
  if asc then
    return redis.call('ZRANGEBYSCORE', KEYS[1], min, max, 'LIMIT', from, n)
  end
  return redis.call('ZREVRANGEBYSCORE', KEYS[1], max, min, 'LIMIT', from, n)
end

local out = {0}
if not (want_msisdn or want_mi or want_status) then
  -- Only the time range: the index answers alone, O(log n + page).
  out[1] = redis.call('ZCOUNT', KEYS[1], min, max)
  if count > 0 then
    for _, member in ipairs(range(ARGV[5], ARGV[6])) do
      out[#out + 1] = redis.call('HGET', base .. member, 'json')
    end
  end
  return out
end

if indexed and want_status and not (want_msisdn or want_mi) then
  -- Statuses only: their indexes answer, O(statuses * (log n + offset + page)).
  local total, heads = 0, {}
  for status in pairs(statuses) do
    local key = KEYS[1] .. ':' .. status
    total = total + redis.call('ZCOUNT', key, min, max)
    local got
    if asc then
      got = redis.call('ZRANGEBYSCORE', key, min, max, 'WITHSCORES', 'LIMIT', 0, offset + count)
    else
      got = redis.call('ZREVRANGEBYSCORE', key, max, min, 'WITHSCORES', 'LIMIT', 0, offset + count)
    end
    heads[#heads + 1] = {items = got, at = 1}
  end
  out[1] = total
  -- Merge in index order: score, then member (reversed for desc).
  local function before(a, sa, b, sb)
    if sa ~= sb then
      if asc then return sa < sb end
      return sa > sb
    end
    if asc then return a < b end
    return a > b
  end
  local taken = 0
  while taken < offset + count do
    local best, bm, bs = nil, nil, nil
    for _, h in ipairs(heads) do
      if h.at <= #h.items then
        local m, sc = h.items[h.at], tonumber(h.items[h.at + 1])
        if not best or before(m, sc, bm, bs) then
          best, bm, bs = h, m, sc
        end
      end
    end
    if not best then
      break
    end
    best.at = best.at + 2
    if taken >= offset then
      out[#out + 1] = redis.call('HGET', base .. bm, 'json')
    end
    taken = taken + 1
  end
  return out
end

-- Other filters: scan the time range in order, reading the filter fields only.
local total = 0
for _, member in ipairs(range(0, -1)) do
  local f = redis.call('HMGET', base .. member, 'st', 'ms', 'mi')
  if not f[1] then
    return {-1}
  end
  if (not want_status or statuses[f[1]])
      and (not want_msisdn or f[2] == ARGV[8])
      and (not want_mi or f[3] == ARGV[10]) then
    if total >= offset and total < offset + count then
      out[#out + 1] = redis.call('HGET', base .. member, 'json')
    end
    total = total + 1
  end
end
out[1] = total
return out
