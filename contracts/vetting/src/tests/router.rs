//! The deployed program's hand-written router (`dispatch`), driven with alloy's encoding
//! of `abi/IVetting.sol`: every function decodes its arguments, runs, and encodes its
//! result or typed error as the interface says.

use alloy_primitives::{Address, U256};
use alloy_sol_types::{sol, SolCall, SolError, SolValue};
use motsu::prelude::*;

use super::*;

mod abi {
    super::sol!(
        #![sol(all_derives)]
        "../../abi/IVetting.sol"
    );
}
use abi::IVetting as I;
use minuto_test_support::{assert_routes_all, call, call_with_value, reverted, Dispatch};

impl Dispatch for Vetting {
    fn dispatch(&mut self, input: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
        Vetting::dispatch(self, input)
    }
}

#[motsu::test]
fn dispatch_rejects_attached_value(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    // No function is payable: value would be stuck in the contract.
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    w.eligible();
    let one = U256::from(1);
    let apply = I::applyForCall {
        kind: KIND,
        evidence_cid: CID.into(),
    };
    assert_eq!(
        call_with_value(&vetting, w.tutor, one, apply.clone()),
        Err(Vec::new())
    );
    assert_eq!(
        call_with_value(&vetting, w.stranger, one, I::configCall {}),
        Err(Vec::new())
    );
    // Nothing happened; the same call without value goes through.
    assert_eq!(call(&vetting, w.tutor, apply).unwrap()._0, id(1));
}

#[motsu::test]
fn dispatch_refuses_malformed_calls(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    let mut calldata = I::setQuorumCall { quorum: 1 }.abi_encode();
    // A uint32 with a high byte set.
    calldata[4 + 27] = 1;
    assert_eq!(vetting.sender(w.admin).dispatch(&calldata), Err(Vec::new()));
    // A string cut short.
    let apply = I::applyForCall {
        kind: KIND,
        evidence_cid: CID.into(),
    }
    .abi_encode();
    assert_eq!(
        vetting.sender(w.tutor).dispatch(&apply[..apply.len() - 1]),
        Err(Vec::new())
    );
    // Unknown selector, and no selector at all.
    assert_eq!(
        vetting.sender(w.admin).dispatch(&[0xde, 0xad, 0xbe, 0xef]),
        Err(Vec::new())
    );
    assert_eq!(vetting.sender(w.admin).dispatch(&[0xde]), Err(Vec::new()));
    assert_eq!(vetting.sender(w.stranger).config().5, 2);
}

#[motsu::test]
fn dispatch_routes_every_function_as_the_interface_declares(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
    fresh: Contract<Vetting>,
) {
    let w = World::bare(&escrow, &token, &ratings, &credentials, &vetting);
    let (admin, tutor, s) = (w.admin, w.tutor, w.stranger);
    let [r0, r1, r2] = w.reviewers;

    // The constructor through the router, on a fresh contract; only once.
    let mut ctor = stylus_sdk::abi::CONSTRUCTOR_SELECTOR.to_be_bytes().to_vec();
    ctor.extend(
        (
            admin,
            credentials.address(),
            ratings.address(),
            PERIOD,
            COOLDOWN,
        )
            .abi_encode_params(),
    );
    assert_eq!(fresh.sender(admin).dispatch(&ctor), Ok(Vec::new()));
    assert_eq!(fresh.sender(admin).dispatch(&ctor), Err(Vec::new()));
    let c = call(&fresh, s, I::configCall {}).unwrap();
    assert_eq!(
        (c._0, c._1, c._2, c._3, c._4, c._5, c._6),
        (
            admin,
            credentials.address(),
            ratings.address(),
            PERIOD,
            COOLDOWN,
            0,
            0
        )
    );

    for r in [r0, r1, r2] {
        call(&vetting, admin, I::addReviewerCall { reviewer: r }).unwrap();
    }
    assert!(
        call(&vetting, s, I::isReviewerCall { account: r2 })
            .unwrap()
            ._0
    );
    call(&vetting, admin, I::removeReviewerCall { reviewer: r2 }).unwrap();
    assert!(
        !call(&vetting, s, I::isReviewerCall { account: r2 })
            .unwrap()
            ._0
    );
    call(&vetting, admin, I::setQuorumCall { quorum: 2 }).unwrap();
    assert_eq!(
        reverted(call(&vetting, admin, I::setQuorumCall { quorum: 3 })),
        VettingInvalidQuorum {
            quorum: 3,
            reviewers: 2
        }
        .abi_encode()
    );
    call(
        &vetting,
        admin,
        I::setKindCall {
            kind: KIND,
            min_rated_sessions: MIN_RATED,
            min_average: MIN_AVERAGE,
            term: TERM,
            uri: URI.into(),
        },
    )
    .unwrap();
    let k = call(&vetting, s, I::kindRuleCall { kind: KIND }).unwrap();
    assert_eq!(
        (k._0, k._1, k._2, k._3),
        (MIN_RATED, MIN_AVERAGE, TERM, URI.to_string())
    );
    call(
        &vetting,
        admin,
        I::setConfigCall {
            voting_period: PERIOD,
            cooldown: COOLDOWN,
        },
    )
    .unwrap();

    // A typed error through the router.
    assert_eq!(
        reverted(call(
            &vetting,
            tutor,
            I::applyForCall {
                kind: KIND,
                evidence_cid: CID.into()
            }
        )),
        VettingTooFewRatings {
            tutor,
            kind: KIND,
            rated: 0,
            minRated: MIN_RATED
        }
        .abi_encode()
    );
    w.eligible();
    let app = call(
        &vetting,
        tutor,
        I::applyForCall {
            kind: KIND,
            evidence_cid: CID.into(),
        },
    )
    .unwrap()
    ._0;
    assert_eq!(app, id(1));
    let st = call(&vetting, s, I::standingCall { tutor, kind: KIND }).unwrap();
    assert_eq!((st._0, st._1), (app, 0));
    for r in [r0, r1] {
        call(
            &vetting,
            r,
            I::voteCall {
                application_id: app,
                approve: true,
                reason_cid: CID.into(),
            },
        )
        .unwrap();
    }
    assert_eq!(
        call(
            &vetting,
            s,
            I::voteOfCall {
                application_id: app,
                reviewer: r1
            }
        )
        .unwrap()
        ._0,
        1
    );
    let a = call(
        &vetting,
        s,
        I::applicationCall {
            application_id: app,
        },
    )
    .unwrap();
    let token_id = U256::from(1);
    assert_eq!(
        (a._0, a._1, a._2, a._3, a._4, a._5, a._6, a._7, a._8),
        (tutor, KIND, 1, 2, 2, 2, 0, T0 + 2 * 300 + PERIOD, token_id)
    );
    let case = call(
        &vetting,
        r0,
        I::proposeRevocationCall {
            token_id,
            reason_cid: CID.into(),
        },
    )
    .unwrap()
    ._0;
    assert_eq!(case, id(2));
    clock::advance(PERIOD + 1);
    call(
        &vetting,
        s,
        I::expireCall {
            application_id: case,
        },
    )
    .unwrap();
    assert_eq!(
        call(
            &vetting,
            s,
            I::applicationCall {
                application_id: case
            }
        )
        .unwrap()
        ._3,
        4
    );

    call(&vetting, admin, I::transferAdminCall { new_admin: tutor }).unwrap();
    assert_eq!(call(&vetting, s, I::pendingAdminCall {}).unwrap()._0, tutor);
    call(&vetting, tutor, I::acceptAdminCall {}).unwrap();
    assert_eq!(call(&vetting, s, I::configCall {}).unwrap()._0, tutor);
}

#[motsu::test]
fn the_sdk_router_routes_every_function_of_the_interface(vetting: Contract<Vetting>) {
    // The host tests' VM uses the `#[public]` router: it must know the same selectors.
    let selectors = [
        I::applyForCall::SELECTOR,
        I::proposeRevocationCall::SELECTOR,
        I::voteCall::SELECTOR,
        I::expireCall::SELECTOR,
        I::applicationCall::SELECTOR,
        I::voteOfCall::SELECTOR,
        I::standingCall::SELECTOR,
        I::kindRuleCall::SELECTOR,
        I::isReviewerCall::SELECTOR,
        I::configCall::SELECTOR,
        I::addReviewerCall::SELECTOR,
        I::removeReviewerCall::SELECTOR,
        I::setQuorumCall::SELECTOR,
        I::setKindCall::SELECTOR,
        I::setConfigCall::SELECTOR,
        I::pendingAdminCall::SELECTOR,
        I::transferAdminCall::SELECTOR,
        I::acceptAdminCall::SELECTOR,
    ];
    assert_routes_all(&vetting, Address::repeat_byte(1), &selectors);
}
