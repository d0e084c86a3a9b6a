//! Follows the escrow's events: bounded block ranges, a confirmation depth, and a cursor
//! file saved atomically (write to a temporary file, fsync, rename) together with the
//! sessions it implies, so a restart resumes where it stopped instead of rescanning.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::chain::{Chain, ChainError};
use crate::metrics::Metrics;
use crate::sessions::{Registry, SessionRecord};

/// Follower settings.
#[derive(Clone, Debug)]
pub struct FollowerConfig {
    /// Blocks a log must be buried under before it is read.
    pub confirmations: u64,
    /// First block to read when there is no cursor file.
    pub start_block: u64,
    /// Where the cursor (and the sessions it implies) is saved.
    pub cursor_file: PathBuf,
    /// Largest block range per `eth_getLogs`.
    pub chunk_blocks: u64,
    /// Pause between polls once caught up (and after errors).
    pub poll_interval: Duration,
}

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

/// The cursor file's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Format version.
    pub version: u32,
    /// Chain it belongs to.
    pub chain_id: u64,
    /// Escrow it belongs to.
    pub escrow: Address,
    /// First block not yet read.
    pub next_block: u64,
    /// Sessions open or active as of `next_block − 1`.
    pub sessions: Vec<SessionRecord>,
}

/// Cursor file failures.
#[derive(Debug, thiserror::Error)]
pub enum CursorError {
    /// Reading or writing the file failed.
    #[error("cursor file {path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not a cursor.
    #[error("cursor file {path} is corrupt: {source}")]
    Corrupt {
        /// File.
        path: PathBuf,
        /// Cause.
        source: serde_json::Error,
    },
    /// The file belongs to another chain or escrow.
    #[error("cursor file {path} belongs to chain {chain_id} / escrow {escrow}, not this one; move it away or point cursor_file elsewhere")]
    Foreign {
        /// File.
        path: PathBuf,
        /// Its chain.
        chain_id: u64,
        /// Its escrow.
        escrow: Address,
    },
}

/// Loads the cursor, if the file exists.
///
/// # Errors
/// [`CursorError`] when the file is unreadable, corrupt, or for another deployment.
pub fn load_cursor(
    path: &Path,
    chain_id: u64,
    escrow: Address,
) -> Result<Option<Cursor>, CursorError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(CursorError::Io {
                path: path.into(),
                source,
            })
        }
    };
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|source| CursorError::Corrupt {
        path: path.into(),
        source,
    })?;
    if cursor.chain_id != chain_id || cursor.escrow != escrow {
        return Err(CursorError::Foreign {
            path: path.into(),
            chain_id: cursor.chain_id,
            escrow: cursor.escrow,
        });
    }
    Ok(Some(cursor))
}

/// Saves the cursor atomically (tempfile: write, fsync, rename): a reader (or a crash)
/// sees the old file or the new one, never a mix.
///
/// # Errors
/// [`CursorError::Io`] when the file cannot be written or renamed.
pub fn save_cursor(path: &Path, cursor: &Cursor) -> Result<(), CursorError> {
    let io = |source| CursorError::Io {
        path: path.into(),
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // SAFETY of the expect: serialising plain data to JSON cannot fail.
    let json = serde_json::to_vec(cursor).expect("cursor serialises");
    // A temporary file beside the cursor, written and synced, then renamed over it.
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    tmp.write_all(&json).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    // Make the rename itself durable; not every filesystem allows syncing a dir.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Follows the chain into the registry.
#[derive(Debug)]
pub struct Follower<C> {
    chain: Arc<C>,
    registry: Arc<Registry>,
    metrics: Arc<Metrics>,
    cfg: FollowerConfig,
    deployment: Deployment,
    next_block: u64,
    status: watch::Sender<SyncStatus>,
    last_save: Instant,
    checkpoints: std::collections::VecDeque<Checkpoint>,
}

/// The last block read, its hash, and the sessions as of that block: what a rewind
/// returns to when a reorganisation replaces later blocks.
#[derive(Clone, Debug)]
struct Checkpoint {
    block: u64,
    hash: alloy_primitives::B256,
    sessions: Arc<Vec<SessionRecord>>,
}

/// Checkpoints kept (one per poll that read blocks): reorganisations deeper than this
/// many polls fall back to a rescan from `start_block`.
const CHECKPOINTS: usize = 8;

/// Which escrow on which chain (the cursor file is bound to it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// Chain id.
    pub chain_id: u64,
    /// Escrow address.
    pub escrow: Address,
}

/// Follower failures inside one poll.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// Chain access failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The cursor could not be saved.
    #[error(transparent)]
    Cursor(#[from] CursorError),
}

/// Blocks without events are cheap to read again after a crash: save the cursor for them
/// at most this often. Blocks with events are saved before the next poll.
const SAVE_EVERY: Duration = Duration::from_secs(30);

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
        Self {
            chain,
            registry,
            metrics,
            cfg,
            deployment,
            next_block,
            status,
            last_save: Instant::now(),
            checkpoints: std::collections::VecDeque::new(),
        }
    }

    fn save(&mut self) -> Result<(), CursorError> {
        self.last_save = Instant::now();
        save_cursor(
            &self.cfg.cursor_file,
            &Cursor {
                version: 1,
                chain_id: self.deployment.chain_id,
                escrow: self.deployment.escrow,
                next_block: self.next_block,
                sessions: self.registry.snapshot(),
            },
        )
    }

    /// Reads every confirmed block not read yet. Returns whether it reached the
    /// confirmed head.
    ///
    /// # Errors
    /// [`FollowError`] when the chain or the cursor file fails; progress made before
    /// the failure is kept (and saved).
    pub async fn poll(&mut self) -> Result<bool, FollowError> {
        let head = self.chain.head().await?;
        self.metrics.chain_head_block.set(head.number as i64);
        let authorized = self.chain.is_relayer().await?;
        if authorized != self.registry.authorized() {
            if authorized {
                info!("this account is in the escrow's relayer set again");
            } else {
                warn!(
                    "this account was removed from the escrow's relayer set: no stop will be sent"
                );
            }
            self.registry.set_authorized(authorized);
        }
        let Some(safe) = head.number.checked_sub(self.cfg.confirmations) else {
            return Ok(true);
        };
        self.check_reorg().await?;
        let read_from = self.next_block;
        // Whether events were applied since the last save.
        let mut changed = false;
        while self.next_block <= safe {
            let to = safe.min(self.next_block.saturating_add(self.cfg.chunk_blocks - 1));
            let logs = match self.chain.logs(self.next_block, to).await {
                Ok(logs) => logs,
                Err(e) => {
                    if changed {
                        self.save()?;
                    }
                    return Err(e.into());
                }
            };
            let undecodable = self.chain.undecodable_logs();
            self.metrics
                .follower_undecodable_logs
                .inc_by(undecodable.saturating_sub(self.metrics.follower_undecodable_logs.get()));
            for log in &logs {
                debug!(block = log.block, event = ?log.event, "escrow event");
                if !self.registry.apply(&log.event) {
                    if let crate::escrow::EscrowEvent::Started { id, .. } = log.event {
                        warn!(session = %id, block = log.block, "SessionStarted for a session never seen opened: is start_block after the escrow's deployment?");
                    }
                }
            }
            changed |= !logs.is_empty();
            self.next_block = to + 1;
            self.metrics.follower_next_block.set(self.next_block as i64);
            self.metrics
                .sessions_watched
                .set(self.registry.watched() as i64);
            if self.last_save.elapsed() >= SAVE_EVERY {
                self.save()?;
                changed = false;
            }
            self.status.send_replace(SyncStatus {
                next_block: self.next_block,
                head: head.number,
                caught_up: self.next_block > safe,
                chain_ok: true,
                authorized,
            });
        }
        if changed {
            self.save()?;
        }
        if self.next_block > read_from {
            self.checkpoint(changed).await?;
        }
        self.status.send_replace(SyncStatus {
            next_block: self.next_block,
            head: head.number,
            caught_up: true,
            chain_ok: true,
            authorized,
        });
        Ok(true)
    }

    /// Remembers the last block read (its hash and the sessions as of it).
    async fn checkpoint(&mut self, changed: bool) -> Result<(), FollowError> {
        let block = self.next_block - 1;
        let Some(hash) = self.chain.block_hash(block).await? else {
            return Ok(());
        };
        let sessions = match self.checkpoints.back() {
            Some(last) if !changed => last.sessions.clone(),
            _ => Arc::new(self.registry.snapshot()),
        };
        self.checkpoints.push_back(Checkpoint {
            block,
            hash,
            sessions,
        });
        if self.checkpoints.len() > CHECKPOINTS {
            self.checkpoints.pop_front();
        }
        Ok(())
    }

    /// Whether the last block read is still on the chain; if not, rewinds the sessions
    /// and the cursor to the latest checkpoint that is, and reads on from there.
    async fn check_reorg(&mut self) -> Result<(), FollowError> {
        let Some(last) = self.checkpoints.back() else {
            return Ok(());
        };
        if self.chain.block_hash(last.block).await? == Some(last.hash) {
            return Ok(());
        }
        self.metrics.follower_reorgs.inc();
        while let Some(cp) = self.checkpoints.pop_back() {
            if self.chain.block_hash(cp.block).await? == Some(cp.hash) {
                warn!(
                    rewound_to = cp.block,
                    was_at = self.next_block - 1,
                    "reorganisation: blocks already read were replaced; rewinding"
                );
                self.registry.rewind(&cp.sessions);
                self.next_block = cp.block + 1;
                self.checkpoints.push_back(cp);
                self.save()?;
                return Ok(());
            }
        }
        warn!(
            start_block = self.cfg.start_block,
            "reorganisation deeper than every checkpoint: reading again from start_block"
        );
        self.registry.rewind(&[]);
        self.next_block = self.cfg.start_block;
        self.save()?;
        Ok(())
    }

    /// Polls until cancelled; saves the cursor on the way out.
    pub async fn run(mut self, cancel: CancellationToken) {
        info!(next_block = self.next_block, "following escrow events");
        loop {
            match self.poll().await {
                Ok(_) => {}
                Err(e) => {
                    warn!(error = %e, "follower poll failed");
                    self.status.send_modify(|s| {
                        s.chain_ok = false;
                        s.caught_up = false;
                    });
                }
            }
            tokio::select! {
                () = tokio::time::sleep(self.cfg.poll_interval) => {}
                () = cancel.cancelled() => break,
            }
        }
        if let Err(e) = self.save() {
            warn!(error = %e, "could not save cursor at shutdown");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use alloy_primitives::U256;

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
        assert_eq!(f.next_block, 36);
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
