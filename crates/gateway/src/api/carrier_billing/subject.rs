//! Whose phone number an operation is about: the CAMARA 2-legged / 3-legged identifier rules.

use switchboard_core::{ApiError, ErrorCode, Msisdn};

use crate::auth::Caller;

/// With a phone-bound token the number comes from the token and must not be in the body (even the
/// same one); with a client-credentials token it must be in the body.
pub fn resolve(caller: &Caller, in_body: Option<Msisdn>) -> Result<Msisdn, ApiError> {
    match (&caller.msisdn, in_body) {
        (Some(_), Some(_)) => Err(ApiError::new(
            ErrorCode::UnnecessaryIdentifier,
            "The phone number is already identified by the access token; do not send phoneNumber.",
        )),
        (Some(bound), None) => Ok(bound.clone()),
        (None, Some(number)) => Ok(number),
        (None, None) => Err(ApiError::new(
            ErrorCode::MissingIdentifier,
            "phoneNumber is required with a client-credentials access token.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(bound: Option<&str>) -> Caller {
        Caller {
            merchant_id: "m".into(),
            scopes: vec![],
            msisdn: bound.map(|n| Msisdn::parse(n).unwrap()),
        }
    }

    #[test]
    fn two_legged_needs_the_number_three_legged_forbids_it() {
        let n = || Msisdn::parse("+34600000001");
        assert_eq!(resolve(&caller(None), n()).unwrap(), n().unwrap());
        assert_eq!(
            resolve(&caller(None), None).unwrap_err().code,
            ErrorCode::MissingIdentifier
        );
        assert_eq!(
            resolve(&caller(Some("+34600000001")), None).unwrap(),
            n().unwrap()
        );
        assert_eq!(
            resolve(&caller(Some("+34600000001")), n())
                .unwrap_err()
                .code,
            ErrorCode::UnnecessaryIdentifier,
            "even the same number"
        );
    }
}
