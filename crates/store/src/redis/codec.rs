//! Between Rust values and what Redis holds or answers: the record as JSON, the index arguments
//! the scripts need (computed here so Lua never parses JSON), and the scripts' replies.

use chrono::{DateTime, Utc};
use redis::Value;
use serde::de::DeserializeOwned;
use switchboard_core::{Msisdn, PaymentRecord, PaymentStatus, TopUpRecord};

use super::keys;
use crate::{
    IdempotencyKey, InsertOutcome, KeyedInsert, PaymentPage, StoreError, TopUpInsert, UpdateOutcome,
};

/// A record kept as JSON in a hash's `json` field.
pub(crate) trait Stored: DeserializeOwned {
    /// What errors call it.
    const NAME: &'static str;
    /// The record's own id (the one its insert generated).
    fn id(&self) -> &str;
}

impl Stored for PaymentRecord {
    const NAME: &'static str = "payment";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Stored for TopUpRecord {
    const NAME: &'static str = "top-up";
    fn id(&self) -> &str {
        &self.id
    }
}

/// An insert whose key is held by the very record being inserted: the script ran, its answer was
/// lost (a connection cut, a Cluster failover) and the client sent it again. The first run wrote
/// everything atomically, so this one is the insert's own success, not somebody else's claim.
pub(crate) fn is_own_earlier_run<T: Stored>(holder: &T, inserting: &str) -> bool {
    holder.id() == inserting
}

/// A record as the insert and update scripts receive it (`ARGV[1..11]`, see record.lua).
pub(crate) struct RecordArgs {
    pub(crate) member: String,
    pub(crate) json: String,
    pub(crate) version: String,
    pub(crate) visible: bool,
    pub(crate) created: i64,
    pub(crate) due: Option<i64>,
    pub(crate) status: String,
    pub(crate) msisdn: String,
    pub(crate) merchant_identifier: Option<String>,
    /// In the review index (scored by creation) while `needs_review`.
    pub(crate) review: Option<i64>,
}

impl RecordArgs {
    pub(crate) fn of(record: &PaymentRecord) -> Result<RecordArgs, StoreError> {
        let json = serde_json::to_string(record)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode payment: {e}")))?;
        let due = record
            .next_check_at
            .filter(|_| record.is_unsettled())
            .map(score);
        Ok(RecordArgs {
            member: keys::member(&record.id),
            json,
            version: record.version.to_string(),
            visible: record.is_visible(),
            created: score(record.created_at),
            due,
            status: status_name(record.status)?,
            msisdn: record.msisdn.as_str().to_string(),
            merchant_identifier: record
                .payment_amount
                .charging_meta_data
                .as_ref()
                .and_then(|m| m.merchant_identifier.clone()),
            review: record.needs_review.then(|| score(record.created_at)),
        })
    }

    /// `ARGV[1..11]` in script order.
    pub(crate) fn argv(&self) -> Vec<String> {
        let flag = |b: bool| if b { "1" } else { "0" }.to_string();
        vec![
            self.member.clone(),
            self.json.clone(),
            self.version.clone(),
            flag(self.visible),
            self.created.to_string(),
            self.due.map(|d| d.to_string()).unwrap_or_default(),
            self.status.clone(),
            self.msisdn.clone(),
            flag(self.merchant_identifier.is_some()),
            self.merchant_identifier.clone().unwrap_or_default(),
            self.review.map(|r| r.to_string()).unwrap_or_default(),
        ]
    }
}

/// A top-up as the top-up insert and update scripts receive it (`ARGV[1..5]`, see
/// topup_record.lua).
pub(crate) struct TopUpArgs {
    pub(crate) member: String,
    pub(crate) json: String,
    pub(crate) version: String,
    /// In the due index while unsettled with a `next_check_at`.
    pub(crate) due: Option<i64>,
    /// In the review index (scored by creation) while `needs_review`.
    pub(crate) review: Option<i64>,
}

impl TopUpArgs {
    pub(crate) fn of(record: &TopUpRecord) -> Result<TopUpArgs, StoreError> {
        let json = serde_json::to_string(record)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode top-up: {e}")))?;
        Ok(TopUpArgs {
            member: keys::member(&record.id),
            json,
            version: record.version.to_string(),
            due: record
                .next_check_at
                .filter(|_| record.is_unsettled())
                .map(score),
            review: record.needs_review.then(|| score(record.created_at)),
        })
    }

    /// `ARGV[1..5]` in script order.
    pub(crate) fn argv(&self) -> Vec<String> {
        vec![
            self.member.clone(),
            self.json.clone(),
            self.version.clone(),
            self.due.map(|d| d.to_string()).unwrap_or_default(),
            self.review.map(|r| r.to_string()).unwrap_or_default(),
        ]
    }
}

/// Index score of an instant: microseconds since the epoch. A double holds these exactly until
/// the year 2255, so the sorted sets order payments to the microsecond.
pub(crate) fn score(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// The smallest score at or after `at` (a lower bound that keeps `>=` exact to the µs).
pub(crate) fn score_ceil(at: DateTime<Utc>) -> i64 {
    let floor = score(at);
    if at.timestamp_subsec_nanos().is_multiple_of(1000) {
        floor
    } else {
        floor.saturating_add(1)
    }
}

/// A status as its serde name (`succeeded`, `pending_validation`, …), as filters compare it.
pub(crate) fn status_name(status: PaymentStatus) -> Result<String, StoreError> {
    match serde_json::to_value(status) {
        Ok(serde_json::Value::String(name)) => Ok(name),
        _ => Err(StoreError::Corrupt("payment status has no name".into())),
    }
}

pub(crate) fn decode_record<T: Stored>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt(format!("undecodable {} record: {e}", T::NAME)))
}

/// Reply of insert.lua and insert_rated.lua.
pub(crate) fn insert_outcome(
    reply: Value,
    keys: &[IdempotencyKey],
    inserting: &str,
) -> Result<InsertOutcome, StoreError> {
    let items = array(reply)?;
    match items.first().map(int).transpose()? {
        Some(0) => Ok(InsertOutcome::Inserted),
        Some(1) => {
            let index = items.get(1).map(int).transpose()?;
            let key = index
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| keys.get(i))
                .ok_or_else(|| unexpected("insert"))?;
            let existing: PaymentRecord = required_record(items.get(2), "idempotency key")?;
            if is_own_earlier_run(&existing, inserting) {
                return Ok(InsertOutcome::Inserted);
            }
            Ok(InsertOutcome::Existing {
                key: key.clone(),
                existing: Box::new(existing),
            })
        }
        Some(2) => Err(StoreError::Corrupt("payment id reused".into())),
        // insert_rated.lua: over the merchant's quota, nothing written.
        Some(3) => {
            let wait_us = items.get(1).map(int).transpose()?.unwrap_or(0);
            Ok(InsertOutcome::RateLimited {
                retry_after: std::time::Duration::from_micros(wait_us.max(1) as u64),
            })
        }
        _ => Err(unexpected("insert")),
    }
}

/// Reply of topup_insert.lua.
pub(crate) fn topup_insert_outcome(
    reply: Value,
    inserting: &str,
) -> Result<TopUpInsert, StoreError> {
    keyed_insert_outcome(reply, "external_tx_id", inserting)
}

/// Reply of topup_insert.lua and esim_insert.lua; `key` names the merchant's key in errors.
pub(crate) fn keyed_insert_outcome<T: Stored>(
    reply: Value,
    key: &str,
    inserting: &str,
) -> Result<KeyedInsert<T>, StoreError> {
    let items = array(reply)?;
    match items.first().map(int).transpose()? {
        Some(0) => Ok(KeyedInsert::Inserted),
        Some(1) => {
            let holder: T = required_record(items.get(1), key)?;
            if is_own_earlier_run(&holder, inserting) {
                return Ok(KeyedInsert::Inserted);
            }
            Ok(KeyedInsert::Existing(Box::new(holder)))
        }
        Some(2) => Err(StoreError::Corrupt(format!("{} id reused", T::NAME))),
        _ => Err(unexpected("insert")),
    }
}

/// Reply of update.lua and topup_update.lua.
pub(crate) fn update_outcome<T: Stored>(reply: Value) -> Result<UpdateOutcome<T>, StoreError> {
    let items = array(reply)?;
    match items.first().map(int).transpose()? {
        Some(0) => Ok(UpdateOutcome::Updated),
        Some(1) => Ok(UpdateOutcome::Conflict(Box::new(required_record(
            items.get(1),
            "stored version",
        )?))),
        Some(2) => Ok(UpdateOutcome::Missing),
        _ => Err(unexpected("update")),
    }
}

/// Reply of list.lua.
pub(crate) fn page(reply: Value) -> Result<PaymentPage, StoreError> {
    let mut items = array(reply)?.into_iter();
    let total = items.next().as_ref().map(int).transpose()?;
    let total = match total {
        Some(t) if t >= 0 => usize::try_from(t).map_err(|_| unexpected("list"))?,
        Some(_) => {
            return Err(StoreError::Corrupt(
                "list index names a missing payment".into(),
            ))
        }
        None => return Err(unexpected("list")),
    };
    let items = items
        .map(|v| required_record(Some(&v), "list index"))
        .collect::<Result<_, _>>()?;
    Ok(PaymentPage { items, total })
}

/// Reply of due.lua.
pub(crate) fn records<T: Stored>(reply: Value) -> Result<Vec<T>, StoreError> {
    array(reply)?
        .iter()
        .map(|v| required_record(Some(v), "due index"))
        .collect()
}

/// Items of `HSCAN` (or `HGETALL`) on the MNP hash (a flat field/value array, or a map under RESP3), ordered
/// by number. A field that is not an E.164 number, or a value that is not text, is corruption.
pub(crate) fn overrides(reply: Value) -> Result<Vec<(Msisdn, String)>, StoreError> {
    let pairs: Vec<(Value, Value)> = match reply {
        Value::Map(pairs) => pairs,
        Value::Array(items) if items.len() % 2 == 0 => {
            let mut items = items.into_iter();
            let mut pairs = Vec::new();
            while let (Some(field), Some(value)) = (items.next(), items.next()) {
                pairs.push((field, value));
            }
            pairs
        }
        _ => return Err(unexpected("operator overrides")),
    };
    let text = |v: &Value| {
        String::from_utf8(bytes(v)?)
            .map_err(|_| StoreError::Corrupt("operator override is not text".into()))
    };
    let mut out = pairs
        .iter()
        .map(|(field, value)| {
            let msisdn = Msisdn::parse(&text(field)?).ok_or_else(|| {
                StoreError::Corrupt("operator override for a number that is not E.164".into())
            })?;
            Ok((msisdn, text(value)?))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    out.sort();
    Ok(out)
}

/// A record JSON that may be absent (`HGET` of a missing payment).
pub(crate) fn optional_record<T: Stored>(value: Value) -> Result<Option<T>, StoreError> {
    match value {
        Value::Nil => Ok(None),
        other => Ok(Some(decode_record(&bytes(&other)?)?)),
    }
}

/// A record JSON that an index or a key points at: absence is corruption.
fn required_record<T: Stored>(value: Option<&Value>, holder: &str) -> Result<T, StoreError> {
    match value {
        None | Some(Value::Nil) => Err(StoreError::Corrupt(format!(
            "{holder} points at a missing {}",
            T::NAME
        ))),
        Some(v) => decode_record(&bytes(v)?),
    }
}

pub(crate) fn array(value: Value) -> Result<Vec<Value>, StoreError> {
    match value {
        Value::Array(items) | Value::Set(items) => Ok(items),
        _ => Err(StoreError::Corrupt("unexpected reply from redis".into())),
    }
}

fn int(value: &Value) -> Result<i64, StoreError> {
    match value {
        Value::Int(i) => Ok(*i),
        _ => Err(StoreError::Corrupt("unexpected reply from redis".into())),
    }
}

pub(crate) fn bytes(value: &Value) -> Result<Vec<u8>, StoreError> {
    match value {
        Value::BulkString(b) => Ok(b.clone()),
        Value::SimpleString(s) => Ok(s.clone().into_bytes()),
        Value::VerbatimString { text, .. } => Ok(text.clone().into_bytes()),
        _ => Err(StoreError::Corrupt("unexpected reply from redis".into())),
    }
}

fn unexpected(script: &str) -> StoreError {
    StoreError::Corrupt(format!("unexpected reply from the {script} script"))
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use switchboard_core::{ApiError, ChargingMetaData, ErrorCode, Phase};

    use super::*;
    use crate::conformance::{sample_payment, sample_topup};

    #[test]
    fn records_round_trip_through_json() {
        let mut p = sample_payment("p1", "m1", 1);
        p.phase = Phase::Rejected(ApiError::of(ErrorCode::PaymentDenied));
        p.next_check_at = Some(p.created_at + Duration::seconds(5));
        let args = RecordArgs::of(&p).unwrap();
        assert_eq!(
            decode_record::<PaymentRecord>(args.json.as_bytes()).unwrap(),
            p
        );
        assert!(matches!(
            decode_record::<PaymentRecord>(b"{not json"),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn index_arguments_follow_the_record() {
        let mut p = sample_payment("p{1}", "m1", 1);
        p.status = PaymentStatus::Processing;
        p.next_check_at = Some(p.created_at);
        p.payment_amount.charging_meta_data = Some(ChargingMetaData {
            merchant_identifier: Some("shop".into()),
            ..Default::default()
        });
        let args = RecordArgs::of(&p).unwrap();
        assert!(args.visible);
        assert_eq!(args.due, Some(score(p.created_at)));
        assert_eq!(args.status, "processing");
        assert_eq!(args.member, "p%7B1%7D");
        let argv = args.argv();
        assert_eq!(argv.len(), 11);
        assert_eq!((argv[8].as_str(), argv[9].as_str()), ("1", "shop"));
        assert_eq!(argv[10], "");
        // Settled or waiting on a human: not in the due index, whatever next_check_at says; in
        // the review index, by creation.
        p.needs_review = true;
        assert_eq!(RecordArgs::of(&p).unwrap().due, None);
        assert_eq!(
            RecordArgs::of(&p).unwrap().argv()[10],
            score(p.created_at).to_string()
        );
        p.phase = Phase::Submitting;
        assert!(!RecordArgs::of(&p).unwrap().visible);
    }

    #[test]
    fn scores_are_microseconds_and_bounds_round_inwards() {
        let t = Utc.timestamp_opt(1_700_000_000, 1_500).single().unwrap();
        assert_eq!(score(t), 1_700_000_000_000_001);
        assert_eq!(score_ceil(t), 1_700_000_000_000_002);
        let exact = Utc.timestamp_opt(1_700_000_000, 2_000).single().unwrap();
        assert_eq!(score_ceil(exact), score(exact));
    }

    #[test]
    fn malformed_replies_are_corrupt_not_panics() {
        for reply in [
            Value::Nil,
            Value::Array(vec![]),
            Value::Array(vec![Value::Int(7)]),
            Value::Array(vec![Value::Int(1), Value::Int(9), Value::Nil]),
            Value::Array(vec![Value::Int(1), Value::Int(0), Value::Nil]),
        ] {
            assert!(matches!(
                insert_outcome(reply, &[IdempotencyKey::ClientCorrelator("c".into())], "p1"),
                Err(StoreError::Corrupt(_))
            ));
        }
        assert!(matches!(
            page(Value::Array(vec![Value::Int(-1)])),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            records::<PaymentRecord>(Value::Array(vec![Value::Nil])),
            Err(StoreError::Corrupt(_))
        ));
        assert_eq!(optional_record::<PaymentRecord>(Value::Nil).unwrap(), None);
        for reply in [
            Value::Nil,
            Value::Array(vec![]),
            Value::Array(vec![Value::Int(7)]),
            Value::Array(vec![Value::Int(1), Value::Nil]),
            Value::Array(vec![Value::Int(1)]),
            Value::Array(vec![Value::Int(2)]),
        ] {
            assert!(matches!(
                topup_insert_outcome(reply, "t1"),
                Err(StoreError::Corrupt(_))
            ));
        }
        assert!(matches!(
            update_outcome::<TopUpRecord>(Value::Array(vec![Value::Int(1), Value::Nil])),
            Err(StoreError::Corrupt(_))
        ));
        assert_eq!(
            update_outcome::<TopUpRecord>(Value::Array(vec![Value::Int(2)])).unwrap(),
            UpdateOutcome::Missing
        );
    }

    #[test]
    fn a_key_held_by_the_record_being_inserted_is_its_own_earlier_run() {
        let holder = sample_payment("p1", "m1", 1);
        let json = Value::BulkString(serde_json::to_vec(&holder).unwrap());
        let reply = || Value::Array(vec![Value::Int(1), Value::Int(0), json.clone()]);
        let keys = [IdempotencyKey::ClientCorrelator("c".into())];
        assert_eq!(
            insert_outcome(reply(), &keys, "p1").unwrap(),
            InsertOutcome::Inserted
        );
        assert!(matches!(
            insert_outcome(reply(), &keys, "p2").unwrap(),
            InsertOutcome::Existing { existing, .. } if existing.id == "p1"
        ));
        let topup = sample_topup("t1", "m1", "tx-1");
        let reply = || {
            Value::Array(vec![
                Value::Int(1),
                Value::BulkString(serde_json::to_vec(&topup).unwrap()),
            ])
        };
        assert_eq!(
            topup_insert_outcome(reply(), "t1").unwrap(),
            TopUpInsert::Inserted
        );
        assert!(matches!(
            topup_insert_outcome(reply(), "t2").unwrap(),
            TopUpInsert::Existing(_)
        ));
    }

    #[test]
    fn override_replies_decode_in_number_order() {
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let flat = Value::Array(vec![
            bulk("+34600000002"),
            bulk("op-b"),
            bulk("+34600000001"),
            bulk("op-a"),
        ]);
        let expected = vec![
            (Msisdn::parse("+34600000001").unwrap(), "op-a".to_string()),
            (Msisdn::parse("+34600000002").unwrap(), "op-b".to_string()),
        ];
        assert_eq!(overrides(flat).unwrap(), expected);
        let map = Value::Map(vec![
            (bulk("+34600000002"), bulk("op-b")),
            (bulk("+34600000001"), bulk("op-a")),
        ]);
        assert_eq!(overrides(map).unwrap(), expected);
        assert_eq!(overrides(Value::Array(vec![])).unwrap(), vec![]);
        for bad in [
            Value::Nil,
            Value::Array(vec![bulk("+34600000001")]),
            Value::Array(vec![bulk("not-a-number"), bulk("op")]),
            Value::Array(vec![bulk("+34600000001"), Value::Int(3)]),
        ] {
            assert!(matches!(overrides(bad), Err(StoreError::Corrupt(_))));
        }
    }

    #[test]
    fn topup_arguments_follow_the_record() {
        let mut t = sample_topup("t{1}", "m1", "x1");
        t.next_check_at = Some(t.created_at);
        let args = TopUpArgs::of(&t).unwrap();
        assert_eq!(args.member, "t%7B1%7D");
        assert_eq!(args.due, Some(score(t.created_at)));
        assert_eq!(
            decode_record::<TopUpRecord>(args.json.as_bytes()).unwrap(),
            t
        );
        let argv = args.argv();
        assert_eq!(argv.len(), 5);
        assert_eq!(argv[2], "1");
        assert_eq!(argv[4], "");
        t.needs_review = true;
        assert_eq!(
            TopUpArgs::of(&t).unwrap().argv()[4],
            score(t.created_at).to_string()
        );
        t.needs_review = false;
        // Settled: out of the due index, whatever next_check_at says.
        t.status = switchboard_core::TopUpStatus::Completed;
        assert_eq!(TopUpArgs::of(&t).unwrap().due, None);
        assert_eq!(TopUpArgs::of(&t).unwrap().argv()[3], "");
        t.status = switchboard_core::TopUpStatus::Pending;
        t.next_check_at = None;
        assert_eq!(TopUpArgs::of(&t).unwrap().due, None);
    }

    mod properties {
        use proptest::prelude::*;
        use rust_decimal::Decimal;
        use switchboard_core::{Amount, Msisdn, PaymentStatus};

        use super::*;

        fn status() -> impl Strategy<Value = PaymentStatus> {
            prop_oneof![
                Just(PaymentStatus::Processing),
                Just(PaymentStatus::Succeeded),
                Just(PaymentStatus::Denied),
                Just(PaymentStatus::Reserved),
            ]
        }

        proptest! {
            /// Whatever a merchant wrote into a payment (ids, text in any script, amounts down
            /// to the thousandth) comes back from the store byte for byte and exact.
            #[test]
            fn any_payment_round_trips_exactly(
                id in "[A-Za-z0-9-]{1,36}",
                merchant in "\\PC{1,16}",
                correlator in proptest::option::of("\\PC{1,32}"),
                description in "\\PC{0,64}",
                thousandths in 1i64..=999_999_999_999,
                digits in "[1-9][0-9]{4,14}",
                status in status(),
                version in any::<u32>(),
            ) {
                let mut p = sample_payment(&id, &merchant, 1);
                p.client_correlator = correlator;
                p.payment_amount.charging_information.description = description;
                p.payment_amount.charging_information.amount =
                    Amount::positive(Decimal::new(thousandths, 3)).unwrap();
                p.msisdn = Msisdn::parse(&format!("+{digits}")).unwrap();
                p.status = status;
                p.version = u64::from(version);
                let args = RecordArgs::of(&p).unwrap();
                prop_assert_eq!(decode_record::<PaymentRecord>(args.json.as_bytes()).unwrap(), p);
            }

            /// Bytes that are not a record are a `Corrupt` error, never a panic.
            #[test]
            fn garbage_is_corrupt_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
                prop_assert!(decode_record::<PaymentRecord>(&bytes).is_err());
            }
        }
    }
}
