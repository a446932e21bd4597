//! The memory backend's MNP overrides: the table, ordered by number, and the change log.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;

use switchboard_core::Msisdn;

use crate::journal::{Journaled, Row, RowLog};
use crate::mnp::{OverrideChange, OverrideChanges, OverridePage, MNP_LOG_LEN};

pub(crate) struct MnpTables {
    /// E.164 text → (number, operator id); the text orders the walk.
    overrides: BTreeMap<String, (Msisdn, String)>,
    log: VecDeque<OverrideChange>,
    version: u64,
    log_len: usize,
    /// This step's changed rows (see `journal.rs`).
    pub(crate) rows: RowLog,
}

impl Journaled for MnpTables {
    fn log(&mut self) -> &mut RowLog {
        &mut self.rows
    }
}

impl Default for MnpTables {
    fn default() -> Self {
        MnpTables::with_log_len(MNP_LOG_LEN)
    }
}

impl MnpTables {
    pub(crate) fn with_log_len(log_len: usize) -> Self {
        MnpTables {
            overrides: BTreeMap::new(),
            log: VecDeque::new(),
            version: 0,
            log_len: log_len.max(1),
            rows: RowLog::default(),
        }
    }

    fn append(&mut self, msisdn: &Msisdn, operator_id: Option<&str>) {
        self.version += 1;
        let version = self.version;
        self.rows.note(|| Row::MnpVersion(version));
        self.rows.note(|| Row::Override {
            msisdn: msisdn.clone(),
            operator_id: operator_id.map(str::to_string),
        });
        if self.log.len() == self.log_len {
            self.log.pop_front();
        }
        self.log.push_back(OverrideChange {
            version: self.version,
            msisdn: msisdn.clone(),
            operator_id: operator_id.map(str::to_string),
        });
    }

    pub(crate) fn set(&mut self, msisdn: &Msisdn, operator_id: &str) {
        let entry = (msisdn.clone(), operator_id.to_string());
        if self
            .overrides
            .insert(msisdn.as_str().to_string(), entry)
            .is_some_and(|(_, old)| old == operator_id)
        {
            return;
        }
        self.append(msisdn, Some(operator_id));
    }

    pub(crate) fn remove(&mut self, msisdn: &Msisdn) -> bool {
        let existed = self.overrides.remove(msisdn.as_str()).is_some();
        if existed {
            self.append(msisdn, None);
        }
        existed
    }

    /// Puts back a row read from a durable copy (see `embedded/`). The change log starts empty,
    /// so a replica behind the restored version reloads the table (`Trimmed`).
    pub(crate) fn restore(&mut self, row: Row) {
        match row {
            Row::Override {
                msisdn,
                operator_id: Some(operator_id),
            } => {
                self.overrides
                    .insert(msisdn.as_str().to_string(), (msisdn, operator_id));
            }
            Row::MnpVersion(version) => self.version = self.version.max(version),
            _ => {}
        }
    }

    pub(crate) fn page(&self, cursor: Option<&str>, limit: usize) -> OverridePage {
        let start = match cursor {
            Some(digits) => Bound::Excluded(format!("+{digits}")),
            None => Bound::Unbounded,
        };
        let mut walk = self.overrides.range((start, Bound::Unbounded));
        let entries: Vec<(Msisdn, String)> = walk
            .by_ref()
            .take(limit.max(1))
            .map(|(_, entry)| entry.clone())
            .collect();
        let more = walk.next().is_some();
        let next = entries
            .last()
            .filter(|_| more)
            .map(|(m, _)| m.digits().to_string());
        OverridePage { entries, next }
    }

    pub(crate) fn version(&self) -> u64 {
        self.version
    }

    pub(crate) fn changes(&self, since: u64, limit: usize) -> OverrideChanges {
        let head = self.version;
        if since == head {
            return OverrideChanges::Changes {
                head,
                changes: Vec::new(),
            };
        }
        let first = self.log.front().map_or(head + 1, |c| c.version);
        if since > head || since + 1 < first {
            return OverrideChanges::Trimmed { head };
        }
        let skip = (since + 1 - first) as usize;
        OverrideChanges::Changes {
            head,
            changes: self
                .log
                .iter()
                .skip(skip)
                .take(limit.max(1))
                .cloned()
                .collect(),
        }
    }
}
