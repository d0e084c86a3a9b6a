//! One test per rule of the badges (DESIGN.md §3): constructor and settings, claiming,
//! the badge record, metadata and transfers.

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolEvent;
use motsu::prelude::*;
use openzeppelin_stylus::token::erc721::{self, Transfer};
use stylus_sdk::{prelude::*, storage::StorageAddress};

use super::*;

fn id(v: u64) -> U256 {
    U256::from(v)
}

// --- constructor and settings --------------------------------------------------------------

#[motsu::test]
fn constructor_rejects_zero_admin(
    badges: Contract<Badges>,
    escrow_contract: Contract<SessionEscrow>,
    alice: Address,
) {
    let escrow = escrow_contract.address();
    assert_reverts(
        &badges,
        BadgeInvalidAddress {
            account: Address::ZERO,
        },
        || {
            badges
                .sender(alice)
                .constructor(Address::ZERO, escrow, MIN_DURATION, BASE_URI.into())
        },
    );
}

#[motsu::test]
fn constructor_rejects_zero_min_duration(
    badges: Contract<Badges>,
    admin: Address,
    escrow_contract: Contract<SessionEscrow>,
) {
    let escrow = escrow_contract.address();
    assert_reverts(&badges, BadgeInvalidMinDuration { minDuration: 0 }, || {
        badges
            .sender(admin)
            .constructor(admin, escrow, 0, BASE_URI.into())
    });
}

#[motsu::test]
fn constructor_rejects_too_long_base_uri(
    badges: Contract<Badges>,
    admin: Address,
    escrow_contract: Contract<SessionEscrow>,
) {
    let escrow = escrow_contract.address();
    let uri = "a".repeat(MAX_BASE_URI_LEN + 1);
    assert_reverts(
        &badges,
        BadgeInvalidBaseUri {
            length: U256::from(MAX_BASE_URI_LEN + 1),
        },
        || {
            badges
                .sender(admin)
                .constructor(admin, escrow, MIN_DURATION, uri)
        },
    );
}

#[motsu::test]
fn constructor_stores_config_and_emits_min_duration(
    badges: Contract<Badges>,
    admin: Address,
    escrow_contract: Contract<SessionEscrow>,
) {
    let escrow = escrow_contract.address();
    let ((), events) = with_events(&badges, || {
        badges
            .sender(admin)
            .constructor(admin, escrow, MIN_DURATION, BASE_URI.into())
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
            BadgeMinDurationUpdated {
                minDuration: MIN_DURATION
            }
            .encode_log_data()
        ]
    );
    assert_eq!(
        badges.sender(admin).config(),
        (admin, escrow, DEFAULT_MIN_DURATION)
    );
    assert_eq!(DEFAULT_MIN_DURATION, 300);
}

#[motsu::test]
fn set_min_duration_by_non_admin_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = World::new(&escrow, &token, &badges);
    assert_reverts(&badges, BadgeNotAdmin { caller: w.tutor }, || {
        badges.sender(w.tutor).set_min_duration(60)
    });
}

#[motsu::test]
fn set_min_duration_rejects_zero(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = World::new(&escrow, &token, &badges);
    assert_reverts(&badges, BadgeInvalidMinDuration { minDuration: 0 }, || {
        badges.sender(w.admin).set_min_duration(0)
    });
}

#[motsu::test]
fn set_min_duration_applies_to_later_claims(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = World::new(&escrow, &token, &badges);
    let session = w.held();
    let ((), events) = with_events(&badges, || {
        badges.sender(w.admin).set_min_duration(301).motsu_unwrap()
    });
    assert_eq!(
        events,
        [BadgeMinDurationUpdated { minDuration: 301 }.encode_log_data()]
    );
    assert_eq!(badges.sender(w.admin).config().2, 301);
    assert_reverts(
        &badges,
        BadgeTooShort {
            sessionId: session,
            duration: 300,
            minDuration: 301,
        },
        || badges.sender(w.student).claim(session),
    );
    badges.sender(w.admin).set_min_duration(300).motsu_unwrap();
    w.claim(w.student, session);
}

// --- claim: which sessions -------------------------------------------------------------------

#[motsu::test]
fn claim_unknown_session_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = World::new(&escrow, &token, &badges);
    w.held();
    // Ids from `SESSION_ID_END` on could not be badge ids; the escrow cannot reach them.
    let end = SESSION_ID_END;
    for session in [id(0), id(2), end - id(1), end, end + id(1), U256::MAX] {
        assert_reverts(&badges, BadgeUnknownSession { sessionId: session }, || {
            badges.sender(w.student).claim(session)
        });
    }
}

#[motsu::test]
fn claim_open_session_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = World::new(&escrow, &token, &badges);
    let session = w.open(DEPOSIT);
    clock::advance(MIN_DURATION);
    assert_reverts(
        &badges,
        BadgeSessionNotEnded {
            sessionId: session,
            state: OPEN,
        },
        || badges.sender(w.student).claim(session),
    );
}

#[motsu::test]
fn claim_active_session_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = World::new(&escrow, &token, &badges);
    let session = w.start(DEPOSIT);
    // Long past the minimum, even past the funds' end: still Active until stopped.
    clock::advance(10 * MIN_DURATION);
    assert_reverts(
        &badges,
        BadgeSessionNotEnded {
            sessionId: session,
            state: ACTIVE,
        },
        || badges.sender(w.tutor).claim(session),
    );
}

#[motsu::test]
fn claim_cancelled_session_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = World::new(&escrow, &token, &badges);
    let session = w.open(DEPOSIT);
    // Cancelled well after opening: `end − start` is long, but nothing was held.
    clock::advance(MIN_DURATION);
    escrow.sender(w.student).cancel(session).motsu_unwrap();
    assert_reverts(
        &badges,
        BadgeSessionNotEnded {
            sessionId: session,
            state: CANCELLED,
        },
        || badges.sender(w.student).claim(session),
    );
}

#[motsu::test]
fn claim_just_under_min_duration_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = World::new(&escrow, &token, &badges);
    let session = w.ended(DEPOSIT, MIN_DURATION - 1);
    for party in [w.student, w.tutor] {
        assert_reverts(
            &badges,
            BadgeTooShort {
                sessionId: session,
                duration: MIN_DURATION - 1,
                minDuration: MIN_DURATION,
            },
            || badges.sender(party).claim(session),
        );
    }
}

#[motsu::test]
fn claim_exactly_min_duration_accepted(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = World::new(&escrow, &token, &badges);
    let session = w.ended(DEPOSIT, MIN_DURATION);
    assert_eq!(session, id(1));
    assert_eq!(w.claim(w.student, session), id(2));
}

#[motsu::test]
fn claim_session_that_ran_out_counts_until_exhaustion(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = World::new(&escrow, &token, &badges);
    // Funds for 299 seconds, stopped after 1,000: the session ended at exhaustion.
    let short = w.ended((u128::from(MIN_DURATION) - 1) * RATE_PER_SEC, 1_000);
    assert_reverts(
        &badges,
        BadgeTooShort {
            sessionId: short,
            duration: MIN_DURATION - 1,
            minDuration: MIN_DURATION,
        },
        || badges.sender(w.student).claim(short),
    );
    // Funds for exactly 300 seconds: enough.
    let enough = w.ended(u128::from(MIN_DURATION) * RATE_PER_SEC, 1_000);
    assert_eq!((short, enough), (id(1), id(2)));
    assert_eq!(w.claim(w.tutor, enough), id(5));
}

// --- claim: who, how often ---------------------------------------------------------------------

#[motsu::test]
fn claim_by_non_party_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = World::new(&escrow, &token, &badges);
    let session = w.held();
    for caller in [w.stranger, w.admin, escrow.address()] {
        assert_reverts(
            &badges,
            BadgeNotAParty {
                sessionId: session,
                caller,
            },
            || badges.sender(caller).claim(session),
        );
    }
}

#[motsu::test]
fn claim_by_both_parties_mints_one_badge_each(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = World::new(&escrow, &token, &badges);
    let session = w.held();
    assert_eq!(session, id(1));

    // Token ids are `2 × sessionId`, plus 1 for the tutor.
    let (student_badge, events) = with_events(&badges, || w.claim(w.student, session));
    assert_eq!(student_badge, id(2));
    assert_eq!(
        events,
        [
            Transfer {
                from: Address::ZERO,
                to: w.student,
                token_id: id(2),
            }
            .encode_log_data(),
            BadgeClaimed {
                tokenId: id(2),
                sessionId: session,
                holder: w.student,
                role: Role::Student as u8,
            }
            .encode_log_data(),
        ]
    );

    let (tutor_badge, events) = with_events(&badges, || w.claim(w.tutor, session));
    assert_eq!(tutor_badge, id(3));
    assert_eq!(
        events,
        [
            Transfer {
                from: Address::ZERO,
                to: w.tutor,
                token_id: id(3),
            }
            .encode_log_data(),
            BadgeClaimed {
                tokenId: id(3),
                sessionId: session,
                holder: w.tutor,
                role: Role::Tutor as u8,
            }
            .encode_log_data(),
        ]
    );

    let view = badges.sender(w.stranger);
    assert_eq!(view.badge(id(2)).motsu_unwrap(), (session, 1));
    assert_eq!(view.badge(id(3)).motsu_unwrap(), (session, 2));
    assert_eq!(view.claimed(session), (id(2), id(3)));
    assert_eq!(view.owner_of(id(2)).motsu_unwrap(), w.student);
    assert_eq!(view.owner_of(id(3)).motsu_unwrap(), w.tutor);
    assert_eq!(view.balance_of(w.student).motsu_unwrap(), id(1));
    assert_eq!(view.balance_of(w.tutor).motsu_unwrap(), id(1));
}

/// `who`, the party with `role`, claims for `session` again: `BadgeAlreadyClaimed`, naming
/// its badge `token_id`.
fn already_claimed(
    badges: &Contract<Badges>,
    who: Address,
    session: U256,
    role: Role,
    token_id: U256,
) {
    assert_reverts(
        badges,
        BadgeAlreadyClaimed {
            sessionId: session,
            role: role as u8,
            tokenId: token_id,
        },
        || badges.sender(who).claim(session),
    );
}

#[motsu::test]
fn claim_twice_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = World::new(&escrow, &token, &badges);
    let session = w.held();
    assert_eq!(w.claim(w.tutor, session), id(3));
    already_claimed(&badges, w.tutor, session, Role::Tutor, id(3));
    assert_eq!(w.claim(w.student, session), id(2));
    already_claimed(&badges, w.tutor, session, Role::Tutor, id(3));
    already_claimed(&badges, w.student, session, Role::Student, id(2));
    // One badge each, nothing more.
    let view = badges.sender(w.stranger);
    assert_eq!(view.balance_of(w.student).motsu_unwrap(), id(1));
    assert_eq!(view.balance_of(w.tutor).motsu_unwrap(), id(1));
    assert_eq!(view.claimed(session), (id(2), id(3)));
}

#[motsu::test]
fn claim_after_giving_the_badge_away_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = World::new(&escrow, &token, &badges);
    let session = w.held();
    let badge = w.claim(w.student, session);
    assert_eq!(badge, id(2));
    badges
        .sender(w.student)
        .transfer_from(w.student, w.stranger, badge)
        .motsu_unwrap();
    already_claimed(&badges, w.student, session, Role::Student, badge);
    // No way back to "no owner" (which would free the id for a second claim): ERC-721
    // refuses a transfer to the zero address, and there is no burn.
    assert_reverts(
        &badges,
        erc721::ERC721InvalidReceiver {
            receiver: Address::ZERO,
        },
        || {
            badges
                .sender(w.stranger)
                .transfer_from(w.stranger, Address::ZERO, badge)
        },
    );
    already_claimed(&badges, w.student, session, Role::Student, badge);
    // Given back and away again: still claimed, still the same badge.
    badges
        .sender(w.stranger)
        .transfer_from(w.stranger, w.tutor, badge)
        .motsu_unwrap();
    already_claimed(&badges, w.student, session, Role::Student, badge);
    let view = badges.sender(w.stranger);
    assert_eq!(view.claimed(session), (badge, U256::ZERO));
    assert_eq!(view.badge(badge).motsu_unwrap(), (session, 1));
    assert_eq!(view.balance_of(w.student).motsu_unwrap(), U256::ZERO);
    // Holding the student's badge is not the tutor's claim: the tutor still has one.
    assert_eq!(w.claim(w.tutor, session), id(3));
    assert_eq!(view.balance_of(w.tutor).motsu_unwrap(), id(2));
}

#[motsu::test]
fn claim_for_each_session_mints_separate_badges(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = World::new(&escrow, &token, &badges);
    let first = w.held();
    let second = w.held();
    assert_eq!((first, second), (id(1), id(2)));
    // Claimed out of order: ids follow the session, not the order of claims.
    assert_eq!(w.claim(w.student, second), id(4));
    assert_eq!(w.claim(w.student, first), id(2));
    assert_eq!(w.claim(w.tutor, second), id(5));
    let view = badges.sender(w.stranger);
    assert_eq!(view.badge(id(4)).motsu_unwrap(), (second, 1));
    assert_eq!(view.badge(id(2)).motsu_unwrap(), (first, 1));
    assert_eq!(view.badge(id(5)).motsu_unwrap(), (second, 2));
    assert_eq!(view.claimed(first), (id(2), U256::ZERO));
    assert_eq!(view.claimed(second), (id(4), id(5)));
    assert_eq!(view.balance_of(w.student).motsu_unwrap(), id(2));
}

#[motsu::test]
fn claimed_reports_only_minted_badges(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = World::new(&escrow, &token, &badges);
    let session = w.held();
    let view = badges.sender(w.stranger);
    assert_eq!(view.claimed(session), (U256::ZERO, U256::ZERO));
    w.claim(w.student, session);
    assert_eq!(view.claimed(session), (id(2), U256::ZERO));
    // Sessions without badges, also past `SESSION_ID_END`, where twice the id wraps onto
    // the minted id 2 (in 64 bits, or in 256).
    for other in [
        id(0),
        id(2),
        SESSION_ID_END + id(1),
        (U256::from(1) << 255) + id(1),
        U256::MAX,
    ] {
        assert_eq!(view.claimed(other), (U256::ZERO, U256::ZERO), "{other}");
    }
}

#[motsu::test]
fn transfer_moves_the_badge_and_keeps_its_record(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = World::new(&escrow, &token, &badges);
    let session = w.held();
    let badge = w.claim(w.tutor, session);
    assert_eq!(badge, id(3));
    let ((), events) = with_events(&badges, || {
        badges
            .sender(w.tutor)
            .safe_transfer_from(w.tutor, w.stranger, badge)
            .motsu_unwrap()
    });
    assert_eq!(
        events,
        [Transfer {
            from: w.tutor,
            to: w.stranger,
            token_id: badge,
        }
        .encode_log_data()]
    );
    let view = badges.sender(w.stranger);
    assert_eq!(view.owner_of(badge).motsu_unwrap(), w.stranger);
    assert_eq!(view.balance_of(w.tutor).motsu_unwrap(), U256::ZERO);
    assert_eq!(
        view.badge(badge).motsu_unwrap(),
        (session, Role::Tutor as u8)
    );
    assert_eq!(view.claimed(session), (U256::ZERO, badge));
}

#[motsu::test]
fn transfer_by_non_holder_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = World::new(&escrow, &token, &badges);
    let badge = w.claim(w.student, w.held());
    assert_reverts(
        &badges,
        erc721::ERC721InsufficientApproval {
            operator: w.stranger,
            token_id: badge,
        },
        || {
            badges
                .sender(w.stranger)
                .transfer_from(w.student, w.stranger, badge)
        },
    );
}

#[motsu::test]
fn token_uri_is_base_uri_and_decimal_id(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = World::new(&escrow, &token, &badges);
    let session = w.held();
    w.claim(w.student, session);
    let badge = w.claim(w.tutor, session);
    assert_eq!(
        badges.sender(w.stranger).token_uri(badge).motsu_unwrap(),
        alloc::format!("{BASE_URI}3")
    );
    assert_eq!(badges.sender(w.stranger).name(), NAME);
    assert_eq!(badges.sender(w.stranger).symbol(), SYMBOL);
}

#[motsu::test]
fn token_uri_with_empty_base_uri_is_empty(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = world_with_base_uri(&escrow, &token, &badges, "");
    let badge = w.claim(w.student, w.held());
    assert_eq!(badges.sender(w.student).token_uri(badge).motsu_unwrap(), "");
}

#[motsu::test]
fn token_uri_of_unminted_token_rejected(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = World::new(&escrow, &token, &badges);
    assert_reverts(
        &badges,
        erc721::ERC721NonexistentToken { token_id: id(1) },
        || badges.sender(w.student).token_uri(id(1)),
    );
    let session = w.held();
    w.claim(w.student, session);
    // Session 0's ids (no such session), the tutor's id for session 1 (not claimed) and
    // session 2's (no such session yet).
    for unminted in [id(0), id(1), id(3), id(4), id(5)] {
        assert_reverts(
            &badges,
            erc721::ERC721NonexistentToken { token_id: unminted },
            || badges.sender(w.stranger).token_uri(unminted),
        );
        assert_reverts(
            &badges,
            erc721::ERC721NonexistentToken { token_id: unminted },
            || badges.sender(w.stranger).badge(unminted),
        );
    }
}

#[test]
fn push_decimal_writes_base_ten() {
    for (value, text) in [
        (0, "0"),
        (7, "7"),
        (10, "10"),
        (1_234_567_890, "1234567890"),
        (u64::MAX, "18446744073709551615"),
    ] {
        let mut out = b"x/".to_vec();
        push_decimal(&mut out, value);
        assert_eq!(out, alloc::format!("x/{text}").into_bytes());
    }
}

proptest::proptest! {
    /// `tokenURI`'s formatter agrees with Rust's for every id.
    #[test]
    fn push_decimal_matches_rusts_formatting(value: u64) {
        let mut out = Vec::new();
        push_decimal(&mut out, value);
        proptest::prop_assert_eq!(out, alloc::format!("{value}").into_bytes());
    }
}

/// An escrow stand-in answering an eligible Ended session for every id, so that the
/// badges contract's own bound on session ids is what refuses a huge one (the real
/// escrow refuses it first, as an unknown session).
#[storage]
#[entrypoint]
pub struct AnyEscrow {
    student: StorageAddress,
    tutor: StorageAddress,
    token: StorageAddress,
}

#[public]
impl AnyEscrow {
    pub fn init(&mut self, student: Address, tutor: Address, token: Address) {
        self.student.set(student);
        self.tutor.set(tutor);
        self.token.set(token);
    }

    pub fn session(&self, _id: U256) -> minuto_escrow::SessionView {
        minuto_escrow::SessionView {
            student: self.student.get(),
            tutor: self.tutor.get(),
            token: self.token.get(),
            rate: U256::from(10_000u128 * 10u128.pow(18)),
            deposited: U256::from(10_000_000u64),
            withdrawn: U256::ZERO,
            start: 1,
            end: 1 + MIN_DURATION,
            feeBps: 250,
            credentialKind: 0,
            state: 3,
        }
    }
}

#[motsu::test]
fn claim_refuses_session_ids_whose_badge_id_would_wrap(
    escrow: Contract<AnyEscrow>,
    badges: Contract<Badges>,
    admin: Address,
    student: Address,
    tutor: Address,
    token: Address,
) {
    escrow.sender(admin).init(student, tutor, token);
    badges
        .sender(admin)
        .constructor(admin, escrow.address(), MIN_DURATION, BASE_URI.into())
        .motsu_unwrap();
    badges.sender(admin).set_min_billed(token, 1).motsu_unwrap();
    assert_eq!(badges.sender(student).claim(id(1)).motsu_unwrap(), id(2));
    // 2^63 + 2 doubled wraps, in 64 bits, onto 4: session 2's student badge.
    for huge in [SESSION_ID_END, SESSION_ID_END + id(2), U256::MAX] {
        assert_reverts(&badges, BadgeUnknownSession { sessionId: huge }, || {
            badges.sender(student).claim(huge)
        });
    }
    assert_eq!(
        badges.sender(student).claimed(id(2)),
        (U256::ZERO, U256::ZERO)
    );
    assert_eq!(badges.sender(student).claim(id(2)).motsu_unwrap(), id(4));
}
