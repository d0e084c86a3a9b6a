//! The ABI cannot lie: the hand-written encodings equal alloy's, and the `abi:begin`
//! fragments declare what the contract really routes, returns, emits and reverts with.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{SolCall, SolError, SolEvent};
use motsu::prelude::*;
use openzeppelin_stylus::token::erc721;

use minuto_test_support::{assert_routes_all, route, view};

use super::*;
use crate::abi::IBadgesInherited as inherited;

#[motsu::test]
fn router_routes_every_declared_inherited_function(badges: Contract<Badges>, alice: Address) {
    assert_routes_all(&badges, alice, inherited::IBadgesInheritedCalls::SELECTORS);
}

#[motsu::test]
fn router_answers_declared_inherited_functions_as_declared(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    let w = World::new(&escrow, &token, &badges);
    let badge = w.claim(w.student, w.held());
    let (s, t) = (w.student, w.tutor);

    assert_eq!(
        view(&badges, s, inherited::balanceOfCall { owner: s }).balance,
        U256::from(1)
    );
    assert_eq!(
        view(&badges, s, inherited::ownerOfCall { tokenId: badge }).owner,
        s
    );
    assert_eq!(view(&badges, s, inherited::nameCall {})._0, NAME);
    assert_eq!(view(&badges, s, inherited::symbolCall {})._0, SYMBOL);
    assert_eq!(
        view(&badges, s, inherited::tokenURICall { tokenId: badge }).uri,
        alloc::format!("{BASE_URI}2")
    );
    assert!(
        view(
            &badges,
            s,
            inherited::supportsInterfaceCall {
                interfaceId: SUPPORTED_INTERFACES[1].into()
            }
        )
        .supported
    );

    // Approvals and a transfer, through the router.
    let approve = inherited::approveCall {
        to: t,
        tokenId: badge,
    }
    .abi_encode();
    assert_eq!(route(&badges, s, &approve).unwrap(), Ok(Vec::new()));
    assert_eq!(
        view(&badges, s, inherited::getApprovedCall { tokenId: badge }).operator,
        t
    );
    let operator = inherited::setApprovalForAllCall {
        operator: t,
        approved: true,
    }
    .abi_encode();
    assert_eq!(route(&badges, s, &operator).unwrap(), Ok(Vec::new()));
    assert!(
        view(
            &badges,
            s,
            inherited::isApprovedForAllCall {
                owner: s,
                operator: t
            }
        )
        .approved
    );
    let transfer = inherited::safeTransferFrom_0Call {
        from: s,
        to: t,
        tokenId: badge,
        data: vec![1].into(),
    }
    .abi_encode();
    assert_eq!(route(&badges, t, &transfer).unwrap(), Ok(Vec::new()));
    let back = inherited::safeTransferFrom_1Call {
        from: t,
        to: s,
        tokenId: badge,
    }
    .abi_encode();
    assert_eq!(route(&badges, t, &back).unwrap(), Ok(Vec::new()));
    let wrong_owner = inherited::transferFromCall {
        from: t,
        to: s,
        tokenId: badge,
    }
    .abi_encode();
    assert_eq!(
        route(&badges, s, &wrong_owner).unwrap(),
        Err(inherited::ERC721IncorrectOwner {
            sender: t,
            tokenId: badge,
            owner: s
        }
        .abi_encode())
    );
}

#[test]
fn supported_interfaces_are_the_xor_of_their_selectors() {
    let xor = |selectors: &[[u8; 4]]| {
        selectors
            .iter()
            .fold(0u32, |acc, s| acc ^ u32::from_be_bytes(*s))
            .to_be_bytes()
    };
    let erc165 = xor(&[inherited::supportsInterfaceCall::SELECTOR]);
    let erc721 = xor(&[
        inherited::balanceOfCall::SELECTOR,
        inherited::ownerOfCall::SELECTOR,
        inherited::safeTransferFrom_0Call::SELECTOR,
        inherited::safeTransferFrom_1Call::SELECTOR,
        inherited::transferFromCall::SELECTOR,
        inherited::approveCall::SELECTOR,
        inherited::setApprovalForAllCall::SELECTOR,
        inherited::getApprovedCall::SELECTOR,
        inherited::isApprovedForAllCall::SELECTOR,
    ]);
    let metadata = xor(&[
        inherited::nameCall::SELECTOR,
        inherited::symbolCall::SELECTOR,
        inherited::tokenURICall::SELECTOR,
    ]);
    assert_eq!(SUPPORTED_INTERFACES, [erc165, erc721, metadata]);
}

/// One value of every error variant with alloy's encoding of it; the `match` fails to
/// compile when a variant is added and not listed here.
fn every_error() -> Vec<(Error, Vec<u8>)> {
    let (n, a, b) = (
        U256::from(42),
        Address::repeat_byte(0xa1),
        Address::repeat_byte(0xb2),
    );
    macro_rules! pairs {
        ($($e:expr),* $(,)?) => {
            vec![$((Error::from($e), $e.abi_encode())),*]
        };
    }
    let all = pairs![
        BadgeInvalidAddress { account: a },
        BadgeInvalidMinDuration {
            minDuration: u64::MAX
        },
        BadgeInvalidBaseUri { length: n },
        BadgeNotAdmin { caller: a },
        BadgeUnknownSession {
            sessionId: U256::MAX
        },
        BadgeSessionNotEnded {
            sessionId: n,
            state: u8::MAX
        },
        BadgeTooShort {
            sessionId: n,
            duration: u64::MAX - 1,
            minDuration: u64::MAX
        },
        BadgeNotAParty {
            sessionId: n,
            caller: a
        },
        BadgeAlreadyClaimed {
            sessionId: n,
            role: 2,
            tokenId: U256::MAX
        },
        BadgeTokenNotEligible {
            sessionId: n,
            token: a
        },
        BadgeTooLittleBilled {
            sessionId: n,
            billed: u128::MAX - 1,
            minBilled: u128::MAX
        },
        BadgeNoFeePaid { sessionId: n },
        erc721::Error::InvalidOwner(erc721::ERC721InvalidOwner { owner: a }),
        erc721::Error::NonexistentToken(erc721::ERC721NonexistentToken { token_id: n }),
        erc721::Error::IncorrectOwner(erc721::ERC721IncorrectOwner {
            sender: a,
            token_id: n,
            owner: b
        }),
        erc721::Error::InvalidSender(erc721::ERC721InvalidSender { sender: a }),
        erc721::Error::InvalidReceiver(erc721::ERC721InvalidReceiver { receiver: a }),
        erc721::Error::InsufficientApproval(erc721::ERC721InsufficientApproval {
            operator: a,
            token_id: n
        }),
        erc721::Error::InvalidApprover(erc721::ERC721InvalidApprover { approver: a }),
        erc721::Error::InvalidOperator(erc721::ERC721InvalidOperator { operator: a }),
        erc721::Error::InvalidReceiverWithReason(erc721::InvalidReceiverWithReason {
            reason: "no badges for me, thanks".into()
        }),
        erc721::Error::InvalidReceiverWithReason(erc721::InvalidReceiverWithReason {
            reason: "x".repeat(64)
        }),
    ];
    for (error, _) in &all {
        match error {
            Error::InvalidAddress(_)
            | Error::InvalidMinDuration(_)
            | Error::InvalidBaseUri(_)
            | Error::NotAdmin(_)
            | Error::UnknownSession(_)
            | Error::SessionNotEnded(_)
            | Error::TooShort(_)
            | Error::NotAParty(_)
            | Error::AlreadyClaimed(_)
            | Error::TokenNotEligible(_)
            | Error::TooLittleBilled(_)
            | Error::NoFeePaid(_)
            | Error::Erc721(_) => {}
        }
    }
    all
}

/// `abi_encode` of an OpenZeppelin error enum: its derive's encoding.
trait AbiEncode {
    fn abi_encode(&self) -> Vec<u8>;
}

impl AbiEncode for erc721::Error {
    fn abi_encode(&self) -> Vec<u8> {
        use erc721::Error as E;
        match self {
            E::InvalidOwner(e) => e.abi_encode(),
            E::NonexistentToken(e) => e.abi_encode(),
            E::IncorrectOwner(e) => e.abi_encode(),
            E::InvalidSender(e) => e.abi_encode(),
            E::InvalidReceiver(e) => e.abi_encode(),
            E::InvalidReceiverWithReason(e) => e.abi_encode(),
            E::InsufficientApproval(e) => e.abi_encode(),
            E::InvalidApprover(e) => e.abi_encode(),
            E::InvalidOperator(e) => e.abi_encode(),
        }
    }
}

#[test]
fn errors_encode_as_alloy_does() {
    for (error, expected) in every_error() {
        let name = alloc::format!("{error:?}");
        assert_eq!(Vec::<u8>::from(error), expected, "{name}");
    }
}

#[test]
fn errors_are_all_declared_in_the_abi() {
    let declared: Vec<[u8; 4]> = [
        BadgeInvalidAddress::SELECTOR,
        BadgeInvalidMinDuration::SELECTOR,
        BadgeInvalidBaseUri::SELECTOR,
        BadgeNotAdmin::SELECTOR,
        BadgeUnknownSession::SELECTOR,
        BadgeSessionNotEnded::SELECTOR,
        BadgeTooShort::SELECTOR,
        BadgeNotAParty::SELECTOR,
        BadgeAlreadyClaimed::SELECTOR,
        BadgeTokenNotEligible::SELECTOR,
        BadgeTooLittleBilled::SELECTOR,
        BadgeNoFeePaid::SELECTOR,
    ]
    .into_iter()
    .chain(inherited::IBadgesInheritedErrors::SELECTORS.iter().copied())
    .collect();
    for (error, encoded) in every_error() {
        assert!(
            declared.contains(&encoded[..4].try_into().unwrap()),
            "{error:?} is not declared in an abi fragment"
        );
    }
}

#[motsu::test]
fn events_are_all_declared_in_the_abi(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    badges: Contract<Badges>,
) {
    // Every kind of state change the contract has.
    let w = World::new(&escrow, &token, &badges);
    let badge = w.claim(w.student, w.held());
    badges.sender(w.admin).set_min_duration(60).motsu_unwrap();
    badges
        .sender(w.student)
        .approve(w.tutor, badge)
        .motsu_unwrap();
    badges
        .sender(w.student)
        .set_approval_for_all(w.tutor, true)
        .motsu_unwrap();
    badges
        .sender(w.tutor)
        .transfer_from(w.student, w.tutor, badge)
        .motsu_unwrap();

    let declared: Vec<B256> = [
        BadgeClaimed::SIGNATURE_HASH,
        BadgeMinDurationUpdated::SIGNATURE_HASH,
        BadgeMinBilledUpdated::SIGNATURE_HASH,
        AdminTransferStarted::SIGNATURE_HASH,
        AdminTransferred::SIGNATURE_HASH,
    ]
    .into_iter()
    .chain(
        inherited::IBadgesInheritedEvents::SELECTORS
            .iter()
            .map(|s| B256::from(*s)),
    )
    .collect();
    badges
        .sender(w.admin)
        .transfer_admin(w.tutor)
        .motsu_unwrap();
    badges.sender(w.tutor).accept_admin().motsu_unwrap();
    let events = badges.all_events();
    // Deployment (admin, minimum duration, token floor), claim, settings, approvals,
    // transfer, hand-over.
    assert_eq!(events.len(), 3 + 2 + 1 + 1 + 1 + 1 + 2);
    for event in events {
        assert!(
            declared.contains(&event.topics()[0]),
            "undeclared event {event:?}"
        );
    }
}
