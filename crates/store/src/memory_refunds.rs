//! The memory backend's refunds: their own tables behind their own mutex (a refund never needs a
//! payment's stored data in the same step: the caller passes the payment's amount).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use switchboard_core::{Amount, RefundRecord};

use crate::journal::{Journaled, Row, RowLog};
use crate::query::SortOrder;
use crate::refunds::{over_remaining, RefundInsert, RefundPage, RefundQuery};
use crate::{IdempotencyKey, StoreError, UpdateOutcome};

/// (creation time, refund id), oldest first.
type ByCreation = BTreeSet<(DateTime<Utc>, String)>;

#[derive(Default)]
pub(crate) struct RefundTables {
    /// (merchant, refund id) → refund.
    refunds: HashMap<(String, String), RefundRecord>,
    /// (merchant, key) → refund id.
    keys: HashMap<(String, IdempotencyKey), String>,
    /// (merchant, payment id) → (creation time, refund id), every phase.
    by_payment: HashMap<(String, String), ByCreation>,
    /// This step's changed rows (see `journal.rs`).
    pub(crate) log: RowLog,
}

impl Journaled for RefundTables {
    fn log(&mut self) -> &mut RowLog {
        &mut self.log
    }
}

impl RefundTables {
    fn of_payment(&self, merchant_id: &str, payment_id: &str) -> Vec<&RefundRecord> {
        self.by_payment
            .get(&(merchant_id.to_string(), payment_id.to_string()))
            .into_iter()
            .flatten()
            .filter_map(|(_, id)| self.refunds.get(&(merchant_id.to_string(), id.clone())))
            .collect()
    }

    pub(crate) fn insert(
        &mut self,
        record: &RefundRecord,
        keys: &[IdempotencyKey],
        paid: Amount,
    ) -> Result<RefundInsert, StoreError> {
        let merchant = &record.merchant_id;
        for key in keys {
            if let Some(id) = self.keys.get(&(merchant.clone(), key.clone())) {
                let existing = self
                    .refunds
                    .get(&(merchant.clone(), id.clone()))
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("key points at missing refund {id}"))
                    })?;
                return Ok(RefundInsert::Existing {
                    key: key.clone(),
                    existing: Box::new(existing.clone()),
                });
            }
        }
        let slot = (merchant.clone(), record.id.clone());
        if self.refunds.contains_key(&slot) {
            return Err(StoreError::Corrupt(format!(
                "refund id {} reused",
                record.id
            )));
        }
        let reserved =
            switchboard_core::refund::reserved_total(self.of_payment(merchant, &record.payment_id));
        if let Some(remaining) = over_remaining(record, paid, reserved) {
            return Ok(RefundInsert::OverRemaining { remaining });
        }
        for key in keys {
            self.keys
                .insert((merchant.clone(), key.clone()), record.id.clone());
            self.log.note(|| Row::RefundKey {
                merchant: merchant.clone(),
                key: key.clone(),
                id: record.id.clone(),
            });
        }
        self.by_payment
            .entry((merchant.clone(), record.payment_id.clone()))
            .or_default()
            .insert((record.created_at, record.id.clone()));
        self.refunds.insert(slot, record.clone());
        self.log.note(|| Row::Refund(record.clone()));
        Ok(RefundInsert::Inserted)
    }

    pub(crate) fn update(
        &mut self,
        record: &RefundRecord,
        expected_version: u64,
        release: &[IdempotencyKey],
    ) -> UpdateOutcome<RefundRecord> {
        let slot = (record.merchant_id.clone(), record.id.clone());
        let Some(stored) = self.refunds.get_mut(&slot) else {
            return UpdateOutcome::Missing;
        };
        if stored.version != expected_version || stored.payment_id != record.payment_id {
            return UpdateOutcome::Conflict(Box::new(stored.clone()));
        }
        *stored = record.clone();
        self.log.note(|| Row::Refund(record.clone()));
        for key in release {
            self.free_key(&record.merchant_id, key.clone(), &record.id);
        }
        UpdateOutcome::Updated
    }

    pub(crate) fn get(
        &self,
        merchant_id: &str,
        payment_id: &str,
        refund_id: &str,
    ) -> Option<RefundRecord> {
        self.refunds
            .get(&(merchant_id.to_string(), refund_id.to_string()))
            .filter(|r| r.payment_id == payment_id)
            .cloned()
    }

    pub(crate) fn list(
        &self,
        merchant_id: &str,
        payment_id: &str,
        query: &RefundQuery,
    ) -> RefundPage {
        let mut all: Vec<RefundRecord> = self
            .of_payment(merchant_id, payment_id)
            .into_iter()
            .filter(|r| query.matches(r))
            .cloned()
            .collect();
        if query.order == SortOrder::Desc {
            all.reverse();
        }
        let total = all.len();
        let items = all
            .into_iter()
            .skip(query.offset())
            .take(query.per_page as usize)
            .collect();
        RefundPage { items, total }
    }

    /// Drops every refund of a payment (with its keys), unless one still waits on the operator or
    /// on a review: then nothing changes and the answer is `false`.
    pub(crate) fn drop_payment(&mut self, merchant_id: &str, payment_id: &str) -> bool {
        let slot = (merchant_id.to_string(), payment_id.to_string());
        if self
            .of_payment(merchant_id, payment_id)
            .iter()
            .any(|r| r.is_unsettled() || r.needs_review)
        {
            return false;
        }
        for (_, id) in self.by_payment.remove(&slot).into_iter().flatten() {
            if let Some(refund) = self.refunds.remove(&(merchant_id.to_string(), id.clone())) {
                self.log.note(|| Row::RefundGone {
                    merchant: merchant_id.to_string(),
                    id: id.clone(),
                });
                let keys = refund
                    .client_correlator
                    .iter()
                    .map(|c| IdempotencyKey::ClientCorrelator(c.clone()))
                    .chain([IdempotencyKey::ReferenceCode(refund.reference_code.clone())]);
                for key in keys {
                    self.free_key(merchant_id, key, &id);
                }
            }
        }
        true
    }

    /// Puts back a row read from a durable copy (see `embedded/`).
    pub(crate) fn restore(&mut self, row: Row) {
        match row {
            Row::Refund(record) => {
                self.by_payment
                    .entry((record.merchant_id.clone(), record.payment_id.clone()))
                    .or_default()
                    .insert((record.created_at, record.id.clone()));
                self.refunds
                    .insert((record.merchant_id.clone(), record.id.clone()), record);
            }
            Row::RefundKey { merchant, key, id } => {
                self.keys.insert((merchant, key), id);
            }
            _ => {}
        }
    }

    /// Frees `key` if it still names refund `id`.
    fn free_key(&mut self, merchant_id: &str, key: IdempotencyKey, id: &str) {
        let slot = (merchant_id.to_string(), key);
        if self.keys.get(&slot).is_some_and(|held| held == id) {
            self.keys.remove(&slot);
            let (merchant, key) = slot;
            self.log.note(|| Row::RefundKeyFreed {
                merchant,
                key,
                id: id.to_string(),
            });
        }
    }

    pub(crate) fn all_of_payment(&self, merchant_id: &str, payment_id: &str) -> Vec<RefundRecord> {
        self.of_payment(merchant_id, payment_id)
            .into_iter()
            .cloned()
            .collect()
    }

    /// Refunds of these merchants marked `needs_review`, in no particular order.
    pub(crate) fn needing_review(&self, merchant_ids: &[String]) -> Vec<RefundRecord> {
        self.refunds
            .values()
            .filter(|r| r.needs_review && merchant_ids.contains(&r.merchant_id))
            .cloned()
            .collect()
    }

    pub(crate) fn due(
        &self,
        merchant_ids: &[String],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Vec<RefundRecord> {
        let mut due: Vec<RefundRecord> = self
            .refunds
            .values()
            .filter(|r| merchant_ids.contains(&r.merchant_id))
            .filter(|r| r.is_unsettled() && r.next_check_at.is_some_and(|t| t <= now))
            .cloned()
            .collect();
        due.sort_by(|a, b| {
            (a.next_check_at, &a.merchant_id, &a.id).cmp(&(b.next_check_at, &b.merchant_id, &b.id))
        });
        due.truncate(limit);
        due
    }
}
