//! Tests with motsu: the real session escrow (with the clock its `test-clock` feature lets
//! tests move), an OpenZeppelin ERC-20 for it to bill in, and the ratings contract. One
//! test per rule, exact errors and exact events.

mod abi;
mod gate;
mod properties;
mod rate;
mod router;

use alloy_primitives::{keccak256, Address, B256, U256};
pub use minuto_escrow::{test_clock as clock, SessionEscrow};
use motsu::prelude::*;

use crate::*;

pub use minuto_test_support::{
    assert_reverts,
    reputation::{Reputation, DEPOSIT, MIN_BILLED, RATE, RATE_PER_SEC},
    with_events, TestToken,
};

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

/// The escrow, token, ratings contract and parties of one test
/// ([`minuto_test_support::reputation::World`]).
pub type World<'a> = minuto_test_support::reputation::World<'a, Ratings>;

impl Reputation for Ratings {
    type Error = Error;
    const MIN_DURATION: u64 = MIN_DURATION;

    /// Deploys with [`MIN_DURATION`] and [`WINDOW`].
    fn deploy(ratings: &Contract<Self>, admin: Address, escrow: Address) {
        ratings
            .sender(admin)
            .constructor(admin, escrow, MIN_DURATION, WINDOW)
            .motsu_unwrap();
    }

    fn set_min_billed(
        ratings: &Contract<Self>,
        admin: Address,
        token: Address,
        min_billed: u128,
    ) -> Result<(), Error> {
        ratings.sender(admin).set_min_billed(token, min_billed)
    }
}

/// What the ratings' tests do in their world.
pub trait RatingsWorld {
    /// `who` rates session `id` with `score` and [`CID`].
    fn rate(&self, who: Address, id: U256, score: u8);
}

impl RatingsWorld for World<'_> {
    fn rate(&self, who: Address, id: U256, score: u8) {
        self.contract
            .sender(who)
            .rate(id, score, cid_hash(), CID.into())
            .motsu_unwrap()
    }
}
