//! The matching rule, as a state machine with no I/O and no clock of its own.
//!
//! Every transition takes `now` and returns the [`Event`]s it caused, so the service around
//! it (sockets, chain reads, timers) stays thin and every race is a deterministic test here.
//!
//! The rule, as the product specifies it:
//! - a tutor is a **candidate** for a request when online and idle, selling in the
//!   request's token, at a rate ≤ the request's maximum, teaching its language at its
//!   level, holding a credential of the required kind that the chain confirmed valid
//!   recently, and not the student;
//! - a search proposes to **one candidate at a time**: the one idle the longest (ties by
//!   address), so every online tutor gets a turn;
//! - a proposal lives for [`Config::proposal_ttl`]; a decline, a timeout, or the tutor
//!   going offline moves the search to the next candidate, up to
//!   [`Config::max_attempts`] proposals; then, or when no candidate is left, the search
//!   ends with [`Event::NoMatch`] and the student may join the waitlist;
//! - the **first valid accept wins**: the accept must come from the proposed tutor before
//!   the deadline, on the proposal's exact terms (student, token, rate). The rate is the
//!   tutor's rate when the proposal was made, locked from then on;
//! - a matched tutor is **reserved** for [`Config::reservation`] while the student sends
//!   the one-transaction open+start, **busy** while a session of theirs is live on chain,
//!   and back in the pool when it ends.
//!
//! Races and how they end:
//! - two searches reach one tutor: the first proposal reserves the tutor; the second
//!   search never sees the tutor as a candidate;
//! - an accept after the deadline: [`MatchError::ProposalClosed`] with
//!   [`Closed::Expired`], whether or not [`Pool::tick`] has already run;
//! - the student cancels with a proposal pending: the tutor gets
//!   [`Event::ProposalClosed`] ([`Closed::Cancelled`]), a later accept is refused;
//! - the tutor goes offline with a proposal pending: the search moves on at once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use alloy_primitives::{Address, U256};
use serde::{Deserialize, Serialize};

/// Identifies a search (one find-now of one student).
pub type SearchId = u64;
/// Identifies a proposal (one search offered to one tutor).
pub type ProposalId = u64;

/// Timing and limits of matching.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// How long a tutor has to accept a proposal (30 s).
    pub proposal_ttl: Duration,
    /// Proposals per search before it ends with no match (3).
    pub max_attempts: u32,
    /// How long a matched tutor is held for the student's open+start transaction (120 s).
    pub reservation: Duration,
    /// How long a credential the chain confirmed valid counts as valid (60 s).
    pub credential_ttl: Duration,
    /// How long a student stays on the waitlist (15 min).
    pub waitlist_ttl: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            proposal_ttl: Duration::from_secs(30),
            max_attempts: 3,
            reservation: Duration::from_secs(120),
            credential_ttl: Duration::from_secs(60),
            waitlist_ttl: Duration::from_secs(15 * 60),
        }
    }
}

/// A CEFR level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    /// Beginner.
    A1,
    /// Elementary.
    A2,
    /// Intermediate.
    B1,
    /// Upper intermediate.
    B2,
    /// Advanced.
    C1,
    /// Proficient.
    C2,
}

/// An ISO 639 language code: two or three lowercase ASCII letters (`en`, `es`, `haw`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Language(String);

impl TryFrom<String> for Language {
    type Error = MatchError;

    fn try_from(s: String) -> Result<Self, MatchError> {
        if (2..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase()) {
            Ok(Self(s))
        } else {
            Err(MatchError::InvalidLanguage(s))
        }
    }
}

impl From<Language> for String {
    fn from(l: Language) -> Self {
        l.0
    }
}

impl Language {
    /// Parses a language code.
    ///
    /// # Errors
    /// [`MatchError::InvalidLanguage`] unless two or three lowercase ASCII letters.
    pub fn new(s: &str) -> Result<Self, MatchError> {
        s.to_owned().try_into()
    }
}

/// What a tutor offers while online.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Languages taught.
    pub languages: BTreeSet<Language>,
    /// Levels taught.
    pub levels: BTreeSet<Level>,
    /// The ERC-20 the tutor is paid in.
    pub token: Address,
    /// The tutor's rate as the escrow takes it: base units per second × 10^18.
    pub rate: U256,
    /// Credential kinds the tutor holds; each is checked on chain before it counts.
    pub credentials: BTreeSet<u32>,
}

/// What a student asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Language to learn.
    pub language: Language,
    /// The student's level.
    pub level: Level,
    /// The ERC-20 the student pays in.
    pub token: Address,
    /// The highest rate accepted (escrow units, as [`Profile::rate`]).
    pub max_rate: U256,
    /// A credential kind the tutor must hold, if any.
    pub credential: Option<u32>,
    /// The most the student will deposit (base units); checked against the student's
    /// balance and allowance before the search starts.
    pub cap: U256,
}

/// The terms a tutor signs to accept (the escrow's EIP-712 `Acceptance`, without the
/// signature, which the service verifies before calling [`Pool::accept`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    /// The student.
    pub student: Address,
    /// The token.
    pub token: Address,
    /// The rate (escrow units).
    pub rate: U256,
}

/// Why a proposal closed without a match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Closed {
    /// The tutor declined.
    Declined,
    /// The deadline passed.
    Expired,
    /// The student cancelled the search.
    Cancelled,
    /// The tutor went offline.
    TutorOffline,
    /// A session of the tutor's started on chain.
    Busy,
    /// The tutor accepted: the proposal became a match.
    Accepted,
}

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Declined => "declined",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled by the student",
            Self::TutorOffline => "tutor went offline",
            Self::Busy => "tutor is in a session",
            Self::Accepted => "already accepted",
        })
    }
}

/// Why a search ended without a match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoMatch {
    /// No online tutor fits the request (any more).
    NoTutor,
    /// [`Config::max_attempts`] proposals were declined or timed out.
    AttemptsExhausted,
}

/// What a transition tells the parties. The service routes each to its addressee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// To `tutor`: a lesson is offered, accept by `expires`.
    Proposed {
        /// Addressee.
        tutor: Address,
        /// The proposal to accept or decline.
        proposal: ProposalId,
        /// The search it belongs to.
        search: SearchId,
        /// The terms to sign.
        terms: Terms,
        /// The request (language, level, credential, cap).
        request: Request,
        /// Deadline.
        expires: Instant,
    },
    /// To `tutor`: the proposal is gone.
    ProposalClosed {
        /// Addressee.
        tutor: Address,
        /// The proposal.
        proposal: ProposalId,
        /// Why.
        reason: Closed,
    },
    /// To `student`: the search proposed to its `attempt`-th tutor.
    Searching {
        /// Addressee.
        student: Address,
        /// The search.
        search: SearchId,
        /// 1-based.
        attempt: u32,
    },
    /// To `student` (and as confirmation to `tutor`): matched; the student may now send
    /// open+start with the tutor's signed acceptance.
    Matched {
        /// The student.
        student: Address,
        /// The tutor, reserved for the student until `reserved_until`.
        tutor: Address,
        /// The search.
        search: SearchId,
        /// The proposal accepted.
        proposal: ProposalId,
        /// The locked terms.
        terms: Terms,
        /// End of the reservation.
        reserved_until: Instant,
        /// Time from `find` to this accept.
        found_in: Duration,
    },
    /// To `student`: the search ended without a match.
    NoMatch {
        /// Addressee.
        student: Address,
        /// The search.
        search: SearchId,
        /// Why.
        reason: NoMatch,
    },
    /// To `student` (waitlisted): a tutor who fits the request is available now.
    TutorAvailable {
        /// Addressee.
        student: Address,
        /// The tutor.
        tutor: Address,
    },
    /// To `student` (waitlisted): the waitlist entry expired.
    WaitlistExpired {
        /// Addressee.
        student: Address,
    },
}

/// A refused transition. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    /// Not a language code.
    #[error("{0:?} is not an ISO 639 language code (two or three lowercase letters)")]
    InvalidLanguage(String),
    /// A profile field is unusable.
    #[error("invalid profile: {0}")]
    InvalidProfile(&'static str),
    /// A request field is unusable.
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// The student already has a search running.
    #[error("a search is already running for this student")]
    SearchRunning,
    /// The student has no search running.
    #[error("no search is running for this student")]
    NoSearch,
    /// The tutor is not online.
    #[error("the tutor is not online")]
    NotOnline,
    /// No such proposal (never made, or closed too long ago to remember).
    #[error("unknown proposal {0}")]
    UnknownProposal(ProposalId),
    /// The proposal was made to another tutor.
    #[error("proposal {0} was not made to this tutor")]
    NotYourProposal(ProposalId),
    /// The proposal closed.
    #[error("proposal {proposal} is closed: {reason}")]
    ProposalClosed {
        /// The proposal.
        proposal: ProposalId,
        /// Why.
        reason: Closed,
    },
    /// The accepted terms are not the proposal's.
    #[error("the accepted {0} differs from the proposal's")]
    TermsMismatch(&'static str),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Duty {
    Idle { since: Instant },
    Proposed { proposal: ProposalId },
    Reserved { until: Instant },
}

#[derive(Clone, Debug)]
struct Tutor {
    profile: Option<Profile>,
    duty: Duty,
    /// Credential kind → valid until (as confirmed by the chain).
    credentials: BTreeMap<u32, Instant>,
    /// Live sessions on chain: the tutor is busy while any is.
    sessions: BTreeSet<U256>,
}

#[derive(Clone, Debug)]
struct Search {
    student: Address,
    started: Instant,
    request: Request,
    attempts: u32,
    tried: BTreeSet<Address>,
    pending: Option<ProposalId>,
}

#[derive(Clone, Debug)]
struct Proposal {
    search: SearchId,
    tutor: Address,
    terms: Terms,
    expires: Instant,
}

/// The matchmaker's state: tutors, searches, proposals, waitlist.
#[derive(Debug)]
pub struct Pool {
    config: Config,
    tutors: HashMap<Address, Tutor>,
    searches: BTreeMap<SearchId, Search>,
    by_student: HashMap<Address, SearchId>,
    proposals: HashMap<ProposalId, Proposal>,
    /// Closed proposals, remembered for one TTL so a late accept gets the reason.
    closed: HashMap<ProposalId, (Address, Closed, Instant)>,
    waitlist: BTreeMap<Address, (Request, Instant)>,
    next_id: u64,
}

impl Pool {
    /// An empty pool.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            tutors: HashMap::new(),
            searches: BTreeMap::new(),
            by_student: HashMap::new(),
            proposals: HashMap::new(),
            closed: HashMap::new(),
            waitlist: BTreeMap::new(),
            next_id: 1,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A tutor comes online, or changes their profile while online. A pending proposal
    /// keeps the terms it was made with. Waitlisted students the tutor now fits are
    /// told ([`Event::TutorAvailable`]). (Running searches always have a proposal pending
    /// and meet the new tutor when they move on.)
    ///
    /// # Errors
    /// [`MatchError::InvalidProfile`] for an empty language or level set, a zero token or a
    /// zero rate.
    pub fn online(
        &mut self,
        tutor: Address,
        profile: Profile,
        now: Instant,
    ) -> Result<Vec<Event>, MatchError> {
        if profile.languages.is_empty() {
            return Err(MatchError::InvalidProfile("no language"));
        }
        if profile.levels.is_empty() {
            return Err(MatchError::InvalidProfile("no level"));
        }
        if profile.token.is_zero() {
            return Err(MatchError::InvalidProfile("zero token address"));
        }
        if profile.rate.is_zero() {
            return Err(MatchError::InvalidProfile("zero rate"));
        }
        let t = self.tutors.entry(tutor).or_insert_with(|| Tutor {
            profile: None,
            duty: Duty::Idle { since: now },
            credentials: BTreeMap::new(),
            sessions: BTreeSet::new(),
        });
        // Credentials confirmed for kinds the tutor no longer claims are dropped.
        t.credentials
            .retain(|kind, _| profile.credentials.contains(kind));
        if t.profile.is_none() {
            if let Duty::Idle { since } = &mut t.duty {
                *since = now;
            }
        }
        t.profile = Some(profile);
        Ok(self.tutor_available(tutor, now))
    }

    /// A tutor goes offline. A pending proposal closes ([`Closed::TutorOffline`]) and its
    /// search moves on at once. On-chain sessions and credentials are kept.
    pub fn offline(&mut self, tutor: Address, now: Instant) -> Vec<Event> {
        let mut events = Vec::new();
        let Some(t) = self.tutors.get_mut(&tutor) else {
            return events;
        };
        t.profile = None;
        if let Duty::Proposed { proposal } = t.duty {
            t.duty = Duty::Idle { since: now };
            self.close(proposal, Closed::TutorOffline, now, &mut events);
        }
        self.forget_if_unused(tutor);
        events
    }

    /// The chain confirmed (`valid`) or denied that `tutor` holds a valid credential of
    /// `kind`; a confirmation counts for [`Config::credential_ttl`].
    pub fn credential_checked(
        &mut self,
        tutor: Address,
        kind: u32,
        valid: bool,
        now: Instant,
    ) -> Vec<Event> {
        let Some(t) = self.tutors.get_mut(&tutor) else {
            return Vec::new();
        };
        if valid {
            t.credentials.insert(kind, now + self.config.credential_ttl);
            self.tutor_available(tutor, now)
        } else {
            t.credentials.remove(&kind);
            Vec::new()
        }
    }

    /// Credential kinds of online tutors whose confirmation is missing or expires before
    /// `now + margin`: what the service should check on chain next.
    pub fn credentials_to_check(&self, now: Instant, margin: Duration) -> Vec<(Address, u32)> {
        let mut out = Vec::new();
        for (a, t) in &self.tutors {
            let Some(p) = &t.profile else { continue };
            for kind in &p.credentials {
                if t.credentials
                    .get(kind)
                    .is_none_or(|until| *until <= now + margin)
                {
                    out.push((*a, *kind));
                }
            }
        }
        out.sort();
        out
    }

    /// A session of `tutor` started on chain: the tutor is busy (whether or not online),
    /// and a reservation is used up.
    pub fn session_started(&mut self, tutor: Address, session: U256, now: Instant) -> Vec<Event> {
        let t = self.tutors.entry(tutor).or_insert_with(|| Tutor {
            profile: None,
            duty: Duty::Idle { since: now },
            credentials: BTreeMap::new(),
            sessions: BTreeSet::new(),
        });
        t.sessions.insert(session);
        let mut events = Vec::new();
        match t.duty {
            Duty::Reserved { .. } => t.duty = Duty::Idle { since: now },
            // A session the tutor started elsewhere: a proposal to a busy tutor closes.
            Duty::Proposed { proposal } => {
                t.duty = Duty::Idle { since: now };
                self.close(proposal, Closed::Busy, now, &mut events);
            }
            Duty::Idle { .. } => {}
        }
        events
    }

    /// A session of `tutor` ended (or was cancelled) on chain; with no other live session
    /// the tutor is back in the pool.
    pub fn session_ended(&mut self, tutor: Address, session: U256, now: Instant) -> Vec<Event> {
        let Some(t) = self.tutors.get_mut(&tutor) else {
            return Vec::new();
        };
        if !t.sessions.remove(&session) || !t.sessions.is_empty() {
            return Vec::new();
        }
        if let Duty::Idle { since } = &mut t.duty {
            *since = now;
        }
        let events = self.tutor_available(tutor, now);
        self.forget_if_unused(tutor);
        events
    }

    /// Replaces every tutor's started sessions with `started` (after the chain follower
    /// rewound a reorganisation): tutors whose sessions vanished are free again, tutors
    /// with new ones busy.
    pub fn reset_sessions(&mut self, started: &[(Address, U256)], now: Instant) -> Vec<Event> {
        let mut want: HashMap<Address, BTreeSet<U256>> = HashMap::new();
        for (tutor, id) in started {
            want.entry(*tutor).or_default().insert(*id);
        }
        let tutors: BTreeSet<Address> = self.tutors.keys().chain(want.keys()).copied().collect();
        let mut events = Vec::new();
        for tutor in tutors {
            let have = self
                .tutors
                .get(&tutor)
                .map(|t| t.sessions.clone())
                .unwrap_or_default();
            let want = want.remove(&tutor).unwrap_or_default();
            for id in want.difference(&have) {
                events.extend(self.session_started(tutor, *id, now));
            }
            for id in have.difference(&want) {
                events.extend(self.session_ended(tutor, *id, now));
            }
        }
        events
    }

    /// Every tutor's started sessions (what [`Pool::reset_sessions`] takes back).
    pub fn started_sessions(&self) -> Vec<(Address, U256)> {
        let mut out: Vec<(Address, U256)> = self
            .tutors
            .iter()
            .flat_map(|(a, t)| t.sessions.iter().map(move |id| (*a, *id)))
            .collect();
        out.sort();
        out
    }

    /// A student starts a search. The service has checked the student's balance and
    /// allowance against `request.cap` first. The search proposes at once, or ends at
    /// once with [`Event::NoMatch`].
    ///
    /// # Errors
    /// [`MatchError::SearchRunning`]; [`MatchError::InvalidRequest`] for a zero token,
    /// maximum rate or cap.
    pub fn find(
        &mut self,
        student: Address,
        request: Request,
        now: Instant,
    ) -> Result<(SearchId, Vec<Event>), MatchError> {
        if self.by_student.contains_key(&student) {
            return Err(MatchError::SearchRunning);
        }
        if request.token.is_zero() {
            return Err(MatchError::InvalidRequest("zero token address"));
        }
        if request.max_rate.is_zero() {
            return Err(MatchError::InvalidRequest("zero maximum rate"));
        }
        if request.cap.is_zero() {
            return Err(MatchError::InvalidRequest("zero spending cap"));
        }
        self.waitlist.remove(&student);
        let id = self.fresh_id();
        self.searches.insert(
            id,
            Search {
                student,
                started: now,
                request,
                attempts: 0,
                tried: BTreeSet::new(),
                pending: None,
            },
        );
        self.by_student.insert(student, id);
        let mut events = Vec::new();
        self.advance(id, now, &mut events);
        Ok((id, events))
    }

    /// The student cancels their search; a pending proposal closes
    /// ([`Closed::Cancelled`]).
    ///
    /// # Errors
    /// [`MatchError::NoSearch`].
    pub fn cancel(&mut self, student: Address, now: Instant) -> Result<Vec<Event>, MatchError> {
        let id = self
            .by_student
            .remove(&student)
            .ok_or(MatchError::NoSearch)?;
        let search = self.searches.remove(&id).ok_or(MatchError::NoSearch)?;
        let mut events = Vec::new();
        if let Some(proposal) = search.pending {
            if let Some(p) = self.proposals.remove(&proposal) {
                self.closed
                    .insert(proposal, (p.tutor, Closed::Cancelled, now));
                self.release(p.tutor, now);
                events.push(Event::ProposalClosed {
                    tutor: p.tutor,
                    proposal,
                    reason: Closed::Cancelled,
                });
                events.extend(self.tutor_available(p.tutor, now));
            }
        }
        Ok(events)
    }

    /// The tutor declines; the search moves to the next candidate.
    ///
    /// # Errors
    /// As [`Pool::accept`], for the proposal's state and owner.
    pub fn decline(
        &mut self,
        tutor: Address,
        proposal: ProposalId,
        now: Instant,
    ) -> Result<Vec<Event>, MatchError> {
        self.open_proposal(tutor, proposal, now)?;
        let mut events = Vec::new();
        self.close(proposal, Closed::Declined, now, &mut events);
        Ok(events)
    }

    /// The tutor accepts with `terms` (signature already verified by the service). The
    /// search ends matched, the tutor is reserved for the student.
    ///
    /// # Errors
    /// [`MatchError::UnknownProposal`], [`MatchError::NotYourProposal`],
    /// [`MatchError::ProposalClosed`] (expired even if [`Pool::tick`] has not run yet,
    /// declined, cancelled, …), [`MatchError::TermsMismatch`].
    pub fn accept(
        &mut self,
        tutor: Address,
        proposal: ProposalId,
        terms: &Terms,
        now: Instant,
    ) -> Result<Vec<Event>, MatchError> {
        self.open_proposal(tutor, proposal, now)?;
        let p = &self.proposals[&proposal];
        if terms.student != p.terms.student {
            return Err(MatchError::TermsMismatch("student"));
        }
        if terms.token != p.terms.token {
            return Err(MatchError::TermsMismatch("token"));
        }
        if terms.rate != p.terms.rate {
            return Err(MatchError::TermsMismatch("rate"));
        }
        let p = self.proposals.remove(&proposal).expect("checked above");
        self.closed.insert(proposal, (tutor, Closed::Accepted, now));
        let search = self
            .searches
            .remove(&p.search)
            .expect("a proposal's search exists");
        self.by_student.remove(&search.student);
        let reserved_until = now + self.config.reservation;
        if let Some(t) = self.tutors.get_mut(&tutor) {
            t.duty = Duty::Reserved {
                until: reserved_until,
            };
        }
        Ok(vec![Event::Matched {
            student: search.student,
            tutor,
            search: p.search,
            proposal,
            terms: p.terms,
            reserved_until,
            found_in: now.saturating_duration_since(search.started),
        }])
    }

    /// The student wants to hear when a tutor who fits `request` is available; replaces an
    /// earlier entry. Tutors who fit right now are told at once.
    ///
    /// # Errors
    /// [`MatchError::SearchRunning`] while a search runs.
    pub fn wait(
        &mut self,
        student: Address,
        request: Request,
        now: Instant,
    ) -> Result<Vec<Event>, MatchError> {
        if self.by_student.contains_key(&student) {
            return Err(MatchError::SearchRunning);
        }
        if let Some(tutor) = self
            .candidates(student, &request, &BTreeSet::new(), now)
            .first()
        {
            return Ok(vec![Event::TutorAvailable {
                student,
                tutor: *tutor,
            }]);
        }
        self.waitlist
            .insert(student, (request, now + self.config.waitlist_ttl));
        Ok(Vec::new())
    }

    /// The student leaves the waitlist (no event). Returns whether they were on it.
    pub fn unwait(&mut self, student: Address) -> bool {
        self.waitlist.remove(&student).is_some()
    }

    /// Applies every deadline up to `now`: proposals expire (their searches move on),
    /// reservations lapse, waitlist entries expire.
    pub fn tick(&mut self, now: Instant) -> Vec<Event> {
        let mut events = Vec::new();
        let mut expired: Vec<ProposalId> = self
            .proposals
            .iter()
            .filter(|(_, p)| p.expires <= now)
            .map(|(id, _)| *id)
            .collect();
        expired.sort_unstable();
        for id in expired {
            self.close(id, Closed::Expired, now, &mut events);
        }
        let lapsed: Vec<Address> = self
            .tutors
            .iter()
            .filter(|(_, t)| matches!(t.duty, Duty::Reserved { until } if until <= now))
            .map(|(a, _)| *a)
            .collect();
        for tutor in lapsed {
            self.release(tutor, now);
            events.extend(self.tutor_available(tutor, now));
        }
        let ttl = self.config.proposal_ttl;
        self.closed
            .retain(|_, (_, _, at)| now.saturating_duration_since(*at) < ttl);
        let gone: Vec<Address> = self
            .waitlist
            .iter()
            .filter(|(_, (_, until))| *until <= now)
            .map(|(s, _)| *s)
            .collect();
        for student in gone {
            self.waitlist.remove(&student);
            events.push(Event::WaitlistExpired { student });
        }
        events
    }

    /// The earliest deadline [`Pool::tick`] must apply: sleep until then.
    pub fn next_deadline(&self) -> Option<Instant> {
        let proposals = self.proposals.values().map(|p| p.expires);
        let reservations = self.tutors.values().filter_map(|t| match t.duty {
            Duty::Reserved { until } => Some(until),
            _ => None,
        });
        let waitlist = self.waitlist.values().map(|(_, until)| *until);
        proposals.chain(reservations).chain(waitlist).min()
    }

    /// Online tutors (idle, proposed to, reserved or busy).
    pub fn online_count(&self) -> usize {
        self.tutors.values().filter(|t| t.profile.is_some()).count()
    }

    /// Searches running.
    pub fn search_count(&self) -> usize {
        self.searches.len()
    }

    /// The search running for `student`, if any.
    pub fn search_of(&self, student: Address) -> Option<SearchId> {
        self.by_student.get(&student).copied()
    }

    fn fresh_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The proposal is open, the tutor's, and not past its deadline.
    fn open_proposal(
        &self,
        tutor: Address,
        proposal: ProposalId,
        now: Instant,
    ) -> Result<(), MatchError> {
        if let Some((owner, reason, _)) = self.closed.get(&proposal) {
            return Err(if *owner == tutor {
                MatchError::ProposalClosed {
                    proposal,
                    reason: *reason,
                }
            } else {
                MatchError::NotYourProposal(proposal)
            });
        }
        let p = self
            .proposals
            .get(&proposal)
            .ok_or(MatchError::UnknownProposal(proposal))?;
        if p.tutor != tutor {
            return Err(MatchError::NotYourProposal(proposal));
        }
        if p.expires <= now {
            // The deadline passed and `tick` has not run yet: refused all the same; the
            // next `tick` closes it and moves its search on.
            return Err(MatchError::ProposalClosed {
                proposal,
                reason: Closed::Expired,
            });
        }
        Ok(())
    }

    /// Closes an open proposal for `reason` (not an accept) and moves its search on.
    fn close(
        &mut self,
        proposal: ProposalId,
        reason: Closed,
        now: Instant,
        events: &mut Vec<Event>,
    ) {
        let Some(p) = self.proposals.remove(&proposal) else {
            return;
        };
        self.closed.insert(proposal, (p.tutor, reason, now));
        // A tutor who declined knows, and one who went offline cannot be told.
        if !matches!(reason, Closed::Declined | Closed::TutorOffline) {
            events.push(Event::ProposalClosed {
                tutor: p.tutor,
                proposal,
                reason,
            });
        }
        self.release(p.tutor, now);
        if let Some(s) = self.searches.get_mut(&p.search) {
            s.pending = None;
        }
        self.advance(p.search, now, events);
        // The released tutor may fit another running search or a waitlisted student.
        events.extend(self.tutor_available(p.tutor, now));
    }

    /// A tutor who was proposed to or reserved is idle again (if still known).
    fn release(&mut self, tutor: Address, now: Instant) {
        if let Some(t) = self.tutors.get_mut(&tutor) {
            if !matches!(t.duty, Duty::Idle { .. }) {
                t.duty = Duty::Idle { since: now };
            }
        }
        self.forget_if_unused(tutor);
    }

    fn forget_if_unused(&mut self, tutor: Address) {
        if let Some(t) = self.tutors.get(&tutor) {
            if t.profile.is_none() && t.sessions.is_empty() && matches!(t.duty, Duty::Idle { .. }) {
                self.tutors.remove(&tutor);
            }
        }
    }

    /// Proposes the search to its next candidate, or ends it.
    fn advance(&mut self, id: SearchId, now: Instant, events: &mut Vec<Event>) {
        let Some(s) = self.searches.get(&id) else {
            return;
        };
        if s.pending.is_some() {
            return;
        }
        let student = s.student;
        let end = if s.attempts >= self.config.max_attempts {
            Some(NoMatch::AttemptsExhausted)
        } else {
            match self.candidates(student, &s.request, &s.tried, now).first() {
                Some(tutor) => {
                    self.propose(id, *tutor, now, events);
                    None
                }
                None => Some(NoMatch::NoTutor),
            }
        };
        if let Some(reason) = end {
            self.searches.remove(&id);
            self.by_student.remove(&student);
            events.push(Event::NoMatch {
                student,
                search: id,
                reason,
            });
        }
    }

    fn propose(&mut self, id: SearchId, tutor: Address, now: Instant, events: &mut Vec<Event>) {
        let proposal = self.fresh_id();
        let expires = now + self.config.proposal_ttl;
        let t = self
            .tutors
            .get_mut(&tutor)
            .expect("candidates are known tutors");
        let rate = t.profile.as_ref().expect("candidates are online").rate;
        t.duty = Duty::Proposed { proposal };
        let s = self.searches.get_mut(&id).expect("advance checked it");
        s.attempts += 1;
        s.tried.insert(tutor);
        s.pending = Some(proposal);
        let terms = Terms {
            student: s.student,
            token: s.request.token,
            rate,
        };
        self.proposals.insert(
            proposal,
            Proposal {
                search: id,
                tutor,
                terms: terms.clone(),
                expires,
            },
        );
        events.push(Event::Searching {
            student: s.student,
            search: id,
            attempt: s.attempts,
        });
        events.push(Event::Proposed {
            tutor,
            proposal,
            search: id,
            terms,
            request: s.request.clone(),
            expires,
        });
    }

    /// Whether tutor `a` can be proposed `request` of `student` now.
    fn fits(
        &self,
        a: Address,
        t: &Tutor,
        student: Address,
        request: &Request,
        now: Instant,
    ) -> bool {
        let Some(p) = &t.profile else { return false };
        matches!(t.duty, Duty::Idle { .. })
            && t.sessions.is_empty()
            && a != student
            && p.token == request.token
            && p.rate <= request.max_rate
            && p.languages.contains(&request.language)
            && p.levels.contains(&request.level)
            && request.credential.is_none_or(|kind| {
                p.credentials.contains(&kind)
                    && t.credentials.get(&kind).is_some_and(|until| *until > now)
            })
    }

    /// Idle tutors who fit `request` and were not `tried`, longest idle first.
    fn candidates(
        &self,
        student: Address,
        request: &Request,
        tried: &BTreeSet<Address>,
        now: Instant,
    ) -> Vec<Address> {
        let mut out: Vec<(Instant, Address)> = self
            .tutors
            .iter()
            .filter(|(a, t)| !tried.contains(*a) && self.fits(**a, t, student, request, now))
            .filter_map(|(a, t)| match t.duty {
                Duty::Idle { since } => Some((since, *a)),
                _ => None,
            })
            .collect();
        out.sort_unstable();
        out.into_iter().map(|(_, a)| a).collect()
    }

    /// After `tutor` became available: waitlisted students they fit are told, and leave
    /// the waitlist.
    fn tutor_available(&mut self, tutor: Address, now: Instant) -> Vec<Event> {
        let Some(t) = self.tutors.get(&tutor) else {
            return Vec::new();
        };
        let fitting: Vec<Address> = self
            .waitlist
            .iter()
            .filter(|(student, (request, _))| self.fits(tutor, t, **student, request, now))
            .map(|(s, _)| *s)
            .collect();
        fitting
            .into_iter()
            .map(|student| {
                self.waitlist.remove(&student);
                Event::TutorAvailable { student, tutor }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    impl Pool {
        /// The pool's internal invariants; panics with the first broken one.
        fn check(&self) {
            assert_eq!(self.searches.len(), self.by_student.len());
            for (id, s) in &self.searches {
                assert_eq!(self.by_student.get(&s.student), Some(id));
                assert!(
                    !self.waitlist.contains_key(&s.student),
                    "waitlisted while searching"
                );
                // Between transitions every running search waits on exactly one proposal.
                let p = s.pending.expect("a running search has a pending proposal");
                let prop = &self.proposals[&p];
                assert_eq!(prop.search, *id);
                assert!(s.attempts >= 1 && s.attempts <= self.config.max_attempts);
                assert_eq!(s.tried.len() as u32, s.attempts, "one proposal per tutor");
                assert!(s.tried.contains(&prop.tutor));
            }
            for (id, p) in &self.proposals {
                assert!(self.searches[&p.search].pending == Some(*id));
                assert_eq!(self.tutors[&p.tutor].duty, Duty::Proposed { proposal: *id });
                assert_ne!(p.tutor, p.terms.student);
                assert!(!self.closed.contains_key(id));
            }
            for (a, t) in &self.tutors {
                if let Duty::Proposed { proposal } = t.duty {
                    assert_eq!(self.proposals[&proposal].tutor, *a);
                    assert!(t.profile.is_some(), "proposed to an offline tutor");
                    assert!(t.sessions.is_empty(), "proposed to a busy tutor");
                }
                assert!(
                    t.profile.is_some()
                        || !t.sessions.is_empty()
                        || !matches!(t.duty, Duty::Idle { .. }),
                    "an unused tutor record is kept"
                );
            }
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        Online(u8, u64),
        Offline(u8),
        Find(u8, u64),
        Cancel(u8),
        Accept(u8, bool),
        Decline(u8),
        Start(u8, u8),
        End(u8, u8),
        Wait(u8),
        Advance(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..4u8, 1..4u64).prop_map(|(t, r)| Op::Online(t, r)),
            (0..4u8).prop_map(Op::Offline),
            (0..3u8, 1..4u64).prop_map(|(s, r)| Op::Find(s, r)),
            (0..3u8).prop_map(Op::Cancel),
            (0..4u8, any::<bool>()).prop_map(|(t, ok)| Op::Accept(t, ok)),
            (0..4u8).prop_map(Op::Decline),
            (0..4u8, 0..3u8).prop_map(|(t, s)| Op::Start(t, s)),
            (0..4u8, 0..3u8).prop_map(|(t, s)| Op::End(t, s)),
            (0..3u8).prop_map(Op::Wait),
            (0..60u64).prop_map(Op::Advance),
        ]
    }

    fn tutor(i: u8) -> Address {
        Address::repeat_byte(0x10 + i)
    }

    fn student(i: u8) -> Address {
        Address::repeat_byte(0xa0 + i)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any sequence of transitions keeps the invariants, and every match is the first
        /// accept of a proposal that was open, on its terms, before its deadline.
        #[test]
        fn transitions_keep_the_invariants(ops in proptest::collection::vec(op(), 1..80)) {
            let t0 = Instant::now();
            let mut now = t0;
            let mut pool = Pool::new(Config::default());
            let lang = Language::new("es").unwrap();
            let token = Address::repeat_byte(0xee);
            // Open proposals as the tutors heard of them: proposal → (tutor, terms, expires).
            let mut heard: BTreeMap<ProposalId, (Address, Terms, Instant)> = BTreeMap::new();
            let mut matched: BTreeSet<ProposalId> = BTreeSet::new();
            for op in ops {
                let events = match op {
                    Op::Online(t, rate) => pool
                        .online(
                            tutor(t),
                            Profile {
                                languages: [lang.clone()].into(),
                                levels: [Level::B1].into(),
                                token,
                                rate: U256::from(rate),
                                credentials: BTreeSet::new(),
                            },
                            now,
                        )
                        .unwrap(),
                    Op::Offline(t) => pool.offline(tutor(t), now),
                    Op::Find(s, max) => pool
                        .find(
                            student(s),
                            Request {
                                language: lang.clone(),
                                level: Level::B1,
                                token,
                                max_rate: U256::from(max),
                                credential: None,
                                cap: U256::from(1u8),
                            },
                            now,
                        )
                        .map(|(_, e)| e)
                        .unwrap_or_default(),
                    Op::Cancel(s) => pool.cancel(student(s), now).unwrap_or_default(),
                    Op::Accept(t, right) => {
                        let open = heard.iter().find(|(_, h)| h.0 == tutor(t)).map(|(p, h)| (*p, h.clone()));
                        match open {
                            Some((p, (_, mut terms, expires))) => {
                                if !right {
                                    terms.rate += U256::from(1u8);
                                }
                                let r = pool.accept(tutor(t), p, &terms, now);
                                if r.is_ok() {
                                    prop_assert!(right && now < expires, "accepted late or on wrong terms");
                                    prop_assert!(matched.insert(p), "matched twice");
                                }
                                r.unwrap_or_default()
                            }
                            None => Vec::new(),
                        }
                    }
                    Op::Decline(t) => {
                        let open = heard.iter().find(|(_, h)| h.0 == tutor(t)).map(|(p, _)| *p);
                        open.map(|p| pool.decline(tutor(t), p, now).unwrap_or_default()).unwrap_or_default()
                    }
                    Op::Start(t, s) => pool.session_started(tutor(t), U256::from(s), now),
                    Op::End(t, s) => pool.session_ended(tutor(t), U256::from(s), now),
                    Op::Wait(s) => pool.wait(student(s), Request {
                        language: lang.clone(),
                        level: Level::B1,
                        token,
                        max_rate: U256::from(3u8),
                        credential: None,
                        cap: U256::from(1u8),
                    }, now).unwrap_or_default(),
                    Op::Advance(secs) => {
                        now += Duration::from_secs(secs);
                        pool.tick(now)
                    }
                };
                // Proposals closed silently (declined, tutor offline) are gone from the pool.
                heard.retain(|p, _| pool.proposals.contains_key(p));
                for e in &events {
                    match e {
                        Event::Proposed { tutor, proposal, terms, expires, .. } => {
                            prop_assert!(heard.values().all(|h| h.0 != *tutor), "a tutor with two open proposals");
                            heard.insert(*proposal, (*tutor, terms.clone(), *expires));
                        }
                        Event::ProposalClosed { proposal, .. } | Event::Matched { proposal, .. } => {
                            prop_assert!(!pool.proposals.contains_key(proposal));
                        }
                        _ => {}
                    }
                }
                pool.check();
            }
        }
    }
}
