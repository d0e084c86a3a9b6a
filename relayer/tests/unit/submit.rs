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
    /// tx hash's first byte -> (blocks after the one it was sent in, success)
    mined_after: HashMap<u8, (u64, bool)>,
    /// The block each transaction was sent in.
    sent_in: HashMap<B256, u64>,
    /// The chain's head: one block more each time it is asked.
    head: u64,
    /// Block receipt lists cannot be read (a node without `eth_getBlockReceipts`).
    no_block_receipts: bool,
    precheck_calls: u32,
    head_calls: u32,
    block_receipt_calls: Vec<u64>,
    receipt_calls: Vec<B256>,
    /// The going fees, once they differ from 1,000 / 100 per gas.
    going: Option<Fees>,
    /// `silent` of each transaction sent.
    silent: Vec<u8>,
}

impl FakeState {
    /// The block `tx` is mined in, with its success.
    fn mined(&self, tx: &B256) -> Option<(u64, bool)> {
        let sent = *self.sent_in.get(tx)?;
        let &(after, ok) = self.mined_after.get(&tx[0])?;
        Some((sent + 1 + after, ok))
    }
}

#[derive(Default)]
struct FakeRpc(StdMutex<FakeState>);

impl TxRpc for FakeRpc {
    async fn precheck(&self, _id: U256, _at: u64, _: u8) -> Result<Precheck, ChainError> {
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
        Ok(self.0.lock().unwrap().going.unwrap_or(Fees {
            max_fee_per_gas: 1_000,
            max_priority_fee_per_gas: 100,
        }))
    }
    async fn send(
        &self,
        _id: U256,
        at: u64,
        silent: u8,
        nonce: u64,
        _gas: u64,
        fees: Fees,
    ) -> Result<B256, ChainError> {
        let mut s = self.0.lock().unwrap();
        s.silent.push(silent);
        if s.nonce_too_low_once {
            s.nonce_too_low_once = false;
            s.pending_nonce += 1;
            return Err(ChainError::NonceTooLow);
        }
        s.sends.push((nonce, at, fees));
        let tx = B256::repeat_byte(s.sends.len() as u8);
        let head = s.head;
        s.sent_in.insert(tx, head);
        Ok(tx)
    }
    async fn receipt(&self, tx: B256) -> Result<Option<bool>, ChainError> {
        let mut s = self.0.lock().unwrap();
        s.receipt_calls.push(tx);
        Ok(s.mined(&tx).filter(|&(b, _)| b <= s.head).map(|(_, ok)| ok))
    }
    async fn block_number(&self) -> Result<u64, ChainError> {
        let mut s = self.0.lock().unwrap();
        s.head_calls += 1;
        s.head += 1;
        Ok(s.head)
    }
    async fn block_receipts(&self, number: u64) -> Result<Option<Vec<(B256, bool)>>, ChainError> {
        let mut s = self.0.lock().unwrap();
        s.block_receipt_calls.push(number);
        if s.no_block_receipts {
            return Err(ChainError::Unexpected(
                "the method eth_getBlockReceipts does not exist".into(),
            ));
        }
        if number > s.head {
            return Ok(None);
        }
        Ok(Some(
            s.sent_in
                .keys()
                .filter_map(|tx| match s.mined(tx) {
                    Some((b, ok)) if b == number => Some((*tx, ok)),
                    _ => None,
                })
                .collect(),
        ))
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
    let out = sub.stop_at(U256::from(1), 100, 2).await.unwrap();
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
    let out = sub.stop_at(U256::from(1), 100, 2).await.unwrap();
    assert_eq!(
        out,
        StopOutcome::Stopped {
            tx: B256::repeat_byte(1),
            at: 100
        }
    );
    sub.stop_at(U256::from(2), 101, 2).await.unwrap();
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
        match sub.send(U256::from(id), 100, 2).await.unwrap() {
            SentStop::Pending(p) => nonces.push(p.nonce),
            other => panic!("{other:?}"),
        }
    }
    // Nothing is mined (no receipt ever): three transactions went out at once, with
    // consecutive nonces, and no receipt was polled.
    assert_eq!(nonces, vec![5, 6, 7]);
    assert_eq!(started.elapsed(), Duration::ZERO);
    let s = sub.rpc().0.lock().unwrap();
    assert_eq!(s.head_calls, 0);
    assert!(s.receipt_calls.is_empty());
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
    let out = sub.stop_at(U256::from(1), 100, 1).await.unwrap();
    assert_eq!(
        out,
        StopOutcome::Stopped {
            tx: B256::repeat_byte(2),
            at: 100
        }
    );
    // The replacement is the same call: the student named silent both times.
    assert_eq!(sub.rpc().0.lock().unwrap().silent, [1, 1]);
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
    let err = sub.stop_at(U256::from(1), 100, 2).await.unwrap_err();
    assert!(matches!(err, ChainError::NotMined { attempts: 3, .. }));
    {
        let mut s = sub.rpc().0.lock().unwrap();
        let fees: Vec<u128> = s.sends.iter().map(|x| x.2.max_fee_per_gas).collect();
        assert_eq!(fees, vec![1_000, 1_250, 1_562]);
        // The node now counts our pending transaction.
        s.pending_nonce = 4;
        s.mined_after.insert(4, (0, true));
    }
    sub.stop_at(U256::from(2), 100, 2).await.unwrap();
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
    let out = sub.stop_at(U256::from(1), 100, 2).await.unwrap();
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
    let out = sub.stop_at(U256::from(1), 100, 2).await.unwrap();
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
    sub.stop_at(U256::from(1), 100, 2).await.unwrap();
    let s = sub.rpc().0.lock().unwrap();
    assert_eq!(s.sends.len(), 1);
    assert_eq!(s.sends[0].0, 2);
}

#[tokio::test(start_paused = true)]
async fn stop_at_lasting_revert_is_an_error_without_sending() {
    let rpc = FakeRpc::default();
    rpc.0.lock().unwrap().prechecks = vec![Precheck::Reverted("EscrowNotRelayer".into())];
    let sub = Submitter::new(rpc, cfg());
    let err = sub.stop_at(U256::from(1), 100, 2).await.unwrap_err();
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

#[tokio::test(start_paused = true)]
async fn receipts_of_concurrent_stops_come_from_one_scan_per_block() {
    let rpc = FakeRpc::default();
    for tx in 1..=20u8 {
        // Each mined two blocks after the one it was sent in.
        rpc.0.lock().unwrap().mined_after.insert(tx, (2, true));
    }
    let sub = std::sync::Arc::new(Submitter::new(rpc, cfg()));
    let mut pending = Vec::new();
    for id in 1..=20u64 {
        match sub.send(U256::from(id), 100, 2).await.unwrap() {
            SentStop::Pending(p) => pending.push(p),
            other => panic!("{other:?}"),
        }
    }
    let mut waiting = tokio::task::JoinSet::new();
    for p in pending {
        let sub = sub.clone();
        waiting.spawn(async move { sub.confirm(p).await });
    }
    let mut outcomes = Vec::new();
    while let Some(r) = waiting.join_next().await {
        outcomes.push(r.unwrap().unwrap());
    }
    assert_eq!(outcomes.len(), 20);
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, StopOutcome::Stopped { at: 100, .. })));
    let s = sub.rpc().0.lock().unwrap();
    // Twenty waiters woke each second; one of them read the head and the new blocks:
    // the first scan reads the last blocks (0 and 1), then one block each.
    assert_eq!(s.head_calls, 3);
    assert_eq!(s.block_receipt_calls, vec![0, 1, 2, 3]);
    assert!(s.receipt_calls.is_empty(), "{:?}", s.receipt_calls);
    assert_eq!(
        sub.receipt_counts(),
        ReceiptCounts {
            blocks_scanned: 4,
            found_in_blocks: 20,
            looked_up: 0
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_stop_whose_block_cannot_be_read_is_looked_up_before_it_is_replaced() {
    let rpc = FakeRpc::default();
    {
        let mut s = rpc.0.lock().unwrap();
        s.no_block_receipts = true;
        s.mined_after.insert(1, (0, true));
    }
    let sub = Submitter::new(rpc, cfg());
    let started = Instant::now();
    let out = sub.stop_at(U256::from(1), 100, 2).await.unwrap();
    assert_eq!(
        out,
        StopOutcome::Stopped {
            tx: B256::repeat_byte(1),
            at: 100
        }
    );
    // Found by its own receipt at the end of the receipt timeout, not replaced.
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    let s = sub.rpc().0.lock().unwrap();
    assert_eq!(s.sends.len(), 1);
    assert_eq!(s.receipt_calls, vec![B256::repeat_byte(1)]);
    assert_eq!(sub.receipt_counts().looked_up, 1);
    assert_eq!(sub.receipt_counts().found_in_blocks, 0);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_stop_is_sent_again_under_its_nonce_and_found_in_a_block() {
    let rpc = FakeRpc::default();
    {
        let mut s = rpc.0.lock().unwrap();
        s.pending_nonce = 4;
        // The first transaction was dropped by the node: never mined. Its replacement
        // is mined in the next block.
        s.mined_after.insert(2, (0, true));
    }
    let sub = Submitter::new(rpc, cfg());
    let out = sub.stop_at(U256::from(1), 100, 2).await.unwrap();
    assert_eq!(
        out,
        StopOutcome::Stopped {
            tx: B256::repeat_byte(2),
            at: 100
        }
    );
    let s = sub.rpc().0.lock().unwrap();
    assert_eq!(s.sends.iter().map(|x| x.0).collect::<Vec<_>>(), vec![4, 4]);
    // The dropped one was looked up once before it was replaced; the replacement was
    // found in its block.
    assert_eq!(s.receipt_calls, vec![B256::repeat_byte(1)]);
    assert_eq!(sub.receipt_counts().found_in_blocks, 1);
}

#[tokio::test(start_paused = true)]
async fn a_stop_above_a_nonce_gap_is_sent_again_under_the_nodes_nonce() {
    let rpc = FakeRpc::default();
    {
        let mut s = rpc.0.lock().unwrap();
        s.pending_nonce = 7;
        // Only the stop sent again is ever mined.
        s.mined_after.insert(2, (0, true));
    }
    let sub = Submitter::new(rpc, cfg());
    let SentStop::Pending(p) = sub.send(U256::from(1), 100, 2).await.unwrap() else {
        panic!("expected a pending stop")
    };
    assert_eq!(p.nonce, 7);
    // A reorganisation took our transactions under nonces 5 and 6 away: the node's next
    // nonce is 5 again, and nonce 7 can never be mined.
    sub.rpc().0.lock().unwrap().pending_nonce = 5;
    let out = sub.confirm(p).await.unwrap();
    assert_eq!(
        out,
        StopOutcome::Stopped {
            tx: B256::repeat_byte(2),
            at: 100
        }
    );
    {
        let s = sub.rpc().0.lock().unwrap();
        assert_eq!(s.sends.iter().map(|x| x.0).collect::<Vec<_>>(), vec![7, 5]);
        // Raised fees, as for any replacement.
        assert_eq!(s.sends[1].2.max_fee_per_gas, 1_250);
    }
    // The counter follows the node from there.
    match sub.send(U256::from(2), 100, 2).await.unwrap() {
        SentStop::Pending(p) => assert_eq!(p.nonce, 6),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_replacement_pays_at_least_the_going_fees_within_the_cap() {
    for (cap, expected) in [(None, (8_000, 300)), (Some(5_000), (5_000, 300))] {
        let rpc = FakeRpc::default();
        // Only the replacement is mined.
        rpc.0.lock().unwrap().mined_after.insert(2, (0, true));
        let sub = Submitter::new(
            rpc,
            SubmitConfig {
                max_fee_per_gas: cap,
                ..cfg()
            },
        );
        let SentStop::Pending(p) = sub.send(U256::from(1), 100, 2).await.unwrap() else {
            panic!("not pending")
        };
        // The base fee jumps past the stop's cap: 25 % more would never catch up.
        sub.rpc().0.lock().unwrap().going = Some(Fees {
            max_fee_per_gas: 8_000,
            max_priority_fee_per_gas: 300,
        });
        let out = sub.confirm(p).await.unwrap();
        assert!(
            matches!(out, StopOutcome::Stopped { at: 100, .. }),
            "{out:?}"
        );
        let s = sub.rpc().0.lock().unwrap();
        let sent: Vec<(u64, (u128, u128))> = s
            .sends
            .iter()
            .map(|(n, _, f)| (*n, (f.max_fee_per_gas, f.max_priority_fee_per_gas)))
            .collect();
        assert_eq!(sent, [(0, (1_000, 100)), (0, expected)], "cap {cap:?}");
    }
}

/// A node such as anvil does not count a transaction below the base fee in its
/// pending nonce: the stop above such a stuck one sees the node's nonce below its own.
/// That is no gap to fill while the stuck stop is still watched (it replaces itself);
/// taking its nonce would replace another session's stop.
#[tokio::test(start_paused = true)]
async fn a_stop_above_a_stuck_one_never_takes_its_nonce_while_it_is_watched() {
    // The node's pending nonce stays 0 throughout, and nothing is mined.
    let sub = Submitter::new(FakeRpc::default(), cfg());
    let SentStop::Pending(stuck) = sub.send(U256::from(1), 100, 2).await.unwrap() else {
        panic!("not pending")
    };
    let SentStop::Pending(above) = sub.send(U256::from(2), 200, 2).await.unwrap() else {
        panic!("not pending")
    };
    assert_eq!((stuck.nonce, above.nonce), (0, 1));
    let (first, second) = tokio::join!(sub.confirm(stuck), sub.confirm(above));
    for out in [first, second] {
        assert!(
            matches!(out, Err(ChainError::NotMined { attempts: 3, .. })),
            "{out:?}"
        );
    }
    // Each replaced only its own transaction, under its own nonce.
    let s = sub.rpc().0.lock().unwrap();
    for (at, nonce) in [(100, 0), (200, 1)] {
        let nonces: Vec<u64> = s.sends.iter().filter(|x| x.1 == at).map(|x| x.0).collect();
        assert_eq!(nonces, [nonce; 3], "stop at {at}");
    }
}
