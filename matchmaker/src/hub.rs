//! The hub: one [`Pool`] behind a lock, the connected clients, the chain checks around
//! each transition, and the timers (proposal deadlines, credential refresh).
//!
//! Every client message is checked against the chain *before* the pool is locked
//! (affordability for `find`; signature, expiry, fee cap and nonce for `accept`), then
//! applied to the pool in one short critical section, whose events are routed to their
//! addressees. Outboxes are bounded: a client that does not read is disconnected, and its
//! disconnection is handled as going offline / cancelling.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy_primitives::{Address, Signature};
use minuto_chain::alloy::sol_types::{Eip712Domain, SolStruct};
use minuto_chain::eip712::{acceptance_domain, Acceptance};
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::chain::ChainView;
use crate::cluster::{Cluster, Inbound, Member};
use crate::metrics::Metrics;
use crate::pool::{self, Event, MatchError, Pool, Profile};
use crate::protocol::{ClientMsg, ErrorCode, ServerMsg, SignedAcceptance};
use crate::rooms::Rooms;

/// Hub settings.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// The matching rule's timing.
    pub pool: pool::Config,
    /// The chain acceptances are signed for.
    pub chain_id: u64,
    /// The escrow acceptances are signed for.
    pub escrow: minuto_chain::alloy::primitives::Address,
    /// An acceptance must stay valid at least this long (the student's open+start).
    pub min_acceptance_validity: Duration,
    /// …and expire within this (a stale signature is not left to be used much later).
    pub max_acceptance_validity: Duration,
    /// How often credentials of online tutors are re-checked on chain.
    pub credential_refresh: Duration,
    /// Messages queued per client before it is disconnected as too slow.
    pub outbox: usize,
}

/// A connected client.
#[derive(Debug)]
struct Conn {
    id: u64,
    tx: mpsc::Sender<ServerMsg>,
}

/// The matchmaker's running state.
pub struct Hub<C> {
    cfg: HubConfig,
    chain: C,
    rooms: Box<dyn Rooms>,
    pool: Mutex<Pool>,
    conns: Mutex<HashMap<Address, Conn>>,
    domain: Eip712Domain,
    next_conn: AtomicU64,
    wake: Notify,
    metrics: Arc<Metrics>,
    /// Several instances: who holds the pool, and how to reach sockets held elsewhere.
    cluster: Option<Arc<Cluster>>,
    /// The last profile of each tutor online on this instance (re-sent after a failover).
    profiles: Mutex<HashMap<Address, Profile>>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn error(code: ErrorCode, message: impl Into<String>) -> ServerMsg {
    ServerMsg::Error {
        code,
        message: message.into(),
    }
}

impl From<MatchError> for ServerMsg {
    fn from(e: MatchError) -> Self {
        let code = match e {
            MatchError::InvalidLanguage(_)
            | MatchError::InvalidProfile(_)
            | MatchError::InvalidRequest(_) => ErrorCode::InvalidInput,
            MatchError::SearchRunning => ErrorCode::SearchRunning,
            MatchError::NoSearch => ErrorCode::NoSearch,
            MatchError::NotOnline => ErrorCode::NotOnline,
            MatchError::UnknownProposal(_) => ErrorCode::UnknownProposal,
            MatchError::NotYourProposal(_) => ErrorCode::NotYourProposal,
            MatchError::ProposalClosed { .. } => ErrorCode::ProposalClosed,
            MatchError::TermsMismatch(_) => ErrorCode::InvalidAcceptance,
        };
        error(code, e.to_string())
    }
}

impl<C: ChainView> Hub<C> {
    /// A hub with no one connected; with `cluster`, one of several instances.
    pub fn new(
        cfg: HubConfig,
        chain: C,
        rooms: Box<dyn Rooms>,
        metrics: Arc<Metrics>,
        cluster: Option<Arc<Cluster>>,
    ) -> Self {
        Self {
            cluster,
            profiles: Mutex::new(HashMap::new()),
            domain: acceptance_domain(cfg.chain_id, cfg.escrow),
            pool: Mutex::new(Pool::new(cfg.pool)),
            cfg,
            chain,
            rooms,
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
            wake: Notify::new(),
            metrics,
        }
    }

    /// The chain reads.
    pub fn chain(&self) -> &C {
        &self.chain
    }

    /// Whether this instance holds the pool (always, without a cluster).
    pub fn holds_pool(&self) -> bool {
        self.cluster.as_ref().is_none_or(|c| c.is_leader())
    }

    fn now() -> std::time::Instant {
        Instant::now().into_std()
    }

    /// Registers `me`'s connection and returns its id and outbox. An earlier connection of
    /// the same address is told it was replaced and dropped (one live connection per
    /// address: two tabs would otherwise split proposals).
    pub fn connect(&self, me: Address) -> (u64, mpsc::Receiver<ServerMsg>) {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.cfg.outbox);
        let old = self.conns.lock().unwrap().insert(me, Conn { id, tx });
        if let Some(c) = &self.cluster {
            let c = Arc::clone(c);
            tokio::spawn(async move { c.hold(me).await });
        }
        if let Some(old) = old {
            let _ = old.tx.try_send(error(
                ErrorCode::Unauthorized,
                "signed in again on another connection",
            ));
        }
        self.metrics.connections.inc();
        (id, rx)
    }

    /// `me`'s connection `id` closed: the tutor goes offline, the student's search is
    /// cancelled and waitlist entry dropped. A replaced connection changes nothing.
    pub fn disconnect(&self, me: Address, id: u64) {
        self.metrics.connections.dec();
        let mut conns = self.conns.lock().unwrap();
        if conns.get(&me).is_none_or(|c| c.id != id) {
            return;
        }
        conns.remove(&me);
        drop(conns);
        self.profiles.lock().unwrap().remove(&me);
        match &self.cluster {
            Some(c) => {
                let c = Arc::clone(c);
                tokio::spawn(async move {
                    c.release(me).await;
                    if !c.is_leader() {
                        c.forward(&Inbound::Leave { from: me }).await;
                    }
                });
                if self.cluster.as_ref().is_some_and(|c| c.is_leader()) {
                    self.leave(me);
                }
            }
            None => self.leave(me),
        }
    }

    /// A client message from a local socket: handled here, or forwarded to the instance
    /// holding the pool.
    pub async fn submit(self: &Arc<Self>, me: Address, msg: ClientMsg) {
        match &msg {
            ClientMsg::Online { profile } => {
                self.profiles.lock().unwrap().insert(me, profile.clone());
            }
            ClientMsg::Offline => {
                self.profiles.lock().unwrap().remove(&me);
            }
            _ => {}
        }
        match &self.cluster {
            Some(c) if !c.is_leader() => {
                if !c.forward(&Inbound::Msg { from: me, msg }).await {
                    let e = error(
                        ErrorCode::Overloaded,
                        "the instance holding the pool is not keeping up; try again",
                    );
                    self.send_local(me, e);
                }
            }
            _ => self.handle(me, msg).await,
        }
    }

    /// Queues `msg` for a socket on this instance; `false` if there is none.
    fn send_local(&self, to: Address, msg: ServerMsg) -> bool {
        let mut conns = self.conns.lock().unwrap();
        let Some(c) = conns.get(&to) else {
            return false;
        };
        match c.tx.try_send(msg) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                warn!(%to, "client does not read its messages; disconnecting it");
                self.metrics.slow_clients.inc();
                conns.remove(&to);
                drop(conns);
                self.leave(to);
            }
        }
        true
    }

    fn leave(&self, me: Address) {
        let now = Self::now();
        let events = {
            let mut pool = self.pool.lock().unwrap();
            let mut events = pool.offline(me, now);
            events.extend(pool.cancel(me, now).unwrap_or_default());
            pool.unwait(me);
            events
        };
        self.dispatch(events);
    }

    /// Queues `msg` for `to`, on this instance or, in a cluster, on the one holding its
    /// socket. A full outbox disconnects `to`.
    fn send(&self, to: Address, msg: ServerMsg) {
        let conns_have = self.conns.lock().unwrap().contains_key(&to);
        if conns_have {
            self.send_local(to, msg);
        } else if let Some(c) = &self.cluster {
            c.send_remote(to, msg);
        }
    }

    /// Routes pool events to their addressees.
    fn dispatch(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let now = Self::now();
        self.wake.notify_one();
        for e in events {
            let (to, msg) = match e {
                Event::Proposed {
                    tutor,
                    proposal,
                    terms,
                    request,
                    expires,
                    ..
                } => {
                    self.metrics.proposals.inc();
                    let ms = expires.saturating_duration_since(now).as_millis();
                    (
                        tutor,
                        ServerMsg::Proposed {
                            proposal,
                            terms,
                            request,
                            expires_in_ms: u64::try_from(ms).unwrap_or(u64::MAX),
                        },
                    )
                }
                Event::ProposalClosed {
                    tutor,
                    proposal,
                    reason,
                } => (tutor, ServerMsg::ProposalClosed { proposal, reason }),
                Event::Searching {
                    student,
                    search,
                    attempt,
                } => (student, ServerMsg::Searching { search, attempt }),
                Event::NoMatch {
                    student,
                    search,
                    reason,
                } => {
                    self.metrics.no_match.inc();
                    (student, ServerMsg::NoMatch { search, reason })
                }
                Event::TutorAvailable { student, tutor } => {
                    (student, ServerMsg::TutorAvailable { tutor })
                }
                Event::WaitlistExpired { student } => (student, ServerMsg::WaitlistExpired),
                // Only `accept` makes matches, and it answers them itself.
                Event::Matched { .. } => continue,
            };
            self.send(to, msg);
        }
        self.refresh_gauges();
    }

    fn refresh_gauges(&self) {
        let pool = self.pool.lock().unwrap();
        self.metrics.tutors_online.set(pool.online_count() as i64);
        self.metrics.searches.set(pool.search_count() as i64);
    }

    /// Applies one client message from `me`.
    pub async fn handle(self: &Arc<Self>, me: Address, msg: ClientMsg) {
        let now = Self::now;
        let result: Result<(Option<ServerMsg>, Vec<Event>), ServerMsg> = match msg {
            ClientMsg::Hello { .. } => Err(error(ErrorCode::Unauthorized, "already signed in")),
            ClientMsg::Online { profile } => {
                let kinds: Vec<u32> = profile.credentials.iter().copied().collect();
                let r = self.pool.lock().unwrap().online(me, profile, now());
                if r.is_ok() {
                    // Claimed credentials count once the chain confirms them.
                    let hub = Arc::clone(self);
                    tokio::spawn(async move {
                        for kind in kinds {
                            hub.check_credential(me, kind).await;
                        }
                    });
                }
                r.map(|e| (Some(ServerMsg::Online), e)).map_err(Into::into)
            }
            ClientMsg::Offline => {
                let events = self.pool.lock().unwrap().offline(me, now());
                Ok((Some(ServerMsg::Offline), events))
            }
            ClientMsg::Find { request } => match self.chain.funds(me, request.token).await {
                Err(e) => Err(error(ErrorCode::ChainUnavailable, e.to_string())),
                Ok(f) if f.balance < request.cap || f.allowance < request.cap => Err(error(
                    ErrorCode::InsufficientFunds,
                    format!(
                        "the cap is {} but the balance is {} and the allowance to the escrow {}",
                        request.cap, f.balance, f.allowance
                    ),
                )),
                Ok(_) => {
                    let r = self.pool.lock().unwrap().find(me, request, now());
                    r.map(|(_, e)| (None, e)).map_err(Into::into)
                }
            },
            ClientMsg::Cancel => {
                let r = self.pool.lock().unwrap().cancel(me, now());
                r.map(|e| (Some(ServerMsg::Cancelled), e))
                    .map_err(Into::into)
            }
            ClientMsg::Wait { request } => {
                let r = self.pool.lock().unwrap().wait(me, request, now());
                r.map(|e| {
                    let waiting = e.is_empty().then_some(ServerMsg::Waiting);
                    (waiting, e)
                })
                .map_err(Into::into)
            }
            ClientMsg::Decline { proposal } => {
                let r = self.pool.lock().unwrap().decline(me, proposal, now());
                r.map(|e| (None, e)).map_err(Into::into)
            }
            ClientMsg::Accept {
                proposal,
                acceptance,
            } => self.accept(me, proposal, acceptance).await,
        };
        match result {
            Ok((reply, events)) => {
                if let Some(reply) = reply {
                    self.send(me, reply);
                }
                self.dispatch(events);
            }
            Err(e) => self.send(me, e),
        }
    }

    /// Checks a signed acceptance the way the escrow will, then lets the pool decide.
    async fn accept(
        &self,
        me: Address,
        proposal: pool::ProposalId,
        a: SignedAcceptance,
    ) -> Result<(Option<ServerMsg>, Vec<Event>), ServerMsg> {
        let invalid = |m: String| error(ErrorCode::InvalidAcceptance, m);
        let typed = Acceptance {
            student: a.student,
            token: a.token,
            rate: a.rate,
            tutorKey: a.tutor_key,
            maxFeeBps: a.max_fee_bps,
            nonce: a.nonce,
            expiry: a.expiry,
        };
        let digest = typed.eip712_signing_hash(&self.domain);
        let signer = Signature::try_from(a.signature.as_ref())
            .ok()
            .and_then(|s| s.recover_address_from_prehash(&digest).ok());
        if signer != Some(me) {
            return Err(invalid("the signature is not the tutor's".into()));
        }
        if a.tutor_key.is_zero() {
            return Err(invalid("tutorKey is the zero address".into()));
        }
        let unix = unix_now();
        let min = unix + self.cfg.min_acceptance_validity.as_secs();
        let max = unix + self.cfg.max_acceptance_validity.as_secs();
        if a.expiry < min || a.expiry > max {
            return Err(invalid(format!(
                "expiry must be between {min} and {max} (unix seconds)"
            )));
        }
        let chain = |e: crate::chain::ChainError| error(ErrorCode::ChainUnavailable, e.to_string());
        let fee = self.chain.fee_bps().await.map_err(chain)?;
        if a.max_fee_bps < fee {
            return Err(invalid(format!(
                "maxFeeBps {} is below the escrow's fee of {fee} bps",
                a.max_fee_bps
            )));
        }
        if self.chain.nonce_used(me, a.nonce).await.map_err(chain)? {
            return Err(invalid(format!("nonce {} is already used", a.nonce)));
        }
        let events = self
            .pool
            .lock()
            .unwrap()
            .accept(me, proposal, &a.terms(), Self::now())
            .map_err(ServerMsg::from)?;
        for e in &events {
            if let Event::Matched {
                student,
                tutor,
                reserved_until,
                found_in,
                ..
            } = e
            {
                self.metrics.matches.inc();
                self.metrics.time_to_match.observe(found_in.as_secs_f64());
                let (student_room, tutor_room) = self.rooms.open(*student, *tutor, unix);
                let reserved = reserved_until.saturating_duration_since(Self::now());
                self.send(
                    *student,
                    ServerMsg::Matched {
                        tutor: *tutor,
                        acceptance: a.clone(),
                        room: student_room,
                        reserved_for_ms: u64::try_from(reserved.as_millis()).unwrap_or(u64::MAX),
                    },
                );
                self.send(
                    *tutor,
                    ServerMsg::Accepted {
                        proposal,
                        student: *student,
                        room: tutor_room,
                    },
                );
            }
        }
        self.wake.notify_one();
        Ok((None, Vec::new()))
    }

    /// Asks the chain whether `tutor` holds a valid credential of `kind` and records it.
    async fn check_credential(&self, tutor: Address, kind: u32) {
        match self.chain.has_valid(tutor, kind).await {
            Ok(valid) => {
                let events =
                    self.pool
                        .lock()
                        .unwrap()
                        .credential_checked(tutor, kind, valid, Self::now());
                self.dispatch(events);
            }
            Err(e) => debug!(%tutor, kind, error = %e, "credential check failed; retried later"),
        }
    }

    /// A session of `tutor` started on chain (from the escrow's events).
    pub fn session_started(&self, tutor: Address, session: alloy_primitives::U256) {
        let events = self
            .pool
            .lock()
            .unwrap()
            .session_started(tutor, session, Self::now());
        self.dispatch(events);
    }

    /// A session of `tutor` ended or was cancelled on chain.
    pub fn session_ended(&self, tutor: Address, session: alloy_primitives::U256) {
        let events = self
            .pool
            .lock()
            .unwrap()
            .session_ended(tutor, session, Self::now());
        self.dispatch(events);
    }

    /// The follower rewound a reorganisation: these are the started sessions now.
    pub fn reset_sessions(&self, started: &[(Address, alloy_primitives::U256)]) {
        let events = self
            .pool
            .lock()
            .unwrap()
            .reset_sessions(started, Self::now());
        self.dispatch(events);
    }

    /// Applies deadlines as they come, until `cancel`.
    pub async fn run_deadlines(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            let next = self.pool.lock().unwrap().next_deadline();
            let sleep = async {
                match next {
                    Some(at) => tokio::time::sleep_until(Instant::from_std(at)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = cancel.cancelled() => return,
                () = self.wake.notified() => continue,
                () = sleep => {}
            }
            let events = self.pool.lock().unwrap().tick(Self::now());
            self.dispatch(events);
        }
    }

    /// Re-sends every local tutor's profile to the pool (after a failover).
    async fn resend_profiles(self: &Arc<Self>) {
        let profiles: Vec<(Address, Profile)> = self
            .profiles
            .lock()
            .unwrap()
            .iter()
            .map(|(a, p)| (*a, p.clone()))
            .collect();
        for (tutor, profile) in profiles {
            match &self.cluster {
                Some(c) if !c.is_leader() => {
                    let msg = ClientMsg::Online { profile };
                    c.forward(&Inbound::Msg { from: tutor, msg }).await;
                }
                // On the leader, straight into the pool: the tutor needs no `online` again.
                _ => {
                    let r = self
                        .pool
                        .lock()
                        .unwrap()
                        .online(tutor, profile, Self::now());
                    if let Ok(events) = r {
                        self.dispatch(events);
                    }
                }
            }
        }
    }

    /// Re-checks online tutors' credentials before their confirmation lapses, until
    /// `cancel`.
    pub async fn run_credential_refresh(self: Arc<Self>, cancel: CancellationToken) {
        let every = self.cfg.credential_refresh;
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            let due = self
                .pool
                .lock()
                .unwrap()
                .credentials_to_check(Self::now(), every * 2);
            for (tutor, kind) in due {
                self.check_credential(tutor, kind).await;
            }
        }
    }
}

impl<C: ChainView> Member for Hub<C> {
    async fn inbound(self: &Arc<Self>, from: Address, msg: ClientMsg) {
        self.handle(from, msg).await;
    }

    fn left(&self, from: Address) {
        self.leave(from);
    }

    fn deliver(&self, to: Address, msg: ServerMsg) {
        self.send_local(to, msg);
    }

    fn reset(&self) {
        // Busy tutors stay busy: the sessions come from this instance's own follower.
        let mut pool = self.pool.lock().unwrap();
        let started = pool.started_sessions();
        *pool = Pool::new(self.cfg.pool);
        let _ = pool.reset_sessions(&started, Self::now());
    }

    async fn resync(self: &Arc<Self>) {
        self.resend_profiles().await;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::atomic::AtomicBool;

    use alloy_primitives::U256;

    use super::*;
    use crate::chain::{ChainError, Funds};
    use crate::pool::{Closed, Language, Level, Profile, Request};
    use crate::rooms::KeyedRooms;

    /// Chain reads from memory; `down` makes every read fail.
    #[derive(Default)]
    struct MemChain {
        down: AtomicBool,
    }

    impl MemChain {
        fn read<T>(&self, v: T) -> Result<T, ChainError> {
            if self.down.load(Ordering::Relaxed) {
                Err(ChainError("node down".into()))
            } else {
                Ok(v)
            }
        }
    }

    impl ChainView for MemChain {
        async fn has_valid(&self, _: Address, _: u32) -> Result<bool, ChainError> {
            self.read(true)
        }
        async fn funds(&self, _: Address, _: Address) -> Result<Funds, ChainError> {
            self.read(Funds {
                balance: U256::MAX,
                allowance: U256::MAX,
            })
        }
        async fn fee_bps(&self) -> Result<u16, ChainError> {
            self.read(250)
        }
        async fn nonce_used(&self, _: Address, _: U256) -> Result<bool, ChainError> {
            self.read(false)
        }
    }

    fn hub() -> Arc<Hub<MemChain>> {
        Arc::new(Hub::new(
            HubConfig {
                pool: pool::Config::default(),
                chain_id: 1,
                escrow: Address::repeat_byte(0xe5),
                min_acceptance_validity: Duration::from_secs(120),
                max_acceptance_validity: Duration::from_secs(3_600),
                credential_refresh: Duration::from_secs(20),
                outbox: 4,
            },
            MemChain::default(),
            Box::new(KeyedRooms::new([1; 32], 60)),
            Arc::new(Metrics::new()),
            None,
        ))
    }

    fn profile() -> Profile {
        Profile {
            languages: [Language::new("es").unwrap()].into(),
            levels: [Level::B1].into(),
            token: Address::repeat_byte(0xee),
            rate: U256::from(5),
            credentials: BTreeSet::new(),
        }
    }

    fn request() -> Request {
        Request {
            language: Language::new("es").unwrap(),
            level: Level::B1,
            token: Address::repeat_byte(0xee),
            max_rate: U256::from(5),
            credential: None,
            cap: U256::from(100),
        }
    }

    fn next(rx: &mut mpsc::Receiver<ServerMsg>) -> ServerMsg {
        rx.try_recv().expect("a message is queued")
    }

    /// The deadline timer closes an unanswered proposal exactly at its TTL and moves the
    /// search to the next tutor.
    #[tokio::test(start_paused = true)]
    async fn an_unanswered_proposal_expires_at_its_ttl_and_the_next_tutor_is_asked() {
        let hub = hub();
        let cancel = CancellationToken::new();
        tokio::spawn(Arc::clone(&hub).run_deadlines(cancel.clone()));
        let (t1, t2, s) = (
            Address::repeat_byte(1),
            Address::repeat_byte(2),
            Address::repeat_byte(9),
        );
        let (_, mut rx1) = hub.connect(t1);
        hub.handle(t1, ClientMsg::Online { profile: profile() })
            .await;
        tokio::time::advance(Duration::from_secs(1)).await;
        let (_, mut rx2) = hub.connect(t2);
        hub.handle(t2, ClientMsg::Online { profile: profile() })
            .await;
        let (_, mut rxs) = hub.connect(s);
        hub.handle(s, ClientMsg::Find { request: request() }).await;
        assert_eq!(next(&mut rx1), ServerMsg::Online);
        let ServerMsg::Proposed {
            proposal,
            expires_in_ms,
            ..
        } = next(&mut rx1)
        else {
            panic!("no proposal")
        };
        assert_eq!(expires_in_ms, 30_000);
        assert!(matches!(
            next(&mut rxs),
            ServerMsg::Searching { attempt: 1, .. }
        ));
        tokio::time::sleep(Duration::from_millis(29_999)).await;
        assert!(
            rx1.try_recv().is_err(),
            "still open 1 ms before the deadline"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert_eq!(
            next(&mut rx1),
            ServerMsg::ProposalClosed {
                proposal,
                reason: Closed::Expired
            }
        );
        assert!(matches!(
            next(&mut rxs),
            ServerMsg::Searching { attempt: 2, .. }
        ));
        assert_eq!(next(&mut rx2), ServerMsg::Online);
        assert!(matches!(next(&mut rx2), ServerMsg::Proposed { .. }));
        cancel.cancel();
    }

    /// A chain outage refuses `find` with `chain_unavailable` and starts no search.
    #[tokio::test(start_paused = true)]
    async fn a_chain_outage_refuses_find_and_changes_nothing() {
        let hub = hub();
        let s = Address::repeat_byte(9);
        let (_, mut rx) = hub.connect(s);
        hub.chain.down.store(true, Ordering::Relaxed);
        hub.handle(s, ClientMsg::Find { request: request() }).await;
        assert!(matches!(
            next(&mut rx),
            ServerMsg::Error {
                code: ErrorCode::ChainUnavailable,
                ..
            }
        ));
        assert_eq!(hub.pool.lock().unwrap().search_count(), 0);
    }

    /// A client that does not read is disconnected when its outbox is full, and leaving
    /// takes the tutor offline; a replaced connection's close changes nothing.
    #[tokio::test(start_paused = true)]
    async fn a_slow_client_is_dropped_and_goes_offline() {
        let hub = hub();
        let t = Address::repeat_byte(1);
        let (first, _old) = hub.connect(t);
        let (second, _rx) = hub.connect(t);
        hub.disconnect(t, first);
        hub.handle(t, ClientMsg::Online { profile: profile() })
            .await;
        assert_eq!(
            hub.pool.lock().unwrap().online_count(),
            1,
            "replaced socket's close ignored"
        );
        // Outbox of 4: one `online` answer queued, then errors until it overflows.
        for _ in 0..4 {
            hub.handle(t, ClientMsg::Cancel).await;
        }
        assert_eq!(
            hub.pool.lock().unwrap().online_count(),
            0,
            "dropped as too slow"
        );
        assert_eq!(hub.metrics.slow_clients.get(), 1);
        hub.disconnect(t, second);
    }
}
