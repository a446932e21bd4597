//! `GET /dashboard`: the routing dashboard for ops, served from the binary. Three embedded files
//! (HTML, one script, one stylesheet; no build step, nothing from a CDN). The page itself is public
//! and holds no data: it asks for the admin token and reads everything from the `/admin/...` API
//! with `Authorization: Bearer`, so the admin token guards the figures exactly as it guards the API.
//!
//! Every asset goes out with a strict Content-Security-Policy: scripts and styles only from this
//! origin (no inline code), requests only to this origin, no frames, no form submissions, no plugins.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::http::Endpoint;

const PAGE: &str = include_str!("index.html");
const SCRIPT: &str = include_str!("dashboard.js");
const STYLE: &str = include_str!("dashboard.css");

/// Where the script and the stylesheet are served (the page names them by these paths).
pub const SCRIPT_PATH: &str = "/dashboard/dashboard.js";
pub const STYLE_PATH: &str = "/dashboard/dashboard.css";

/// The policy of every dashboard response. `img-src data:` is only for the empty favicon.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::at("/dashboard").get(page))
        .service(Endpoint::at(SCRIPT_PATH).get(script))
        .service(Endpoint::at(STYLE_PATH).get(style));
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        // Revalidated on every load, so a new binary's page and script never mix with old ones.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

async fn page() -> HttpResponse {
    asset("text/html; charset=utf-8", PAGE)
}

async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{test as web_test, App};

    async fn get(path: &str) -> (u16, header::HeaderMap, String) {
        let app = web_test::init_service(App::new().configure(routes)).await;
        let res =
            web_test::call_service(&app, web_test::TestRequest::get().uri(path).to_request()).await;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = String::from_utf8(web_test::read_body(res).await.to_vec()).unwrap();
        (status, headers, body)
    }

    #[actix_web::test]
    async fn every_asset_is_served_with_its_type_and_the_strict_policy() {
        for (path, content_type, body) in [
            ("/dashboard", "text/html", PAGE),
            (SCRIPT_PATH, "text/javascript", SCRIPT),
            (STYLE_PATH, "text/css", STYLE),
        ] {
            let (status, headers, served) = get(path).await;
            assert_eq!(status, 200, "{path}");
            assert_eq!(served, body, "{path}");
            let ct = headers.get(header::CONTENT_TYPE).unwrap().to_str().unwrap();
            assert!(ct.starts_with(content_type), "{path}: {ct}");
            let csp = headers
                .get(header::CONTENT_SECURITY_POLICY)
                .unwrap()
                .to_str()
                .unwrap();
            assert_eq!(csp, CONTENT_SECURITY_POLICY, "{path}");
            assert!(!csp.contains("unsafe"), "{csp}");
            assert_eq!(
                headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(),
                "nosniff"
            );
        }
    }

    #[actix_web::test]
    async fn another_method_is_405() {
        let app = web_test::init_service(App::new().configure(routes)).await;
        let req = web_test::TestRequest::post().uri("/dashboard").to_request();
        let res = web_test::call_service(&app, req).await;
        assert_eq!(res.status(), 405);
        assert_eq!(res.headers().get(header::ALLOW).unwrap(), "GET");
    }

    /// The policy forbids inline code, so the page must have none: every script and stylesheet is
    /// one of the served files, and no element carries a `style` or `on…` attribute.
    #[test]
    fn the_page_has_no_inline_code_and_names_only_served_assets() {
        let scripts: Vec<&str> = PAGE.split("<script").skip(1).collect();
        assert_eq!(scripts.len(), 1, "one script");
        assert!(scripts[0].starts_with(&format!(" src=\"{SCRIPT_PATH}\"")));
        assert!(!PAGE.contains("<style"), "no inline stylesheet");
        assert!(PAGE.contains(&format!("<link rel=\"stylesheet\" href=\"{STYLE_PATH}\">")));
        assert!(!PAGE.contains(" style="), "no style attribute");
        assert!(
            !has_event_handler_attribute(PAGE),
            "no inline event handler"
        );
        assert!(
            !PAGE.contains("http://") && !PAGE.contains("https://"),
            "no CDN"
        );
        assert!(
            !SCRIPT.contains("innerHTML"),
            "data goes in as text, never as HTML"
        );
        assert!(!SCRIPT.contains("eval("));
    }

    /// Whether an attribute like ` onclick=` appears.
    fn has_event_handler_attribute(html: &str) -> bool {
        html.match_indices(" on").any(|(at, _)| {
            let rest = &html[at + 3..];
            let name_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            name_len > 0 && rest[name_len..].starts_with('=')
        })
    }

    /// The token field has no `name`, so even a form submitted without the script cannot put the
    /// token in a URL (and `form-action 'none'` refuses the submission anyway).
    #[test]
    fn the_token_field_is_never_submitted() {
        let input = PAGE
            .split("<input")
            .find(|tag| tag.contains("id=\"token\""))
            .expect("the token field");
        let tag = &input[..input.find('>').unwrap()];
        assert!(tag.contains("type=\"password\""), "{tag}");
        assert!(!tag.contains("name="), "{tag}");
        assert!(SCRIPT.contains("sessionStorage"));
        assert!(!SCRIPT.contains("localStorage"));
    }
}
