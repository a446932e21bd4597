//! Switchboard's domain: the types and rules every other crate shares. No I/O lives here.

pub mod correlator;
pub mod currency;
pub mod error;
pub mod esim;
pub mod fingerprint;
pub mod money;
pub mod msisdn;
pub mod payment;
pub mod refund;
pub mod request;
pub mod secret;
pub mod sink;
pub mod state;
pub mod topup;
pub mod trace_context;
pub mod upstream;

pub use error::{ApiError, ErrorCode};
pub use esim::{EsimOrderRecord, EsimOrderStatus, NewEsimOrder};
pub use fingerprint::fingerprint;
pub use money::{Amount, Currency, Money};
pub use msisdn::Msisdn;
pub use payment::{
    AmountTransaction, ChargingInformation, ChargingMetaData, PaymentAmount, PaymentFlow,
    PaymentItem, PaymentRecord, PendingAction, Phase, ValidationInfo,
};
pub use refund::{RefundItem, RefundRecord, RefundStatus, RefundType};
pub use request::{NewPayment, NewRefund, NewTopUp};
pub use secret::Secret;
pub use sink::{Sink, SinkCredential};
pub use state::{PaymentStatus, TransitionError};
pub use topup::{
    BundleContents, EsimOrder, LineType, LookupResult, Product, ProductType, TopUpRecord,
    TopUpStatus, TopUpTransitionError,
};
pub use upstream::{UpstreamPayment, UpstreamRefund, UpstreamTopUp};
