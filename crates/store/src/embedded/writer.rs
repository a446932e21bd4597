//! Group commit: the memory store hands each step's rows to the [`Journal`]; one writer thread
//! takes everything pending, writes it in one redb transaction with `Durability::Immediate`
//! (fsync), and then wakes every caller whose rows that transaction held. Rows go to disk in the
//! order the memory store applied them, so the file always holds a prefix of its history.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use redb::{Database, Durability, ReadableDatabase, ReadableTable};
use tokio::sync::watch;

use super::codec::{self, Op, Table};
use crate::journal::{ChangeSink, Row};
use crate::StoreError;

/// How far the data file has caught up.
#[derive(Debug, Clone, Default)]
pub(super) struct Durable {
    /// Every step pushed up to this number is on disk.
    pub(super) seq: u64,
    /// A commit failed: nothing after it is written (the store refuses writes until restarted).
    pub(super) failed: Option<String>,
}

#[derive(Default)]
struct Pending {
    rows: Vec<Row>,
    /// Steps pushed so far.
    pushed: u64,
    stop: bool,
}

pub(super) struct Journal {
    pending: Mutex<Pending>,
    wake: Condvar,
    durable: watch::Sender<Durable>,
}

impl ChangeSink for Journal {
    fn push(&self, rows: Vec<Row>) {
        let mut pending = self.lock();
        pending.rows.extend(rows);
        pending.pushed += 1;
        self.wake.notify_one();
    }
}

impl Journal {
    pub(super) fn new() -> Arc<Journal> {
        Arc::new(Journal {
            pending: Mutex::default(),
            wake: Condvar::new(),
            durable: watch::Sender::new(Durable::default()),
        })
    }

    /// Nothing here panics while holding the lock; if something did, the rows are still whole.
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The number of the last step pushed: once it is durable, so is everything a caller did.
    pub(super) fn pushed(&self) -> u64 {
        self.lock().pushed
    }

    pub(super) fn subscribe(&self) -> watch::Receiver<Durable> {
        self.durable.subscribe()
    }

    /// Asks the writer to write what is pending and stop.
    pub(super) fn stop(&self) {
        self.lock().stop = true;
        self.wake.notify_one();
    }

    /// The writer thread's loop: runs until [`Journal::stop`], or until a commit fails.
    pub(super) fn run(&self, db: Database) {
        loop {
            let (rows, upto, stop) = {
                let mut pending = self.lock();
                while pending.rows.is_empty() && !pending.stop {
                    pending = self.wake.wait(pending).unwrap_or_else(|e| e.into_inner());
                }
                (
                    std::mem::take(&mut pending.rows),
                    pending.pushed,
                    pending.stop,
                )
            };
            if !rows.is_empty() {
                if let Err(e) = write(&db, &rows) {
                    self.durable.send_modify(|d| d.failed = Some(e.to_string()));
                    return;
                }
            }
            self.durable.send_modify(|d| d.seq = upto);
            if stop {
                return;
            }
        }
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("embedded store: {e}"))
}

/// Writes `rows` in one transaction, fsynced before it returns. Rows are grouped by table; within
/// a table they keep their order (only rows of one key need an order).
fn write(db: &Database, rows: &[Row]) -> Result<(), StoreError> {
    let mut by_table: BTreeMap<Table, Vec<codec::Write>> = BTreeMap::new();
    for row in rows {
        let w = codec::encode(row)?;
        by_table.entry(w.table).or_default().push(w);
    }
    let mut txn = db.begin_write().map_err(unavailable)?;
    txn.set_durability(Durability::Immediate)
        .map_err(unavailable)?;
    for (table, writes) in by_table {
        let mut t = txn.open_table(table.def()).map_err(unavailable)?;
        for w in writes {
            match w.op {
                Op::Put(value) => {
                    t.insert(w.key.as_str(), value.as_slice())
                        .map_err(unavailable)?;
                }
                Op::Delete => {
                    t.remove(w.key.as_str()).map_err(unavailable)?;
                }
                Op::DeleteIf(expected) => {
                    let holds = t
                        .get(w.key.as_str())
                        .map_err(unavailable)?
                        .is_some_and(|v| v.value() == expected.as_slice());
                    if holds {
                        t.remove(w.key.as_str()).map_err(unavailable)?;
                    }
                }
            }
        }
    }
    txn.commit().map_err(unavailable)
}

/// Every row of the data file (creating the tables of a new one).
pub(super) fn read_all(db: &Database) -> Result<Vec<Row>, StoreError> {
    let txn = db.begin_write().map_err(unavailable)?;
    for table in Table::ALL {
        txn.open_table(table.def()).map_err(unavailable)?;
    }
    txn.commit().map_err(unavailable)?;
    let txn = db.begin_read().map_err(unavailable)?;
    let mut rows = Vec::new();
    for table in Table::ALL {
        let t = txn.open_table(table.def()).map_err(unavailable)?;
        for entry in t.iter().map_err(unavailable)? {
            let (key, value) = entry.map_err(unavailable)?;
            rows.push(codec::decode(table, key.value(), value.value())?);
        }
    }
    Ok(rows)
}
