//! Tests of `minuto_relayer::sessions` through its public API.

use std::time::Duration;

use alloy_primitives::{Address, U256};
use minuto_relayer::clock::Clock;
use minuto_relayer::escrow::EscrowEvent;
use minuto_relayer::heartbeat::Role;
use minuto_relayer::sessions::*;

const T0: u64 = 1_700_000_000;
const BACKDATE: u64 = 60;

fn registry() -> Registry {
    crate::registry_at(Clock::starting_at(T0 * 1000), 100.0, BACKDATE)
}

/// 10,000 base units a second, 10,000,000 deposited, 2.5 % fee.
fn open(r: &Registry, id: u64) {
    assert!(r.apply(&EscrowEvent::Opened {
        id: U256::from(id),
        student_key: Address::repeat_byte(1),
        rate: 10_000 * minuto_accrual::RATE_SCALE,
        deposit: 10_000_000,
        fee_bps: 250,
    }));
}

fn start(r: &Registry, id: u64, start: u64) {
    assert!(r.apply(&EscrowEvent::Started {
        id: U256::from(id),
        tutor_key: Address::repeat_byte(2),
        start,
    }));
}

fn standing(r: &Registry, id: u64) -> Standing {
    r.status(U256::from(id)).unwrap().standing
}

#[tokio::test(start_paused = true)]
async fn withdrawable_lags_now_by_the_escrows_max_backdate() {
    let r = registry();
    open(&r, 1);
    // While Open, as the escrow's views: nothing billed, the whole deposit's runway.
    let s = standing(&r, 1);
    assert_eq!((s.billed, s.withdrawable, s.runway_seconds), (0, 0, 1_000));
    start(&r, 1, T0 - 100);
    // 100 s in: billed at now, withdrawable only what was earned by now − 60 s.
    let s = standing(&r, 1);
    assert_eq!(s.billed, 1_000_000);
    assert_eq!(s.runway_seconds, 900);
    // earned(400,000) = 400,000 − floor(400,000 × 250 / 10,000) = 390,000.
    assert_eq!(s.withdrawable, 390_000);
    // The heartbeat reply carries the same figures.
    let hb = r
        .record_heartbeat(U256::from(1), Role::Tutor, 1, T0)
        .unwrap();
    assert_eq!(hb, s);

    // A withdrawal of all of it leaves nothing until more time passes the window.
    assert!(r.apply(&EscrowEvent::Withdrawn {
        id: U256::from(1),
        amount: 390_000,
    }));
    assert_eq!(standing(&r, 1).withdrawable, 0);
    tokio::time::advance(Duration::from_secs(10)).await;
    let s = standing(&r, 1);
    assert_eq!(s.billed, 1_100_000);
    // earned(500,000) = 487,500; minus 390,000 withdrawn.
    assert_eq!(s.withdrawable, 97_500);
}

#[tokio::test(start_paused = true)]
async fn stop_undone_by_a_reorg_is_judged_again_from_the_same_heartbeats() {
    let r = registry();
    open(&r, 1);
    start(&r, 1, T0);
    r.record_heartbeat(U256::from(1), Role::Student, 4, T0)
        .unwrap();
    r.record_heartbeat(U256::from(1), Role::Tutor, 9, T0)
        .unwrap();
    let before = r.snapshot();
    // Our stop is mined...
    r.stopped(U256::from(1));
    assert!(r.is_ended(U256::from(1)));
    // ... and reorganised away: the chain as of before the stop comes back.
    r.rewind(&before);
    assert!(!r.is_ended(U256::from(1)));
    assert_eq!(r.watched(), 1);
    let s = r.status(U256::from(1)).unwrap().session;
    assert_eq!(s.phase, Phase::Active);
    assert_eq!(s.seen[Role::Student.index()].map(|x| x.seq), Some(4));
    assert_eq!(s.seen[Role::Tutor.index()].map(|x| x.seq), Some(9));
    assert_eq!(s.seen[Role::Tutor.index()].map(|x| x.unix), Some(T0));
}

#[tokio::test(start_paused = true)]
async fn an_end_the_follower_saw_first_keeps_the_heartbeats_for_a_reorg() {
    let r = registry();
    open(&r, 1);
    start(&r, 1, T0);
    r.record_heartbeat(U256::from(1), Role::Student, 4, T0)
        .unwrap();
    r.record_heartbeat(U256::from(1), Role::Tutor, 9, T0)
        .unwrap();
    let before = r.snapshot();
    // The follower reads our stop's SessionEnded before the stopper has its receipt.
    assert!(r.apply(&EscrowEvent::Ended {
        id: U256::from(1),
        end: T0,
    }));
    r.stopped(U256::from(1));
    // Reorganised away: judged again from the same heartbeats, not from its start.
    r.rewind(&before);
    let s = r.status(U256::from(1)).unwrap().session;
    assert_eq!(s.phase, Phase::Active);
    assert_eq!(s.seen[Role::Student.index()].map(|x| x.seq), Some(4));
    assert_eq!(s.seen[Role::Tutor.index()].map(|x| x.seq), Some(9));
    assert_eq!(s.seen[Role::Tutor.index()].map(|x| x.unix), Some(T0));
}

#[tokio::test(start_paused = true)]
async fn withdrawable_is_zero_inside_the_backdate_window_and_saturates() {
    let r = registry();
    open(&r, 1);
    start(&r, 1, T0 - 30);
    let s = standing(&r, 1);
    assert_eq!(s.billed, 300_000);
    assert_eq!(
        s.withdrawable, 0,
        "through = start while now − 60 s < start"
    );
    // Withdrawn beyond what the lagged window has earned (an admin raised the
    // backdate after a withdrawal): saturate at zero rather than fail.
    assert!(r.apply(&EscrowEvent::Withdrawn {
        id: U256::from(1),
        amount: 100_000,
    }));
    assert_eq!(standing(&r, 1).withdrawable, 0);
}

/// A heartbeat that arrives while a decided stop is still being checked (shared store,
/// waiting for a send slot) counts: it is accepted and calls the stop off. Once the stop
/// is handed to the chain, heartbeats are refused as ended.
#[tokio::test(start_paused = true)]
async fn a_heartbeat_before_the_stop_is_sent_calls_it_off() {
    let r = registry();
    let id = U256::from(1);
    open(&r, 1);
    start(&r, 1, T0);
    r.record_heartbeat(id, Role::Student, 1, T0).unwrap();
    r.record_heartbeat(id, Role::Tutor, 1, T0).unwrap();
    for k in 1..=5u64 {
        tokio::time::advance(Duration::from_secs(5)).await;
        r.record_heartbeat(id, Role::Student, 1 + k, T0 + 5 * k)
            .unwrap();
    }
    // 25 s in: the tutor has been silent past the 10 s timeout and the 20 s grace.
    let (due, _) = r.take_due(tokio::time::Instant::now());
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].target_at, T0);
    assert_eq!(r.status(id).unwrap().session.phase, Phase::Stopping);
    // The tutor's heartbeat comes in before the stop is sent: accepted, stop called off.
    r.record_heartbeat(id, Role::Tutor, 2, T0 + 25).unwrap();
    assert!(r.begin_send(due[0]).is_none());
    assert_eq!(r.status(id).unwrap().session.phase, Phase::Active);
    assert_eq!(r.watched(), 1);

    // Silent again until due: this time nothing comes in before the send.
    let mut due = Vec::new();
    for k in 6..=20u64 {
        tokio::time::advance(Duration::from_secs(5)).await;
        r.record_heartbeat(id, Role::Student, 1 + k, T0 + 5 * k)
            .unwrap();
        due = r.take_due(tokio::time::Instant::now()).0;
        if !due.is_empty() {
            break;
        }
    }
    assert_eq!(due.len(), 1, "the tutor's second silence was never judged");
    assert_eq!(due[0].target_at, T0 + 25);
    let sent = r.begin_send(due[0]).expect("still silent: sent");
    assert_eq!(sent.target_at, T0 + 25);
    assert_eq!(
        r.record_heartbeat(id, Role::Tutor, 3, T0 + 100),
        Err(Refusal::SessionEnded)
    );
    assert_eq!(r.watched(), 0);
}

/// Tutor silent, student pinging every 5 s from `T0`: the tutor's stop is decided at
/// `T0 + 20` (silent for 10 s, due when the 20 s grace ends) and handed to the chain.
async fn stop_sent(r: &Registry, id: U256) -> minuto_relayer::liveness::StopRequest {
    open(r, 1);
    start(r, 1, T0);
    r.record_heartbeat(id, Role::Student, 1, T0).unwrap();
    r.record_heartbeat(id, Role::Tutor, 1, T0).unwrap();
    let mut due = Vec::new();
    for k in 1..=4u64 {
        assert!(due.is_empty());
        tokio::time::advance(Duration::from_secs(5)).await;
        r.record_heartbeat(id, Role::Student, 1 + k, T0 + 5 * k)
            .unwrap();
        due = r.take_due(tokio::time::Instant::now()).0;
    }
    // Due when the grace period ends, T0 + 20.
    assert_eq!(due.len(), 1);
    assert_eq!(r.clock().now_unix(), T0 + 20);
    let sent = r.begin_send(due[0]).expect("silent: sent");
    assert_eq!(sent.target_at, T0);
    sent
}

/// Our stop is mined but the follower (which reads only confirmed blocks) has not read
/// its SessionEnded: the session is kept, not watched, heartbeats refused, and when the
/// bound passes its stop comes due again with the same `at` — the end may have been
/// reorganised away before the follower could see it. Today's registry forgot the
/// session at the receipt and never stopped it again.
#[tokio::test(start_paused = true)]
async fn a_mined_stop_whose_end_the_follower_has_not_read_is_judged_again_at_the_same_at() {
    let r = registry();
    let id = U256::from(1);
    stop_sent(&r, id).await;
    let check_at = tokio::time::Instant::now() + Duration::from_secs(20);
    assert!(r.await_end(id, check_at));
    let s = r.status(id).unwrap().session;
    assert_eq!(s.phase, Phase::Unconfirmed);
    assert_eq!(r.watched(), 0);
    assert_eq!(r.len(), 1);
    assert!(!r.is_ended(id));
    assert_eq!(
        r.record_heartbeat(id, Role::Tutor, 2, T0 + 30),
        Err(Refusal::SessionEnded)
    );
    // Not before the bound.
    tokio::time::advance(Duration::from_secs(19)).await;
    assert_eq!(r.take_due(tokio::time::Instant::now()).0, vec![]);
    tokio::time::advance(Duration::from_secs(1)).await;
    let (due, _) = r.take_due(tokio::time::Instant::now());
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].target_at, T0);
    assert_eq!(
        due[0].reason,
        minuto_relayer::liveness::StopReason::Silence(Role::Tutor)
    );
    // No store check can call it off (heartbeats were refused since the first send):
    // it goes out again, still Unconfirmed.
    assert_eq!(r.confirm(due[0]).await, Confirmation::Stop(due[0]));
    let again = r.begin_send(due[0]).expect("sent again");
    assert_eq!(again.target_at, T0);
    let s = r.status(id).unwrap().session;
    assert_eq!(s.phase, Phase::Unconfirmed);
    assert_eq!(r.watched(), 0);
    // A failed re-send stays Unconfirmed and comes due again at the retry.
    r.stop_failed(id, tokio::time::Instant::now() + Duration::from_secs(5));
    assert_eq!(r.status(id).unwrap().session.phase, Phase::Unconfirmed);
    assert_eq!(
        r.record_heartbeat(id, Role::Tutor, 3, T0 + 60),
        Err(Refusal::SessionEnded)
    );
    tokio::time::advance(Duration::from_secs(5)).await;
    let (due, _) = r.take_due(tokio::time::Instant::now());
    assert_eq!(
        due.iter().map(|d| d.target_at).collect::<Vec<_>>(),
        vec![T0]
    );
}

/// The follower reads the SessionEnded: the kept session leaves, and nothing comes due.
#[tokio::test(start_paused = true)]
async fn a_kept_session_leaves_when_the_follower_reads_its_end() {
    let r = registry();
    let id = U256::from(1);
    stop_sent(&r, id).await;
    assert!(r.await_end(id, tokio::time::Instant::now() + Duration::from_secs(20)));
    assert!(r.apply(&EscrowEvent::Ended { id, end: T0 }));
    assert!(r.status(id).is_none());
    assert!(r.is_ended(id));
    assert_eq!((r.len(), r.watched()), (0, 0));
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(r.take_due(tokio::time::Instant::now()), (vec![], None));
    // A receipt that comes after the follower's end keeps nothing.
    assert!(!r.await_end(id, tokio::time::Instant::now()));
    assert!(r.status(id).is_none());
}

/// A rewind to a block where the session was Active leaves a kept session kept (its
/// check still comes due); the snapshot saves it as active, as the chain had it at the
/// follower's cursor, and a rewind to before its start takes it out of Unconfirmed.
#[tokio::test(start_paused = true)]
async fn a_kept_session_survives_a_rewind_and_is_saved_as_active() {
    let r = registry();
    let id = U256::from(1);
    stop_sent(&r, id).await;
    assert!(r.await_end(id, tokio::time::Instant::now() + Duration::from_secs(20)));
    let records = r.snapshot();
    assert_eq!(records.len(), 1);
    assert!(records[0].active);
    r.rewind(&records);
    let s = r.status(id).unwrap().session;
    assert_eq!(s.phase, Phase::Unconfirmed);
    assert_eq!(r.watched(), 0);
    tokio::time::advance(Duration::from_secs(20)).await;
    let (due, _) = r.take_due(tokio::time::Instant::now());
    assert_eq!(
        due.iter().map(|d| d.target_at).collect::<Vec<_>>(),
        vec![T0]
    );

    // Rewound to before the start: Open, no longer kept, nothing due.
    let mut opened = records.clone();
    opened[0].active = false;
    opened[0].start = 0;
    r.rewind(&opened);
    let s = r.status(id).unwrap().session;
    assert_eq!(s.phase, Phase::Open);
    assert!(!r.await_end(id, tokio::time::Instant::now()));
}

/// A shared store that has answered for long, and comes back (say restarted, its data
/// lost) while a decided stop's last-seen times are being read from it: the read
/// answers nothing heard, and the store's health now dates from that moment.
#[derive(Debug)]
struct BackDuringTheRead {
    since: std::sync::Mutex<tokio::time::Instant>,
    reads: std::sync::atomic::AtomicU32,
}

impl minuto_relayer::store::LivenessStore for BackDuringTheRead {
    fn record(&self, _: U256, _: Role, _: u64) {}

    fn claim(
        &self,
        _: U256,
        _: Role,
        _: u64,
        _: u64,
    ) -> minuto_relayer::store::StoreFuture<'_, Option<(u64, u64)>> {
        Box::pin(async { Ok(None) })
    }

    fn last_seen(&self, _: U256) -> minuto_relayer::store::StoreFuture<'_, [Option<u64>; 2]> {
        Box::pin(async move {
            self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            *self.since.lock().unwrap() = tokio::time::Instant::now();
            Ok([None, None])
        })
    }

    fn health(&self) -> minuto_relayer::store::Health {
        minuto_relayer::store::Health::Since(*self.since.lock().unwrap())
    }
}

/// What a store that came back during the read answers cannot vouch for a silence:
/// the stop is put off until the store has answered for a whole silence timeout, not
/// sent on an empty answer. Before, only the health before the read counted.
#[tokio::test(start_paused = true)]
async fn a_store_that_came_back_during_the_read_defers_the_stop() {
    let store = std::sync::Arc::new(BackDuringTheRead {
        since: std::sync::Mutex::new(tokio::time::Instant::now()),
        reads: Default::default(),
    });
    let r = registry().with_store(store.clone());
    let id = U256::from(1);
    open(&r, 1);
    start(&r, 1, T0);
    r.record_heartbeat(id, Role::Student, 1, T0).unwrap();
    let mut due = Vec::new();
    for k in 1..=4u64 {
        tokio::time::advance(Duration::from_secs(5)).await;
        r.record_heartbeat(id, Role::Student, 1 + k, T0 + 5 * k)
            .unwrap();
        due = r.take_due(tokio::time::Instant::now()).0;
    }
    // 20 s in: the tutor was never heard; the store has answered for 20 s.
    assert_eq!(due.len(), 1);
    assert_eq!(r.confirm(due[0]).await, Confirmation::Deferred);
    assert_eq!(store.reads.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(r.status(id).unwrap().session.phase, Phase::Active);
    // Judged again once the store has answered for the 10 s silence timeout.
    tokio::time::advance(Duration::from_secs(9)).await;
    assert_eq!(r.take_due(tokio::time::Instant::now()).0, vec![]);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(r.take_due(tokio::time::Instant::now()).0.len(), 1);
}
