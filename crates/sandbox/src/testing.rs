//! A sandbox for tests (feature `test-support`): every default upstream on a free local port, with
//! timings short enough for a test to wait out (async outcomes after 200 ms, slow answers after
//! 1.5 s, reservations for 300 ms).

use std::net::SocketAddr;

use crate::{start, SandboxConfig, SandboxHandle, Timings};

/// The short timings of [`test_config`].
pub const TEST_TIMINGS: Timings = Timings {
    async_delay_ms: 200,
    reservation_ttl_ms: 300,
    slow_ms: 1500,
    token_ttl_secs: 3600,
};

/// The default operators on `127.0.0.1:0` with [`TEST_TIMINGS`]; change what a test needs.
pub fn test_config() -> SandboxConfig {
    let mut config = SandboxConfig::with_default_operators(SocketAddr::from(([127, 0, 0, 1], 0)));
    config.timings = TEST_TIMINGS;
    config
}

/// Starts [`test_config`].
pub async fn start_for_tests() -> SandboxHandle {
    start(test_config()).await.expect("sandbox starts")
}
