//! The scripted set: token, a small 1-step payment, its status, a refusal, callback registration.
//! Each step is one adapter call under a deadline, recorded so a failure can show what the
//! upstream answered.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use switchboard_adapter::record::{recording, Exchange};
use switchboard_adapter::{Adapter, AdapterError, Capabilities, Capability, UpstreamHttp};
use switchboard_core::{
    Amount, ChargingInformation, Currency, Msisdn, NewPayment, PaymentAmount, PaymentFlow,
    PaymentRecord, PaymentStatus,
};

use super::mask;
use super::report::{Outcome, StepReport};
use super::CheckArgs;
use crate::config::Config;

/// The channel under check and what the script sends it.
pub struct Script {
    id: String,
    header: String,
    adapter: Arc<dyn Adapter>,
    capabilities: Capabilities,
    has_callback: bool,
    operator: String,
    currency: Currency,
    amount: Amount,
    phone: Msisdn,
    refuse_phone: Option<Msisdn>,
    deadline: Duration,
    secrets: Vec<String>,
}

/// Why a step's call did not succeed.
enum Failed {
    Upstream(AdapterError),
    Deadline(Duration),
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failed::Upstream(e) => e.fmt(f),
            Failed::Deadline(d) => write!(f, "no answer within {} ms", d.as_millis()),
        }
    }
}

fn parse_phone(text: &str, flag: &str) -> Result<Msisdn, String> {
    Msisdn::parse(text).ok_or_else(|| format!("{flag} '{text}' is not an E.164 number (+…)"))
}

/// A number in `prefix` ending in 01 (a success in every sandbox digit table).
fn test_number(prefix: &str) -> String {
    let mut digits = prefix.trim_start_matches('+').to_owned();
    while digits.len() < 10 {
        digits.push('0');
    }
    format!("+{digits}01")
}

/// `base_url` without user info, for the header line.
fn shown_url(base_url: &str) -> String {
    match reqwest::Url::parse(base_url) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        Err(_) => base_url.to_owned(),
    }
}

impl Script {
    pub fn new(config: &Config, id: &str, args: &CheckArgs) -> Result<Script, String> {
        let settings = &config.channels[id];
        let registry = crate::app::adapter_registry();
        let callback = crate::app::one_off_callback(config, id);
        let has_callback = callback.is_some();
        let (adapter, capabilities) =
            crate::app::channel_adapter(&registry, &UpstreamHttp::new(), id, settings, callback)
                .map_err(|e| e.to_string())?;
        // The loader checked that every operator of the channel is in the number plan.
        let operator = settings.operators.first().cloned().unwrap_or_default();
        let plan = config.operators.get(&operator);
        let currency = plan
            .and_then(|o| o.currencies.first())
            .and_then(|c| Currency::parse(c))
            .ok_or_else(|| format!("operator '{operator}' has no currency"))?;
        let phone = match &args.phone {
            Some(p) => parse_phone(p, "--phone")?,
            None => {
                let prefix = plan
                    .and_then(|o| o.prefixes.first())
                    .ok_or_else(|| format!("operator '{operator}' has no prefix: give --phone"))?;
                parse_phone(&test_number(prefix), "the default test number")?
            }
        };
        let refuse_phone = args
            .refuse_phone
            .as_deref()
            .map(|p| parse_phone(p, "--refuse-phone"))
            .transpose()?;
        let amount = Amount::positive(args.amount)
            .map_err(|e| format!("--amount {}: {e:?}", args.amount))?;
        let t = settings.timeouts;
        // A call may take a token request and one retry after a 401: four requests at most.
        let deadline = Duration::from_millis((t.connect_ms + t.request_ms) * 4);
        Ok(Script {
            id: id.to_owned(),
            header: format!(
                "channel {id} (adapter {}) at {}",
                settings.adapter,
                shown_url(&settings.base_url)
            ),
            adapter,
            capabilities,
            has_callback,
            operator,
            currency,
            amount,
            phone,
            refuse_phone,
            deadline,
            secrets: mask::secrets_of(settings),
        })
    }

    /// Runs every step in order; returns the header line and one row per step.
    pub async fn run(self) -> (String, Vec<StepReport>) {
        let mut rows = vec![self.token().await];
        let (row, payment) = self.payment().await;
        rows.push(row);
        rows.push(self.status(payment).await);
        rows.push(self.refusal().await);
        rows.push(self.callbacks().await);
        (self.header.clone(), rows)
    }

    /// One adapter call under the step deadline, with every upstream exchange it made.
    async fn call<T>(
        &self,
        f: impl Future<Output = Result<T, AdapterError>>,
    ) -> (Result<T, Failed>, Vec<Exchange>) {
        let (result, exchanges) = recording(tokio::time::timeout(self.deadline, f)).await;
        let result = match result {
            Ok(r) => r.map_err(Failed::Upstream),
            Err(_) => Err(Failed::Deadline(self.deadline)),
        };
        (result, exchanges)
    }

    fn row(&self, name: &'static str, outcome: Outcome, exchanges: &[Exchange]) -> StepReport {
        let answers = match outcome {
            Outcome::Fail(_) => exchanges
                .iter()
                .map(|x| mask::exchange(x, &self.secrets))
                .collect(),
            _ => Vec::new(),
        };
        StepReport {
            name,
            outcome,
            answers,
        }
    }

    fn record(&self, msisdn: &Msisdn) -> PaymentRecord {
        let now = Utc::now();
        let request = NewPayment {
            merchant_id: "channel-check".into(),
            flow: PaymentFlow::OneStep,
            msisdn: msisdn.clone(),
            payment_amount: PaymentAmount {
                charging_information: ChargingInformation {
                    amount: self.amount,
                    currency: self.currency.clone(),
                    description: "Switchboard channel check".into(),
                    is_tax_included: None,
                    tax_amount: None,
                },
                charging_meta_data: None,
                payment_details: None,
            },
            reference_code: format!("check-{}", uuid::Uuid::new_v4()),
            client_correlator: None,
            sink: None,
            sink_credential: None,
            correlator: None,
        };
        let mut record = PaymentRecord::claimed(request, self.operator.clone(), now, now);
        record.channel_id = Some(self.id.clone());
        record
    }

    async fn token(&self) -> StepReport {
        let (result, exchanges) = self.call(self.adapter.fetch_token()).await;
        let outcome = match result {
            Ok(()) => Outcome::Pass("access token issued".into()),
            Err(Failed::Upstream(AdapterError::Unsupported(_))) => {
                Outcome::Skip("this style has no separate token call".into())
            }
            Err(e) => Outcome::Fail(e.to_string()),
        };
        self.row("token", outcome, &exchanges)
    }

    async fn payment(&self) -> (StepReport, Option<PaymentRecord>) {
        if !self.capabilities.contains(Capability::Payment) {
            let skip = Outcome::Skip("the channel does not do 1-step payments".into());
            return (self.row("payment", skip, &[]), None);
        }
        let mut record = self.record(&self.phone);
        let (result, exchanges) = self.call(self.adapter.create_payment(&record)).await;
        let (outcome, record) = match result {
            Ok(up)
                if matches!(
                    up.status,
                    PaymentStatus::Succeeded | PaymentStatus::Processing
                ) =>
            {
                let id = up.upstream_id.clone().unwrap_or_else(|| "none".into());
                record.apply_upstream(&up, Utc::now());
                let note = format!(
                    "{} {} {}: {}, upstream id {id}",
                    self.amount,
                    self.currency,
                    self.phone.masked(),
                    up.status
                );
                (Outcome::Pass(note), Some(record))
            }
            Ok(up) => {
                let reason = up.denial_reason.unwrap_or_default();
                let fail = format!(
                    "a 1-step payment to the test number answered {} {reason}",
                    up.status
                );
                (Outcome::Fail(fail.trim_end().to_owned()), None)
            }
            Err(e) => (Outcome::Fail(e.to_string()), None),
        };
        (self.row("payment", outcome, &exchanges), record)
    }

    async fn status(&self, payment: Option<PaymentRecord>) -> StepReport {
        if !self.capabilities.contains(Capability::PaymentStatus) {
            let skip = Outcome::Skip("the channel does not do status queries".into());
            return self.row("status", skip, &[]);
        }
        let Some(record) = payment else {
            return self.row("status", Outcome::Skip("no payment to query".into()), &[]);
        };
        let (result, exchanges) = self.call(self.adapter.payment_status(&record)).await;
        let outcome = match result {
            Ok(up) => Outcome::Pass(format!("{}", up.status)),
            Err(Failed::Upstream(AdapterError::NotFound)) => {
                Outcome::Fail("the upstream does not know the payment it just took".into())
            }
            Err(e) => Outcome::Fail(e.to_string()),
        };
        self.row("status", outcome, &exchanges)
    }

    async fn refusal(&self) -> StepReport {
        let Some(msisdn) = &self.refuse_phone else {
            return self.row(
                "refusal",
                Outcome::Skip("no --refuse-phone given".into()),
                &[],
            );
        };
        if !self.capabilities.contains(Capability::Payment) {
            let skip = Outcome::Skip("the channel does not do 1-step payments".into());
            return self.row("refusal", skip, &[]);
        }
        let record = self.record(msisdn);
        let (result, exchanges) = self.call(self.adapter.create_payment(&record)).await;
        let outcome = match result {
            Err(Failed::Upstream(AdapterError::Refused(e))) => {
                Outcome::Pass(format!("refused: {} ({})", e.code.as_str(), e.message))
            }
            Ok(up) if up.status == PaymentStatus::Denied => {
                Outcome::Pass(format!("denied: {}", up.denial_reason.unwrap_or_default()))
            }
            Ok(up) => Outcome::Fail(format!("accepted ({}): expected a refusal", up.status)),
            Err(e) => Outcome::Fail(format!("expected a business refusal, got: {e}")),
        };
        self.row("refusal", outcome, &exchanges)
    }

    async fn callbacks(&self) -> StepReport {
        if !self.has_callback {
            let skip = "no callback address (set server.public_url to check the registration)";
            return self.row("callbacks", Outcome::Skip(skip.into()), &[]);
        }
        let (result, exchanges) = self.call(self.adapter.register_callbacks()).await;
        let outcome = match result {
            Ok(()) if exchanges.is_empty() => {
                Outcome::Skip("the style sends its callback address with each request".into())
            }
            Ok(()) => Outcome::Pass("callback address registered".into()),
            Err(e) => Outcome::Fail(e.to_string()),
        };
        self.row("callbacks", outcome, &exchanges)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_test_numbers_fall_in_the_prefix_and_end_in_01() {
        assert_eq!(test_number("+3934"), "+393400000001");
        assert_eq!(test_number("+79"), "+790000000001");
        assert!(Msisdn::parse(&test_number("+9476")).is_some());
    }

    #[test]
    fn the_header_shows_no_user_info() {
        assert_eq!(
            shown_url("https://u:p@api.example/v1"),
            "https://api.example/v1"
        );
    }
}
