//! Prometheus metrics, one registry per relayer instance (tests run several).

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// Declares [`Metrics`]: each field with its metric's name and help text, once. A
/// metric is made from its `Opts` by `with_opts`, or by the function after `=>`.
macro_rules! metrics {
    (@make $kind:ident) => { $kind::with_opts };
    (@make $kind:ident $make:expr) => { $make };
    ($($field:ident: $kind:ident = $name:literal, $help:literal $(=> $make:expr)?;)*) => {
        /// The relayer's metrics.
        #[derive(Debug)]
        pub struct Metrics {
            registry: Registry,
            $(#[doc = concat!("`", $name, "`: ", $help, ".")] pub $field: $kind,)*
        }

        impl Metrics {
            /// Registers every metric in a fresh registry.
            pub fn new() -> Self {
                let registry = Registry::new();
                // The names and options are fixed: an error is a programming error.
                $(let $field = (metrics!(@make $kind $($make)?))(Opts::new($name, $help)).expect("valid metric");
                registry.register(Box::new($field.clone())).expect("unique metric");)*
                Self { registry, $($field,)* }
            }
        }
    };
}

metrics! {
    heartbeats_accepted: IntCounter = "minuto_heartbeats_accepted_total", "Heartbeats accepted";
    heartbeats_rejected: IntCounterVec = "minuto_heartbeats_rejected_total", "Heartbeats refused, by error code"
        => |opts| IntCounterVec::new(opts, &["reason"]);
    sessions_watched: IntGauge = "minuto_sessions_watched", "Active sessions watched";
    stops_submitted: IntCounter = "minuto_stops_submitted_total", "stopAt submissions";
    stops_confirmed: IntCounter = "minuto_stops_confirmed_total", "stopAt transactions mined successfully";
    stops_already_ended: IntCounter = "minuto_stops_already_ended_total", "Stops found unnecessary: the session had already ended";
    stops_failed: IntCounter = "minuto_stops_failed_total", "Stops that failed (retried later)";
    // In seconds around the silence timeout.
    detection_latency: Histogram = "minuto_detection_latency_seconds", "Time from a silent party's last heartbeat to the stop's submission"
        => |opts| Histogram::with_opts(HistogramOpts::from(opts).buckets(vec![1., 2., 5., 8., 10., 11., 12., 15., 20., 30., 60., 120.]));
    follower_next_block: IntGauge = "minuto_follower_next_block", "First block the follower has not read yet";
    chain_head_block: IntGauge = "minuto_chain_head_block", "Latest block seen";
    follower_undecodable_logs: IntCounter = "minuto_follower_undecodable_logs_total", "Escrow logs skipped because they could not be decoded";
    follower_reorgs: IntCounter = "minuto_follower_reorgs_total", "Reorganisations of blocks already read, rewound";
    stops_averted_by_store: IntCounter = "minuto_stops_averted_by_store_total", "Stops not sent because another relayer instance heard the party";
    stops_deferred: IntCounter = "minuto_stops_deferred_total", "Stops put off because the shared liveness store could not vouch for the silence";
    liveness_store_up: IntGauge = "minuto_liveness_store_up", "1 while the shared liveness store answers";
    forwarded_header_missing: IntCounter = "minuto_forwarded_header_missing_total", "Heartbeats from a trusted proxy without the configured forwarded_header: every client behind it shares one flood bucket";
}

impl Metrics {
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
