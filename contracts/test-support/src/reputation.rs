//! The world of a reputation contract's tests (badges, ratings): the real session escrow
//! with the clock its `test-clock` feature lets tests move, a [`TestToken`] it bills in,
//! the contract under test, and the parties.

use core::fmt::Debug;

use alloy_primitives::{Address, U256};
use minuto_escrow::{test_clock as clock, SessionEscrow};
use motsu::prelude::*;
use openzeppelin_stylus::token::erc20::IErc20;
use stylus_sdk::storage::StorageType;

use crate::TestToken;

/// 10,000 base units a second, scaled by 10^18 as the escrow takes rates.
pub const RATE_PER_SEC: u128 = 10_000;
/// [`RATE_PER_SEC`] as the escrow takes it.
pub const RATE: u128 = RATE_PER_SEC * 1_000_000_000_000_000_000;
/// 1,000 seconds at [`RATE`].
pub const DEPOSIT: u128 = 1_000 * RATE_PER_SEC;
/// What the student is minted.
pub const FUNDS: u128 = 100 * DEPOSIT;
/// The floor set for the test token: 1 USDC (a 300-second session at [`RATE`] bills
/// 3 USDC).
pub const MIN_BILLED: u128 = 1_000_000;

/// What the world needs of the contract under test.
pub trait Reputation: StorageType {
    /// The contract's error type.
    type Error: Debug;
    /// The minimum billed duration it is deployed with.
    const MIN_DURATION: u64;

    /// Runs the contract's constructor as `admin`, reading sessions from `escrow`.
    fn deploy(contract: &Contract<Self>, admin: Address, escrow: Address);

    /// Sets the floor on billed value for `token`, as the admin.
    fn set_min_billed(
        contract: &Contract<Self>,
        admin: Address,
        token: Address,
        min_billed: u128,
    ) -> Result<(), Self::Error>;
}

/// The contracts of one test and its parties.
pub struct World<'a, C: StorageType> {
    /// The session escrow.
    pub escrow: &'a Contract<SessionEscrow>,
    /// The token sessions bill in.
    pub token: &'a Contract<TestToken>,
    /// The contract under test.
    pub contract: &'a Contract<C>,
    /// Admin of the escrow and of the contract.
    pub admin: Address,
    /// The student of every session.
    pub student: Address,
    /// The tutor of every session.
    pub tutor: Address,
    /// Neither party nor admin.
    pub stranger: Address,
}

impl<'a, C> World<'a, C>
where
    C: Reputation + StorageType + stylus_sdk::abi::Router<C> + 'static,
    C: stylus_sdk::stylus_core::storage::TopLevelStorage + stylus_sdk::stylus_core::ValueDenier,
    C: core::borrow::BorrowMut<<C as stylus_sdk::abi::Router<C>>::Storage>,
{
    /// Deploys the escrow (no credentials contract), allows and funds the token, and
    /// deploys the contract with [`Reputation::deploy`] and a [`MIN_BILLED`] floor for
    /// the token. Time starts at motsu's block timestamp.
    pub fn new(
        escrow: &'a Contract<SessionEscrow>,
        token: &'a Contract<TestToken>,
        contract: &'a Contract<C>,
    ) -> Self {
        Self::deploying(escrow, token, contract, C::deploy)
    }

    /// As [`World::new`], with the contract's constructor run by `deploy(contract,
    /// admin, escrow)`.
    pub fn deploying(
        escrow: &'a Contract<SessionEscrow>,
        token: &'a Contract<TestToken>,
        contract: &'a Contract<C>,
        deploy: impl FnOnce(&Contract<C>, Address, Address),
    ) -> Self {
        clock::reset();
        let world = Self {
            escrow,
            token,
            contract,
            admin: Address::random(),
            student: Address::random(),
            tutor: Address::random(),
            stranger: Address::random(),
        };
        let admin = world.admin;
        escrow
            .sender(admin)
            .constructor(admin, Address::random(), Address::ZERO, 250, 600, 60)
            .motsu_unwrap();
        escrow
            .sender(admin)
            .set_token_allowed(token.address(), true)
            .motsu_unwrap();
        token
            .sender(admin)
            .mint(world.student, U256::from(FUNDS))
            .motsu_unwrap();
        token
            .sender(world.student)
            .approve(escrow.address(), U256::MAX)
            .motsu_unwrap();
        deploy(contract, admin, escrow.address());
        C::set_min_billed(contract, admin, token.address(), MIN_BILLED).motsu_unwrap();
        world
    }

    /// The escrow's admin sets the fee for sessions opened from now on, keeping the
    /// other settings.
    pub fn set_escrow_fee(&self, fee_bps: u16) {
        let (_, _, treasury, credentials, _, start_window, max_backdate, _, _) =
            self.escrow.sender(self.admin).config();
        self.escrow
            .sender(self.admin)
            .set_config(treasury, credentials, fee_bps, start_window, max_backdate)
            .motsu_unwrap();
    }

    /// The student opens a session of `deposit` at [`RATE`]; returns its id.
    pub fn open(&self, deposit: u128) -> U256 {
        self.open_at_rate(RATE, deposit)
    }

    fn open_at_rate(&self, rate: u128, deposit: u128) -> U256 {
        self.escrow
            .sender(self.student)
            .open(
                self.tutor,
                self.token.address(),
                U256::from(rate),
                U256::from(deposit),
                Address::random(),
                0,
            )
            .motsu_unwrap()
    }

    /// Opens a session of `deposit` and the tutor starts it; returns its id.
    pub fn start(&self, deposit: u128) -> U256 {
        let id = self.open(deposit);
        self.escrow
            .sender(self.tutor)
            .start(id, Address::random())
            .motsu_unwrap();
        id
    }

    /// A session of `deposit` that ran for `secs` seconds before the student stopped it
    /// (billing stops earlier if the deposit runs out); returns its id.
    pub fn ended(&self, deposit: u128, secs: u64) -> U256 {
        let id = self.start(deposit);
        clock::advance(secs);
        self.escrow.sender(self.student).stop(id).motsu_unwrap();
        id
    }

    /// The student opens and the tutor starts a session at `rate` (scaled by 10^18) with
    /// `deposit`, which then runs `secs` seconds before the student stops it.
    pub fn ended_at_rate(&self, rate: u128, deposit: u128, secs: u64) -> U256 {
        let id = self.open_at_rate(rate, deposit);
        self.escrow
            .sender(self.tutor)
            .start(id, Address::random())
            .motsu_unwrap();
        clock::advance(secs);
        self.escrow.sender(self.student).stop(id).motsu_unwrap();
        id
    }

    /// A session that billed exactly the contract's minimum duration.
    pub fn held(&self) -> U256 {
        self.ended(DEPOSIT, C::MIN_DURATION)
    }
}
