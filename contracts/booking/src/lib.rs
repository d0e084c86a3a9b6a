//! # Minuto booking (DESIGN.md §7, issue #15)
//!
//! Scheduled lessons, pre-funded, with double opt-in and cancellation and no-show rules
//! enforced on chain. At its start window a booked lesson becomes an ordinary escrow
//! session between the same parties at the locked rate.
//!
//! ```text
//! Requested ──accept──▶ Accepted ──join (window)──▶ Joined ──reportTutorNoShow──▶ TutorNoShow
//!  │  │  │                │  │  │                         └──reportTutorEarlyEnd──▶ TutorEndedEarly
//!  │  │  │                │  │  ├──join, the escrow would refuse (paused, …)──▶ JoinRefused
//!  │  │  │                │  │  └──claimNoShow (window closed)──▶ StudentNoShow
//!  │  │  │                │  └──cancel (student: free / late fee; tutor: counted)──▶ Cancelled
//!  │  │  └──cancel (student)──▶ Cancelled
//!  │  └──decline (tutor)──▶ Declined
//!  └──expire (anyone, after the answer deadline)──▶ Expired
//! ```
//!
//! - **Terms**: each tutor publishes a rate per token ([`setRate`](Booking::set_rate)) and
//!   one cancellation policy ([`setPolicy`](Booking::set_policy)): a free-cancellation
//!   notice, a late-cancellation fee and a no-show fee, in basis points of the booked
//!   price, capped by [`rules::MAX_LATE_CANCEL_FEE_BPS`] and
//!   [`rules::MAX_NO_SHOW_FEE_BPS`]. A request snapshots the policy: later changes never
//!   touch a booking already made.
//! - **Request**: the student names tutor, token, start, duration, a rate at most the
//!   tutor's published one, an optional credential kind and an answer deadline; the
//!   deposit (at least the booked price, `floor(duration × rate / 10^18)`) is pulled now.
//! - **Money**: every booking's deposit ends up, to the base unit, as refunds to the
//!   student, a fee to the tutor, and what `join` moves into the escrow.
//! - **Join** (student, from 5 minutes before to 10 after the start): the price goes into
//!   a new escrow session (`openFor` on the escrow, which registered this contract), the
//!   rest of the deposit back to the student. The tutor `start`s it in the escrow as any
//!   session. Should the tutor never start it, anyone may
//!   [`reportTutorNoShow`](Booking::report_tutor_no_show) once the escrow's start window
//!   is over: the escrow refunds the student in full and the tutor's no-show count grows.
//!   Neither party may cancel such a session in the escrow before its start window has
//!   passed (the escrow's rule for sessions opened with `openFor`): a student cannot join
//!   and cancel to dodge a late fee, nor a tutor cancel to dodge a no-show. A student who
//!   ends the session early pays its minimum time (the larger fee's share); a tutor who
//!   ends it short of the booked duration (own stop, or silence) is counted an early end
//!   once anyone [`reportTutorEarlyEnd`](Booking::report_tutor_early_end)s it.
//!
//! - **Series**: [`requestSeries`](Booking::request_series) books 2 to 52 lessons an
//!   interval apart as bookings of their own, pre-funded in one pull, or lesson by lesson
//!   ([`fund`](Booking::fund) by a deadline never inside the free notice; a lesson not
//!   funded by then expires for nothing); the `…Series` calls apply `accept`, `decline`,
//!   `expire` or `cancel` to every lesson of a series they fit, on each lesson's own
//!   terms, with one payout per party.
//!
//! Payouts a token refuses (a blocked address) are credited and [`claim`](Booking::claim)ed
//! later, so one party's blocked account never traps the other's money. State is written
//! before every external call (but join's session id, which the escrow's answer gives);
//! events follow.
//!
//! The deployed program routes calls by hand ([`router`]); `#[public]` serves the ABI
//! export and the host tests' VM. Errors and events are ABI-encoded by hand
//! ([`minuto_wire`]), as in the other contracts.
#![cfg_attr(target_arch = "wasm32", no_std)]

#[macro_use]
extern crate alloc;

mod calls;
mod router;
pub mod rules;

use alloc::vec::Vec;

use alloy_primitives::{Address, U256};
use minuto_wire::{small, to_u128, u128_slot, uint, wide, word, Word};
use stylus_sdk::{
    prelude::*,
    storage::{
        StorageAddress, StorageMap, StorageU128, StorageU16, StorageU256, StorageU32, StorageU64,
        StorageU8,
    },
};

use rules::{Split, StudentCancel, MAX_DURATION, MAX_FREE_NOTICE, MAX_LATE_CANCEL_FEE_BPS};
pub use rules::{
    JOIN_EARLY, JOIN_LATE, MAX_NO_SHOW_FEE_BPS, MAX_SERIES_INTERVAL, MAX_SERIES_LESSONS,
};

/// The deployed program's entry: every call goes through the hand-written router.
#[cfg(all(target_arch = "wasm32", not(feature = "export-abi")))]
#[entrypoint]
fn booking_entrypoint(input: Vec<u8>, host: stylus_sdk::host::VM) -> stylus_sdk::ArbResult {
    // SAFETY: the contract's storage at its root, as the SDK's own router creates it.
    let mut booking =
        unsafe { <Booking as stylus_sdk::storage::StorageType>::new(U256::ZERO, 0, host) };
    booking.dispatch(&input)
}

/// Bare-metal WASM has no unwinding: a panic (which no code path should reach) traps.
#[cfg(all(target_arch = "wasm32", not(feature = "export-abi")))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Where a booking stands, stored as one byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    /// No such booking.
    None = 0,
    /// Funded, waiting for the tutor's answer.
    Requested = 1,
    /// The tutor accepted; the lesson is on.
    Accepted = 2,
    /// The tutor declined; the deposit went back.
    Declined = 3,
    /// Not answered by the deadline; the deposit went back.
    Expired = 4,
    /// Cancelled by the student (in time, late, or before an answer) or the tutor.
    Cancelled = 5,
    /// The student joined: the lesson is an escrow session (`sessionId`).
    Joined = 6,
    /// The student never joined in the window: the no-show fee went to the tutor.
    StudentNoShow = 7,
    /// The student joined but the tutor never started the session: refunded in full by
    /// the escrow, counted against the tutor.
    TutorNoShow = 8,
    /// The student came to join, but the escrow would have refused the session for a
    /// reason outside the student's control (paused, the token delisted, this contract
    /// not its registered booking contract): the whole deposit went back, no fee.
    JoinRefused = 9,
    /// The tutor ended the joined lesson's session (own stop, or silence) before the
    /// booked duration was held: the student paid the seconds held, and it is counted
    /// against the tutor.
    TutorEndedEarly = 10,
}

impl State {
    fn from_u64(v: u64) -> Self {
        match v {
            1 => Self::Requested,
            2 => Self::Accepted,
            3 => Self::Declined,
            4 => Self::Expired,
            5 => Self::Cancelled,
            6 => Self::Joined,
            7 => Self::StudentNoShow,
            8 => Self::TutorNoShow,
            9 => Self::JoinRefused,
            10 => Self::TutorEndedEarly,
            _ => Self::None,
        }
    }
}

pub use sol::*;

mod sol {
    use alloy_sol_types::sol;
    use stylus_sdk::prelude::*;

    sol! {
        #![sol(all_derives)]
        // abi:begin
        /// A booking, as `booking(id)` returns it. `rate` is base units a second × 1e18; the policy fields are the tutor's, snapshotted at request; `sessionId` is the escrow session once joined (0 before); `fundBy` is the time by which the student must `fund` a lesson of a series funded lesson by lesson (0: its deposit is held).
        #[derive(AbiType)]
        struct BookingView {
            address student;
            address tutor;
            address token;
            uint64 start;
            uint32 duration;
            uint256 rate;
            uint256 deposit;
            uint32 credentialKind;
            uint64 answerDeadline;
            uint32 freeNotice;
            uint16 lateCancelFeeBps;
            uint16 noShowFeeBps;
            uint8 state;
            uint256 sessionId;
            uint64 fundBy;
        }

        /// `tutor` takes bookings in `token` at up to `rate` (base units a second × 1e18; 0: none).
        event RateSet(address indexed tutor, address indexed token, uint256 rate);
        /// `tutor`'s cancellation policy for bookings requested from now on: cancellations at least `freeNotice` seconds before the start are free; later ones cost `lateCancelFeeBps` of the price; a student no-show costs `noShowFeeBps` of it.
        event PolicySet(address indexed tutor, uint32 freeNotice, uint16 lateCancelFeeBps, uint16 noShowFeeBps);
        /// A student requested a lesson and `deposit` was pulled in; the tutor's policy at this moment holds for it.
        event BookingRequested(uint256 indexed id, address indexed student, address indexed tutor, address token, uint64 start, uint32 duration, uint256 rate, uint256 deposit, uint32 credentialKind, uint64 answerDeadline, uint32 freeNotice, uint16 lateCancelFeeBps, uint16 noShowFeeBps);
        /// A student requested a series of `lessons` lessons with `tutor`, `interval` seconds apart, booked as `lessons` bookings with ids `firstId` to `firstId + lessons - 1` (each with its own `BookingRequested`, emitted before this), all pre-funded now.
        event SeriesRequested(uint256 indexed firstId, address indexed student, address indexed tutor, uint16 lessons, uint32 interval);
        /// Lesson `id` of a series funded lesson by lesson was booked without its deposit, which the student must `fund` by `fundBy` (emitted after its `BookingRequested`).
        event BookingFundingDue(uint256 indexed id, uint64 fundBy);
        /// The student funded lesson `id`: `amount`, its deposit, was pulled in.
        event BookingFunded(uint256 indexed id, uint256 amount);
        /// The tutor accepted booking `id`.
        event BookingAccepted(uint256 indexed id, address indexed tutor);
        /// The tutor declined booking `id`; `refund` went back to the student.
        event BookingDeclined(uint256 indexed id, address indexed tutor, uint256 refund);
        /// Booking `id` was not answered by its deadline; `by` closed it and `refund` went back to the student.
        event BookingExpired(uint256 indexed id, address indexed by, uint256 refund);
        /// `by` (the student or the tutor) cancelled booking `id`: `tutorFee` to the tutor (a late cancellation by the student), `refund` to the student.
        event BookingCancelled(uint256 indexed id, address indexed by, uint256 tutorFee, uint256 refund);
        /// The student joined booking `id`: `escrowed` (the booked price) opened escrow session `sessionId`, `refund` (the rest of the deposit) went back to the student.
        event BookingJoined(uint256 indexed id, uint256 indexed sessionId, uint256 escrowed, uint256 refund);
        /// The student never joined booking `id`; `by` settled it: `tutorFee` to the tutor, `refund` to the student.
        event BookingStudentNoShow(uint256 indexed id, address indexed by, uint256 tutorFee, uint256 refund);
        /// The tutor never started escrow session `sessionId` of booking `id`; `by` had the escrow cancel it (the student's full refund) and the tutor's no-show count grew.
        event BookingTutorNoShow(uint256 indexed id, uint256 indexed sessionId, address indexed by);
        /// The tutor ended escrow session `sessionId` of booking `id` (own stop, or silence) after `held` seconds, short of the booked duration; `by` reported it and the tutor's early-end count grew.
        event BookingTutorEndedEarly(uint256 indexed id, uint256 indexed sessionId, address indexed by, uint64 held);
        /// The student came to join booking `id` in its window, but the escrow would have refused the session for a reason outside the student's control (`reason`: 1 this contract is not the escrow's registered booking contract, 2 the escrow is paused, 3 the escrow no longer takes the token): `refund`, the whole deposit, went back to the student and the booking ended, with no fee to anyone.
        event BookingJoinRefused(uint256 indexed id, uint8 reason, uint256 refund);
        /// A payout the token refused was credited to `account`, to claim later.
        event PayoutCredited(address indexed token, address indexed account, uint256 amount);
        /// `account` claimed its credited payouts, sent to `to`.
        event Claimed(address indexed token, address indexed account, address to, uint256 amount);

        /// A zero or unusable address: the constructor's escrow holds no code, a tutor is zero or the student themself, or a claim goes to zero.
        error BookingInvalidAddress(address account);
        /// No booking has this id.
        error BookingUnknown(uint256 id);
        /// The booking is not in a state that allows this call (1 requested, 2 accepted, 3 declined, 4 expired, 5 cancelled, 6 joined, 7 student no-show, 8 tutor no-show, 9 join refused by the escrow, 10 tutor ended early).
        error BookingInvalidState(uint256 id, uint8 state);
        /// `caller` is not the party allowed to do this to the booking.
        error BookingUnauthorized(uint256 id, address caller);
        /// A rate above 2^128 − 1 (or zero, in a request).
        error BookingInvalidRate(uint256 rate);
        /// A policy over the caps: a notice over 7 days, a late-cancellation fee over 5,000 bps, a no-show fee over 10,000 bps.
        error BookingInvalidPolicy(uint32 freeNotice, uint16 lateCancelFeeBps, uint16 noShowFeeBps);
        /// `rate` is above what `tutor` publishes for `token` (`tutorRate`; 0: the tutor takes no bookings in it).
        error BookingRateAboveTutorRate(address tutor, address token, uint256 rate, uint256 tutorRate);
        /// A duration of zero or over one day.
        error BookingInvalidDuration(uint32 duration);
        /// The times must satisfy `now ≤ answerDeadline < start`.
        error BookingInvalidTimes(uint64 start, uint64 answerDeadline, uint64 now);
        /// `tutor`'s current policy is harsher than the bounds the request named (a longer free-cancellation notice, or a higher fee): the tutor changed it since the student looked.
        error BookingPolicyAboveBounds(address tutor, uint32 freeNotice, uint16 lateCancelFeeBps, uint16 noShowFeeBps);
        /// `duration` seconds at `rate` bill nothing: there is no lesson to pay for.
        error BookingZeroPrice(uint256 rate, uint32 duration);
        /// A deposit above 2^128 − 1.
        error BookingInvalidAmount(uint256 amount);
        /// The deposit must cover the booked price.
        error BookingDepositTooLow(uint256 deposit, uint256 price);
        /// The escrow does not take `token`: a booking in it could never become a session.
        error BookingTokenNotAllowed(address token);
        /// The token refused a transfer or approval the call needed.
        error BookingTransferFailed(address token, address to, uint256 amount);
        /// A pull of `amount` left this contract only `received` richer (fee-on-transfer and rebasing tokens are refused).
        error BookingFeeOnTransfer(address token, uint256 amount, uint256 received);
        /// The booking requires credential `kind`, which `tutor` does not validly hold in the credentials contract the escrow checks: the tutor could not start the session.
        error BookingCredentialRequired(uint256 id, address tutor, uint32 kind);
        /// The tutor's answer deadline passed (anyone may now `expire` the request).
        error BookingAnswerDeadlinePassed(uint256 id, uint64 answerDeadline);
        /// The tutor may still answer until `answerDeadline`.
        error BookingAnswerDeadlineNotPassed(uint256 id, uint64 answerDeadline);
        /// The lesson starts at `start`: from then on the student joins or is a no-show.
        error BookingTooLateToCancel(uint256 id, uint64 start);
        /// Joining is possible only from `opens` to `closes`.
        error BookingOutsideJoinWindow(uint256 id, uint64 opens, uint64 closes);
        /// The student may still join until `closes`.
        error BookingJoinWindowOpen(uint256 id, uint64 closes);
        /// A series of fewer than 2 or more than 52 lessons, lessons closer than their `duration` or more than 90 days apart, a last lesson after 2^64 − 1 s, or a `fundLead` (other than 0) shorter than the tutor's free-cancellation notice or longer than 90 days.
        error BookingInvalidSeries(uint16 lessons, uint32 interval, uint32 duration, uint32 fundLead);
        /// Booking `id`'s funding does not allow this call: `funded` says whether its deposit is held, `fundBy` is when an unfunded lesson's deposit is due. Joining and claiming a no-show need the deposit; `fund` needs an unfunded lesson, by `fundBy` (after it, the lesson can only be expired).
        error BookingFunding(uint256 id, uint64 fundBy, bool funded);
        /// No series starts at booking `firstId`.
        error BookingUnknownSeries(uint256 firstId);
        /// No lesson of series `firstId` is in a state (or, for a cancellation, a time) this call applies to.
        error BookingSeriesNothingLeft(uint256 firstId);
        /// Escrow session `sessionId` of booking `id` was not ended early by its tutor: it still runs, the student ended it, its deposit ran out, or it held the booked duration.
        error BookingNotEndedEarly(uint256 id, uint256 sessionId);
        /// No credited payout of this token to claim.
        error BookingNothingToClaim(address token, address account);
        /// No fresh booking id is left, or a credited total would overflow (unreachable in practice).
        error BookingAccounting();
        // abi:end
    }
}

/// The escrow's own revert data, passed on unchanged (as a Solidity call without `try`
/// does) when `join` or `reportTutorNoShow` fails there: its typed errors are in
/// `abi/ISessionEscrow.sol`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscrowRevert(pub Vec<u8>);

fn escrow_revert(e: EscrowRevert) -> Vec<u8> {
    e.0
}

minuto_wire::errors! {
    #[derive(Debug, PartialEq, Eq)]
    InvalidAddress(BookingInvalidAddress { account }),
    Unknown(BookingUnknown { id }),
    InvalidState(BookingInvalidState { id, state }),
    Unauthorized(BookingUnauthorized { id, caller }),
    InvalidRate(BookingInvalidRate { rate }),
    InvalidPolicy(BookingInvalidPolicy { freeNotice, lateCancelFeeBps, noShowFeeBps }),
    RateAboveTutorRate(BookingRateAboveTutorRate { tutor, token, rate, tutorRate }),
    InvalidDuration(BookingInvalidDuration { duration }),
    InvalidTimes(BookingInvalidTimes { start, answerDeadline, now }),
    PolicyAboveBounds(BookingPolicyAboveBounds { tutor, freeNotice, lateCancelFeeBps, noShowFeeBps }),
    ZeroPrice(BookingZeroPrice { rate, duration }),
    InvalidAmount(BookingInvalidAmount { amount }),
    DepositTooLow(BookingDepositTooLow { deposit, price }),
    TokenNotAllowed(BookingTokenNotAllowed { token }),
    TransferFailed(BookingTransferFailed { token, to, amount }),
    FeeOnTransfer(BookingFeeOnTransfer { token, amount, received }),
    CredentialRequired(BookingCredentialRequired { id, tutor, kind }),
    AnswerDeadlinePassed(BookingAnswerDeadlinePassed { id, answerDeadline }),
    AnswerDeadlineNotPassed(BookingAnswerDeadlineNotPassed { id, answerDeadline }),
    TooLateToCancel(BookingTooLateToCancel { id, start }),
    OutsideJoinWindow(BookingOutsideJoinWindow { id, opens, closes }),
    JoinWindowOpen(BookingJoinWindowOpen { id, closes }),
    InvalidSeries(BookingInvalidSeries { lessons, interval, duration, fundLead }),
    Funding(BookingFunding { id, fundBy, funded }),
    UnknownSeries(BookingUnknownSeries { firstId }),
    SeriesNothingLeft(BookingSeriesNothingLeft { firstId }),
    NotEndedEarly(BookingNotEndedEarly { id, sessionId }),
    NothingToClaim(BookingNothingToClaim { token, account }),
    Accounting(BookingAccounting {}),
    ;
    Escrow(EscrowRevert) => escrow_revert,
}

/// Events this contract emits, each as its indexed words and data words (every field is
/// static), written out instead of the SDK's generic encoder (about 1 KB of WASM per
/// event); the tests check the bytes against alloy's encoding.
trait Emit {
    fn emit(self);
}

macro_rules! events {
    ($($ty:ident { [$($i:ident),*] [$($d:ident),*] },)*) => {$(
        impl Emit for $ty {
            fn emit(self) {
                use alloy_sol_types::SolEvent;
                minuto_wire::log(&[Self::SIGNATURE_HASH, $(self.$i.word()),*], &[$(self.$d.word()),*], &[]);
            }
        }
    )*};
}

events! {
    RateSet { [tutor, token] [rate] },
    PolicySet { [tutor] [freeNotice, lateCancelFeeBps, noShowFeeBps] },
    BookingRequested { [id, student, tutor] [token, start, duration, rate, deposit, credentialKind, answerDeadline, freeNotice, lateCancelFeeBps, noShowFeeBps] },
    SeriesRequested { [firstId, student, tutor] [lessons, interval] },
    BookingFundingDue { [id] [fundBy] },
    BookingFunded { [id] [amount] },
    BookingAccepted { [id, tutor] [] },
    BookingDeclined { [id, tutor] [refund] },
    BookingExpired { [id, by] [refund] },
    BookingCancelled { [id, by] [tutorFee, refund] },
    BookingJoined { [id, sessionId] [escrowed, refund] },
    BookingStudentNoShow { [id, by] [tutorFee, refund] },
    BookingTutorNoShow { [id, sessionId, by] [] },
    BookingTutorEndedEarly { [id, sessionId, by] [held] },
    BookingJoinRefused { [id] [reason, refund] },
    PayoutCredited { [token, account] [amount] },
    Claimed { [token, account] [to, amount] },
}

// `BookingView` reaches `abi/` through the `abi:begin` fragment, with its docs.
#[cfg(feature = "export-abi")]
impl stylus_sdk::abi::export::internal::InnerTypes for BookingView {}

/// One booking in five slots (four at request, the fifth at join, or at request for a
/// lesson funded later): slot 0 `student | start | duration`, slot 1 `tutor |
/// answer_deadline | credential_kind`, slot 2 `token | state | late_cancel_fee_bps |
/// no_show_fee_bps | free_notice`, slot 3 `rate | deposit`, slot 4 `session_id | fund_by`
/// (`fund_by` 0: the deposit is held).
#[storage]
pub struct BookingRecord {
    student: StorageAddress,
    start: StorageU64,
    duration: StorageU32,
    tutor: StorageAddress,
    answer_deadline: StorageU64,
    credential_kind: StorageU32,
    token: StorageAddress,
    state: StorageU8,
    late_cancel_fee_bps: StorageU16,
    no_show_fee_bps: StorageU16,
    free_notice: StorageU32,
    rate: StorageU128,
    deposit: StorageU128,
    session_id: StorageU64,
    fund_by: StorageU64,
}

/// A tutor's cancellation policy (one slot).
#[storage]
pub struct Policy {
    free_notice: StorageU32,
    late_cancel_fee_bps: StorageU16,
    no_show_fee_bps: StorageU16,
}

/// A series of lessons, keyed by its first booking id (one slot).
#[storage]
pub struct SeriesRecord {
    lessons: StorageU16,
    interval: StorageU32,
}

/// What the chain remembers against a tutor (one slot).
#[storage]
pub struct TutorRecord {
    cancellations: StorageU64,
    no_shows: StorageU64,
    early_ends: StorageU64,
}

/// The booking contract. The deployed program routes calls with
/// [`dispatch`](Booking::dispatch); host builds (tests, ABI export) with the SDK's router.
#[cfg_attr(
    not(all(target_arch = "wasm32", not(feature = "export-abi"))),
    entrypoint
)]
#[storage]
pub struct Booking {
    /// Slot: `escrow | count`.
    escrow: StorageAddress,
    /// Bookings made (ids run from 1 to this).
    count: StorageU64,
    bookings: StorageMap<U256, BookingRecord>,
    /// tutor → token → published rate.
    rates: StorageMap<Address, StorageMap<Address, StorageU128>>,
    policies: StorageMap<Address, Policy>,
    tutors: StorageMap<Address, TutorRecord>,
    /// first booking id → its series (none for a single lesson).
    series: StorageMap<U256, SeriesRecord>,
    /// token → account → credited payouts.
    claimable: StorageMap<Address, StorageMap<Address, StorageU256>>,
}

/// What one call does to each booking it applies to.
#[derive(Clone, Copy)]
enum Op {
    Accept,
    Decline,
    Expire,
    Cancel,
}

/// What a booking's money calls need: parties, token, amounts, fees.
struct Terms {
    state: State,
    student: Address,
    tutor: Address,
    token: Address,
    start: u64,
    /// The deposit held: 0 for a lesson not funded yet.
    deposit: u128,
    price: u128,
    /// When an unfunded lesson's deposit is due (0: funded).
    fund_by: u64,
}

#[public]
impl Booking {
    /// Sets the escrow whose sessions booked lessons become (it must register this
    /// contract with `setBooking` before anyone can join). There is no admin: the rules
    /// are the contract's constants and each tutor's own terms.
    ///
    /// # Errors
    /// `BookingInvalidAddress` when `escrow` holds no code.
    ///
    /// # Events
    /// None.
    #[constructor]
    pub fn constructor(&mut self, escrow: Address) -> Result<(), Error> {
        if !minuto_wire::has_code(escrow) {
            return Err(BookingInvalidAddress { account: escrow }.into());
        }
        self.escrow.set(escrow);
        Ok(())
    }

    // ---- tutors' terms ------------------------------------------------------------

    /// The caller, a tutor, takes bookings in `token` at a rate of up to `rate` (base
    /// units a second × 10^18); 0 takes none. Bookings already requested keep their rate.
    ///
    /// # Errors
    /// `BookingInvalidRate` above 2^128 − 1.
    ///
    /// # Events
    /// `RateSet`.
    pub fn set_rate(&mut self, token: Address, rate: U256) -> Result<(), Error> {
        let tutor = host::sender();
        let value = to_u128(rate).ok_or(BookingInvalidRate { rate })?;
        self.rates.setter(tutor).setter(token).set(u128_slot(value));
        Emit::emit(RateSet { tutor, token, rate });
        Ok(())
    }

    /// The caller, a tutor, sets the cancellation policy that bookings requested from now
    /// on take: free cancellation up to `free_notice` seconds before the start (at most 7
    /// days), `late_cancel_fee_bps` of the booked price after that (at most 5,000), and
    /// `no_show_fee_bps` of it when the student never joins (at most 10,000).
    ///
    /// # Errors
    /// `BookingInvalidPolicy` over a cap.
    ///
    /// # Events
    /// `PolicySet`.
    pub fn set_policy(
        &mut self,
        free_notice: u32,
        late_cancel_fee_bps: u16,
        no_show_fee_bps: u16,
    ) -> Result<(), Error> {
        if free_notice > MAX_FREE_NOTICE
            || late_cancel_fee_bps > MAX_LATE_CANCEL_FEE_BPS
            || no_show_fee_bps > MAX_NO_SHOW_FEE_BPS
        {
            return Err(BookingInvalidPolicy {
                freeNotice: free_notice,
                lateCancelFeeBps: late_cancel_fee_bps,
                noShowFeeBps: no_show_fee_bps,
            }
            .into());
        }
        let tutor = host::sender();
        let mut p = self.policies.setter(tutor);
        p.free_notice.set(uint::<32>(free_notice));
        p.late_cancel_fee_bps.set(uint::<16>(late_cancel_fee_bps));
        p.no_show_fee_bps.set(uint::<16>(no_show_fee_bps));
        Emit::emit(PolicySet {
            tutor,
            freeNotice: free_notice,
            lateCancelFeeBps: late_cancel_fee_bps,
            noShowFeeBps: no_show_fee_bps,
        });
        Ok(())
    }

    // ---- the booking's life cycle ---------------------------------------------------

    /// The caller, a student, requests a lesson with `tutor` in `token` starting at
    /// `start` for `duration` seconds at `rate` (at most the tutor's published rate for
    /// the token), optionally requiring a credential `credential_kind` (0: none; the
    /// escrow checks it when the tutor starts), to be answered by `answer_deadline`
    /// (before the start). Pulls `deposit` (at least the booked price) now and snapshots
    /// the tutor's policy, which must be no harsher than the student's bounds: a
    /// free-cancellation notice of at most `max_free_notice`, fees of at most
    /// `max_late_cancel_fee_bps` and `max_no_show_fee_bps` (a policy the tutor changed
    /// while the request was on its way does not bind the student). Returns the booking
    /// id.
    ///
    /// # Errors
    /// `BookingInvalidAddress` (zero tutor, or the caller); `BookingInvalidDuration`;
    /// `BookingInvalidTimes`; `BookingPolicyAboveBounds`; `BookingInvalidRate` (zero or
    /// too large);
    /// `BookingRateAboveTutorRate`; `BookingZeroPrice`; `BookingInvalidAmount`;
    /// `BookingDepositTooLow`; `BookingTokenNotAllowed` (by the escrow);
    /// `BookingTransferFailed`, `BookingFeeOnTransfer` (the pull); `BookingAccounting`.
    ///
    /// # Events
    /// `BookingRequested`.
    #[allow(clippy::too_many_arguments)]
    pub fn request(
        &mut self,
        tutor: Address,
        token: Address,
        start: u64,
        duration: u32,
        rate: U256,
        deposit: U256,
        credential_kind: u32,
        answer_deadline: u64,
        max_free_notice: u32,
        max_late_cancel_fee_bps: u16,
        max_no_show_fee_bps: u16,
    ) -> Result<U256, Error> {
        self.book(
            tutor,
            token,
            start,
            0,
            1,
            0,
            duration,
            rate,
            deposit,
            credential_kind,
            answer_deadline,
            [
                max_free_notice,
                max_late_cancel_fee_bps.into(),
                max_no_show_fee_bps.into(),
            ],
        )
    }

    /// The tutor accepts a requested booking, by its answer deadline. A booking that
    /// requires a credential kind needs the tutor to hold a valid one now, in the
    /// credentials contract the escrow checks when the session starts (it is checked
    /// again there: a credential may lapse in between).
    ///
    /// # Errors
    /// `BookingUnknown`; `BookingInvalidState` unless requested; `BookingUnauthorized`
    /// unless the caller is the tutor; `BookingAnswerDeadlinePassed`;
    /// `BookingCredentialRequired`.
    ///
    /// # Events
    /// `BookingAccepted`.
    pub fn accept(&mut self, id: U256) -> Result<(), Error> {
        self.run(id, false, Op::Accept)
    }

    /// The tutor declines a requested booking (at any time before it is answered or
    /// expired); the whole deposit held goes back to the student (none for a lesson of a
    /// series not funded yet).
    ///
    /// # Errors
    /// `BookingUnknown`; `BookingInvalidState` unless requested; `BookingUnauthorized`
    /// unless the caller is the tutor; `BookingAccounting`.
    ///
    /// # Events
    /// `BookingDeclined`, then `PayoutCredited` if the token refuses the refund.
    pub fn decline(&mut self, id: U256) -> Result<(), Error> {
        self.run(id, false, Op::Decline)
    }

    /// Anyone closes a request the tutor did not answer by its deadline, or a lesson of a
    /// series that was not funded by its `fundBy` (requested or accepted); the deposit
    /// held goes back to the student (none for a lesson never funded).
    ///
    /// # Errors
    /// `BookingUnknown`; `BookingInvalidState` unless requested (or unfunded past its
    /// `fundBy`); `BookingAnswerDeadlineNotPassed` before the answer deadline;
    /// `BookingAccounting`.
    ///
    /// # Events
    /// `BookingExpired`, then `PayoutCredited` if the token refuses the refund.
    pub fn expire(&mut self, id: U256) -> Result<(), Error> {
        self.run(id, false, Op::Expire)
    }

    /// Cancels a booking. The student: a request not yet answered, or an accepted lesson
    /// at least the snapshotted free notice before its start, for the whole deposit back;
    /// an accepted lesson later than that but before its start for the deposit minus the
    /// late-cancellation fee, which goes to the tutor. The tutor: an accepted lesson, at
    /// any time before the student joins, for the student's whole deposit back; the
    /// tutor's cancellation count grows. (A tutor answers a request with `decline`.) A
    /// lesson of a series not funded yet holds nothing: its cancellation moves nothing.
    ///
    /// # Errors
    /// `BookingUnknown`; `BookingUnauthorized` for anyone else; `BookingInvalidState`
    /// (the student: unless requested or accepted; the tutor: unless accepted);
    /// `BookingTooLateToCancel` (the student, from the start on); `BookingAccounting`.
    ///
    /// # Events
    /// `BookingCancelled`, then `PayoutCredited` for each refused payout (the tutor's
    /// fee first).
    pub fn cancel(&mut self, id: U256) -> Result<(), Error> {
        self.run(id, false, Op::Cancel)
    }

    // ---- series -------------------------------------------------------------------

    /// The caller, a student, requests a series of `lessons` lessons (2 to 52) with
    /// `tutor`, the first at `first_start` and each next one `interval` seconds later
    /// (from the lesson's `duration` up to 90 days: every week is 604,800), all on the
    /// terms of [`request`](Booking::request): each lesson is a booking of its own (ids
    /// `firstId` to `firstId + lessons − 1`, returned `firstId`), with the same rate,
    /// answer deadline (before the first start) and policy snapshot, and
    /// `deposit_per_lesson` each. With `fund_lead` 0 every deposit is pulled now, in one
    /// transfer. Otherwise (from the tutor's free-cancellation notice up to 90 days) the
    /// series is funded lesson by lesson: the lessons starting within `fund_lead` of now
    /// are pulled now (one transfer), each other one is booked without its deposit, which
    /// the student pulls in with [`fund`](Booking::fund) by `fund_lead` before its start;
    /// a lesson not funded by then can only be expired (nothing to refund, no fee: the
    /// deadline is never inside the free-cancellation notice). Each lesson is then
    /// answered, cancelled, joined and settled on its own, or the whole series at once
    /// with the `…Series` calls.
    ///
    /// # Errors
    /// `BookingInvalidSeries`; then those of `request`, with `BookingInvalidAmount` when
    /// the series' deposits add up to more than 2^128 − 1.
    ///
    /// # Events
    /// `BookingRequested` for each lesson (followed by `BookingFundingDue` for one funded
    /// later), then `SeriesRequested`.
    #[allow(clippy::too_many_arguments)]
    pub fn request_series(
        &mut self,
        tutor: Address,
        token: Address,
        first_start: u64,
        interval: u32,
        lessons: u16,
        duration: u32,
        rate: U256,
        deposit_per_lesson: U256,
        credential_kind: u32,
        answer_deadline: u64,
        max_free_notice: u32,
        max_late_cancel_fee_bps: u16,
        max_no_show_fee_bps: u16,
        fund_lead: u32,
    ) -> Result<U256, Error> {
        if !(2..=MAX_SERIES_LESSONS).contains(&lessons)
            || interval < duration
            || interval > MAX_SERIES_INTERVAL
            || fund_lead > MAX_SERIES_INTERVAL
        {
            return Err(BookingInvalidSeries {
                lessons,
                interval,
                duration,
                fundLead: fund_lead,
            }
            .into());
        }
        self.book(
            tutor,
            token,
            first_start,
            interval,
            lessons,
            fund_lead,
            duration,
            rate,
            deposit_per_lesson,
            credential_kind,
            answer_deadline,
            [
                max_free_notice,
                max_late_cancel_fee_bps.into(),
                max_no_show_fee_bps.into(),
            ],
        )
    }

    /// The student pulls in the deposit of lesson `id` of a series funded lesson by lesson
    /// (requested or accepted), by its `fundBy`.
    ///
    /// # Errors
    /// `BookingUnknown`; `BookingUnauthorized` unless the caller is the student;
    /// `BookingInvalidState` unless requested or accepted; `BookingFunding` when funded
    /// already or after `fundBy`; `BookingTransferFailed`, `BookingFeeOnTransfer`.
    ///
    /// # Events
    /// `BookingFunded`.
    pub fn fund(&mut self, id: U256) -> Result<(), Error> {
        let t = self.terms(id)?;
        only(id, t.student)?;
        if !matches!(t.state, State::Requested | State::Accepted) {
            return Err(invalid_state(id, t.state));
        }
        if t.fund_by == 0 || now() > t.fund_by {
            return Err(funding(id, &t));
        }
        let amount = word(wide(self.bookings.getter(id).deposit.get()));
        self.bookings.setter(id).fund_by.set(uint::<64>(0u64));
        self.pull(t.token, t.student, amount)?;
        Emit::emit(BookingFunded { id, amount });
        Ok(())
    }

    /// The tutor accepts every lesson of series `first_id` still requested, as
    /// [`accept`](Booking::accept) each (lessons the student cancelled are passed over).
    ///
    /// # Errors
    /// `BookingUnknownSeries`; `BookingSeriesNothingLeft` when no lesson is requested;
    /// `BookingUnauthorized`, `BookingAnswerDeadlinePassed`, `BookingCredentialRequired`
    /// as `accept`.
    ///
    /// # Events
    /// `BookingAccepted` for each lesson accepted.
    pub fn accept_series(&mut self, first_id: U256) -> Result<(), Error> {
        self.run(first_id, true, Op::Accept)
    }

    /// The tutor declines every lesson of series `first_id` still requested, as
    /// [`decline`](Booking::decline) each; their deposits go back in one transfer.
    ///
    /// # Errors
    /// `BookingUnknownSeries`; `BookingSeriesNothingLeft` when no lesson is requested;
    /// `BookingUnauthorized`; `BookingAccounting`.
    ///
    /// # Events
    /// `BookingDeclined` for each lesson declined, then `PayoutCredited` if the token
    /// refuses the refund.
    pub fn decline_series(&mut self, first_id: U256) -> Result<(), Error> {
        self.run(first_id, true, Op::Decline)
    }

    /// Anyone closes every lesson of series `first_id` still requested after the answer
    /// deadline, as [`expire`](Booking::expire) each; their deposits go back in one
    /// transfer.
    ///
    /// # Errors
    /// `BookingUnknownSeries`; `BookingSeriesNothingLeft` when no lesson is requested;
    /// `BookingAnswerDeadlineNotPassed`; `BookingAccounting`.
    ///
    /// # Events
    /// `BookingExpired` for each lesson, then `PayoutCredited` if the token refuses the
    /// refund.
    pub fn expire_series(&mut self, first_id: U256) -> Result<(), Error> {
        self.run(first_id, true, Op::Expire)
    }

    /// Cancels the rest of series `first_id`: every lesson the caller could
    /// [`cancel`](Booking::cancel) now, on the same terms each (the student: requested
    /// ones, and accepted ones not yet started, each free or with its late fee by its own
    /// start; the tutor: accepted ones, each counted); lessons already ended, joined or
    /// started are passed over. The fees go to the tutor in one transfer, the refunds to
    /// the student in another.
    ///
    /// # Errors
    /// `BookingUnknownSeries`; `BookingUnauthorized` for anyone else;
    /// `BookingSeriesNothingLeft` when no lesson can be cancelled; `BookingAccounting`.
    ///
    /// # Events
    /// `BookingCancelled` for each lesson cancelled, then `PayoutCredited` for each
    /// refused payout (the tutor's fees first).
    pub fn cancel_series(&mut self, first_id: U256) -> Result<(), Error> {
        self.run(first_id, true, Op::Cancel)
    }

    /// The student joins an accepted lesson in its window (from [`JOIN_EARLY`] seconds
    /// before the start to [`JOIN_LATE`] after): the booked price opens an escrow session
    /// between the same parties at the locked rate, with `student_key` signing the
    /// student's heartbeats and the booking's credential kind; the rest of the deposit
    /// goes back to the student. The tutor then `start`s the session in the escrow, within
    /// its start window: the escrow's configured one, but never ending before the join
    /// window closes (`openFor`'s `minStartWindow`), so a student joining early does not
    /// shorten the tutor's time. The session bills at least [`rules::min_billed`] seconds
    /// (the larger of the late and no-show fees' shares of the lesson) if the student ends
    /// it early, by `stop` or by going silent (`openFor`'s `minBilled`): joining and then
    /// leaving costs what cancelling late or not showing up would. Returns the escrow
    /// session id.
    ///
    /// Should the escrow refuse the session for a reason outside the student's control
    /// (this contract is not its registered booking contract, it is paused, or it no
    /// longer takes the token; checked through its views first), the booking ends as
    /// `JoinRefused` instead: the whole deposit goes back, no fee, and the call returns 0.
    ///
    /// The booking's state is written before the escrow is called; its session id only
    /// after, since the escrow's answer gives it (the entrypoint refuses re-entry).
    ///
    /// # Errors
    /// `BookingUnknown`; `BookingInvalidState` unless accepted; `BookingUnauthorized`
    /// unless the caller is the student; `BookingOutsideJoinWindow`;
    /// `BookingTransferFailed` if the token refuses the approval; the escrow's own errors
    /// from `openFor`, unchanged (`EscrowInvalidAddress` for a zero key, …);
    /// `BookingAccounting`.
    ///
    /// # Events
    /// The escrow's `SessionOpened`; `PayoutCredited` if the token refuses the refund;
    /// `BookingJoined`. Or, when the escrow would refuse: `PayoutCredited` if the token
    /// refuses the refund, `BookingJoinRefused`.
    pub fn join(&mut self, id: U256, student_key: Address) -> Result<U256, Error> {
        let t = self.terms(id)?;
        require_state(id, t.state, State::Accepted)?;
        only(id, t.student)?;
        if t.fund_by != 0 {
            return Err(funding(id, &t));
        }
        let (opens, closes) = rules::join_window(t.start);
        let now = now();
        if now < opens || now > closes {
            return Err(BookingOutsideJoinWindow { id, opens, closes }.into());
        }
        let escrow = self.escrow.get();
        // What would make the escrow refuse, and is none of the student's doing, ends the
        // booking with the whole deposit back instead of a revert (which would leave the
        // student to pay the no-show fee once the window closes). A view the escrow does
        // not answer counts as a refusal.
        let refused = if calls::registered_booking(escrow) != Some(host::this()) {
            1
        } else if calls::paused(escrow) != Some(false) {
            2
        } else if !calls::token_allowed(escrow, t.token) {
            3
        } else {
            0
        };
        if refused != 0 {
            self.set_state(id, State::JoinRefused);
            self.pay(t.token, t.student, t.deposit)?;
            Emit::emit(BookingJoinRefused {
                id,
                reason: refused,
                refund: word(t.deposit),
            });
            return Ok(U256::ZERO);
        }
        let (rate, kind, min_billed) = {
            let b = self.bookings.getter(id);
            let min_billed = rules::min_billed(
                small(b.duration.get()) as u32,
                small(b.late_cancel_fee_bps.get()) as u16,
                small(b.no_show_fee_bps.get()) as u16,
            );
            (
                b.rate.get(),
                small(b.credential_kind.get()) as u32,
                min_billed,
            )
        };
        // SAFETY: the request checked price ≤ deposit.
        let refund = t.deposit - t.price;
        self.set_state(id, State::Joined);
        let escrowed = word(t.price);
        if !calls::approve(t.token, escrow, escrowed) {
            return Err(BookingTransferFailed {
                token: t.token,
                to: escrow,
                amount: escrowed,
            }
            .into());
        }
        let session = calls::open_for(
            escrow,
            t.student,
            t.tutor,
            t.token,
            word(wide(rate)),
            escrowed,
            student_key,
            kind,
            // The tutor may start at least until the join window closes, however early
            // the student joined (≤ JOIN_EARLY + JOIN_LATE: `now` is inside the window).
            (closes - now) as u32,
            // Ended early by the student, it still bills the larger fee's share (H1).
            min_billed,
        )
        .map_err(|revert| Error::Escrow(EscrowRevert(revert)))?;
        // The escrow counts its sessions in 64 bits.
        self.bookings
            .setter(id)
            .session_id
            .set(uint::<64>(session.as_limbs()[0]));
        self.pay(t.token, t.student, refund)?;
        Emit::emit(BookingJoined {
            id,
            sessionId: session,
            escrowed,
            refund: word(refund),
        });
        Ok(session)
    }

    /// Settles an accepted lesson the student never joined, once its join window has
    /// closed: the snapshotted no-show fee of the booked price to the tutor, the rest of
    /// the deposit to the student. Anyone may call it (the tutor to be paid, the student
    /// to get the rest back, a keeper for either). While this contract is not the escrow's
    /// registered booking contract the student could not have joined: no fee, the whole
    /// deposit back.
    ///
    /// # Errors
    /// `BookingUnknown`; `BookingInvalidState` unless accepted; `BookingJoinWindowOpen`;
    /// `BookingAccounting`.
    ///
    /// # Events
    /// `PayoutCredited` for each refused payout, then `BookingStudentNoShow`.
    pub fn claim_no_show(&mut self, id: U256) -> Result<(), Error> {
        let t = self.terms(id)?;
        require_state(id, t.state, State::Accepted)?;
        if t.fund_by != 0 {
            return Err(funding(id, &t));
        }
        let (_, closes) = rules::join_window(t.start);
        if now() <= closes {
            return Err(BookingJoinWindowOpen { id, closes }.into());
        }
        let fee_bps = if calls::registered_booking(self.escrow.get()) == Some(host::this()) {
            small(self.bookings.getter(id).no_show_fee_bps.get()) as u16
        } else {
            0
        };
        let split = rules::split(t.deposit, t.price, fee_bps).ok_or(BookingAccounting {})?;
        self.set_state(id, State::StudentNoShow);
        self.pay(t.token, t.tutor, split.tutor)?;
        self.pay(t.token, t.student, split.student)?;
        Emit::emit(BookingStudentNoShow {
            id,
            by: host::sender(),
            tutorFee: word(split.tutor),
            refund: word(split.student),
        });
        Ok(())
    }

    /// The student joined but the tutor never started the escrow session: once the
    /// escrow's start window is over, anyone has the escrow cancel the session (the
    /// escrow refunds the student in full) and the tutor's no-show count grows. The
    /// escrow decides whether the window is over: nobody may cancel a session this
    /// contract opened before its start window has passed, so its `cancel` succeeds only
    /// for an unstarted session past it, and a session someone already cancelled (the
    /// student, after the window) was never started either: it is counted the same,
    /// without a second cancel.
    ///
    /// # Errors
    /// `BookingUnknown`; `BookingInvalidState` unless joined; the escrow's errors from
    /// `cancel`, unchanged (`EscrowStartWindowOpen` while the tutor may still start,
    /// `EscrowInvalidState` once it started).
    ///
    /// # Events
    /// The escrow's `SessionCancelled` (and `PayoutCredited` if the token refuses the
    /// refund) unless the session was cancelled already; `BookingTutorNoShow`.
    pub fn report_tutor_no_show(&mut self, id: U256) -> Result<(), Error> {
        let t = self.terms(id)?;
        require_state(id, t.state, State::Joined)?;
        let session = word(small(self.bookings.getter(id).session_id.get()));
        self.set_state(id, State::TutorNoShow);
        {
            let mut r = self.tutors.setter(t.tutor);
            // SAFETY (saturating): a count of one transaction each cannot reach 2^64.
            let n = small(r.no_shows.get()).saturating_add(1);
            r.no_shows.set(uint::<64>(n));
        }
        let escrow = self.escrow.get();
        if calls::session_state(escrow, session) != Some(calls::SESSION_CANCELLED) {
            calls::cancel(escrow, session).map_err(|revert| Error::Escrow(EscrowRevert(revert)))?;
        }
        Emit::emit(BookingTutorNoShow {
            id,
            sessionId: session,
            by: host::sender(),
        });
        Ok(())
    }

    /// The tutor ended a joined lesson's escrow session — the tutor's own `stop`, or a
    /// relayer's stop for the tutor's silence, while the deposit still ran (the escrow's
    /// `endedByTutor`) — before the booked duration was held: anyone records it, and the
    /// tutor's early-end count grows. No money moves: the escrow billed the seconds held
    /// and refunded the rest. (A tutor who starts and stops at once to dodge the no-show
    /// count is counted here.) A student whose tutor goes quiet should leave the stop to
    /// the relayer, and a tutor whose student left likewise: whoever ends it is named.
    ///
    /// # Errors
    /// `BookingUnknown`; `BookingInvalidState` unless joined; `BookingNotEndedEarly` while
    /// the session runs, or when the student ended it, its deposit ran out or it held the
    /// booked duration.
    ///
    /// # Events
    /// `BookingTutorEndedEarly`.
    pub fn report_tutor_early_end(&mut self, id: U256) -> Result<(), Error> {
        let t = self.terms(id)?;
        require_state(id, t.state, State::Joined)?;
        let b = self.bookings.getter(id);
        let (session, duration) = (word(small(b.session_id.get())), small(b.duration.get()));
        let held = calls::held_if_tutor_ended(self.escrow.get(), session)
            .filter(|&held| held < duration)
            .ok_or(BookingNotEndedEarly {
                id,
                sessionId: session,
            })?;
        self.set_state(id, State::TutorEndedEarly);
        let mut r = self.tutors.setter(t.tutor);
        // SAFETY (saturating): a count of one transaction each cannot reach 2^64.
        let n = small(r.early_ends.get()).saturating_add(1);
        r.early_ends.set(uint::<64>(n));
        Emit::emit(BookingTutorEndedEarly {
            id,
            sessionId: session,
            by: host::sender(),
            held,
        });
        Ok(())
    }

    /// Sends the caller's credited payouts of `token` (those a transfer refused) to `to`,
    /// which may differ from the caller when the caller's own address is the one the token
    /// blocks. Returns the amount.
    ///
    /// # Errors
    /// `BookingInvalidAddress` for a zero `to`; `BookingNothingToClaim`;
    /// `BookingTransferFailed` (the credit stays).
    ///
    /// # Events
    /// `Claimed`.
    pub fn claim(&mut self, token: Address, to: Address) -> Result<U256, Error> {
        if to.is_zero() {
            return Err(BookingInvalidAddress { account: to }.into());
        }
        let account = host::sender();
        let amount = self.claimable(token, account);
        if amount.is_zero() {
            return Err(BookingNothingToClaim { token, account }.into());
        }
        self.claimable.setter(token).setter(account).set(U256::ZERO);
        if !calls::transfer(token, to, amount) {
            return Err(BookingTransferFailed { token, to, amount }.into());
        }
        Emit::emit(Claimed {
            token,
            account,
            to,
            amount,
        });
        Ok(amount)
    }

    // ---- views --------------------------------------------------------------------

    /// Booking `id` in full.
    ///
    /// # Errors
    /// `BookingUnknown`.
    ///
    /// # Events
    /// None (a view).
    pub fn booking(&self, id: U256) -> Result<BookingView, Error> {
        let b = self.bookings.getter(id);
        let state = small(b.state.get()) as u8;
        if state == State::None as u8 {
            return Err(BookingUnknown { id }.into());
        }
        Ok(BookingView {
            student: b.student.get(),
            tutor: b.tutor.get(),
            token: b.token.get(),
            start: small(b.start.get()),
            duration: small(b.duration.get()) as u32,
            rate: word(wide(b.rate.get())),
            deposit: word(wide(b.deposit.get())),
            credentialKind: small(b.credential_kind.get()) as u32,
            answerDeadline: small(b.answer_deadline.get()),
            freeNotice: small(b.free_notice.get()) as u32,
            lateCancelFeeBps: small(b.late_cancel_fee_bps.get()) as u16,
            noShowFeeBps: small(b.no_show_fee_bps.get()) as u16,
            state,
            sessionId: word(small(b.session_id.get())),
            fundBy: small(b.fund_by.get()),
        })
    }

    /// Series `first_id`: `(lessons, interval)`; its bookings are `first_id` to
    /// `first_id + lessons − 1`, starting `interval` seconds apart.
    ///
    /// # Errors
    /// `BookingUnknownSeries`.
    ///
    /// # Events
    /// None (a view).
    pub fn series(&self, first_id: U256) -> Result<(u16, u32), Error> {
        let r = self.series.getter(first_id);
        let lessons = small(r.lessons.get()) as u16;
        if lessons == 0 {
            return Err(BookingUnknownSeries { firstId: first_id }.into());
        }
        Ok((lessons, small(r.interval.get()) as u32))
    }

    /// The rate `tutor` publishes for `token` (0: takes no bookings in it).
    ///
    /// # Errors
    /// None.
    ///
    /// # Events
    /// None (a view).
    pub fn rate_of(&self, tutor: Address, token: Address) -> U256 {
        word(wide(self.rates.getter(tutor).get(token)))
    }

    /// `tutor`'s cancellation policy for new bookings: `(freeNotice, lateCancelFeeBps,
    /// noShowFeeBps)`.
    ///
    /// # Errors
    /// None.
    ///
    /// # Events
    /// None (a view).
    pub fn policy_of(&self, tutor: Address) -> (u32, u16, u16) {
        let p = self.policies.getter(tutor);
        (
            small(p.free_notice.get()) as u32,
            small(p.late_cancel_fee_bps.get()) as u16,
            small(p.no_show_fee_bps.get()) as u16,
        )
    }

    /// `tutor`'s record: `(cancellations, noShows, earlyEnds)` — accepted lessons the
    /// tutor cancelled, joined ones the tutor never started, and joined ones the tutor
    /// ended short of the booked duration (each as reported).
    ///
    /// # Errors
    /// None.
    ///
    /// # Events
    /// None (a view).
    pub fn tutor_record(&self, tutor: Address) -> (u64, u64, u64) {
        let r = self.tutors.getter(tutor);
        (
            small(r.cancellations.get()),
            small(r.no_shows.get()),
            small(r.early_ends.get()),
        )
    }

    /// Payouts of `token` credited to `account` after a refused transfer.
    ///
    /// # Errors
    /// None.
    ///
    /// # Events
    /// None (a view).
    pub fn claimable(&self, token: Address, account: Address) -> U256 {
        self.claimable.getter(token).get(account)
    }

    /// `(escrow, bookings)`: the escrow booked lessons become sessions of, and how many
    /// bookings were ever requested (ids run from 1 to that count).
    ///
    /// # Errors
    /// None.
    ///
    /// # Events
    /// None (a view).
    pub fn config(&self) -> (Address, u64) {
        (self.escrow.get(), small(self.count.get()))
    }
}

// ---- private helpers ------------------------------------------------------------------

fn invalid_state(id: U256, state: State) -> Error {
    BookingInvalidState {
        id,
        state: state as u8,
    }
    .into()
}

fn funding(id: U256, t: &Terms) -> Error {
    BookingFunding {
        id,
        fundBy: t.fund_by,
        funded: t.fund_by == 0,
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

/// The caller, if it is `party`.
fn only(id: U256, party: Address) -> Result<Address, Error> {
    let caller = host::sender();
    if caller != party {
        return Err(BookingUnauthorized { id, caller }.into());
    }
    Ok(caller)
}

impl Booking {
    /// Booking `id`'s state, parties, token, start, deposit and price;
    /// `BookingUnknown` if there is none.
    fn terms(&self, id: U256) -> Result<Terms, Error> {
        let b = self.bookings.getter(id);
        let state = State::from_u64(small(b.state.get()));
        if state == State::None {
            return Err(BookingUnknown { id }.into());
        }
        let fund_by = small(b.fund_by.get());
        Ok(Terms {
            state,
            student: b.student.get(),
            tutor: b.tutor.get(),
            token: b.token.get(),
            start: small(b.start.get()),
            deposit: if fund_by == 0 {
                wide(b.deposit.get())
            } else {
                0
            },
            price: rules::price(small(b.duration.get()) as u32, wide(b.rate.get())),
            fund_by,
        })
    }

    /// Books `lessons` lessons (1: a single one) starting at `start`, `interval` apart,
    /// on the terms of `request`, those starting later than `fund_lead` from now (if not
    /// 0) without their deposit; `bounds` are the student's bounds on the tutor's policy
    /// (notice, late fee, no-show fee). Writes every booking (and the series), pulls the
    /// deposits due now in one transfer, then emits. Returns the first id.
    #[allow(clippy::too_many_arguments)]
    fn book(
        &mut self,
        tutor: Address,
        token: Address,
        start: u64,
        interval: u32,
        lessons: u16,
        fund_lead: u32,
        duration: u32,
        rate: U256,
        deposit: U256,
        credential_kind: u32,
        answer_deadline: u64,
        bounds: [u32; 3],
    ) -> Result<U256, Error> {
        let invalid_series = BookingInvalidSeries {
            lessons,
            interval,
            duration,
            fundLead: fund_lead,
        };
        let student = host::sender();
        if tutor.is_zero() || tutor == student {
            return Err(BookingInvalidAddress { account: tutor }.into());
        }
        if duration == 0 || duration > MAX_DURATION {
            return Err(BookingInvalidDuration { duration }.into());
        }
        let now = now();
        if answer_deadline < now || answer_deadline >= start {
            return Err(BookingInvalidTimes {
                start,
                answerDeadline: answer_deadline,
                now,
            }
            .into());
        }
        // The last lesson's start must fit.
        u64::from(interval)
            .checked_mul(u64::from(lessons - 1))
            .and_then(|span| start.checked_add(span))
            .ok_or(invalid_series.clone())?;
        let rate_u128 = to_u128(rate)
            .filter(|r| *r > 0)
            .ok_or(BookingInvalidRate { rate })?;
        let published = wide(self.rates.getter(tutor).get(token));
        if rate_u128 > published {
            return Err(BookingRateAboveTutorRate {
                tutor,
                token,
                rate,
                tutorRate: word(published),
            }
            .into());
        }
        let price = rules::price(duration, rate_u128);
        if price == 0 {
            return Err(BookingZeroPrice { rate, duration }.into());
        }
        let deposit_u128 = to_u128(deposit).ok_or(BookingInvalidAmount { amount: deposit })?;
        if deposit_u128 < price {
            return Err(BookingDepositTooLow {
                deposit,
                price: word(price),
            }
            .into());
        }
        // The lessons funded now: all of them, or those starting within `fund_lead`.
        let lesson = |i: u64| start + i * u64::from(interval);
        // SAFETY (saturating): a horizon past 2^64 s defers nothing.
        let horizon = now.saturating_add(u64::from(fund_lead));
        let deferred = |i: u64| fund_lead != 0 && lesson(i) > horizon;
        let now_funded = (0..u64::from(lessons)).filter(|i| !deferred(*i)).count();
        let total = deposit_u128
            .checked_mul(now_funded as u128)
            .ok_or(BookingInvalidAmount { amount: deposit })?;
        if !calls::token_allowed(self.escrow.get(), token) {
            return Err(BookingTokenNotAllowed { token }.into());
        }
        let (free_notice, late_fee, no_show_fee) = {
            let p = self.policies.getter(tutor);
            (
                small(p.free_notice.get()) as u32,
                small(p.late_cancel_fee_bps.get()) as u16,
                small(p.no_show_fee_bps.get()) as u16,
            )
        };
        if free_notice > bounds[0]
            || u32::from(late_fee) > bounds[1]
            || u32::from(no_show_fee) > bounds[2]
        {
            return Err(BookingPolicyAboveBounds {
                tutor,
                freeNotice: free_notice,
                lateCancelFeeBps: late_fee,
                noShowFeeBps: no_show_fee,
            }
            .into());
        }
        // A funding deadline inside the free notice would let a student walk away from a
        // lesson by not funding it, when cancelling would cost the late fee.
        if fund_lead != 0 && fund_lead < free_notice {
            return Err(invalid_series.into());
        }
        let first = small(self.count.get())
            .checked_add(1)
            .ok_or(BookingAccounting {})?;
        let last = first
            .checked_add(u64::from(lessons) - 1)
            .ok_or(BookingAccounting {})?;
        self.count.set(uint::<64>(last));
        // SAFETY (every `+` here and in `lesson`): the last start and the last id were
        // checked above; a deferred lesson starts after `horizon` ≥ `fund_lead`.
        let id_of = |i: u64| word(first + i);
        let fund_by = |i: u64| {
            if deferred(i) {
                lesson(i) - u64::from(fund_lead)
            } else {
                0
            }
        };
        for i in 0..u64::from(lessons) {
            let (id, start) = (id_of(i), lesson(i));
            let mut b = self.bookings.setter(id);
            if deferred(i) {
                b.fund_by.set(uint::<64>(fund_by(i)));
            }
            b.student.set(student);
            b.start.set(uint::<64>(start));
            b.duration.set(uint::<32>(duration));
            b.tutor.set(tutor);
            b.answer_deadline.set(uint::<64>(answer_deadline));
            b.credential_kind.set(uint::<32>(credential_kind));
            b.token.set(token);
            b.state.set(uint::<8>(State::Requested as u8));
            b.late_cancel_fee_bps.set(uint::<16>(late_fee));
            b.no_show_fee_bps.set(uint::<16>(no_show_fee));
            b.free_notice.set(uint::<32>(free_notice));
            b.rate.set(u128_slot(rate_u128));
            b.deposit.set(u128_slot(deposit_u128));
        }
        let first_id = word(first);
        if lessons > 1 {
            let mut r = self.series.setter(first_id);
            r.lessons.set(uint::<16>(lessons));
            r.interval.set(uint::<32>(interval));
        }
        if total != 0 {
            self.pull(token, student, word(total))?;
        }
        for i in 0..u64::from(lessons) {
            let (id, start) = (id_of(i), lesson(i));
            Emit::emit(BookingRequested {
                id,
                student,
                tutor,
                token,
                start,
                duration,
                rate,
                deposit,
                credentialKind: credential_kind,
                answerDeadline: answer_deadline,
                freeNotice: free_notice,
                lateCancelFeeBps: late_fee,
                noShowFeeBps: no_show_fee,
            });
            if deferred(i) {
                Emit::emit(BookingFundingDue {
                    id,
                    fundBy: fund_by(i),
                });
            }
        }
        if lessons > 1 {
            Emit::emit(SeriesRequested {
                firstId: first_id,
                student,
                tutor,
                lessons,
                interval,
            });
        }
        Ok(first_id)
    }

    /// Applies `op` to booking `first` (`series` false) or to each lesson of series
    /// `first`, passing over the lessons `op` does not apply to by their state or time
    /// (at least one must take it); then pays the fees to the tutor and the refunds to
    /// the student, one transfer each.
    fn run(&mut self, first: U256, series: bool, op: Op) -> Result<(), Error> {
        let lessons = if series { self.series(first)?.0 } else { 1 };
        let caller = host::sender();
        let mut total = Split {
            tutor: 0,
            student: 0,
        };
        let mut terms = None;
        for i in 0..lessons {
            let id = first + U256::from(i);
            let t = self.terms(id)?;
            match self.apply(id, &t, op, caller) {
                Ok(s) => {
                    total.tutor = total
                        .tutor
                        .checked_add(s.tutor)
                        .ok_or(BookingAccounting {})?;
                    total.student = total
                        .student
                        .checked_add(s.student)
                        .ok_or(BookingAccounting {})?;
                    terms = Some(t);
                }
                Err(Error::InvalidState(_) | Error::TooLateToCancel(_)) if series => {}
                Err(e) => return Err(e),
            }
        }
        let t = terms.ok_or(BookingSeriesNothingLeft { firstId: first })?;
        self.pay(t.token, t.tutor, total.tutor)?;
        self.pay(t.token, t.student, total.student)
    }

    /// `op` on booking `id` (terms `t`) by `caller`: its checks, its new state and its
    /// event; returns what it pays out (paid by [`run`](Booking::run)).
    fn apply(&mut self, id: U256, t: &Terms, op: Op, caller: Address) -> Result<Split, Error> {
        let refund = Split {
            tutor: 0,
            student: t.deposit,
        };
        let deadline = small(self.bookings.getter(id).answer_deadline.get());
        match op {
            Op::Accept => {
                require_state(id, t.state, State::Requested)?;
                only(id, t.tutor)?;
                if now() > deadline {
                    return Err(BookingAnswerDeadlinePassed {
                        id,
                        answerDeadline: deadline,
                    }
                    .into());
                }
                let kind = small(self.bookings.getter(id).credential_kind.get()) as u32;
                if kind != 0
                    && !calls::credentials(self.escrow.get())
                        .is_some_and(|c| !c.is_zero() && calls::has_valid(c, caller, kind))
                {
                    return Err(BookingCredentialRequired {
                        id,
                        tutor: caller,
                        kind,
                    }
                    .into());
                }
                self.set_state(id, State::Accepted);
                Emit::emit(BookingAccepted { id, tutor: caller });
                Ok(Split {
                    tutor: 0,
                    student: 0,
                })
            }
            Op::Decline => {
                require_state(id, t.state, State::Requested)?;
                only(id, t.tutor)?;
                self.set_state(id, State::Declined);
                Emit::emit(BookingDeclined {
                    id,
                    tutor: caller,
                    refund: word(t.deposit),
                });
                Ok(refund)
            }
            Op::Expire => {
                // A lesson not funded by its deadline lapses, answered or not.
                let lapsed = t.fund_by != 0
                    && now() > t.fund_by
                    && matches!(t.state, State::Requested | State::Accepted);
                if !lapsed {
                    require_state(id, t.state, State::Requested)?;
                    if now() <= deadline {
                        return Err(BookingAnswerDeadlineNotPassed {
                            id,
                            answerDeadline: deadline,
                        }
                        .into());
                    }
                }
                self.set_state(id, State::Expired);
                Emit::emit(BookingExpired {
                    id,
                    by: caller,
                    refund: word(t.deposit),
                });
                Ok(refund)
            }
            Op::Cancel => {
                let fee_bps = if caller == t.student {
                    match t.state {
                        State::Requested => 0,
                        State::Accepted => {
                            let b = self.bookings.getter(id);
                            let notice = small(b.free_notice.get()) as u32;
                            match rules::student_cancel(now(), t.start, notice) {
                                StudentCancel::Free => 0,
                                StudentCancel::Late => small(b.late_cancel_fee_bps.get()) as u16,
                                StudentCancel::TooLate => {
                                    return Err(BookingTooLateToCancel { id, start: t.start }.into())
                                }
                            }
                        }
                        state => return Err(invalid_state(id, state)),
                    }
                } else if caller == t.tutor {
                    require_state(id, t.state, State::Accepted)?;
                    let mut r = self.tutors.setter(t.tutor);
                    // SAFETY (saturating): a count of one transaction each cannot reach 2^64.
                    let n = small(r.cancellations.get()).saturating_add(1);
                    r.cancellations.set(uint::<64>(n));
                    0
                } else {
                    return Err(BookingUnauthorized { id, caller }.into());
                };
                // A lesson not funded yet holds nothing: no fee, no refund (its funding
                // deadline is never inside the free notice).
                let split = if t.fund_by != 0 {
                    Split {
                        tutor: 0,
                        student: 0,
                    }
                } else {
                    rules::split(t.deposit, t.price, fee_bps).ok_or(BookingAccounting {})?
                };
                self.set_state(id, State::Cancelled);
                Emit::emit(BookingCancelled {
                    id,
                    by: caller,
                    tutorFee: word(split.tutor),
                    refund: word(split.student),
                });
                Ok(split)
            }
        }
    }

    fn set_state(&mut self, id: U256, state: State) {
        self.bookings.setter(id).state.set(uint::<8>(state as u8));
    }

    /// Takes `amount` of `token` from `from`; reverts if the token refuses, or if this
    /// contract's balance did not grow by exactly `amount` (a fee-on-transfer or rebasing
    /// token would leave deposits the contract does not hold).
    fn pull(&mut self, token: Address, from: Address, amount: U256) -> Result<(), Error> {
        let this = host::this();
        let before = calls::balance_of(token, this);
        if !calls::transfer_from(token, from, this, amount) {
            return Err(BookingTransferFailed {
                token,
                to: this,
                amount,
            }
            .into());
        }
        let received = calls::balance_of(token, this).saturating_sub(before);
        if received != amount {
            return Err(BookingFeeOnTransfer {
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
    fn pay(&mut self, token: Address, to: Address, amount: u128) -> Result<(), Error> {
        let amount = word(amount);
        if amount.is_zero() || calls::transfer(token, to, amount) {
            return Ok(());
        }
        let credited = self
            .claimable(token, to)
            .checked_add(amount)
            .ok_or(BookingAccounting {})?;
        self.claimable.setter(token).setter(to).set(credited);
        Emit::emit(PayoutCredited {
            token,
            account: to,
            amount,
        });
        Ok(())
    }
}

/// The current block time, through one door so that tests can move it together with the
/// escrow's (motsu fixes `block.timestamp`; see `minuto_escrow::test_clock`).
fn now() -> u64 {
    let t = host::timestamp();
    #[cfg(test)]
    let t = t + minuto_escrow::test_clock::offset();
    t
}

/// Host access through the SDK's free functions (`self.vm()` links every host import).
#[allow(deprecated)]
mod host {
    use alloy_primitives::Address;

    /// `msg.sender`.
    pub(crate) fn sender() -> Address {
        stylus_sdk::msg::sender()
    }

    /// `block.timestamp`.
    pub(crate) fn timestamp() -> u64 {
        stylus_sdk::block::timestamp()
    }

    /// This contract's address.
    pub(crate) fn this() -> Address {
        stylus_sdk::contract::address()
    }
}

#[cfg(test)]
mod tests;
