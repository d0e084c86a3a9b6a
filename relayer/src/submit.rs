//! Safe submission of `stopAt`: pre-check by call, nonce management, EIP-1559 fees with
//! bumping and resubmission under the same nonce, bounded retries, idempotence.

use std::future::Future;
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
    /// Dry-runs `stopAt(id, at)` from the relayer's address.
    fn precheck(
        &self,
        id: U256,
        at: u64,
    ) -> impl Future<Output = Result<Precheck, ChainError>> + Send;
    /// The next nonce counting pending transactions.
    fn pending_nonce(&self) -> impl Future<Output = Result<u64, ChainError>> + Send;
    /// Current fee estimate.
    fn fees(&self) -> impl Future<Output = Result<Fees, ChainError>> + Send;
    /// Signs and sends `stopAt(id, at)`; returns the transaction hash.
    fn send(
        &self,
        id: U256,
        at: u64,
        nonce: u64,
        gas: u64,
        fees: Fees,
    ) -> impl Future<Output = Result<B256, ChainError>> + Send;
    /// `Some(success)` once the transaction is mined.
    fn receipt(&self, tx: B256) -> impl Future<Output = Result<Option<bool>, ChainError>> + Send;
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

/// Submits stops through a [`TxRpc`], owning the relayer account's nonce.
///
/// Nonces are handed out from a local counter, so sends never wait for each other's
/// mining: [`Submitter::send`] returns once the node has the transaction, and
/// [`Submitter::confirm`] watches its receipt and replaces it with higher fees (same
/// nonce) while it is stuck.
#[derive(Debug)]
pub struct Submitter<R> {
    rpc: R,
    cfg: SubmitConfig,
    /// The next nonce to use; `None` = ask the node.
    nonce: Mutex<Option<u64>>,
}

impl<R: TxRpc> Submitter<R> {
    /// A submitter over `rpc`.
    pub fn new(rpc: R, cfg: SubmitConfig) -> Self {
        Self {
            rpc,
            cfg,
            nonce: Mutex::new(None),
        }
    }

    /// The underlying operations.
    pub fn rpc(&self) -> &R {
        &self.rpc
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
    pub async fn stop_at(&self, id: U256, at: u64) -> Result<StopOutcome, ChainError> {
        match self.send(id, at).await? {
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
    pub async fn send(&self, id: U256, mut at: u64) -> Result<SentStop, ChainError> {
        let mut gas = None;
        for _ in 0..3 {
            match self.rpc.precheck(id, at).await? {
                Precheck::Ok { gas: g } => {
                    gas = Some(g);
                    break;
                }
                Precheck::AlreadyEnded => return Ok(SentStop::Done(StopOutcome::AlreadyEnded)),
                Precheck::OutOfRange { earliest, latest } => {
                    debug!(session = %id, at, earliest, latest, "re-clamping stopAt");
                    at = at.clamp(earliest.min(latest), latest);
                }
                Precheck::Reverted(reason) => return Err(ChainError::Reverted { id, at, reason }),
            }
        }
        let Some(gas) = gas else {
            return Err(ChainError::Reverted {
                id,
                at,
                reason: "at stayed out of range".into(),
            });
        };
        let gas =
            gas.saturating_add(gas.saturating_mul(u64::from(self.cfg.gas_margin_percent)) / 100);
        let mut fees = self.rpc.fees().await?;
        if let Some(cap) = self.cfg.max_fee_per_gas {
            fees.max_fee_per_gas = fees.max_fee_per_gas.min(cap);
            fees.max_priority_fee_per_gas = fees.max_priority_fee_per_gas.min(fees.max_fee_per_gas);
        }
        let mut nonce = self.next_nonce().await?;
        let mut resynced = false;
        loop {
            match self.rpc.send(id, at, nonce, gas, fees).await {
                Ok(hash) => {
                    return Ok(SentStop::Pending(PendingStop {
                        id,
                        at,
                        nonce,
                        gas,
                        fees,
                        sent: vec![hash],
                    }))
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
    /// `fee_bump_percent`) each `receipt_timeout` it stays out, at most `max_attempts`
    /// transactions in all.
    ///
    /// # Errors
    /// [`ChainError::NotMined`] after `max_attempts` unmined transactions,
    /// [`ChainError::Reverted`] when it was mined but reverted for a lasting reason.
    pub async fn confirm(&self, pending: PendingStop) -> Result<StopOutcome, ChainError> {
        let PendingStop {
            id,
            at,
            nonce,
            gas,
            mut fees,
            mut sent,
        } = pending;
        let mut attempts = 1u32;
        loop {
            if let Some(outcome) = self.wait_mined(id, at, &sent).await? {
                return Ok(outcome);
            }
            if attempts >= self.cfg.max_attempts {
                break;
            }
            attempts += 1;
            fees = fees.bumped(self.cfg.fee_bump_percent, self.cfg.max_fee_per_gas);
            debug!(session = %id, nonce, ?fees, "bumping fees");
            match self.rpc.send(id, at, nonce, gas, fees).await {
                Ok(hash) => sent.push(hash),
                // An earlier transaction of ours with this nonce got mined, or the
                // replacement was not enough: wait for what is out there.
                Err(ChainError::NonceTooLow | ChainError::Underpriced) => {}
                Err(e) => warn!(session = %id, error = %e, "replacement not sent"),
            }
        }
        // Unknown fate: let the next stop ask the node for the nonce again.
        self.forget_nonce().await;
        Err(ChainError::NotMined { id, attempts })
    }

    async fn wait_mined(
        &self,
        id: U256,
        at: u64,
        sent: &[B256],
    ) -> Result<Option<StopOutcome>, ChainError> {
        let deadline = Instant::now() + self.cfg.receipt_timeout;
        loop {
            for &tx in sent {
                match self.rpc.receipt(tx).await {
                    Ok(Some(true)) => return Ok(Some(StopOutcome::Stopped { tx, at })),
                    Ok(Some(false)) => {
                        // Reverted on chain: most likely another relayer got there first.
                        return match self.rpc.precheck(id, at).await? {
                            Precheck::AlreadyEnded => Ok(Some(StopOutcome::AlreadyEnded)),
                            other => Err(ChainError::Reverted {
                                id,
                                at,
                                reason: format!("mined but reverted; now {other:?}"),
                            }),
                        };
                    }
                    Ok(None) => {}
                    Err(e) => debug!(%tx, error = %e, "receipt poll failed"),
                }
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(self.cfg.poll_interval).await;
        }
    }
}
