//! One path and every method it answers, registered together so that any other method on a known
//! path is 405 `METHOD_NOT_ALLOWED` with `Allow`, not a 404 that says the resource does not exist.
//!
//! Registering a path with `cfg.route(...)` once per method makes one actix resource per method; a
//! request whose method matches none of them falls through to the app's 404. An [`Endpoint`] is one
//! resource holding all the routes, whose own default service answers the 405.

use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::http::{header, Method};
use actix_web::{
    web, FromRequest, Handler, HttpResponse, Resource, Responder, ResponseError, Route,
};
use switchboard_core::{ApiError, ErrorCode};

use super::HttpError;

pub struct Endpoint {
    resource: Resource,
    allow: Vec<Method>,
}

macro_rules! method {
    ($name:ident, $method:ident, $route:ident) => {
        pub fn $name<F, Args>(self, handler: F) -> Self
        where
            F: Handler<Args>,
            Args: FromRequest + 'static,
            F::Output: Responder + 'static,
        {
            self.on(Method::$method, web::$route().to(handler))
        }
    };
}

impl Endpoint {
    pub fn at(path: &str) -> Self {
        Endpoint {
            resource: web::resource(path),
            allow: Vec::new(),
        }
    }

    method!(get, GET, get);
    method!(post, POST, post);
    method!(put, PUT, put);
    method!(patch, PATCH, patch);
    method!(delete, DELETE, delete);

    fn on(mut self, method: Method, route: Route) -> Self {
        self.allow.push(method);
        self.resource = self.resource.route(route);
        self
    }
}

impl HttpServiceFactory for Endpoint {
    fn register(self, config: &mut AppService) {
        let allow = self
            .allow
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        self.resource
            .default_service(web::to(move || {
                let allow = allow.clone();
                async move { method_not_allowed(&allow) }
            }))
            .register(config)
    }
}

fn method_not_allowed(allow: &str) -> HttpResponse {
    let mut response = HttpError(ApiError::of(ErrorCode::MethodNotAllowed)).error_response();
    if let Ok(value) = header::HeaderValue::from_str(allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{test, App};

    async fn ok() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    #[actix_web::test]
    async fn a_known_path_with_another_method_is_405_naming_the_allowed_ones() {
        let app =
            test::init_service(App::new().service(Endpoint::at("/things/{id}").get(ok).delete(ok)))
                .await;
        let get = test::TestRequest::get().uri("/things/1").to_request();
        assert_eq!(test::call_service(&app, get).await.status(), 200);

        let post = test::TestRequest::post().uri("/things/1").to_request();
        let response = test::call_service(&app, post).await;
        assert_eq!(response.status(), 405);
        assert_eq!(
            response.headers().get(header::ALLOW).unwrap(),
            "GET, DELETE"
        );
        let body: serde_json::Value = test::read_body_json(response).await;
        assert_eq!(body["status"], 405);
        assert_eq!(body["code"], "METHOD_NOT_ALLOWED");
    }
}
