//! The deployed program's hand-written router (`dispatch`), driven with alloy's encoding
//! of `abi/IRatings.sol`: every function, sent to two ratings contracts in the same state,
//! one through `dispatch` and one through the SDK's `#[public]` router
//! ([`minuto_test_support::Twins`]), must answer with the same result or revert data and
//! the same events, and with what the interface and the rules say.

use alloc::vec::Vec;
use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_sol_types::{sol, SolCall, SolError, SolValue};
use motsu::prelude::*;

use super::*;

mod abi {
    super::sol!(
        #![sol(all_derives)]
        "../../abi/IRatings.sol"
    );
}
use abi::IRatings as I;
use minuto_test_support::{call, call_with_value, reverted, Dispatch, Twins};

impl Dispatch for Ratings {
    fn dispatch(&mut self, input: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
        Ratings::dispatch(self, input)
    }
}

/// The constructor's call data.
fn constructor(admin: Address, escrow: Address, min_duration: u64, window: u64) -> Vec<u8> {
    let mut data = stylus_sdk::abi::CONSTRUCTOR_SELECTOR.to_be_bytes().to_vec();
    data.extend((admin, escrow, min_duration, window).abi_encode_params());
    data
}

/// `rate(session_id, score, keccak256(cid), cid)`.
fn rate(session_id: U256, score: u8, cid: &str) -> I::rateCall {
    I::rateCall {
        session_id,
        score,
        content_hash: keccak256(cid),
        cid: cid.into(),
    }
}

#[motsu::test]
fn dispatch_rejects_attached_value(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
) {
    // Audit L2: no function is payable; value would be stuck in the contract.
    let w = World::new(&escrow, &token, &ratings);
    let id = w.held();
    let one = U256::from(1);
    assert_eq!(
        call_with_value(&ratings, w.student, one, rate(id, 5, CID)),
        Err(Vec::new())
    );
    let settings = I::setConfigCall {
        min_duration: 1,
        rating_window: 1,
    };
    assert_eq!(
        call_with_value(&ratings, w.admin, one, settings),
        Err(Vec::new())
    );
    assert_eq!(
        call_with_value(&ratings, w.stranger, one, I::configCall {}),
        Err(Vec::new())
    );
    // Nothing happened; the same calls without value go through.
    assert_eq!(
        call(&ratings, w.stranger, I::configCall {}).unwrap()._2,
        MIN_DURATION
    );
    call(&ratings, w.student, rate(id, 5, CID)).unwrap();
}

#[motsu::test]
fn dispatch_answers_every_function_as_the_sdk_router_does(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    twin: Contract<Ratings>,
) {
    let t = Twins::new(&ratings, &twin);
    // Both deployed through their routers, by the same calls; the refusals first.
    let w = World::deploying(&escrow, &token, &ratings, |_, admin, escrow| {
        let typed = |data: &[u8], error: Vec<u8>| assert_eq!(t.raw(admin, data), Err(error));
        typed(
            &constructor(admin, Address::ZERO, MIN_DURATION, WINDOW),
            RatingInvalidAddress {
                account: Address::ZERO,
            }
            .abi_encode(),
        );
        typed(
            &constructor(Address::ZERO, escrow, MIN_DURATION, WINDOW),
            RatingInvalidAddress {
                account: Address::ZERO,
            }
            .abi_encode(),
        );
        typed(
            &constructor(admin, escrow, MIN_DURATION, 0),
            RatingInvalidConfig {
                minDuration: MIN_DURATION,
                ratingWindow: 0,
            }
            .abi_encode(),
        );
        // A `uint64` with a high byte set.
        let mut malformed = constructor(admin, escrow, MIN_DURATION, WINDOW);
        malformed[4 + 2 * 32] = 1;
        assert_eq!(t.raw(admin, &malformed), Err(Vec::new()));
        let good = constructor(admin, escrow, MIN_DURATION, WINDOW);
        assert_eq!(t.raw(admin, &good), Ok(Vec::new()));
        // Only once.
        assert_eq!(t.raw(admin, &good), Err(Vec::new()));
    });
    // The world set the token's floor on `ratings` only: both, through the routers.
    let floor = |min_billed| I::setMinBilledCall {
        token: token.address(),
        min_billed,
    };
    t.call(w.admin, floor(MIN_BILLED)).unwrap();
    let (admin, student, tutor, s) = (w.admin, w.student, w.tutor, w.stranger);

    let c = t.call(s, I::configCall {}).unwrap();
    assert_eq!(
        (c._0, c._1, c._2, c._3),
        (admin, escrow.address(), MIN_DURATION, WINDOW)
    );
    let min_billed = |token| t.call(s, I::minBilledCall { token }).unwrap()._0;
    assert_eq!(min_billed(token.address()), MIN_BILLED);
    assert_eq!(min_billed(s), 0);
    assert_eq!(t.call(s, I::pendingAdminCall {}).unwrap()._0, Address::ZERO);

    // Ratings: accepted, then every refusal `rate` has before its storage writes.
    let id = w.held();
    let other = "bafkreib5hbsmvwvkpnrqgz5jhqlmbvpxlnqm7jh3cyrgdorkpfxmkdhtfe";
    t.call(student, rate(id, 5, CID)).unwrap();
    t.call(tutor, rate(id, 3, other)).unwrap();
    let refused = |who, call: I::rateCall, error: Vec<u8>| {
        assert_eq!(reverted(t.call(who, call)), error);
    };
    refused(
        student,
        rate(id, 5, CID),
        RatingAlreadyRated {
            sessionId: id,
            rater: student,
        }
        .abi_encode(),
    );
    refused(
        s,
        rate(id, 5, CID),
        RatingNotAParty {
            sessionId: id,
            caller: s,
        }
        .abi_encode(),
    );
    for score in [0, 6, u8::MAX] {
        refused(
            student,
            rate(id, score, CID),
            RatingInvalidScore { score }.abi_encode(),
        );
    }
    refused(
        student,
        rate(id, 5, ""),
        RatingInvalidCid { length: U256::ZERO }.abi_encode(),
    );
    let long = "x".repeat(MAX_CID_LEN + 1);
    refused(
        student,
        rate(id, 5, &long),
        RatingInvalidCid {
            length: U256::from(MAX_CID_LEN + 1),
        }
        .abi_encode(),
    );
    let mismatch = I::rateCall {
        content_hash: B256::repeat_byte(7),
        ..rate(id, 5, CID)
    };
    refused(
        student,
        mismatch,
        RatingHashMismatch {
            contentHash: B256::repeat_byte(7),
            cidHash: cid_hash(),
        }
        .abi_encode(),
    );
    let unknown = U256::from(999);
    refused(
        student,
        rate(unknown, 5, CID),
        RatingUnknownSession { sessionId: unknown }.abi_encode(),
    );
    let active = w.start(DEPOSIT);
    refused(
        student,
        rate(active, 5, CID),
        RatingSessionNotEnded {
            sessionId: active,
            state: ACTIVE,
        }
        .abi_encode(),
    );
    let short = w.ended(DEPOSIT, MIN_DURATION - 1);
    refused(
        tutor,
        rate(short, 5, CID),
        RatingTooShort {
            sessionId: short,
            duration: MIN_DURATION - 1,
            minDuration: MIN_DURATION,
        }
        .abi_encode(),
    );
    let late = w.held();
    let end = escrow.sender(s).session(late).motsu_unwrap().end;
    clock::advance(WINDOW + 1);
    refused(
        tutor,
        rate(late, 5, CID),
        RatingWindowClosed {
            sessionId: late,
            deadline: end + WINDOW,
        }
        .abi_encode(),
    );

    // What the ratings left, distinct per field so that a misrouted view shows.
    let a = t.call(s, I::aggregatesCall { account: tutor }).unwrap();
    assert_eq!((a._0, a._1, a._2, a._3), (1, 5, 0, 0));
    let a = t.call(s, I::aggregatesCall { account: student }).unwrap();
    assert_eq!((a._0, a._1, a._2, a._3), (0, 0, 1, 3));
    let r = t.call(s, I::sessionRatingsCall { session_id: id }).unwrap();
    assert_eq!(
        (r._0, r._1, r._2, r._3),
        (5, cid_hash(), 3, keccak256(other))
    );
    let r = t
        .call(s, I::sessionRatingsCall { session_id: late })
        .unwrap();
    assert_eq!((r._0, r._1, r._2, r._3), (0, B256::ZERO, 0, B256::ZERO));

    // Settings.
    let settings = |min_duration, rating_window| I::setConfigCall {
        min_duration,
        rating_window,
    };
    refused_admin(&t, s, settings(60, 120));
    assert_eq!(
        reverted(t.call(admin, settings(60, 0))),
        RatingInvalidConfig {
            minDuration: 60,
            ratingWindow: 0
        }
        .abi_encode()
    );
    t.call(admin, settings(60, 120)).unwrap();
    let c = t.call(s, I::configCall {}).unwrap();
    assert_eq!((c._2, c._3), (60, 120));
    refused_admin(&t, s, floor(1));
    t.call(admin, floor(7)).unwrap();
    assert_eq!(min_billed(token.address()), 7);

    // The admin role, in two steps.
    refused_admin(&t, s, I::transferAdminCall { new_admin: s });
    t.call(admin, I::transferAdminCall { new_admin: tutor })
        .unwrap();
    assert_eq!(t.call(s, I::pendingAdminCall {}).unwrap()._0, tutor);
    refused_admin(&t, s, I::acceptAdminCall {});
    t.call(tutor, I::acceptAdminCall {}).unwrap();
    assert_eq!(t.call(s, I::configCall {}).unwrap()._0, tutor);
    assert_eq!(t.call(s, I::pendingAdminCall {}).unwrap()._0, Address::ZERO);

    // Malformed calls revert with nothing, on both routers.
    let fresh = w.held();
    let mut calldata = rate(fresh, 5, CID).abi_encode();
    // A `uint8` with a high byte set.
    calldata[4 + 32 + 30] = 1;
    assert_eq!(t.raw(student, &calldata), Err(Vec::new()));
    let calldata = rate(fresh, 5, CID).abi_encode();
    assert_eq!(
        t.raw(student, &calldata[..calldata.len() - 1]),
        Err(Vec::new())
    );
    // A CID that is not UTF-8, with its bytes' hash: refused as the SDK refuses it.
    let mut calldata = rate(fresh, 5, "ab").abi_encode();
    let at = calldata.len() - 32;
    calldata[at..at + 2].copy_from_slice(&[0xff, 0xfe]);
    calldata[4 + 2 * 32..4 + 3 * 32].copy_from_slice(keccak256([0xff, 0xfe]).as_slice());
    assert_eq!(t.raw(student, &calldata), Err(Vec::new()));
    for unknown in [&[0xde, 0xad, 0xbe, 0xef][..], &[0xde], &[]] {
        assert_eq!(t.raw(s, unknown), Err(Vec::new()));
    }
    // None of them rated.
    let r = t
        .call(s, I::sessionRatingsCall { session_id: fresh })
        .unwrap();
    assert_eq!(r._0, 0);

    // Every function of the interface ran on both routers.
    t.assert_all_answered(I::IRatingsCalls::SELECTORS);
}

/// `call` by `who`, not the admin, fails with `RatingNotAdmin(who)` on both routers.
#[track_caller]
fn refused_admin<C: SolCall>(t: &Twins<'_, Ratings>, who: Address, call: C) {
    assert_eq!(
        reverted(t.call(who, call)),
        RatingNotAdmin { caller: who }.abi_encode()
    );
}
