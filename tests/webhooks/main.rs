//! The webhook sender and delivery worker against the test [`Receiver`](switchboard_tests::Receiver):
//! real TLS sockets, the real memory store, nothing mocked.

mod sender;
mod worker;

use std::time::Duration;

use switchboard_tests::Receiver;
use switchboard_webhooks::{AllowList, Sender, SenderConfig};

/// The Standard Webhooks test-vector secret.
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// Long enough for any wait on a busy 2-core machine; tests poll state, never sleep a fixed time.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub fn loopback() -> AllowList {
    AllowList::parse(&["127.0.0.1/32", "::1"]).unwrap()
}

/// A sender that trusts the receiver's test CA and may reach loopback.
pub fn sender_for(receiver: &Receiver) -> Sender {
    Sender::new(SenderConfig {
        allow: loopback(),
        extra_ca_pem: Some(receiver.ca_pem().as_bytes().to_vec()),
        timeout: Duration::from_secs(5),
        ..SenderConfig::default()
    })
    .unwrap()
}
