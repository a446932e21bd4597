//! The memory backend's outbox: per merchant, the queued deliveries in write order with their
//! leases, each subject's queue, the dead letters, the stopped endpoints and the registered
//! webhook endpoints. The store appends events while it holds the record's lock, so a record and
//! its events change together.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};

use crate::journal::{Journaled, Row, RowLog};
use crate::outbox_rules::{self, delivery_endpoint, fan_out_subject, parse_delivery_id, wants};
use crate::{
    DeadLetter, Delivery, DeliveryResult, Endpoint, EventTarget, OutboxEvent, WebhookEndpoint,
    EXPIRED_REASON, STOPPED_REASON,
};

#[derive(Default)]
pub(crate) struct OutboxTables {
    merchants: HashMap<String, MerchantOutbox>,
    /// This step's changed rows (see `journal.rs`).
    pub(crate) log: RowLog,
}

impl Journaled for OutboxTables {
    fn log(&mut self) -> &mut RowLog {
        &mut self.log
    }
}

/// Where a merchant's outbox notes its changed rows.
struct Notes<'a> {
    log: &'a mut RowLog,
    merchant: &'a str,
}

impl Notes<'_> {
    fn note(&mut self, row: impl FnOnce(String) -> Row) {
        let merchant = self.merchant;
        self.log.note(|| row(merchant.to_string()));
    }
}

#[derive(Default)]
struct MerchantOutbox {
    /// Last sequence number handed out; delivery ids are `<seq>-0`.
    last_seq: u64,
    /// Queued deliveries by sequence: write order.
    queued: BTreeMap<u64, Queued>,
    /// Subject → its queued deliveries' sequences, oldest first.
    subjects: HashMap<String, VecDeque<u64>>,
    dead: HashMap<String, DeadLetter>,
    /// Endpoint ids that answered 410 Gone.
    stopped: HashSet<String>,
    endpoints: HashMap<String, WebhookEndpoint>,
}

struct Queued {
    delivery: Delivery,
    lease: Option<Lease>,
}

/// Who holds a delivery, since when (ms on the callers' clock, as Redis keeps it).
struct Lease {
    worker: String,
    since_ms: i64,
}

impl OutboxTables {
    /// Queues `events` under `merchant_id` (the written record's merchant).
    pub(crate) fn append(&mut self, merchant_id: &str, events: &[OutboxEvent]) {
        if events.is_empty() {
            return;
        }
        let m = self.merchants.entry(merchant_id.to_string()).or_default();
        let mut notes = Notes {
            log: &mut self.log,
            merchant: merchant_id,
        };
        for event in events {
            match &event.target {
                EventTarget::Sink { endpoint } => {
                    m.push(&mut notes, event, event.subject.clone(), endpoint.clone())
                }
                EventTarget::MerchantEndpoints => {
                    let mut targets: Vec<WebhookEndpoint> = m
                        .endpoints
                        .values()
                        .filter(|e| !m.stopped.contains(&e.id) && wants(e, &event.event_type))
                        .cloned()
                        .collect();
                    outbox_rules::sort_endpoints(&mut targets);
                    for target in targets {
                        let subject = fan_out_subject(&event.subject, &target.id);
                        m.push(&mut notes, event, subject, delivery_endpoint(&target));
                    }
                }
            }
        }
    }

    pub(crate) fn claim(
        &mut self,
        merchant_id: &str,
        worker: &str,
        now: DateTime<Utc>,
        lease_ms: u64,
        limit: usize,
    ) -> Vec<Delivery> {
        let Some(m) = self.merchants.get_mut(merchant_id) else {
            return Vec::new();
        };
        let mut notes = Notes {
            log: &mut self.log,
            merchant: merchant_id,
        };
        let now_ms = now.timestamp_millis();
        let lease_ms = i64::try_from(lease_ms).unwrap_or(i64::MAX);
        // Take fresh and stale deliveries, renew our own: everything we hold is leased from now.
        // At most `limit` new ones (the worker's free slots), so a backlog spreads over workers.
        let mut held = Vec::new();
        let mut taken = 0;
        for (seq, queued) in m.queued.iter_mut() {
            let ours = match &queued.lease {
                Some(lease) if lease.worker == worker => true,
                None => taken < limit,
                Some(lease) => taken < limit && lease.since_ms.saturating_add(lease_ms) <= now_ms,
            };
            if ours {
                if queued.lease.as_ref().is_none_or(|l| l.worker != worker) {
                    taken += 1;
                }
                queued.lease = Some(Lease {
                    worker: worker.to_string(),
                    since_ms: now_ms,
                });
                held.push(*seq);
            }
        }
        let mut out = Vec::new();
        for seq in held {
            let Some(delivery) = m.queued.get(&seq).map(|q| &q.delivery) else {
                continue;
            };
            let expired = delivery.endpoint.bearer_expires_at.is_some_and(|t| t < now);
            if m.stopped.contains(&delivery.endpoint.id) {
                m.bury(&mut notes, seq, STOPPED_REASON, now);
            } else if expired {
                m.bury(&mut notes, seq, EXPIRED_REASON, now);
            } else if out.len() < limit && delivery.next_attempt_at <= now && m.is_head(seq) {
                out.push(delivery.clone());
            }
        }
        out
    }

    pub(crate) fn finish(
        &mut self,
        merchant_id: &str,
        delivery_id: &str,
        result: &DeliveryResult,
        now: DateTime<Utc>,
    ) -> bool {
        let Some(m) = self.merchants.get_mut(merchant_id) else {
            return false;
        };
        let Some(seq) = seq_of(delivery_id) else {
            return false;
        };
        let Some(queued) = m.queued.get_mut(&seq) else {
            return false;
        };
        let mut notes = Notes {
            log: &mut self.log,
            merchant: merchant_id,
        };
        let delivery = &mut queued.delivery;
        if *result != DeliveryResult::Delivered {
            delivery.attempts = delivery.attempts.saturating_add(1);
        }
        match result {
            DeliveryResult::Delivered => {
                m.remove(&mut notes, seq);
            }
            DeliveryResult::Retry {
                next_attempt_at,
                error,
            } => {
                delivery.next_attempt_at = *next_attempt_at;
                delivery.last_error = Some(error.clone());
                notes.note(|merchant| Row::Delivery {
                    merchant,
                    seq,
                    delivery: delivery.clone(),
                });
            }
            DeliveryResult::DeadLetter { reason } => m.bury(&mut notes, seq, reason, now),
            DeliveryResult::Gone { reason } => {
                let endpoint = delivery.endpoint.id.clone();
                m.bury(&mut notes, seq, reason, now);
                notes.note(|merchant| Row::Stopped {
                    merchant,
                    endpoint: endpoint.clone(),
                    stopped: true,
                });
                m.stopped.insert(endpoint);
            }
        }
        true
    }

    /// Deliveries queued or leased (not yet finished or buried).
    pub(crate) fn pending(&self, merchant_id: &str) -> u64 {
        self.merchants
            .get(merchant_id)
            .map_or(0, |m| m.queued.len() as u64)
    }

    pub(crate) fn dead_letters(&self, merchant_id: &str) -> Vec<DeadLetter> {
        let mut letters: Vec<DeadLetter> = self
            .merchants
            .get(merchant_id)
            .map(|m| m.dead.values().cloned().collect())
            .unwrap_or_default();
        outbox_rules::sort_dead_letters(&mut letters);
        letters
    }

    pub(crate) fn replay(
        &mut self,
        merchant_id: &str,
        delivery_id: &str,
        now: DateTime<Utc>,
    ) -> bool {
        let Some(m) = self.merchants.get_mut(merchant_id) else {
            return false;
        };
        let Some(letter) = m.dead.remove(delivery_id) else {
            return false;
        };
        let mut notes = Notes {
            log: &mut self.log,
            merchant: merchant_id,
        };
        notes.note(|merchant| Row::DeadLetterGone {
            merchant,
            id: delivery_id.to_string(),
        });
        let old = letter.delivery;
        if m.stopped.remove(&old.endpoint.id) {
            notes.note(|merchant| Row::Stopped {
                merchant,
                endpoint: old.endpoint.id.clone(),
                stopped: false,
            });
        }
        let id = m.next_id(&mut notes);
        m.enqueue(
            &mut notes,
            Delivery {
                id,
                attempts: 0,
                next_attempt_at: now,
                last_error: None,
                ..old
            },
        );
        true
    }

    pub(crate) fn put_endpoint(&mut self, merchant_id: &str, endpoint: &WebhookEndpoint) {
        let stored = WebhookEndpoint {
            stopped: false,
            ..endpoint.clone()
        };
        self.log.note(|| Row::Endpoint {
            merchant: merchant_id.to_string(),
            endpoint: stored.clone(),
        });
        self.merchants
            .entry(merchant_id.to_string())
            .or_default()
            .endpoints
            .insert(endpoint.id.clone(), stored);
    }

    pub(crate) fn endpoints(&self, merchant_id: &str) -> Vec<WebhookEndpoint> {
        let Some(m) = self.merchants.get(merchant_id) else {
            return Vec::new();
        };
        let mut all: Vec<WebhookEndpoint> = m
            .endpoints
            .values()
            .map(|e| WebhookEndpoint {
                stopped: m.stopped.contains(&e.id),
                ..e.clone()
            })
            .collect();
        outbox_rules::sort_endpoints(&mut all);
        all
    }

    pub(crate) fn remove_endpoint(&mut self, merchant_id: &str, endpoint_id: &str) -> bool {
        let removed = self
            .merchants
            .get_mut(merchant_id)
            .is_some_and(|m| m.endpoints.remove(endpoint_id).is_some());
        if removed {
            self.log.note(|| Row::EndpointGone {
                merchant: merchant_id.to_string(),
                id: endpoint_id.to_string(),
            });
        }
        removed
    }
}

impl OutboxTables {
    /// Puts back a row read from a durable copy (see `embedded/`); every delivery comes back
    /// unleased. Call [`OutboxTables::restored`] after the last row.
    pub(crate) fn restore(&mut self, row: Row) {
        let merchants = &mut self.merchants;
        fn outbox(
            merchants: &mut HashMap<String, MerchantOutbox>,
            merchant: String,
        ) -> &mut MerchantOutbox {
            merchants.entry(merchant).or_default()
        }
        match row {
            Row::Delivery {
                merchant,
                seq,
                delivery,
            } => {
                let m = outbox(merchants, merchant);
                m.last_seq = m.last_seq.max(seq);
                m.queued.insert(
                    seq,
                    Queued {
                        delivery,
                        lease: None,
                    },
                );
            }
            Row::DeadLetter { merchant, letter } => {
                outbox(merchants, merchant)
                    .dead
                    .insert(letter.delivery.id.clone(), letter);
            }
            Row::OutboxSeq { merchant, seq } => {
                let m = outbox(merchants, merchant);
                m.last_seq = m.last_seq.max(seq);
            }
            Row::Stopped {
                merchant,
                endpoint,
                stopped: true,
            } => {
                outbox(merchants, merchant).stopped.insert(endpoint);
            }
            Row::Endpoint { merchant, endpoint } => {
                outbox(merchants, merchant)
                    .endpoints
                    .insert(endpoint.id.clone(), endpoint);
            }
            _ => {}
        }
    }

    /// Rebuilds each subject's queue from the restored deliveries (write order).
    pub(crate) fn restored(&mut self) {
        for m in self.merchants.values_mut() {
            m.subjects.clear();
            for (seq, queued) in &m.queued {
                m.subjects
                    .entry(queued.delivery.subject.clone())
                    .or_default()
                    .push_back(*seq);
            }
        }
    }
}

/// The sequence number in a memory delivery id (`<seq>-0`).
fn seq_of(delivery_id: &str) -> Option<u64> {
    match parse_delivery_id(delivery_id) {
        Some((seq, 0)) => Some(seq),
        _ => None,
    }
}

impl MerchantOutbox {
    fn next_id(&mut self, notes: &mut Notes<'_>) -> String {
        self.last_seq += 1;
        let seq = self.last_seq;
        notes.note(|merchant| Row::OutboxSeq { merchant, seq });
        format!("{seq}-0")
    }

    /// A fresh delivery of `event` to one address.
    fn push(
        &mut self,
        notes: &mut Notes<'_>,
        event: &OutboxEvent,
        subject: String,
        endpoint: Endpoint,
    ) {
        let id = self.next_id(notes);
        self.enqueue(
            notes,
            Delivery {
                id,
                event_id: event.event_id.clone(),
                event_type: event.event_type.clone(),
                merchant_id: event.merchant_id.clone(),
                subject,
                created_at: event.created_at,
                correlator: event.correlator.clone(),
                body: event.body.clone(),
                endpoint,
                attempts: 0,
                next_attempt_at: event.created_at,
                last_error: None,
            },
        );
    }

    /// Adds a delivery at the tail of its subject, held by nobody.
    fn enqueue(&mut self, notes: &mut Notes<'_>, delivery: Delivery) {
        let Some(seq) = seq_of(&delivery.id) else {
            return;
        };
        notes.note(|merchant| Row::Delivery {
            merchant,
            seq,
            delivery: delivery.clone(),
        });
        self.subjects
            .entry(delivery.subject.clone())
            .or_default()
            .push_back(seq);
        self.queued.insert(
            seq,
            Queued {
                delivery,
                lease: None,
            },
        );
    }

    fn is_head(&self, seq: u64) -> bool {
        self.queued
            .get(&seq)
            .and_then(|q| self.subjects.get(&q.delivery.subject))
            .and_then(VecDeque::front)
            == Some(&seq)
    }

    /// Takes a delivery out of the queue (and out of its subject's order).
    fn remove(&mut self, notes: &mut Notes<'_>, seq: u64) -> Option<Delivery> {
        let queued = self.queued.remove(&seq)?;
        notes.note(|merchant| Row::DeliveryGone { merchant, seq });
        let subject = &queued.delivery.subject;
        if let Some(order) = self.subjects.get_mut(subject) {
            order.retain(|s| *s != seq);
            if order.is_empty() {
                self.subjects.remove(subject);
            }
        }
        Some(queued.delivery)
    }

    /// Moves a queued delivery to the dead letters.
    fn bury(&mut self, notes: &mut Notes<'_>, seq: u64, reason: &str, now: DateTime<Utc>) {
        if let Some(delivery) = self.remove(notes, seq) {
            let letter = DeadLetter {
                delivery,
                reason: reason.to_string(),
                failed_at: now,
            };
            notes.note(|merchant| Row::DeadLetter {
                merchant,
                letter: letter.clone(),
            });
            self.dead.insert(letter.delivery.id.clone(), letter);
        }
    }
}
