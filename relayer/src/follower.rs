//! Follows the escrow's events into the [`Registry`] with `minuto-chain`'s reorg-safe
//! follower (confirmations, bounded block ranges, checkpoints, an atomically saved
//! cursor with the sessions it implies). What is the relayer's own: the [`Chain`] as the
//! follower's source, the registry as its sink (with the metrics and [`SyncStatus`] it
//! publishes), and the check of the relayer set before each poll.

use std::sync::Arc;

use alloy_primitives::B256;
pub use minuto_chain::follower::{
    load_cursor as load_cursor_of, save_cursor, CursorError, Deployment, FollowerConfig,
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

/// The cursor file's content: the next block and the sessions open or active before it.
pub type Cursor = minuto_chain::follower::Cursor<Vec<SessionRecord>>;

/// Loads the cursor, if the file exists.
///
/// # Errors
/// [`CursorError`] when the file is unreadable, corrupt, or for another deployment.
pub fn load_cursor(
    path: &std::path::Path,
    chain_id: u64,
    escrow: alloy_primitives::Address,
) -> Result<Option<Cursor>, CursorError> {
    load_cursor_of(path, chain_id, escrow)
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;
    use std::time::Duration;

    use alloy_primitives::{Address, U256};

    use crate::chain::{Head, StopOutcome};
    use crate::clock::Clock;
    use crate::escrow::{EscrowEvent, EscrowLog};
    use crate::liveness::LivenessConfig;
    use crate::ratelimit::Rate;

    struct FakeChain {
        head: u64,
        events: Vec<EscrowLog>,
        ranges: Mutex<Vec<(u64, u64)>>,
    }

    impl Chain for FakeChain {
        async fn head(&self) -> Result<Head, ChainError> {
            Ok(Head {
                number: self.head,
                timestamp: 0,
            })
        }
        async fn logs(&self, from: u64, to: u64) -> Result<Vec<EscrowLog>, ChainError> {
            self.ranges.lock().unwrap().push((from, to));
            Ok(self
                .events
                .iter()
                .filter(|e| (from..=to).contains(&e.block))
                .cloned()
                .collect())
        }
        async fn max_backdate(&self) -> Result<u64, ChainError> {
            Ok(60)
        }
        async fn stop_at(&self, _: U256, _: u64) -> Result<StopOutcome, ChainError> {
            Ok(StopOutcome::AlreadyEnded)
        }
    }

    fn registry() -> Arc<Registry> {
        let clock = Clock::starting_at(1_000_000);
        Arc::new(Registry::new(
            clock,
            LivenessConfig {
                silence_timeout: Duration::from_secs(10),
                grace_period: Duration::from_secs(20),
                started: clock.now(),
            },
            Rate {
                per_second: 1.0,
                burst: 1.0,
            },
            60,
        ))
    }

    const DEPLOYMENT: Deployment = Deployment {
        chain_id: 31337,
        escrow: Address::repeat_byte(0xe5),
    };

    fn events() -> Vec<EscrowLog> {
        let id = U256::from(1);
        vec![
            EscrowLog {
                block: 3,
                log_index: 0,
                event: EscrowEvent::Opened {
                    id,
                    student_key: Address::repeat_byte(1),
                    rate: 7,
                    deposit: 100,
                    fee_bps: 5,
                },
            },
            EscrowLog {
                block: 12,
                log_index: 0,
                event: EscrowEvent::Started {
                    id,
                    tutor_key: Address::repeat_byte(2),
                    start: 50,
                },
            },
            EscrowLog {
                block: 31,
                log_index: 0,
                event: EscrowEvent::Withdrawn { id, amount: 9 },
            },
        ]
    }

    fn follower(
        chain: Arc<FakeChain>,
        registry: Arc<Registry>,
        path: &Path,
        next_block: u64,
    ) -> Follower<FakeChain> {
        Follower::new(
            chain,
            registry,
            Arc::new(Metrics::new()),
            FollowerConfig {
                confirmations: 5,
                start_block: 0,
                cursor_file: path.to_path_buf(),
                chunk_blocks: 10,
                poll_interval: Duration::from_millis(10),
            },
            DEPLOYMENT,
            next_block,
            watch::channel(SyncStatus::default()).0,
        )
    }

    fn temp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("minuto-follow-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d.join("cursor.json")
    }

    #[tokio::test]
    async fn poll_reads_confirmed_blocks_in_bounded_chunks_and_saves_cursor() {
        let path = temp("chunks");
        let chain = Arc::new(FakeChain {
            head: 40,
            events: events(),
            ranges: Mutex::default(),
        });
        let reg = registry();
        let mut f = follower(chain.clone(), reg.clone(), &path, 0);
        assert!(f.poll().await.unwrap());
        // Head 40 with 5 confirmations: blocks 0..=35, at most 10 per request.
        assert_eq!(
            *chain.ranges.lock().unwrap(),
            vec![(0, 9), (10, 19), (20, 29), (30, 35)]
        );
        let cursor = load_cursor(&path, 31337, DEPLOYMENT.escrow)
            .unwrap()
            .unwrap();
        assert_eq!(cursor.next_block, 36);
        assert_eq!(cursor.sessions.len(), 1);
        let s = &cursor.sessions[0];
        assert_eq!((s.start, s.rate, s.deposited, s.withdrawn), (50, 7, 100, 9));
        assert!(s.active);
        assert_eq!(reg.watched(), 1);
        // Nothing new: no request at all.
        assert!(f.poll().await.unwrap());
        assert_eq!(chain.ranges.lock().unwrap().len(), 4);
        assert!(!path.with_extension("json.tmp").exists());
    }

    #[tokio::test]
    async fn restart_resumes_from_cursor_and_restores_sessions() {
        let path = temp("resume");
        let chain = Arc::new(FakeChain {
            head: 40,
            events: events(),
            ranges: Mutex::default(),
        });
        follower(chain, registry(), &path, 0).poll().await.unwrap();

        let cursor = load_cursor(&path, 31337, DEPLOYMENT.escrow)
            .unwrap()
            .unwrap();
        let reg = registry();
        reg.restore(&cursor.sessions);
        let chain = Arc::new(FakeChain {
            head: 50,
            events: events(),
            ranges: Mutex::default(),
        });
        let mut f = follower(chain.clone(), reg.clone(), &path, cursor.next_block);
        f.poll().await.unwrap();
        assert_eq!(*chain.ranges.lock().unwrap(), vec![(36, 45)]);
        assert_eq!(reg.watched(), 1);
        let status = reg.status(U256::from(1)).unwrap();
        // Withdrawn was not applied twice.
        assert_eq!(status.session.withdrawn, 9);
    }

    /// A chain whose blocks (hashes and events) can be replaced, as in a reorganisation.
    struct ForkingChain {
        head: Mutex<u64>,
        events: Mutex<Vec<EscrowLog>>,
        fork: Mutex<u8>,
    }

    impl Chain for ForkingChain {
        async fn head(&self) -> Result<Head, ChainError> {
            Ok(Head {
                number: *self.head.lock().unwrap(),
                timestamp: 0,
            })
        }
        async fn logs(&self, from: u64, to: u64) -> Result<Vec<EscrowLog>, ChainError> {
            let events = self.events.lock().unwrap();
            Ok(events
                .iter()
                .filter(|e| (from..=to).contains(&e.block))
                .cloned()
                .collect())
        }
        async fn max_backdate(&self) -> Result<u64, ChainError> {
            Ok(60)
        }
        async fn stop_at(&self, _: U256, _: u64) -> Result<StopOutcome, ChainError> {
            Ok(StopOutcome::AlreadyEnded)
        }
        async fn block_hash(&self, n: u64) -> Result<Option<alloy_primitives::B256>, ChainError> {
            // Blocks from 30 on differ between forks.
            let fork = if n >= 30 {
                *self.fork.lock().unwrap()
            } else {
                0
            };
            let mut h = [0u8; 32];
            h[..8].copy_from_slice(&n.to_be_bytes());
            h[31] = fork;
            Ok(Some(h.into()))
        }
    }

    #[tokio::test]
    async fn reorg_of_blocks_already_read_is_rewound() {
        let path = temp("reorg");
        let id = U256::from(1);
        let mut events = events();
        // On the first fork the session ends in block 32.
        events.push(EscrowLog {
            block: 32,
            log_index: 0,
            event: EscrowEvent::Ended { id, end: 60 },
        });
        let chain = Arc::new(ForkingChain {
            head: Mutex::new(25),
            events: Mutex::new(events),
            fork: Mutex::new(0),
        });
        let reg = registry();
        let metrics = Arc::new(Metrics::new());
        let mut f = Follower::new(
            chain.clone(),
            reg.clone(),
            metrics.clone(),
            FollowerConfig {
                confirmations: 5,
                start_block: 0,
                cursor_file: path.clone(),
                chunk_blocks: 10,
                poll_interval: Duration::from_millis(10),
            },
            DEPLOYMENT,
            0,
            watch::channel(SyncStatus::default()).0,
        );
        f.poll().await.unwrap(); // blocks 0..=20: opened and started
        assert_eq!(reg.watched(), 1);
        *chain.head.lock().unwrap() = 40;
        f.poll().await.unwrap(); // blocks 21..=35: ended in 32
        assert_eq!(reg.watched(), 0);
        assert!(reg.is_ended(id));

        // Blocks from 30 on are replaced: on the new fork the session never ended there.
        *chain.fork.lock().unwrap() = 1;
        chain.events.lock().unwrap().retain(|e| e.block != 32);
        f.poll().await.unwrap();
        assert_eq!(metrics.follower_reorgs.get(), 1);
        assert_eq!(reg.watched(), 1, "the reorganised end was undone");
        assert!(!reg.is_ended(id));
        let status = reg.status(id).unwrap();
        assert_eq!(
            status.session.withdrawn, 9,
            "Withdrawn of block 31 applied once"
        );
        assert_eq!(f.next_block(), 36);
        // Nothing more on the next poll.
        f.poll().await.unwrap();
        assert_eq!(metrics.follower_reorgs.get(), 1);
    }

    #[test]
    fn load_cursor_rejects_foreign_and_corrupt_files() {
        let path = temp("foreign");
        save_cursor(
            &path,
            &Cursor {
                version: 1,
                chain_id: 1,
                escrow: DEPLOYMENT.escrow,
                next_block: 5,
                sessions: vec![],
            },
        )
        .unwrap();
        assert!(matches!(
            load_cursor(&path, 31337, DEPLOYMENT.escrow),
            Err(CursorError::Foreign { chain_id: 1, .. })
        ));
        assert_eq!(
            load_cursor(&path, 1, DEPLOYMENT.escrow)
                .unwrap()
                .unwrap()
                .next_block,
            5
        );
        std::fs::write(&path, b"{oops").unwrap();
        assert!(matches!(
            load_cursor(&path, 1, DEPLOYMENT.escrow),
            Err(CursorError::Corrupt { .. })
        ));
        assert!(
            load_cursor(&path.with_extension("missing"), 1, DEPLOYMENT.escrow)
                .unwrap()
                .is_none()
        );
    }
}
