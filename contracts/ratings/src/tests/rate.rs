//! One test per rule of the rating registry (DESIGN.md §4): constructor and settings,
//! which sessions may be rated, by whom, when, with what, and the aggregates.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolEvent;
use motsu::prelude::*;
use openzeppelin_stylus::token::erc20::IErc20;

use super::*;
use fake_escrow::FakeEscrow;

fn id(v: u64) -> U256 {
    U256::from(v)
}

mod fake_escrow {
    //! An escrow stand-in that reports one Ended session with any parties, even a
    //! student who is their own tutor (which the real escrow forbids).
    use alloy_primitives::{Address, U256};
    use minuto_escrow::SessionView;
    use stylus_sdk::{prelude::*, storage::StorageAddress};

    #[storage]
    #[entrypoint]
    pub struct FakeEscrow {
        student: StorageAddress,
        tutor: StorageAddress,
    }

    #[public]
    impl FakeEscrow {
        pub fn set_parties(&mut self, student: Address, tutor: Address) {
            self.student.set(student);
            self.tutor.set(tutor);
        }

        pub fn session(&self, _id: U256) -> SessionView {
            SessionView {
                student: self.student.get(),
                tutor: self.tutor.get(),
                token: Address::ZERO,
                // One base unit a second: 999 billed.
                rate: U256::from(1_000_000_000_000_000_000u128),
                deposited: U256::from(1_000),
                withdrawn: U256::ZERO,
                start: 1,
                end: 1_000,
                // A fee was paid: otherwise the session could not be rated at all.
                feeBps: 250,
                credentialKind: 0,
                state: 3,
            }
        }
    }
}

// --- constructor and settings --------------------------------------------------------------

#[motsu::test]
fn constructor_rejects_zero_admin(
    ratings: Contract<Ratings>,
    escrow_contract: Contract<SessionEscrow>,
    alice: Address,
) {
    let escrow = escrow_contract.address();
    assert_reverts(
        &ratings,
        RatingInvalidAddress {
            account: Address::ZERO,
        },
        || {
            ratings
                .sender(alice)
                .constructor(Address::ZERO, escrow, MIN_DURATION, WINDOW)
        },
    );
}

#[motsu::test]
fn constructor_rejects_zero_min_duration_or_window(
    ratings: Contract<Ratings>,
    admin: Address,
    escrow_contract: Contract<SessionEscrow>,
) {
    let escrow = escrow_contract.address();
    // 2^32 seconds: the minimum duration is stored in 32 bits, beside the escrow.
    for (min, window) in [(0, WINDOW), (MIN_DURATION, 0), (1 << 32, WINDOW)] {
        assert_reverts(
            &ratings,
            RatingInvalidConfig {
                minDuration: min,
                ratingWindow: window,
            },
            || {
                ratings
                    .sender(admin)
                    .constructor(admin, escrow, min, window)
            },
        );
    }
}

#[motsu::test]
fn constructor_stores_config_and_emits_it(
    ratings: Contract<Ratings>,
    admin: Address,
    escrow_contract: Contract<SessionEscrow>,
) {
    let escrow = escrow_contract.address();
    let ((), events) = with_events(&ratings, || {
        ratings
            .sender(admin)
            .constructor(admin, escrow, MIN_DURATION, WINDOW)
            .motsu_unwrap()
    });
    assert_eq!(
        events,
        [
            AdminTransferred {
                previousAdmin: Address::ZERO,
                admin
            }
            .encode_log_data(),
            RatingConfigUpdated {
                minDuration: 300,
                ratingWindow: 1_209_600
            }
            .encode_log_data()
        ]
    );
    assert_eq!(
        ratings.sender(admin).config(),
        (admin, escrow, 300, 1_209_600)
    );
}

#[motsu::test]
fn set_config_by_non_admin_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    assert_reverts(&ratings, RatingNotAdmin { caller: w.student }, || {
        ratings.sender(w.student).set_config(1, 1)
    });
}

#[motsu::test]
fn set_config_rejects_zero(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    assert_reverts(
        &ratings,
        RatingInvalidConfig {
            minDuration: 0,
            ratingWindow: 0,
        },
        || ratings.sender(w.admin).set_config(0, 0),
    );
    // The largest minimum duration 32 bits hold is taken and read back; one more is not.
    let max = u64::from(u32::MAX);
    ratings.sender(w.admin).set_config(max, WINDOW).unwrap();
    assert_eq!(ratings.sender(w.admin).config().2, max);
    assert_reverts(
        &ratings,
        RatingInvalidConfig {
            minDuration: max + 1,
            ratingWindow: WINDOW,
        },
        || ratings.sender(w.admin).set_config(max + 1, WINDOW),
    );
    assert_eq!(ratings.sender(w.admin).config().2, max);
}

#[motsu::test]
fn set_config_applies_to_later_ratings(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    let session = w.held();
    let end = escrow.sender(w.admin).session(session).motsu_unwrap().end;
    clock::advance(61);
    let ((), events) = with_events(&ratings, || {
        ratings.sender(w.admin).set_config(300, 60).motsu_unwrap()
    });
    assert_eq!(
        events,
        [RatingConfigUpdated {
            minDuration: 300,
            ratingWindow: 60
        }
        .encode_log_data()]
    );
    assert_reverts(
        &ratings,
        RatingWindowClosed {
            sessionId: session,
            deadline: end + 60,
        },
        || {
            ratings
                .sender(w.student)
                .rate(session, 5, cid_hash(), CID.into())
        },
    );
    ratings.sender(w.admin).set_config(300, 61).motsu_unwrap();
    w.rate(w.student, session, 5);
}

// --- which sessions ---------------------------------------------------------------------------

#[motsu::test]
fn rate_unknown_session_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    w.held();
    for session in [id(0), id(2), U256::MAX] {
        assert_reverts(
            &ratings,
            RatingUnknownSession { sessionId: session },
            || {
                ratings
                    .sender(w.student)
                    .rate(session, 4, cid_hash(), CID.into())
            },
        );
    }
}

#[motsu::test]
fn rate_open_session_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    let session = w.open(DEPOSIT);
    clock::advance(MIN_DURATION);
    assert_reverts(
        &ratings,
        RatingSessionNotEnded {
            sessionId: session,
            state: OPEN,
        },
        || {
            ratings
                .sender(w.student)
                .rate(session, 1, cid_hash(), CID.into())
        },
    );
}

#[motsu::test]
fn rate_active_session_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    let session = w.start(DEPOSIT);
    clock::advance(10 * MIN_DURATION);
    assert_reverts(
        &ratings,
        RatingSessionNotEnded {
            sessionId: session,
            state: ACTIVE,
        },
        || {
            ratings
                .sender(w.tutor)
                .rate(session, 1, cid_hash(), CID.into())
        },
    );
}

#[motsu::test]
fn rate_cancelled_session_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    let session = w.open(DEPOSIT);
    // Cancelled well after opening: `end − start` is long, but the session never ran.
    clock::advance(MIN_DURATION);
    escrow.sender(w.tutor).cancel(session).motsu_unwrap();
    assert_reverts(
        &ratings,
        RatingSessionNotEnded {
            sessionId: session,
            state: CANCELLED,
        },
        || {
            ratings
                .sender(w.student)
                .rate(session, 1, cid_hash(), CID.into())
        },
    );
}

#[motsu::test]
fn rate_just_under_min_duration_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    let session = w.ended(DEPOSIT, MIN_DURATION - 1);
    for party in [w.student, w.tutor] {
        assert_reverts(
            &ratings,
            RatingTooShort {
                sessionId: session,
                duration: MIN_DURATION - 1,
                minDuration: MIN_DURATION,
            },
            || {
                ratings
                    .sender(party)
                    .rate(session, 3, cid_hash(), CID.into())
            },
        );
    }
}

#[motsu::test]
fn rate_exactly_min_duration_accepted(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    let session = w.ended(DEPOSIT, MIN_DURATION);
    w.rate(w.tutor, session, 3);
    assert_eq!(ratings.sender(w.tutor).aggregates(w.student), (0, 0, 1, 3));
}

#[motsu::test]
fn rate_session_that_ran_out_counts_until_exhaustion(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    // Funds for 299 seconds, stopped after 1,000: the session ended at exhaustion.
    let short = w.ended((u128::from(MIN_DURATION) - 1) * RATE_PER_SEC, 1_000);
    assert_reverts(
        &ratings,
        RatingTooShort {
            sessionId: short,
            duration: MIN_DURATION - 1,
            minDuration: MIN_DURATION,
        },
        || {
            ratings
                .sender(w.student)
                .rate(short, 2, cid_hash(), CID.into())
        },
    );
    // Funds for exactly 300 seconds: enough.
    let enough = w.ended(u128::from(MIN_DURATION) * RATE_PER_SEC, 1_000);
    w.rate(w.student, enough, 2);
}

// --- who, how often -----------------------------------------------------------------------------

#[motsu::test]
fn rate_by_non_party_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    let session = w.held();
    for caller in [w.stranger, w.admin, escrow.address()] {
        assert_reverts(
            &ratings,
            RatingNotAParty {
                sessionId: session,
                caller,
            },
            || {
                ratings
                    .sender(caller)
                    .rate(session, 5, cid_hash(), CID.into())
            },
        );
    }
}

#[motsu::test]
fn rate_of_yourself_rejected(fake: Contract<FakeEscrow>, ratings: Contract<Ratings>) {
    let (admin, alice) = (Address::random(), Address::random());
    ratings
        .sender(admin)
        .constructor(admin, fake.address(), MIN_DURATION, WINDOW)
        .motsu_unwrap();
    fake.sender(admin).set_parties(alice, alice);
    ratings
        .sender(admin)
        .set_min_billed(Address::ZERO, 1)
        .motsu_unwrap();
    clock::reset();
    // The fake session ended at 1,000, long before motsu's clock: first widen the window.
    let session = id(1);
    let deadline = 1_000 + WINDOW;
    assert_reverts(
        &ratings,
        RatingWindowClosed {
            sessionId: session,
            deadline,
        },
        || {
            ratings
                .sender(alice)
                .rate(session, 5, cid_hash(), CID.into())
        },
    );
    ratings
        .sender(admin)
        .set_config(MIN_DURATION, u64::MAX)
        .motsu_unwrap();
    assert_reverts(
        &ratings,
        RatingSelfRating {
            sessionId: session,
            rater: alice,
        },
        || {
            ratings
                .sender(alice)
                .rate(session, 5, cid_hash(), CID.into())
        },
    );
}

#[motsu::test]
fn rate_by_both_parties_records_each_and_emits_rated(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    let session = w.held();

    let ((), events) = with_events(&ratings, || w.rate(w.student, session, 5));
    assert_eq!(
        events,
        [Rated {
            sessionId: session,
            rater: w.student,
            ratee: w.tutor,
            raterRole: Role::Student as u8,
            score: 5,
            contentHash: cid_hash(),
            cid: CID.into(),
        }
        .encode_log_data()]
    );
    assert_eq!(
        ratings.sender(w.stranger).session_ratings(session),
        (5, cid_hash(), 0, B256::ZERO)
    );

    let other_cid = "bafkreie7q3iidccmpvszul7kudcvvuavuo7u6gzlbobczuk5nqk3b4akba/text.json";
    let other_hash = alloy_primitives::keccak256(other_cid);
    let ((), events) = with_events(&ratings, || {
        ratings
            .sender(w.tutor)
            .rate(session, 4, other_hash, other_cid.into())
            .motsu_unwrap()
    });
    assert_eq!(
        events,
        [Rated {
            sessionId: session,
            rater: w.tutor,
            ratee: w.student,
            raterRole: Role::Tutor as u8,
            score: 4,
            contentHash: other_hash,
            cid: other_cid.into(),
        }
        .encode_log_data()]
    );
    let view = ratings.sender(w.stranger);
    assert_eq!(
        view.session_ratings(session),
        (5, cid_hash(), 4, other_hash)
    );
    assert_eq!(view.aggregates(w.tutor), (1, 5, 0, 0));
    assert_eq!(view.aggregates(w.student), (0, 0, 1, 4));
    assert_eq!(view.aggregates(w.stranger), (0, 0, 0, 0));
}

#[motsu::test]
fn rate_twice_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    let session = w.held();
    w.rate(w.student, session, 2);
    w.rate(w.tutor, session, 3);
    for (rater, score) in [(w.student, 2), (w.student, 5), (w.tutor, 1)] {
        assert_reverts(
            &ratings,
            RatingAlreadyRated {
                sessionId: session,
                rater,
            },
            || {
                ratings
                    .sender(rater)
                    .rate(session, score, cid_hash(), CID.into())
            },
        );
    }
    // Nothing changed.
    assert_eq!(
        ratings.sender(w.stranger).session_ratings(session),
        (2, cid_hash(), 3, cid_hash())
    );
    assert_eq!(ratings.sender(w.stranger).aggregates(w.tutor), (1, 2, 0, 0));
}

// --- when ------------------------------------------------------------------------------------

#[motsu::test]
fn rate_at_the_window_end_accepted_one_second_later_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    let session = w.held();
    let end = escrow.sender(w.admin).session(session).motsu_unwrap().end;
    clock::advance(WINDOW);
    w.rate(w.student, session, 4);
    clock::advance(1);
    assert_reverts(
        &ratings,
        RatingWindowClosed {
            sessionId: session,
            deadline: end + WINDOW,
        },
        || {
            ratings
                .sender(w.tutor)
                .rate(session, 4, cid_hash(), CID.into())
        },
    );
}

#[motsu::test]
fn rate_after_a_late_settlement_counts_the_window_from_exhaustion(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    // Audit L4 (documented, not fixed): a session whose funds ran out ends when they did,
    // so one settled more than the window later can never be rated.
    let w = World::new(&escrow, &token, &ratings);
    let runs_dry = DEPOSIT / RATE_PER_SEC;
    let session = w.ended(DEPOSIT, runs_dry as u64 + WINDOW + 1);
    let s = escrow.sender(w.admin).session(session).motsu_unwrap();
    assert_eq!(s.end, s.start + runs_dry as u64);
    for rater in [w.student, w.tutor] {
        assert_reverts(
            &ratings,
            RatingWindowClosed {
                sessionId: session,
                deadline: s.end + WINDOW,
            },
            || {
                ratings
                    .sender(rater)
                    .rate(session, 4, cid_hash(), CID.into())
            },
        );
    }
}

// --- with what --------------------------------------------------------------------------------

#[motsu::test]
fn rate_score_zero_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    let session = w.held();
    assert_reverts(&ratings, RatingInvalidScore { score: 0 }, || {
        ratings
            .sender(w.student)
            .rate(session, 0, cid_hash(), CID.into())
    });
}

#[motsu::test]
fn rate_score_six_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    let session = w.held();
    for score in [6, u8::MAX] {
        assert_reverts(&ratings, RatingInvalidScore { score }, || {
            ratings
                .sender(w.student)
                .rate(session, score, cid_hash(), CID.into())
        });
    }
}

#[motsu::test]
fn rate_scores_one_and_five_accepted(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    let session = w.held();
    w.rate(w.student, session, 1);
    w.rate(w.tutor, session, 5);
    assert_eq!(
        ratings.sender(w.stranger).session_ratings(session),
        (1, cid_hash(), 5, cid_hash())
    );
}

#[motsu::test]
fn rate_hash_mismatch_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    let session = w.held();
    let wrong = alloy_primitives::keccak256("another document");
    assert_reverts(
        &ratings,
        RatingHashMismatch {
            contentHash: wrong,
            cidHash: cid_hash(),
        },
        || {
            ratings
                .sender(w.student)
                .rate(session, 5, wrong, CID.into())
        },
    );
}

#[motsu::test]
fn rate_zero_hash_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    let session = w.held();
    assert_reverts(
        &ratings,
        RatingHashMismatch {
            contentHash: B256::ZERO,
            cidHash: cid_hash(),
        },
        || {
            ratings
                .sender(w.student)
                .rate(session, 5, B256::ZERO, CID.into())
        },
    );
}

#[motsu::test]
fn rate_empty_or_too_long_cid_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    let session = w.held();
    for cid in [String::new(), "b".repeat(MAX_CID_LEN + 1)] {
        let hash = alloy_primitives::keccak256(&cid);
        assert_reverts(
            &ratings,
            RatingInvalidCid {
                length: U256::from(cid.len()),
            },
            || {
                ratings
                    .sender(w.student)
                    .rate(session, 5, hash, cid.clone())
            },
        );
    }
    // The longest CID is fine.
    let longest = "b".repeat(MAX_CID_LEN);
    ratings
        .sender(w.student)
        .rate(session, 5, alloy_primitives::keccak256(&longest), longest)
        .motsu_unwrap();
}

// --- aggregates ---------------------------------------------------------------------------------

#[motsu::test]
fn aggregates_are_kept_apart_per_role(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    // Session 1: `student` learns from `tutor`.
    let first = w.held();
    // Session 2: the roles swap.
    token
        .sender(w.admin)
        .mint(w.tutor, U256::from(DEPOSIT))
        .motsu_unwrap();
    token
        .sender(w.tutor)
        .approve(escrow.address(), U256::MAX)
        .motsu_unwrap();
    let second = escrow
        .sender(w.tutor)
        .open(
            w.student,
            token.address(),
            U256::from(RATE),
            U256::from(DEPOSIT),
            Address::random(),
            0,
        )
        .motsu_unwrap();
    escrow
        .sender(w.student)
        .start(second, Address::random())
        .motsu_unwrap();
    clock::advance(MIN_DURATION);
    escrow.sender(w.student).stop(second).motsu_unwrap();

    w.rate(w.student, first, 5); // `tutor` rated as a tutor
    w.rate(w.tutor, first, 2); // `student` rated as a student
    w.rate(w.tutor, second, 4); // `tutor`, now the student, rates `student` as a tutor
    w.rate(w.student, second, 1); // `student`, now the tutor, rates `tutor` as a student

    let view = ratings.sender(w.stranger);
    assert_eq!(view.aggregates(w.tutor), (1, 5, 1, 1));
    assert_eq!(view.aggregates(w.student), (1, 4, 1, 2));
}
