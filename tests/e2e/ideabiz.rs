//! The same CAMARA front API over an Ideabiz-style platform (Dialog LK): tel: numbers, the platform's
//! error messages mapped to CAMARA codes, 1-step only. Every scenario also runs with the Dialog LK
//! channel described by data instead (`adapters/declarative/examples/dialog_lk_ideabiz.toml`).

use serde_json::Value;
use switchboard_adapter::testing::channel_file;
use switchboard_tests::{body_of, Env, TestGateway, Timing, CARRIER_BILLING};

use crate::assert_error;

fn lkr(phone: &str) -> Value {
    let mut body = TestGateway::body(phone, 150.0);
    body["amountTransaction"]["paymentAmount"]["chargingInformation"]["currency"] = "LKR".into();
    body
}

pub async fn dialog_payments_go_through_the_ideabiz_platform(env: Env) {
    dialog_payments_go_through_the_ideabiz_platform_on(env.start().await).await;
}

async fn dialog_payments_go_through_the_ideabiz_platform_on(gw: TestGateway) {
    let token = gw.demo_token().await;
    let res = gw.create(&token, &lkr("+94771234501")).await;
    let status = res.status();
    let created = body_of(res).await;
    assert_eq!(status, 201, "{created}");
    CARRIER_BILLING.check("PaymentCreated", &created);
    assert_eq!(created["paymentStatus"], "succeeded");
    assert_eq!(
        created["amountTransaction"]["phoneNumber"], "+94771234501",
        "E.164 towards the merchant"
    );
    let id = created["paymentId"].as_str().unwrap().to_string();
    assert_eq!(gw.charges_for_payment(&id), 1);
    assert_eq!(gw.status_of(&token, &id).await, "succeeded");
    gw.stop().await;
}

pub async fn platform_refusals_map_to_camara_codes(env: Env) {
    platform_refusals_map_to_camara_codes_on(env.start().await).await;
}

async fn platform_refusals_map_to_camara_codes_on(gw: TestGateway) {
    let token = gw.demo_token().await;
    let cases = [
        ("+94771234580", 403, "CARRIER_BILLING.PAYMENT_DENIED"),
        ("+94771234581", 422, "CARRIER_BILLING.UNAUTHORIZED_AMOUNT"),
        ("+94771234582", 404, "IDENTIFIER_NOT_FOUND"),
        ("+94771234583", 403, "CARRIER_BILLING.PAYMENT_DENIED"),
    ];
    for (phone, status, code) in cases {
        assert_error(gw.create(&token, &lkr(phone)).await, status, code).await;
    }
    assert_eq!(gw.sandbox().total_charges(), 0);
    gw.stop().await;
}

pub async fn two_step_is_not_offered_by_ideabiz_operators(env: Env) {
    two_step_is_not_offered_by_ideabiz_operators_on(env.start().await).await;
}

async fn two_step_is_not_offered_by_ideabiz_operators_on(gw: TestGateway) {
    let token = gw.demo_token().await;
    let err = assert_error(
        gw.prepare(&token, &lkr("+94771234502")).await,
        422,
        "SERVICE_NOT_APPLICABLE",
    )
    .await;
    assert!(
        err["message"].as_str().unwrap().contains("two-step"),
        "{err}"
    );
    gw.stop().await;
}

pub async fn a_platform_502_is_settled_without_double_charge(env: Env) {
    a_platform_502_is_settled_without_double_charge_on(env.start().await).await;
}

async fn a_platform_502_is_settled_without_double_charge_on(gw: TestGateway) {
    let token = gw.demo_token().await;
    let res = gw.create(&token, &lkr("+94771234584")).await;
    assert_eq!(res.status(), 201);
    let created = body_of(res).await;
    assert_eq!(created["paymentStatus"], "processing");
    let id = created["paymentId"].as_str().unwrap().to_string();
    assert!(gw.wait_for_status(&token, &id, "succeeded").await);
    gw.closing_barrier().await;
    assert_eq!(gw.charges_for_payment(&id), 1);
    assert_eq!(
        gw.sandbox().total_charges(),
        1,
        "at every operator together"
    );
    // The platform bills in LKR only.
    assert_error(
        gw.create(&token, &TestGateway::body("+94771234503", 1.0))
            .await,
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    gw.stop().await;
}

/// The default channel's id; the declarative twin takes its place.
const DIALOG_CHANNEL: &str = "dialog_lk_ideabiz";
const DECLARATIVE_DIALOG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../adapters/declarative/examples/dialog_lk_ideabiz.toml"
);

/// A gateway whose Dialog LK channel is the declarative file instead of the `ideabiz` adapter.
async fn with_declarative_dialog(env: &Env) -> TestGateway {
    env.start_with(Timing::default(), |config| {
        let default = &config.channels[DIALOG_CHANNEL];
        assert_eq!(default.adapter, "ideabiz", "the default stays hand-written");
        let timeouts = default.timeouts;
        let mut twin = channel_file(
            DECLARATIVE_DIALOG,
            DIALOG_CHANNEL,
            "sandbox://dialog-lk".into(),
        );
        twin.timeouts = timeouts;
        config.channels.insert(DIALOG_CHANNEL.into(), twin);
    })
    .await
}

pub async fn the_declarative_dialog_channel_passes_the_same_scenarios(env: Env) {
    dialog_payments_go_through_the_ideabiz_platform_on(with_declarative_dialog(&env).await).await;
    platform_refusals_map_to_camara_codes_on(with_declarative_dialog(&env).await).await;
    two_step_is_not_offered_by_ideabiz_operators_on(with_declarative_dialog(&env).await).await;
    a_platform_502_is_settled_without_double_charge_on(with_declarative_dialog(&env).await).await;
}
