//! Helpers the Minuto contracts' motsu tests share, so that each check is written once:
//!
//! - [`call`] and [`reverted`]: a call through a contract's deployed router
//!   ([`Dispatch`]) with alloy's encoding of its `abi/*.sol`, decoded as declared;
//!   [`call_with_value`] the same with value attached;
//! - [`route`], [`view`] and [`assert_routes_all`]: the same through the SDK's
//!   `#[public]` router, which the host tests' VM uses;
//! - [`Twins`]: two instances of a contract, every call sent to one through its deployed
//!   router and to the other through the SDK's, which must answer alike;
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

use core::{borrow::BorrowMut, cell::RefCell, fmt::Debug};

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

/// A contract motsu can call through the SDK's `#[public]` router: what every helper here
/// needs of it.
pub trait Routed:
    StorageType
    + TopLevelStorage
    + ValueDenier
    + Router<Self>
    + BorrowMut<<Self as Router<Self>>::Storage>
    + 'static
{
}

impl<T> Routed for T where
    T: StorageType
        + TopLevelStorage
        + ValueDenier
        + Router<T>
        + BorrowMut<<T as Router<T>>::Storage>
        + 'static
{
}

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
    T: Routed,
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
    T: Routed,
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
    T: Routed,
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
    T: Routed,
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
    T: Routed,
    C: SolCall,
{
    let out = route(contract, sender, &call.abi_encode())
        .unwrap()
        .expect("call reverted");
    C::abi_decode_returns(&out, true).expect("undecodable return")
}

/// `contract`'s answer to `calldata` through the SDK's `#[public]` router, as the SDK's
/// deployed entrypoint (`router_entrypoint`) gives it: the constructor's selector runs
/// the constructor; anything the router does not know (call data shorter than a
/// selector, an unknown selector: no Minuto contract has a fallback) reverts with
/// nothing.
pub fn sdk_answer<T>(
    contract: &Contract<T>,
    sender: Address,
    calldata: &[u8],
) -> Result<Vec<u8>, Vec<u8>>
where
    T: Routed,
{
    let mut call = contract.sender(sender);
    // Reaching the contract starts motsu's transaction (its state backup), whatever the
    // call data: a revert of short call data then has something to restore.
    let storage: &mut T = &mut call;
    let Some((selector, args)) = calldata.split_first_chunk::<4>() else {
        return Err(Vec::new());
    };
    let selector = u32::from_be_bytes(*selector);
    let answer = if selector == stylus_sdk::abi::CONSTRUCTOR_SELECTOR {
        <T as Router<T>>::constructor(storage, args)
    } else {
        <T as Router<T>>::route(storage, selector, args)
    };
    answer.unwrap_or(Err(Vec::new()))
}

/// Two instances of one contract, kept in the same state: every call goes to `hand`
/// through its deployed router ([`Dispatch`]) and to `sdk` through the SDK's `#[public]`
/// router ([`sdk_answer`]), and both must answer with the same result or revert data
/// and emit the same events (a failed call reverts its state, as on chain). The contracts
/// they call (an escrow, a token) are shared, so their answers must not depend on which
/// twin asks.
pub struct Twins<'a, T: StorageType> {
    /// Called through its deployed router.
    pub hand: &'a Contract<T>,
    /// Called through the SDK's router.
    pub sdk: &'a Contract<T>,
    /// The selectors a function answered (success or typed error).
    answered: RefCell<Vec<[u8; 4]>>,
}

impl<'a, T> Twins<'a, T>
where
    T: Dispatch,
    T: Routed,
{
    /// `hand` and `sdk`, not yet deployed.
    pub fn new(hand: &'a Contract<T>, sdk: &'a Contract<T>) -> Self {
        Self {
            hand,
            sdk,
            answered: RefCell::new(Vec::new()),
        }
    }

    /// Sends `calldata` to both as `sender`; asserts that they answer alike; returns the
    /// answer.
    #[track_caller]
    pub fn raw(&self, sender: Address, calldata: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
        let (hand, hand_events) = with_events(self.hand, || {
            self.hand.sender(sender).dispatch(calldata).motsu_res()
        });
        let (sdk, sdk_events) = with_events(self.sdk, || {
            sdk_answer(self.sdk, sender, calldata).motsu_res()
        });
        let selector = alloy_primitives::hex::encode(calldata.get(..4).unwrap_or(calldata));
        assert_eq!(
            hand, sdk,
            "{selector}: the deployed router (left) and the SDK's (right) answer differently"
        );
        assert_eq!(
            hand_events, sdk_events,
            "{selector}: the deployed router (left) and the SDK's (right) emit differently"
        );
        if hand.as_ref().map_or_else(|e| !e.is_empty(), |_| true) {
            if let Some(s) = calldata.first_chunk::<4>() {
                self.answered.borrow_mut().push(*s);
            }
        }
        hand
    }

    /// [`Twins::raw`] with alloy's encoding of `call`; the result decoded as declared,
    /// `Err` the revert data.
    #[track_caller]
    pub fn call<C: SolCall>(&self, sender: Address, call: C) -> Result<C::Return, Vec<u8>> {
        self.raw(sender, &call.abi_encode())
            .map(|out| C::abi_decode_returns(&out, true).expect("the result decodes as declared"))
    }

    /// Asserts that a function answered each of `selectors` (an interface's, e.g. alloy's
    /// `…Calls::SELECTORS`) at least once, with a result or a typed error: every function
    /// was exercised, and neither router took it for an unknown selector.
    #[track_caller]
    pub fn assert_all_answered(&self, selectors: &[[u8; 4]]) {
        let answered = self.answered.borrow();
        for selector in selectors {
            assert!(
                answered.contains(selector),
                "no function answered selector {}",
                alloy_primitives::hex::encode(selector)
            );
        }
    }
}

/// Runs `call` and returns its result with the events `contract` emitted, in order.
pub fn with_events<T, R>(contract: &Contract<T>, call: impl FnOnce() -> R) -> (R, Vec<LogData>)
where
    T: Routed,
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
    T: Routed,
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
