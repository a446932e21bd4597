//! MNP: numbers ported away from the operator the number plan gives them, held compactly enough for
//! ten million of them in one replica.
//!
//! The bulk is one sorted `Vec<u64>`, each entry `number << 14 | operator` (an E.164 number has at
//! most 15 digits, under 2^50), so 8 bytes per ported number and a binary search per lookup. Changes
//! since that array was built sit in a small hash map (`delta`) that a lookup reads first; once it
//! grows past [`PortedNumbers::compaction`]'s threshold it is merged into a new array, off the lock
//! readers use (see [`MnpTable`]).

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use switchboard_core::Msisdn;

use crate::hash::{digits_value, U64Map};
use crate::NumberPlan;

const OP_BITS: u32 = 14;
const OP_MASK: u64 = (1 << OP_BITS) - 1;
/// Distinct operators (of the plan, plus ids it does not know) a table can name.
pub const MAX_OPERATORS: usize = 1 << OP_BITS;
/// The delta is merged into the sorted array once it holds more than this many numbers, or more
/// than 1/32 of the array, whichever is larger.
const MIN_COMPACTION: usize = 65_536;

fn pack(number: u64, operator: u16) -> u64 {
    (number << OP_BITS) | u64::from(operator)
}

fn number_of(entry: u64) -> u64 {
    entry >> OP_BITS
}

fn operator_of(entry: u64) -> u16 {
    (entry & OP_MASK) as u16
}

/// Where a ported number is served now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortedTo<'a> {
    /// An operator of the number plan, by index in [`NumberPlan::operators`].
    Plan(usize),
    /// An operator id the number plan does not hold (such a number cannot be routed).
    Unknown(&'a str),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortedError {
    #[error("more than {MAX_OPERATORS} distinct operators in the MNP table")]
    TooManyOperators,
}

/// The ported numbers of one number plan, and the store version they reflect. Built for one plan
/// (operator codes are its indexes), so there is no `Default`.
#[derive(Debug, Clone)]
pub struct PortedNumbers {
    /// Sorted by number, one entry per number.
    base: Arc<Vec<u64>>,
    /// Changes newer than `base`: number → operator, `None` for "no longer ported".
    delta: U64Map<Option<u16>>,
    /// Operator ids the plan does not hold; operator code `plan_len + i` is `unknown[i]`.
    unknown: Vec<String>,
    unknown_codes: HashMap<String, u16>,
    plan_len: usize,
    version: u64,
}

impl PortedNumbers {
    pub fn new(plan: &NumberPlan) -> PortedNumbers {
        PortedNumbers {
            base: Arc::default(),
            delta: U64Map::default(),
            unknown: Vec::new(),
            unknown_codes: HashMap::new(),
            plan_len: plan.operators().len(),
            version: 0,
        }
    }

    /// The store version (of its change log) this table reflects.
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn set_version(&mut self, version: u64) {
        self.version = version;
    }

    fn code(&mut self, plan: &NumberPlan, operator_id: &str) -> Result<u16, PortedError> {
        if let Some(i) = plan.index_of(operator_id) {
            return u16::try_from(i).map_err(|_| PortedError::TooManyOperators);
        }
        if let Some(code) = self.unknown_codes.get(operator_id) {
            return Ok(*code);
        }
        let code = self.plan_len + self.unknown.len();
        if code >= MAX_OPERATORS {
            return Err(PortedError::TooManyOperators);
        }
        self.unknown.push(operator_id.to_string());
        self.unknown_codes
            .insert(operator_id.to_string(), code as u16);
        Ok(code as u16)
    }

    fn resolve(&self, code: u16) -> PortedTo<'_> {
        let code = usize::from(code);
        match code.checked_sub(self.plan_len) {
            None => PortedTo::Plan(code),
            Some(i) => PortedTo::Unknown(&self.unknown[i]),
        }
    }

    /// Where `msisdn` is served now, if it is ported.
    pub fn get(&self, msisdn: &Msisdn) -> Option<PortedTo<'_>> {
        let number = digits_value(msisdn.digits())?;
        let code = match self.delta.get(&number) {
            Some(changed) => (*changed)?,
            None => {
                let at = self
                    .base
                    .binary_search_by(|e| number_of(*e).cmp(&number))
                    .ok()?;
                operator_of(self.base[at])
            }
        };
        Some(self.resolve(code))
    }

    /// The operator id `msisdn` is ported to, if it is.
    pub fn operator_id<'a>(&'a self, plan: &'a NumberPlan, msisdn: &Msisdn) -> Option<&'a str> {
        Some(match self.get(msisdn)? {
            PortedTo::Plan(i) => plan.operators()[i].id.as_str(),
            PortedTo::Unknown(id) => id,
        })
    }

    /// Records that `msisdn` is served by `operator_id` now, or (`None`) no longer ported.
    pub fn set(
        &mut self,
        plan: &NumberPlan,
        msisdn: &Msisdn,
        operator_id: Option<&str>,
    ) -> Result<(), PortedError> {
        let Some(number) = digits_value(msisdn.digits()) else {
            return Ok(());
        };
        let code = operator_id.map(|id| self.code(plan, id)).transpose()?;
        self.delta.insert(number, code);
        Ok(())
    }

    /// Bytes held by the table (array and delta; operator ids aside).
    pub fn heap_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(u64, Option<u16>)>() + 1;
        self.base.capacity() * 8 + self.delta.capacity() * slot
    }

    /// Numbers in the sorted array (the delta aside).
    pub fn base_len(&self) -> usize {
        self.base.len()
    }

    /// Numbers changed since the array was built.
    pub fn delta_len(&self) -> usize {
        self.delta.len()
    }

    /// The work of merging the delta into a new array, once the delta is large enough.
    pub fn compaction(&self) -> Option<Compaction> {
        let threshold = MIN_COMPACTION.max(self.base.len() / 32);
        (self.delta.len() > threshold).then(|| self.compaction_now())
    }

    /// The merge work, whatever the size of the delta.
    pub fn compaction_now(&self) -> Compaction {
        let mut delta: Vec<(u64, Option<u16>)> = self.delta.iter().map(|(k, v)| (*k, *v)).collect();
        delta.sort_unstable_by_key(|(k, _)| *k);
        Compaction {
            base: self.base.clone(),
            delta,
        }
    }

    /// Takes the merged array; changes made since the compaction was taken stay in the delta.
    pub fn install(&mut self, done: Compacted) {
        self.base = Arc::new(done.base);
        for (number, code) in done.merged {
            if self.delta.get(&number) == Some(&code) {
                self.delta.remove(&number);
            }
        }
        if self.delta.capacity() > 4 * MIN_COMPACTION.max(self.delta.len() * 2) {
            self.delta.shrink_to_fit();
        }
    }
}

/// An array and the sorted changes to merge into it ([`Compaction::run`] needs no lock).
pub struct Compaction {
    base: Arc<Vec<u64>>,
    delta: Vec<(u64, Option<u16>)>,
}

/// The result of [`Compaction::run`], for [`PortedNumbers::install`].
pub struct Compacted {
    base: Vec<u64>,
    merged: Vec<(u64, Option<u16>)>,
}

impl Compaction {
    pub fn run(self) -> Compacted {
        let (base, delta) = (&self.base, &self.delta);
        let mut out = Vec::with_capacity(base.len() + delta.len());
        let (mut i, mut j) = (0, 0);
        loop {
            let entry = base.get(i).copied();
            let change = delta.get(j).copied();
            match (entry, change) {
                (None, None) => break,
                (Some(e), Some((n, _))) if number_of(e) < n => {
                    out.push(e);
                    i += 1;
                }
                (Some(e), None) => {
                    out.push(e);
                    i += 1;
                }
                (e, Some((n, code))) => {
                    // The change comes first, or replaces (or removes) the entry of its number.
                    if let Some(code) = code {
                        out.push(pack(n, code));
                    }
                    i += usize::from(e.is_some_and(|e| number_of(e) == n));
                    j += 1;
                }
            }
        }
        out.shrink_to_fit();
        Compacted {
            base: out,
            merged: self.delta,
        }
    }
}

/// Builds a table from a full listing (in any order; a number listed twice keeps one of its
/// operators, as the change log replayed after a full load settles it).
pub struct PortedBuilder<'p> {
    plan: &'p NumberPlan,
    table: PortedNumbers,
    entries: Vec<u64>,
}

impl<'p> PortedBuilder<'p> {
    pub fn new(plan: &'p NumberPlan) -> PortedBuilder<'p> {
        PortedBuilder {
            plan,
            table: PortedNumbers::new(plan),
            entries: Vec::new(),
        }
    }

    pub fn push(&mut self, msisdn: &Msisdn, operator_id: &str) -> Result<(), PortedError> {
        if let Some(number) = digits_value(msisdn.digits()) {
            let code = self.table.code(self.plan, operator_id)?;
            self.entries.push(pack(number, code));
        }
        Ok(())
    }

    pub fn finish(mut self, version: u64) -> PortedNumbers {
        self.entries.sort_unstable_by_key(|e| number_of(*e));
        self.entries.dedup_by_key(|e| number_of(*e));
        self.entries.shrink_to_fit();
        self.table.base = Arc::new(self.entries);
        self.table.version = version;
        self.table
    }
}

/// A table shared by the request handlers (readers) and one syncing task (the writer).
pub struct MnpTable {
    table: RwLock<PortedNumbers>,
}

impl MnpTable {
    pub fn new(table: PortedNumbers) -> MnpTable {
        MnpTable {
            table: RwLock::new(table),
        }
    }

    /// The table, for a lookup; hold it briefly.
    pub fn read(&self) -> RwLockReadGuard<'_, PortedNumbers> {
        // A poisoned lock means a writer panicked between two whole assignments; the table is still
        // a table.
        self.table.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the table under the write lock (keep `change` short: a few map updates).
    pub fn write<T>(&self, change: impl FnOnce(&mut PortedNumbers) -> T) -> T {
        let mut table = self.table.write().unwrap_or_else(|e| e.into_inner());
        change(&mut table)
    }

    /// Replaces the whole table (after a full load).
    pub fn replace(&self, table: PortedNumbers) {
        self.write(|t| *t = table);
    }

    /// Merges a grown delta into a new array; the merge itself runs without holding the lock.
    pub fn compact_if_needed(&self) -> bool {
        let Some(work) = self.read().compaction() else {
            return false;
        };
        let done = work.run();
        self.write(|t| t.install(done));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OperatorInfo;

    fn plan() -> NumberPlan {
        NumberPlan::new(vec![
            OperatorInfo::new("movistar-es", "ES", &["+346"], &["EUR"]),
            OperatorInfo::new("telekom-de", "DE", &["+4915"], &["EUR"]),
        ])
        .unwrap()
    }

    fn n(i: u64) -> Msisdn {
        Msisdn::parse(&format!("+34{}", 600_000_000 + i)).unwrap()
    }

    #[test]
    fn loads_changes_and_forgets() {
        let plan = plan();
        let mut b = PortedBuilder::new(&plan);
        for i in (0..1000).rev() {
            b.push(
                &n(i),
                if i % 2 == 0 {
                    "telekom-de"
                } else {
                    "movistar-es"
                },
            )
            .unwrap();
        }
        b.push(&n(5000), "atlantis").unwrap();
        let mut t = b.finish(7);
        assert_eq!((t.version(), t.base_len()), (7, 1001));
        assert_eq!(t.get(&n(10)), Some(PortedTo::Plan(1)));
        assert_eq!(t.get(&n(11)), Some(PortedTo::Plan(0)));
        assert_eq!(t.get(&n(5000)), Some(PortedTo::Unknown("atlantis")));
        assert_eq!(t.operator_id(&plan, &n(5000)), Some("atlantis"));
        assert_eq!(t.get(&n(1000)), None);
        t.set(&plan, &n(10), None).unwrap();
        t.set(&plan, &n(11), Some("telekom-de")).unwrap();
        t.set(&plan, &n(2000), Some("movistar-es")).unwrap();
        assert_eq!(t.get(&n(10)), None, "a removal hides the array's entry");
        assert_eq!(t.operator_id(&plan, &n(11)), Some("telekom-de"));
        assert_eq!(t.get(&n(2000)), Some(PortedTo::Plan(0)));
        assert_eq!(t.delta_len(), 3);
    }

    #[test]
    fn compaction_merges_and_keeps_later_changes() {
        let plan = plan();
        let mut b = PortedBuilder::new(&plan);
        for i in (0..100).map(|i| i * 2) {
            b.push(&n(i), "movistar-es").unwrap();
        }
        let mut t = b.finish(1);
        // Replace, remove, insert between, before and after, remove what is not there.
        t.set(&plan, &n(0), Some("telekom-de")).unwrap();
        t.set(&plan, &n(2), None).unwrap();
        t.set(&plan, &n(3), Some("telekom-de")).unwrap();
        t.set(&plan, &n(500), Some("telekom-de")).unwrap();
        t.set(&plan, &n(7), None).unwrap();
        t.set(&plan, &n(198), None).unwrap();
        let work = t.compaction_now();
        // A change made while the merge runs survives the install.
        t.set(&plan, &n(3), Some("movistar-es")).unwrap();
        t.install(work.run());
        assert_eq!(t.base_len(), 100 - 2 + 2);
        assert_eq!(t.delta_len(), 1, "only the later change is left");
        assert_eq!(t.get(&n(0)), Some(PortedTo::Plan(1)));
        assert_eq!(t.get(&n(2)), None);
        assert_eq!(t.get(&n(3)), Some(PortedTo::Plan(0)));
        assert_eq!(t.get(&n(4)), Some(PortedTo::Plan(0)));
        assert_eq!(t.get(&n(7)), None);
        assert_eq!(t.get(&n(198)), None);
        assert_eq!(t.get(&n(500)), Some(PortedTo::Plan(1)));
        let sorted = t.base.windows(2).all(|w| number_of(w[0]) < number_of(w[1]));
        assert!(sorted, "one entry per number, in order");
    }

    #[test]
    fn shared_table_compacts_only_a_large_delta() {
        let plan = plan();
        let shared = MnpTable::new(PortedNumbers::new(&plan));
        shared.write(|t| t.set(&plan, &n(1), Some("telekom-de")).unwrap());
        assert!(!shared.compact_if_needed());
        shared.write(|t| {
            for i in 0..=MIN_COMPACTION as u64 {
                t.set(&plan, &n(i), Some("movistar-es")).unwrap();
            }
        });
        assert!(shared.compact_if_needed());
        let t = shared.read();
        assert_eq!((t.base_len(), t.delta_len()), (MIN_COMPACTION + 1, 0));
        assert_eq!(t.get(&n(1)), Some(PortedTo::Plan(0)));
    }

    #[test]
    fn operator_codes_are_bounded() {
        let plan = plan();
        let mut t = PortedNumbers::new(&plan);
        for i in 0..(MAX_OPERATORS - 2) {
            t.set(&plan, &n(1), Some(&format!("op{i}"))).unwrap();
        }
        assert_eq!(
            t.set(&plan, &n(1), Some("one-too-many")),
            Err(PortedError::TooManyOperators)
        );
    }
}
