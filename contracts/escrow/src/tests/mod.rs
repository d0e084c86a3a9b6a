//! Tests of the escrow with motsu: a real OpenZeppelin ERC-20 (one that can block
//! addresses, as USDC and PYUSD can), a credentials test double, and a clock the tests
//! move (motsu fixes `block.timestamp`; the escrow reads time only through `now()`, which
//! in test builds adds this thread's offset).

mod admin;
mod booked;
mod gated;
mod layout;
mod lifecycle;
mod properties;
mod router;
mod signed;
mod tokens;

use alloc::vec::Vec;
use alloy_primitives::{Address, U256};
use motsu::prelude::*;
use openzeppelin_stylus::token::erc20::IErc20;

use crate::*;

pub use crate::test_clock as clock;

/// The time the escrow sees now.
pub fn now() -> u64 {
    crate::now()
}

pub mod test_credentials {
    //! The credentials test double.
    use alloy_primitives::Address;
    use stylus_sdk::{
        prelude::*,
        storage::{StorageBool, StorageMap},
    };

    /// A stand-in for the credentials contract with its `hasValid(address,uint32)` check.
    #[storage]
    #[entrypoint]
    pub struct TestCredentials {
        valid: StorageMap<Address, StorageMap<u32, StorageBool>>,
    }

    #[public]
    impl TestCredentials {
        pub fn has_valid(&self, holder: Address, kind: u32) -> bool {
            self.valid.get(holder).get(kind)
        }

        pub fn set_valid(&mut self, holder: Address, kind: u32, valid: bool) {
            self.valid.setter(holder).setter(kind).set(valid);
        }
    }
}

/// The ERC-20 that can block addresses ([`minuto_test_support::TestToken`]).
pub use minuto_test_support::TestToken;
pub use test_credentials::TestCredentials;

pub const FEE_BPS: u16 = 250;
pub const START_WINDOW: u32 = 600;
pub const MAX_BACKDATE: u32 = 60;
/// 36 USDC an hour: exactly 10,000 base units (6 decimals) a second.
pub const RATE_PER_SEC: u128 = 10_000;
pub const RATE: u128 = RATE_PER_SEC * minuto_accrual::RATE_SCALE;
/// 10 USDC: 1,000 seconds at [`RATE`].
pub const DEPOSIT: u128 = 10_000_000;

pub fn u(v: u128) -> U256 {
    U256::from(v)
}

/// The parties of one test.
pub struct Parties {
    pub admin: Address,
    pub treasury: Address,
    pub student: Address,
    pub tutor: Address,
    pub relayer: Address,
    pub student_key: Address,
    pub tutor_key: Address,
}

impl Parties {
    /// Someone with no part in anything.
    pub fn stranger(&self) -> Address {
        Address::repeat_byte(0x5e)
    }

    pub fn new() -> Self {
        clock::reset();
        Self {
            admin: Address::random(),
            treasury: Address::random(),
            student: Address::random(),
            tutor: Address::random(),
            relayer: Address::random(),
            student_key: Address::random(),
            tutor_key: Address::random(),
        }
    }
}

/// Deploys the escrow with the test settings, allows the token, names the relayer, and
/// gives the student `funds` approved to the escrow.
pub fn setup(
    escrow: &Contract<SessionEscrow>,
    token: &Contract<TestToken>,
    credentials: Address,
    p: &Parties,
    funds: u128,
) {
    escrow
        .sender(p.admin)
        .constructor(
            p.admin,
            p.treasury,
            credentials,
            FEE_BPS,
            START_WINDOW,
            MAX_BACKDATE,
        )
        .motsu_unwrap();
    escrow
        .sender(p.admin)
        .set_token_allowed(token.address(), true)
        .motsu_unwrap();
    escrow
        .sender(p.admin)
        .set_relayer(p.relayer, true)
        .motsu_unwrap();
    token
        .sender(p.admin)
        .mint(p.student, u(funds))
        .motsu_unwrap();
    token
        .sender(p.student)
        .approve(escrow.address(), U256::MAX)
        .motsu_unwrap();
}

/// The student opens an ungated session of [`DEPOSIT`] of `token` at [`RATE`].
pub fn try_open(
    escrow: &Contract<SessionEscrow>,
    token: Address,
    p: &Parties,
) -> Result<U256, Error> {
    escrow
        .sender(p.student)
        .open(p.tutor, token, u(RATE), u(DEPOSIT), p.student_key, 0)
}

/// Opens an ungated session of [`DEPOSIT`] at [`RATE`]; returns its id.
pub fn open(escrow: &Contract<SessionEscrow>, token: &Contract<TestToken>, p: &Parties) -> U256 {
    try_open(escrow, token.address(), p).motsu_unwrap()
}

/// Opens and starts a session; returns its id. Accrual starts at `now()`.
pub fn open_and_start(
    escrow: &Contract<SessionEscrow>,
    token: &Contract<TestToken>,
    p: &Parties,
) -> U256 {
    let id = open(escrow, token, p);
    escrow.sender(p.tutor).start(id, p.tutor_key).motsu_unwrap();
    id
}

pub fn balance(token: &Contract<TestToken>, who: Address) -> u128 {
    token.sender(who).balance_of(who).to::<u128>()
}

pub fn state_of(escrow: &Contract<SessionEscrow>, id: U256) -> u8 {
    escrow
        .sender(Address::ZERO)
        .session(id)
        .motsu_unwrap()
        .state
}

/// Every error encodes as the Solidity error it names, byte for byte as alloy encodes it.
#[test]
fn errors_encode_like_alloy() {
    use stylus_sdk::alloy_sol_types::SolError;
    let id = U256::from(7);
    let a = Address::repeat_byte(0xab);
    macro_rules! check {
        ($($v:ident($e:expr)),* $(,)?) => {$(
            let e = $e;
            let want = e.abi_encode();
            assert_eq!(Vec::<u8>::from(Error::$v(e)), want, stringify!($v));
        )*};
    }
    check!(
        UnknownSession(EscrowUnknownSession { id }),
        InvalidState(EscrowInvalidState { id, state: 3 }),
        Unauthorized(EscrowUnauthorized { id, caller: a }),
        NotAdmin(EscrowNotAdmin { caller: a }),
        NotRelayer(EscrowNotRelayer { caller: a }),
        Paused(EscrowPaused {}),
        TokenNotAllowed(EscrowTokenNotAllowed { token: a }),
        InvalidAddress(EscrowInvalidAddress { account: a }),
        InvalidRate(EscrowInvalidRate { rate: U256::MAX }),
        InvalidAmount(EscrowInvalidAmount { amount: id }),
        FeeTooHigh(EscrowFeeTooHigh {
            feeBps: 1001,
            maxFeeBps: 1000
        }),
        InvalidWindows(EscrowInvalidWindows {
            startWindow: 0,
            maxBackdate: u32::MAX
        }),
        StartWindowExpired(EscrowStartWindowExpired {
            id,
            deadline: u64::MAX
        }),
        StartWindowOpen(EscrowStartWindowOpen { id, deadline: 5 }),
        CredentialRequired(EscrowCredentialRequired {
            id,
            tutor: a,
            kind: u32::MAX
        }),
        StopAtOutOfRange(EscrowStopAtOutOfRange {
            id,
            at: 1,
            earliest: 2,
            latest: 3
        }),
        FundsExhausted(EscrowFundsExhausted { id }),
        NothingToWithdraw(EscrowNothingToWithdraw { id }),
        NothingToClaim(EscrowNothingToClaim {
            token: a,
            account: a
        }),
        TransferFailed(EscrowTransferFailed {
            token: a,
            to: a,
            amount: id
        }),
        AcceptanceExpired(EscrowAcceptanceExpired { expiry: 9 }),
        InvalidSignature(EscrowInvalidSignature { tutor: a }),
        NonceUsed(EscrowNonceUsed {
            tutor: a,
            nonce: U256::MAX
        }),
        Accounting(EscrowAccounting { id }),
        FeeOnTransfer(EscrowFeeOnTransfer {
            token: a,
            amount: U256::MAX,
            received: id
        }),
        NotBooking(EscrowNotBooking { caller: a }),
    );
}
