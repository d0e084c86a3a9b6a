//! Finding 1 of the contracts audit (reputation for free) and the admin rules: a session
//! must have billed a minimum value in its token, set per token by the admin; the admin
//! role moves in two steps; the escrow must hold code.

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolEvent;
use motsu::prelude::*;

use super::*;

#[motsu::test]
fn rate_rejects_a_dust_rate_session_however_long_it_ran(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    // The audit's reproduction: rate 1 (10^-18 base unit a second), deposit 1.
    let id = w.ended_at_rate(1, 1, 10 * MIN_DURATION);
    assert_reverts(
        &ratings,
        RatingTooLittleBilled {
            sessionId: id,
            billed: 0,
            minBilled: MIN_BILLED,
        },
        || {
            ratings
                .sender(w.student)
                .rate(id, 5, cid_hash(), CID.into())
        },
    );
}

#[motsu::test]
fn rate_needs_the_floor_billed_in_full(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    // A MIN_DURATION session at RATE bills exactly 3,000,000 base units.
    let id = w.held();
    ratings
        .sender(w.admin)
        .set_min_billed(token.address(), 3_000_001)
        .motsu_unwrap();
    assert_reverts(
        &ratings,
        RatingTooLittleBilled {
            sessionId: id,
            billed: 3_000_000,
            minBilled: 3_000_001,
        },
        || {
            ratings
                .sender(w.student)
                .rate(id, 5, cid_hash(), CID.into())
        },
    );
    ratings
        .sender(w.admin)
        .set_min_billed(token.address(), 3_000_000)
        .motsu_unwrap();
    ratings
        .sender(w.student)
        .rate(id, 5, cid_hash(), CID.into())
        .motsu_unwrap();
}

#[motsu::test]
fn rate_rejects_a_session_in_a_token_without_a_floor(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    let id = w.held();
    ratings
        .sender(w.admin)
        .set_min_billed(token.address(), 0)
        .motsu_unwrap();
    assert_reverts(
        &ratings,
        RatingTokenNotEligible {
            sessionId: id,
            token: token.address(),
        },
        || ratings.sender(w.tutor).rate(id, 5, cid_hash(), CID.into()),
    );
}

#[motsu::test]
fn set_min_billed_is_admin_only_and_emits_the_floor(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    assert_reverts(&ratings, RatingNotAdmin { caller: w.stranger }, || {
        ratings
            .sender(w.stranger)
            .set_min_billed(token.address(), 1)
    });
    let ((), events) = with_events(&ratings, || {
        ratings
            .sender(w.admin)
            .set_min_billed(token.address(), 5)
            .motsu_unwrap()
    });
    assert_eq!(
        events,
        [RatingMinBilledUpdated {
            token: token.address(),
            minBilled: 5
        }
        .encode_log_data()]
    );
    assert_eq!(ratings.sender(w.stranger).min_billed(token.address()), 5);
}

#[motsu::test]
fn admin_hands_over_in_two_steps(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    let w = World::new(&escrow, &token, &ratings);
    let next = Address::random();
    assert_reverts(&ratings, RatingNotAdmin { caller: w.stranger }, || {
        ratings.sender(w.stranger).transfer_admin(next)
    });
    let ((), events) = with_events(&ratings, || {
        ratings.sender(w.admin).transfer_admin(next).motsu_unwrap()
    });
    assert_eq!(
        events,
        [AdminTransferStarted {
            admin: w.admin,
            pendingAdmin: next
        }
        .encode_log_data()]
    );
    assert_eq!(ratings.sender(w.stranger).pending_admin(), next);
    // Named is not yet admin; nobody else may accept.
    assert_reverts(&ratings, RatingNotAdmin { caller: next }, || {
        ratings.sender(next).set_min_billed(token.address(), 1)
    });
    assert_reverts(&ratings, RatingNotAdmin { caller: w.stranger }, || {
        ratings.sender(w.stranger).accept_admin()
    });
    let ((), events) = with_events(&ratings, || {
        ratings.sender(next).accept_admin().motsu_unwrap()
    });
    assert_eq!(
        events,
        [AdminTransferred {
            previousAdmin: w.admin,
            admin: next
        }
        .encode_log_data()]
    );
    assert_eq!(ratings.sender(w.stranger).config().0, next);
    assert_eq!(ratings.sender(w.stranger).pending_admin(), Address::ZERO);
    assert_reverts(&ratings, RatingNotAdmin { caller: w.admin }, || {
        ratings.sender(w.admin).set_min_billed(token.address(), 1)
    });
}

#[motsu::test]
fn constructor_rejects_an_escrow_without_code(ratings: Contract<Ratings>, admin: Address) {
    for escrow in [Address::ZERO, Address::random()] {
        assert_reverts(&ratings, RatingInvalidAddress { account: escrow }, || {
            ratings
                .sender(admin)
                .constructor(admin, escrow, MIN_DURATION, WINDOW)
        });
    }
    let _ = U256::ZERO;
}
