//! What a channel can do.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// One operation family a channel may offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// 1-step carrier billing (`POST /payments`).
    Payment,
    /// 2-step carrier billing (prepare, validate, confirm, cancel).
    TwoStepPayment,
    /// Status queries, needed to settle unknown outcomes.
    PaymentStatus,
    Refund,
    Topup,
    Lookup,
}

/// A set of capabilities.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Capabilities(BTreeSet<Capability>);

impl Capabilities {
    pub fn of(items: &[Capability]) -> Self {
        Capabilities(items.iter().copied().collect())
    }

    pub fn contains(&self, c: Capability) -> bool {
        self.0.contains(&c)
    }

    /// What both sets have: a channel's configured list cut to what its adapter supports.
    pub fn intersect(&self, other: &Capabilities) -> Capabilities {
        Capabilities(self.0.intersection(&other.0).copied().collect())
    }

    /// Entries of `self` that `other` lacks.
    pub fn missing_from(&self, other: &Capabilities) -> Vec<Capability> {
        self.0.difference(&other.0).copied().collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = Capability> + '_ {
        self.0.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intersection_and_difference() {
        let configured = Capabilities::of(&[Capability::Payment, Capability::Refund]);
        let supported = Capabilities::of(&[Capability::Payment, Capability::PaymentStatus]);
        let effective = configured.intersect(&supported);
        assert!(effective.contains(Capability::Payment));
        assert!(!effective.contains(Capability::Refund));
        assert_eq!(
            configured.missing_from(&supported),
            vec![Capability::Refund]
        );
    }

    #[test]
    fn reads_snake_case_names() {
        let c: Capabilities = serde_json::from_str(r#"["payment","two_step_payment"]"#).unwrap();
        assert!(c.contains(Capability::TwoStepPayment));
        assert!(serde_json::from_str::<Capabilities>(r#"["teleport"]"#).is_err());
    }
}
