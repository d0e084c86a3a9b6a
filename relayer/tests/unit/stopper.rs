//! Tests of `minuto_relayer::stopper` through its public API.

use minuto_relayer::stopper::*;
use std::sync::Arc;
use std::time::Duration;

use minuto_relayer::chain::{Chain, StopOutcome};
use minuto_relayer::liveness::clamp_at;
use minuto_relayer::metrics::Metrics;
use minuto_relayer::sessions::{Phase, Registry};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use alloy_primitives::U256;

use minuto_relayer::clock::Clock;
use minuto_relayer::heartbeat::Role;
use minuto_relayer::liveness::{judge, LivenessConfig, StopReason, Verdict};
use std::sync::Mutex;

use alloy_primitives::{Address, B256};

use minuto_relayer::chain::{ChainError, Head, PendingStop, SentStop};
use minuto_relayer::escrow::{EscrowEvent, EscrowLog};
use minuto_relayer::ratelimit::Rate;

const T0_MS: u64 = 1_700_000_000_000;
const T0: u64 = T0_MS / 1000;
const BACKDATE: u64 = 3600;

/// A chain whose clock follows paused tokio time and which records stops.
struct FakeChain {
    clock: Clock,
    stops: Mutex<Vec<(U256, u64, Instant)>>,
    /// `silent` of each stop.
    silent: Mutex<Vec<u8>>,
    ended: Mutex<Vec<U256>>,
    fail_next: Mutex<u32>,
    /// When set, the latest block's timestamp stays here (a chain mining nothing).
    quiet_head: Mutex<Option<u64>>,
}

impl FakeChain {
    fn new(clock: Clock) -> Self {
        Self {
            clock,
            stops: Mutex::default(),
            silent: Mutex::default(),
            ended: Mutex::default(),
            fail_next: Mutex::new(0),
            quiet_head: Mutex::new(None),
        }
    }
    fn stops(&self) -> Vec<(U256, u64, Instant)> {
        self.stops.lock().unwrap().clone()
    }
    fn silent(&self) -> Vec<u8> {
        self.silent.lock().unwrap().clone()
    }
}

impl Chain for FakeChain {
    async fn head(&self) -> Result<Head, ChainError> {
        let quiet = *self.quiet_head.lock().unwrap();
        Ok(Head {
            number: 1,
            timestamp: quiet.unwrap_or_else(|| self.clock.now_unix()),
        })
    }
    async fn logs(&self, _: u64, _: u64) -> Result<Vec<EscrowLog>, ChainError> {
        Ok(Vec::new())
    }
    async fn max_backdate(&self) -> Result<u64, ChainError> {
        Ok(BACKDATE)
    }
    async fn stop_at(&self, id: U256, at: u64, silent: u8) -> Result<StopOutcome, ChainError> {
        {
            let mut fail = self.fail_next.lock().unwrap();
            if *fail > 0 {
                *fail -= 1;
                return Err(ChainError::Unexpected("injected".into()));
            }
        }
        if self.ended.lock().unwrap().contains(&id) {
            return Ok(StopOutcome::AlreadyEnded);
        }
        self.ended.lock().unwrap().push(id);
        self.stops.lock().unwrap().push((id, at, Instant::now()));
        self.silent.lock().unwrap().push(silent);
        Ok(StopOutcome::Stopped { tx: B256::ZERO, at })
    }
}

struct Rig<C = FakeChain> {
    registry: Arc<Registry>,
    chain: Arc<C>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
}

fn rig() -> Rig {
    rig_over(FakeChain::new, 4)
}

/// A registry judged by the real engine and stopper over `chain`, with `concurrency`
/// submission slots.
fn rig_over<C: Chain>(chain: impl FnOnce(Clock) -> C, concurrency: usize) -> Rig<C> {
    let clock = Clock::starting_at(T0_MS);
    let registry = Arc::new(crate::registry_at(clock, 100.0, BACKDATE));
    let chain = Arc::new(chain(clock));
    let metrics = Arc::new(Metrics::new());
    let cancel = CancellationToken::new();
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(run_engine(
        registry.clone(),
        metrics.clone(),
        tx,
        cancel.clone(),
    ));
    tokio::spawn(run_stopper(
        chain.clone(),
        registry.clone(),
        metrics.clone(),
        rx,
        StopperConfig {
            max_backdate: BACKDATE,
            concurrency,
            retry_after: Duration::from_secs(5),
            drain: Duration::from_secs(1),
        },
        cancel.clone(),
    ));
    Rig {
        registry,
        chain,
        metrics,
        cancel,
    }
}

fn open_and_start(r: &Registry, id: u64, start: u64, deposit: u128) {
    let id = U256::from(id);
    assert!(r.apply(&EscrowEvent::Opened {
        id,
        student_key: Address::repeat_byte(1),
        rate: minuto_accrual::RATE_SCALE, // 1 base unit a second
        deposit,
        fee_bps: 0,
    }));
    assert!(r.apply(&EscrowEvent::Started {
        id,
        tutor_key: Address::repeat_byte(2),
        start,
    }));
}

async fn sleep_s(s: u64) {
    tokio::time::sleep(Duration::from_secs(s)).await;
}

/// A heartbeat; those arriving after the stop are refused as ended.
fn ping(r: &Registry, id: u64, role: Role, seq: u64) {
    match r.record_heartbeat(U256::from(id), role, seq, r.clock().now_unix()) {
        Ok(_) | Err(minuto_relayer::sessions::Refusal::SessionEnded) => {}
        Err(e) => panic!("unexpected refusal {e:?}"),
    }
}

/// Session 1 opens at T0; both parties ping every 5 s for 30 s, then only the other one
/// than `silent` goes on for 20 s (`silent`'s last ping was at T0 + 25).
async fn one_falls_silent(rig: &Rig, silent: Role) {
    open_and_start(&rig.registry, 1, T0, 1_000_000);
    let on = if silent == Role::Student {
        Role::Tutor
    } else {
        Role::Student
    };
    for seq in 1..=10 {
        for role in [Role::Student, Role::Tutor] {
            if seq <= 6 || role == on {
                ping(&rig.registry, 1, role, seq);
            }
        }
        sleep_s(5).await;
    }
}

#[tokio::test(start_paused = true)]
async fn silent_tutor_is_stopped_at_last_heartbeat_after_timeout() {
    let rig = rig();
    one_falls_silent(&rig, Role::Tutor).await;
    let tutor_last = T0 + 25;
    let stops = rig.chain.stops();
    assert_eq!(stops.len(), 1, "{stops:?}");
    assert_eq!(stops[0].0, U256::from(1));
    assert_eq!(stops[0].1, tutor_last);
    // The tutor was silent, not the student: a booked session bills the seconds held.
    assert_eq!(rig.chain.silent(), [2]);
    // Detected 10 s after the last ping, not later.
    let detected = rig.registry.clock().unix_ms_of(stops[0].2);
    assert_eq!(detected, (tutor_last + 10) * 1000);
    assert_eq!(rig.metrics.stops_confirmed.get(), 1);
    assert_eq!(rig.metrics.detection_latency.get_sample_count(), 1);
    // Kept, not watched, until the follower reads the end from a confirmed block.
    let kept = rig.registry.status(U256::from(1)).unwrap().session;
    assert_eq!(kept.phase, Phase::Unconfirmed);
    assert_eq!(rig.registry.watched(), 0);
    assert_eq!(
        rig.registry
            .record_heartbeat(U256::from(1), Role::Student, 99, T0 + 50),
        Err(minuto_relayer::sessions::Refusal::SessionEnded)
    );
    assert!(rig.registry.apply(&EscrowEvent::Ended {
        id: U256::from(1),
        end: tutor_last,
    }));
    assert!(rig.registry.status(U256::from(1)).is_none());
    rig.cancel.cancel();
}

/// The silent student is named to the escrow (`silent` 1): a booked session then
/// bills its minimum time (audit 15, H1).
#[tokio::test(start_paused = true)]
async fn a_silent_student_is_stopped_naming_the_student() {
    let rig = rig();
    one_falls_silent(&rig, Role::Student).await;
    let stops = rig.chain.stops();
    assert_eq!(stops.len(), 1, "{stops:?}");
    assert_eq!(stops[0].1, T0 + 25);
    assert_eq!(rig.chain.silent(), [1]);
    rig.cancel.cancel();
}

#[tokio::test(start_paused = true)]
async fn no_one_is_judged_during_grace_period() {
    let rig = rig();
    open_and_start(&rig.registry, 1, T0, 1_000_000);
    // No heartbeats at all: nothing happens for the 20 s grace period.
    sleep_s(19).await;
    assert!(rig.chain.stops().is_empty());
    sleep_s(2).await;
    let stops = rig.chain.stops();
    assert_eq!(stops.len(), 1);
    // Never heard from: stopped at the session's start (the relayer saw it begin).
    assert_eq!(stops[0].1, T0);
    rig.cancel.cancel();
}

#[tokio::test(start_paused = true)]
async fn restart_gives_restored_sessions_full_grace_and_floors_at_relayer_start() {
    // The session started 100 s before this relayer came up (a restart).
    let rig = rig();
    let record = minuto_relayer::sessions::SessionRecord {
        id: U256::from(5),
        student_key: Address::repeat_byte(1),
        tutor_key: Address::repeat_byte(2),
        start: T0 - 100,
        rate: minuto_accrual::RATE_SCALE,
        deposited: 1_000_000,
        withdrawn: 0,
        fee_bps: 0,
        active: true,
    };
    rig.registry.rewind(&[record]);
    // Clients come back 8 s after the restart and keep pinging: no stop ever.
    sleep_s(8).await;
    for seq in 1..=10 {
        ping(&rig.registry, 5, Role::Student, seq);
        ping(&rig.registry, 5, Role::Tutor, seq);
        sleep_s(5).await;
    }
    assert_eq!(rig.chain.stops(), vec![]);
    rig.cancel.cancel();

    // Same, but the student never comes back: stopped at the relayer's start, the
    // earliest moment this relayer can vouch for, not at the session's start.
    let rig2 = rig_with_restored(T0 - 100);
    for seq in 1..=6 {
        ping(&rig2.registry, 5, Role::Tutor, seq);
        sleep_s(5).await;
    }
    let stops = rig2.chain.stops();
    assert_eq!(stops.len(), 1);
    assert_eq!(stops[0].1, T0);
    assert_eq!(
        rig2.registry.clock().unix_ms_of(stops[0].2),
        (T0 + 20) * 1000
    );
    rig2.cancel.cancel();
}

fn rig_with_restored(start: u64) -> Rig {
    let rig = rig();
    rig.registry
        .rewind(&[minuto_relayer::sessions::SessionRecord {
            id: U256::from(5),
            student_key: Address::repeat_byte(1),
            tutor_key: Address::repeat_byte(2),
            start,
            rate: minuto_accrual::RATE_SCALE,
            deposited: 1_000_000,
            withdrawn: 0,
            fee_bps: 0,
            active: true,
        }]);
    rig
}

#[tokio::test(start_paused = true)]
async fn exhausted_session_is_stopped_at_exhaustion() {
    let rig = rig();
    // 1 unit/s, 25 units: runs dry at T0 + 25.
    open_and_start(&rig.registry, 3, T0, 25);
    for seq in 1..=12 {
        ping(&rig.registry, 3, Role::Student, seq);
        ping(&rig.registry, 3, Role::Tutor, seq);
        sleep_s(3).await;
    }
    let stops = rig.chain.stops();
    assert_eq!(stops.len(), 1);
    assert_eq!(stops[0].1, T0 + 25);
    assert_eq!(
        rig.registry.clock().unix_ms_of(stops[0].2),
        (T0 + 25) * 1000
    );
    rig.cancel.cancel();
}

#[tokio::test(start_paused = true)]
async fn top_up_postpones_exhaustion() {
    let rig = rig();
    open_and_start(&rig.registry, 3, T0, 25);
    assert!(rig.registry.apply(&EscrowEvent::ToppedUp {
        id: U256::from(3),
        deposited: 40,
    }));
    for seq in 1..=20 {
        ping(&rig.registry, 3, Role::Student, seq);
        ping(&rig.registry, 3, Role::Tutor, seq);
        sleep_s(3).await;
    }
    let stops = rig.chain.stops();
    assert_eq!(stops.len(), 1);
    assert_eq!(stops[0].1, T0 + 40);
    rig.cancel.cancel();
}

#[tokio::test(start_paused = true)]
async fn already_ended_on_chain_counts_as_done() {
    let rig = rig();
    open_and_start(&rig.registry, 4, T0, 1_000_000);
    rig.chain.ended.lock().unwrap().push(U256::from(4));
    sleep_s(25).await;
    assert!(rig.chain.stops().is_empty());
    assert_eq!(rig.metrics.stops_already_ended.get(), 1);
    assert_eq!(rig.metrics.stops_failed.get(), 0);
    // The end the dry run saw is not confirmed yet: kept, not watched, until the
    // follower reads it.
    assert_eq!(
        rig.registry.status(U256::from(4)).unwrap().session.phase,
        Phase::Unconfirmed
    );
    assert_eq!(rig.registry.watched(), 0);
    assert!(rig.registry.apply(&EscrowEvent::Ended {
        id: U256::from(4),
        end: T0,
    }));
    assert!(rig.registry.is_ended(U256::from(4)));
    rig.cancel.cancel();
}

#[tokio::test(start_paused = true)]
async fn failed_stop_is_retried_with_the_same_at() {
    let rig = rig();
    *rig.chain.fail_next.lock().unwrap() = 2;
    open_and_start(&rig.registry, 6, T0, 1_000_000);
    ping(&rig.registry, 6, Role::Student, 1);
    ping(&rig.registry, 6, Role::Tutor, 1);
    sleep_s(20).await; // grace ends at T0+20: both silent since T0.
    sleep_s(11).await; // two failures, 5 s apart, then success at T0+30.
    let stops = rig.chain.stops();
    assert_eq!(rig.metrics.stops_failed.get(), 2);
    assert_eq!(stops.len(), 1);
    assert_eq!(stops[0].1, T0);
    assert_eq!(
        rig.registry.clock().unix_ms_of(stops[0].2),
        (T0 + 30) * 1000
    );
    rig.cancel.cancel();
}

#[tokio::test(start_paused = true)]
async fn no_stop_is_sent_while_removed_from_the_relayer_set() {
    let rig = rig();
    open_and_start(&rig.registry, 9, T0, 1_000_000);
    rig.registry.set_authorized(false);
    // Both silent from the start; the grace period ends at T0 + 20.
    sleep_s(40).await;
    assert!(rig.chain.stops().is_empty());
    assert_eq!(rig.metrics.stops_submitted.get(), 0);
    // Re-authorized: the session is stopped at the next judgement, still at its
    // start (nobody was ever heard), naming nobody.
    rig.registry.set_authorized(true);
    sleep_s(6).await;
    let stops = rig.chain.stops();
    assert_eq!(stops.len(), 1);
    assert_eq!(stops[0].1, T0);
    assert_eq!(rig.chain.silent(), [0]);
    rig.cancel.cancel();
}

#[tokio::test(start_paused = true)]
async fn ended_event_removes_session_without_stop() {
    let rig = rig();
    open_and_start(&rig.registry, 8, T0, 1_000_000);
    assert!(rig.registry.apply(&EscrowEvent::Ended {
        id: U256::from(8),
        end: T0 + 1,
    }));
    sleep_s(60).await;
    assert!(rig.chain.stops().is_empty());
    assert_eq!(rig.registry.watched(), 0);
    rig.cancel.cancel();
}

/// A registry judged directly: 10 s silence, 20 s grace from `T0`, clients pinging
/// every `ping` seconds.
fn judged(ping: u64) -> (Clock, LivenessConfig, Registry) {
    let clock = Clock::starting_at(T0_MS);
    let cfg = LivenessConfig {
        silence_timeout: Duration::from_secs(10),
        ping_interval: Duration::from_secs(ping),
        grace_period: Duration::from_secs(20),
        started: clock.now(),
    };
    let rate = Rate {
        per_second: 100.0,
        burst: 100.0,
    };
    (clock, cfg, Registry::new(clock, cfg, rate, BACKDATE))
}

/// Both parties last heard less than one ping apart (here 1 s: the same second): nobody
/// can tell whose doing the silence is, so the stop names neither (`silent` 0: a booked
/// session bills the seconds held and counts nothing against the tutor); a ping apart,
/// the earlier is named.
#[tokio::test(start_paused = true)]
async fn judge_names_nobody_when_both_fell_silent_in_the_same_second() {
    let (clock, cfg, r) = judged(1);
    open_and_start(&r, 1, T0, 1_000_000);
    open_and_start(&r, 2, T0, 1_000_000);
    sleep_s(21).await;
    for role in Role::ALL {
        ping(&r, 1, role, 1); // both at T0+21
    }
    ping(&r, 2, Role::Student, 1); // T0+21
    sleep_s(1).await;
    ping(&r, 2, Role::Tutor, 1); // T0+22
    sleep_s(20).await;
    let judged = |id: u64| {
        let s = r.status(U256::from(id)).unwrap().session;
        match judge(U256::from(id), s.watched(), Instant::now(), &clock, &cfg) {
            Verdict::Stop(req) => (req.reason, req.target_at, req.reason.silent()),
            other => panic!("expected a stop, got {other:?}"),
        }
    };
    assert_eq!(judged(1), (StopReason::BothSilent, T0 + 21, 0));
    assert_eq!(judged(2), (StopReason::Silence(Role::Student), T0 + 21, 1));
    assert_eq!(StopReason::Silence(Role::Tutor).silent(), 2);
    assert_eq!(StopReason::Exhausted.silent(), 0);
    assert_eq!(StopReason::BothSilent.as_str(), "both_silent");
}

/// Two parties last heard less than one ping apart may have dropped together: the first
/// to fall silent is named only once the other speaks again, and nobody if it does not
/// (the stop still dated at the first's last heartbeat).
#[tokio::test(start_paused = true)]
async fn judge_waits_for_the_other_party_before_naming_the_first() {
    let (clock, cfg, r) = judged(5);
    // Session 3's deposit runs out at T0+32, while the rule waits.
    for (id, deposit) in [(1, 1_000_000), (2, 1_000_000), (3, 32)] {
        open_and_start(&r, id, T0, deposit);
    }
    sleep_s(21).await;
    for id in [1, 2, 3] {
        ping(&r, id, Role::Student, 1); // T0+21
    }
    sleep_s(3).await;
    for id in [1, 2, 3] {
        ping(&r, id, Role::Tutor, 1); // T0+24
    }
    let judged = |id: u64| {
        let s = r.status(U256::from(id)).unwrap().session;
        judge(U256::from(id), s.watched(), Instant::now(), &clock, &cfg)
    };
    let stopped = |id: u64| match judged(id) {
        Verdict::Stop(req) => (req.reason, req.target_at),
        other => panic!("expected a stop, got {other:?}"),
    };
    // T0+31, the students' deadline: wait for the tutors' own, T0+34.
    sleep_s(7).await;
    assert_eq!(judged(1), Verdict::Wait(clock.instant_of(T0 + 34)));
    // Session 2's tutor speaks again, session 1's does not; session 3's deposit ran out
    // (T0+32) but it still waits: stopped for exhaustion, the student would pay from
    // T0+21 to T0+32.
    sleep_s(2).await;
    ping(&r, 2, Role::Tutor, 2); // T0+33
    assert_eq!(judged(3), Verdict::Wait(clock.instant_of(T0 + 34)));
    sleep_s(1).await;
    assert_eq!(stopped(1), (StopReason::BothSilent, T0 + 21));
    assert_eq!(stopped(2), (StopReason::Silence(Role::Student), T0 + 21));
    assert_eq!(stopped(3), (StopReason::BothSilent, T0 + 21));
}

#[tokio::test(start_paused = true)]
async fn judge_picks_the_party_silent_longest_and_waits_for_the_earliest_deadline() {
    let (clock, cfg, r) = judged(1);
    open_and_start(&r, 1, T0, 1_000_000);
    sleep_s(21).await;
    ping(&r, 1, Role::Tutor, 1); // T0+21
    sleep_s(2).await;
    ping(&r, 1, Role::Student, 1); // T0+23
    let s = r.status(U256::from(1)).unwrap().session;
    let id = U256::from(1);
    // At T0+25 nobody is late: wait for the tutor's deadline, T0+31.
    sleep_s(2).await;
    assert_eq!(
        judge(id, s.watched(), Instant::now(), &clock, &cfg),
        Verdict::Wait(clock.instant_of(T0 + 31))
    );
    // At T0+40 both are: the tutor went silent first.
    sleep_s(15).await;
    match judge(id, s.watched(), Instant::now(), &clock, &cfg) {
        Verdict::Stop(req) => {
            assert_eq!(req.reason, StopReason::Silence(Role::Tutor));
            assert_eq!(req.target_at, T0 + 21);
            assert_eq!(req.start, T0);
            assert_eq!(req.not_before_chain, 0);
        }
        other => panic!("expected a stop, got {other:?}"),
    }
}

#[test]
fn clamp_at_respects_start_backdate_and_mining_time() {
    // Inside the window: unchanged.
    assert_eq!(clamp_at(1_000, 900, 1_010, 1_010, 3600), 1_000);
    // Before start: start.
    assert_eq!(clamp_at(800, 900, 1_010, 1_010, 3600), 900);
    // Not after the earliest time the mining block can carry.
    assert_eq!(clamp_at(1_020, 900, 1_005, 1_011, 3600), 1_010);
    assert_eq!(clamp_at(1_020, 900, 1_015, 1_010, 3600), 1_015);
    // Older than the backdate window (plus margin): the earliest accepted.
    assert_eq!(clamp_at(100, 0, 10_000, 10_000, 3600), 10_000 - 3600 + 10);
    assert_eq!(clamp_at(100, 0, 10_000, 10_000, 8), 10_000 - 8 + 4);
}

#[test]
fn clamp_at_ignores_an_old_latest_block_on_a_quiet_chain() {
    // The last block (900) predates the session (start 950); the tutor was last
    // heard at 1_200 and the stop is decided at 1_210: `at` is the heartbeat, not
    // the old block nor the start.
    assert_eq!(clamp_at(1_200, 950, 900, 1_210, 3600), 1_200);
    // The backdate window is counted from the mining time, not from the old block.
    assert_eq!(clamp_at(100, 0, 900, 10_000, 3600), 10_000 - 3600 + 10);
}

#[tokio::test(start_paused = true)]
async fn exhaustion_stop_on_a_quiet_chain_is_not_held_back_by_the_old_block() {
    let rig = rig();
    // A chain that mined nothing since well before the session started.
    *rig.chain.quiet_head.lock().unwrap() = Some(T0 - 1_000);
    let (registry, chain, cancel) = (rig.registry, rig.chain, rig.cancel);
    open_and_start(&registry, 3, T0, 25);
    for seq in 1..=12 {
        ping(&registry, 3, Role::Student, seq);
        ping(&registry, 3, Role::Tutor, seq);
        sleep_s(3).await;
    }
    let stops = chain.stops();
    assert_eq!(stops.len(), 1);
    assert_eq!(stops[0].1, T0 + 25);
    // Submitted as soon as the chain's clock can have reached the exhaustion time,
    // not after a 30 s wait for a block that never comes.
    assert!(registry.clock().unix_ms_of(stops[0].2) <= (T0 + 27) * 1000);
    cancel.cancel();
}

/// A chain whose stops are sent at once and mined only after a minute.
struct SlowMining {
    sends: Mutex<Vec<(U256, Instant)>>,
}

impl Chain for SlowMining {
    async fn head(&self) -> Result<Head, ChainError> {
        Ok(Head {
            number: 1,
            timestamp: T0,
        })
    }
    async fn logs(&self, _: u64, _: u64) -> Result<Vec<EscrowLog>, ChainError> {
        Ok(Vec::new())
    }
    async fn max_backdate(&self) -> Result<u64, ChainError> {
        Ok(BACKDATE)
    }
    async fn stop_at(&self, _: U256, _: u64, _: u8) -> Result<StopOutcome, ChainError> {
        unreachable!("the stopper sends and confirms separately")
    }
    async fn send_stop(&self, id: U256, at: u64, silent: u8) -> Result<SentStop, ChainError> {
        self.sends.lock().unwrap().push((id, Instant::now()));
        let sub = minuto_relayer::submit::Submitter::new(Instant1(at), crate::submit::cfg());
        sub.send(id, at, silent).await
    }
    async fn confirm_stop(&self, pending: PendingStop) -> Result<StopOutcome, ChainError> {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(StopOutcome::Stopped {
            tx: B256::ZERO,
            at: pending.at,
        })
    }
}

/// The raw operations behind [`SlowMining`]'s sends: everything succeeds at once.
struct Instant1(u64);

impl minuto_relayer::submit::TxRpc for Instant1 {
    async fn precheck(
        &self,
        _: U256,
        _: u64,
        _: u8,
    ) -> Result<minuto_relayer::submit::Precheck, ChainError> {
        Ok(minuto_relayer::submit::Precheck::Ok { gas: 1 })
    }
    async fn pending_nonce(&self) -> Result<u64, ChainError> {
        Ok(self.0)
    }
    async fn fees(&self) -> Result<minuto_relayer::submit::Fees, ChainError> {
        Ok(minuto_relayer::submit::Fees {
            max_fee_per_gas: 1,
            max_priority_fee_per_gas: 1,
        })
    }
    async fn send(
        &self,
        _: U256,
        _: u64,
        _: u8,
        _: u64,
        _: u64,
        _: minuto_relayer::submit::Fees,
    ) -> Result<B256, ChainError> {
        Ok(B256::ZERO)
    }
    async fn receipt(&self, _: B256) -> Result<Option<bool>, ChainError> {
        Ok(None)
    }
    async fn block_number(&self) -> Result<u64, ChainError> {
        Ok(1)
    }
    async fn block_receipts(&self, _: u64) -> Result<Option<Vec<(B256, bool)>>, ChainError> {
        Ok(Some(Vec::new()))
    }
}

#[tokio::test(start_paused = true)]
async fn mass_drop_is_sent_without_waiting_for_mining() {
    // Two slots for 40 sessions whose stops each take a minute to mine.
    let Rig {
        registry,
        chain,
        metrics,
        cancel,
    } = rig_over(
        |_| SlowMining {
            sends: Mutex::default(),
        },
        2,
    );
    for id in 0..40 {
        open_and_start(&registry, id, T0, 1_000_000);
    }
    // Nobody ever pings: all 40 are due when the grace period ends, at T0 + 20.
    sleep_s(22).await;
    let sends = chain.sends.lock().unwrap().clone();
    assert_eq!(sends.len(), 40, "stops queued behind mining");
    assert_eq!(metrics.stops_submitted.get(), 40);
    assert_eq!(metrics.stops_confirmed.get(), 0);
    sleep_s(60).await;
    assert_eq!(metrics.stops_confirmed.get(), 40);
    cancel.cancel();
}

/// A chain whose sends take five seconds each, with every stop recorded.
struct SlowSend {
    sends: Mutex<Vec<U256>>,
}

impl Chain for SlowSend {
    async fn head(&self) -> Result<Head, ChainError> {
        Ok(Head {
            number: 1,
            timestamp: T0,
        })
    }
    async fn logs(&self, _: u64, _: u64) -> Result<Vec<EscrowLog>, ChainError> {
        Ok(Vec::new())
    }
    async fn max_backdate(&self) -> Result<u64, ChainError> {
        Ok(BACKDATE)
    }
    async fn stop_at(&self, id: U256, at: u64, _: u8) -> Result<StopOutcome, ChainError> {
        tokio::time::sleep(Duration::from_secs(5)).await;
        self.sends.lock().unwrap().push(id);
        Ok(StopOutcome::Stopped { tx: B256::ZERO, at })
    }
}

#[tokio::test(start_paused = true)]
async fn a_stop_for_a_session_that_ended_while_it_waited_for_a_slot_is_not_sent() {
    // One slot; sessions 1 and 2 fall due together when the grace period ends (T0 + 20).
    let Rig {
        registry,
        chain,
        metrics,
        cancel,
    } = rig_over(
        |_| SlowSend {
            sends: Mutex::default(),
        },
        1,
    );
    open_and_start(&registry, 1, T0, 1_000_000);
    open_and_start(&registry, 2, T0, 1_000_000);
    sleep_s(21).await;
    // Session 1's stop holds the slot; session 2 ends on chain by other means and the
    // follower sees it.
    assert!(registry.apply(&EscrowEvent::Ended {
        id: U256::from(2),
        end: T0 + 20,
    }));
    sleep_s(10).await;
    assert_eq!(*chain.sends.lock().unwrap(), vec![U256::from(1)]);
    assert_eq!(metrics.stops_submitted.get(), 1);
    assert_eq!(metrics.stops_confirmed.get(), 1);
    assert_eq!(metrics.stops_already_ended.get(), 1);
    assert_eq!(metrics.stops_failed.get(), 0);
    cancel.cancel();
}

/// With `retry_after` 5 s (the rig's), a stop's end is looked at again 20 s after its
/// receipt; a quarter of `max_backdate` bounds it, a second floors it.
#[test]
fn end_check_after_is_four_retries_within_a_quarter_of_max_backdate() {
    let cfg = |retry_s, backdate| StopperConfig {
        max_backdate: backdate,
        concurrency: 1,
        retry_after: Duration::from_secs(retry_s),
        drain: Duration::from_secs(1),
    };
    assert_eq!(cfg(5, 3600).end_check_after(), Duration::from_secs(20));
    assert_eq!(cfg(5, 40).end_check_after(), Duration::from_secs(10));
    assert_eq!(cfg(0, 3600).end_check_after(), Duration::from_secs(1));
}

/// Tutor silent from `T0 + 5` while the student pings on: stopped at `T0 + 5` when the
/// grace period ends (T0 + 20), then `extra` more seconds of student pings.
async fn tutor_stopped(rig: &Rig) {
    open_and_start(&rig.registry, 1, T0, 1_000_000);
    ping(&rig.registry, 1, Role::Student, 1);
    ping(&rig.registry, 1, Role::Tutor, 1);
    sleep_s(5).await;
    ping(&rig.registry, 1, Role::Tutor, 2);
    for seq in 2..=5 {
        ping(&rig.registry, 1, Role::Student, seq);
        sleep_s(5).await;
    }
    // T0 + 25: the tutor's stop was sent and mined at T0 + 20.
    let stops = rig.chain.stops();
    assert_eq!(stops.len(), 1, "{stops:?}");
    assert_eq!(stops[0].1, T0 + 5);
    assert_eq!(
        rig.registry.clock().unix_ms_of(stops[0].2),
        (T0 + 20) * 1000
    );
    assert_eq!(rig.metrics.stops_confirmed.get(), 1);
}

/// The stop is mined, then its block is reorganised away before the follower (which
/// reads only confirmed blocks) reads it: no SessionEnded ever reaches the registry.
/// 20 s after the receipt the session is judged again and its stop sent again at the
/// same `at`, the tutor's last heartbeat. Today the session was forgotten at the
/// receipt: never stopped again, the student billed until the deposit ran out.
#[tokio::test(start_paused = true)]
async fn a_mined_stop_undone_before_the_follower_read_it_is_sent_again_at_the_same_at() {
    let rig = rig();
    tutor_stopped(&rig).await;
    // The reorganisation: Active again on chain.
    rig.chain.ended.lock().unwrap().clear();
    // Heartbeats stay refused meanwhile (the parties were told it ended).
    assert_eq!(
        rig.registry
            .record_heartbeat(U256::from(1), Role::Tutor, 3, T0 + 30),
        Err(minuto_relayer::sessions::Refusal::SessionEnded)
    );
    sleep_s(14).await; // T0 + 39: not yet.
    assert_eq!(rig.chain.stops().len(), 1);
    sleep_s(2).await; // T0 + 41: looked at again at T0 + 40.
    let stops = rig.chain.stops();
    assert_eq!(stops.len(), 2, "{stops:?}");
    assert_eq!(stops[1].1, T0 + 5, "sent again with another at");
    assert_eq!(
        rig.registry.clock().unix_ms_of(stops[1].2),
        (T0 + 40) * 1000
    );
    assert_eq!(rig.metrics.stops_confirmed.get(), 2);
    assert_eq!(rig.metrics.stops_submitted.get(), 2);
    // Detection latency is the first send's only.
    assert_eq!(rig.metrics.detection_latency.get_sample_count(), 1);
    assert_eq!(rig.registry.watched(), 0);
    // Still unconfirmed: the next look (T0 + 60) finds it ended on chain (the dry run's
    // already-ended answer), sends nothing and keeps waiting for the follower.
    sleep_s(20).await;
    assert_eq!(rig.chain.stops().len(), 2);
    assert_eq!(rig.metrics.stops_already_ended.get(), 1);
    assert_eq!(
        rig.registry.status(U256::from(1)).unwrap().session.phase,
        Phase::Unconfirmed
    );
    // The follower reads the new stop's end: gone, and never looked at again.
    assert!(rig.registry.apply(&EscrowEvent::Ended {
        id: U256::from(1),
        end: T0 + 5,
    }));
    assert!(rig.registry.status(U256::from(1)).is_none());
    sleep_s(120).await;
    assert_eq!(rig.chain.stops().len(), 2);
    assert_eq!(rig.metrics.stops_submitted.get(), 3);
    assert_eq!(rig.metrics.stops_already_ended.get(), 1);
    assert_eq!(rig.metrics.stops_failed.get(), 0);
    rig.cancel.cancel();
}

/// The follower reads the stop's SessionEnded before the bound: the session leaves and
/// nothing is sent again, even though the chain would take a second stop.
#[tokio::test(start_paused = true)]
async fn a_mined_stop_the_follower_read_is_not_sent_again() {
    let rig = rig();
    tutor_stopped(&rig).await;
    assert!(rig.registry.apply(&EscrowEvent::Ended {
        id: U256::from(1),
        end: T0 + 5,
    }));
    assert!(rig.registry.status(U256::from(1)).is_none());
    assert!(rig.registry.is_ended(U256::from(1)));
    // Even if the chain would now take another stop, none is sent.
    rig.chain.ended.lock().unwrap().clear();
    sleep_s(120).await;
    assert_eq!(rig.chain.stops().len(), 1);
    assert_eq!(rig.metrics.stops_submitted.get(), 1);
    assert_eq!(rig.metrics.stops_already_ended.get(), 0);
    assert_eq!(rig.registry.len(), 0);
    rig.cancel.cancel();
}
