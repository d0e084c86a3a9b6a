//! Safe submission of `stopAt`: one dry run (the gas estimate, whose revert says why the
//! escrow would refuse), nonce management, EIP-1559 fees with bumping and resubmission
//! under the same nonce, bounded retries, idempotence. Receipts are watched per block
//! (`eth_getBlockReceipts`, one request a block for every stop in flight), with a
//! per-transaction look-up only before a stop is replaced.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alloy_primitives::{B256, U256};
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::chain::{ChainError, StopOutcome};
pub use crate::chain::{Fees, PendingStop, SentStop};

/// What a dry run of `stopAt` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Precheck {
    /// It would succeed; the gas it needs.
    Ok {
        /// Estimated gas.
        gas: u64,
    },
    /// The session has already ended or was cancelled.
    AlreadyEnded,
    /// `at` is outside the contract's bounds, which it reports.
    OutOfRange {
        /// Lower bound.
        earliest: u64,
        /// Upper bound.
        latest: u64,
    },
    /// Any other revert (unknown session, not a relayer, …).
    Reverted(String),
}

/// The raw chain operations a submission is made of.
pub trait TxRpc: Send + Sync + 'static {
    /// Dry-runs `stopAt(id, at, silent)` from the relayer's address in the block
    /// that will mine it: the gas it needs, or why it would revert.
    fn precheck(
        &self,
        id: U256,
        at: u64,
        silent: u8,
    ) -> impl Future<Output = Result<Precheck, ChainError>> + Send;
    /// The next nonce counting pending transactions.
    fn pending_nonce(&self) -> impl Future<Output = Result<u64, ChainError>> + Send;
    /// Current fee estimate.
    fn fees(&self) -> impl Future<Output = Result<Fees, ChainError>> + Send;
    /// Signs and sends `stopAt(id, at, silent)`; returns the transaction hash.
    fn send(
        &self,
        id: U256,
        at: u64,
        silent: u8,
        nonce: u64,
        gas: u64,
        fees: Fees,
    ) -> impl Future<Output = Result<B256, ChainError>> + Send;
    /// `Some(success)` once the transaction is mined.
    fn receipt(&self, tx: B256) -> impl Future<Output = Result<Option<bool>, ChainError>> + Send;
    /// The latest block number.
    fn block_number(&self) -> impl Future<Output = Result<u64, ChainError>> + Send;
    /// Every transaction of block `number` with its success (`None`: no such block yet).
    fn block_receipts(
        &self,
        number: u64,
    ) -> impl Future<Output = Result<Option<Vec<(B256, bool)>>, ChainError>> + Send;
}

/// Submission settings.
#[derive(Clone, Copy, Debug)]
pub struct SubmitConfig {
    /// How long to wait for a transaction before bumping its fees.
    pub receipt_timeout: Duration,
    /// How often to poll for receipts.
    pub poll_interval: Duration,
    /// Transactions sent per stop (the first plus replacements).
    pub max_attempts: u32,
    /// Fee increase per replacement, percent (nodes require at least 10).
    pub fee_bump_percent: u32,
    /// Never pay more than this per gas.
    pub max_fee_per_gas: Option<u128>,
    /// Extra gas over the estimate, percent.
    pub gas_margin_percent: u32,
}

/// Blocks scanned at most per look (a relayer idle for longer than this many blocks
/// starts again near the head; what a skipped block held is found per transaction).
const MAX_SCAN_BLOCKS: u64 = 32;

/// How receipts were found (for tests and metrics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceiptCounts {
    /// Block receipt lists fetched (`eth_getBlockReceipts`).
    pub blocks_scanned: u64,
    /// Transactions found mined in a scanned block.
    pub found_in_blocks: u64,
    /// Per-transaction receipt look-ups (`eth_getTransactionReceipt`), made only when a
    /// stop waited a whole `receipt_timeout`.
    pub looked_up: u64,
}

/// The transactions being waited for, filled in by whichever waiter scans the new
/// blocks: one `eth_getBlockReceipts` a block for every stop in flight.
#[derive(Debug, Default)]
struct Watch {
    /// Hash → `Some(success)` once seen in a block.
    waiting: std::sync::Mutex<HashMap<B256, Option<bool>>>,
    /// Next block to scan and when the last scan began.
    scan: Mutex<(Option<u64>, Option<Instant>)>,
    blocks_scanned: AtomicU64,
    found_in_blocks: AtomicU64,
    looked_up: AtomicU64,
}

/// Submits stops through a [`TxRpc`], owning the relayer account's nonce.
///
/// Nonces are handed out from a local counter, so sends never wait for each other's
/// mining: [`Submitter::send`] returns once the node has the transaction, and
/// [`Submitter::confirm`] watches for its receipt and replaces it with higher fees (same
/// nonce) while it is stuck.
#[derive(Debug)]
pub struct Submitter<R> {
    rpc: R,
    cfg: SubmitConfig,
    /// The next nonce to use; `None` = ask the node.
    nonce: Mutex<Option<u64>>,
    /// Nonces of stops sent and still watched by their [`Submitter::confirm`], which
    /// replaces its own transaction while it is stuck or after the node dropped it.
    live: std::sync::Mutex<HashSet<u64>>,
    watch: Watch,
}

impl<R: TxRpc> Submitter<R> {
    /// A submitter over `rpc`.
    pub fn new(rpc: R, cfg: SubmitConfig) -> Self {
        Self {
            rpc,
            cfg,
            nonce: Mutex::new(None),
            live: std::sync::Mutex::default(),
            watch: Watch::default(),
        }
    }

    /// The underlying operations.
    pub fn rpc(&self) -> &R {
        &self.rpc
    }

    /// How receipts were found so far.
    pub fn receipt_counts(&self) -> ReceiptCounts {
        let w = &self.watch;
        ReceiptCounts {
            blocks_scanned: w.blocks_scanned.load(Ordering::Relaxed),
            found_in_blocks: w.found_in_blocks.load(Ordering::Relaxed),
            looked_up: w.looked_up.load(Ordering::Relaxed),
        }
    }

    async fn next_nonce(&self) -> Result<u64, ChainError> {
        let mut slot = self.nonce.lock().await;
        let nonce = match *slot {
            Some(n) => n,
            None => self.rpc.pending_nonce().await?,
        };
        *slot = Some(nonce + 1);
        Ok(nonce)
    }

    async fn forget_nonce(&self) {
        *self.nonce.lock().await = None;
    }

    /// Ends session `id` at `at`, idempotently: [`Submitter::send`] then
    /// [`Submitter::confirm`].
    ///
    /// # Errors
    /// As those two.
    pub async fn stop_at(&self, id: U256, at: u64, silent: u8) -> Result<StopOutcome, ChainError> {
        match self.send(id, at, silent).await? {
            SentStop::Done(outcome) => Ok(outcome),
            SentStop::Pending(p) => self.confirm(p).await,
        }
    }

    /// Dry-runs `stopAt` (re-clamping `at` to the bounds the escrow reports), then signs
    /// and sends it with the next local nonce. Returns once the node accepted it.
    ///
    /// # Errors
    /// [`ChainError::Reverted`] when the escrow refuses for a lasting reason, or the RPC
    /// error that prevented sending.
    pub async fn send(&self, id: U256, mut at: u64, silent: u8) -> Result<SentStop, ChainError> {
        let mut prechecks = 0;
        let gas = loop {
            match self.rpc.precheck(id, at, silent).await? {
                Precheck::Ok { gas } => break gas,
                Precheck::AlreadyEnded => return Ok(SentStop::Done(StopOutcome::AlreadyEnded)),
                Precheck::OutOfRange { earliest, latest } => {
                    debug!(session = %id, at, earliest, latest, "re-clamping stopAt");
                    at = at.clamp(earliest.min(latest), latest);
                }
                Precheck::Reverted(reason) => return Err(ChainError::Reverted { id, at, reason }),
            }
            prechecks += 1;
            if prechecks == 3 {
                let reason = "at stayed out of range".into();
                return Err(ChainError::Reverted { id, at, reason });
            }
        };
        let gas =
            gas.saturating_add(gas.saturating_mul(u64::from(self.cfg.gas_margin_percent)) / 100);
        let fees = self.rpc.fees().await?.capped(self.cfg.max_fee_per_gas);
        let mut nonce = self.next_nonce().await?;
        let mut resynced = false;
        loop {
            match self.rpc.send(id, at, silent, nonce, gas, fees).await {
                Ok(hash) => {
                    self.live.lock().unwrap().insert(nonce);
                    return Ok(SentStop::Pending(PendingStop {
                        id,
                        at,
                        silent,
                        nonce,
                        gas,
                        fees,
                        sent: vec![hash],
                    }));
                }
                Err(ChainError::NonceTooLow) if !resynced => {
                    // Someone (a restart of ours, another process with this key) used
                    // the nonce: resynchronise and try again with the same fees.
                    resynced = true;
                    self.forget_nonce().await;
                    nonce = self.next_nonce().await?;
                }
                Err(e) => {
                    // Nothing went out with this nonce: do not leave a gap.
                    self.forget_nonce().await;
                    return Err(e);
                }
            }
        }
    }

    /// Waits for a sent stop to be mined, replacing it (same nonce, fees raised by
    /// `fee_bump_percent`, and at least the going fees) each `receipt_timeout` it stays
    /// out, at most `max_attempts`
    /// transactions in all. A transaction the node dropped is sent again this way.
    ///
    /// # Errors
    /// [`ChainError::NotMined`] after `max_attempts` unmined transactions,
    /// [`ChainError::Reverted`] when it was mined but reverted for a lasting reason.
    pub async fn confirm(&self, pending: PendingStop) -> Result<StopOutcome, ChainError> {
        let PendingStop {
            id,
            at,
            silent,
            mut nonce,
            gas,
            mut fees,
            mut sent,
        } = pending;
        let mut attempts = 1u32;
        let outcome = loop {
            if let Some(outcome) = self.wait_mined(id, at, &sent).await {
                break Some(outcome);
            }
            if attempts >= self.cfg.max_attempts {
                break None;
            }
            attempts += 1;
            fees = fees.bumped(self.cfg.fee_bump_percent, self.cfg.max_fee_per_gas);
            // A fixed percentage over the stuck fees never catches up with a base fee
            // that rose past them: the replacement pays at least the going fees.
            match self.rpc.fees().await {
                Ok(going) => fees = fees.at_least(going.capped(self.cfg.max_fee_per_gas)),
                Err(e) => debug!(session = %id, error = %e, "cannot read the going fees"),
            }
            // Transactions of ours below this nonce vanished (a reorganisation, or a
            // node that dropped them): nothing under this nonce can be mined until the
            // gap is filled, so this stop fills it. Not when another stop still watches
            // the node's next nonce: that one is stuck (a node such as anvil does not
            // count a transaction below the base fee as pending) or dropped, and its
            // own replacement fills it; taking it would replace that other stop.
            match self.rpc.pending_nonce().await {
                Ok(next) if next < nonce && !self.live.lock().unwrap().contains(&next) => {
                    warn!(session = %id, nonce, node_nonce = next, "nonce gap: sending again under the node's nonce");
                    self.forget_nonce().await;
                    let moved = self.next_nonce().await;
                    let mut live = self.live.lock().unwrap();
                    live.remove(&nonce);
                    nonce = moved?;
                    live.insert(nonce);
                }
                Ok(_) => {}
                Err(e) => debug!(session = %id, error = %e, "cannot read the pending nonce"),
            }
            debug!(session = %id, nonce, ?fees, "bumping fees");
            match self.rpc.send(id, at, silent, nonce, gas, fees).await {
                Ok(hash) => sent.push(hash),
                // An earlier transaction of ours with this nonce got mined, or the
                // replacement was not enough: wait for what is out there.
                Err(ChainError::NonceTooLow | ChainError::Underpriced) => {}
                Err(e) => warn!(session = %id, error = %e, "replacement not sent"),
            }
        };
        self.unwatch(&sent);
        self.live.lock().unwrap().remove(&nonce);
        match outcome {
            Some((tx, true)) => Ok(StopOutcome::Stopped { tx, at }),
            // Reverted on chain: most likely another relayer got there first.
            Some((_, false)) => match self.rpc.precheck(id, at, silent).await? {
                Precheck::AlreadyEnded => Ok(StopOutcome::AlreadyEnded),
                other => Err(ChainError::Reverted {
                    id,
                    at,
                    reason: format!("mined but reverted; now {other:?}"),
                }),
            },
            None => {
                // Unknown fate: let the next stop ask the node for the nonce again.
                self.forget_nonce().await;
                Err(ChainError::NotMined { id, attempts })
            }
        }
    }

    /// One of `sent` once mined, with its success; `None` after `receipt_timeout`.
    async fn wait_mined(&self, id: U256, at: u64, sent: &[B256]) -> Option<(B256, bool)> {
        {
            let mut waiting = self.watch.waiting.lock().unwrap();
            for &tx in sent {
                waiting.entry(tx).or_insert(None);
            }
        }
        let deadline = Instant::now() + self.cfg.receipt_timeout;
        loop {
            if let Some(found) = self.mined(sent) {
                return Some(found);
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(
                self.cfg
                    .poll_interval
                    .min(deadline.saturating_duration_since(Instant::now())),
            )
            .await;
            self.scan().await;
        }
        // Before replacing: ask for each transaction itself, in case its block was
        // skipped (a scan that failed, or more blocks than one scan reads).
        for &tx in sent {
            self.watch.looked_up.fetch_add(1, Ordering::Relaxed);
            match self.rpc.receipt(tx).await {
                Ok(Some(ok)) => return Some((tx, ok)),
                Ok(None) => {}
                Err(e) => debug!(%tx, session = %id, at, error = %e, "receipt look-up failed"),
            }
        }
        None
    }

    fn mined(&self, sent: &[B256]) -> Option<(B256, bool)> {
        let waiting = self.watch.waiting.lock().unwrap();
        sent.iter()
            .find_map(|tx| waiting.get(tx).copied().flatten().map(|ok| (*tx, ok)))
    }

    fn unwatch(&self, sent: &[B256]) {
        let mut waiting = self.watch.waiting.lock().unwrap();
        for tx in sent {
            waiting.remove(tx);
        }
    }

    /// Reads the receipts of the blocks mined since the last scan, unless another waiter
    /// began one less than half a poll interval ago.
    async fn scan(&self) {
        let mut scan = self.watch.scan.lock().await;
        let now = Instant::now();
        if scan.1.is_some_and(|t| now < t + self.cfg.poll_interval / 2) {
            return;
        }
        scan.1 = Some(now);
        let head = match self.rpc.block_number().await {
            Ok(h) => h,
            Err(e) => {
                debug!(error = %e, "receipt scan: no head");
                return;
            }
        };
        let from = match scan.0 {
            Some(next) if head < next + MAX_SCAN_BLOCKS => next,
            // The first scan, or after a long idle stretch: the last few blocks.
            _ => head.saturating_sub(2),
        };
        for number in from..=head {
            let receipts = match self.rpc.block_receipts(number).await {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) => {
                    debug!(block = number, error = %e, "receipt scan failed");
                    break;
                }
            };
            self.watch.blocks_scanned.fetch_add(1, Ordering::Relaxed);
            let mut waiting = self.watch.waiting.lock().unwrap();
            for (tx, ok) in receipts {
                if let Some(slot) = waiting.get_mut(&tx) {
                    if slot.is_none() {
                        self.watch.found_in_blocks.fetch_add(1, Ordering::Relaxed);
                    }
                    *slot = Some(ok);
                }
            }
            scan.0 = Some(number + 1);
        }
    }
}
