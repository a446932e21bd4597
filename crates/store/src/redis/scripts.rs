//! The Lua scripts, loaded once per server and run with `EVALSHA` (`redis::Script` falls back to
//! `SCRIPT LOAD` on `NOSCRIPT`). Each store operation is one script call, so one round trip.

use redis::Script;

pub(crate) struct Scripts {
    pub(crate) insert: Script,
    /// The claim of `insert` with the merchant's rate limit (GCRA) in the same step.
    pub(crate) insert_rated: Script,
    pub(crate) update: Script,
    pub(crate) list: Script,
    /// Shared by payments and top-ups: the due index and the record key prefix are arguments.
    pub(crate) due: Script,
    pub(crate) topup_insert: Script,
    pub(crate) topup_update: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Scripts {
            insert: Script::new(concat!(
                include_str!("scripts/record.lua"),
                include_str!("scripts/claim.lua"),
                include_str!("scripts/insert.lua")
            )),
            insert_rated: Script::new(concat!(
                include_str!("scripts/record.lua"),
                include_str!("scripts/gcra.lua"),
                include_str!("scripts/claim.lua"),
                include_str!("scripts/insert_rated.lua")
            )),
            update: Script::new(concat!(
                include_str!("scripts/record.lua"),
                include_str!("scripts/outbox.lua"),
                include_str!("scripts/update.lua")
            )),
            list: Script::new(include_str!("scripts/list.lua")),
            due: Script::new(include_str!("scripts/due.lua")),
            topup_insert: Script::new(concat!(
                include_str!("scripts/topup_record.lua"),
                include_str!("scripts/topup_insert.lua")
            )),
            topup_update: Script::new(concat!(
                include_str!("scripts/topup_record.lua"),
                include_str!("scripts/outbox.lua"),
                include_str!("scripts/topup_update.lua")
            )),
        }
    }
}
