//! The memory backend's eSIM orders: their own tables behind their own mutex (an order never
//! touches another record in the same step). Nothing is dropped: orders are few, and each is a
//! profile the merchant bought and may fetch again.

use std::collections::HashMap;

use switchboard_core::EsimOrderRecord;

use crate::journal::{Journaled, Row, RowLog};
use crate::{EsimInsert, StoreError, UpdateOutcome};

#[derive(Default)]
pub(crate) struct EsimTables {
    /// (merchant, order id) → order.
    orders: HashMap<(String, String), EsimOrderRecord>,
    /// (merchant, claim key) → order id.
    keys: HashMap<(String, String), String>,
    /// This step's changed rows (see `journal.rs`).
    pub(crate) log: RowLog,
}

impl Journaled for EsimTables {
    fn log(&mut self) -> &mut RowLog {
        &mut self.log
    }
}

impl EsimTables {
    pub(crate) fn insert(&mut self, record: &EsimOrderRecord) -> Result<EsimInsert, StoreError> {
        let merchant = &record.merchant_id;
        let key = (merchant.clone(), record.claim_key().to_string());
        if let Some(id) = self.keys.get(&key) {
            let existing = self
                .orders
                .get(&(merchant.clone(), id.clone()))
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("eSIM order key points at missing order {id}"))
                })?;
            return Ok(EsimInsert::Existing(Box::new(existing.clone())));
        }
        let slot = (merchant.clone(), record.id.clone());
        if self.orders.contains_key(&slot) {
            return Err(StoreError::Corrupt(format!(
                "eSIM order id {} reused",
                record.id
            )));
        }
        self.log.note(|| Row::EsimKey {
            merchant: key.0.clone(),
            key: key.1.clone(),
            id: record.id.clone(),
        });
        self.log.note(|| Row::EsimOrder(record.clone()));
        self.keys.insert(key, record.id.clone());
        self.orders.insert(slot, record.clone());
        Ok(EsimInsert::Inserted)
    }

    pub(crate) fn update(
        &mut self,
        record: &EsimOrderRecord,
        expected_version: u64,
    ) -> UpdateOutcome<EsimOrderRecord> {
        let slot = (record.merchant_id.clone(), record.id.clone());
        let Some(stored) = self.orders.get_mut(&slot) else {
            return UpdateOutcome::Missing;
        };
        if stored.version != expected_version {
            return UpdateOutcome::Conflict(Box::new(stored.clone()));
        }
        *stored = record.clone();
        self.log.note(|| Row::EsimOrder(record.clone()));
        UpdateOutcome::Updated
    }

    pub(crate) fn get(&self, merchant_id: &str, order_id: &str) -> Option<EsimOrderRecord> {
        self.orders
            .get(&(merchant_id.to_string(), order_id.to_string()))
            .cloned()
    }

    pub(crate) fn restore(&mut self, row: Row) {
        match row {
            Row::EsimOrder(record) => {
                self.orders
                    .insert((record.merchant_id.clone(), record.id.clone()), record);
            }
            Row::EsimKey { merchant, key, id } => {
                self.keys.insert((merchant, key), id);
            }
            _ => {}
        }
    }
}
