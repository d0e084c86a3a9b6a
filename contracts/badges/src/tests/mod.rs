//! Tests with motsu: the real session escrow (with the clock its `test-clock` feature lets
//! tests move), an OpenZeppelin ERC-20 for it to bill in, and the badges contract. One
//! test per rule, exact errors and exact events.

mod abi;
mod claim;
mod gate;
mod router;

use alloc::vec::Vec;

use alloy_primitives::{Address, U256};
use minuto_escrow::{test_clock as clock, SessionEscrow};
use motsu::prelude::*;
use openzeppelin_stylus::token::erc20::IErc20;

use crate::*;

pub use minuto_test_support::{assert_reverts, with_events, TestToken};

/// 10,000 base units a second, scaled by 10^18 as the escrow takes rates.
pub const RATE_PER_SEC: u128 = 10_000;
pub const RATE: u128 = RATE_PER_SEC * 1_000_000_000_000_000_000;
/// 1,000 seconds at [`RATE`].
pub const DEPOSIT: u128 = 1_000 * RATE_PER_SEC;
pub const FUNDS: u128 = 100 * DEPOSIT;
pub const MIN_DURATION: u64 = DEFAULT_MIN_DURATION;
pub const BASE_URI: &str = "ipfs://bafybeihkoviema7g3gxyt6la7vd5ho32ictqbilu3wnlo3rs7ewhnp7lly/";

/// The escrow's states (its `SessionView.state`).
pub const OPEN: u8 = 1;
pub const ACTIVE: u8 = 2;
pub const CANCELLED: u8 = 4;

/// The floor set for the test token: 1 USDC (a [`MIN_DURATION`] session at [`RATE`]
/// bills 3 USDC).
pub const MIN_BILLED: u128 = 1_000_000;

/// The contracts of one test and its parties.
pub struct World<'a> {
    pub escrow: &'a Contract<SessionEscrow>,
    pub token: &'a Contract<TestToken>,
    pub badges: &'a Contract<Badges>,
    pub admin: Address,
    pub student: Address,
    pub tutor: Address,
    pub stranger: Address,
}

impl<'a> World<'a> {
    /// Deploys the escrow (no credentials contract), allows and funds the token, and
    /// deploys the badges contract with [`MIN_DURATION`] and [`BASE_URI`]. Time starts
    /// at motsu's block timestamp.
    pub fn new(
        escrow: &'a Contract<SessionEscrow>,
        token: &'a Contract<TestToken>,
        badges: &'a Contract<Badges>,
    ) -> Self {
        Self::with_base_uri(escrow, token, badges, BASE_URI)
    }

    /// As [`World::new`], with the badges' `base_uri`.
    pub fn with_base_uri(
        escrow: &'a Contract<SessionEscrow>,
        token: &'a Contract<TestToken>,
        badges: &'a Contract<Badges>,
        base_uri: &str,
    ) -> Self {
        clock::reset();
        let world = Self {
            escrow,
            token,
            badges,
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
        badges
            .sender(admin)
            .constructor(admin, escrow.address(), MIN_DURATION, base_uri.into())
            .motsu_unwrap();
        badges
            .sender(admin)
            .set_min_billed(token.address(), MIN_BILLED)
            .motsu_unwrap();
        world
    }

    /// The student opens a session of `deposit` at [`RATE`]; returns its id.
    pub fn open(&self, deposit: u128) -> U256 {
        self.escrow
            .sender(self.student)
            .open(
                self.tutor,
                self.token.address(),
                U256::from(RATE),
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
        let id = self
            .escrow
            .sender(self.student)
            .open(
                self.tutor,
                self.token.address(),
                U256::from(rate),
                U256::from(deposit),
                Address::random(),
                0,
            )
            .motsu_unwrap();
        self.escrow
            .sender(self.tutor)
            .start(id, Address::random())
            .motsu_unwrap();
        clock::advance(secs);
        self.escrow.sender(self.student).stop(id).motsu_unwrap();
        id
    }

    /// A session that billed exactly [`MIN_DURATION`] seconds.
    pub fn held(&self) -> U256 {
        self.ended(DEPOSIT, MIN_DURATION)
    }

    /// `who` claims the badge for session `id`.
    pub fn claim(&self, who: Address, id: U256) -> U256 {
        self.badges.sender(who).claim(id).motsu_unwrap()
    }
}
