//! One attempt: headers, signature, no redirects, 410 / Retry-After, the SSRF guard and TLS trust.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use switchboard_store::{Delivery, Endpoint};
use switchboard_tests::{Receiver, Reply, Respond};
use switchboard_webhooks::{AllowList, Attempt, Sender, SenderConfig};

use crate::{loopback, sender_for, PATIENCE, SECRET};

fn delivery(url: &str) -> Delivery {
    let at = Utc::now();
    Delivery {
        id: "dlv-1".into(),
        event_id: "evt-6c1e".into(),
        event_type: "org.camaraproject.carrier-billing.v0.payment-completed".into(),
        merchant_id: "m1".into(),
        subject: "payment:p1".into(),
        created_at: at,
        correlator: Some("corr-42".into()),
        body: r#"{"id":"evt-6c1e","data":{"paymentId":"p1","status":"succeeded"}}"#.into(),
        endpoint: Endpoint {
            id: format!("sink:{url}"),
            url: url.into(),
            bearer: Some("tok-secret-123".into()),
            bearer_expires_at: None,
        },
        attempts: 0,
        next_attempt_at: at,
        last_error: None,
    }
}

#[tokio::test]
async fn sends_the_exact_body_signed_with_bearer_and_correlator() {
    let receiver = Receiver::start(204).await;
    let sender = sender_for(&receiver);
    let d = delivery(&receiver.url("/notify?shop=7"));
    let now = Utc::now();
    let report = sender.send(&d, Some(SECRET), now).await;
    assert_eq!(report.attempt, Attempt::Status(204), "{report:?}");
    assert!(report.delivered());
    assert_eq!(report.error, None);

    let req = receiver.wait_for(1, PATIENCE).await.remove(0);
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/notify?shop=7");
    assert_eq!(req.body, d.body.as_bytes());
    assert_eq!(
        req.header("content-type"),
        Some("application/cloudevents+json")
    );
    assert_eq!(req.header("webhook-id"), Some("evt-6c1e"));
    assert_eq!(
        req.header("webhook-timestamp"),
        Some(now.timestamp().to_string().as_str())
    );
    assert!(req.header("webhook-signature").unwrap().starts_with("v1,"));
    assert_eq!(req.header("authorization"), Some("Bearer tok-secret-123"));
    assert_eq!(req.header("x-correlator"), Some("corr-42"));
    assert!(req.header("user-agent").unwrap().starts_with("Switchboard"));
    assert_eq!(req.verify_signature(SECRET), Ok(()));
    assert!(req
        .verify_signature("whsec_dGhpcyBpcyBhbm90aGVyIGtleQ==")
        .is_err());
}

#[tokio::test]
async fn without_a_secret_the_delivery_is_unsigned_and_without_a_bearer_none_is_sent() {
    let receiver = Receiver::start(200).await;
    let mut d = delivery(&receiver.url("/cb"));
    d.endpoint.bearer = None;
    d.correlator = None;
    let report = sender_for(&receiver).send(&d, None, Utc::now()).await;
    assert_eq!(report.attempt, Attempt::Status(200));
    let req = receiver.wait_for(1, PATIENCE).await.remove(0);
    assert_eq!(req.header("webhook-id"), Some("evt-6c1e"));
    assert!(req.header("webhook-timestamp").is_some());
    assert_eq!(req.header("webhook-signature"), None);
    assert_eq!(req.header("authorization"), None);
    assert_eq!(req.header("x-correlator"), None);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let receiver = Receiver::start(204).await;
    receiver.set(Reply::redirect(302, receiver.url("/elsewhere")));
    let report = sender_for(&receiver)
        .send(&delivery(&receiver.url("/cb")), Some(SECRET), Utc::now())
        .await;
    assert_eq!(report.attempt, Attempt::Status(302));
    assert!(!report.delivered());
    let error = report.error.unwrap();
    assert!(
        error.contains("302") && error.contains("redirect"),
        "{error}"
    );
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1, "the redirect was not followed");
    assert_eq!(requests[0].path, "/cb");
}

#[tokio::test]
async fn gone_and_retry_after_are_reported() {
    let receiver = Receiver::start(Respond::replies(vec![
        Reply::status(410),
        Reply::retry_after(429, "120"),
        Reply::retry_after(503, "Wed, 21 Oct 2015 07:30:00 GMT"),
        Reply::retry_after(503, "soon"),
    ]))
    .await;
    let sender = sender_for(&receiver);
    let d = delivery(&receiver.url("/cb"));

    let gone = sender.send(&d, Some(SECRET), Utc::now()).await;
    assert_eq!(gone.attempt, Attempt::Status(410));
    assert_eq!(gone.retry_after, None);

    let throttled = sender.send(&d, Some(SECRET), Utc::now()).await;
    assert_eq!(throttled.attempt, Attempt::Status(429));
    assert_eq!(throttled.retry_after, Some(Duration::from_secs(120)));

    let at = Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).unwrap();
    let dated = sender.send(&d, Some(SECRET), at).await;
    assert_eq!(dated.attempt, Attempt::Status(503));
    assert_eq!(dated.retry_after, Some(Duration::from_secs(120)));

    let unreadable = sender.send(&d, Some(SECRET), Utc::now()).await;
    assert_eq!(unreadable.attempt, Attempt::Status(503));
    assert_eq!(unreadable.retry_after, None);
    assert_eq!(receiver.count(), 4);
}

#[tokio::test]
async fn forbidden_addresses_are_refused_before_any_request() {
    let receiver = Receiver::start(204).await;
    let mut hosts = BTreeMap::new();
    hosts.insert(
        "merchant.test".to_string(),
        vec!["10.0.0.5".parse().unwrap()],
    );
    hosts.insert(
        "receiver.test".to_string(),
        vec!["127.0.0.1".parse().unwrap()],
    );
    let guarded = Sender::new(SenderConfig {
        allow: AllowList::default(),
        extra_ca_pem: Some(receiver.ca_pem().as_bytes().to_vec()),
        hosts,
        timeout: Duration::from_secs(5),
        ..SenderConfig::default()
    })
    .unwrap();
    let port = receiver.port();
    let cases = [
        (receiver.url("/x"), "127.0.0.1"),
        (
            "https://169.254.169.254/latest/meta-data".to_string(),
            "169.254.169.254",
        ),
        (
            format!("https://merchant.test:{port}/x?k=v"),
            "merchant.test",
        ),
        (
            receiver.url_with_host("receiver.test", "/x"),
            "receiver.test",
        ),
        (receiver.url_with_host("localhost", "/x"), "localhost"),
        (
            format!("https://[::ffff:127.0.0.1]:{port}/x"),
            "::ffff:7f00:1",
        ),
    ];
    for (url, host) in &cases {
        let report = guarded.send(&delivery(url), Some(SECRET), Utc::now()).await;
        assert_eq!(report.attempt, Attempt::Network, "{url}");
        let error = report.error.unwrap();
        assert!(
            error.starts_with(&format!("address not allowed: {host}")),
            "{url}: {error}"
        );
        assert!(!error.contains("k=v"), "no query string in errors: {error}");
    }
    assert_eq!(
        receiver.count(),
        0,
        "no request reached the receiver: {:?}",
        receiver.requests()
    );

    // The same receiver, allow-listed, gets the request.
    let report = sender_for(&receiver)
        .send(&delivery(&receiver.url("/x")), Some(SECRET), Utc::now())
        .await;
    assert_eq!(report.attempt, Attempt::Status(204), "{report:?}");
    assert_eq!(receiver.wait_for(1, PATIENCE).await.len(), 1);
}

#[tokio::test]
async fn plain_http_only_for_an_allow_listed_host() {
    let receiver = Receiver::start_http(204).await;
    let d = delivery(&receiver.url("/cb"));
    let https_only = Sender::new(SenderConfig {
        allow: AllowList::parse(&["10.0.0.0/8"]).unwrap(),
        ..SenderConfig::default()
    })
    .unwrap();
    let refused = https_only.send(&d, Some(SECRET), Utc::now()).await;
    assert_eq!(refused.attempt, Attempt::Network);
    assert!(refused.error.unwrap().contains("https"));
    assert_eq!(receiver.count(), 0);

    let allowed = Sender::new(SenderConfig {
        allow: loopback(),
        ..SenderConfig::default()
    })
    .unwrap();
    let report = allowed.send(&d, Some(SECRET), Utc::now()).await;
    assert_eq!(report.attempt, Attempt::Status(204), "{report:?}");
    assert_eq!(receiver.count(), 1);
}

#[tokio::test]
async fn an_unknown_certificate_authority_fails_tls() {
    let receiver = Receiver::start(204).await;
    let no_extra_ca = Sender::new(SenderConfig {
        allow: loopback(),
        timeout: Duration::from_secs(5),
        ..SenderConfig::default()
    })
    .unwrap();
    let report = no_extra_ca
        .send(&delivery(&receiver.url("/cb")), Some(SECRET), Utc::now())
        .await;
    assert_eq!(report.attempt, Attempt::Network);
    let error = report.error.unwrap();
    assert!(
        error.to_ascii_lowercase().contains("certificate"),
        "{error}"
    );
    assert!(!error.contains("/cb"), "no URL path in errors: {error}");
    assert_eq!(receiver.count(), 0);
}

#[tokio::test]
async fn no_answer_in_time_is_a_timeout() {
    let receiver = Receiver::start(Respond::hang()).await;
    let impatient = Sender::new(SenderConfig {
        allow: loopback(),
        extra_ca_pem: Some(receiver.ca_pem().as_bytes().to_vec()),
        timeout: Duration::from_millis(300),
        ..SenderConfig::default()
    })
    .unwrap();
    let report = impatient
        .send(&delivery(&receiver.url("/cb")), Some(SECRET), Utc::now())
        .await;
    assert_eq!(report.attempt, Attempt::Timeout, "{report:?}");
    assert_eq!(receiver.count(), 1);
    assert_eq!(receiver.requests()[0].answered, None);
}

/// `https://0x7f000002/` is 127.0.0.2 to the HTTP client; with loopback allowed only as 127.0.0.1 it
/// is refused and no TCP connection is opened. A listener on 127.0.0.2 proves it: the kernel queues a
/// completed handshake before `send` could return, so a non-blocking accept afterwards sees any
/// connection that was made (the allow-listed control below does see one).
#[tokio::test]
async fn another_spelling_of_a_forbidden_address_opens_no_connection() {
    let listener = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let only_one = Sender::new(SenderConfig {
        allow: AllowList::parse(&["127.0.0.1"]).unwrap(),
        timeout: Duration::from_secs(5),
        ..SenderConfig::default()
    })
    .unwrap();
    for url in [
        format!("https://0x7f000002:{port}/cb"),
        format!("https://2130706434:{port}/cb"),
        format!("https://0177.0.0.2:{port}/cb"),
        format!("HTTPS://127.2:{port}/cb"),
    ] {
        let report = only_one
            .send(&delivery(&url), Some(SECRET), Utc::now())
            .await;
        assert_eq!(report.attempt, Attempt::Network, "{url}");
        let error = report.error.unwrap();
        assert!(
            error.starts_with("address not allowed: 127.0.0.2"),
            "{url}: {error}"
        );
        assert_eq!(
            listener.accept().map(|_| ()).unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock,
            "{url} opened a connection"
        );
    }

    // Control: with 127.0.0.2 allowed the same spelling connects (and then times out: nobody answers).
    let allowed = Sender::new(SenderConfig {
        allow: AllowList::parse(&["127.0.0.2"]).unwrap(),
        timeout: Duration::from_millis(500),
        ..SenderConfig::default()
    })
    .unwrap();
    let url = format!("http://0x7f000002:{port}/cb");
    let report = allowed
        .send(&delivery(&url), Some(SECRET), Utc::now())
        .await;
    assert_eq!(report.attempt, Attempt::Timeout, "{report:?}");
    assert!(listener.accept().is_ok(), "the control connected");
}
