//! A hash of what a request asks for, so a retry with a different body is told apart.

use serde::Serialize;
use sha2::{Digest, Sha256};
use switchboard_core::{Msisdn, PaymentAmount, PaymentFlow, Sink};

#[derive(Serialize)]
struct Fingerprinted<'a> {
    flow: PaymentFlow,
    msisdn: &'a Msisdn,
    payment_amount: &'a PaymentAmount,
    reference_code: &'a str,
    client_correlator: Option<&'a str>,
    sink: Option<&'a Sink>,
}

/// Hex SHA-256 of the request's meaning (not its formatting: `1.50` and `1.5` are the same amount).
pub fn fingerprint(
    flow: PaymentFlow,
    msisdn: &Msisdn,
    payment_amount: &PaymentAmount,
    reference_code: &str,
    client_correlator: Option<&str>,
    sink: Option<&Sink>,
) -> String {
    let value = Fingerprinted {
        flow,
        msisdn,
        payment_amount,
        reference_code,
        client_correlator,
        sink,
    };
    let bytes = serde_json::to_vec(&value).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(json: &str) -> PaymentAmount {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn same_meaning_same_print_and_any_change_differs() {
        let m = Msisdn::parse("+34600000001").unwrap();
        let a =
            amount(r#"{"chargingInformation":{"amount":1.50,"currency":"EUR","description":"x"}}"#);
        let b =
            amount(r#"{"chargingInformation":{"description":"x","currency":"EUR","amount":1.5}}"#);
        let c =
            amount(r#"{"chargingInformation":{"amount":1.51,"currency":"EUR","description":"x"}}"#);
        let f = |p: &PaymentAmount, r: &str| {
            fingerprint(PaymentFlow::OneStep, &m, p, r, Some("cc"), None)
        };
        assert_eq!(f(&a, "r"), f(&b, "r"));
        assert_ne!(f(&a, "r"), f(&c, "r"));
        assert_ne!(f(&a, "r"), f(&a, "r2"));
        assert_ne!(
            f(&a, "r"),
            fingerprint(PaymentFlow::TwoStep, &m, &a, "r", Some("cc"), None)
        );
    }
}
