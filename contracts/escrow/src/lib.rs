//! # Minuto SessionEscrow
//!
//! Holds a student's deposit for a live lesson and pays the tutor **per second**.
//!
//! ```text
//! Open ──start──▶ Active ──stop / stopAt / funds exhausted──▶ Ended (settled)
//!  │
//!  └──cancel / start window expired──▶ Cancelled (full refund)
//! ```
//!
//! - [`SessionEscrow::open`] pulls the deposit and fixes tutor, token, rate and fee;
//!   [`SessionEscrow::open_accepted`] does the same with the tutor's EIP-712 signed
//!   acceptance, so the session is Active in the student's one transaction.
//! - While Active, `billed(t) = min(floor((t − start) × rate / 10^18), deposited)`
//!   ([`minuto_accrual`]); the tutor may [`withdraw`](SessionEscrow::withdraw) what is
//!   earned at any time.
//! - Every stop settles once: the tutor gets `billed − fee − withdrawn`, the treasury
//!   `fee`, the student `deposited − billed`. A transfer a token refuses (a frozen or
//!   blocked address) is credited to that address instead, to [`claim`] later, so it can
//!   never trap the other party's money.
//! - Pause blocks new money coming in (open, start, top-up) and nothing else: stop,
//!   settle, cancel, withdraw and claim always work.
//!
//! Heartbeat keys are only needed off chain, so they live in events
//! ([`SessionOpened`], [`SessionStarted`]), not in storage.
//!
//! Storage: a session is a [`Session`] record of three to four slots (its fields in
//! [`session`]), read and written through [`minuto_wire::storage::Record`]: one read and
//! one write function serve every field, in the layout the SDK's `#[storage]` structs
//! would give them (tested), at a fraction of the SDK accessors' WASM.
//!
//! Every public function below documents its errors and its events.
//!
//! [`claim`]: SessionEscrow::claim
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
#![cfg_attr(target_arch = "wasm32", no_std)]
// The free host functions are deprecated in favour of `self.vm()`, which links every host
// import into the WASM. They are the same host calls, and bytes on chain are gas.
#![allow(deprecated)]

#[macro_use]
extern crate alloc;

mod calls;
mod eip712;
mod router;
#[cfg(any(test, feature = "test-clock"))]
pub mod test_clock;
#[cfg(test)]
mod tests;

#[cfg(all(feature = "test-clock", target_arch = "wasm32"))]
compile_error!("`test-clock` is for host tests only; it must never reach a deployed contract");

use alloc::vec::Vec;
use alloy_primitives::{Address, U256};
use minuto_accrual::{Accrual, MAX_FEE_BPS};
use minuto_wire::{
    admin::PackedAdmin,
    storage::{key, Key, Record},
    to_u128, word, Word,
};
use stylus_sdk::{alloy_sol_types::sol, block, msg, prelude::*, storage::StorageMap};

/// The longest an admin may let a relayer backdate a stop: one hour.
pub const MAX_BACKDATE_LIMIT: u32 = 3_600;

/// The longest start window: 2^24 − 1 seconds (194 days), so that each session keeps
/// its own window in the three bytes left in its second storage slot.
pub const MAX_START_WINDOW: u32 = 0xff_ffff;

/// The most sessions one escrow opens: ids are 32-bit in its settings slot (see
/// [`settings`]); the next open fails with `EscrowAccounting(0)`.
pub const MAX_SESSIONS: u64 = u32::MAX as u64;

/// The longest minimum billed time a booked session keeps (`openFor`'s `minBilled`): a
/// longer one counts as this, 65,533 s (about 18 hours), so that it fits its two bytes
/// beside the mark [`TUTOR_ENDED`].
pub const MAX_MIN_BILLED: u16 = 0xfffd;

/// `stopAt`'s `silent`: the relayer cannot tell which party fell silent (both were last
/// heard at the same time), or it stops a session whose deposit ran out.
pub const SILENT_UNKNOWN: u8 = 0;
/// `stopAt`'s `silent`: the student fell silent.
pub const SILENT_STUDENT: u8 = 1;
/// `stopAt`'s `silent`: the tutor fell silent.
pub const SILENT_TUTOR: u8 = 2;

/// The value a booked session's [`session::BOOKED`] field takes when its tutor ended it
/// while its deposit still ran (see [`ended_by_tutor`](SessionEscrow::ended_by_tutor)).
pub const TUTOR_ENDED: u64 = 0xffff;

/// The shortest maximum backdate: below the relayer's silence timeout plus clock drift, a
/// relayer could not stop at the silent peer's last heartbeat.
pub const MIN_BACKDATE_LIMIT: u32 = 30;

sol! {
    #![sol(all_derives)]
    // abi:begin
    /// A session's full record, as [`session`] returns it. `start` is when the session was
    /// opened while it is Open, and when accrual began once it is Active or Ended; `end`
    /// is when it stopped (never after its funds ran out) or was cancelled.
    #[derive(AbiType)]
    struct SessionView {
        address student;
        address tutor;
        address token;
        uint256 rate;
        uint256 deposited;
        uint256 withdrawn;
        uint64 start;
        uint64 end;
        uint16 feeBps;
        uint32 credentialKind;
        uint8 state;
    }

    /// A session was opened and its deposit pulled in. `studentKey` signs the student's
    /// heartbeats; `rate` is base units per second scaled by 1e18.
    event SessionOpened(uint256 indexed id, address indexed student, address indexed tutor, address token, uint256 rate, uint256 deposit, address studentKey, uint32 credentialKind, uint16 feeBps);
    /// The tutor accepted: accrual runs from `start`. `tutorKey` signs the tutor's heartbeats.
    event SessionStarted(uint256 indexed id, address tutorKey, uint64 start);
    /// The student added `amount`; the deposit is now `deposited`.
    event SessionToppedUp(uint256 indexed id, uint256 amount, uint256 deposited);
    /// The tutor withdrew `amount` of earnings mid-session.
    event Withdrawn(uint256 indexed id, address indexed tutor, uint256 amount);
    /// The session stopped at `end` and was settled: `tutorPaid + fee + refund` plus what
    /// the tutor withdrew before equals the deposit.
    event SessionEnded(uint256 indexed id, address indexed by, uint64 end, uint256 billed, uint256 tutorPaid, uint256 fee, uint256 refund);
    /// An Open session was cancelled and the whole deposit refunded.
    event SessionCancelled(uint256 indexed id, address indexed by, uint256 refund);
    /// A payout the token refused was credited to `account`, to claim later.
    event PayoutCredited(address indexed token, address indexed account, uint256 amount);
    /// `account` claimed its credited payouts, sent to `to`.
    event Claimed(address indexed token, address indexed account, address to, uint256 amount);
    /// A tutor cancelled an unused signed acceptance.
    event AcceptanceCancelled(address indexed tutor, uint256 nonce);

    event TokenAllowed(address indexed token, bool allowed);
    /// The settings changed (see `setConfig`).
    event ConfigUpdated(address treasury, address credentials, uint16 feeBps, uint32 startWindow, uint32 maxBackdate);
    event RelayerUpdated(address indexed relayer, bool allowed);
    /// New sessions, starts and top-ups were paused (`true`) or resumed.
    event PauseUpdated(bool paused);
    /// `booking` may now open sessions for students with `openFor` (zero: no contract may).
    event BookingUpdated(address booking);
    event AdminTransferStarted(address indexed admin, address indexed pendingAdmin);
    event AdminTransferred(address indexed previousAdmin, address indexed admin);

    /// No session has this id.
    error EscrowUnknownSession(uint256 id);
    /// The session is not in a state that allows this call (1 Open, 2 Active, 3 Ended, 4 Cancelled).
    error EscrowInvalidState(uint256 id, uint8 state);
    /// `caller` is not a party allowed to do this to the session.
    error EscrowUnauthorized(uint256 id, address caller);
    /// Only the admin may do this.
    error EscrowNotAdmin(address caller);
    /// Only an authorized relayer may do this.
    error EscrowNotRelayer(address caller);
    /// New sessions, starts and top-ups are paused.
    error EscrowPaused();
    /// The token is not on the allowlist.
    error EscrowTokenNotAllowed(address token);
    /// A zero or unusable address where a party, key or contract is required.
    error EscrowInvalidAddress(address account);
    /// A rate of zero or above 2^128 − 1.
    error EscrowInvalidRate(uint256 rate);
    /// An amount of zero, or a deposit that would exceed 2^128 − 1.
    error EscrowInvalidAmount(uint256 amount);
    /// A fee above the cap.
    error EscrowFeeTooHigh(uint16 feeBps, uint16 maxFeeBps);
    /// A start window outside 1 s to 2^24 − 1 s, or a maximum backdate outside 30 s to 1 h.
    error EscrowInvalidWindows(uint32 startWindow, uint32 maxBackdate);
    /// The tutor did not start the session before `deadline`.
    error EscrowStartWindowExpired(uint256 id, uint64 deadline);
    /// Only the student or tutor may cancel before `deadline`.
    error EscrowStartWindowOpen(uint256 id, uint64 deadline);
    /// The tutor does not hold a valid credential of the required kind.
    error EscrowCredentialRequired(uint256 id, address tutor, uint32 kind);
    /// `stopAt` outside `[earliest, latest]`.
    error EscrowStopAtOutOfRange(uint256 id, uint64 at, uint64 earliest, uint64 latest);
    /// The deposit is used up; the session can only be stopped.
    error EscrowFundsExhausted(uint256 id);
    /// Nothing has accrued to withdraw.
    error EscrowNothingToWithdraw(uint256 id);
    /// No credited payout of this token to claim.
    error EscrowNothingToClaim(address token, address account);
    /// The token refused a transfer the caller needed to succeed.
    error EscrowTransferFailed(address token, address to, uint256 amount);
    /// The signed acceptance's expiry has passed.
    error EscrowAcceptanceExpired(uint64 expiry);
    /// The signature is malformed or not the tutor's.
    error EscrowInvalidSignature(address tutor);
    /// This acceptance nonce was already used or cancelled.
    error EscrowNonceUsed(address tutor, uint256 nonce);
    /// An internal accounting check failed, or (id 0) the escrow has opened its 2^32 − 1
    /// sessions; the call changed nothing.
    error EscrowAccounting(uint256 id);
    /// A pull of `amount` left the escrow only `received` richer: fee-on-transfer and
    /// rebasing tokens are refused, so that every deposit is really held.
    error EscrowFeeOnTransfer(address token, uint256 amount, uint256 received);
    /// Only the booking contract the admin registered (`setBooking`) may call `openFor`.
    error EscrowNotBooking(address caller);
    // abi:end
}

minuto_wire::errors! {
    #[derive(Debug, PartialEq, Eq)]
    UnknownSession(EscrowUnknownSession { id }),
    InvalidState(EscrowInvalidState { id, state }),
    Unauthorized(EscrowUnauthorized { id, caller }),
    NotAdmin(EscrowNotAdmin { caller }),
    NotRelayer(EscrowNotRelayer { caller }),
    Paused(EscrowPaused {}),
    TokenNotAllowed(EscrowTokenNotAllowed { token }),
    InvalidAddress(EscrowInvalidAddress { account }),
    InvalidRate(EscrowInvalidRate { rate }),
    InvalidAmount(EscrowInvalidAmount { amount }),
    FeeTooHigh(EscrowFeeTooHigh { feeBps, maxFeeBps }),
    InvalidWindows(EscrowInvalidWindows { startWindow, maxBackdate }),
    StartWindowExpired(EscrowStartWindowExpired { id, deadline }),
    StartWindowOpen(EscrowStartWindowOpen { id, deadline }),
    CredentialRequired(EscrowCredentialRequired { id, tutor, kind }),
    StopAtOutOfRange(EscrowStopAtOutOfRange { id, at, earliest, latest }),
    FundsExhausted(EscrowFundsExhausted { id }),
    NothingToWithdraw(EscrowNothingToWithdraw { id }),
    NothingToClaim(EscrowNothingToClaim { token, account }),
    TransferFailed(EscrowTransferFailed { token, to, amount }),
    AcceptanceExpired(EscrowAcceptanceExpired { expiry }),
    InvalidSignature(EscrowInvalidSignature { tutor }),
    NonceUsed(EscrowNonceUsed { tutor, nonce }),
    Accounting(EscrowAccounting { id }),
    FeeOnTransfer(EscrowFeeOnTransfer { token, amount, received }),
    NotBooking(EscrowNotBooking { caller }),
}

/// Events this contract emits. Every field is a static type, so each encodes as its
/// indexed words and data words, pushed one by one into the buffer the host call takes
/// (topics, then data). Written out instead of `evm::log`, whose generic encoder is
/// instantiated per event (~1 KB of WASM each); motsu's `assert_emitted` checks the bytes
/// against alloy's encoder in the tests.
trait Emit {
    fn emit(self);
}

macro_rules! events {
    ($($ty:ident { [$($i:ident),*] [$($d:ident),*] },)*) => {$(
        impl Emit for $ty {
            fn emit(self) {
                use stylus_sdk::alloy_sol_types::SolEvent;
                let topics = <[&str]>::len(&[$(stringify!($i)),*]) + 1;
                let data = <[&str]>::len(&[$(stringify!($d)),*]);
                let mut log = Vec::with_capacity(32 * (topics + data));
                Self::SIGNATURE_HASH.push_to(&mut log);
                $(self.$i.push_to(&mut log);)*
                $(self.$d.push_to(&mut log);)*
                minuto_wire::emit_log(&log, topics);
            }
        }
    )*};
}

events! {
    SessionOpened { [id, student, tutor] [token, rate, deposit, studentKey, credentialKind, feeBps] },
    SessionStarted { [id] [tutorKey, start] },
    SessionToppedUp { [id] [amount, deposited] },
    Withdrawn { [id, tutor] [amount] },
    SessionEnded { [id, by] [end, billed, tutorPaid, fee, refund] },
    SessionCancelled { [id, by] [refund] },
    PayoutCredited { [token, account] [amount] },
    Claimed { [token, account] [to, amount] },
    AcceptanceCancelled { [tutor] [nonce] },
    TokenAllowed { [token] [allowed] },
    ConfigUpdated { [] [treasury, credentials, feeBps, startWindow, maxBackdate] },
    RelayerUpdated { [relayer] [allowed] },
    PauseUpdated { [] [paused] },
    BookingUpdated { [] [booking] },
}

// `SessionView` reaches `abi/` through the `abi:begin` fragment, with its docs.
#[cfg(feature = "export-abi")]
impl stylus_sdk::abi::export::internal::InnerTypes for SessionView {}

/// A session's place in its life cycle, stored as one byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    /// No session with this id.
    None = 0,
    /// Funded, waiting for the tutor.
    Open = 1,
    /// Accruing.
    Active = 2,
    /// Stopped and settled.
    Ended = 3,
    /// Cancelled before it started; the deposit went back.
    Cancelled = 4,
}

impl State {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Open,
            2 => Self::Active,
            3 => Self::Ended,
            4 => Self::Cancelled,
            _ => Self::None,
        }
    }
}

/// One session in three storage slots at open (a fourth once the tutor withdraws):
/// slot 0 `student | start | token_id | state | fee_bps`, slot 1 `tutor | end |
/// credential_kind | start_window`, slot 2 `rate | deposited`, slot 3 `withdrawn |
/// withdrawn_through`. Every write after open lands in a slot that is already non-zero.
/// The fields are in [`session`]; the layout is the one an SDK `#[storage]` struct
/// with these fields in this order has (tested).
pub type Session = Record<4>;

/// The fields of a [`Session`] record.
pub mod session {
    use minuto_wire::storage::Field;

    /// The student's address.
    pub const STUDENT: Field = Field::new(0, 12, 20);
    /// Open: when it was opened. Active/Ended: when accrual began (40 bits).
    pub const START: Field = Field::new(0, 7, 5);
    /// The token's allowlist id.
    pub const TOKEN_ID: Field = Field::new(0, 5, 2);
    /// The [`State`](crate::State) as a byte.
    pub const STATE: Field = Field::new(0, 4, 1);
    /// The fee taken at open, in basis points.
    pub const FEE_BPS: Field = Field::new(0, 2, 2);
    /// Opened by the booking contract (`openFor`) when not zero: neither party may cancel
    /// it before its start window has passed, and one more than the least time it bills
    /// when the student ends it ([`MAX_MIN_BILLED`] at most). When it ends otherwise, set
    /// to [`TUTOR_ENDED`](crate::TUTOR_ENDED) if the tutor ended it before its deposit ran
    /// out, else to 1: the minimum stays only where it was charged.
    pub const BOOKED: Field = Field::new(0, 0, 2);
    /// The tutor's address.
    pub const TUTOR: Field = Field::new(1, 12, 20);
    /// When it stopped or was cancelled (40 bits).
    pub const END: Field = Field::new(1, 7, 5);
    /// The credential kind the tutor must hold (0: none).
    pub const CREDENTIAL_KIND: Field = Field::new(1, 3, 4);
    /// The start window in force when the session was opened (24 bits): a later
    /// `setConfig` does not move this session's deadline.
    pub const START_WINDOW: Field = Field::new(1, 0, 3);
    /// Base units per second × 10^18 (128 bits).
    pub const RATE: Field = Field::new(2, 16, 16);
    /// Everything deposited (128 bits).
    pub const DEPOSITED: Field = Field::new(2, 0, 16);
    /// What the tutor withdrew mid-session (128 bits).
    pub const WITHDRAWN: Field = Field::new(3, 16, 16);
    /// Billing up to this time has been paid out to the tutor; no stop may end earlier.
    pub const WITHDRAWN_THROUGH: Field = Field::new(3, 11, 5);
}

/// The escrow's settings, in two slots: slot 0 `treasury | fee_bps | start_window |
/// max_backdate | paused | session_count`, everything an open reads or writes, so an open
/// touches one settings slot, not two (a cold read, 2,100 gas); slot 1 `credentials |
/// token_count`. The windows take the bytes their bounds need ([`MAX_START_WINDOW`]: 3,
/// [`MAX_BACKDATE_LIMIT`]: 2), which leaves the session count 32 bits: at most
/// [`MAX_SESSIONS`] sessions.
mod settings {
    use minuto_wire::storage::Field;

    pub const TREASURY: Field = Field::new(0, 12, 20);
    pub const FEE_BPS: Field = Field::new(0, 10, 2);
    pub const START_WINDOW: Field = Field::new(0, 7, 3);
    pub const MAX_BACKDATE: Field = Field::new(0, 5, 2);
    pub const PAUSED: Field = Field::new(0, 4, 1);
    pub const SESSION_COUNT: Field = Field::new(0, 0, 4);
    pub const CREDENTIALS: Field = Field::new(1, 12, 20);
    pub const TOKEN_COUNT: Field = Field::new(1, 10, 2);
}

/// A token's allowlist entry (one slot): `id | allowed`. Sessions store the small `id`,
/// not the 20-byte address.
mod token_entry {
    use minuto_wire::storage::Field;

    pub const ID: Field = Field::new(0, 30, 2);
    pub const ALLOWED: Field = Field::new(0, 29, 1);
}

/// A one-slot map value, right-aligned as the SDK stores a map's `bool`, `address` or
/// `uint256`.
mod value {
    use minuto_wire::storage::Field;

    pub const FLAG: Field = Field::new(0, 31, 1);
    pub const ADDRESS: Field = Field::new(0, 12, 20);
    pub const WORD: Field = Field::new(0, 0, 32);
}

/// The escrow contract. The deployed program routes calls with
/// [`dispatch`](SessionEscrow::dispatch); host builds (tests, ABI export) with the SDK's
/// router.
#[storage]
#[cfg_attr(
    not(all(target_arch = "wasm32", not(feature = "export-abi"))),
    entrypoint
)]
pub struct SessionEscrow {
    /// See [`settings`].
    settings: Record<2>,

    /// The SDK's `StorageAddress` accessors' panics would link formatting code.
    admin: PackedAdmin,

    /// Every map is keyed by its key's ABI word ([`Key`]): the slots of the `U256` and
    /// `Address` keys they had, through one key function.
    sessions: StorageMap<Key, Session>,
    /// See [`token_entry`]; keyed by the token's address.
    tokens: StorageMap<Key, Record<1>>,
    /// Keyed by the id as an integer, like `sessions`.
    token_by_id: StorageMap<Key, Record<1>>,
    relayers: StorageMap<Key, Record<1>>,
    /// token → account → credited payouts.
    claimable: StorageMap<Key, StorageMap<Key, Record<1>>>,
    /// tutor → word index → bitmap of used acceptance nonces.
    nonce_bitmap: StorageMap<Key, StorageMap<Key, Record<1>>>,
    /// The booking contract allowed to call `openFor` ([`value::ADDRESS`]; zero: none).
    /// Last, so that every earlier field keeps its slot.
    booking: Record<1>,
}

/// The current block time, through one door so that tests can move it.
fn now() -> u64 {
    let t = block::timestamp();
    #[cfg(any(test, feature = "test-clock"))]
    let t = t + test_clock::offset();
    t
}

#[public]
impl SessionEscrow {
    /// Sets up the escrow. `admin` manages the allowlist, settings, relayers and pause (a
    /// multisig in production); the other arguments are the settings of
    /// [`set_config`](Self::set_config).
    ///
    /// # Errors
    /// `EscrowInvalidAddress` for a zero admin, and as `setConfig`.
    ///
    /// # Events
    /// `AdminTransferred(0, admin)`, `ConfigUpdated`.
    #[constructor]
    pub fn constructor(
        &mut self,
        admin: Address,
        treasury: Address,
        credentials: Address,
        fee_bps: u16,
        start_window: u32,
        max_backdate: u32,
    ) -> Result<(), Error> {
        if admin.is_zero() {
            return Err(EscrowInvalidAddress { account: admin }.into());
        }
        self.admin.init(admin);
        self.write_config(treasury, credentials, fee_bps, start_window, max_backdate)
    }

    // ---- session life cycle -------------------------------------------------------

    /// Opens a session: pulls `deposit` of `token` from the caller (the student) and fixes
    /// tutor, token, `rate` (base units per second × 10^18), the current fee, and an
    /// optional required credential kind (0 = none). The tutor has the start window to
    /// [`start`](Self::start) it. Returns the new session id.
    ///
    /// # Errors
    /// `EscrowPaused`; `EscrowInvalidAddress` (zero tutor or key, tutor = caller);
    /// `EscrowTokenNotAllowed`; `EscrowInvalidRate`; `EscrowInvalidAmount`;
    /// `EscrowTransferFailed` if the token does not deliver the deposit;
    /// `EscrowFeeOnTransfer` if less than the deposit arrived; `EscrowAccounting(0)` once
    /// [`MAX_SESSIONS`] sessions were opened.
    ///
    /// # Events
    /// `SessionOpened`.
    pub fn open(
        &mut self,
        tutor: Address,
        token: Address,
        rate: U256,
        deposit: U256,
        student_key: Address,
        credential_kind: u32,
    ) -> Result<U256, Error> {
        let student = msg::sender();
        let id = self.create(
            student,
            student,
            tutor,
            token,
            rate,
            deposit,
            student_key,
            credential_kind,
            State::Open,
            0,
            0,
        )?;
        Ok(word(id))
    }

    /// Opens a session for `student`, as [`open`](Self::open) would for them, with the
    /// deposit pulled from the caller: only the booking contract the admin registered with
    /// [`set_booking`](Self::set_booking), when a booked lesson's student joins. The
    /// session is the student's in every other respect (they top up, stop or cancel it;
    /// refunds go to them), except that neither party may [`cancel`](Self::cancel) it
    /// before its start window has passed: a booked lesson's fees and counts are the
    /// booking contract's to settle, so a student cannot join and then cancel to dodge a
    /// late fee, nor a tutor cancel to dodge a no-show. The session's start window is the
    /// configured one or `min_start_window` seconds (at most [`MAX_START_WINDOW`]),
    /// whichever is longer: the booking contract keeps the tutor's deadline from running
    /// out before the lesson's own join window does. If the **student** ends it early (their
    /// [`stop`](Self::stop), or a relayer's [`stop_at`](Self::stop_at) for their silence),
    /// it bills at least `min_billed` seconds (at most [`MAX_MIN_BILLED`]; never more
    /// than the deposit): leaving a booked lesson costs what the booking's no-show or late
    /// fee would. Returns the new session id.
    ///
    /// # Errors
    /// `EscrowNotBooking` unless the caller is the registered booking contract;
    /// `EscrowInvalidAddress` for a zero student; otherwise as [`open`](Self::open), the
    /// caller's allowance and balance paying the deposit.
    ///
    /// # Events
    /// `SessionOpened`.
    #[allow(clippy::too_many_arguments)]
    pub fn open_for(
        &mut self,
        student: Address,
        tutor: Address,
        token: Address,
        rate: U256,
        deposit: U256,
        student_key: Address,
        credential_kind: u32,
        min_start_window: u32,
        min_billed: u16,
    ) -> Result<U256, Error> {
        let caller = msg::sender();
        if caller != self.booking.address(value::ADDRESS) {
            return Err(EscrowNotBooking { caller }.into());
        }
        if student.is_zero() {
            return Err(EscrowInvalidAddress { account: student }.into());
        }
        let id = self.create(
            student,
            caller,
            tutor,
            token,
            rate,
            deposit,
            student_key,
            credential_kind,
            State::Open,
            min_start_window,
            u64::from(min_billed.min(MAX_MIN_BILLED)) + 1,
        )?;
        Ok(word(id))
    }

    /// Opens a session that is Active at once, with the tutor's EIP-712 signature over
    /// `Acceptance(address student,address token,uint256 rate,address tutorKey,
    /// uint16 maxFeeBps,uint256 nonce,uint64 expiry)` in this contract's domain (name
    /// "Minuto SessionEscrow", version "1", this chain and address). The tutor pays no
    /// gas; the nonce is single-use per tutor; the session takes the current fee, which
    /// must not exceed the `maxFeeBps` the tutor signed. Returns the new session id.
    ///
    /// # Errors
    /// As [`open`](Self::open), and `EscrowAcceptanceExpired`, `EscrowInvalidSignature`,
    /// `EscrowNonceUsed`, `EscrowCredentialRequired`, `EscrowInvalidAddress` for a zero
    /// tutor key, `EscrowFeeTooHigh` when the fee is above the signed `maxFeeBps`.
    ///
    /// # Events
    /// `SessionOpened`, then `SessionStarted`.
    #[allow(clippy::too_many_arguments)]
    pub fn open_accepted(
        &mut self,
        tutor: Address,
        token: Address,
        rate: U256,
        deposit: U256,
        student_key: Address,
        credential_kind: u32,
        tutor_key: Address,
        max_fee_bps: u16,
        nonce: U256,
        expiry: u64,
        signature: stylus_sdk::abi::Bytes,
    ) -> Result<U256, Error> {
        let now = now();
        if expiry < now {
            return Err(EscrowAcceptanceExpired { expiry }.into());
        }
        if tutor_key.is_zero() {
            return Err(EscrowInvalidAddress { account: tutor_key }.into());
        }
        let fee_bps = self.settings.uint(settings::FEE_BPS) as u16;
        if fee_bps > max_fee_bps {
            return Err(EscrowFeeTooHigh {
                feeBps: fee_bps,
                maxFeeBps: max_fee_bps,
            }
            .into());
        }
        let student = msg::sender();
        let digest =
            eip712::acceptance_digest(student, token, rate, tutor_key, max_fee_bps, nonce, expiry);
        if calls::recover(digest, &signature) != Some(tutor) {
            return Err(EscrowInvalidSignature { tutor }.into());
        }
        self.use_nonce(tutor, nonce)?;
        let id = self.create(
            student,
            student,
            tutor,
            token,
            rate,
            deposit,
            student_key,
            credential_kind,
            State::Active,
            0,
            0,
        )?;
        Emit::emit(SessionStarted {
            id: word(id),
            tutorKey: tutor_key,
            start: now,
        });
        Ok(word(id))
    }

    /// The tutor accepts an Open session within its start window and registers the key
    /// that signs the tutor's heartbeats. Accrual starts at this block's timestamp.
    ///
    /// # Errors
    /// `EscrowPaused`; `EscrowUnknownSession`; `EscrowInvalidState` unless Open;
    /// `EscrowUnauthorized` unless the caller is the tutor; `EscrowInvalidAddress` for a
    /// zero key; `EscrowStartWindowExpired`; `EscrowCredentialRequired` when the session
    /// requires a credential the tutor does not validly hold.
    ///
    /// # Events
    /// `SessionStarted`.
    pub fn start(&mut self, id: U256, tutor_key: Address) -> Result<(), Error> {
        self.when_not_paused()?;
        let (state, _, tutor) = self.load_session(id)?;
        require_state(id, state, State::Open)?;
        let caller = msg::sender();
        if caller != tutor {
            return Err(EscrowUnauthorized { id, caller }.into());
        }
        if tutor_key.is_zero() {
            return Err(EscrowInvalidAddress { account: tutor_key }.into());
        }
        let now = now();
        let deadline = self.start_deadline(id);
        if now > deadline {
            return Err(EscrowStartWindowExpired { id, deadline }.into());
        }
        let kind = self.sessions.get(key(id)).uint(session::CREDENTIAL_KIND) as u32;
        self.require_credential(id, tutor, kind)?;

        let mut s = self.sessions.setter(key(id));
        s.set_uint(session::START, now);
        s.set_uint(session::STATE, State::Active as u64);
        Emit::emit(SessionStarted {
            id,
            tutorKey: tutor_key,
            start: now,
        });
        Ok(())
    }

    /// The student adds `amount` to an Open or Active session; it simply runs longer. Not
    /// allowed once the deposit is used up (billing has stopped by construction).
    ///
    /// # Errors
    /// `EscrowPaused`; `EscrowUnknownSession`; `EscrowInvalidState` unless Open or Active;
    /// `EscrowUnauthorized` unless the caller is the student; `EscrowInvalidAmount` for
    /// zero or a total above 2^128 − 1; `EscrowFundsExhausted`; `EscrowTransferFailed`;
    /// `EscrowFeeOnTransfer`.
    ///
    /// # Events
    /// `SessionToppedUp`.
    pub fn top_up(&mut self, id: U256, amount: U256) -> Result<(), Error> {
        self.when_not_paused()?;
        let state = self.state_of(id)?;
        let student = self.sessions.get(key(id)).address(session::STUDENT);
        if state != State::Open && state != State::Active {
            return Err(invalid_state(id, state));
        }
        let caller = msg::sender();
        if caller != student {
            return Err(EscrowUnauthorized { id, caller }.into());
        }
        let accrual = self.accrual(id);
        if state == State::Active && accrual.billed_at(now()) >= accrual.deposited {
            return Err(EscrowFundsExhausted { id }.into());
        }
        let deposited = to_u128(amount)
            .filter(|a| *a > 0)
            .and_then(|a| a.checked_add(accrual.deposited))
            .ok_or(EscrowInvalidAmount { amount })?;
        self.sessions
            .setter(key(id))
            .set_wide(session::DEPOSITED, deposited);
        let token = self.token_of(id);
        self.pull(token, student, amount)?;
        Emit::emit(SessionToppedUp {
            id,
            amount,
            deposited: word(deposited),
        });
        Ok(())
    }

    /// Sends the tutor everything earned and not yet withdrawn (`billed − fee −
    /// withdrawn`), counting billing up to `now − maxBackdate`: the part no relayer stop
    /// can take back, so a withdrawal never pays for a silent peer's detection window.
    /// Returns the amount.
    ///
    /// # Errors
    /// `EscrowUnknownSession`; `EscrowInvalidState` unless Active; `EscrowUnauthorized`
    /// unless the caller is the tutor; `EscrowNothingToWithdraw`; `EscrowTransferFailed`
    /// if the token refuses the transfer (nothing changes; the amount stays owed).
    ///
    /// # Events
    /// `Withdrawn`.
    pub fn withdraw(&mut self, id: U256) -> Result<U256, Error> {
        let (state, _, tutor) = self.load_session(id)?;
        require_state(id, state, State::Active)?;
        let caller = msg::sender();
        if caller != tutor {
            return Err(EscrowUnauthorized { id, caller }.into());
        }
        let (amount, withdrawn, through) = self.due(id)?;
        if amount == 0 {
            return Err(EscrowNothingToWithdraw { id }.into());
        }
        let mut s = self.sessions.setter(key(id));
        // SAFETY: withdrawn + amount = earned(billed) ≤ billed ≤ deposited < 2^128.
        s.set_wide(session::WITHDRAWN, withdrawn + amount);
        s.set_uint(session::WITHDRAWN_THROUGH, through);
        let token = self.token_of(id);
        let amount = word(amount);
        if !calls::transfer(token, tutor, amount) {
            return Err(EscrowTransferFailed {
                token,
                to: tutor,
                amount,
            }
            .into());
        }
        Emit::emit(Withdrawn { id, tutor, amount });
        Ok(amount)
    }

    /// Ends an Active session now and settles it; the student or the tutor may, and
    /// anyone once its deposit has run out (nothing is left to bill, and no party's money
    /// should wait for one of them to come back). If the deposit ran out earlier, the
    /// session ends at the moment it did. (A relayer ends sessions with
    /// [`stop_at`](Self::stop_at).)
    ///
    /// # Errors
    /// `EscrowUnknownSession`; `EscrowInvalidState` unless Active (so each session settles
    /// once); `EscrowUnauthorized` for anyone else while funds remain.
    ///
    /// # Events
    /// `PayoutCredited` for each refused payout, then `SessionEnded`.
    pub fn stop(&mut self, id: U256) -> Result<(), Error> {
        let (state, student, tutor) = self.load_session(id)?;
        require_state(id, state, State::Active)?;
        let caller = msg::sender();
        let now = now();
        if caller != student && caller != tutor && now < self.accrual(id).exhausted_at() {
            return Err(EscrowUnauthorized { id, caller }.into());
        }
        let ender = if caller == student {
            SILENT_STUDENT
        } else if caller == tutor {
            SILENT_TUTOR
        } else {
            SILENT_UNKNOWN
        };
        self.settle(id, now, caller, ender)
    }

    /// A relayer ends an Active session at `at`, the last moment the silent party was
    /// seen alive, so the student pays nothing for the detection window; then settles.
    /// `silent` names the silent party: [`SILENT_STUDENT`] (1; a booked session then
    /// bills at least its minimum time, see [`open_for`](Self::open_for)),
    /// [`SILENT_TUTOR`] (2; a booked session is then marked
    /// [`ended_by_tutor`](Self::ended_by_tutor) if its deposit still ran), or
    /// [`SILENT_UNKNOWN`] (0: both fell silent at once, or the funds are used up; the
    /// seconds held, nobody marked). The deployed router refuses any other value as
    /// malformed call data; called otherwise, it counts as 0.
    /// `at` must lie in `[max(start, now − maxBackdate, paid-out time), now]`, where the
    /// paid-out time is what the tutor's withdrawals already covered (never later than
    /// `now − maxBackdate` unless the admin has since raised the backdate).
    ///
    /// # Errors
    /// `EscrowNotRelayer`; `EscrowUnknownSession`; `EscrowInvalidState` unless Active;
    /// `EscrowStopAtOutOfRange`.
    ///
    /// # Events
    /// `PayoutCredited` for each refused payout, then `SessionEnded`.
    pub fn stop_at(&mut self, id: U256, at: u64, silent: u8) -> Result<(), Error> {
        let caller = msg::sender();
        if !self.relayers.get(key(caller)).flag(value::FLAG) {
            return Err(EscrowNotRelayer { caller }.into());
        }
        let (state, _, _) = self.load_session(id)?;
        require_state(id, state, State::Active)?;
        let latest = now();
        let s = self.sessions.get(key(id));
        let (start, through) = (s.uint(session::START), s.uint(session::WITHDRAWN_THROUGH));
        let earliest = latest
            .saturating_sub(self.settings.uint(settings::MAX_BACKDATE))
            .max(start)
            .max(through);
        if at < earliest || at > latest {
            return Err(EscrowStopAtOutOfRange {
                id,
                at,
                earliest,
                latest,
            }
            .into());
        }
        self.settle(id, at, caller, silent)
    }

    /// Cancels an Open session and refunds the whole deposit to the student. The student
    /// or the tutor (declining) may cancel at any time, except a session the booking
    /// contract opened ([`open_for`](Self::open_for)); anyone may once the start window
    /// has passed.
    ///
    /// # Errors
    /// `EscrowUnknownSession`; `EscrowInvalidState` unless Open; `EscrowStartWindowOpen`
    /// for anyone else before the deadline, and for everyone on a booked session.
    ///
    /// # Events
    /// `PayoutCredited` if the token refuses the refund, then `SessionCancelled`.
    pub fn cancel(&mut self, id: U256) -> Result<(), Error> {
        let (state, student, tutor) = self.load_session(id)?;
        require_state(id, state, State::Open)?;
        let caller = msg::sender();
        let now = now();
        let deadline = self.start_deadline(id);
        let s = self.sessions.get(key(id));
        let party = (caller == student || caller == tutor) && s.uint(session::BOOKED) == 0;
        if !party && now <= deadline {
            return Err(EscrowStartWindowOpen { id, deadline }.into());
        }
        let deposited = s.wide(session::DEPOSITED);
        let mut s = self.sessions.setter(key(id));
        s.set_uint(session::STATE, State::Cancelled as u64);
        s.set_uint(session::END, now);
        let token = self.token_of(id);
        let refund = word(deposited);
        self.pay(token, student, refund)?;
        Emit::emit(SessionCancelled {
            id,
            by: caller,
            refund,
        });
        Ok(())
    }

    /// Sends the caller's credited payouts of `token` (those a transfer refused at
    /// settlement) to `to`, which may differ from the caller when the caller's own address
    /// is the one the token blocks. Returns the amount.
    ///
    /// # Errors
    /// `EscrowInvalidAddress` for a zero `to`; `EscrowNothingToClaim`;
    /// `EscrowTransferFailed` (the credit stays).
    ///
    /// # Events
    /// `Claimed`.
    pub fn claim(&mut self, token: Address, to: Address) -> Result<U256, Error> {
        if to.is_zero() {
            return Err(EscrowInvalidAddress { account: to }.into());
        }
        let account = msg::sender();
        let amount = self.claimable(token, account);
        if amount.is_zero() {
            return Err(EscrowNothingToClaim { token, account }.into());
        }
        self.claimable
            .setter(key(token))
            .setter(key(account))
            .write(value::WORD, U256::ZERO);
        if !calls::transfer(token, to, amount) {
            return Err(EscrowTransferFailed { token, to, amount }.into());
        }
        Emit::emit(Claimed {
            token,
            account,
            to,
            amount,
        });
        Ok(amount)
    }

    /// Marks an unused signed acceptance as spent, so it can no longer open a session.
    ///
    /// # Errors
    /// `EscrowNonceUsed` if it already was.
    ///
    /// # Events
    /// `AcceptanceCancelled`.
    pub fn cancel_acceptance(&mut self, nonce: U256) -> Result<(), Error> {
        let tutor = msg::sender();
        self.use_nonce(tutor, nonce)?;
        Emit::emit(AcceptanceCancelled { tutor, nonce });
        Ok(())
    }

    // ---- views --------------------------------------------------------------------

    /// The session's full record.
    ///
    /// # Errors
    /// `EscrowUnknownSession`.
    ///
    /// # Events
    /// None (a view).
    pub fn session(&self, id: U256) -> Result<SessionView, Error> {
        let (state, student, tutor) = self.load_session(id)?;
        let s = self.sessions.get(key(id));
        Ok(SessionView {
            student,
            tutor,
            token: self.token_of(id),
            rate: word(s.wide(session::RATE)),
            deposited: word(s.wide(session::DEPOSITED)),
            withdrawn: word(s.wide(session::WITHDRAWN)),
            start: s.uint(session::START),
            end: s.uint(session::END),
            feeBps: s.uint(session::FEE_BPS) as u16,
            credentialKind: s.uint(session::CREDENTIAL_KIND) as u32,
            state: state as u8,
        })
    }

    /// What the session has billed: so far while Active, in total once Ended, zero while
    /// Open or after a cancel.
    ///
    /// # Errors
    /// `EscrowUnknownSession`.
    ///
    /// # Events
    /// None (a view).
    pub fn billed(&self, id: U256) -> Result<U256, Error> {
        let (state, _, _) = self.load_session(id)?;
        let accrual = self.accrual(id);
        let amount = match state {
            State::Active => accrual.billed_at(now()),
            State::Ended => {
                let s = self.sessions.get(key(id));
                let (end, booked) = (s.uint(session::END), s.uint(session::BOOKED));
                let student = booked != TUTOR_ENDED;
                accrual.billed_at(billed_until(accrual.start, end, booked, student))
            }
            _ => 0,
        };
        Ok(word(amount))
    }

    /// Whether a session the booking contract opened ([`open_for`](Self::open_for)) was
    /// ended by its tutor — the tutor's [`stop`](Self::stop), or a relayer's
    /// [`stop_at`](Self::stop_at) for the tutor's silence — while its deposit still ran:
    /// the booking counts such a lesson, if shorter than booked, against the tutor. False
    /// for every other session, and until it ends.
    ///
    /// # Errors
    /// `EscrowUnknownSession`.
    ///
    /// # Events
    /// None (a view).
    pub fn ended_by_tutor(&self, id: U256) -> Result<bool, Error> {
        let (state, _, _) = self.load_session(id)?;
        let mark = self.sessions.get(key(id)).uint(session::BOOKED);
        Ok(state == State::Ended && mark == TUTOR_ENDED)
    }

    /// What the tutor could withdraw now (zero unless Active): earned up to
    /// `now − maxBackdate`, minus what was withdrawn.
    ///
    /// # Errors
    /// `EscrowUnknownSession`.
    ///
    /// # Events
    /// None (a view).
    pub fn withdrawable(&self, id: U256) -> Result<U256, Error> {
        let (state, _, _) = self.load_session(id)?;
        if state != State::Active {
            return Ok(U256::ZERO);
        }
        Ok(word(self.due(id)?.0))
    }

    /// Seconds of lesson left at the current deposit: counting from now while Active,
    /// the whole deposit's worth while Open, zero once ended or cancelled.
    ///
    /// # Errors
    /// `EscrowUnknownSession`.
    ///
    /// # Events
    /// None (a view).
    pub fn runway(&self, id: U256) -> Result<u64, Error> {
        let (state, _, _) = self.load_session(id)?;
        let now = now();
        let mut accrual = self.accrual(id);
        Ok(match state {
            State::Active => accrual.runway_at(now),
            State::Open => {
                accrual.start = now;
                accrual.runway_at(now)
            }
            _ => 0,
        })
    }

    /// Payouts of `token` credited to `account` after a refused transfer.
    ///
    /// # Errors
    /// None.
    ///
    /// # Events
    /// None (a view).
    pub fn claimable(&self, token: Address, account: Address) -> U256 {
        self.claimable
            .get(key(token))
            .get(key(account))
            .read(value::WORD)
    }

    /// Whether `tutor` has used or cancelled acceptance `nonce`.
    ///
    /// # Errors
    /// None.
    ///
    /// # Events
    /// None (a view).
    pub fn nonce_used(&self, tutor: Address, nonce: U256) -> bool {
        let (word, bit) = nonce_position(nonce);
        self.nonce_bitmap
            .get(key(tutor))
            .get(key(word))
            .read(value::WORD)
            .bit(bit)
    }

    /// Whether new sessions of `token` may be opened.
    ///
    /// # Errors
    /// None.
    ///
    /// # Events
    /// None (a view).
    pub fn token_allowed(&self, token: Address) -> bool {
        self.tokens.get(key(token)).flag(token_entry::ALLOWED)
    }

    /// Whether `account` may call `stopAt`.
    ///
    /// # Errors
    /// None.
    ///
    /// # Events
    /// None (a view).
    pub fn is_relayer(&self, account: Address) -> bool {
        self.relayers.get(key(account)).flag(value::FLAG)
    }

    /// The escrow's settings: admin and pending admin, treasury, credentials contract,
    /// the fee new sessions take (basis points), the start window and maximum backdate
    /// (seconds), whether new money is paused, and how many sessions were ever opened
    /// (ids run from 1 to that count).
    ///
    /// # Errors
    /// None.
    ///
    /// # Events
    /// None (a view).
    pub fn config(&self) -> (Address, Address, Address, Address, u16, u32, u32, bool, u64) {
        (
            self.admin.get(),
            self.admin.pending(),
            self.settings.address(settings::TREASURY),
            self.settings.address(settings::CREDENTIALS),
            self.settings.uint(settings::FEE_BPS) as u16,
            self.settings.uint(settings::START_WINDOW) as u32,
            self.settings.uint(settings::MAX_BACKDATE) as u32,
            self.settings.flag(settings::PAUSED),
            self.settings.uint(settings::SESSION_COUNT),
        )
    }

    /// How far back, in seconds, a relayer's `stopAt` may reach (also in [`config`]).
    ///
    /// # Errors
    /// None.
    ///
    /// # Events
    /// None (a view).
    ///
    /// [`config`]: Self::config
    pub fn max_backdate(&self) -> u32 {
        self.settings.uint(settings::MAX_BACKDATE) as u32
    }

    /// The booking contract allowed to call [`open_for`](Self::open_for) (zero: none).
    ///
    /// # Errors
    /// None.
    ///
    /// # Events
    /// None (a view).
    pub fn booking(&self) -> Address {
        self.booking.address(value::ADDRESS)
    }

    // ---- admin --------------------------------------------------------------------

    /// Registers the booking contract that may open sessions for its students with
    /// [`open_for`](Self::open_for); zero allows none. Sessions already open are not
    /// affected.
    ///
    /// # Errors
    /// `EscrowNotAdmin`.
    ///
    /// # Events
    /// `BookingUpdated`.
    pub fn set_booking(&mut self, booking: Address) -> Result<(), Error> {
        self.only_admin()?;
        self.booking.set_address(value::ADDRESS, booking);
        Emit::emit(BookingUpdated { booking });
        Ok(())
    }

    /// Adds `token` to, or removes it from, the allowlist for new sessions. Sessions
    /// already open keep their token either way. Only standard ERC-20s belong here (those
    /// that return no data from `transfer` work); fee-on-transfer and rebasing tokens are
    /// refused at every pull with `EscrowFeeOnTransfer`.
    ///
    /// # Errors
    /// `EscrowNotAdmin`; `EscrowInvalidAddress` when allowing an address without code.
    ///
    /// # Events
    /// `TokenAllowed`.
    pub fn set_token_allowed(&mut self, token: Address, allowed: bool) -> Result<(), Error> {
        self.only_admin()?;
        // A token must be a contract: a call to an address without code "succeeds" with
        // empty return data, which would record deposits that moved nothing.
        if allowed && !minuto_wire::has_code(token) {
            return Err(EscrowInvalidAddress { account: token }.into());
        }
        if self.tokens.get(key(token)).uint(token_entry::ID) == 0 {
            let id = self
                .settings
                .uint(settings::TOKEN_COUNT)
                .checked_add(1)
                .filter(|id| *id <= u64::from(u16::MAX))
                .ok_or(EscrowInvalidAddress { account: token })?;
            self.settings.set_uint(settings::TOKEN_COUNT, id);
            self.tokens.setter(key(token)).set_uint(token_entry::ID, id);
            self.token_by_id
                .setter(key(id))
                .set_address(value::ADDRESS, token);
        }
        self.tokens
            .setter(key(token))
            .set_flag(token_entry::ALLOWED, allowed);
        Emit::emit(TokenAllowed { token, allowed });
        Ok(())
    }

    /// Replaces the settings: where fees go (`treasury`, non-zero), the credentials
    /// contract gated sessions are checked against (`hasValid(address,uint32)`; zero
    /// disables it, and then gated sessions cannot start), the fee for sessions opened
    /// from now on (open sessions keep theirs; at most [`MAX_FEE_BPS`]), the start window
    /// for sessions opened from now on (1 s to [`MAX_START_WINDOW`]) and the relayer's maximum backdate (from [`MIN_BACKDATE_LIMIT`] to
    /// [`MAX_BACKDATE_LIMIT`]).
    ///
    /// # Errors
    /// `EscrowNotAdmin`; `EscrowInvalidAddress` for a zero treasury; `EscrowFeeTooHigh`;
    /// `EscrowInvalidWindows`.
    ///
    /// # Events
    /// `ConfigUpdated`.
    pub fn set_config(
        &mut self,
        treasury: Address,
        credentials: Address,
        fee_bps: u16,
        start_window: u32,
        max_backdate: u32,
    ) -> Result<(), Error> {
        self.only_admin()?;
        self.write_config(treasury, credentials, fee_bps, start_window, max_backdate)
    }

    /// Grants or revokes the relayer role.
    ///
    /// # Errors
    /// `EscrowNotAdmin`; `EscrowInvalidAddress` for zero.
    ///
    /// # Events
    /// `RelayerUpdated`.
    pub fn set_relayer(&mut self, relayer: Address, allowed: bool) -> Result<(), Error> {
        self.only_admin()?;
        if relayer.is_zero() {
            return Err(EscrowInvalidAddress { account: relayer }.into());
        }
        self.relayers
            .setter(key(relayer))
            .set_flag(value::FLAG, allowed);
        Emit::emit(RelayerUpdated { relayer, allowed });
        Ok(())
    }

    /// Pauses or resumes new money coming in: while paused, `open`, `openAccepted`,
    /// `start` and `topUp` revert. Stop, settle, cancel, withdraw and claim always work.
    ///
    /// # Errors
    /// `EscrowNotAdmin`.
    ///
    /// # Events
    /// `PauseUpdated`.
    pub fn set_paused(&mut self, paused: bool) -> Result<(), Error> {
        self.only_admin()?;
        self.settings.set_flag(settings::PAUSED, paused);
        Emit::emit(PauseUpdated { paused });
        Ok(())
    }

    /// Starts handing the admin role to `new_admin`, who must accept; zero cancels a
    /// pending hand-over.
    ///
    /// # Errors
    /// `EscrowNotAdmin`.
    ///
    /// # Events
    /// `AdminTransferStarted`.
    pub fn transfer_admin(&mut self, new_admin: Address) -> Result<(), Error> {
        self.admin.transfer(new_admin).map_err(not_admin)
    }

    /// The pending admin takes the role.
    ///
    /// # Errors
    /// `EscrowNotAdmin` unless the caller is the pending admin.
    ///
    /// # Events
    /// `AdminTransferred`.
    pub fn accept_admin(&mut self) -> Result<(), Error> {
        self.admin.accept().map_err(not_admin)
    }
}

// ---- private helpers ------------------------------------------------------------------

fn not_admin(caller: Address) -> Error {
    EscrowNotAdmin { caller }.into()
}

/// The time a session that ended at `end` is billed up to: `end`, or, for a booked session
/// ([`session::BOOKED`]) the student ended, no earlier than its minimum time after `start`.
/// (After the end, `BOOKED` keeps the minimum only where it was charged.)
fn billed_until(start: u64, end: u64, booked: u64, student: bool) -> u64 {
    let least = if student { booked.saturating_sub(1) } else { 0 };
    // No overflow: `start` < 2^40, `least` < 2^16.
    end.max(start + least)
}

fn invalid_state(id: U256, state: State) -> Error {
    EscrowInvalidState {
        id,
        state: state as u8,
    }
    .into()
}

fn require_state(id: U256, state: State, want: State) -> Result<(), Error> {
    if state == want {
        Ok(())
    } else {
        Err(invalid_state(id, state))
    }
}

fn nonce_position(nonce: U256) -> (U256, usize) {
    (nonce >> 8, (nonce.as_limbs()[0] & 0xff) as usize)
}

impl SessionEscrow {
    /// A session's state and parties; `EscrowUnknownSession` if there is none.
    fn load_session(&self, id: U256) -> Result<(State, Address, Address), Error> {
        let state = self.state_of(id)?;
        let s = self.sessions.get(key(id));
        Ok((
            state,
            s.address(session::STUDENT),
            s.address(session::TUTOR),
        ))
    }

    /// A session's state, from its first slot alone (a call that does not need the tutor
    /// leaves the second slot unread: 2,100 gas); `EscrowUnknownSession` if there is none.
    fn state_of(&self, id: U256) -> Result<State, Error> {
        let state = State::from_u8(self.sessions.get(key(id)).uint(session::STATE) as u8);
        if state == State::None {
            return Err(EscrowUnknownSession { id }.into());
        }
        Ok(state)
    }

    fn accrual(&self, id: U256) -> Accrual {
        let s = self.sessions.get(key(id));
        Accrual {
            start: s.uint(session::START),
            rate: s.wide(session::RATE),
            deposited: s.wide(session::DEPOSITED),
        }
    }

    /// What the tutor may withdraw now: `(amount, withdrawn so far, the time billing is
    /// counted up to)`.
    fn due(&self, id: U256) -> Result<(u128, u128, u64), Error> {
        let s = self.sessions.get(key(id));
        let accrual = self.accrual(id);
        // Never before what earlier withdrawals counted, even if the admin has since
        // raised the backdate: `earned` stays ≥ `withdrawn`.
        let through = now()
            .saturating_sub(self.settings.uint(settings::MAX_BACKDATE))
            .max(accrual.start)
            .max(s.uint(session::WITHDRAWN_THROUGH));
        let withdrawn = s.wide(session::WITHDRAWN);
        let amount = minuto_accrual::withdrawable(
            accrual.billed_at(through),
            s.uint(session::FEE_BPS) as u16,
            withdrawn,
        )
        .map_err(|_| EscrowAccounting { id })?;
        Ok((amount, withdrawn, through))
    }

    fn token_of(&self, id: U256) -> Address {
        self.token_by_id
            .get(key(self.sessions.get(key(id)).uint(session::TOKEN_ID)))
            .address(value::ADDRESS)
    }

    fn start_deadline(&self, id: U256) -> u64 {
        let s = self.sessions.get(key(id));
        s.uint(session::START)
            .saturating_add(s.uint(session::START_WINDOW))
    }

    fn only_admin(&self) -> Result<Address, Error> {
        self.admin.only_admin().map_err(not_admin)
    }

    fn when_not_paused(&self) -> Result<(), Error> {
        if self.settings.flag(settings::PAUSED) {
            return Err(EscrowPaused {}.into());
        }
        Ok(())
    }

    fn write_config(
        &mut self,
        treasury: Address,
        credentials: Address,
        fee_bps: u16,
        start_window: u32,
        max_backdate: u32,
    ) -> Result<(), Error> {
        if treasury.is_zero() {
            return Err(EscrowInvalidAddress { account: treasury }.into());
        }
        if fee_bps > MAX_FEE_BPS {
            return Err(EscrowFeeTooHigh {
                feeBps: fee_bps,
                maxFeeBps: MAX_FEE_BPS,
            }
            .into());
        }
        if !(1..=MAX_START_WINDOW).contains(&start_window)
            || !(MIN_BACKDATE_LIMIT..=MAX_BACKDATE_LIMIT).contains(&max_backdate)
        {
            return Err(EscrowInvalidWindows {
                startWindow: start_window,
                maxBackdate: max_backdate,
            }
            .into());
        }
        let c = &mut self.settings;
        c.set_address(settings::TREASURY, treasury);
        c.set_address(settings::CREDENTIALS, credentials);
        c.set_uint(settings::FEE_BPS, fee_bps.into());
        c.set_uint(settings::START_WINDOW, start_window.into());
        c.set_uint(settings::MAX_BACKDATE, max_backdate.into());
        Emit::emit(ConfigUpdated {
            treasury,
            credentials,
            feeBps: fee_bps,
            startWindow: start_window,
            maxBackdate: max_backdate,
        });
        Ok(())
    }

    fn require_credential(&self, id: U256, tutor: Address, kind: u32) -> Result<(), Error> {
        if kind == 0 {
            return Ok(());
        }
        let credentials = self.settings.address(settings::CREDENTIALS);
        if credentials.is_zero() || !calls::has_valid(credentials, tutor, kind) {
            return Err(EscrowCredentialRequired { id, tutor, kind }.into());
        }
        Ok(())
    }

    fn use_nonce(&mut self, tutor: Address, nonce: U256) -> Result<(), Error> {
        let (word, bit) = nonce_position(nonce);
        let bits = self
            .nonce_bitmap
            .get(key(tutor))
            .get(key(word))
            .read(value::WORD);
        if bits.bit(bit) {
            return Err(EscrowNonceUsed { tutor, nonce }.into());
        }
        self.nonce_bitmap
            .setter(key(tutor))
            .setter(key(word))
            .write(value::WORD, bits | (U256::from_limbs([1, 0, 0, 0]) << bit));
        Ok(())
    }

    /// Checks and records a new session of `student`, then pulls its deposit from `payer`
    /// (the student, or the booking contract for [`open_for`](Self::open_for)), with a start
    /// window of at least `min_start_window` seconds (0 for sessions of the student's own).
    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        student: Address,
        payer: Address,
        tutor: Address,
        token: Address,
        rate: U256,
        deposit: U256,
        student_key: Address,
        credential_kind: u32,
        state: State,
        min_start_window: u32,
        booked: u64,
    ) -> Result<u64, Error> {
        self.when_not_paused()?;
        if tutor.is_zero() || tutor == student {
            return Err(EscrowInvalidAddress { account: tutor }.into());
        }
        if student_key.is_zero() {
            return Err(EscrowInvalidAddress {
                account: student_key,
            }
            .into());
        }
        let entry = self.tokens.get(key(token));
        if !entry.flag(token_entry::ALLOWED) {
            return Err(EscrowTokenNotAllowed { token }.into());
        }
        let token_id = entry.uint(token_entry::ID);
        let rate_u128 = to_u128(rate)
            .filter(|r| *r > 0)
            .ok_or(EscrowInvalidRate { rate })?;
        let deposit_u128 = to_u128(deposit)
            .filter(|d| *d > 0)
            .ok_or(EscrowInvalidAmount { amount: deposit })?;
        let id = self
            .settings
            .uint(settings::SESSION_COUNT)
            .checked_add(1)
            .filter(|id| *id <= MAX_SESSIONS)
            .ok_or(EscrowAccounting { id: U256::ZERO })?;
        let id_word = word(id);
        if state == State::Active {
            self.require_credential(id_word, tutor, credential_kind)?;
        }
        let fee_bps = self.settings.uint(settings::FEE_BPS);
        let start_window = self
            .settings
            .uint(settings::START_WINDOW)
            .max(min_start_window.min(MAX_START_WINDOW).into());
        self.settings.set_uint(settings::SESSION_COUNT, id);

        let mut s = self.sessions.setter(key(id_word));
        s.set_address(session::STUDENT, student);
        s.set_uint(session::START, now());
        s.set_uint(session::TOKEN_ID, token_id);
        s.set_uint(session::STATE, state as u64);
        s.set_uint(session::FEE_BPS, fee_bps);
        s.set_uint(session::BOOKED, booked);
        s.set_address(session::TUTOR, tutor);
        s.set_uint(session::CREDENTIAL_KIND, credential_kind.into());
        s.set_uint(session::START_WINDOW, start_window);
        s.set_wide(session::RATE, rate_u128);
        s.set_wide(session::DEPOSITED, deposit_u128);

        self.pull(token, payer, deposit)?;
        Emit::emit(SessionOpened {
            id: id_word,
            student,
            tutor,
            token,
            rate,
            deposit,
            studentKey: student_key,
            credentialKind: credential_kind,
            feeBps: fee_bps as u16,
        });
        Ok(id)
    }

    /// Takes `amount` of `token` from `from`; the whole call reverts if the token refuses,
    /// or if the escrow's balance did not grow by exactly `amount` (a fee-on-transfer or
    /// rebasing token would leave deposits the escrow does not hold).
    fn pull(&mut self, token: Address, from: Address, amount: U256) -> Result<(), Error> {
        let this = stylus_sdk::contract::address();
        let before = calls::balance_of(token, this);
        if !calls::transfer_from(token, from, this, amount) {
            return Err(EscrowTransferFailed {
                token,
                to: this,
                amount,
            }
            .into());
        }
        let received = calls::balance_of(token, this).saturating_sub(before);
        if received != amount {
            return Err(EscrowFeeOnTransfer {
                token,
                amount,
                received,
            }
            .into());
        }
        Ok(())
    }

    /// Pays `amount` to `to`, or credits it to `to` if the token refuses, so one party's
    /// blocked address never holds up another's money.
    fn pay(&mut self, token: Address, to: Address, amount: U256) -> Result<(), Error> {
        if amount.is_zero() || calls::transfer(token, to, amount) {
            return Ok(());
        }
        let credited = self
            .claimable(token, to)
            .checked_add(amount)
            .ok_or(EscrowAccounting { id: U256::ZERO })?;
        self.claimable
            .setter(key(token))
            .setter(key(to))
            .write(value::WORD, credited);
        Emit::emit(PayoutCredited {
            token,
            account: to,
            amount,
        });
        Ok(())
    }

    /// Ends an Active session at `at` (or when its funds ran out, if earlier) and pays
    /// everyone. State is written before any transfer.
    /// `ender` is whose doing the end is: [`SILENT_STUDENT`], [`SILENT_TUTOR`] or neither.
    fn settle(&mut self, id: U256, at: u64, by: Address, ender: u8) -> Result<(), Error> {
        let by_student = ender == SILENT_STUDENT;
        let accrual = self.accrual(id);
        let exhausted = accrual.exhausted_at();
        let end = at.min(exhausted);
        let s = self.sessions.get(key(id));
        let booked = s.uint(session::BOOKED);
        let billed = accrual.billed_at(billed_until(accrual.start, end, booked, by_student));
        let (student, tutor) = (s.address(session::STUDENT), s.address(session::TUTOR));
        let split = minuto_accrual::settle(
            accrual.deposited,
            billed,
            s.uint(session::FEE_BPS) as u16,
            s.wide(session::WITHDRAWN),
        )
        .map_err(|_| EscrowAccounting { id })?;

        let mut s = self.sessions.setter(key(id));
        s.set_uint(session::STATE, State::Ended as u64);
        s.set_uint(session::END, end);
        if booked != 0 && !by_student {
            // Not the student's doing: the seconds held, and the `billed` view says so.
            // Marked when the tutor's, unless the deposit ran out.
            let mark = if ender == SILENT_TUTOR && end < exhausted {
                TUTOR_ENDED
            } else {
                1
            };
            s.set_uint(session::BOOKED, mark);
        }

        let token = self.token_of(id);
        let (tutor_paid, fee, refund) = (word(split.tutor), word(split.fee), word(split.student));
        self.pay(token, tutor, tutor_paid)?;
        let treasury = self.settings.address(settings::TREASURY);
        self.pay(token, treasury, fee)?;
        self.pay(token, student, refund)?;
        Emit::emit(SessionEnded {
            id,
            by,
            end,
            billed: word(billed),
            tutorPaid: tutor_paid,
            fee,
            refund,
        });
        Ok(())
    }
}

/// The deployed program's entry: every call goes through the hand-written router.
#[cfg(all(target_arch = "wasm32", not(feature = "export-abi")))]
#[entrypoint]
fn escrow_entrypoint(input: Vec<u8>, host: stylus_sdk::host::VM) -> stylus_sdk::ArbResult {
    // SAFETY: the contract's storage at its root, as the SDK's own router creates it.
    let mut escrow =
        unsafe { <SessionEscrow as stylus_sdk::storage::StorageType>::new(U256::ZERO, 0, host) };
    escrow.dispatch(&input)
}

#[cfg(all(target_arch = "wasm32", not(feature = "export-abi")))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
