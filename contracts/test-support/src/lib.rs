//! Helpers the Minuto contracts' motsu tests share, so that each check is written once:
//!
//! - [`call`] and [`reverted`]: a call through a contract's deployed router
//!   ([`Dispatch`]) with alloy's encoding of its `abi/*.sol`, decoded as declared;
//!   [`call_with_value`] the same with value attached;
//! - [`route`], [`view`] and [`assert_routes_all`]: the same through the SDK's
//!   `#[public]` router, which the host tests' VM uses;
//! - [`with_events`] and [`assert_reverts`]: events a call emitted, and an exact revert
//!   that emitted nothing;
//! - [`TestToken`]: an OpenZeppelin ERC-20 with an open `mint` that can block an
//!   address, as USDC and PYUSD can;
//! - [`reputation::World`]: the escrow, token, contract and parties of the badges' and
//!   ratings' tests;
//! - [`gate_tests!`]: the minimum-billed and admin tests that badges and ratings must
//!   both pass.
//!
//! A dev-dependency only: nothing here reaches a deployed program.

extern crate alloc;

use core::{borrow::BorrowMut, fmt::Debug};

use alloy_primitives::{Address, LogData, U256};
use alloy_sol_types::{SolCall, SolError};
use motsu::prelude::*;
use stylus_sdk::{
    abi::Router,
    storage::StorageType,
    stylus_core::{storage::TopLevelStorage, ValueDenier},
};

pub mod reputation;
pub mod test_token;

pub use test_token::TestToken;

/// A contract whose deployed program routes calls with a hand-written `dispatch`
/// (selector and ABI-encoded arguments in, result or revert data out).
pub trait Dispatch {
    /// Runs `input` as the deployed program does.
    fn dispatch(&mut self, input: &[u8]) -> Result<Vec<u8>, Vec<u8>>;
}

/// Sends `call` through `contract`'s deployed router as `sender` and decodes its result
/// with the declared return types; `Err` holds the revert data.
pub fn call<T, C>(contract: &Contract<T>, sender: Address, call: C) -> Result<C::Return, Vec<u8>>
where
    T: Dispatch,
    T: StorageType
        + TopLevelStorage
        + ValueDenier
        + Router<T>
        + BorrowMut<<T as Router<T>>::Storage>
        + 'static,
    C: SolCall,
{
    contract
        .sender(sender)
        .dispatch(&call.abi_encode())
        .map(|out| C::abi_decode_returns(&out, true).expect("the result decodes as declared"))
}

/// As [`call`], with `value` wei attached: the raw result or revert data. The sender is
/// funded with `value` first (motsu moves it before the call runs). No function of the
/// Minuto contracts is payable, so every such call must revert.
pub fn call_with_value<T, C>(
    contract: &Contract<T>,
    sender: Address,
    value: U256,
    call: C,
) -> Result<Vec<u8>, Vec<u8>>
where
    T: Dispatch,
    T: StorageType
        + TopLevelStorage
        + ValueDenier
        + Router<T>
        + BorrowMut<<T as Router<T>>::Storage>
        + 'static,
    C: SolCall,
{
    sender.fund(value);
    contract
        .sender_and_value(sender, value)
        .dispatch(&call.abi_encode())
}

/// The revert data of a call that must fail.
#[track_caller]
pub fn reverted<T>(result: Result<T, Vec<u8>>) -> Vec<u8> {
    match result {
        Ok(_) => panic!("the call succeeded; it should have reverted"),
        Err(data) => data,
    }
}

/// Calls `contract` through the SDK's `#[public]` router, as a transaction with
/// `calldata` would. `None`: no function has that selector.
pub fn route<T>(
    contract: &Contract<T>,
    sender: Address,
    calldata: &[u8],
) -> Option<Result<Vec<u8>, Vec<u8>>>
where
    T: StorageType
        + TopLevelStorage
        + ValueDenier
        + Router<T>
        + BorrowMut<<T as Router<T>>::Storage>
        + 'static,
{
    let selector = u32::from_be_bytes(calldata[..4].try_into().unwrap());
    let mut call = contract.sender(sender);
    <T as Router<T>>::route(&mut call, selector, &calldata[4..])
}

/// Asserts that the `#[public]` router routes every one of `selectors` (answers `Some`,
/// success or revert: the arguments, all zero, do not matter) and not an unknown one.
#[track_caller]
pub fn assert_routes_all<T>(contract: &Contract<T>, sender: Address, selectors: &[[u8; 4]])
where
    T: StorageType
        + TopLevelStorage
        + ValueDenier
        + Router<T>
        + BorrowMut<<T as Router<T>>::Storage>
        + 'static,
{
    for selector in selectors {
        let mut calldata = selector.to_vec();
        calldata.extend([0u8; 32 * 4]);
        assert!(
            route(contract, sender, &calldata).is_some(),
            "selector {} is not routed",
            alloy_primitives::hex::encode(selector)
        );
    }
    assert!(route(contract, sender, &[0xde, 0xad, 0xbe, 0xef]).is_none());
}

/// Calls the view `call` through the `#[public]` router and decodes its answer as
/// declared.
pub fn view<T, C>(contract: &Contract<T>, sender: Address, call: C) -> C::Return
where
    T: StorageType
        + TopLevelStorage
        + ValueDenier
        + Router<T>
        + BorrowMut<<T as Router<T>>::Storage>
        + 'static,
    C: SolCall,
{
    let out = route(contract, sender, &call.abi_encode())
        .unwrap()
        .expect("call reverted");
    C::abi_decode_returns(&out, true).expect("undecodable return")
}

/// Runs `call` and returns its result with the events `contract` emitted, in order.
pub fn with_events<T, R>(contract: &Contract<T>, call: impl FnOnce() -> R) -> (R, Vec<LogData>)
where
    T: StorageType
        + TopLevelStorage
        + ValueDenier
        + Router<T>
        + BorrowMut<<T as Router<T>>::Storage>
        + 'static,
{
    let before = contract.all_events().len();
    let result = call();
    (result, contract.all_events()[before..].to_vec())
}

/// Asserts that `call` fails with exactly `expected` (its ABI encoding), emitting
/// nothing.
#[track_caller]
pub fn assert_reverts<T, R, E>(
    contract: &Contract<T>,
    expected: impl SolError,
    call: impl FnOnce() -> Result<R, E>,
) where
    T: StorageType
        + TopLevelStorage
        + ValueDenier
        + Router<T>
        + BorrowMut<<T as Router<T>>::Storage>
        + 'static,
    R: Debug,
    E: Debug + Into<Vec<u8>>,
{
    let (err, events) = with_events(contract, || call().motsu_unwrap_err());
    assert_eq!(err.into(), expected.abi_encode(), "wrong error");
    assert!(events.is_empty(), "a failed call emitted {events:?}");
}

/// The tests of the minimum-billed and fee-paid gate (finding 1 of the contracts audit
/// and M1 of the second: reputation must cost real money) and of the two-step admin role, for a reputation contract
/// (badges, ratings). Expands to a module `$module` of motsu tests in the calling test
/// module, which must have in scope: `World` (with `new`, `held`, `start`,
/// `ended_at_rate`, `set_escrow_fee`, `admin`, `student`, `tutor`, `stranger`),
/// `SessionEscrow`, `TestToken`, `MIN_DURATION`, `MIN_BILLED`, `DEPOSIT`, the
/// contract's events `AdminTransferStarted` and
/// `AdminTransferred`, and `assert_reverts`/`with_events` from this crate.
///
/// - `$Contract`: the contract type;
/// - `act = |contract, who, id| …`: what a party does with an ended session (claim,
///   rate), returning the contract's `Result`;
/// - `deploy = |contract, admin, escrow| …`: the constructor call;
/// - the contract's errors and its floor event, by role.
#[macro_export]
macro_rules! gate_tests {
    (
        mod $module:ident for $Contract:ident {
            act: |$c:ident, $who:ident, $id:ident| $act:expr,
            deploy: |$dc:ident, $admin:ident, $escrow:ident| $deploy:expr,
            too_little_billed: $TooLittleBilled:ident,
            no_fee_paid: $NoFeePaid:ident,
            token_not_eligible: $TokenNotEligible:ident,
            not_admin: $NotAdmin:ident,
            invalid_address: $InvalidAddress:ident,
            min_billed_updated: $MinBilledUpdated:ident $(,)?
        }
    ) => {
        mod $module {
            use alloy_primitives::{Address, U256};
            use alloy_sol_types::SolEvent;
            use motsu::prelude::*;

            use super::*;

            fn act(
                $c: &Contract<$Contract>,
                $who: Address,
                $id: U256,
            ) -> Result<impl core::fmt::Debug, Error> {
                $act
            }

            #[motsu::test]
            fn rejects_a_dust_rate_session_however_long_it_ran(
                escrow: Contract<SessionEscrow>,
                token: Contract<TestToken>,
                contract: Contract<$Contract>,
            ) {
                let w = World::new(&escrow, &token, &contract);
                // The audit's reproduction: rate 1 (10^-18 base unit a second), deposit 1.
                let id = w.ended_at_rate(1, 1, 10 * MIN_DURATION);
                assert_reverts(
                    &contract,
                    $TooLittleBilled {
                        sessionId: id,
                        billed: 0,
                        minBilled: MIN_BILLED,
                    },
                    || act(&contract, w.student, id),
                );
            }

            #[motsu::test]
            fn rejects_a_session_that_paid_no_fee(
                escrow: Contract<SessionEscrow>,
                token: Contract<TestToken>,
                contract: Contract<$Contract>,
            ) {
                let w = World::new(&escrow, &token, &contract);
                // Audit M1: at fee 0 the tutor can hand the student everything back, so a
                // colluding pair would pay gas only. The fee is snapshotted at open.
                let paid = w.start(DEPOSIT);
                w.set_escrow_fee(0);
                let free = w.held();
                for who in [w.student, w.tutor] {
                    assert_reverts(&contract, $NoFeePaid { sessionId: free }, || {
                        act(&contract, who, free)
                    });
                }
                // A session opened while the fee was due keeps it, and earns.
                escrow.sender(w.student).stop(paid).motsu_unwrap();
                act(&contract, w.student, paid).motsu_unwrap();
                // Any fee at all is enough for the rule; `minBilled` sets its price.
                w.set_escrow_fee(1);
                let cheap = w.held();
                act(&contract, w.tutor, cheap).motsu_unwrap();
            }

            #[motsu::test]
            fn needs_the_floor_billed_in_full(
                escrow: Contract<SessionEscrow>,
                token: Contract<TestToken>,
                contract: Contract<$Contract>,
            ) {
                let w = World::new(&escrow, &token, &contract);
                // A MIN_DURATION session at RATE bills exactly 3,000,000 base units.
                let id = w.held();
                contract
                    .sender(w.admin)
                    .set_min_billed(token.address(), 3_000_001)
                    .motsu_unwrap();
                assert_reverts(
                    &contract,
                    $TooLittleBilled {
                        sessionId: id,
                        billed: 3_000_000,
                        minBilled: 3_000_001,
                    },
                    || act(&contract, w.student, id),
                );
                contract
                    .sender(w.admin)
                    .set_min_billed(token.address(), 3_000_000)
                    .motsu_unwrap();
                act(&contract, w.student, id).motsu_unwrap();
            }

            #[motsu::test]
            fn rejects_a_session_in_a_token_without_a_floor(
                escrow: Contract<SessionEscrow>,
                token: Contract<TestToken>,
                contract: Contract<$Contract>,
            ) {
                let w = World::new(&escrow, &token, &contract);
                let id = w.held();
                contract
                    .sender(w.admin)
                    .set_min_billed(token.address(), 0)
                    .motsu_unwrap();
                assert_reverts(
                    &contract,
                    $TokenNotEligible {
                        sessionId: id,
                        token: token.address(),
                    },
                    || act(&contract, w.tutor, id),
                );
            }

            #[motsu::test]
            fn set_min_billed_is_admin_only_and_emits_the_floor(
                escrow: Contract<SessionEscrow>,
                token: Contract<TestToken>,
                contract: Contract<$Contract>,
            ) {
                let w = World::new(&escrow, &token, &contract);
                assert_reverts(&contract, $NotAdmin { caller: w.stranger }, || {
                    contract
                        .sender(w.stranger)
                        .set_min_billed(token.address(), 1)
                });
                let ((), events) = with_events(&contract, || {
                    contract
                        .sender(w.admin)
                        .set_min_billed(token.address(), 5)
                        .motsu_unwrap()
                });
                assert_eq!(
                    events,
                    [$MinBilledUpdated {
                        token: token.address(),
                        minBilled: 5
                    }
                    .encode_log_data()]
                );
                assert_eq!(contract.sender(w.stranger).min_billed(token.address()), 5);
            }

            #[motsu::test]
            fn admin_hands_over_in_two_steps(
                escrow: Contract<SessionEscrow>,
                token: Contract<TestToken>,
                contract: Contract<$Contract>,
            ) {
                let w = World::new(&escrow, &token, &contract);
                let next = Address::random();
                assert_reverts(&contract, $NotAdmin { caller: w.stranger }, || {
                    contract.sender(w.stranger).transfer_admin(next)
                });
                let ((), events) = with_events(&contract, || {
                    contract.sender(w.admin).transfer_admin(next).motsu_unwrap()
                });
                assert_eq!(
                    events,
                    [AdminTransferStarted {
                        admin: w.admin,
                        pendingAdmin: next
                    }
                    .encode_log_data()]
                );
                assert_eq!(contract.sender(w.stranger).pending_admin(), next);
                // Named is not yet admin; nobody else may accept.
                assert_reverts(&contract, $NotAdmin { caller: next }, || {
                    contract.sender(next).set_min_billed(token.address(), 1)
                });
                assert_reverts(&contract, $NotAdmin { caller: w.stranger }, || {
                    contract.sender(w.stranger).accept_admin()
                });
                let ((), events) = with_events(&contract, || {
                    contract.sender(next).accept_admin().motsu_unwrap()
                });
                assert_eq!(
                    events,
                    [AdminTransferred {
                        previousAdmin: w.admin,
                        admin: next
                    }
                    .encode_log_data()]
                );
                assert_eq!(contract.sender(w.stranger).config().0, next);
                assert_eq!(contract.sender(w.stranger).pending_admin(), Address::ZERO);
                assert_reverts(&contract, $NotAdmin { caller: w.admin }, || {
                    contract.sender(w.admin).set_min_billed(token.address(), 1)
                });
            }

            #[motsu::test]
            fn constructor_rejects_an_escrow_without_code(
                contract: Contract<$Contract>,
                admin: Address,
            ) {
                for escrow in [Address::ZERO, Address::random()] {
                    assert_reverts(&contract, $InvalidAddress { account: escrow }, || {
                        let ($dc, $admin, $escrow) = (&contract, admin, escrow);
                        $deploy
                    });
                }
            }
        }
    };
}
