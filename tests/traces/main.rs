//! OpenTelemetry traces end to end: a real OTLP/HTTP receiver (the test [`Receiver`], decoding the
//! protobuf export requests), a gateway exporting to it, a payment carrying a merchant's
//! `traceparent`. Its own test binary: the tracing subscriber is process-wide.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use switchboard_gateway::telemetry::{self, TelemetryConfig};
use switchboard_tests::{eventually, Receiver, Respond, TestGateway, Timing};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const MERCHANT_SPAN: &str = "00f067aa0ba902b7";
const PHONE: &str = "+34600000001";
/// The async operator (its callback settles, then the worker notifies the sink).
const WEBHOOK_PHONE: &str = "+4915100000001";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn spans(collector: &Receiver) -> Vec<Span> {
    collector
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/traces")
        .flat_map(|r| {
            let request = ExportTraceServiceRequest::decode(r.body.as_slice())
                .expect("an OTLP protobuf export request");
            request
                .resource_spans
                .into_iter()
                .flat_map(|rs| rs.scope_spans)
                .flat_map(|ss| ss.spans)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn attribute_text(span: &Span) -> Vec<String> {
    span.attributes
        .iter()
        .map(|kv| {
            let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Any::StringValue(s)) => s.clone(),
                Some(Any::IntValue(i)) => i.to_string(),
                Some(other) => format!("{other:?}"),
                None => String::new(),
            };
            format!("{}={value}", kv.key)
        })
        .collect()
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a Any> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_is_one_trace_from_the_merchant_to_the_operator() {
    let collector = Receiver::start_http(Respond::status(200)).await;
    let config = TelemetryConfig {
        otlp_endpoint: collector.url(""),
        service_name: "switchboard-test".into(),
        ..TelemetryConfig::default()
    };
    let pipeline = telemetry::init(&config, "off".parse().unwrap()).expect("telemetry starts");
    assert!(telemetry::enabled());

    let sink = Receiver::start(Respond::status(204)).await;
    let gw = TestGateway::start_with(Timing::default(), |c| {
        c.telemetry = config.clone();
        c.webhooks.extra_ca_file = sink.ca_pem_path().display().to_string();
        c.webhooks.poll_ms = 50;
        c.callbacks.secret = switchboard_core::Secret::new("test-callback-secret".to_string());
    })
    .await;
    let token = gw.demo_token().await;
    let res = gw
        .cb(reqwest::Method::POST, "/payments", &token)
        .header("traceparent", format!("00-{TRACE_ID}-{MERCHANT_SPAN}-01"))
        .json(&TestGateway::body(PHONE, 4.5))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    // The operator (sandbox) was called with the merchant's trace id, from a gateway span.
    let sandbox = format!("http://{}/_admin/traceparents", gw.sandbox().addr());
    let seen: serde_json::Value = gw
        .http
        .get(sandbox)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let upstream_parents: Vec<String> = seen["traceparents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .filter(|tp| tp.contains(TRACE_ID))
        .map(str::to_string)
        .collect();
    assert_eq!(upstream_parents.len(), 1, "{seen}");
    let upstream_parent_span = upstream_parents[0].split('-').nth(2).unwrap().to_string();
    assert_ne!(upstream_parent_span, MERCHANT_SPAN);

    pipeline.flush().await;
    let trace = eventually(Duration::from_secs(10), || async {
        let trace: Vec<Span> = spans(&collector)
            .into_iter()
            .filter(|s| hex(&s.trace_id) == TRACE_ID)
            .collect();
        trace
            .iter()
            .any(|s| s.name == "upstream.call")
            .then_some(trace)
    })
    .await
    .expect("the collector received the payment's spans");

    let request = trace
        .iter()
        .find(|s| s.name == "POST /carrier-billing/v0.5/payments")
        .unwrap_or_else(|| panic!("a request span: {:?}", names(&trace)));
    assert_eq!(hex(&request.parent_span_id), MERCHANT_SPAN);
    assert!(
        matches!(
            attribute(request, "http.response.status_code"),
            Some(Any::IntValue(201))
        ),
        "{:?}",
        attribute_text(request)
    );
    assert!(matches!(
        attribute(request, "http.route"),
        Some(Any::StringValue(r)) if r == "/carrier-billing/v0.5/payments"
    ));

    let upstream = trace.iter().find(|s| s.name == "upstream.call").unwrap();
    // The operator's parent is the upstream call's span or one inside it (an adapter's own span).
    let sent_from = trace
        .iter()
        .find(|s| hex(&s.span_id) == upstream_parent_span)
        .unwrap_or_else(|| {
            panic!(
                "the operator's parent span was exported: {:?}",
                names(&trace)
            )
        });
    assert!(sent_from.span_id == upstream.span_id || descends_from(sent_from, upstream, &trace));
    assert!(
        matches!(attribute(upstream, "channel"), Some(Any::StringValue(c)) if c == "movistar_es_sandbox")
    );
    assert!(matches!(attribute(upstream, "result"), Some(Any::StringValue(r)) if r == "ok"));
    assert!(
        descends_from(upstream, request, &trace),
        "{:?}",
        names(&trace)
    );
    for store_step in ["store.claim", "store.save"] {
        let step = trace
            .iter()
            .find(|s| s.name == store_step)
            .unwrap_or_else(|| panic!("{store_step}: {:?}", names(&trace)));
        assert!(descends_from(step, request, &trace));
    }
    // Every store call is a span of its own, inside the step that made it.
    let claim = trace.iter().find(|s| s.name == "store.claim").unwrap();
    let insert = trace
        .iter()
        .find(|s| s.name.starts_with("store.insert_payment"))
        .unwrap_or_else(|| panic!("a store call span: {:?}", names(&trace)));
    assert!(descends_from(insert, claim, &trace));
    assert!(
        matches!(attribute(insert, "db.system"), Some(Any::StringValue(b)) if b == "memory"),
        "{:?}",
        attribute_text(insert)
    );
    assert!(trace.iter().any(|s| s.name == "store.update_payment"));

    webhook_attempts_are_spans_and_carry_their_context(&gw, &token, &sink, &collector, &pipeline)
        .await;

    // No span of any trace (payments, webhook attempts) carries a phone number, in any spelling.
    pipeline.flush().await;
    for span in spans(&collector) {
        for phone in [PHONE, WEBHOOK_PHONE] {
            let digits = phone.trim_start_matches('+');
            for text in attribute_text(&span) {
                assert!(!text.contains(digits), "{} has {text}", span.name);
            }
            assert!(!span.name.contains(digits));
        }
    }

    gw.stop().await;
    pipeline.shutdown().await;
}

/// A notification (the async operator settles through its callback, the worker delivers): the POST
/// to the merchant carries the `traceparent` of its `webhook.attempt` span.
async fn webhook_attempts_are_spans_and_carry_their_context(
    gw: &TestGateway,
    token: &str,
    sink: &Receiver,
    collector: &Receiver,
    pipeline: &telemetry::Telemetry,
) {
    let mut body = TestGateway::body(WEBHOOK_PHONE, 2.5);
    body["sink"] = serde_json::json!(sink.url("/camara/events"));
    let res = gw.create(token, &body).await;
    assert_eq!(res.status(), 201);
    let delivered = sink.wait_for(1, Duration::from_secs(15)).await;
    let traceparent = delivered[0]
        .header("traceparent")
        .expect("the delivery carries a traceparent")
        .to_string();
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceparent}");
    pipeline.flush().await;
    let attempt = eventually(Duration::from_secs(10), || async {
        spans(collector)
            .into_iter()
            .find(|s| s.name == "webhook.attempt" && hex(&s.span_id) == parts[2])
    })
    .await
    .unwrap_or_else(|| panic!("no webhook.attempt span {traceparent}"));
    assert_eq!(hex(&attempt.trace_id), parts[1]);
    assert!(matches!(
        attribute(&attempt, "status"),
        Some(Any::IntValue(204))
    ));
}

fn names(trace: &[Span]) -> Vec<&str> {
    trace.iter().map(|s| s.name.as_str()).collect()
}

fn descends_from(span: &Span, ancestor: &Span, trace: &[Span]) -> bool {
    let mut parent = span.parent_span_id.clone();
    while !parent.is_empty() {
        if parent == ancestor.span_id {
            return true;
        }
        parent = match trace.iter().find(|s| s.span_id == parent) {
            Some(p) => p.parent_span_id.clone(),
            None => return false,
        };
    }
    false
}
