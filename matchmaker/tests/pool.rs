//! The matching rule, one behaviour per test, with exact events.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, U256};
use minuto_matchmaker::pool::{
    Closed, Config, Event, Language, Level, MatchError, NoMatch, Pool, Profile, Request, Terms,
};

const TOKEN: Address = Address::repeat_byte(0xee);
const RATE: u64 = 1_000;

fn tutor(n: u8) -> Address {
    Address::repeat_byte(0x10 + n)
}

fn student(n: u8) -> Address {
    Address::repeat_byte(0xa0 + n)
}

fn langs(codes: &[&str]) -> BTreeSet<Language> {
    codes.iter().map(|c| Language::new(c).unwrap()).collect()
}

fn profile(rate: u64) -> Profile {
    Profile {
        languages: langs(&["en", "es"]),
        levels: [Level::A2, Level::B1].into(),
        token: TOKEN,
        rate: U256::from(rate),
        credentials: BTreeSet::new(),
    }
}

fn request() -> Request {
    Request {
        language: Language::new("es").unwrap(),
        level: Level::B1,
        token: TOKEN,
        max_rate: U256::from(RATE),
        credential: None,
        cap: U256::from(1_000_000u64),
    }
}

struct World {
    pool: Pool,
    t0: Instant,
}

impl World {
    fn new() -> Self {
        Self {
            pool: Pool::new(Config::default()),
            t0: Instant::now(),
        }
    }

    fn at(&self, secs: u64) -> Instant {
        self.t0 + Duration::from_secs(secs)
    }

    /// Tutors 1..=n online at seconds 1..=n (tutor 1 idle the longest).
    fn with_tutors(n: u8) -> Self {
        let mut w = Self::new();
        for i in 1..=n {
            let now = w.at(u64::from(i));
            assert_eq!(w.pool.online(tutor(i), profile(RATE), now), Ok(vec![]));
        }
        w
    }
}

/// The proposal id and tutor of the `Proposed` event in `events`.
fn proposed(events: &[Event]) -> (u64, Address) {
    let found: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Proposed {
                proposal, tutor, ..
            } => Some((*proposal, *tutor)),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1, "one proposal in {events:?}");
    found[0]
}

fn terms(s: Address, rate: u64) -> Terms {
    Terms {
        student: s,
        token: TOKEN,
        rate: U256::from(rate),
    }
}

#[test]
fn find_proposes_to_the_tutor_idle_longest_with_exact_events() {
    let mut w = World::with_tutors(3);
    let now = w.at(10);
    let (search, events) = w.pool.find(student(1), request(), now).unwrap();
    let Event::Proposed { proposal, .. } = events[1] else {
        panic!("{events:?}")
    };
    assert_eq!(
        events,
        vec![
            Event::Searching {
                student: student(1),
                search,
                attempt: 1
            },
            Event::Proposed {
                tutor: tutor(1),
                proposal,
                search,
                terms: terms(student(1), RATE),
                request: request(),
                expires: now + Duration::from_secs(30),
            },
        ]
    );
    assert_eq!(w.pool.search_of(student(1)), Some(search));
}

#[test]
fn find_skips_tutors_who_do_not_fit() {
    let mut w = World::new();
    let now = w.at(1);
    let mut dear = profile(RATE + 1);
    w.pool.online(tutor(1), dear.clone(), now).unwrap();
    dear.rate = U256::from(RATE);
    dear.token = Address::repeat_byte(0xdd);
    w.pool.online(tutor(2), dear, now).unwrap();
    let mut french = profile(RATE);
    french.languages = langs(&["fr"]);
    w.pool.online(tutor(3), french, now).unwrap();
    let mut advanced = profile(RATE);
    advanced.levels = [Level::C1].into();
    w.pool.online(tutor(4), advanced, now).unwrap();
    // A student who also tutors is never proposed to themself.
    w.pool.online(student(1), profile(RATE), now).unwrap();
    let (search, events) = w.pool.find(student(1), request(), w.at(2)).unwrap();
    assert_eq!(
        events,
        vec![Event::NoMatch {
            student: student(1),
            search,
            reason: NoMatch::NoTutor
        }]
    );
    assert_eq!(w.pool.search_of(student(1)), None);
    // A tutor who fits, at exactly the maximum rate.
    w.pool.online(tutor(5), profile(RATE), w.at(3)).unwrap();
    let (_, events) = w.pool.find(student(1), request(), w.at(4)).unwrap();
    assert_eq!(proposed(&events).1, tutor(5));
}

#[test]
fn a_required_credential_counts_only_while_the_chain_confirmation_is_fresh() {
    let mut w = World::new();
    let mut p = profile(RATE);
    p.credentials = [7].into();
    w.pool.online(tutor(1), p, w.at(0)).unwrap();
    let gated = Request {
        credential: Some(7),
        ..request()
    };
    assert_eq!(
        w.pool.credentials_to_check(w.at(0), Duration::ZERO),
        vec![(tutor(1), 7)]
    );
    // Claimed but not confirmed: no match.
    let (_, events) = w.pool.find(student(1), gated.clone(), w.at(1)).unwrap();
    assert!(matches!(
        events[..],
        [Event::NoMatch {
            reason: NoMatch::NoTutor,
            ..
        }]
    ));
    // Confirmed at 2 s, valid for 60 s.
    w.pool.credential_checked(tutor(1), 7, true, w.at(2));
    assert_eq!(w.pool.credentials_to_check(w.at(3), Duration::ZERO), vec![]);
    assert_eq!(
        w.pool
            .credentials_to_check(w.at(3), Duration::from_secs(59)),
        vec![(tutor(1), 7)]
    );
    let (_, events) = w.pool.find(student(1), gated.clone(), w.at(3)).unwrap();
    let (proposal, _) = proposed(&events);
    w.pool.decline(tutor(1), proposal, w.at(4)).unwrap();
    // Stale after 62 s.
    let (_, events) = w.pool.find(student(2), gated.clone(), w.at(62)).unwrap();
    assert!(matches!(
        events[..],
        [Event::NoMatch {
            reason: NoMatch::NoTutor,
            ..
        }]
    ));
    // The chain denies it: gone at once.
    w.pool.credential_checked(tutor(1), 7, true, w.at(63));
    w.pool.credential_checked(tutor(1), 7, false, w.at(64));
    let (_, events) = w.pool.find(student(3), gated, w.at(65)).unwrap();
    assert!(matches!(
        events[..],
        [Event::NoMatch {
            reason: NoMatch::NoTutor,
            ..
        }]
    ));
    // Without a credential requirement the tutor fits.
    let (_, events) = w.pool.find(student(4), request(), w.at(66)).unwrap();
    assert_eq!(proposed(&events).1, tutor(1));
}

#[test]
fn a_decline_moves_to_the_next_tutor_and_three_attempts_end_the_search() {
    let mut w = World::with_tutors(4);
    let (search, events) = w.pool.find(student(1), request(), w.at(10)).unwrap();
    let (p1, t1) = proposed(&events);
    assert_eq!(t1, tutor(1));
    let events = w.pool.decline(tutor(1), p1, w.at(11)).unwrap();
    let (p2, t2) = proposed(&events);
    assert_eq!(t2, tutor(2));
    assert_eq!(
        events[0],
        Event::Searching {
            student: student(1),
            search,
            attempt: 2
        }
    );
    let events = w.pool.decline(tutor(2), p2, w.at(12)).unwrap();
    let (p3, t3) = proposed(&events);
    assert_eq!(t3, tutor(3));
    let events = w.pool.decline(tutor(3), p3, w.at(13)).unwrap();
    // Tutor 4 was never asked: three attempts is the limit.
    assert_eq!(
        events,
        vec![Event::NoMatch {
            student: student(1),
            search,
            reason: NoMatch::AttemptsExhausted
        }]
    );
    assert_eq!(
        w.pool.decline(tutor(3), p3, w.at(14)),
        Err(MatchError::ProposalClosed {
            proposal: p3,
            reason: Closed::Declined
        })
    );
}

#[test]
fn a_timeout_closes_the_proposal_and_the_search_moves_on() {
    let mut w = World::with_tutors(2);
    let (_, events) = w.pool.find(student(1), request(), w.at(10)).unwrap();
    let (p1, _) = proposed(&events);
    assert_eq!(w.pool.next_deadline(), Some(w.at(40)));
    assert_eq!(w.pool.tick(w.at(39)), vec![]);
    let events = w.pool.tick(w.at(40));
    assert_eq!(
        events[0],
        Event::ProposalClosed {
            tutor: tutor(1),
            proposal: p1,
            reason: Closed::Expired
        }
    );
    assert_eq!(proposed(&events).1, tutor(2));
}

#[test]
fn an_accept_after_the_deadline_is_refused_whether_or_not_tick_ran() {
    let mut w = World::with_tutors(2);
    let (_, events) = w.pool.find(student(1), request(), w.at(10)).unwrap();
    let (p1, _) = proposed(&events);
    let late = w
        .pool
        .accept(tutor(1), p1, &terms(student(1), RATE), w.at(40));
    let expired = Err(MatchError::ProposalClosed {
        proposal: p1,
        reason: Closed::Expired,
    });
    assert_eq!(late, expired);
    // Still the same after tick closed it and proposed to tutor 2.
    let events = w.pool.tick(w.at(40));
    let (p2, t2) = proposed(&events);
    assert_eq!(t2, tutor(2));
    assert_eq!(
        w.pool
            .accept(tutor(1), p1, &terms(student(1), RATE), w.at(41)),
        expired
    );
    // Tutor 2 accepts in time: the match is theirs.
    let events = w
        .pool
        .accept(tutor(2), p2, &terms(student(1), RATE), w.at(41))
        .unwrap();
    assert!(matches!(events[..], [Event::Matched { tutor: t, .. }] if t == tutor(2)));
}

#[test]
fn two_students_never_get_the_same_tutor() {
    let mut w = World::with_tutors(2);
    let (_, a) = w.pool.find(student(1), request(), w.at(10)).unwrap();
    let (_, b) = w.pool.find(student(2), request(), w.at(10)).unwrap();
    assert_eq!(proposed(&a).1, tutor(1));
    assert_eq!(proposed(&b).1, tutor(2));
    let (search, c) = w.pool.find(student(3), request(), w.at(10)).unwrap();
    assert_eq!(
        c,
        vec![Event::NoMatch {
            student: student(3),
            search,
            reason: NoMatch::NoTutor
        }]
    );
}

#[test]
fn one_search_per_student() {
    let mut w = World::with_tutors(2);
    w.pool.find(student(1), request(), w.at(10)).unwrap();
    assert_eq!(
        w.pool.find(student(1), request(), w.at(11)),
        Err(MatchError::SearchRunning)
    );
    assert_eq!(
        w.pool.wait(student(1), request(), w.at(11)),
        Err(MatchError::SearchRunning)
    );
}

#[test]
fn a_cancel_mid_search_closes_the_proposal_and_frees_the_tutor() {
    let mut w = World::with_tutors(1);
    let (_, events) = w.pool.find(student(1), request(), w.at(10)).unwrap();
    let (p1, _) = proposed(&events);
    assert_eq!(
        w.pool.cancel(student(1), w.at(11)),
        Ok(vec![Event::ProposalClosed {
            tutor: tutor(1),
            proposal: p1,
            reason: Closed::Cancelled
        }])
    );
    assert_eq!(
        w.pool
            .accept(tutor(1), p1, &terms(student(1), RATE), w.at(12)),
        Err(MatchError::ProposalClosed {
            proposal: p1,
            reason: Closed::Cancelled
        })
    );
    assert_eq!(
        w.pool.cancel(student(1), w.at(12)),
        Err(MatchError::NoSearch)
    );
    let (_, events) = w.pool.find(student(2), request(), w.at(13)).unwrap();
    assert_eq!(proposed(&events).1, tutor(1));
}

#[test]
fn a_tutor_going_offline_with_a_proposal_pending_moves_the_search_on() {
    let mut w = World::with_tutors(2);
    let (_, events) = w.pool.find(student(1), request(), w.at(10)).unwrap();
    let (p1, _) = proposed(&events);
    let events = w.pool.offline(tutor(1), w.at(11));
    // No word to the tutor who left; the next tutor is asked at once.
    assert!(events
        .iter()
        .all(|e| !matches!(e, Event::ProposalClosed { .. })));
    assert_eq!(proposed(&events).1, tutor(2));
    assert_eq!(
        w.pool
            .accept(tutor(1), p1, &terms(student(1), RATE), w.at(12)),
        Err(MatchError::ProposalClosed {
            proposal: p1,
            reason: Closed::TutorOffline
        })
    );
    assert_eq!(w.pool.online_count(), 1);
}

#[test]
fn an_accept_on_other_terms_is_refused_and_changes_nothing() {
    let mut w = World::with_tutors(2);
    let (_, events) = w.pool.find(student(1), request(), w.at(10)).unwrap();
    let (p1, _) = proposed(&events);
    let wrong_rate = terms(student(1), RATE - 1);
    assert_eq!(
        w.pool.accept(tutor(1), p1, &wrong_rate, w.at(11)),
        Err(MatchError::TermsMismatch("rate"))
    );
    assert_eq!(
        w.pool
            .accept(tutor(1), p1, &terms(student(2), RATE), w.at(11)),
        Err(MatchError::TermsMismatch("student"))
    );
    let other_token = Terms {
        token: Address::repeat_byte(1),
        ..terms(student(1), RATE)
    };
    assert_eq!(
        w.pool.accept(tutor(1), p1, &other_token, w.at(11)),
        Err(MatchError::TermsMismatch("token"))
    );
    assert_eq!(
        w.pool
            .accept(tutor(2), p1, &terms(student(1), RATE), w.at(11)),
        Err(MatchError::NotYourProposal(p1))
    );
    assert_eq!(
        w.pool
            .accept(tutor(1), 999, &terms(student(1), RATE), w.at(11)),
        Err(MatchError::UnknownProposal(999))
    );
    assert!(w
        .pool
        .accept(tutor(1), p1, &terms(student(1), RATE), w.at(12))
        .is_ok());
}

#[test]
fn the_rate_is_locked_when_the_proposal_is_made() {
    let mut w = World::with_tutors(1);
    let (_, events) = w.pool.find(student(1), request(), w.at(10)).unwrap();
    let (p1, _) = proposed(&events);
    // The tutor raises the rate meanwhile: the proposal keeps the old one.
    w.pool
        .online(tutor(1), profile(RATE * 2), w.at(11))
        .unwrap();
    assert_eq!(
        w.pool
            .accept(tutor(1), p1, &terms(student(1), RATE * 2), w.at(12)),
        Err(MatchError::TermsMismatch("rate"))
    );
    let events = w
        .pool
        .accept(tutor(1), p1, &terms(student(1), RATE), w.at(12))
        .unwrap();
    assert!(
        matches!(&events[..], [Event::Matched { terms: t, .. }] if *t == terms(student(1), RATE))
    );
}

#[test]
fn a_matched_tutor_is_reserved_then_busy_then_back_in_the_pool() {
    let mut w = World::with_tutors(1);
    let (search, events) = w.pool.find(student(1), request(), w.at(10)).unwrap();
    let (p1, _) = proposed(&events);
    let events = w
        .pool
        .accept(tutor(1), p1, &terms(student(1), RATE), w.at(11))
        .unwrap();
    assert_eq!(
        events,
        vec![Event::Matched {
            student: student(1),
            tutor: tutor(1),
            search,
            proposal: p1,
            terms: terms(student(1), RATE),
            reserved_until: w.at(131),
            found_in: Duration::from_secs(1),
        }]
    );
    assert_eq!(w.pool.search_of(student(1)), None);
    let no_tutor = |w: &mut World, s: u8, at: u64| {
        let (_, events) = w.pool.find(student(s), request(), w.at(at)).unwrap();
        matches!(
            events[..],
            [Event::NoMatch {
                reason: NoMatch::NoTutor,
                ..
            }]
        )
    };
    assert!(no_tutor(&mut w, 2, 12), "reserved");
    let id = U256::from(42);
    w.pool.session_started(tutor(1), id, w.at(20));
    assert!(no_tutor(&mut w, 2, 200), "busy past the reservation");
    // The tutor drops from presence mid-lesson and comes back: still busy.
    w.pool.offline(tutor(1), w.at(201));
    w.pool.online(tutor(1), profile(RATE), w.at(202)).unwrap();
    assert!(no_tutor(&mut w, 2, 203), "busy after reconnecting");
    w.pool.session_ended(tutor(1), id, w.at(300));
    let (_, events) = w.pool.find(student(2), request(), w.at(301)).unwrap();
    assert_eq!(proposed(&events).1, tutor(1));
}

#[test]
fn a_reservation_the_student_never_uses_lapses() {
    let mut w = World::with_tutors(1);
    let (_, events) = w.pool.find(student(1), request(), w.at(10)).unwrap();
    let (p1, _) = proposed(&events);
    w.pool
        .accept(tutor(1), p1, &terms(student(1), RATE), w.at(11))
        .unwrap();
    assert_eq!(w.pool.next_deadline(), Some(w.at(131)));
    assert_eq!(w.pool.tick(w.at(130)), vec![]);
    w.pool.tick(w.at(131));
    let (_, events) = w.pool.find(student(2), request(), w.at(132)).unwrap();
    assert_eq!(proposed(&events).1, tutor(1));
}

#[test]
fn a_proposal_to_a_tutor_whose_session_starts_elsewhere_closes() {
    let mut w = World::with_tutors(2);
    let (_, events) = w.pool.find(student(1), request(), w.at(10)).unwrap();
    let (p1, _) = proposed(&events);
    let events = w.pool.session_started(tutor(1), U256::from(7), w.at(11));
    assert_eq!(
        events[0],
        Event::ProposalClosed {
            tutor: tutor(1),
            proposal: p1,
            reason: Closed::Busy
        }
    );
    assert_eq!(proposed(&events).1, tutor(2));
}

#[test]
fn a_tutor_who_declines_goes_to_the_back_of_the_queue() {
    let mut w = World::with_tutors(2);
    let (_, events) = w.pool.find(student(1), request(), w.at(10)).unwrap();
    let (p1, _) = proposed(&events);
    let events = w.pool.decline(tutor(1), p1, w.at(11)).unwrap();
    assert_eq!(proposed(&events).1, tutor(2));
    w.pool.cancel(student(1), w.at(12)).unwrap();
    // Tutor 1 has been idle since 11, tutor 2 since 12: tutor 1 first again.
    let (_, events) = w.pool.find(student(2), request(), w.at(13)).unwrap();
    assert_eq!(proposed(&events).1, tutor(1));
}

#[test]
fn the_waitlist_pings_once_when_a_fitting_tutor_comes_online() {
    let mut w = World::new();
    assert_eq!(w.pool.wait(student(1), request(), w.at(0)), Ok(vec![]));
    let mut french = profile(RATE);
    french.languages = langs(&["fr"]);
    assert_eq!(w.pool.online(tutor(1), french, w.at(1)), Ok(vec![]));
    assert_eq!(
        w.pool.online(tutor(2), profile(RATE), w.at(2)),
        Ok(vec![Event::TutorAvailable {
            student: student(1),
            tutor: tutor(2)
        }])
    );
    // Once only.
    assert_eq!(w.pool.online(tutor(3), profile(RATE), w.at(3)), Ok(vec![]));
    // A tutor who fits now is named at once, without joining the waitlist.
    assert_eq!(
        w.pool.wait(student(2), request(), w.at(4)),
        Ok(vec![Event::TutorAvailable {
            student: student(2),
            tutor: tutor(2)
        }])
    );
}

#[test]
fn a_waitlist_entry_expires() {
    let mut w = World::new();
    w.pool.wait(student(1), request(), w.at(0)).unwrap();
    assert_eq!(w.pool.next_deadline(), Some(w.at(900)));
    assert_eq!(
        w.pool.tick(w.at(900)),
        vec![Event::WaitlistExpired {
            student: student(1)
        }]
    );
    assert_eq!(
        w.pool.online(tutor(1), profile(RATE), w.at(901)),
        Ok(vec![])
    );
}

#[test]
fn a_tutor_freed_by_a_session_end_pings_the_waitlist() {
    let mut w = World::with_tutors(1);
    w.pool.session_started(tutor(1), U256::from(1), w.at(5));
    assert_eq!(w.pool.wait(student(1), request(), w.at(6)), Ok(vec![]));
    assert_eq!(
        w.pool.session_ended(tutor(1), U256::from(1), w.at(7)),
        vec![Event::TutorAvailable {
            student: student(1),
            tutor: tutor(1)
        }]
    );
}

#[test]
fn bad_profiles_and_requests_are_refused_with_the_field() {
    let mut w = World::new();
    let mut p = profile(RATE);
    p.languages.clear();
    assert_eq!(
        w.pool.online(tutor(1), p, w.at(0)),
        Err(MatchError::InvalidProfile("no language"))
    );
    assert_eq!(
        w.pool.online(tutor(1), profile(0), w.at(0)),
        Err(MatchError::InvalidProfile("zero rate"))
    );
    let mut p = profile(RATE);
    p.levels.clear();
    assert_eq!(
        w.pool.online(tutor(1), p, w.at(0)),
        Err(MatchError::InvalidProfile("no level"))
    );
    let r = Request {
        cap: U256::ZERO,
        ..request()
    };
    assert_eq!(
        w.pool.find(student(1), r, w.at(0)),
        Err(MatchError::InvalidRequest("zero spending cap"))
    );
    assert_eq!(w.pool.online_count(), 0);
    assert_eq!(w.pool.search_count(), 0);
    assert_eq!(
        Language::new("EN"),
        Err(MatchError::InvalidLanguage("EN".into()))
    );
    assert_eq!(
        serde_json_like("english"),
        Err(MatchError::InvalidLanguage("english".into()))
    );
}

fn serde_json_like(s: &str) -> Result<Language, MatchError> {
    Language::try_from(s.to_owned())
}

#[test]
fn a_reorg_reset_frees_and_busies_tutors_to_match_the_chain() {
    let mut w = World::with_tutors(2);
    w.pool.session_started(tutor(1), U256::from(1), w.at(5));
    // After the rewind, session 1 never started and tutor 2 is in session 2.
    let events = w.pool.reset_sessions(&[(tutor(2), U256::from(2))], w.at(7));
    assert_eq!(events, vec![]);
    let (_, events) = w.pool.find(student(2), request(), w.at(8)).unwrap();
    assert_eq!(proposed(&events).1, tutor(1));
    // And back: no session anywhere frees tutor 2 too.
    assert_eq!(w.pool.reset_sessions(&[], w.at(9)), vec![]);
    let (_, events) = w.pool.find(student(3), request(), w.at(10)).unwrap();
    assert_eq!(proposed(&events).1, tutor(2));
}
