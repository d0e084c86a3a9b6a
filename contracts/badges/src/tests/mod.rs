//! Tests with motsu: the real session escrow (with the clock its `test-clock` feature lets
//! tests move), an OpenZeppelin ERC-20 for it to bill in, and the badges contract. One
//! test per rule, exact errors and exact events.

mod abi;
mod claim;
mod gate;
mod router;

use alloy_primitives::{Address, U256};
pub use minuto_escrow::{test_clock as clock, SessionEscrow};
use motsu::prelude::*;
pub use openzeppelin_stylus::token::erc20::IErc20;

use crate::*;

pub use minuto_test_support::{
    assert_reverts,
    reputation::{Reputation, DEPOSIT, MIN_BILLED, RATE_PER_SEC},
    with_events, TestToken,
};

pub const MIN_DURATION: u64 = DEFAULT_MIN_DURATION;
pub const BASE_URI: &str = "ipfs://bafybeihkoviema7g3gxyt6la7vd5ho32ictqbilu3wnlo3rs7ewhnp7lly/";

/// The escrow's states (its `SessionView.state`).
pub const OPEN: u8 = 1;
pub const ACTIVE: u8 = 2;
pub const CANCELLED: u8 = 4;

/// The escrow, token, badges contract and parties of one test
/// ([`minuto_test_support::reputation::World`]).
pub type World<'a> = minuto_test_support::reputation::World<'a, Badges>;

impl Reputation for Badges {
    type Error = Error;
    const MIN_DURATION: u64 = MIN_DURATION;

    /// Deploys with [`MIN_DURATION`] and [`BASE_URI`].
    fn deploy(badges: &Contract<Self>, admin: Address, escrow: Address) {
        badges
            .sender(admin)
            .constructor(admin, escrow, MIN_DURATION, BASE_URI.into())
            .motsu_unwrap();
    }

    fn set_min_billed(
        badges: &Contract<Self>,
        admin: Address,
        token: Address,
        min_billed: u128,
    ) -> Result<(), Error> {
        badges.sender(admin).set_min_billed(token, min_billed)
    }
}

/// What the badges' tests do in their world.
pub trait BadgesWorld {
    /// `who` claims the badge for session `id`.
    fn claim(&self, who: Address, id: U256) -> U256;
}

impl BadgesWorld for World<'_> {
    fn claim(&self, who: Address, id: U256) -> U256 {
        self.contract.sender(who).claim(id).motsu_unwrap()
    }
}

/// As [`World::new`], with the badges' `base_uri`.
pub fn world_with_base_uri<'a>(
    escrow: &'a Contract<SessionEscrow>,
    token: &'a Contract<TestToken>,
    badges: &'a Contract<Badges>,
    base_uri: &str,
) -> World<'a> {
    World::deploying(escrow, token, badges, |badges, admin, escrow| {
        badges
            .sender(admin)
            .constructor(admin, escrow, MIN_DURATION, base_uri.into())
            .motsu_unwrap();
    })
}
