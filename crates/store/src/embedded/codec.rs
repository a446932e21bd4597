//! Between the memory store's changed rows ([`Row`]) and redb: one table per kind of row, keys as
//! JSON arrays of their parts (unambiguous whatever the ids hold), values as JSON or plain text.

use redb::TableDefinition;
use serde::de::DeserializeOwned;
use serde::Serialize;
use switchboard_core::Msisdn;

use crate::journal::Row;
use crate::{IdempotencyKey, SpendPeriod, StoreError};

type Def = TableDefinition<'static, &'static str, &'static [u8]>;

/// The tables of the data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Table {
    Payments,
    PaymentKeys,
    TopUps,
    TopUpClaims,
    Refunds,
    RefundKeys,
    EsimOrders,
    EsimKeys,
    Deliveries,
    DeadLetters,
    OutboxSeq,
    Stopped,
    Endpoints,
    Overrides,
    MnpVersion,
    Spend,
    Once,
    Controls,
    Audit,
}

impl Table {
    pub(super) const ALL: [Table; 19] = [
        Table::Payments,
        Table::PaymentKeys,
        Table::TopUps,
        Table::TopUpClaims,
        Table::Refunds,
        Table::RefundKeys,
        Table::EsimOrders,
        Table::EsimKeys,
        Table::Deliveries,
        Table::DeadLetters,
        Table::OutboxSeq,
        Table::Stopped,
        Table::Endpoints,
        Table::Overrides,
        Table::MnpVersion,
        Table::Spend,
        Table::Once,
        Table::Controls,
        Table::Audit,
    ];

    pub(super) fn def(self) -> Def {
        TableDefinition::new(match self {
            Table::Payments => "payments",
            Table::PaymentKeys => "payment_keys",
            Table::TopUps => "topups",
            Table::TopUpClaims => "topup_claims",
            Table::Refunds => "refunds",
            Table::RefundKeys => "refund_keys",
            Table::EsimOrders => "esim_orders",
            Table::EsimKeys => "esim_keys",
            Table::Deliveries => "outbox_deliveries",
            Table::DeadLetters => "outbox_dead_letters",
            Table::OutboxSeq => "outbox_seq",
            Table::Stopped => "outbox_stopped",
            Table::Endpoints => "webhook_endpoints",
            Table::Overrides => "mnp_overrides",
            Table::MnpVersion => "mnp_version",
            Table::Spend => "spend",
            Table::Once => "use_once",
            Table::Controls => "routing_controls",
            Table::Audit => "audit_log",
        })
    }
}

/// What a row does to its table.
pub(super) enum Op {
    Put(Vec<u8>),
    Delete,
    /// Delete only while the stored value is this (a key that still names this record).
    DeleteIf(Vec<u8>),
}

/// One write: table, key, what to do.
pub(super) struct Write {
    pub(super) table: Table,
    pub(super) key: String,
    pub(super) op: Op,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn json<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| corrupt("cannot encode a row", e))
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt("unreadable row in the data file", e))
}

fn text(bytes: &[u8]) -> Result<String, StoreError> {
    String::from_utf8(bytes.to_vec()).map_err(|e| corrupt("unreadable text in the data file", e))
}

fn idem(key: &IdempotencyKey) -> (&'static str, &str) {
    match key {
        IdempotencyKey::ClientCorrelator(c) => ("c", c),
        IdempotencyKey::ReferenceCode(r) => ("r", r),
    }
}

fn idem_of(tag: &str, value: String) -> Result<IdempotencyKey, StoreError> {
    match tag {
        "c" => Ok(IdempotencyKey::ClientCorrelator(value)),
        "r" => Ok(IdempotencyKey::ReferenceCode(value)),
        other => Err(corrupt("unknown idempotency key kind", other)),
    }
}

fn key_of<T: Serialize>(parts: T) -> Result<String, StoreError> {
    serde_json::to_string(&parts).map_err(|e| corrupt("cannot encode a key", e))
}

fn put(table: Table, key: String, value: Vec<u8>) -> Write {
    Write {
        table,
        key,
        op: Op::Put(value),
    }
}

fn delete(table: Table, key: String) -> Write {
    Write {
        table,
        key,
        op: Op::Delete,
    }
}

fn put_or_delete(table: Table, key: String, value: Option<Vec<u8>>) -> Write {
    match value {
        Some(value) => put(table, key, value),
        None => delete(table, key),
    }
}

fn spend_key(period: &SpendPeriod, payment_id: &str) -> Result<String, StoreError> {
    key_of((
        period.msisdn.as_str(),
        &period.month,
        &period.currency,
        payment_id,
    ))
}

pub(super) fn encode(row: &Row) -> Result<Write, StoreError> {
    Ok(match row {
        Row::Payment(p) => put(Table::Payments, p.id.clone(), json(p)?),
        Row::PaymentGone(id) => delete(Table::Payments, id.clone()),
        Row::PaymentKey { merchant, key, id } => put(
            Table::PaymentKeys,
            key_of((merchant, idem(key)))?,
            id.clone().into_bytes(),
        ),
        Row::PaymentKeyFreed { merchant, key, id } => Write {
            table: Table::PaymentKeys,
            key: key_of((merchant, idem(key)))?,
            op: Op::DeleteIf(id.clone().into_bytes()),
        },
        Row::TopUp(t) => put(Table::TopUps, key_of((&t.merchant_id, &t.id))?, json(t)?),
        Row::TopUpGone { merchant, id } => delete(Table::TopUps, key_of((merchant, id))?),
        Row::TopUpClaim {
            merchant,
            external_tx_id,
            id,
        } => put(
            Table::TopUpClaims,
            key_of((merchant, external_tx_id))?,
            id.clone().into_bytes(),
        ),
        Row::TopUpClaimFreed {
            merchant,
            external_tx_id,
            id,
        } => Write {
            table: Table::TopUpClaims,
            key: key_of((merchant, external_tx_id))?,
            op: Op::DeleteIf(id.clone().into_bytes()),
        },
        Row::EsimOrder(e) => put(
            Table::EsimOrders,
            key_of((&e.merchant_id, &e.id))?,
            json(e)?,
        ),
        Row::EsimKey { merchant, key, id } => put(
            Table::EsimKeys,
            key_of((merchant, key))?,
            id.clone().into_bytes(),
        ),
        Row::Refund(r) => put(Table::Refunds, key_of((&r.merchant_id, &r.id))?, json(r)?),
        Row::RefundGone { merchant, id } => delete(Table::Refunds, key_of((merchant, id))?),
        Row::RefundKey { merchant, key, id } => put(
            Table::RefundKeys,
            key_of((merchant, idem(key)))?,
            id.clone().into_bytes(),
        ),
        Row::RefundKeyFreed { merchant, key, id } => Write {
            table: Table::RefundKeys,
            key: key_of((merchant, idem(key)))?,
            op: Op::DeleteIf(id.clone().into_bytes()),
        },
        Row::Delivery {
            merchant,
            seq,
            delivery,
        } => put(Table::Deliveries, key_of((merchant, seq))?, json(delivery)?),
        Row::DeliveryGone { merchant, seq } => delete(Table::Deliveries, key_of((merchant, seq))?),
        Row::DeadLetter { merchant, letter } => put(
            Table::DeadLetters,
            key_of((merchant, &letter.delivery.id))?,
            json(letter)?,
        ),
        Row::DeadLetterGone { merchant, id } => delete(Table::DeadLetters, key_of((merchant, id))?),
        Row::OutboxSeq { merchant, seq } => put(
            Table::OutboxSeq,
            merchant.clone(),
            seq.to_string().into_bytes(),
        ),
        Row::Stopped {
            merchant,
            endpoint,
            stopped,
        } => put_or_delete(
            Table::Stopped,
            key_of((merchant, endpoint))?,
            stopped.then(Vec::new),
        ),
        Row::Endpoint { merchant, endpoint } => put(
            Table::Endpoints,
            key_of((merchant, &endpoint.id))?,
            json(endpoint)?,
        ),
        Row::EndpointGone { merchant, id } => delete(Table::Endpoints, key_of((merchant, id))?),
        Row::Override {
            msisdn,
            operator_id,
        } => put_or_delete(
            Table::Overrides,
            msisdn.as_str().to_string(),
            operator_id.clone().map(String::into_bytes),
        ),
        Row::MnpVersion(v) => put(
            Table::MnpVersion,
            "version".into(),
            v.to_string().into_bytes(),
        ),
        Row::Spend {
            period,
            payment_id,
            amount,
        } => put_or_delete(
            Table::Spend,
            spend_key(period, payment_id)?,
            amount.map(|a| a.to_string().into_bytes()),
        ),
        Row::Controls(c) => put(
            Table::Controls,
            "controls".into(),
            json(&(c.version, &c.document))?,
        ),
        Row::Audit { version, entry } => put_or_delete(
            Table::Audit,
            format!("{version:020}"),
            entry.as_ref().map(json).transpose()?,
        ),
        Row::Once { key, until } => put_or_delete(
            Table::Once,
            key.clone(),
            until.map(|t| t.to_rfc3339().into_bytes()),
        ),
    })
}

fn number<T: std::str::FromStr>(bytes: &[u8]) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    text(bytes)?
        .parse()
        .map_err(|e| corrupt("unreadable number in the data file", e))
}

/// A stored row as the memory store takes it back.
pub(super) fn decode(table: Table, key: &str, value: &[u8]) -> Result<Row, StoreError> {
    let parts2 = || parse::<(String, String)>(key.as_bytes());
    let key3 = || parse::<(String, (String, String))>(key.as_bytes());
    Ok(match table {
        Table::Payments => Row::Payment(parse(value)?),
        Table::PaymentKeys => {
            let (merchant, (tag, k)) = key3()?;
            Row::PaymentKey {
                merchant,
                key: idem_of(&tag, k)?,
                id: text(value)?,
            }
        }
        Table::TopUps => Row::TopUp(parse(value)?),
        Table::TopUpClaims => {
            let (merchant, external_tx_id) = parts2()?;
            Row::TopUpClaim {
                merchant,
                external_tx_id,
                id: text(value)?,
            }
        }
        Table::EsimOrders => Row::EsimOrder(parse(value)?),
        Table::EsimKeys => {
            let (merchant, key) = parts2()?;
            Row::EsimKey {
                merchant,
                key,
                id: text(value)?,
            }
        }
        Table::Refunds => Row::Refund(parse(value)?),
        Table::RefundKeys => {
            let (merchant, (tag, k)) = key3()?;
            Row::RefundKey {
                merchant,
                key: idem_of(&tag, k)?,
                id: text(value)?,
            }
        }
        Table::Deliveries => {
            let (merchant, seq) = parse::<(String, u64)>(key.as_bytes())?;
            Row::Delivery {
                merchant,
                seq,
                delivery: parse(value)?,
            }
        }
        Table::DeadLetters => Row::DeadLetter {
            merchant: parts2()?.0,
            letter: parse(value)?,
        },
        Table::OutboxSeq => Row::OutboxSeq {
            merchant: key.to_string(),
            seq: number(value)?,
        },
        Table::Stopped => {
            let (merchant, endpoint) = parts2()?;
            Row::Stopped {
                merchant,
                endpoint,
                stopped: true,
            }
        }
        Table::Endpoints => Row::Endpoint {
            merchant: parts2()?.0,
            endpoint: parse(value)?,
        },
        Table::Overrides => Row::Override {
            msisdn: Msisdn::parse(key)
                .ok_or_else(|| corrupt("unreadable MNP number", "(masked)"))?,
            operator_id: Some(text(value)?),
        },
        Table::MnpVersion => Row::MnpVersion(number(value)?),
        Table::Spend => {
            let (msisdn, month, currency, payment_id) =
                parse::<(String, String, String, String)>(key.as_bytes())?;
            Row::Spend {
                period: SpendPeriod {
                    msisdn: Msisdn::parse(&msisdn)
                        .ok_or_else(|| corrupt("unreadable spend number", "(masked)"))?,
                    month,
                    currency,
                },
                payment_id,
                amount: Some(number(value)?),
            }
        }
        Table::Controls => {
            let (version, document) = parse::<(u64, String)>(value)?;
            Row::Controls(crate::RoutingControls { version, document })
        }
        Table::Audit => Row::Audit {
            version: number(key.as_bytes())?,
            entry: Some(parse(value)?),
        },
        Table::Once => Row::Once {
            key: key.to_string(),
            until: Some(
                chrono::DateTime::parse_from_rfc3339(&text(value)?)
                    .map_err(|e| corrupt("unreadable use-once expiry", e))?
                    .with_timezone(&chrono::Utc),
            ),
        },
    })
}
