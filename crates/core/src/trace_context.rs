//! Trace-context propagation on outgoing calls, without tying every crate to a tracing backend.
//!
//! The gateway installs one injector at start when traces are on (W3C `traceparent` / `tracestate`
//! of the current span); upstream calls and webhook deliveries ask [`headers`] for what to send.
//! With no injector (traces off, or a library used alone) nothing is added.

use std::sync::OnceLock;

/// Fills `(name, value)` pairs for the current span's context.
pub type Injector = fn(&mut Vec<(String, String)>);

static INJECTOR: OnceLock<Injector> = OnceLock::new();

/// Installs the process's injector; the first one wins (a second start in one process keeps it).
pub fn set_injector(injector: Injector) {
    let _ = INJECTOR.set(injector);
}

/// The headers carrying the current trace context (empty when traces are off).
pub fn headers() -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(inject) = INJECTOR.get() {
        inject(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn nothing_is_added_without_an_injector() {
        // No test in this crate installs one.
        assert!(super::headers().is_empty());
    }
}
