//! The liveness rule: when a session must be stopped, and at what time.
//!
//! - A party is **silent** once `silence_timeout` passed since its last accepted
//!   heartbeat. Nobody is judged before `grace_period` has passed since the relayer
//!   began watching the session (its own start-up, or the session's activation,
//!   whichever is later), so a restart never causes a false stop.
//! - A silent party's session is stopped at that party's last heartbeat (Unix seconds
//!   at which the relayer accepted it); a party never heard from is stopped at the
//!   earliest moment the relayer can vouch for, [`Watched::alive_floor`].
//! - A session whose deposit is used up is stopped at the moment it ran dry (once the
//!   chain's clock has reached it), or earlier if a party was silent before that.
//! - `at` is bounded only by what `stopAt` will accept when the transaction is *mined*:
//!   `[max(start, t_mined − maxBackdate), t_mined]`. The mining block's timestamp is at
//!   least the sequencer's clock now, so `t_mined` is estimated from the relayer's clock
//!   and the latest block together ([`clamp_at`]); an old latest block (a quiet chain)
//!   never drags `at` back.
//!
//! This module is the rule alone, a pure function of the session and the time; the
//! deadline queue that applies it lives in [`crate::sessions`], the engine and the stop
//! submitter in [`crate::stopper`].

use std::time::Duration;

use alloy_primitives::U256;
use minuto_accrual::Accrual;
use tokio::time::Instant;

use crate::clock::Clock;
use crate::heartbeat::Role;

/// The last accepted heartbeat of one party.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    pub seq: u64,
    /// The client's `sent_at` (Unix seconds): replay order is `(sent_at, seq)`.
    pub sent_at: u64,
    /// When it was accepted (monotonic).
    pub at: Instant,
    /// When it was accepted (Unix seconds).
    pub unix: u64,
}

/// What the rule reads of one watched session.
#[derive(Clone, Copy, Debug)]
pub struct Watched<'a> {
    /// Start, rate and deposit.
    pub terms: &'a Accrual,
    /// When the relayer began judging it (the grace period runs from here).
    pub watch_from: Instant,
    /// The earliest Unix time the relayer can vouch a party was present.
    pub alive_floor: u64,
    /// Last accepted heartbeat per role (student, tutor).
    pub seen: &'a [Option<Seen>; 2],
}

/// Liveness settings.
#[derive(Clone, Copy, Debug)]
pub struct LivenessConfig {
    /// Silence after which a party counts as gone.
    pub silence_timeout: Duration,
    /// Time after watching begins during which no one is judged.
    pub grace_period: Duration,
    /// The clients' heartbeat cadence: two parties last heard less than this apart may
    /// have dropped together, and are told apart only by who speaks again.
    pub ping_interval: Duration,
    /// When this relayer started (its grace period runs from here).
    pub started: Instant,
}

/// Why a session is being stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// That party went silent.
    Silence(Role),
    /// Both went silent, last heard less than one ping interval apart (after a restart of
    /// this relayer, neither heard at all): nobody can tell whose doing it was.
    BothSilent,
    /// The deposit ran out.
    Exhausted,
}

impl StopReason {
    /// A label for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Silence(Role::Student) => "student_silent",
            StopReason::Silence(Role::Tutor) => "tutor_silent",
            StopReason::BothSilent => "both_silent",
            StopReason::Exhausted => "funds_exhausted",
        }
    }

    /// `stopAt`'s `silent`: 1 the student, 2 the tutor, 0 neither can be named (both
    /// silent at once, or the deposit ran out). On a booked session the escrow bills the
    /// student's minimum time for 1 and counts the tutor's early end for 2.
    pub fn silent(self) -> u8 {
        match self {
            StopReason::Silence(Role::Student) => 1,
            StopReason::Silence(Role::Tutor) => 2,
            StopReason::BothSilent | StopReason::Exhausted => 0,
        }
    }
}

/// A decided stop, before clamping to the chain's bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StopRequest {
    pub id: U256,
    /// The time the session should end at (Unix seconds).
    pub target_at: u64,
    /// The session's accrual start (the lower bound `stopAt` enforces).
    pub start: u64,
    /// Why.
    pub reason: StopReason,
    /// When the silent party was last heard (for the detection-latency metric).
    pub last_seen: Option<Instant>,
    /// Do not submit before the chain's clock reaches this (exhaustion), so the chain
    /// bills the whole deposit.
    pub not_before_chain: u64,
}

/// What to do with a session now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing before this instant.
    Wait(Instant),
    /// Stop it.
    Stop(StopRequest),
}

/// The liveness rule for one Active session at `now`.
pub fn judge(
    id: U256,
    s: Watched<'_>,
    now: Instant,
    clock: &Clock,
    cfg: &LivenessConfig,
) -> Verdict {
    let floor = s.watch_from + cfg.grace_period;
    // Each party: (role, when it counts as silent, when it was last heard in Unix seconds
    // and as an instant); a party never heard counts from the alive floor.
    let [a, b] = Role::ALL.map(|role| {
        let seen = s.seen[role.index()];
        let deadline = seen.map_or(floor, |x| (x.at + cfg.silence_timeout).max(floor));
        (
            role,
            deadline,
            seen.map_or(s.alive_floor, |x| x.unix),
            seen.map(|x| x.at),
        )
    });
    // The one silent first (heard from least recently), then the other.
    let (first, other) = if (b.1, b.2) < (a.1, a.2) {
        (b, a)
    } else {
        (a, b)
    };
    // Heard less than one ping apart, the two may have dropped together: the first is
    // named only once the other speaks again, and nobody if the other falls silent too.
    let together = match (first.3, other.3) {
        (Some(x), Some(y)) => x.max(y) - x.min(y) < cfg.ping_interval,
        _ => first.2.abs_diff(other.2) < cfg.ping_interval.as_secs().max(1),
    };
    let (silent, next) = match (first.1 <= now, other.1 <= now) {
        (false, _) => (None, first.1),
        (true, _) if !together => (Some(StopReason::Silence(first.0)), other.1),
        (true, true) => (Some(StopReason::BothSilent), other.1),
        // Undecided: wait for the other's deadline even past the deposit's end, since
        // the stop will still be dated at the first's last heartbeat, before it.
        (true, false) => return Verdict::Wait(other.1),
    };
    let silent = silent.map(|reason| (reason, first.2.min(other.2), first.3));
    let exhausted_at = s.terms.exhausted_at();
    let exhausted_instant = (exhausted_at != u64::MAX).then(|| clock.instant_of(exhausted_at));
    let exhausted = exhausted_instant.is_some_and(|t| t <= now);
    match (silent, exhausted) {
        (Some((reason, unix, last_seen)), _) if !exhausted || unix <= exhausted_at => {
            Verdict::Stop(StopRequest {
                id,
                target_at: unix,
                start: s.terms.start,
                reason,
                last_seen,
                not_before_chain: 0,
            })
        }
        (_, true) => Verdict::Stop(StopRequest {
            id,
            target_at: exhausted_at,
            start: s.terms.start,
            reason: StopReason::Exhausted,
            last_seen: exhausted_instant,
            not_before_chain: exhausted_at,
        }),
        // The earlier of the next deadline and the exhaustion.
        _ => Verdict::Wait(exhausted_instant.map_or(next, |t| t.min(next))),
    }
}

/// Margin kept above the lower `stopAt` bound: the transaction is mined a little after
/// we decide, and the window's lower end `t_mined − maxBackdate` moves with it.
pub fn backdate_margin(max_backdate: u64) -> u64 {
    (max_backdate / 2).min(10)
}

/// How far the chain's clock may trail the relayer's own (sequencer timestamps are
/// whole seconds, and clocks are never perfectly in step).
pub const CHAIN_CLOCK_LAG: u64 = 1;

/// The earliest timestamp the block that mines a stop sent now can carry: never before
/// the latest block, and the sequencer stamps new blocks with its clock, which is the
/// relayer's within [`CHAIN_CLOCK_LAG`].
pub fn earliest_mining_time(head_timestamp: u64, wall_now: u64) -> u64 {
    head_timestamp.max(wall_now.saturating_sub(CHAIN_CLOCK_LAG))
}

/// Bounds `target` by what `stopAt` accepts in the block that will mine it:
/// `at ≤ t_mined` (so at most [`earliest_mining_time`]) and
/// `at ≥ max(start, t_mined − maxBackdate)` (with `t_mined` taken at its latest
/// plausible value, now plus [`backdate_margin`]). The latest block only raises these
/// bounds: on a chain that mines no block for a while it is older than every heartbeat
/// and must not pull `at` back to it.
pub fn clamp_at(
    target: u64,
    start: u64,
    head_timestamp: u64,
    wall_now: u64,
    max_backdate: u64,
) -> u64 {
    let latest = earliest_mining_time(head_timestamp, wall_now);
    let latest_mining = head_timestamp
        .max(wall_now)
        .saturating_add(backdate_margin(max_backdate));
    let earliest = start.max(latest_mining.saturating_sub(max_backdate));
    target.max(earliest).min(latest.max(start))
}
