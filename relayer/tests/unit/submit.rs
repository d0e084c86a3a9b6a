//! Tests of `minuto_relayer::submit` through its public API.

use minuto_relayer::submit::*;
use std::time::Duration;

use alloy_primitives::{B256, U256};
use minuto_relayer::chain::{ChainError, StopOutcome};
use tokio::time::Instant;

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

pub fn cfg() -> SubmitConfig {
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
    rpc.0.lock().unwrap().prechecks = vec![Precheck::Reverted("EscrowNotRelayer".into())];
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
