//! End-to-end: the real gateway and the real sandbox over HTTP, every response held against
//! Switchboard's OpenAPI document. Every scenario runs on each store backend: memory (one test per
//! scenario), a single Redis and a 3-master Redis Cluster (one suite test each, scenarios in parallel).

mod admin_api;
mod admin_control;
mod auth;
mod dcb;
mod errors;
mod faults;
mod ideabiz;
mod idempotency;
mod limits;
mod observe;
mod one_step;
mod prometheus;
mod reads;
mod redis_store;
mod refunds;
mod routing;
mod suite;
mod three_legged;
mod topup;
mod two_step;
mod webhooks;

use serde_json::Value;
use switchboard_tests::CARRIER_BILLING;

/// Asserts a CAMARA error: status, code, body schema (with the operation's documented codes), and
/// the `x-correlator` header.
pub async fn assert_error(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "status for {code}");
    assert!(
        res.headers().contains_key("x-correlator"),
        "errors carry x-correlator"
    );
    let path = res.url().path().to_string();
    let body = switchboard_tests::body_of(res).await;
    CARRIER_BILLING.check("ErrorInfo", &body);
    if path.starts_with("/carrier-billing/") {
        CARRIER_BILLING.check_response(&path, status, &body);
    }
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    body
}

/// Declares every scenario once: a memory test per scenario, plus the list the Redis suites run.
macro_rules! scenarios {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod memory {
            use switchboard_tests::Env;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::$module::$name(Env::memory()).await;
                }
            )*
        }

        /// Every scenario by name, for the suites that run them all on one store.
        pub fn all() -> Vec<suite::Scenario> {
            vec![$(
                (concat!(stringify!($module), "::", stringify!($name)), |env| Box::pin($module::$name(env))),
            )*]
        }
    };
}

scenarios! {
    admin_api::operators_and_channels_show_the_configuration_and_live_figures,
    admin_api::the_route_test_explains_number_plan_and_mnp_routes,
    admin_control::ops_pause_a_channel_and_the_audit_log_says_who,
    auth::token_by_basic_or_form_and_refusals,
    auth::missing_bad_and_foreign_tokens_are_unauthenticated,
    auth::every_operation_checks_its_scope,
    auth::tokens_are_eddsa_jwts_verifiable_with_the_published_jwks,
    auth::expired_tampered_and_wrong_audience_tokens_are_unauthenticated,
    auth::signing_keys_rotate_without_cutting_off_issued_tokens,
    auth::hashed_and_plain_development_secrets,
    auth::merchants_are_limited_to_their_operators_and_countries,
    three_legged::ciba_pending_then_approved_gives_a_phone_bound_token,
    three_legged::ciba_refusals_expiry_and_bad_requests,
    three_legged::phone_bound_tokens_apply_the_identifier_rules_everywhere,
    errors::malformed_and_mistyped_bodies_name_the_problem,
    errors::duplicate_json_keys_are_refused_and_change_nothing,
    errors::money_rules,
    errors::phone_number_rules,
    errors::sink_rules_and_storage,
    errors::x_correlator_is_validated_and_always_echoed,
    errors::health_readiness_and_openapi_document,
    errors::protocol_errors_have_the_camara_shape,
    idempotency::an_identical_retry_replays_the_original,
    idempotency::concurrent_identical_requests_reach_the_operator_once,
    idempotency::the_same_correlator_with_another_body_is_refused,
    idempotency::a_repeated_reference_code_without_correlator_is_a_conflict,
    idempotency::a_refusal_is_replayed_and_the_reference_stays_usable,
    idempotency::prepare_is_idempotent_too,
    dcb::vodafone_it_payments_and_refunds_go_through_the_declarative_channel,
    dcb::aggregator_refusals_map_to_camara_codes,
    dcb::aggregator_5xx_slow_and_pending_answers_settle_with_one_charge,
    ideabiz::dialog_payments_go_through_the_ideabiz_platform,
    ideabiz::platform_refusals_map_to_camara_codes,
    ideabiz::two_step_is_not_offered_by_ideabiz_operators,
    ideabiz::a_platform_502_is_settled_without_double_charge,
    ideabiz::the_declarative_dialog_channel_passes_the_same_scenarios,
    one_step::sync_operator_charges_once_and_answers_succeeded,
    one_step::async_operator_answers_processing_then_reconciliation_settles_it,
    one_step::definite_refusals_are_errors_and_create_nothing,
    one_step::upstream_500_is_an_unknown_outcome_settled_without_double_charge,
    one_step::upstream_slower_than_the_deadline_is_settled_to_its_single_charge,
    one_step::async_success_and_async_denial,
    reads::lists_filter_sort_and_paginate,
    reads::list_errors,
    reads::merchants_never_see_each_other,
    routing::an_unreachable_operator_is_503_and_the_request_can_be_retried,
    routing::a_channel_that_was_not_reached_falls_back_to_the_next,
    routing::with_every_circuit_open_a_new_payment_is_503_with_retry_after,
    faults::a_failing_channel_set_through_the_sandbox_admin_api_is_left_and_rejoined,
    faults::slow_and_flapping_channels_cost_no_payment_and_no_double_charge,
    topup::lookup_finds_operator_line_type_and_what_it_can_buy,
    topup::catalogue_is_merged_filtered_and_served_from_cache,
    topup::the_seed_examples_work_verbatim,
    topup::allow_lists_apply_to_lookup_and_esim_orders,
    topup::a_top_up_is_credited_once_and_replayed_on_retry,
    topup::amounts_line_types_and_operators_are_checked_before_anything_is_sent,
    topup::pending_unknown_and_failed_top_ups_settle_correctly,
    topup::esim_orders_return_an_activation_code,
    topup::esim_orders_are_idempotent_on_the_merchant_order_id,
    topup::an_esim_order_whose_answer_was_lost_is_sent_again_under_its_reference,
    topup::top_up_scopes_are_enforced,
    topup::mnp_overrides_route_payments_and_lookups,
    topup::top_ups_fail_over_only_when_the_primary_provably_did_nothing,
    topup::concurrent_identical_top_ups_credit_once,

    two_step::prepare_then_confirm_charges_once,
    two_step::async_operator_confirmation_settles_through_reconciliation,
    two_step::cancel_releases_the_reservation,
    two_step::otp_validation_flow,
    two_step::three_wrong_codes_deny_the_payment,
    two_step::an_expired_reservation_becomes_cancelled,
    two_step::confirm_and_cancel_apply_the_identifier_rules,
    two_step::one_step_payments_cannot_be_confirmed,
    refunds::a_total_refund_returns_everything_and_ends_refunds,
    refunds::partial_refunds_add_up_to_the_payment_then_422,
    refunds::remaining_amount_counts_processing_refunds,
    refunds::only_succeeded_payments_are_refundable,
    refunds::refund_details_taxes_and_currency_must_match_the_payment,
    refunds::payments_over_a_channel_without_refunds_are_not_eligible,
    refunds::another_merchants_payment_and_refunds_are_not_found,
    refunds::refund_lists_filter_and_paginate,
    refunds::an_identical_refund_retry_replays_the_original,
    refunds::concurrent_partial_refunds_never_exceed_the_payment,
    refunds::refund_scopes_and_phone_bound_callers,

    limits::concurrent_payments_never_exceed_the_monthly_limit,
    limits::over_the_per_payment_limit_is_an_unauthorized_amount,
    limits::a_cancelled_reservation_and_a_denial_give_the_amount_back,
    limits::a_merchant_over_its_rate_limit_gets_429_then_recovers,
    limits::a_channel_over_its_quota_is_503_and_nothing_is_sent,
    limits::a_replay_is_answered_while_the_channel_quota_is_used_up,
    limits::payment_creates_count_against_the_merchant_rate_limit,

    webhooks::async_outcome_reaches_the_sink_signed_through_the_operator_callback,
    webhooks::a_sink_that_is_down_gets_every_event_in_order_once_it_is_up,
    webhooks::a_410_stops_deliveries_to_that_sink,
    webhooks::exhausted_deliveries_become_dead_letters_and_replay_with_the_same_id,
    webhooks::callbacks_are_verified_and_the_state_machine_decides,
    webhooks::ssrf_destinations_are_refused_when_not_allow_listed,
    webhooks::undeliverable_sinks_are_refused_at_create_prepare_and_refund,
    webhooks::top_up_endpoints_receive_signed_topup_events,
    webhooks::reconciliation_gives_up_after_max_age_and_lists_for_review,
    webhooks::refund_outcomes_reach_the_sink_after_the_payment_events,
}

/// Every scenario on one single-node Redis started for this test (each gateway in its own namespace).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_suite() {
    let redis = switchboard_store::testing::RedisServer::start();
    suite::run_all(switchboard_tests::Env::redis(redis.url())).await;
}

/// Every scenario on a 3-master Redis Cluster started for this test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_suite() {
    let cluster = switchboard_store::testing::RedisCluster::start();
    suite::run_all(switchboard_tests::Env::cluster(cluster.nodes())).await;
}
