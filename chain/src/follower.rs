//! The reorg-safe event follower: reads a contract's events a confirmation depth behind
//! the head, in bounded block ranges, into an [`EventSink`]; keeps checkpoints (the last
//! blocks' hashes and the sink's state as of them) to rewind when a reorganisation
//! replaces blocks already read; and saves a cursor file (next block + the sink's state)
//! atomically, so a restart resumes instead of rescanning.
//!
//! [`ContractLogs`] is the [`EventSource`] over an alloy provider; tests put a double
//! behind the trait instead.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, LogData, B256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{Filter, Log};
use alloy::transports::TransportError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tracing::{debug, warn};

/// A decoded event with its place in the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<E> {
    /// Block number.
    pub block: u64,
    /// Index of the log in its block.
    pub log_index: u64,
    /// The decoded event.
    pub event: E,
}

/// Where the follower reads.
pub trait EventSource: Send + Sync + 'static {
    /// A decoded event.
    type Event: fmt::Debug + Send + Sync;
    /// Why a read failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The latest block number.
    fn head(&self) -> impl Future<Output = Result<u64, Self::Error>> + Send;

    /// The contract's events in blocks `from..=to`, in chain order.
    fn logs(
        &self,
        from: u64,
        to: u64,
    ) -> impl Future<Output = Result<Vec<Located<Self::Event>>, Self::Error>> + Send;

    /// The hash of block `number` (`None`: unknown, or not tracked).
    fn block_hash(
        &self,
        number: u64,
    ) -> impl Future<Output = Result<Option<B256>, Self::Error>> + Send;
}

/// What the follower builds from the events (the relayer's session registry, an index).
pub trait EventSink<E>: Send + Sync + 'static {
    /// The state as of a block: kept in checkpoints and saved in the cursor file.
    type Snapshot: Clone + Serialize + DeserializeOwned + Send + Sync + 'static;

    /// Takes in one event, in chain order.
    fn apply(&self, log: &Located<E>);

    /// The state now.
    fn snapshot(&self) -> Self::Snapshot;

    /// Returns to `to` (`None`: to before any event) after a reorganisation.
    fn rewind(&self, to: Option<&Self::Snapshot>);

    /// Told after every block range read and at the end of each poll.
    fn progress(&self, progress: &Progress) {
        let _ = progress;
    }
}

/// Where the follower stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// First block not yet read.
    pub next_block: u64,
    /// Latest head seen.
    pub head: u64,
    /// Whether the confirmed head was reached.
    pub caught_up: bool,
    /// Reorganisations of blocks already read, rewound so far.
    pub reorgs: u64,
}

/// Follower settings.
#[derive(Clone, Debug)]
pub struct FollowerConfig {
    /// Blocks a log must be buried under before it is read.
    pub confirmations: u64,
    /// First block to read when there is no cursor file.
    pub start_block: u64,
    /// Where the cursor (and the state it implies) is saved.
    pub cursor_file: PathBuf,
    /// Largest block range per `eth_getLogs`.
    pub chunk_blocks: u64,
    /// Pause between polls once caught up (and after errors).
    pub poll_interval: Duration,
}

/// Which contract on which chain (the cursor file is bound to it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// Chain id.
    pub chain_id: u64,
    /// The followed contract.
    pub escrow: Address,
}

/// The cursor file's content. The field names are the relayer's first format's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor<S> {
    /// Format version.
    pub version: u32,
    /// Chain it belongs to.
    pub chain_id: u64,
    /// Contract it belongs to.
    pub escrow: Address,
    /// First block not yet read.
    pub next_block: u64,
    /// The sink's state as of `next_block − 1`.
    pub sessions: S,
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
    /// The file belongs to another chain or contract.
    #[error("cursor file {path} belongs to chain {chain_id} / escrow {escrow}, not this one; move it away or point cursor_file elsewhere")]
    Foreign {
        /// File.
        path: PathBuf,
        /// Its chain.
        chain_id: u64,
        /// Its contract.
        escrow: Address,
    },
}

/// Loads the cursor, if the file exists.
///
/// # Errors
/// [`CursorError`] when the file is unreadable, corrupt, or for another deployment.
pub fn load_cursor<S: DeserializeOwned>(
    path: &Path,
    chain_id: u64,
    escrow: Address,
) -> Result<Option<Cursor<S>>, CursorError> {
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
    let cursor: Cursor<S> =
        serde_json::from_slice(&bytes).map_err(|source| CursorError::Corrupt {
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
pub fn save_cursor<S: Serialize>(path: &Path, cursor: &Cursor<S>) -> Result<(), CursorError> {
    let io = |source| CursorError::Io {
        path: path.into(),
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let json = serde_json::to_vec(cursor).map_err(|e| io(e.into()))?;
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

/// Follower failures inside one poll.
#[derive(Debug, thiserror::Error)]
pub enum FollowError<E: std::error::Error + 'static> {
    /// Reading the chain failed.
    #[error(transparent)]
    Source(E),
    /// The cursor could not be saved.
    #[error(transparent)]
    Cursor(#[from] CursorError),
}

/// The last block read, its hash, and the sink's state as of that block: what a rewind
/// returns to when a reorganisation replaces later blocks.
#[derive(Clone, Debug)]
struct Checkpoint<S> {
    block: u64,
    hash: B256,
    state: Arc<S>,
}

/// Checkpoints kept (one per poll that read blocks): reorganisations deeper than this
/// many polls fall back to a rescan from `start_block`.
const CHECKPOINTS: usize = 8;

/// Blocks without events are cheap to read again after a crash: save the cursor for them
/// at most this often. Blocks with events are saved before the next poll.
const SAVE_EVERY: Duration = Duration::from_secs(30);

/// Follows `S`'s events into `K`.
#[derive(Debug)]
pub struct Follower<S, K: EventSink<S::Event>>
where
    S: EventSource,
{
    source: Arc<S>,
    sink: K,
    cfg: FollowerConfig,
    deployment: Deployment,
    next_block: u64,
    reorgs: u64,
    last_save: Instant,
    checkpoints: VecDeque<Checkpoint<K::Snapshot>>,
}

impl<S: EventSource, K: EventSink<S::Event>> Follower<S, K> {
    /// A follower starting at `next_block` (from the cursor, or `start_block`).
    pub fn new(
        source: Arc<S>,
        sink: K,
        cfg: FollowerConfig,
        deployment: Deployment,
        next_block: u64,
    ) -> Self {
        Self {
            source,
            sink,
            cfg,
            deployment,
            next_block,
            reorgs: 0,
            last_save: Instant::now(),
            checkpoints: VecDeque::new(),
        }
    }

    /// The sink.
    pub fn sink(&self) -> &K {
        &self.sink
    }

    /// First block not yet read.
    pub fn next_block(&self) -> u64 {
        self.next_block
    }

    /// The settings.
    pub fn config(&self) -> &FollowerConfig {
        &self.cfg
    }

    /// Saves the cursor now.
    ///
    /// # Errors
    /// [`CursorError::Io`].
    pub fn save(&mut self) -> Result<(), CursorError> {
        self.last_save = Instant::now();
        save_cursor(
            &self.cfg.cursor_file,
            &Cursor {
                version: 1,
                chain_id: self.deployment.chain_id,
                escrow: self.deployment.escrow,
                next_block: self.next_block,
                sessions: self.sink.snapshot(),
            },
        )
    }

    fn progress(&self, head: u64, caught_up: bool) {
        self.sink.progress(&Progress {
            next_block: self.next_block,
            head,
            caught_up,
            reorgs: self.reorgs,
        });
    }

    /// Reads every confirmed block not read yet. Returns whether it reached the
    /// confirmed head.
    ///
    /// # Errors
    /// [`FollowError`] when the chain or the cursor file fails; progress made before
    /// the failure is kept (and saved).
    pub async fn poll(&mut self) -> Result<bool, FollowError<S::Error>> {
        let head = self.source.head().await.map_err(FollowError::Source)?;
        let Some(safe) = head.checked_sub(self.cfg.confirmations) else {
            return Ok(true);
        };
        self.check_reorg().await?;
        let read_from = self.next_block;
        // Whether events were applied since the last save, and since this poll began (the
        // checkpoint's state must hold them even when a periodic save came in between).
        let (mut unsaved, mut applied) = (false, false);
        while self.next_block <= safe {
            let to = safe.min(self.next_block.saturating_add(self.cfg.chunk_blocks - 1));
            let logs = match self.source.logs(self.next_block, to).await {
                Ok(logs) => logs,
                Err(e) => {
                    if unsaved {
                        self.save()?;
                    }
                    return Err(FollowError::Source(e));
                }
            };
            for log in &logs {
                debug!(block = log.block, event = ?log.event, "event");
                self.sink.apply(log);
            }
            unsaved |= !logs.is_empty();
            applied |= !logs.is_empty();
            self.next_block = to + 1;
            if self.last_save.elapsed() >= SAVE_EVERY {
                self.save()?;
                unsaved = false;
            }
            self.progress(head, self.next_block > safe);
        }
        if unsaved {
            self.save()?;
        }
        if self.next_block > read_from {
            self.checkpoint(applied).await?;
        }
        self.progress(head, true);
        Ok(true)
    }

    /// Remembers the last block read (its hash and the state as of it).
    async fn checkpoint(&mut self, changed: bool) -> Result<(), FollowError<S::Error>> {
        let block = self.next_block - 1;
        let Some(hash) = self
            .source
            .block_hash(block)
            .await
            .map_err(FollowError::Source)?
        else {
            return Ok(());
        };
        let state = match self.checkpoints.back() {
            Some(last) if !changed => last.state.clone(),
            _ => Arc::new(self.sink.snapshot()),
        };
        self.checkpoints
            .push_back(Checkpoint { block, hash, state });
        if self.checkpoints.len() > CHECKPOINTS {
            self.checkpoints.pop_front();
        }
        Ok(())
    }

    async fn on_chain(&self, block: u64, hash: B256) -> Result<bool, FollowError<S::Error>> {
        Ok(self
            .source
            .block_hash(block)
            .await
            .map_err(FollowError::Source)?
            == Some(hash))
    }

    /// Whether the last block read is still on the chain; if not, rewinds the sink and
    /// the cursor to the latest checkpoint that is, and reads on from there.
    async fn check_reorg(&mut self) -> Result<(), FollowError<S::Error>> {
        let Some(last) = self.checkpoints.back() else {
            return Ok(());
        };
        if self.on_chain(last.block, last.hash).await? {
            return Ok(());
        }
        self.reorgs += 1;
        while let Some(cp) = self.checkpoints.pop_back() {
            if self.on_chain(cp.block, cp.hash).await? {
                warn!(
                    rewound_to = cp.block,
                    was_at = self.next_block - 1,
                    "reorganisation: blocks already read were replaced; rewinding"
                );
                self.sink.rewind(Some(&cp.state));
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
        self.sink.rewind(None);
        self.next_block = self.cfg.start_block;
        self.save()?;
        Ok(())
    }
}

/// A contract's logs through an alloy provider, decoded by `decode`. A log that does
/// not decode (an ABI change this program does not know yet, a node's bug) is skipped
/// and counted, never a reason to stop following: one bad log would otherwise halt
/// every later event.
pub struct ContractLogs<E, D> {
    provider: DynProvider,
    address: Address,
    topics: Vec<B256>,
    decode: D,
    undecodable: AtomicU64,
    _event: std::marker::PhantomData<fn() -> E>,
}

impl<E, D> fmt::Debug for ContractLogs<E, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContractLogs")
            .field("address", &self.address)
            .field("undecodable", &self.undecodable)
            .finish_non_exhaustive()
    }
}

impl<E, D, X> ContractLogs<E, D>
where
    D: Fn(&LogData) -> Result<E, X>,
    X: fmt::Display,
{
    /// Logs of `address` whose topic 0 is one of `topics`.
    pub fn new(provider: DynProvider, address: Address, topics: Vec<B256>, decode: D) -> Self {
        Self {
            provider,
            address,
            topics,
            decode,
            undecodable: AtomicU64::new(0),
            _event: std::marker::PhantomData,
        }
    }

    /// Logs skipped so far because they could not be decoded.
    pub fn undecodable(&self) -> u64 {
        self.undecodable.load(Ordering::Relaxed)
    }

    /// `eth_getLogs` for blocks `from..=to`, decoded, in chain order.
    ///
    /// # Errors
    /// The node's.
    pub async fn fetch(&self, from: u64, to: u64) -> Result<Vec<Located<E>>, TransportError> {
        let filter = Filter::new()
            .address(self.address)
            .event_signature(self.topics.clone())
            .from_block(from)
            .to_block(to);
        let raw = self.provider.get_logs(&filter).await?;
        let (logs, skipped) = decode_logs(raw, self.address, &self.decode);
        self.undecodable.fetch_add(skipped, Ordering::Relaxed);
        Ok(logs)
    }
}

/// The events of `address` among `raw`, in chain order, and how many logs could not be
/// decoded (skipped, with a warning).
pub fn decode_logs<E, X: fmt::Display>(
    mut raw: Vec<Log>,
    address: Address,
    decode: impl Fn(&LogData) -> Result<E, X>,
) -> (Vec<Located<E>>, u64) {
    raw.retain(|l| !l.removed && l.address() == address);
    raw.sort_by_key(|l| (l.block_number, l.log_index));
    let mut skipped = 0;
    let logs = raw
        .into_iter()
        .filter_map(|l| {
            let (block, log_index) = (l.block_number?, l.log_index?);
            match decode(l.data()) {
                Ok(event) => Some(Located {
                    block,
                    log_index,
                    event,
                }),
                Err(e) => {
                    skipped += 1;
                    warn!(block, log_index, error = %e, "undecodable log skipped");
                    None
                }
            }
        })
        .collect();
    (logs, skipped)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use alloy::primitives::{Bytes, U256};
    use alloy::sol_types::SolEvent;

    use super::*;
    use crate::bindings::ISessionEscrow;

    /// Events are block numbers; blocks from `fork_from` on hash differently per fork.
    #[derive(Default)]
    struct Chain {
        head: Mutex<u64>,
        events: Mutex<Vec<u64>>,
        fork: Mutex<(u64, u8)>,
        ranges: Mutex<Vec<(u64, u64)>>,
    }

    impl EventSource for Chain {
        type Event = u64;
        type Error = std::io::Error;
        async fn head(&self) -> Result<u64, std::io::Error> {
            Ok(*self.head.lock().unwrap())
        }
        async fn logs(&self, from: u64, to: u64) -> Result<Vec<Located<u64>>, std::io::Error> {
            self.ranges.lock().unwrap().push((from, to));
            let events = self.events.lock().unwrap();
            Ok(events
                .iter()
                .filter(|b| (from..=to).contains(b))
                .map(|&block| Located {
                    block,
                    log_index: 0,
                    event: block,
                })
                .collect())
        }
        async fn block_hash(&self, n: u64) -> Result<Option<B256>, std::io::Error> {
            let (from, fork) = *self.fork.lock().unwrap();
            let mut h = [0u8; 32];
            h[..8].copy_from_slice(&n.to_be_bytes());
            h[31] = if n >= from { fork } else { 0 };
            Ok(Some(h.into()))
        }
    }

    /// The state is the list of events seen.
    #[derive(Default)]
    struct Seen(Mutex<Vec<u64>>);

    impl EventSink<u64> for Seen {
        type Snapshot = Vec<u64>;
        fn apply(&self, log: &Located<u64>) {
            self.0.lock().unwrap().push(log.event);
        }
        fn snapshot(&self) -> Vec<u64> {
            self.0.lock().unwrap().clone()
        }
        fn rewind(&self, to: Option<&Vec<u64>>) {
            *self.0.lock().unwrap() = to.cloned().unwrap_or_default();
        }
    }

    const DEPLOYMENT: Deployment = Deployment {
        chain_id: 31337,
        escrow: Address::repeat_byte(0xe5),
    };

    fn follower(chain: &Arc<Chain>, cursor: &Path, next_block: u64) -> Follower<Chain, Seen> {
        let cfg = FollowerConfig {
            confirmations: 5,
            start_block: 0,
            cursor_file: cursor.to_owned(),
            chunk_blocks: 10,
            poll_interval: Duration::from_millis(10),
        };
        Follower::new(chain.clone(), Seen::default(), cfg, DEPLOYMENT, next_block)
    }

    #[tokio::test]
    async fn follows_in_chunks_resumes_from_the_cursor_and_rewinds_reorgs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cursor.json");
        let chain = Arc::new(Chain::default());
        *chain.head.lock().unwrap() = 40;
        *chain.events.lock().unwrap() = vec![3, 12, 31, 32];
        *chain.fork.lock().unwrap() = (30, 0);
        let mut f = follower(&chain, &path, 0);
        assert!(f.poll().await.unwrap());
        // Head 40, 5 confirmations: blocks 0..=35, at most 10 a request.
        assert_eq!(
            *chain.ranges.lock().unwrap(),
            vec![(0, 9), (10, 19), (20, 29), (30, 35)]
        );
        assert_eq!(f.sink().snapshot(), vec![3, 12, 31, 32]);
        let cursor: Cursor<Vec<u64>> = load_cursor(&path, 31337, DEPLOYMENT.escrow)
            .unwrap()
            .unwrap();
        assert_eq!((cursor.next_block, cursor.sessions.len()), (36, 4));
        assert!(matches!(
            load_cursor::<Vec<u64>>(&path, 1, DEPLOYMENT.escrow),
            Err(CursorError::Foreign {
                chain_id: 31337,
                ..
            })
        ));

        // Blocks from 30 on are replaced (deeper than the one checkpoint, at 35: read
        // again from start_block); on the new fork block 32 has no event.
        *chain.fork.lock().unwrap() = (30, 1);
        chain.events.lock().unwrap().retain(|&b| b != 32);
        f.poll().await.unwrap();
        assert_eq!(f.sink().snapshot(), vec![3, 12, 31]);
        assert_eq!(f.next_block(), 36);

        // A restart resumes after the cursor's block with the cursor's state.
        chain.ranges.lock().unwrap().clear();
        *chain.head.lock().unwrap() = 50;
        let cursor: Cursor<Vec<u64>> = load_cursor(&path, 31337, DEPLOYMENT.escrow)
            .unwrap()
            .unwrap();
        let mut f = follower(&chain, &path, cursor.next_block);
        f.sink().rewind(Some(&cursor.sessions));
        f.poll().await.unwrap();
        assert_eq!(*chain.ranges.lock().unwrap(), vec![(36, 45)]);
        assert_eq!(f.sink().snapshot(), vec![3, 12, 31]);
    }

    /// A periodic save in the middle of a poll does not make the poll's checkpoint forget
    /// the events applied before it: a later rewind to that checkpoint keeps them.
    #[tokio::test]
    async fn a_checkpoint_after_a_periodic_save_holds_the_polls_events() {
        let dir = tempfile::tempdir().unwrap();
        let chain = Arc::new(Chain::default());
        *chain.head.lock().unwrap() = 20;
        *chain.events.lock().unwrap() = vec![3];
        let mut f = follower(&chain, &dir.path().join("cursor.json"), 0);
        f.poll().await.unwrap(); // blocks 0..=15; checkpoint at 15 holds [3]
                                 // Events at 17 and 22; the next poll saves in its first chunk (the save is due).
        *chain.head.lock().unwrap() = 40;
        *chain.events.lock().unwrap() = vec![3, 17, 22];
        f.last_save = Instant::now().checked_sub(SAVE_EVERY).unwrap();
        f.poll().await.unwrap(); // blocks 16..=35; checkpoint at 35
        assert_eq!(f.checkpoints.back().unwrap().block, 35);
        assert_eq!(*f.checkpoints.back().unwrap().state, vec![3, 17, 22]);
        // One more poll (checkpoint at 45), then blocks from 40 on are replaced: the
        // rewind goes back to the checkpoint at 35, whose state keeps 17 and 22.
        *chain.head.lock().unwrap() = 50;
        f.poll().await.unwrap();
        *chain.fork.lock().unwrap() = (40, 1);
        f.poll().await.unwrap();
        assert_eq!(f.sink().snapshot(), vec![3, 17, 22]);
        assert_eq!(f.next_block(), 46);
    }

    #[test]
    fn decode_logs_skips_and_counts_what_it_cannot_decode() {
        let escrow = Address::repeat_byte(0xe5);
        let topped = ISessionEscrow::SessionToppedUp {
            id: U256::from(7),
            amount: U256::from(1),
            deposited: U256::from(11),
        }
        .encode_log_data();
        let log = |block: u64, data: Bytes| Log {
            inner: alloy::primitives::Log {
                address: escrow,
                data: LogData::new_unchecked(topped.topics().to_vec(), data),
            },
            block_number: Some(block),
            log_index: Some(0),
            ..Log::default()
        };
        let raw = vec![
            log(3, topped.data.clone()),
            // SessionToppedUp's topic with truncated data: not decodable.
            log(2, Bytes::from(vec![0u8; 5])),
        ];
        let (logs, skipped) = decode_logs(raw, escrow, |d| {
            ISessionEscrow::SessionToppedUp::decode_log_data(d)
        });
        assert_eq!(skipped, 1);
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].block, 3);
        assert_eq!(logs[0].event.deposited, U256::from(11));
    }
}
