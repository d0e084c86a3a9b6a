//! The deployed program's hand-written router (`dispatch`), driven with alloy's encoding
//! of `abi/IBadges.sol`: every function decodes its arguments, runs, and encodes its
//! result or typed error as the interface says.

use alloc::vec::Vec;
use alloy_primitives::{Address, U256};
use alloy_sol_types::{sol, SolCall, SolValue};
use motsu::prelude::*;

use super::*;

mod abi {
    super::sol!(
        #![sol(all_derives)]
        "../../abi/IBadges.sol"
    );
}
use abi::IBadges as I;
use minuto_test_support::{call, call_with_value, reverted, Dispatch};

impl Dispatch for Badges {
    fn dispatch(&mut self, input: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
        Badges::dispatch(self, input)
    }
}

#[motsu::test]
fn dispatch_rejects_attached_value(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    // Audit L2: no function is payable; value would be stuck in the contract.
    let w = World::new(&escrow, &token, &badges);
    let id = w.held();
    let one = U256::from(1);
    assert_eq!(
        call_with_value(&badges, w.student, one, I::claimCall { session_id: id }),
        Err(Vec::new())
    );
    assert_eq!(
        call_with_value(
            &badges,
            w.admin,
            one,
            I::setMinDurationCall { min_duration: 1 }
        ),
        Err(Vec::new())
    );
    assert_eq!(
        call_with_value(&badges, w.stranger, one, I::configCall {}),
        Err(Vec::new())
    );
    // Nothing happened; the same calls without value go through.
    assert_eq!(
        call(&badges, w.student, I::claimedCall { session_id: id })
            .unwrap()
            ._0,
        U256::ZERO
    );
    assert_eq!(
        call(&badges, w.stranger, I::configCall {}).unwrap()._2,
        MIN_DURATION
    );
    call(&badges, w.student, I::claimCall { session_id: id }).unwrap();
}

#[motsu::test]
fn dispatch_routes_every_function_as_the_interface_declares(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
    fresh: Contract<Badges>,
) {
    // The constructor through the router, on a fresh badges contract.
    let (admin, escrow_address) = (Address::random(), escrow.address());
    let mut ctor = stylus_sdk::abi::CONSTRUCTOR_SELECTOR.to_be_bytes().to_vec();
    ctor.extend((admin, escrow_address, MIN_DURATION, BASE_URI.to_string()).abi_encode_params());
    assert_eq!(fresh.sender(admin).dispatch(&ctor), Ok(Vec::new()));
    assert_eq!(fresh.sender(admin).dispatch(&ctor), Err(Vec::new()));
    assert_eq!(call(&fresh, admin, I::configCall {}).unwrap()._0, admin);

    let w = World::new(&escrow, &token, &badges);
    let (admin, student, tutor) = (w.admin, w.student, w.tutor);
    call(
        &badges,
        admin,
        I::setMinBilledCall {
            token: token.address(),
            min_billed: MIN_BILLED,
        },
    )
    .unwrap();
    assert_eq!(
        call(
            &badges,
            tutor,
            I::minBilledCall {
                token: token.address()
            }
        )
        .unwrap()
        ._0,
        MIN_BILLED
    );
    call(
        &badges,
        admin,
        I::setMinDurationCall {
            min_duration: MIN_DURATION,
        },
    )
    .unwrap();
    let cfg = call(&badges, tutor, I::configCall {}).unwrap();
    assert_eq!(
        (cfg._0, cfg._1, cfg._2),
        (admin, escrow.address(), MIN_DURATION)
    );

    let id = w.held();
    let badge = call(&badges, student, I::claimCall { session_id: id })
        .unwrap()
        ._0;
    let err = reverted(call(&badges, student, I::claimCall { session_id: id }));
    assert_eq!(
        err,
        Vec::<u8>::from(Error::from(BadgeAlreadyClaimed {
            sessionId: id,
            role: 1,
            tokenId: badge
        }))
    );
    let b = call(&badges, tutor, I::badgeCall { token_id: badge }).unwrap();
    assert_eq!((b._0, b._1), (id, 1));
    let c = call(&badges, tutor, I::claimedCall { session_id: id }).unwrap();
    assert_eq!((c._0, c._1), (badge, U256::ZERO));
    assert_eq!(
        call(&badges, tutor, I::balanceOfCall { owner: student })
            .unwrap()
            .balance,
        U256::from(1)
    );
    assert_eq!(
        call(&badges, tutor, I::ownerOfCall { tokenId: badge })
            .unwrap()
            .owner,
        student
    );
    assert_eq!(call(&badges, tutor, I::nameCall {}).unwrap()._0, NAME);
    assert_eq!(call(&badges, tutor, I::symbolCall {}).unwrap()._0, SYMBOL);
    assert_eq!(
        call(&badges, tutor, I::tokenURICall { tokenId: badge })
            .unwrap()
            .uri,
        alloc::format!("{BASE_URI}{badge}")
    );
    assert!(
        call(
            &badges,
            tutor,
            I::supportsInterfaceCall {
                interfaceId: SUPPORTED_INTERFACES[1].into()
            }
        )
        .unwrap()
        .supported
    );
    assert!(
        !call(
            &badges,
            tutor,
            I::supportsInterfaceCall {
                interfaceId: [1, 2, 3, 4].into()
            }
        )
        .unwrap()
        .supported
    );

    call(
        &badges,
        student,
        I::approveCall {
            to: tutor,
            tokenId: badge,
        },
    )
    .unwrap();
    assert_eq!(
        call(&badges, tutor, I::getApprovedCall { tokenId: badge })
            .unwrap()
            .operator,
        tutor
    );
    call(
        &badges,
        student,
        I::setApprovalForAllCall {
            operator: tutor,
            approved: true,
        },
    )
    .unwrap();
    assert!(
        call(
            &badges,
            tutor,
            I::isApprovedForAllCall {
                owner: student,
                operator: tutor
            }
        )
        .unwrap()
        .approved
    );
    call(
        &badges,
        tutor,
        I::transferFromCall {
            from: student,
            to: tutor,
            tokenId: badge,
        },
    )
    .unwrap();
    call(
        &badges,
        tutor,
        I::safeTransferFrom_1Call {
            from: tutor,
            to: student,
            tokenId: badge,
        },
    )
    .unwrap();
    call(
        &badges,
        student,
        I::safeTransferFrom_0Call {
            from: student,
            to: tutor,
            tokenId: badge,
            data: vec![1u8, 2].into(),
        },
    )
    .unwrap();
    assert_eq!(
        call(&badges, tutor, I::ownerOfCall { tokenId: badge })
            .unwrap()
            .owner,
        tutor
    );
    // An OpenZeppelin error comes back as its encoding.
    let err = reverted(call(
        &badges,
        tutor,
        I::ownerOfCall {
            tokenId: U256::from(99),
        },
    ));
    assert_eq!(
        err,
        I::ERC721NonexistentToken {
            tokenId: U256::from(99)
        }
        .abi_encode()
    );

    call(&badges, admin, I::transferAdminCall { new_admin: tutor }).unwrap();
    assert_eq!(
        call(&badges, admin, I::pendingAdminCall {}).unwrap()._0,
        tutor
    );
    call(&badges, tutor, I::acceptAdminCall {}).unwrap();
    assert_eq!(call(&badges, admin, I::configCall {}).unwrap()._0, tutor);

    // Unknown selectors and malformed arguments revert with nothing.
    assert_eq!(
        badges.sender(tutor).dispatch(&[0xde, 0xad, 0xbe, 0xef]),
        Err(Vec::new())
    );
    let mut data = I::supportsInterfaceCall {
        interfaceId: [1, 2, 3, 4].into(),
    }
    .abi_encode();
    data[35] = 1;
    assert_eq!(badges.sender(tutor).dispatch(&data), Err(Vec::new()));
}
