//! Follows the escrow's events into the [`Registry`] with `minuto-chain`'s reorg-safe
//! follower (confirmations, bounded block ranges, checkpoints, an atomically saved
//! cursor with the sessions it implies). What is the relayer's own: the [`Chain`] as the
//! follower's source, the registry as its sink (with the metrics and [`SyncStatus`] it
//! publishes), and the check of the relayer set before each poll.

use std::sync::Arc;

use alloy_primitives::B256;
pub use minuto_chain::follower::{
    load_cursor, save_cursor, CursorError, Deployment, FollowerConfig,
};
use minuto_chain::follower::{EventSink, EventSource, Located, Progress};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::chain::{Chain, ChainError};
use crate::escrow::EscrowEvent;
use crate::metrics::Metrics;
use crate::sessions::{Registry, SessionRecord};

/// Progress of the follower, published for `/readyz`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncStatus {
    /// First block not yet read.
    pub next_block: u64,
    /// Latest head seen.
    pub head: u64,
    /// Whether the last poll reached the confirmed head.
    pub caught_up: bool,
    /// Whether the last poll succeeded.
    pub chain_ok: bool,
    /// Whether the relayer's account is in the escrow's relayer set (checked each poll);
    /// while it is not, the relayer is not ready and sends no stop.
    pub authorized: bool,
}

/// The cursor file's content ([`load_cursor`], [`save_cursor`]): the next block and the
/// sessions open or active before it.
pub type Cursor = minuto_chain::follower::Cursor<Vec<SessionRecord>>;

/// Follower failures inside one poll.
pub type FollowError = minuto_chain::follower::FollowError<ChainError>;

/// The chain as the follower's source of escrow events.
#[derive(Debug)]
pub struct Source<C>(Arc<C>);

impl<C: Chain> EventSource for Source<C> {
    type Event = EscrowEvent;
    type Error = ChainError;

    async fn head(&self) -> Result<u64, ChainError> {
        Ok(self.0.head().await?.number)
    }

    async fn logs(&self, from: u64, to: u64) -> Result<Vec<Located<EscrowEvent>>, ChainError> {
        self.0.logs(from, to).await
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>, ChainError> {
        self.0.block_hash(number).await
    }
}

/// The registry as the follower's sink, publishing metrics and [`SyncStatus`].
#[derive(Debug)]
pub struct Sessions<C> {
    chain: Arc<C>,
    registry: Arc<Registry>,
    metrics: Arc<Metrics>,
    status: watch::Sender<SyncStatus>,
}

impl<C: Chain> EventSink<EscrowEvent> for Sessions<C> {
    type Snapshot = Vec<SessionRecord>;

    fn apply(&self, log: &Located<EscrowEvent>) {
        if !self.registry.apply(&log.event) {
            if let EscrowEvent::Started { id, .. } = log.event {
                warn!(session = %id, block = log.block, "SessionStarted for a session never seen opened: is start_block after the escrow's deployment?");
            }
        }
    }

    fn snapshot(&self) -> Vec<SessionRecord> {
        self.registry.snapshot()
    }

    fn rewind(&self, to: Option<&Vec<SessionRecord>>) {
        self.registry.rewind(to.map_or(&[], Vec::as_slice));
    }

    fn progress(&self, p: &Progress) {
        let m = &self.metrics;
        m.chain_head_block.set(p.head as i64);
        m.follower_next_block.set(p.next_block as i64);
        m.sessions_watched.set(self.registry.watched() as i64);
        m.follower_reorgs
            .inc_by(p.reorgs.saturating_sub(m.follower_reorgs.get()));
        let undecodable = self.chain.undecodable_logs();
        m.follower_undecodable_logs
            .inc_by(undecodable.saturating_sub(m.follower_undecodable_logs.get()));
        self.status.send_replace(SyncStatus {
            next_block: p.next_block,
            head: p.head,
            caught_up: p.caught_up,
            chain_ok: true,
            authorized: self.registry.authorized(),
        });
    }
}

/// Follows the chain into the registry.
#[derive(Debug)]
pub struct Follower<C: Chain> {
    inner: minuto_chain::follower::Follower<Source<C>, Sessions<C>>,
}

impl<C: Chain> Follower<C> {
    /// A follower starting at `next_block` (from the cursor, or `start_block`).
    pub fn new(
        chain: Arc<C>,
        registry: Arc<Registry>,
        metrics: Arc<Metrics>,
        cfg: FollowerConfig,
        deployment: Deployment,
        next_block: u64,
        status: watch::Sender<SyncStatus>,
    ) -> Self {
        let sink = Sessions {
            chain: chain.clone(),
            registry,
            metrics,
            status,
        };
        Self {
            inner: minuto_chain::follower::Follower::new(
                Arc::new(Source(chain)),
                sink,
                cfg,
                deployment,
                next_block,
            ),
        }
    }

    /// First block not yet read.
    pub fn next_block(&self) -> u64 {
        self.inner.next_block()
    }

    /// Checks the relayer set, then reads every confirmed block not read yet. Returns
    /// whether it reached the confirmed head.
    ///
    /// # Errors
    /// [`FollowError`] when the chain or the cursor file fails; progress made before
    /// the failure is kept (and saved).
    pub async fn poll(&mut self) -> Result<bool, FollowError> {
        let sink = self.inner.sink();
        let authorized = sink.chain.is_relayer().await.map_err(FollowError::Source)?;
        if authorized != sink.registry.authorized() {
            if authorized {
                info!("this account is in the escrow's relayer set again");
            } else {
                warn!(
                    "this account was removed from the escrow's relayer set: no stop will be sent"
                );
            }
            sink.registry.set_authorized(authorized);
        }
        self.inner.poll().await
    }

    /// Polls until cancelled; saves the cursor on the way out.
    pub async fn run(mut self, cancel: CancellationToken) {
        info!(next_block = self.next_block(), "following escrow events");
        loop {
            if let Err(e) = self.poll().await {
                warn!(error = %e, "follower poll failed");
                self.inner.sink().status.send_modify(|s| {
                    s.chain_ok = false;
                    s.caught_up = false;
                });
            }
            tokio::select! {
                () = tokio::time::sleep(self.inner.config().poll_interval) => {}
                () = cancel.cancelled() => break,
            }
        }
        if let Err(e) = self.inner.save() {
            warn!(error = %e, "could not save cursor at shutdown");
        }
    }
}
