//! Errors that actix answers itself, before or beside our handlers — an over-large body (413), a
//! body the extractor cannot read (400), a wrong media type (415) — come out as plain text. This
//! middleware gives them the CAMARA shape `{status, code, message}`, like every error of ours, and
//! logs them at `debug`: they are the client's mistake, not the gateway's.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::ResponseError;
use switchboard_core::{ApiError, ErrorCode};

use super::HttpError;

/// Rewrites every client-error response that is not already JSON.
pub fn camara_shaped<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler_client(reshape)
}

/// The CAMARA code for a status actix answers on its own.
fn code_for(status: StatusCode) -> Option<ErrorCode> {
    Some(match status.as_u16() {
        400 => ErrorCode::InvalidArgument,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        _ => return None,
    })
}

fn is_json(response: &ServiceResponse<impl MessageBody>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

fn reshape<B: MessageBody + 'static>(
    response: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let code = match code_for(response.status()) {
        Some(code) if !is_json(&response) => code,
        _ => {
            return Ok(ErrorHandlerResponse::Response(
                response.map_into_left_body(),
            ))
        }
    };
    tracing::debug!(
        status = response.status().as_u16(),
        route = response
            .request()
            .match_pattern()
            .as_deref()
            .unwrap_or("unmatched"),
        "client request refused by the HTTP layer"
    );
    let (request, original) = response.into_parts();
    let mut shaped = HttpError(ApiError::of(code)).error_response();
    for (name, value) in original.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            shaped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    let shaped: actix_web::HttpResponse<EitherBody<B, BoxBody>> = shaped.map_into_right_body();
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(
        request, shaped,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{test, web, App, HttpResponse};

    async fn echo(body: web::Bytes) -> HttpResponse {
        HttpResponse::Ok().body(body)
    }

    #[actix_web::test]
    async fn an_over_large_body_is_a_camara_413() {
        let app = test::init_service(
            App::new()
                .wrap(camara_shaped())
                .app_data(web::PayloadConfig::new(16))
                .route("/echo", web::post().to(echo)),
        )
        .await;
        let request = test::TestRequest::post()
            .uri("/echo")
            .set_payload(vec![b'x'; 64])
            .to_request();
        let response = test::call_service(&app, request).await;
        assert_eq!(response.status(), 413);
        let body: serde_json::Value = test::read_body_json(response).await;
        assert_eq!(body["status"], 413);
        assert_eq!(body["code"], "PAYLOAD_TOO_LARGE");

        let small = test::TestRequest::post()
            .uri("/echo")
            .set_payload("ok")
            .to_request();
        assert_eq!(test::call_service(&app, small).await.status(), 200);
    }

    #[actix_web::test]
    async fn our_own_json_errors_pass_through_unchanged() {
        async fn own() -> Result<HttpResponse, HttpError> {
            Err(HttpError(ApiError::invalid_argument(
                "amount: must be positive",
            )))
        }
        let app = test::init_service(
            App::new()
                .wrap(camara_shaped())
                .route("/own", web::get().to(own)),
        )
        .await;
        let response =
            test::call_service(&app, test::TestRequest::get().uri("/own").to_request()).await;
        let body: serde_json::Value = test::read_body_json(response).await;
        assert_eq!(body["message"], "amount: must be positive");
    }
}
