//! The ABI cannot lie: the hand-written encodings equal alloy's, and the `abi:begin`
//! fragment declares every error the contract returns and every event it emits.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{SolError, SolEvent};
use motsu::prelude::*;

use super::*;

/// One value of every error variant with alloy's encoding of it; the `match` fails to
/// compile when a variant is added and not listed here.
fn every_error() -> Vec<(Error, Vec<u8>)> {
    let (n, a, h) = (
        U256::from(42),
        Address::repeat_byte(0xa1),
        B256::repeat_byte(0xc3),
    );
    macro_rules! pairs {
        ($($e:expr),* $(,)?) => {
            vec![$((Error::from($e), $e.abi_encode())),*]
        };
    }
    let all = pairs![
        RatingInvalidAddress { account: a },
        RatingInvalidConfig {
            minDuration: u64::MAX,
            ratingWindow: u64::MAX - 1
        },
        RatingNotAdmin { caller: a },
        RatingInvalidScore { score: u8::MAX },
        RatingInvalidCid { length: n },
        RatingHashMismatch {
            contentHash: h,
            cidHash: B256::repeat_byte(0xff)
        },
        RatingUnknownSession {
            sessionId: U256::MAX
        },
        RatingSessionNotEnded {
            sessionId: n,
            state: u8::MAX
        },
        RatingTooShort {
            sessionId: n,
            duration: u64::MAX - 1,
            minDuration: u64::MAX
        },
        RatingWindowClosed {
            sessionId: n,
            deadline: u64::MAX
        },
        RatingNotAParty {
            sessionId: n,
            caller: a
        },
        RatingSelfRating {
            sessionId: n,
            rater: a
        },
        RatingAlreadyRated {
            sessionId: n,
            rater: a
        },
        RatingAggregateOverflow { account: a },
        RatingTokenNotEligible {
            sessionId: n,
            token: a
        },
        RatingTooLittleBilled {
            sessionId: n,
            billed: u128::MAX - 1,
            minBilled: u128::MAX
        },
        RatingNoFeePaid { sessionId: n },
    ];
    for (error, _) in &all {
        match error {
            Error::InvalidAddress(_)
            | Error::InvalidConfig(_)
            | Error::NotAdmin(_)
            | Error::InvalidScore(_)
            | Error::InvalidCid(_)
            | Error::HashMismatch(_)
            | Error::UnknownSession(_)
            | Error::SessionNotEnded(_)
            | Error::TooShort(_)
            | Error::WindowClosed(_)
            | Error::NotAParty(_)
            | Error::SelfRating(_)
            | Error::AlreadyRated(_)
            | Error::TokenNotEligible(_)
            | Error::TooLittleBilled(_)
            | Error::NoFeePaid(_)
            | Error::AggregateOverflow(_) => {}
        }
    }
    all
}

#[test]
fn errors_encode_as_alloy_does() {
    for (error, expected) in every_error() {
        let name = alloc::format!("{error:?}");
        assert_eq!(Vec::<u8>::from(error), expected, "{name}");
    }
}

/// The declarations between `abi:begin` and `abi:end` in `lib.rs`, as the xtask reads
/// them.
fn fragment() -> &'static str {
    let source = include_str!("../lib.rs");
    // Spelled in two pieces so that the xtask does not take this file for a fragment.
    let begin = source.find(concat!("// abi:", "begin")).unwrap();
    let end = source.find(concat!("// abi:", "end")).unwrap();
    &source[begin..end]
}

#[test]
fn errors_are_all_declared_in_the_abi() {
    for (error, _) in every_error() {
        let name = alloc::format!("{error:?}");
        // `Variant(RatingVariant { .. })`: the Solidity name is the inner type's.
        let solidity = name.split(['(', ' ']).nth(1).unwrap();
        assert!(
            fragment().contains(&alloc::format!("error {solidity}(")),
            "{solidity} is not declared in the abi fragment"
        );
    }
}

#[motsu::test]
fn events_are_all_declared_in_the_abi(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    // Every kind of state change the contract has.
    let w = World::new(&escrow, &token, &ratings);
    let session = w.held();
    w.rate(w.student, session, 5);
    ratings.sender(w.admin).set_config(60, 60).motsu_unwrap();
    ratings
        .sender(w.admin)
        .transfer_admin(w.tutor)
        .motsu_unwrap();
    ratings.sender(w.tutor).accept_admin().motsu_unwrap();

    let declared = [
        Rated::SIGNATURE_HASH,
        RatingConfigUpdated::SIGNATURE_HASH,
        RatingMinBilledUpdated::SIGNATURE_HASH,
        AdminTransferStarted::SIGNATURE_HASH,
        AdminTransferred::SIGNATURE_HASH,
    ];
    let signatures = [
        Rated::SIGNATURE,
        RatingConfigUpdated::SIGNATURE,
        RatingMinBilledUpdated::SIGNATURE,
        AdminTransferStarted::SIGNATURE,
        AdminTransferred::SIGNATURE,
    ];
    for signature in signatures {
        let name = signature.split('(').next().unwrap();
        assert!(fragment().contains(&alloc::format!("event {name}(")));
    }
    let events = ratings.all_events();
    // Deployment (admin, settings, token floor), rating, settings, hand-over.
    assert_eq!(events.len(), 3 + 1 + 1 + 2);
    for event in events {
        assert!(
            declared.contains(&event.topics()[0]),
            "undeclared event {event:?}"
        );
    }
}
