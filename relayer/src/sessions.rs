//! Every session the relayer watches: chain-derived terms and keys, plus what it has
//! heard from each party. One mutex guards the map and the deadline queue; heartbeats
//! only touch their own record and never the queue (see [`crate::liveness`]).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy_primitives::{Address, U256};
use lru::LruCache;
use minuto_accrual::Accrual;
use serde::{Deserialize, Serialize};
use serde_with::{serde_as, DisplayFromStr};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::clock::Clock;
use crate::escrow::EscrowEvent;
use crate::heartbeat::{PublicKey, Role};
pub use crate::liveness::Seen;
use crate::liveness::{judge, LivenessConfig, StopRequest, Verdict, Watched};
use crate::ratelimit::{Bucket, Rate};
use crate::store::{Health, LivenessStore, MemoryStore};

/// Where a session is in its life, as far as the relayer knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Opened, not started: no heartbeats yet.
    Open,
    /// Accruing: heartbeats expected.
    Active,
    /// A stop was decided and is being checked (the shared store, a last look before
    /// sending): heartbeats still count, and one heard now calls the stop off.
    Stopping,
    /// The stop was handed to the chain: heartbeats are refused as `session_ended`.
    Sending,
    /// The chain said the session ended (our stop's receipt, or a dry run answering
    /// already ended) but the follower has not read the end from a confirmed block yet:
    /// a reorganisation can still undo it. Heartbeats stay refused; the session is looked
    /// at again periodically ([`Registry::await_end`]), its stop sent again with the same
    /// `at`, and it leaves when the follower applies the end.
    Unconfirmed,
}

/// One watched session.
#[derive(Clone, Debug)]
pub struct Session {
    /// Key registered for the student's heartbeats (`SessionOpened.studentKey`).
    pub student_key: Address,
    /// Key registered for the tutor's heartbeats (`SessionStarted.tutorKey`); zero while
    /// Open.
    pub tutor_key: Address,
    /// Start, rate and deposit: what the chain bills.
    pub terms: Accrual,
    /// Protocol fee, basis points.
    pub fee_bps: u16,
    /// What the tutor has withdrawn so far.
    pub withdrawn: u128,
    pub phase: Phase,
    /// When the relayer began judging this session's silence (start-up or activation,
    /// whichever is later): the grace period runs from here.
    pub watch_from: Instant,
    /// The earliest Unix time the relayer can vouch a party was present: the session's
    /// start, or the relayer's own start if it came up later. A party never heard from
    /// is stopped at this time.
    pub alive_floor: u64,
    /// Last accepted heartbeat per role (student, tutor).
    pub seen: [Option<Seen>; 2],
    /// Flood control per role (student, tutor): one party can never spend the other's
    /// allowance.
    pub buckets: [Bucket; 2],
    /// Whether an entry for this session is in the deadline queue.
    pub queued: bool,
    /// Per role, the public key behind the registered key once a heartbeat recovered
    /// it: later heartbeats are verified against it instead of recovered.
    pub public_keys: [Option<(Address, PublicKey)>; 2],
}

impl Session {
    /// What the liveness rule reads of it.
    pub fn watched(&self) -> Watched<'_> {
        Watched {
            terms: &self.terms,
            watch_from: self.watch_from,
            alive_floor: self.alive_floor,
            seen: &self.seen,
        }
    }

    /// The key that must have signed `role`'s heartbeats.
    pub fn key(&self, role: Role) -> Address {
        match role {
            Role::Student => self.student_key,
            Role::Tutor => self.tutor_key,
        }
    }
}

/// The chain-derived part of a session, as saved with the follower's cursor.
#[serde_as]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub id: U256,
    /// Student heartbeat key.
    pub student_key: Address,
    /// Tutor heartbeat key (zero while Open).
    pub tutor_key: Address,
    /// Accrual start (zero while Open).
    pub start: u64,
    /// Rate, base units per second × 1e18, as a decimal string.
    #[serde_as(as = "DisplayFromStr")]
    pub rate: u128,
    /// Total deposited.
    #[serde_as(as = "DisplayFromStr")]
    pub deposited: u128,
    /// Tutor withdrawals so far.
    #[serde_as(as = "DisplayFromStr")]
    pub withdrawn: u128,
    /// Fee, basis points.
    pub fee_bps: u16,
    /// Whether the session had started.
    pub active: bool,
}

/// Why a heartbeat is refused by the registry (the API's error for it, see
/// [`crate::api::ApiError::Refused`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No such session known to this relayer.
    #[error("unknown session")]
    UnknownSession,
    /// The session ended, or its stop is being submitted.
    #[error("session has ended")]
    SessionEnded,
    /// Opened but not yet started.
    #[error("session has not started")]
    SessionNotActive,
    /// Too many accepted heartbeats for this session and role.
    #[error("too many heartbeats for this session and role")]
    RateLimited,
    /// `(sent_at, seq)` is not above the last accepted pair.
    #[error("(sent_at {sent_at}, seq {seq}) is not after the last accepted (sent_at {last_sent_at}, seq {last_seq})")]
    Replay {
        seq: u64,
        sent_at: u64,
        /// The last accepted sequence number.
        last_seq: u64,
        /// Its `sent_at`.
        last_sent_at: u64,
    },
}

/// Money figures of a session at a moment, for replies and status pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    /// Billed so far.
    pub billed: u128,
    /// What the tutor could withdraw now: earned up to `max(now − maxBackdate, start)`,
    /// the part no relayer `stopAt` can take back, less what was already withdrawn
    /// (the escrow's `withdrawable`). Zero while the session is Open.
    pub withdrawable: u128,
    /// Seconds until the deposit runs out (`u64::MAX` for never).
    pub runway_seconds: u64,
    pub deposited: u128,
}

/// A read-only view of one session.
#[derive(Clone, Debug)]
pub struct SessionStatus {
    pub session: Session,
    /// Its money figures now.
    pub standing: Standing,
}

#[derive(Debug)]
struct Inner {
    sessions: HashMap<U256, Session>,
    queue: BTreeSet<(Instant, U256)>,
    /// Recently ended sessions, so late heartbeats get "ended" rather than "unknown".
    ended: LruCache<U256, ()>,
    active: usize,
    /// What was heard of the parties of sessions this relayer stopped: if a
    /// reorganisation undoes the stop, the session is judged again from it and the new
    /// stop carries the same `at`.
    stopped_seen: LruCache<U256, [Option<Seen>; 2]>,
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            sessions: HashMap::new(),
            queue: BTreeSet::new(),
            ended: LruCache::new(NonZeroUsize::new(65_536).expect("non-zero")),
            active: 0,
            stopped_seen: LruCache::new(NonZeroUsize::new(4_096).expect("non-zero")),
        }
    }
}

impl Inner {
    fn schedule(&mut self, id: U256, at: Instant) {
        if let Some(s) = self.sessions.get_mut(&id) {
            if !s.queued {
                s.queued = true;
                self.queue.insert((at, id));
            }
        }
    }

    fn set_phase(&mut self, id: U256, phase: Phase) {
        if let Some(s) = self.sessions.get_mut(&id) {
            let was = s.phase == Phase::Active;
            s.phase = phase;
            let is = phase == Phase::Active;
            match (was, is) {
                (false, true) => self.active += 1,
                (true, false) => self.active -= 1,
                _ => {}
            }
        }
    }

    fn remove(&mut self, id: U256) {
        self.set_phase(id, Phase::Open);
        self.sessions.remove(&id);
        self.ended.put(id, ());
    }

    /// Session `id` if it takes heartbeats: Active, or a stop only being checked.
    fn live(&mut self, id: U256) -> Result<&mut Session, Refusal> {
        match self.sessions.get_mut(&id) {
            Some(s) => match s.phase {
                Phase::Active | Phase::Stopping => Ok(s),
                Phase::Open => Err(Refusal::SessionNotActive),
                Phase::Sending | Phase::Unconfirmed => Err(Refusal::SessionEnded),
            },
            None if self.ended.contains(&id) => Err(Refusal::SessionEnded),
            None => Err(Refusal::UnknownSession),
        }
    }
}

/// What the shared store says of a decided stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirmation {
    /// Nobody heard the party either: stop.
    Stop(StopRequest),
    /// Another instance heard the party (or the session is no longer being stopped):
    /// re-queued at its new deadline.
    Alive,
    /// The store cannot vouch for the silence now: judged again later.
    Deferred,
}

/// All watched sessions and their deadline queue.
#[derive(Debug)]
pub struct Registry {
    inner: Mutex<Inner>,
    /// Woken when a session is added to the queue, so the liveness engine re-reads its
    /// next deadline.
    pub wake: Notify,
    clock: Clock,
    liveness: LivenessConfig,
    session_rate: Rate,
    max_backdate: u64,
    store: Arc<dyn LivenessStore>,
    authorized: AtomicBool,
}

/// A session's money figures at `now_unix`, as the escrow would report them.
///
/// `billed` and `runway_seconds` are at `now`. `withdrawable` mirrors the escrow's
/// `due`: the tutor may only take what was earned up to `max(now − maxBackdate, start)`
/// (a `stopAt` can still end the session anywhere after that), less what was already
/// withdrawn, saturating at zero. The escrow also never counts back before its stored
/// `withdrawnThrough`, which no event carries; it only differs from the above after an
/// admin raises `maxBackdate`, and then saturating at zero is the conservative answer.
fn standing_of(s: &Session, now_unix: u64, max_backdate: u64) -> Standing {
    if s.phase == Phase::Open {
        // As the escrow's views: nothing billed yet, and the whole deposit's worth of
        // runway counted from now.
        let from_now = minuto_accrual::Accrual {
            start: now_unix,
            ..s.terms
        };
        return Standing {
            billed: 0,
            withdrawable: 0,
            runway_seconds: from_now.runway_at(now_unix),
            deposited: s.terms.deposited,
        };
    }
    let through = now_unix.saturating_sub(max_backdate).max(s.terms.start);
    let withdrawable =
        minuto_accrual::withdrawable(s.terms.billed_at(through), s.fee_bps, s.withdrawn)
            .unwrap_or(0);
    Standing {
        billed: s.terms.billed_at(now_unix),
        withdrawable,
        runway_seconds: s.terms.runway_at(now_unix),
        deposited: s.terms.deposited,
    }
}

impl Registry {
    /// An empty registry. `max_backdate` is the escrow's own `maxBackdate()` in seconds
    /// (not an operator's smaller bound): the reported `withdrawable` lags `now` by it,
    /// as the escrow's does.
    pub fn new(
        clock: Clock,
        liveness: LivenessConfig,
        session_rate: Rate,
        max_backdate: u64,
    ) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            wake: Notify::new(),
            clock,
            liveness,
            session_rate,
            max_backdate,
            store: Arc::new(MemoryStore),
            authorized: AtomicBool::new(true),
        }
    }

    /// Whether the relayer's account is (still) in the escrow's relayer set, as the
    /// follower last saw; stops are not sent while it is not.
    pub fn authorized(&self) -> bool {
        self.authorized.load(Ordering::Relaxed)
    }

    /// Records what the follower saw of the relayer set.
    pub fn set_authorized(&self, authorized: bool) {
        self.authorized.store(authorized, Ordering::Relaxed);
    }

    /// Shares liveness with other instances through `store` (default: in memory only).
    #[must_use]
    pub fn with_store(mut self, store: Arc<dyn LivenessStore>) -> Self {
        self.store = store;
        self
    }

    /// Checks a decided stop against what every instance heard (the shared store).
    /// Returns the stop to submit, or `None` when the session turned out alive (it is
    /// re-queued at its new deadline) or the store cannot vouch for the silence now
    /// (judged again later). A store that fails never causes a stop.
    pub async fn confirm(&self, request: StopRequest) -> Confirmation {
        if self.end_unconfirmed(request.id) {
            // A stop already sent, looked at again: heartbeats have been refused since,
            // so there is nothing new to hear; it goes with the same `at`.
            return Confirmation::Stop(request);
        }
        if let Some(retry) = self.store_unsure(self.clock.now()) {
            self.stop_failed(request.id, retry);
            return Confirmation::Deferred;
        }
        let shared = self.store.last_seen(request.id).await;
        // Asked again after the read: a store that came back while it was read (a
        // restart, its data lost) cannot vouch for the silence either.
        let now = self.clock.now();
        let retry = match (shared, self.store_unsure(now)) {
            (Ok(shared), None) => {
                let merged = self.merge_shared(request, shared);
                return merged.map_or(Confirmation::Alive, Confirmation::Stop);
            }
            (Ok(_), Some(retry)) => retry,
            (Err(e), _) => {
                tracing::warn!(session = %request.id, error = %e, "liveness store unreadable; not stopping now");
                now + Duration::from_secs(1)
            }
        };
        self.stop_failed(request.id, retry);
        Confirmation::Deferred
    }

    /// When to judge again if the store cannot vouch for a silence now (`None`: it
    /// can): it does not answer, or has not been answering for a whole silence timeout
    /// (writes other instances made while it was down may be missing).
    fn store_unsure(&self, now: Instant) -> Option<Instant> {
        let timeout = self.liveness.silence_timeout;
        match self.store.health() {
            Health::Always => None,
            Health::Since(since) if now.saturating_duration_since(since) >= timeout => None,
            Health::Since(since) => Some((since + timeout).max(now + Duration::from_millis(100))),
            Health::Down => Some(now + Duration::from_secs(1)),
        }
    }

    /// Claims `(sent_at, seq)` for `role` of session `id` in the shared store, so a
    /// heartbeat replayed to another instance is refused there too: `Some((last_sent_at,
    /// last_seq))` when an instance already accepted it or a later one. In memory this
    /// is always `None` (the registry's own check decides). A store that does not answer
    /// leaves the decision to this instance's check.
    pub async fn claim_heartbeat(
        &self,
        id: U256,
        role: Role,
        sent_at: u64,
        seq: u64,
    ) -> Option<(u64, u64)> {
        match self.store.claim(id, role, sent_at, seq).await {
            Ok(replay) => replay,
            Err(e) => {
                tracing::warn!(session = %id, error = %e, "liveness store: replay check across instances skipped");
                None
            }
        }
    }

    /// Whether the shared liveness store answers (always, for the in-memory one).
    pub fn store_up(&self) -> bool {
        self.store.health() != Health::Down
    }

    /// Folds the shared last-seen times (Unix ms per role) into a session being stopped
    /// and judges it again.
    fn merge_shared(&self, request: StopRequest, shared: [Option<u64>; 2]) -> Option<StopRequest> {
        let id = request.id;
        let now = self.clock.now();
        let mut inner = self.lock();
        let s = inner.sessions.get_mut(&id)?;
        if s.phase != Phase::Stopping {
            return None;
        }
        for role in Role::ALL {
            let Some(ms) = shared[role.index()] else {
                continue;
            };
            let local = s.seen[role.index()];
            if local.is_some_and(|l| self.clock.unix_ms_of(l.at) >= ms) {
                continue;
            }
            // Replay order stays this instance's own (it only saw its own heartbeats).
            let (seq, sent_at) = local.map_or((0, 0), |l| (l.seq, l.sent_at));
            s.seen[role.index()] = Some(Seen {
                seq,
                sent_at,
                at: self.clock.instant_of_ms(ms),
                unix: ms / 1000,
            });
        }
        // Judged again whatever the store said: a heartbeat may also have come in here
        // since the decision (they count while the stop is only being checked).
        match judge(id, s.watched(), now, &self.clock, &self.liveness) {
            Verdict::Stop(request) => Some(request),
            Verdict::Wait(next) => {
                self.requeue(&mut inner, id, next, true);
                None
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map half-updated in a way
        // that matters more than stopping the relayer would.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The clock this registry judges time by.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The liveness settings.
    pub fn liveness(&self) -> &LivenessConfig {
        &self.liveness
    }

    /// Whether `id` is kept after the chain said it ended, waiting for the follower to
    /// read the end from a confirmed block ([`Registry::await_end`]).
    pub fn end_unconfirmed(&self, id: U256) -> bool {
        let phase = self.lock().sessions.get(&id).map(|s| s.phase);
        phase == Some(Phase::Unconfirmed)
    }

    /// Number of Active sessions being watched.
    pub fn watched(&self) -> usize {
        self.lock().active
    }

    /// Number of sessions known (any phase).
    pub fn len(&self) -> usize {
        self.lock().sessions.len()
    }

    /// Whether no session is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn new_session(&self, student_key: Address, terms: Accrual, fee_bps: u16) -> Session {
        let now = self.clock.now();
        Session {
            student_key,
            tutor_key: Address::ZERO,
            terms,
            fee_bps,
            withdrawn: 0,
            phase: Phase::Open,
            watch_from: now,
            alive_floor: 0,
            seen: [None, None],
            buckets: [Bucket::full(self.session_rate, now); 2],
            queued: false,
            public_keys: [None, None],
        }
    }

    fn activate(&self, inner: &mut Inner, id: U256) {
        let now = self.clock.now();
        let relayer_start = self.clock.unix_of(self.liveness.started);
        if let Some(s) = inner.sessions.get_mut(&id) {
            s.watch_from = now;
            s.alive_floor = s.terms.start.max(relayer_start);
        }
        self.requeue(inner, id, now, true);
    }

    /// Queues `id` to be judged at `at` (back in Active first when `reactivate`) and
    /// wakes the liveness engine to re-read its next deadline.
    fn requeue(&self, inner: &mut Inner, id: U256, at: Instant, reactivate: bool) {
        if reactivate {
            inner.set_phase(id, Phase::Active);
        }
        inner.schedule(id, at);
        self.wake.notify_one();
    }

    /// Applies one escrow event. Returns whether it changed anything (an event for a
    /// session the relayer never saw open changes nothing).
    pub fn apply(&self, event: &EscrowEvent) -> bool {
        let mut inner = self.lock();
        match *event {
            EscrowEvent::Opened {
                id,
                student_key,
                rate,
                deposit,
                fee_bps,
            } => {
                if inner.ended.contains(&id) || inner.sessions.contains_key(&id) {
                    return false;
                }
                let terms = Accrual {
                    start: 0,
                    rate,
                    deposited: deposit,
                };
                let s = self.new_session(student_key, terms, fee_bps);
                inner.sessions.insert(id, s);
                true
            }
            EscrowEvent::Started {
                id,
                tutor_key,
                start,
            } => match inner.sessions.get_mut(&id) {
                Some(s) if s.phase == Phase::Open => {
                    s.tutor_key = tutor_key;
                    s.terms.start = start;
                    self.activate(&mut inner, id);
                    true
                }
                _ => false,
            },
            EscrowEvent::ToppedUp { id, deposited } => {
                let s = inner.sessions.get_mut(&id);
                s.map(|s| s.terms.deposited = deposited).is_some()
            }
            EscrowEvent::Withdrawn { id, amount } => {
                let s = inner.sessions.get_mut(&id);
                s.map(|s| s.withdrawn = s.withdrawn.saturating_add(amount))
                    .is_some()
            }
            EscrowEvent::Ended { id, .. } | EscrowEvent::Cancelled { id } => {
                let known = inner.sessions.contains_key(&id);
                drop(inner);
                // As for a stop of ours (the follower may see it before the stopper does):
                // what was heard is kept, should a reorganisation undo the end.
                self.stopped(id);
                known
            }
        }
    }

    /// The key that must sign `role`'s heartbeat for session `id`, and its public key if
    /// a heartbeat already showed it ([`Registry::remember_key`]).
    ///
    /// # Errors
    /// [`Refusal`] when the session is unknown, ended or not yet active.
    pub fn heartbeat_key(
        &self,
        id: U256,
        role: Role,
    ) -> Result<(Address, Option<PublicKey>), Refusal> {
        let mut inner = self.lock();
        let s = inner.live(id)?;
        let key = s.key(role);
        let known = s.public_keys[role.index()]
            .filter(|(address, _)| *address == key)
            .map(|(_, public)| public);
        Ok((key, known))
    }

    /// Keeps the public key a heartbeat recovered for `key`, `role`'s registered key.
    pub fn remember_key(&self, id: U256, role: Role, key: Address, public: PublicKey) {
        if let Some(s) = self.lock().sessions.get_mut(&id) {
            s.public_keys[role.index()] = Some((key, public));
        }
    }

    /// Records an already verified heartbeat.
    ///
    /// Replays are refused by the order of `(sent_at, seq)`: a heartbeat must be newer by
    /// the client's clock, or as new with a higher `seq`. Since `sent_at` is held within
    /// `max_clock_skew` of the relayer's clock, a heartbeat with a huge `seq` can lock
    /// its own role out only until the clock passes its `sent_at`, never for good.
    ///
    /// # Errors
    /// [`Refusal`] when the session is no longer active, the role's rate is exceeded or
    /// the heartbeat is not newer than the last accepted one.
    pub fn record_heartbeat(
        &self,
        id: U256,
        role: Role,
        seq: u64,
        sent_at: u64,
    ) -> Result<Standing, Refusal> {
        let now = self.clock.now();
        let now_unix = self.clock.unix_of(now);
        let rate = self.session_rate;
        let mut inner = self.lock();
        let s = inner.live(id)?;
        if let Some(last) = s.seen[role.index()] {
            if (sent_at, seq) <= (last.sent_at, last.seq) {
                return Err(Refusal::Replay {
                    seq,
                    sent_at,
                    last_seq: last.seq,
                    last_sent_at: last.sent_at,
                });
            }
        }
        if !s.buckets[role.index()].take(rate, now) {
            return Err(Refusal::RateLimited);
        }
        s.seen[role.index()] = Some(Seen {
            seq,
            sent_at,
            at: now,
            unix: now_unix,
        });
        self.store.record(id, role, self.clock.unix_ms_of(now));
        Ok(standing_of(s, now_unix, self.max_backdate))
    }

    /// A session's record and money figures now.
    pub fn status(&self, id: U256) -> Option<SessionStatus> {
        let now_unix = self.clock.now_unix();
        let inner = self.lock();
        inner.sessions.get(&id).map(|s| SessionStatus {
            session: s.clone(),
            standing: standing_of(s, now_unix, self.max_backdate),
        })
    }

    /// Whether `id` ended (recently enough to be remembered).
    pub fn is_ended(&self, id: U256) -> bool {
        self.lock().ended.contains(&id)
    }

    /// Pops every queue entry due at `now`, applies the liveness rule to each, and
    /// returns the stops to submit plus the next deadline. Sessions not yet due are
    /// re-queued at their own deadline, so work is proportional to deadlines reached,
    /// never to the number of sessions.
    pub fn take_due(&self, now: Instant) -> (Vec<StopRequest>, Option<Instant>) {
        let mut stops = Vec::new();
        let mut inner = self.lock();
        let mut requeue = Vec::new();
        while let Some(&(at, id)) = inner.queue.first() {
            if at > now {
                break;
            }
            inner.queue.pop_first();
            let Some(s) = inner.sessions.get_mut(&id) else {
                continue;
            };
            s.queued = false;
            let resend = s.phase == Phase::Unconfirmed;
            if s.phase != Phase::Active && !resend {
                continue;
            }
            let verdict = judge(id, s.watched(), now, &self.clock, &self.liveness);
            match (resend, verdict) {
                (false, Verdict::Wait(next)) => requeue.push((id, next)),
                (false, Verdict::Stop(request)) => {
                    inner.set_phase(id, Phase::Stopping);
                    stops.push(request);
                }
                // Our stop was mined (or the chain said ended) and the follower has not
                // read the end since: looked at again with the same heartbeats, so the
                // same `at`. Still Unconfirmed: heartbeats stay refused, and the dry run
                // tells an end that stands from one a reorganisation undid.
                (true, Verdict::Stop(request)) => stops.push(request),
                // Only if a rewind changed the terms: judged as any Active session.
                (true, Verdict::Wait(next)) => {
                    inner.set_phase(id, Phase::Active);
                    requeue.push((id, next));
                }
            }
        }
        for (id, next) in requeue {
            inner.schedule(id, next);
        }
        (stops, inner.queue.first().map(|&(at, _)| at))
    }

    /// The follower read the session's end (or the stopper found it ended before
    /// sending): forget the session (keeping what was heard of its parties for a while,
    /// see [`Registry::rewind`]).
    pub fn stopped(&self, id: U256) {
        let mut inner = self.lock();
        if let Some(seen) = inner.sessions.get(&id).map(|s| s.seen) {
            inner.stopped_seen.put(id, seen);
        }
        inner.remove(id);
    }

    /// The chain said session `id` ended — our stop's receipt, or a dry run answering
    /// already ended — but the follower has not read the end yet. The session is kept
    /// in [`Phase::Unconfirmed`] (heartbeats refused, not counted as watched) and judged
    /// again at `check_at`: if the follower has applied the end by then it is gone;
    /// otherwise its stop is sent again with the same heartbeats, hence the same `at`,
    /// and the dry run answers already ended unless a reorganisation undid the end.
    /// Returns whether the session was kept (it is not if the follower already applied
    /// the end, or a rewind made it Open).
    pub fn await_end(&self, id: U256, check_at: Instant) -> bool {
        let mut inner = self.lock();
        let Some(s) = inner.sessions.get_mut(&id) else {
            return false;
        };
        if !matches!(s.phase, Phase::Sending | Phase::Unconfirmed) {
            return false;
        }
        s.phase = Phase::Unconfirmed;
        self.requeue(&mut inner, id, check_at, false);
        true
    }

    /// The last look before a decided stop is sent: `Some(request)` (and heartbeats are
    /// refused from now on) when the session is still silent, `None` when a heartbeat
    /// came in since the decision (the session is active again, judged at its new
    /// deadline) or the session is no longer being stopped.
    pub fn begin_send(&self, request: StopRequest) -> Option<StopRequest> {
        let now = self.clock.now();
        let mut inner = self.lock();
        let s = inner.sessions.get_mut(&request.id)?;
        // Stopping: a first send. Unconfirmed: sent again, from the same heartbeats
        // (refused since the first send).
        let first = s.phase == Phase::Stopping;
        if !first && s.phase != Phase::Unconfirmed {
            return None;
        }
        let id = request.id;
        // Silence only grows: with nothing heard since the decision this is that stop.
        match judge(id, s.watched(), now, &self.clock, &self.liveness) {
            Verdict::Stop(request) => {
                // No phase here is Active: the active count is unchanged.
                if first {
                    s.phase = Phase::Sending;
                }
                Some(request)
            }
            Verdict::Wait(next) => {
                self.requeue(&mut inner, id, next, true);
                None
            }
        }
    }

    /// A stop failed: judge the session again at `retry_at`. A stop sent again while
    /// its end is unconfirmed stays Unconfirmed (heartbeats refused, the same `at` next
    /// time); a first stop goes back to Active.
    pub fn stop_failed(&self, id: U256, retry_at: Instant) {
        let mut inner = self.lock();
        let Some(phase) = inner.sessions.get(&id).map(|s| s.phase) else {
            return;
        };
        if matches!(phase, Phase::Stopping | Phase::Sending | Phase::Unconfirmed) {
            self.requeue(&mut inner, id, retry_at, phase != Phase::Unconfirmed);
        }
    }

    /// The chain-derived state, for the cursor file.
    pub fn snapshot(&self) -> Vec<SessionRecord> {
        let inner = self.lock();
        let mut records: Vec<_> = inner
            .sessions
            .iter()
            .map(|(&id, s)| SessionRecord {
                id,
                student_key: s.student_key,
                tutor_key: s.tutor_key,
                start: s.terms.start,
                rate: s.terms.rate,
                deposited: s.terms.deposited,
                withdrawn: s.withdrawn,
                fee_bps: s.fee_bps,
                active: s.phase != Phase::Open,
            })
            .collect();
        records.sort_by_key(|r| r.id);
        records
    }

    /// Puts the chain-derived state back to `records` (what the chain said at an earlier
    /// block), after a reorganisation replaced blocks already read. Sessions the rewound
    /// chain does not know are dropped, sessions it knows are updated or brought back
    /// (an end that was reorganised away), and what was heard of the parties is kept.
    /// At start-up it loads the cursor's sessions (Active ones get a full grace period).
    pub fn rewind(&self, records: &[SessionRecord]) {
        let mut inner = self.lock();
        let keep: HashSet<U256> = records.iter().map(|r| r.id).collect();
        let gone: Vec<U256> = inner
            .sessions
            .keys()
            .filter(|id| !keep.contains(id))
            .copied()
            .collect();
        for id in gone {
            inner.set_phase(id, Phase::Open);
            inner.sessions.remove(&id);
        }
        for r in records {
            inner.ended.pop(&r.id);
            let terms = Accrual {
                start: r.start,
                rate: r.rate,
                deposited: r.deposited,
            };
            let phase = inner.sessions.get(&r.id).map(|s| s.phase);
            // A stop of ours that the reorganisation undid: judge it again from the same
            // heartbeats, so it is re-sent with the same `at`.
            let seen = inner.stopped_seen.peek(&r.id).copied().unwrap_or_default();
            let s = (inner.sessions.entry(r.id)).or_insert_with(|| Session {
                seen,
                ..self.new_session(r.student_key, terms, r.fee_bps)
            });
            s.student_key = r.student_key;
            s.tutor_key = r.tutor_key;
            s.terms = terms;
            s.withdrawn = r.withdrawn;
            s.fee_bps = r.fee_bps;
            match (r.active, phase) {
                (true, None | Some(Phase::Open)) => self.activate(&mut inner, r.id),
                (false, Some(phase)) if phase != Phase::Open => inner.set_phase(r.id, Phase::Open),
                _ => {}
            }
        }
    }
}
