//! Inbound notifications at `/callbacks/{channel}?ref=…`: authenticated as the channel file says,
//! then read with the callback's response mapping.

use switchboard_adapter::signing::{sha256_hex, verify_hmac_sha256};
use switchboard_adapter::{
    CallbackError, CallbackNotice, CallbackRef, CallbackRequest, CallbackSettings,
};

use crate::mapping;
use crate::spec::{CallbackAuth, Spec};
use crate::template::Vars;

/// Verifies and reads one notification. `secret` is the channel's `credentials.client_secret`.
pub fn parse(
    spec: &Spec,
    settings: Option<&CallbackSettings>,
    secret: &str,
    request: &CallbackRequest,
) -> Result<CallbackNotice, CallbackError> {
    let (Some(cb), Some(settings)) = (&spec.options.callbacks, settings) else {
        return Err(CallbackError::Unsupported);
    };
    let encoded = request
        .query_param("ref")
        .ok_or(CallbackError::Unauthenticated)?;
    match &cb.auth {
        CallbackAuth::Token => {
            let token = request.bearer().ok_or(CallbackError::Unauthenticated)?;
            if !settings.verify(&encoded, token) {
                return Err(CallbackError::Unauthenticated);
            }
        }
        CallbackAuth::Hmac {
            timestamp_header,
            signature_header,
            encoding,
            signature_prefix,
            max_skew_secs,
            ..
        } => {
            let ts = request
                .header(timestamp_header)
                .ok_or(CallbackError::Unauthenticated)?;
            let at: i64 = ts.parse().map_err(|_| CallbackError::Unauthenticated)?;
            if (chrono::Utc::now().timestamp() - at).abs() > *max_skew_secs {
                return Err(CallbackError::Unauthenticated);
            }
            let presented = request
                .header(signature_header)
                .and_then(|s| s.strip_prefix(signature_prefix.as_str()))
                .ok_or(CallbackError::Unauthenticated)?;
            let vars = Vars::from([
                ("timestamp", ts.to_owned()),
                ("body.sha256", sha256_hex(&request.body)),
            ]);
            let canonical = spec
                .callback_canonical
                .as_ref()
                .and_then(|t| t.render(&vars).ok())
                .ok_or(CallbackError::Unauthenticated)?;
            if !verify_hmac_sha256(
                secret.as_bytes(),
                canonical.as_bytes(),
                presented,
                *encoding,
            ) {
                return Err(CallbackError::Unauthenticated);
            }
        }
    }
    let reference = CallbackRef::decode(&encoded)
        .ok_or_else(|| CallbackError::Malformed("unknown ref".into()))?;
    let body: serde_json::Value = serde_json::from_slice(&request.body)
        .map_err(|_| CallbackError::Malformed("body is not JSON".into()))?;
    let malformed = |e: switchboard_adapter::AdapterError| CallbackError::Malformed(e.to_string());
    Ok(match reference {
        CallbackRef::Payment {
            merchant_id,
            payment_id,
        } => CallbackNotice::Payment {
            merchant_id,
            payment_id,
            update: mapping::payment(&body, &cb.response, &spec.statuses, None)
                .map_err(malformed)?,
        },
        CallbackRef::Refund {
            merchant_id,
            payment_id,
            refund_id,
        } => CallbackNotice::Refund {
            merchant_id,
            payment_id,
            refund_id,
            update: mapping::refund(&body, &cb.response, &spec.refund_statuses, None)
                .map_err(malformed)?,
        },
    })
}
