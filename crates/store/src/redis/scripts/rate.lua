-- rate_limit (gcra.lua + this). KEYS[1] the cell. ARGV: 1 emission interval (us), 2 burst
-- tolerance (us).
-- Returns 0 allowed | the wait (us) before the next request is allowed.
return gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
