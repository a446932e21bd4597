-- The MNP changes after version ARGV[1]: {head, entries} with entries as XRANGE gives them, or
-- {head, 0} when the log no longer holds the change after ARGV[1] (or the store is behind it).
-- KEYS[1] version, KEYS[2] change log (stream)
-- ARGV[1] since, ARGV[2] stream id of the change after it ('<since + 1>-0'), ARGV[3] limit
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
local since = tonumber(ARGV[1])
if since == head then
  return {head, {}}
end
if since > head then
  return {head, 0}
end
local entries = redis.call('XRANGE', KEYS[2], ARGV[2], '+', 'COUNT', ARGV[3])
if #entries == 0 or entries[1][1] ~= ARGV[2] then
  return {head, 0}
end
return {head, entries}
