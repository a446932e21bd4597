-- insert_payment_rated (record.lua + gcra.lua + claim.lua + this): the claim of insert.lua with
-- the merchant's rate limit in the same step. KEYS[5] the merchant's rate cell, KEYS[6..] the
-- idempotency keys. ARGV[14] emission interval (us), ARGV[15] burst tolerance (us).
-- A replay (a key already taken) is answered before the limit and does not count against it.
-- Returns what claim() returns | {3, wait (us)} over the quota, nothing written.
return claim(6, function()
  local wait = gcra(KEYS[5], tonumber(ARGV[14]), tonumber(ARGV[15]))
  if wait > 0 then
    return {3, wait}
  end
  return nil
end)
