//! The liveness engine and the stop submitter.
//!
//! Detection does not scan sessions: each session has at most one entry in a deadline
//! queue ordered by time ([`crate::sessions::Registry::take_due`]). Heartbeats never
//! touch the queue; when an entry comes due the session is judged by
//! [`crate::liveness::judge`] and either stopped or re-queued at its real (later)
//! deadline. Decided stops are checked against the shared store, then sent.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::chain::{Chain, StopOutcome};
use crate::liveness::{clamp_at, earliest_mining_time, StopRequest};
use crate::metrics::Metrics;
use crate::sessions::{Confirmation, Registry};

/// Waits for due deadlines and hands stops to the submitter. Runs until cancelled.
pub async fn run_engine(
    registry: Arc<Registry>,
    metrics: Arc<Metrics>,
    stops: mpsc::Sender<StopRequest>,
    cancel: CancellationToken,
) {
    loop {
        let now = Instant::now();
        let (due, next) = registry.take_due(now);
        for request in due {
            // Another instance may have heard the party: ask the shared store.
            let request = match registry.confirm(request).await {
                Confirmation::Stop(request) => request,
                Confirmation::Alive => {
                    metrics.stops_averted_by_store.inc();
                    continue;
                }
                Confirmation::Deferred => {
                    metrics.stops_deferred.inc();
                    continue;
                }
            };
            debug!(session = %request.id, reason = request.reason.as_str(), "stop decided");
            tokio::select! {
                sent = stops.send(request) => if sent.is_err() { return },
                () = cancel.cancelled() => return,
            }
        }
        let wake_at = next.unwrap_or(now + Duration::from_secs(3600));
        tokio::select! {
            () = tokio::time::sleep_until(wake_at) => {}
            () = registry.wake.notified() => {}
            () = cancel.cancelled() => return,
        }
    }
}

/// Stop-submission settings.
#[derive(Clone, Copy, Debug)]
pub struct StopperConfig {
    /// The escrow's `maxBackdate`, seconds (or the operator's smaller bound).
    pub max_backdate: u64,
    /// Stops submitted at once.
    pub concurrency: usize,
    /// After a failed stop, judge the session again after this long.
    pub retry_after: Duration,
    /// How long shutdown waits for in-flight stops.
    pub drain: Duration,
}

impl StopperConfig {
    /// How long after our stop's receipt (or a dry run answering already ended) the
    /// session is looked at again if the follower has not read its end by then:
    /// four `retry_after`s (20 s by default), at least a second, at most a quarter of
    /// `max_backdate` so a stop sent again still carries its `at`.
    ///
    /// Looking again costs one dry run (`eth_estimateGas`) and answers from the chain's
    /// head whether the end still stands, so it need not wait for the follower's
    /// confirmation depth: the follower's reading of the end is what releases the
    /// session, the check only catches an end a reorganisation undid before then.
    pub fn end_check_after(&self) -> Duration {
        let quarter = Duration::from_secs(self.max_backdate / 4);
        (self.retry_after * 4)
            .min(quarter)
            .max(Duration::from_secs(1))
    }
}

/// Submits decided stops, at most `concurrency` being *sent* at a time: a slot is
/// freed as soon as the node has the transaction, and mining is watched separately, so a
/// mass drop is never queued behind slow blocks. Runs until cancelled, then waits up to
/// `drain` for stops in flight.
pub async fn run_stopper<C: Chain>(
    chain: Arc<C>,
    registry: Arc<Registry>,
    metrics: Arc<Metrics>,
    mut requests: mpsc::Receiver<StopRequest>,
    cfg: StopperConfig,
    cancel: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
    let mut in_flight = JoinSet::new();
    loop {
        tokio::select! {
            request = requests.recv() => {
                let Some(request) = request else { break };
                let Ok(permit) = permits.clone().acquire_owned().await else { break };
                let (chain, registry, metrics) = (chain.clone(), registry.clone(), metrics.clone());
                in_flight.spawn(async move {
                    stop_one(&*chain, &registry, &metrics, request, &cfg, permit).await;
                });
            }
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            () = cancel.cancelled() => break,
        }
    }
    let drained = tokio::time::timeout(cfg.drain, async {
        while in_flight.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!(
            left = in_flight.len(),
            "shutdown: stops still in flight after drain bound, abandoning"
        );
        in_flight.abort_all();
    }
}

/// Submits one stop and records the outcome. `slot` is held while the stop is being
/// sent and released before its mining is awaited. A mined stop (or a session found
/// already ended) is kept by the registry until the follower reads the end
/// ([`Registry::await_end`]); if it has not after [`StopperConfig::end_check_after`],
/// the stop comes back here and is sent again at the same `at`.
pub async fn stop_one<C: Chain>(
    chain: &C,
    registry: &Registry,
    metrics: &Metrics,
    request: StopRequest,
    cfg: &StopperConfig,
    slot: tokio::sync::OwnedSemaphorePermit,
) {
    let id = request.id;
    if !registry.authorized() {
        // Removed from the escrow's relayer set: the stop would revert. Keep judging;
        // another relayer (or this one, re-authorized) will stop it.
        warn!(session = %id, "not in the escrow's relayer set: stop withheld");
        registry.stop_failed(id, Instant::now() + cfg.retry_after);
        return;
    }
    // Wait (boundedly) until the block that mines the stop is sure to be stamped at or
    // after the exhaustion time, so the chain bills the whole deposit.
    let mut waits = 0u32;
    let (head, wall_now) = loop {
        match chain.head().await {
            Ok(head) => {
                let wall_now = registry.clock().now_unix();
                if earliest_mining_time(head.timestamp, wall_now) >= request.not_before_chain
                    || waits >= 30
                {
                    break (head, wall_now);
                }
                waits += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => {
                warn!(session = %id, error = %e, "stop: cannot read chain head");
                metrics.stops_failed.inc();
                registry.stop_failed(id, Instant::now() + cfg.retry_after);
                return;
            }
        }
    };
    if registry.is_ended(id) {
        // The follower saw the session end (another relayer, a party's own stop, a
        // cancel) while this stop waited for a slot: nothing to send.
        metrics.stops_already_ended.inc();
        info!(session = %id, "session ended before its stop was sent; nothing to do");
        registry.stopped(id);
        return;
    }
    // A heartbeat heard while the stop was checked or waited for a slot calls it off;
    // from here on heartbeats are refused.
    let resend = registry.end_unconfirmed(id);
    let Some(request) = registry.begin_send(request) else {
        info!(session = %id, "heard from since the stop was decided; not sent");
        return;
    };
    let at = clamp_at(
        request.target_at,
        request.start,
        head.timestamp,
        wall_now,
        cfg.max_backdate,
    );
    metrics.stops_submitted.inc();
    if let Some(last_seen) = request.last_seen.filter(|_| !resend) {
        metrics.detection_latency.observe(
            Instant::now()
                .saturating_duration_since(last_seen)
                .as_secs_f64(),
        );
    }
    info!(
        session = %id,
        reason = request.reason.as_str(),
        target_at = request.target_at,
        at,
        head_timestamp = head.timestamp,
        wall_now,
        resend,
        "submitting stopAt"
    );
    // The relayer names the silent party: a booked session the student left bills its
    // minimum time (the escrow's `openFor`).
    let outcome = match chain.send_stop(id, at, request.reason.silent()).await {
        Ok(crate::chain::SentStop::Done(outcome)) => Ok(outcome),
        Ok(crate::chain::SentStop::Pending(pending)) => {
            drop(slot);
            chain.confirm_stop(pending).await
        }
        Err(e) => Err(e),
    };
    // An end the chain reports is kept until the follower reads it from a confirmed
    // block: the stop's block (or the other party's) may still be reorganised away
    // before then, and the follower would never see an end to rewind.
    let check_at = Instant::now() + cfg.end_check_after();
    match outcome {
        Ok(StopOutcome::Stopped { tx, at }) => {
            metrics.stops_confirmed.inc();
            info!(session = %id, %tx, at, "stopAt confirmed");
            registry.await_end(id, check_at);
        }
        Ok(StopOutcome::AlreadyEnded) => {
            metrics.stops_already_ended.inc();
            info!(session = %id, "session already ended; nothing to do");
            registry.await_end(id, check_at);
        }
        Err(e) => {
            metrics.stops_failed.inc();
            warn!(session = %id, error = %e, "stopAt failed; will judge again");
            registry.stop_failed(id, Instant::now() + cfg.retry_after);
        }
    }
}
