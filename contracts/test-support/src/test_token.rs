//! The ERC-20 the escrow bills in, in every contract's tests.

use alloy_primitives::{Address, U256};
use openzeppelin_stylus::token::erc20::{self, Erc20, IErc20};
use stylus_sdk::{
    msg,
    prelude::*,
    storage::{StorageBool, StorageMap},
};

/// An ERC-20 on OpenZeppelin's implementation, with an open `mint`, whose transfers to
/// or from a blocked address fail, as a frozen USDC or PYUSD account does (nobody is
/// blocked until a test says so).
#[storage]
#[entrypoint]
pub struct TestToken {
    erc20: Erc20,
    blocked: StorageMap<Address, StorageBool>,
}

#[public]
#[implements(IErc20<Error = erc20::Error>)]
impl TestToken {
    /// Mints `amount` to `to`; anyone may.
    pub fn mint(&mut self, to: Address, amount: U256) -> Result<(), erc20::Error> {
        self.erc20._mint(to, amount)
    }

    /// Blocks (or unblocks) `account`: transfers to or from it fail.
    pub fn set_blocked(&mut self, account: Address, blocked: bool) {
        self.blocked.setter(account).set(blocked);
    }
}

impl TestToken {
    fn check(&self, from: Address, to: Address) -> Result<(), erc20::Error> {
        if self.blocked.get(from) || self.blocked.get(to) {
            return Err(erc20::Error::InvalidReceiver(erc20::ERC20InvalidReceiver {
                receiver: to,
            }));
        }
        Ok(())
    }
}

#[public]
impl IErc20 for TestToken {
    type Error = erc20::Error;

    fn total_supply(&self) -> U256 {
        self.erc20.total_supply()
    }

    fn balance_of(&self, account: Address) -> U256 {
        self.erc20.balance_of(account)
    }

    fn transfer(&mut self, to: Address, value: U256) -> Result<bool, Self::Error> {
        #[allow(deprecated)]
        let sender = msg::sender();
        self.check(sender, to)?;
        self.erc20.transfer(to, value)
    }

    fn allowance(&self, owner: Address, spender: Address) -> U256 {
        self.erc20.allowance(owner, spender)
    }

    fn approve(&mut self, spender: Address, value: U256) -> Result<bool, Self::Error> {
        self.erc20.approve(spender, value)
    }

    fn transfer_from(
        &mut self,
        from: Address,
        to: Address,
        value: U256,
    ) -> Result<bool, Self::Error> {
        self.check(from, to)?;
        self.erc20.transfer_from(from, to, value)
    }
}
