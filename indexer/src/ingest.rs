//! Ingestion: minuto-chain's reorg-safe [`Follower`] reads the four contracts' logs
//! (chunked ranges, a confirmation depth behind the head, checkpoints to rewind); this
//! module is its [`EventSource`] (one `eth_getLogs` over every followed address) and its
//! [`EventSink`], which hands what the follower applied to the [`Store`].
//!
//! The follower's sink interface is synchronous and in memory; the database is neither.
//! So the sink only buffers, and the buffer is written as one transaction together with
//! the cursor (`next_block` and its block's hash) before each new range is read and at
//! the end of every poll: memory stays bounded in a backfill, and the stored rows always
//! agree with the stored cursor. A rewind is written as "delete every row from the block
//! the follower reads next". When a write fails the follower is dropped and a new one
//! starts from the stored cursor: nothing is lost, nothing is counted twice (every row is
//! keyed by its log's place in the chain).
//!
//! Reorganisations across a restart (which the follower's in-memory checkpoints do not
//! see) are caught at start-up: the stored hashes of the cursor's block and of the
//! newest blocks with events are compared with the chain, and rows past the newest block
//! still on it are deleted.
//!
//! Several indexers may share one database: only the holder of the writer lease
//! ([`Store::claim_writer`]) follows the chain, fires reminders and delivers webhooks.
//! Every instance tries to take or renew the lease every poll interval (at most a third
//! of the lease); the holder publishes its progress with the renewal and the others serve
//! what it published and stored ([`Store::writer`]). When the holder stops renewing
//! (killed, cut off from the database) another takes over once the lease lapses and
//! resumes from the stored cursor; one that shuts down gives the lease up at once.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy_primitives::{Address, B256};
use minuto_chain::alloy::providers::{DynProvider, Provider};
use minuto_chain::alloy::rpc::types::{Filter, Log};
use minuto_chain::alloy::transports::TransportError;
use minuto_chain::follower::{
    Deployment, EventSink, EventSource, Follower, FollowerConfig, Located, Progress,
};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::events::{self, Indexed, Source};
use crate::store::{Batch, Cursor, Store, StoreError};

/// Ingestion failures.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The node failed.
    #[error("rpc: {0}")]
    Rpc(#[from] TransportError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The node has no block the follower expected (a node behind, or pruned).
    #[error("block {0} not found on the node")]
    MissingBlock(u64),
}

/// The contracts to follow.
#[derive(Clone, Debug)]
pub struct Contracts {
    /// Chain id.
    pub chain_id: u64,
    /// Followed addresses and what they are (the escrow among them).
    pub addresses: Vec<(Source, Address)>,
    /// The escrow (binds the database and the cursor file).
    pub escrow: Address,
    /// First block to read: the earliest deployment block.
    pub start_block: u64,
}

/// Where ingestion stands, for `/readyz` and the stats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// The follower's last report.
    pub progress: Progress,
    /// Logs that could not be decoded and were skipped.
    pub undecodable: u64,
    /// First block whose rows are not in the database yet (everything before it is
    /// stored and served).
    pub stored: u64,
    /// Rewinds written (rows of replaced blocks deleted) since start.
    pub rewinds: u64,
    /// The first block the latest rewind deleted rows from.
    pub rewound_from: u64,
}

/// What the sink applied and not yet written.
#[derive(Debug, Default)]
struct Pending {
    events: Vec<Located<Indexed>>,
    rewound: bool,
}

/// The follower's source: every followed contract's logs in one `eth_getLogs`.
pub struct Logs {
    provider: DynProvider,
    contracts: HashMap<Address, Source>,
    topics: Vec<B256>,
    store: Store,
    pending: Arc<Mutex<Pending>>,
    undecodable: std::sync::atomic::AtomicU64,
    status: watch::Sender<Status>,
    /// The cursor last written (`None`: not known, write the next one).
    flushed: Mutex<Option<u64>>,
}

impl std::fmt::Debug for Logs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logs")
            .field("contracts", &self.contracts)
            .finish_non_exhaustive()
    }
}

impl Logs {
    async fn hash(&self, number: u64) -> Result<B256, IngestError> {
        self.block_hash(number)
            .await?
            .ok_or(IngestError::MissingBlock(number))
    }

    /// Writes what the sink buffered, with the cursor at `next_block`.
    async fn flush(&self, next_block: u64) -> Result<(), IngestError> {
        let (events, rewound) = {
            let mut p = self.pending.lock().unwrap();
            (
                std::mem::take(&mut p.events),
                std::mem::take(&mut p.rewound),
            )
        };
        // Caught up on a quiet chain: nothing new to write (and no block hash to ask for).
        if events.is_empty() && !rewound && *self.flushed.lock().unwrap() == Some(next_block) {
            return Ok(());
        }
        *self.flushed.lock().unwrap() = None;
        let last_hash = match next_block.checked_sub(1) {
            Some(b) => self.hash(b).await?,
            None => B256::ZERO,
        };
        let batch = Batch {
            // After a rewind the follower reads again from `next_block`: every row from
            // there on came from replaced blocks (events buffered before the rewind too).
            rewind_from: rewound.then_some(next_block),
            events: events
                .into_iter()
                .filter(|e| !rewound || e.block < next_block)
                .collect(),
            cursor: Some(Cursor {
                next_block,
                last_hash,
            }),
        };
        self.store.write(&batch).await?;
        *self.flushed.lock().unwrap() = Some(next_block);
        self.status.send_modify(|s| {
            s.stored = next_block;
            if rewound {
                s.rewinds += 1;
                s.rewound_from = next_block;
            }
        });
        Ok(())
    }

    /// Decodes raw logs, fetching block timestamps the node left out.
    async fn decode(&self, mut raw: Vec<Log>) -> Result<Vec<Located<Indexed>>, IngestError> {
        raw.retain(|l| !l.removed);
        raw.sort_by_key(|l| (l.block_number, l.log_index));
        let mut times: BTreeMap<u64, u64> = BTreeMap::new();
        let mut out = Vec::with_capacity(raw.len());
        for l in raw {
            let (Some(block), Some(log_index), Some(block_hash)) =
                (l.block_number, l.log_index, l.block_hash)
            else {
                continue;
            };
            let Some(&source) = self.contracts.get(&l.address()) else {
                continue;
            };
            let (name, fact) = match events::decode(source, l.data()) {
                Ok(d) => d,
                Err(e) => {
                    self.undecodable
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    warn!(block, log_index, error = %e, "undecodable log skipped");
                    continue;
                }
            };
            let ts = match l.block_timestamp {
                Some(t) => t,
                None => match times.get(&block) {
                    Some(&t) => t,
                    None => {
                        let b = self
                            .provider
                            .get_block_by_number(block.into())
                            .await?
                            .ok_or(IngestError::MissingBlock(block))?;
                        times.insert(block, b.header.timestamp);
                        b.header.timestamp
                    }
                },
            };
            out.push(Located {
                block,
                log_index,
                event: Indexed {
                    block_hash,
                    tx_hash: l.transaction_hash.unwrap_or_default(),
                    ts,
                    source,
                    name,
                    fact,
                },
            });
        }
        Ok(out)
    }
}

impl EventSource for Logs {
    type Event = Indexed;
    type Error = IngestError;

    async fn head(&self) -> Result<u64, IngestError> {
        Ok(self.provider.get_block_number().await?)
    }

    async fn logs(&self, from: u64, to: u64) -> Result<Vec<Located<Indexed>>, IngestError> {
        // Everything before `from` has been applied: write it before reading on.
        self.flush(from).await?;
        let filter = Filter::new()
            .address(self.contracts.keys().copied().collect::<Vec<_>>())
            .event_signature(self.topics.clone())
            .from_block(from)
            .to_block(to);
        let raw = self.provider.get_logs(&filter).await?;
        self.decode(raw).await
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>, IngestError> {
        let block = self.provider.get_block_by_number(number.into()).await?;
        Ok(block.map(|b| b.header.hash))
    }
}

/// The follower's sink: buffers for [`Logs::flush`], reports progress.
pub struct Buffer {
    pending: Arc<Mutex<Pending>>,
    status: watch::Sender<Status>,
}

impl EventSink<Indexed> for Buffer {
    /// The block the state runs through (the database holds the state itself).
    type Snapshot = u64;

    fn apply(&self, log: &Located<Indexed>) {
        self.pending.lock().unwrap().events.push(log.clone());
    }

    fn snapshot(&self) -> u64 {
        self.status.borrow().progress.next_block
    }

    fn rewind(&self, _to: Option<&u64>) {
        // Where the follower reads next is what the rows must be rewound to: the flush
        // before that read deletes from there (see `Logs::flush`).
        self.pending.lock().unwrap().rewound = true;
    }

    fn progress(&self, progress: &Progress) {
        self.status.send_modify(|s| s.progress = *progress);
    }
}

/// Ingestion settings.
#[derive(Clone, Debug)]
pub struct IngestConfig {
    /// Blocks a log must be buried under.
    pub confirmations: u64,
    /// Largest block range per `eth_getLogs`.
    pub chunk_blocks: u64,
    /// Pause between polls once caught up (and after errors).
    pub poll_interval: Duration,
    /// How long the writer lease lasts without renewal (several instances on one
    /// database: another takes over after it lapses).
    pub writer_lease: Duration,
}

/// Where a start or restart resumes: the stored cursor if its block is still on the
/// chain; else after the newest stored block that is (rows past it deleted).
async fn resume(source: &Logs, contracts: &Contracts) -> Result<u64, IngestError> {
    let store = &source.store;
    let Some(cursor) = store.bind(contracts.chain_id, contracts.escrow).await? else {
        return Ok(contracts.start_block);
    };
    let on_chain = |n: u64, h: B256| async move {
        Ok::<_, IngestError>(source.block_hash(n).await? == Some(h))
    };
    if cursor.next_block == 0
        || cursor.last_hash == B256::ZERO
        || on_chain(cursor.next_block - 1, cursor.last_hash).await?
    {
        return Ok(cursor.next_block.max(contracts.start_block));
    }
    let mut from = contracts.start_block;
    for (block, hash) in store.recent_blocks(256).await? {
        if on_chain(block, hash).await? {
            from = block + 1;
            break;
        }
    }
    warn!(
        was = cursor.next_block,
        from, "stored blocks were replaced while stopped: rewinding"
    );
    let last_hash = match from.checked_sub(1) {
        Some(b) => source.hash(b).await?,
        None => B256::ZERO,
    };
    store
        .write(&Batch {
            rewind_from: Some(from),
            events: vec![],
            cursor: Some(Cursor {
                next_block: from,
                last_hash,
            }),
        })
        .await?;
    source.status.send_modify(|s| {
        s.rewinds += 1;
        s.rewound_from = from;
    });
    Ok(from)
}

/// Fires the booking reminders due by `clock` once ingestion has caught up (a booking's
/// state is then the chain's, as far as the confirmations allow), between two batches:
/// their place in the notification streams is after every stored log.
async fn reminders(
    store: &Store,
    clock: &crate::notify::Clock,
    status: &watch::Sender<Status>,
) -> Result<(), IngestError> {
    let s = *status.borrow();
    if !s.progress.caught_up || s.stored < s.progress.next_block {
        return Ok(());
    }
    let fired = crate::booking::fire_reminders(store, clock(), s.stored).await?;
    if fired > 0 {
        // Wakes the notification streams.
        status.send_modify(|_| {});
    }
    Ok(())
}

/// Follows the contracts into `store` until `stop` while this instance holds the writer
/// lease, and serves the holder's progress while another does; `status` reports progress,
/// `writer` whether this instance holds the lease.
///
/// # Errors
/// Only when the database belongs to another deployment ([`StoreError::Foreign`]);
/// other failures are logged and retried after `poll_interval`.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    provider: DynProvider,
    store: Store,
    contracts: Contracts,
    cfg: IngestConfig,
    clock: crate::notify::Clock,
    status: watch::Sender<Status>,
    writer: watch::Sender<bool>,
    stop: CancellationToken,
) -> Result<(), IngestError> {
    // Readers too refuse another deployment's database.
    loop {
        match store.bind(contracts.chain_id, contracts.escrow).await {
            Ok(_) => break,
            Err(e @ StoreError::Foreign { .. }) => return Err(e.into()),
            Err(e) => warn!(error = %e, "cannot read the database's cursor; retrying"),
        }
        tokio::select! {
            () = stop.cancelled() => return Ok(()),
            () = tokio::time::sleep(cfg.poll_interval) => {}
        }
    }
    let lease = tokio::spawn(hold_lease(
        store.clone(),
        cfg.clone(),
        status.clone(),
        writer.clone(),
        stop.clone(),
    ));
    let mut role = writer.subscribe();
    let result = loop {
        tokio::select! {
            () = stop.cancelled() => break Ok(()),
            r = role.wait_for(|w| *w) => if r.is_err() { break Ok(()) },
        }
        // Not caught up until this instance's follower says so (what a predecessor
        // published says nothing about this one's node); the rewinds the last holder
        // wrote after this instance last read them: its streams must move back for them.
        let last = loop {
            match store.writer().await {
                Ok(w) => break w.status,
                Err(e) => warn!(error = %e, "cannot read the writer lease; retrying"),
            }
            tokio::select! {
                () = stop.cancelled() => break *status.borrow(),
                () = tokio::time::sleep(cfg.poll_interval) => {}
            }
        };
        status.send_modify(|s| {
            s.progress.caught_up = false;
            (s.rewinds, s.rewound_from) = (last.rewinds, last.rewound_from);
        });
        // Until stopped, or a write is refused because another process holds the lease
        // (a write in flight when the lease passes on is refused: it commits only if its
        // process held the lease then). Not on a renewal that failed or came late: the
        // lease row, not this instance's view of it, decides.
        let followed = follow(&provider, &store, &contracts, &cfg, &clock, &status, &stop).await;
        match followed {
            Ok(()) => {}
            Err(IngestError::Store(StoreError::NotWriter)) => {
                warn!("another indexer took the writer lease: serving what it stores");
                writer.send_replace(false);
            }
            Err(e) => break Err(e),
        }
    };
    stop.cancel();
    let _ = lease.await;
    if *writer.borrow() {
        if let Err(e) = store.release_writer().await {
            warn!(error = %e, "cannot give the writer lease up");
        }
    }
    result
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Takes or renews the writer lease every poll interval (at most a third of the lease)
/// until `stop`; while another instance holds it, copies what that one published and
/// stored into `status`.
async fn hold_lease(
    store: Store,
    cfg: IngestConfig,
    status: watch::Sender<Status>,
    writer: watch::Sender<bool>,
    stop: CancellationToken,
) {
    let tick = cfg.poll_interval.min(cfg.writer_lease / 3);
    // Until when (this clock) the lease is surely held, after the last renewal.
    let mut held_until: Option<tokio::time::Instant> = None;
    // This process's first claim answered may take back a lease its name held.
    let mut reclaim = true;
    let not_caught_up = |status: &watch::Sender<Status>| {
        status.send_if_modified(|s| std::mem::replace(&mut s.progress.caught_up, false));
    };
    loop {
        let asked = tokio::time::Instant::now();
        let published = *status.borrow();
        let claim = store.claim_writer(unix_ms(), cfg.writer_lease, &published, reclaim);
        // A claim that outlasts the lease held (a saturated pool, a locked database)
        // must not leave this instance ingesting and delivering as if it still held it.
        let claimed = match held_until {
            Some(until) => tokio::select! {
                r = claim => Some(r),
                () = tokio::time::sleep_until(until) => None,
            },
            None => Some(claim.await),
        };
        match claimed {
            None => {
                warn!("the writer lease lapsed while renewing it: not delivering webhooks");
                held_until = None;
                writer.send_replace(false);
                not_caught_up(&status);
            }
            Some(Ok(true)) => {
                reclaim = false;
                held_until = Some(asked + cfg.writer_lease);
                if !writer.send_replace(true) {
                    info!(
                        instance = store.instance(),
                        "took the writer lease: ingesting"
                    );
                }
            }
            Some(Ok(false)) => {
                reclaim = false;
                held_until = None;
                if writer.send_replace(false) {
                    warn!("the writer lease passed to another indexer");
                }
                match store.writer().await {
                    Ok(mut w) => {
                        // A holder that stopped renewing is not ingesting.
                        w.status.progress.caught_up &= w.until >= unix_ms();
                        status.send_if_modified(|s| std::mem::replace(s, w.status) != w.status);
                    }
                    Err(e) => {
                        warn!(error = %e, "cannot read the writer's progress");
                        not_caught_up(&status);
                    }
                }
            }
            Some(Err(e)) => {
                warn!(error = %e, "cannot renew the writer lease");
                if held_until.is_none_or(|t| tokio::time::Instant::now() >= t) {
                    held_until = None;
                    writer.send_replace(false);
                    not_caught_up(&status);
                }
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(tick) => {}
        }
    }
}

/// Follows the contracts into `store` until `stop` (or the lease is lost).
async fn follow(
    provider: &DynProvider,
    store: &Store,
    contracts: &Contracts,
    cfg: &IngestConfig,
    clock: &crate::notify::Clock,
    status: &watch::Sender<Status>,
    stop: &CancellationToken,
) -> Result<(), IngestError> {
    // The follower saves a cursor file of its own; the database's cursor is the one that
    // counts, so the file goes to a private directory.
    let scratch = tempfile::tempdir().map_err(|e| StoreError::Corrupt {
        column: "temporary directory",
        value: e.to_string(),
    })?;
    let mut topics = Vec::new();
    for (source, _) in &contracts.addresses {
        topics.extend(events::topics(*source));
    }
    let pending = Arc::new(Mutex::new(Pending::default()));
    let logs = Arc::new(Logs {
        provider: provider.clone(),
        contracts: contracts.addresses.iter().map(|(s, a)| (*a, *s)).collect(),
        topics,
        store: store.clone(),
        pending: Arc::clone(&pending),
        undecodable: std::sync::atomic::AtomicU64::new(0),
        status: status.clone(),
        flushed: Mutex::new(None),
    });
    let follower_cfg = FollowerConfig {
        confirmations: cfg.confirmations,
        start_block: contracts.start_block,
        cursor_file: scratch.path().join("cursor.json"),
        chunk_blocks: cfg.chunk_blocks,
        poll_interval: cfg.poll_interval,
    };
    let deployment = Deployment {
        chain_id: contracts.chain_id,
        escrow: contracts.escrow,
    };
    'restart: loop {
        *pending.lock().unwrap() = Pending::default();
        *logs.flushed.lock().unwrap() = None;
        let next = loop {
            match resume(&logs, contracts).await {
                Ok(n) => break n,
                Err(IngestError::Store(
                    e @ (StoreError::Foreign { .. } | StoreError::NotWriter),
                )) => return Err(e.into()),
                Err(e) => {
                    warn!(error = %e, "cannot resume ingestion; retrying");
                    tokio::select! {
                        () = stop.cancelled() => return Ok(()),
                        () = tokio::time::sleep(cfg.poll_interval) => {}
                    }
                }
            }
        };
        status.send_modify(|s| s.stored = next);
        info!(next_block = next, "ingesting");
        let sink = Buffer {
            pending: Arc::clone(&pending),
            status: status.clone(),
        };
        let mut follower = Follower::new(
            Arc::clone(&logs),
            sink,
            follower_cfg.clone(),
            deployment,
            next,
        );
        loop {
            let result = match follower.poll().await {
                Ok(_) => match logs.flush(follower.next_block()).await {
                    Ok(()) => reminders(&logs.store, clock, status).await,
                    Err(e) => Err(e),
                },
                Err(minuto_chain::follower::FollowError::Source(e)) => Err(e),
                Err(minuto_chain::follower::FollowError::Cursor(e)) => {
                    warn!(error = %e, "follower's scratch cursor file");
                    Ok(())
                }
            };
            status.send_modify(|s| {
                s.undecodable = logs.undecodable.load(std::sync::atomic::Ordering::Relaxed);
            });
            if let Err(e) = result {
                if let IngestError::Store(StoreError::NotWriter) = e {
                    return Err(e);
                }
                warn!(error = %e, "ingestion poll failed; resuming from the stored cursor");
                status.send_modify(|s| s.progress.caught_up = false);
                tokio::select! {
                    () = stop.cancelled() => return Ok(()),
                    () = tokio::time::sleep(cfg.poll_interval) => {}
                }
                continue 'restart;
            }
            tokio::select! {
                () = stop.cancelled() => return Ok(()),
                () = tokio::time::sleep(cfg.poll_interval) => {}
            }
        }
    }
}
