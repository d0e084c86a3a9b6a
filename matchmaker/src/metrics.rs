//! Prometheus metrics (`GET /metrics` on the admin listener).

use prometheus::{Encoder, Histogram, HistogramOpts, IntCounter, IntGauge, Registry, TextEncoder};

/// The matchmaker's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Open WebSocket connections.
    pub connections: IntGauge,
    /// Tutors online.
    pub tutors_online: IntGauge,
    /// Searches running.
    pub searches: IntGauge,
    /// Proposals made.
    pub proposals: IntCounter,
    /// Matches made.
    pub matches: IntCounter,
    /// Searches that ended without a match.
    pub no_match: IntCounter,
    /// Clients disconnected for not reading.
    pub slow_clients: IntCounter,
    /// Seconds from find-now to an accepted proposal.
    pub time_to_match: Histogram,
    /// Sign-ins that succeeded.
    pub sign_ins: IntCounter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric under `minuto_matchmaker_`.
    pub fn new() -> Self {
        let registry =
            Registry::new_custom(Some("minuto_matchmaker".into()), None).expect("a valid prefix");
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("valid gauge");
            registry.register(Box::new(g.clone())).expect("unique name");
            g
        };
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("valid counter");
            registry.register(Box::new(c.clone())).expect("unique name");
            c
        };
        let time_to_match = Histogram::with_opts(
            HistogramOpts::new(
                "time_to_match_seconds",
                "Seconds from find-now to an accepted proposal",
            )
            .buckets(vec![0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 90.0]),
        )
        .expect("valid histogram");
        registry
            .register(Box::new(time_to_match.clone()))
            .expect("unique name");
        Self {
            connections: gauge("connections", "Open WebSocket connections"),
            tutors_online: gauge("tutors_online", "Tutors online"),
            searches: gauge("searches", "Searches running"),
            proposals: counter("proposals_total", "Proposals made"),
            matches: counter("matches_total", "Matches made"),
            no_match: counter("no_match_total", "Searches that ended without a match"),
            slow_clients: counter(
                "slow_clients_total",
                "Clients disconnected for not reading their messages",
            ),
            sign_ins: counter("sign_ins_total", "Successful sign-ins"),
            time_to_match,
            registry,
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding does not fail");
        String::from_utf8(buf).unwrap_or_default()
    }
}
