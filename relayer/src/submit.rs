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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex as StdMutex;

    #[derive(Default)]
    struct FakeState {
        prechecks: Vec<Precheck>,
        pending_nonce: u64,
        nonce_too_low_once: bool,
        sends: Vec<(u64, u64, Fees)>,
        /// tx hash -> (polls before mined, success)
        mined_after: HashMap<u8, (u32, bool)>,
        polls: HashMap<B256, u32>,
        precheck_calls: u32,
    }

    #[derive(Default)]
    struct FakeRpc(StdMutex<FakeState>);

    impl TxRpc for FakeRpc {
        async fn precheck(&self, _id: U256, _at: u64) -> Result<Precheck, ChainError> {
            let mut s = self.0.lock().unwrap();
            s.precheck_calls += 1;
            Ok(if s.prechecks.is_empty() {
                Precheck::Ok { gas: 50_000 }
            } else {
                s.prechecks.remove(0)
            })
        }
        async fn pending_nonce(&self) -> Result<u64, ChainError> {
            Ok(self.0.lock().unwrap().pending_nonce)
        }
        async fn fees(&self) -> Result<Fees, ChainError> {
            Ok(Fees {
                max_fee_per_gas: 1_000,
                max_priority_fee_per_gas: 100,
            })
        }
        async fn send(
            &self,
            _id: U256,
            at: u64,
            nonce: u64,
            _gas: u64,
            fees: Fees,
        ) -> Result<B256, ChainError> {
            let mut s = self.0.lock().unwrap();
            if s.nonce_too_low_once {
                s.nonce_too_low_once = false;
                s.pending_nonce += 1;
                return Err(ChainError::NonceTooLow);
            }
            s.sends.push((nonce, at, fees));
            Ok(B256::repeat_byte(s.sends.len() as u8))
        }
        async fn receipt(&self, tx: B256) -> Result<Option<bool>, ChainError> {
            let mut s = self.0.lock().unwrap();
            let polls = {
                let p = s.polls.entry(tx).or_default();
                *p += 1;
                *p
            };
            Ok(match s.mined_after.get(&tx[0]) {
                Some(&(after, ok)) if polls > after => Some(ok),
                _ => None,
            })
        }
    }

    pub(crate) fn cfg() -> SubmitConfig {
        SubmitConfig {
            receipt_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_secs(1),
            max_attempts: 3,
            fee_bump_percent: 25,
            max_fee_per_gas: None,
            gas_margin_percent: 20,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn stop_at_already_ended_sends_nothing() {
        let rpc = FakeRpc::default();
        rpc.0.lock().unwrap().prechecks = vec![Precheck::AlreadyEnded];
        let sub = Submitter::new(rpc, cfg());
        let out = sub.stop_at(U256::from(1), 100).await.unwrap();
        assert_eq!(out, StopOutcome::AlreadyEnded);
        assert!(sub.rpc().0.lock().unwrap().sends.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn stop_at_mined_first_time_uses_pending_nonce_then_increments() {
        let rpc = FakeRpc::default();
        {
            let mut s = rpc.0.lock().unwrap();
            s.pending_nonce = 5;
            s.mined_after.insert(1, (0, true));
            s.mined_after.insert(2, (0, true));
        }
        let sub = Submitter::new(rpc, cfg());
        let out = sub.stop_at(U256::from(1), 100).await.unwrap();
        assert_eq!(
            out,
            StopOutcome::Stopped {
                tx: B256::repeat_byte(1),
                at: 100
            }
        );
        sub.stop_at(U256::from(2), 101).await.unwrap();
        let s = sub.rpc().0.lock().unwrap();
        assert_eq!(s.sends.iter().map(|x| x.0).collect::<Vec<_>>(), vec![5, 6]);
    }

    #[tokio::test(start_paused = true)]
    async fn sends_pipeline_nonces_without_waiting_for_mining() {
        let rpc = FakeRpc::default();
        rpc.0.lock().unwrap().pending_nonce = 5;
        let sub = Submitter::new(rpc, cfg());
        let started = Instant::now();
        let mut nonces = Vec::new();
        for id in 1..=3u64 {
            match sub.send(U256::from(id), 100).await.unwrap() {
                SentStop::Pending(p) => nonces.push(p.nonce),
                other => panic!("{other:?}"),
            }
        }
        // Nothing is mined (no receipt ever): three transactions went out at once, with
        // consecutive nonces, and no receipt was polled.
        assert_eq!(nonces, vec![5, 6, 7]);
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert!(sub.rpc().0.lock().unwrap().polls.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn stop_at_bumps_fees_and_replaces_with_same_nonce() {
        let rpc = FakeRpc::default();
        {
            let mut s = rpc.0.lock().unwrap();
            s.pending_nonce = 9;
            // Only the second transaction ever gets mined.
            s.mined_after.insert(2, (0, true));
        }
        let sub = Submitter::new(rpc, cfg());
        let started = Instant::now();
        let out = sub.stop_at(U256::from(1), 100).await.unwrap();
        assert_eq!(
            out,
            StopOutcome::Stopped {
                tx: B256::repeat_byte(2),
                at: 100
            }
        );
        // One full receipt timeout passed before the replacement.
        assert!(started.elapsed() >= Duration::from_secs(10));
        assert!(started.elapsed() < Duration::from_secs(12));
        let s = sub.rpc().0.lock().unwrap();
        assert_eq!(s.sends.len(), 2);
        assert_eq!(s.sends[0].0, 9);
        assert_eq!(s.sends[1].0, 9);
        assert_eq!(
            s.sends[1].2,
            Fees {
                max_fee_per_gas: 1_250,
                max_priority_fee_per_gas: 125
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stop_at_gives_up_after_max_attempts_and_resyncs_nonce() {
        let rpc = FakeRpc::default();
        rpc.0.lock().unwrap().pending_nonce = 3;
        let sub = Submitter::new(rpc, cfg());
        let err = sub.stop_at(U256::from(1), 100).await.unwrap_err();
        assert!(matches!(err, ChainError::NotMined { attempts: 3, .. }));
        {
            let mut s = sub.rpc().0.lock().unwrap();
            let fees: Vec<u128> = s.sends.iter().map(|x| x.2.max_fee_per_gas).collect();
            assert_eq!(fees, vec![1_000, 1_250, 1_562]);
            // The node now counts our pending transaction.
            s.pending_nonce = 4;
            s.mined_after.insert(4, (0, true));
        }
        sub.stop_at(U256::from(2), 100).await.unwrap();
        assert_eq!(sub.rpc().0.lock().unwrap().sends[3].0, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn stop_at_reclamps_when_contract_reports_bounds() {
        let rpc = FakeRpc::default();
        {
            let mut s = rpc.0.lock().unwrap();
            s.prechecks = vec![Precheck::OutOfRange {
                earliest: 150,
                latest: 200,
            }];
            s.mined_after.insert(1, (0, true));
        }
        let sub = Submitter::new(rpc, cfg());
        let out = sub.stop_at(U256::from(1), 100).await.unwrap();
        assert_eq!(
            out,
            StopOutcome::Stopped {
                tx: B256::repeat_byte(1),
                at: 150
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stop_at_reverted_on_chain_but_ended_by_other_relayer_is_success() {
        let rpc = FakeRpc::default();
        {
            let mut s = rpc.0.lock().unwrap();
            // First precheck passes; after the revert the re-check says ended.
            s.prechecks = vec![Precheck::Ok { gas: 1 }, Precheck::AlreadyEnded];
            s.mined_after.insert(1, (0, false));
        }
        let sub = Submitter::new(rpc, cfg());
        let out = sub.stop_at(U256::from(1), 100).await.unwrap();
        assert_eq!(out, StopOutcome::AlreadyEnded);
    }

    #[tokio::test(start_paused = true)]
    async fn stop_at_resyncs_on_nonce_too_low() {
        let rpc = FakeRpc::default();
        {
            let mut s = rpc.0.lock().unwrap();
            s.pending_nonce = 1;
            s.nonce_too_low_once = true;
            s.mined_after.insert(1, (0, true));
        }
        let sub = Submitter::new(rpc, cfg());
        sub.stop_at(U256::from(1), 100).await.unwrap();
        let s = sub.rpc().0.lock().unwrap();
        assert_eq!(s.sends.len(), 1);
        assert_eq!(s.sends[0].0, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn stop_at_lasting_revert_is_an_error_without_sending() {
        let rpc = FakeRpc::default();
        rpc.0.lock().unwrap().prechecks = vec![Precheck::Reverted("EscrowUnauthorized".into())];
        let sub = Submitter::new(rpc, cfg());
        let err = sub.stop_at(U256::from(1), 100).await.unwrap_err();
        assert!(matches!(err, ChainError::Reverted { at: 100, .. }));
        assert!(sub.rpc().0.lock().unwrap().sends.is_empty());
    }

    #[test]
    fn fees_bump_respects_cap() {
        let f = Fees {
            max_fee_per_gas: 100,
            max_priority_fee_per_gas: 100,
        };
        assert_eq!(
            f.bumped(20, Some(110)),
            Fees {
                max_fee_per_gas: 110,
                max_priority_fee_per_gas: 110
            }
        );
        assert_eq!(f.bumped(10, None).max_fee_per_gas, 110);
    }
}
