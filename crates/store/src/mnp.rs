//! MNP overrides at scale: the table (number → operator id) and a versioned change log, so each
//! gateway replica loads the table once and then fetches only what changed.
//!
//! Every write that changes the table (a new or different operator for a number, or the removal of
//! an override) bumps the store's MNP version by one and appends one [`OverrideChange`] carrying
//! that version, in the same atomic step; writes that change nothing log nothing. The log keeps the
//! newest [`MNP_LOG_LEN`] changes (configurable per store). A replica:
//!
//! 1. reads the version `v` ([`crate::Store::operator_override_version`]), then walks the table
//!    ([`crate::Store::operator_override_page`]) and builds its copy;
//! 2. asks for the changes after the version it holds
//!    ([`crate::Store::operator_override_changes`]) and applies them in order; changes made while it
//!    walked the table are replayed on top, so the copy converges;
//! 3. on [`OverrideChanges::Trimmed`] (the log lost the change after its version, or the store was
//!    reset behind it) goes back to 1.

use switchboard_core::Msisdn;

/// Changes the log keeps by default: at one change a second, over a day of catching up.
pub const MNP_LOG_LEN: usize = 100_000;

/// One page of the override table and the cursor of the next one (`None`: the walk is done).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverridePage {
    pub entries: Vec<(Msisdn, String)>,
    pub next: Option<String>,
}

/// One logged change: from `version` on, `msisdn` is served by `operator_id`, or (`None`) by the
/// operator of the number plan again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideChange {
    pub version: u64,
    pub msisdn: Msisdn,
    pub operator_id: Option<String>,
}

/// The answer of [`crate::Store::operator_override_changes`]; `head` is the store's version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverrideChanges {
    /// The changes after the version asked for, oldest first, consecutive versions.
    Changes {
        head: u64,
        changes: Vec<OverrideChange>,
    },
    /// The log no longer holds the change after the version asked for (or the store is behind it):
    /// the caller must load the whole table again.
    Trimmed { head: u64 },
}

/// A cursor is what a page returned: digits only (so it is safe to echo back in a URL).
pub fn valid_cursor(cursor: &str) -> bool {
    (1..=20).contains(&cursor.len()) && cursor.bytes().all(|b| b.is_ascii_digit())
}
