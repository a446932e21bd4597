-- list_payments: one page of a merchant's visible payments and the number of all matches.
-- KEYS[1] the list index. ARGV: 1 payment key prefix, 2 min score, 3 max score ('-inf'/'+inf'
-- or us), 4 'asc'/'desc', 5 offset, 6 count, 7 msisdn filter set '1'/'0', 8 msisdn,
-- 9 merchantIdentifier filter set '1'/'0', 10 merchantIdentifier, 11.. statuses (any of).
-- Returns {total, JSON...}; a JSON is false when the index names a missing payment, and
-- {-1} means the same in the filtered scan.
local base, min, max, asc = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == 'asc'
local offset, count = tonumber(ARGV[5]), tonumber(ARGV[6])
local want_msisdn, want_mi = ARGV[7] == '1', ARGV[9] == '1'
local statuses, want_status = {}, #ARGV > 10
for i = 11, #ARGV do
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
