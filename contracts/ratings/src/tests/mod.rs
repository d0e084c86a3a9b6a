//! Tests with motsu: the real session escrow (with the clock its `test-clock` feature lets
//! tests move), an OpenZeppelin ERC-20 for it to bill in, and the ratings contract. One
//! test per rule, exact errors and exact events.

mod abi;
mod gate;
mod properties;
mod rate;

use alloc::vec::Vec;

use alloy_primitives::{keccak256, Address, B256, U256};
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
pub const WINDOW: u64 = DEFAULT_RATING_WINDOW;
/// The CID of a rating's text, and its hash.
pub const CID: &str = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

pub fn cid_hash() -> B256 {
    keccak256(CID)
}

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
    pub ratings: &'a Contract<Ratings>,
    pub admin: Address,
    pub student: Address,
    pub tutor: Address,
    pub stranger: Address,
}

impl<'a> World<'a> {
    /// Deploys the escrow (no credentials contract), allows and funds the token, and
    /// deploys the ratings contract with [`MIN_DURATION`] and [`WINDOW`]. Time starts at
    /// motsu's block timestamp.
    pub fn new(
        escrow: &'a Contract<SessionEscrow>,
        token: &'a Contract<TestToken>,
        ratings: &'a Contract<Ratings>,
    ) -> Self {
        clock::reset();
        let world = Self {
            escrow,
            token,
            ratings,
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
        ratings
            .sender(admin)
            .constructor(admin, escrow.address(), MIN_DURATION, WINDOW)
            .motsu_unwrap();
        ratings
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

    /// `who` rates session `id` with `score` and [`CID`].
    pub fn rate(&self, who: Address, id: U256, score: u8) {
        self.ratings
            .sender(who)
            .rate(id, score, cid_hash(), CID.into())
            .motsu_unwrap()
    }
}
