//! Unit tests of the relayer's modules through their public API, one module per source
//! file (one test binary: each binary links the whole crate).

mod api;
mod clock;
mod config;
mod escrow;
mod follower;
mod heartbeat;
mod modules;
mod ratelimit;
mod server;
mod sessions;
mod stopper;
mod submit;

use std::time::Duration;

use minuto_relayer::clock::Clock;
use minuto_relayer::liveness::LivenessConfig;
use minuto_relayer::ratelimit::Rate;
use minuto_relayer::sessions::Registry;

/// A registry on `clock` with the tests' liveness rule (10 s of silence, 20 s of grace
/// from the clock's start), `rate` heartbeats a second (and as burst) per session and
/// role, and the escrow's `backdate`.
pub fn registry_at(clock: Clock, rate: f64, backdate: u64) -> Registry {
    Registry::new(
        clock,
        LivenessConfig {
            silence_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(5),
            grace_period: Duration::from_secs(20),
            started: clock.now(),
        },
        Rate {
            per_second: rate,
            burst: rate,
        },
        backdate,
    )
}
