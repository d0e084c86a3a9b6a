//! Tokens that are not plain ERC-20s: one that takes a fee on transfer (refused), and one
//! that returns no data from `transfer`/`transferFrom`, as USDT does (works).

use super::*;
use alloy_primitives::Address;

pub mod fee_token {
    //! An ERC-20 that burns 1 % of every `transferFrom` on arrival.
    use alloy_primitives::{Address, U256};
    use openzeppelin_stylus::token::erc20::{self, Erc20, IErc20};
    use stylus_sdk::prelude::*;

    #[storage]
    #[entrypoint]
    pub struct FeeToken {
        erc20: Erc20,
    }

    #[public]
    impl FeeToken {
        pub fn mint(&mut self, to: Address, amount: U256) -> Result<(), erc20::Error> {
            self.erc20._mint(to, amount)
        }

        pub fn approve(&mut self, spender: Address, value: U256) -> Result<bool, erc20::Error> {
            self.erc20.approve(spender, value)
        }

        pub fn balance_of(&self, account: Address) -> U256 {
            self.erc20.balance_of(account)
        }

        pub fn transfer(&mut self, to: Address, value: U256) -> Result<bool, erc20::Error> {
            self.erc20.transfer(to, value)
        }

        pub fn transfer_from(
            &mut self,
            from: Address,
            to: Address,
            value: U256,
        ) -> Result<bool, erc20::Error> {
            self.erc20.transfer_from(from, to, value)?;
            self.erc20._burn(to, value / U256::from(100))?;
            Ok(true)
        }
    }
}

pub mod bare_token {
    //! An ERC-20 whose `transfer` and `transferFrom` return nothing (USDT on Ethereum).
    use alloy_primitives::{Address, U256};
    use openzeppelin_stylus::token::erc20::{self, Erc20, IErc20};
    use stylus_sdk::prelude::*;

    #[storage]
    #[entrypoint]
    pub struct BareToken {
        erc20: Erc20,
    }

    #[public]
    impl BareToken {
        pub fn mint(&mut self, to: Address, amount: U256) -> Result<(), erc20::Error> {
            self.erc20._mint(to, amount)
        }

        pub fn approve(&mut self, spender: Address, value: U256) -> Result<bool, erc20::Error> {
            self.erc20.approve(spender, value)
        }

        pub fn balance_of(&self, account: Address) -> U256 {
            self.erc20.balance_of(account)
        }

        pub fn transfer(&mut self, to: Address, value: U256) -> Result<(), erc20::Error> {
            self.erc20.transfer(to, value).map(|_| ())
        }

        pub fn transfer_from(
            &mut self,
            from: Address,
            to: Address,
            value: U256,
        ) -> Result<(), erc20::Error> {
            self.erc20.transfer_from(from, to, value).map(|_| ())
        }
    }
}

use bare_token::BareToken;
use fee_token::FeeToken;

fn setup_escrow(escrow: &Contract<SessionEscrow>, token: Address, p: &Parties) {
    escrow
        .sender(p.admin)
        .constructor(
            p.admin,
            p.treasury,
            Address::ZERO,
            FEE_BPS,
            START_WINDOW,
            MAX_BACKDATE,
        )
        .motsu_unwrap();
    escrow
        .sender(p.admin)
        .set_token_allowed(token, true)
        .motsu_unwrap();
}

#[motsu::test]
fn open_refuses_a_fee_on_transfer_token(
    escrow: Contract<SessionEscrow>,
    token: Contract<FeeToken>,
) {
    let p = Parties::new();
    setup_escrow(&escrow, token.address(), &p);
    token
        .sender(p.admin)
        .mint(p.student, u(DEPOSIT))
        .motsu_unwrap();
    token
        .sender(p.student)
        .approve(escrow.address(), U256::MAX)
        .motsu_unwrap();
    let err = try_open(&escrow, token.address(), &p).motsu_unwrap_err();
    assert_eq!(
        err,
        EscrowFeeOnTransfer {
            token: token.address(),
            amount: u(DEPOSIT),
            received: u(DEPOSIT - DEPOSIT / 100),
        }
        .into()
    );
    // Nothing moved and nothing was recorded.
    assert_eq!(token.sender(p.student).balance_of(p.student), u(DEPOSIT));
    assert_eq!(escrow.sender(p.student).config().8, 0);
}

#[motsu::test]
fn a_token_that_returns_no_data_works_through_a_whole_session(
    escrow: Contract<SessionEscrow>,
    token: Contract<BareToken>,
) {
    let p = Parties::new();
    setup_escrow(&escrow, token.address(), &p);
    escrow
        .sender(p.admin)
        .set_relayer(p.relayer, true)
        .motsu_unwrap();
    token
        .sender(p.admin)
        .mint(p.student, u(2 * DEPOSIT))
        .motsu_unwrap();
    token
        .sender(p.student)
        .approve(escrow.address(), U256::MAX)
        .motsu_unwrap();
    let id = escrow
        .sender(p.student)
        .open(
            p.tutor,
            token.address(),
            u(RATE),
            u(DEPOSIT),
            p.student_key,
            0,
        )
        .motsu_unwrap();
    escrow
        .sender(p.student)
        .top_up(id, u(DEPOSIT))
        .motsu_unwrap();
    escrow.sender(p.tutor).start(id, p.tutor_key).motsu_unwrap();
    clock::advance(100);
    // Earned up to now − maxBackdate: 40 s × 10,000, less the 2.5 % fee.
    assert_eq!(
        escrow.sender(p.tutor).withdraw(id).motsu_unwrap(),
        u(390_000)
    );
    clock::advance(100);
    escrow.sender(p.student).stop(id).motsu_unwrap();
    let balance = |who: Address| token.sender(who).balance_of(who);
    // 200 s billed: 2,000,000; fee 50,000; the tutor 1,950,000 in all.
    assert_eq!(balance(p.tutor), u(1_950_000));
    assert_eq!(balance(p.treasury), u(50_000));
    assert_eq!(balance(p.student), u(2 * DEPOSIT - 2_000_000));
    assert_eq!(balance(escrow.address()), U256::ZERO);
}
