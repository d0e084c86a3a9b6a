//! Prometheus metrics, one registry per relayer instance (tests run several).

use prometheus::core::Collector;
use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// The relayer's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// `minuto_heartbeats_accepted_total`.
    pub heartbeats_accepted: IntCounter,
    /// `minuto_heartbeats_rejected_total{reason}`.
    pub heartbeats_rejected: IntCounterVec,
    /// `minuto_sessions_watched`: Active sessions.
    pub sessions_watched: IntGauge,
    /// `minuto_stops_submitted_total`.
    pub stops_submitted: IntCounter,
    /// `minuto_stops_confirmed_total`.
    pub stops_confirmed: IntCounter,
    /// `minuto_stops_already_ended_total`: idempotent no-ops.
    pub stops_already_ended: IntCounter,
    /// `minuto_stops_failed_total`.
    pub stops_failed: IntCounter,
    /// `minuto_detection_latency_seconds`: last heartbeat to stop submission.
    pub detection_latency: Histogram,
    /// `minuto_follower_next_block`: the first block not yet read.
    pub follower_next_block: IntGauge,
    /// `minuto_chain_head_block`.
    pub chain_head_block: IntGauge,
    /// `minuto_follower_undecodable_logs_total`: escrow logs skipped as undecodable.
    pub follower_undecodable_logs: IntCounter,
    /// `minuto_follower_reorgs_total`: reorganisations noticed (and rewound).
    pub follower_reorgs: IntCounter,
    /// `minuto_stops_averted_by_store_total`: stops not sent because another instance
    /// heard the party.
    pub stops_averted_by_store: IntCounter,
    /// `minuto_stops_deferred_total`: stops put off because the shared store could not
    /// vouch for the silence.
    pub stops_deferred: IntCounter,
    /// `minuto_liveness_store_up`: 1 while the shared store answers.
    pub liveness_store_up: IntGauge,
}

/// Registers a freshly made metric and returns it.
fn register<M: Collector + Clone + 'static>(
    registry: &Registry,
    metric: prometheus::Result<M>,
) -> M {
    // The names and options below are fixed: an error is a programming error.
    let metric = metric.expect("valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("unique metric");
    metric
}

impl Metrics {
    /// Registers every metric in a fresh registry.
    pub fn new() -> Self {
        let r = Registry::new();
        let counter = |name: &str, help: &str| register(&r, IntCounter::new(name, help));
        let gauge = |name: &str, help: &str| register(&r, IntGauge::new(name, help));
        let latency = HistogramOpts::new(
            "minuto_detection_latency_seconds",
            "Time from a silent party's last heartbeat to the stop's submission",
        )
        .buckets(vec![
            1.0, 2.0, 5.0, 8.0, 10.0, 11.0, 12.0, 15.0, 20.0, 30.0, 60.0, 120.0,
        ]);
        let rejected = Opts::new(
            "minuto_heartbeats_rejected_total",
            "Heartbeats refused, by error code",
        );
        Self {
            heartbeats_accepted: counter("minuto_heartbeats_accepted_total", "Heartbeats accepted"),
            heartbeats_rejected: register(&r, IntCounterVec::new(rejected, &["reason"])),
            sessions_watched: gauge("minuto_sessions_watched", "Active sessions watched"),
            stops_submitted: counter("minuto_stops_submitted_total", "stopAt submissions"),
            stops_confirmed: counter(
                "minuto_stops_confirmed_total",
                "stopAt transactions mined successfully",
            ),
            stops_already_ended: counter(
                "minuto_stops_already_ended_total",
                "Stops found unnecessary: the session had already ended",
            ),
            stops_failed: counter(
                "minuto_stops_failed_total",
                "Stops that failed (retried later)",
            ),
            detection_latency: register(&r, Histogram::with_opts(latency)),
            follower_next_block: gauge(
                "minuto_follower_next_block",
                "First block the follower has not read yet",
            ),
            chain_head_block: gauge("minuto_chain_head_block", "Latest block seen"),
            follower_undecodable_logs: counter(
                "minuto_follower_undecodable_logs_total",
                "Escrow logs skipped because they could not be decoded",
            ),
            follower_reorgs: counter(
                "minuto_follower_reorgs_total",
                "Reorganisations of blocks already read, rewound",
            ),
            stops_averted_by_store: counter(
                "minuto_stops_averted_by_store_total",
                "Stops not sent because another relayer instance heard the party",
            ),
            stops_deferred: counter(
                "minuto_stops_deferred_total",
                "Stops put off because the shared liveness store could not vouch for the silence",
            ),
            liveness_store_up: gauge(
                "minuto_liveness_store_up",
                "1 while the shared liveness store answers",
            ),
            registry: r,
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metrics.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
