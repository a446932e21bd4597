//! Test support: the W3C `traceparent` headers the simulators received, newest last
//! (`GET /_admin/traceparents`), so a suite can check the gateway propagates its trace.

use std::collections::VecDeque;
use std::sync::Mutex;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::state::AppState;

/// How many are kept (the oldest go first).
const KEPT: usize = 256;

#[derive(Debug, Default)]
pub struct TraceparentLog {
    seen: Mutex<VecDeque<String>>,
}

impl TraceparentLog {
    pub fn record(&self, traceparent: &str) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() == KEPT {
            seen.pop_front();
        }
        seen.push_back(traceparent.to_string());
    }

    pub fn all(&self) -> Vec<String> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.iter().cloned().collect()
    }

    pub fn reset(&self) {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// `{"traceparents": ["00-…-…-01", …]}`.
pub async fn list(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "traceparents": state.traceparents.all() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest() {
        let log = TraceparentLog::default();
        for i in 0..KEPT + 2 {
            log.record(&i.to_string());
        }
        let all = log.all();
        assert_eq!(all.len(), KEPT);
        assert_eq!(all.first().map(String::as_str), Some("2"));
        log.reset();
        assert!(log.all().is_empty());
    }
}
