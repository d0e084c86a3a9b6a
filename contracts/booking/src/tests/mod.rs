//! Tests with motsu: the real session escrow (with the clock its `test-clock` feature lets
//! tests move) that registered this booking contract, and an OpenZeppelin ERC-20 that can
//! block addresses, as USDC and PYUSD can. One test per rule and per rejection, with exact
//! amounts, exact errors and exact events.

mod abi;
mod answer;
mod cancel;
mod endings;
mod gated;
mod join;
mod properties;
mod request;
mod router;
mod series;
mod terms;
mod wide;

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolEvent;
pub use minuto_escrow::{test_clock as clock, SessionEscrow};
use motsu::prelude::*;
use openzeppelin_stylus::token::erc20::IErc20;

pub use crate::*;

pub use minuto_test_support::{assert_reverts, with_events, TestToken};

/// motsu's fixed `block.timestamp`, before the test clock moves it.
pub const T0: u64 = 1_735_689_600;
/// 36 USDC an hour: exactly 10,000 base units (6 decimals) a second, scaled by 10^18.
pub const RATE: u128 = 10_000 * minuto_accrual::RATE_SCALE;
/// One hour at [`RATE`]: 36 USDC.
pub const DURATION: u32 = 3_600;
pub const PRICE: u128 = 36_000_000;
/// The student deposits 4 USDC more than the price.
pub const DEPOSIT: u128 = PRICE + 4_000_000;
/// The lesson starts two days after the request; the tutor answers within one.
pub const LEAD: u64 = 2 * 24 * 60 * 60;
pub const ANSWER: u64 = 24 * 60 * 60;
/// The tutor's policy: free until 24 h before, 25 % of the price later, 50 % on a no-show.
pub const NOTICE: u32 = 24 * 60 * 60;
pub const LATE_BPS: u16 = 2_500;
pub const NO_SHOW_BPS: u16 = 5_000;
/// A weekly series' interval.
pub const WEEK: u32 = 7 * 24 * 60 * 60;
/// The student's bounds on the tutor's policy in most tests: the rules' caps, which any
/// policy meets.
pub const ANY_NOTICE: u32 = rules::MAX_FREE_NOTICE;
pub const ANY_LATE_BPS: u16 = rules::MAX_LATE_CANCEL_FEE_BPS;
pub const ANY_NO_SHOW_BPS: u16 = rules::MAX_NO_SHOW_FEE_BPS;
/// The escrow's settings.
pub const FEE_BPS: u16 = 250;
pub const START_WINDOW: u32 = 600;
/// What the student holds at the start of each test.
pub const FUNDS: u128 = 1_000_000_000;

pub fn u(v: u128) -> U256 {
    U256::from(v)
}

pub fn id(v: u64) -> U256 {
    U256::from(v)
}

/// The contracts of one test and its people.
pub struct World<'a> {
    pub escrow: &'a Contract<SessionEscrow>,
    pub token: &'a Contract<TestToken>,
    pub booking: &'a Contract<Booking>,
    pub admin: Address,
    pub treasury: Address,
    pub student: Address,
    pub tutor: Address,
    pub stranger: Address,
    pub student_key: Address,
    pub tutor_key: Address,
}

impl<'a> World<'a> {
    /// Deploys the escrow (registering the booking contract) and the booking contract;
    /// the tutor publishes [`RATE`] and the test policy; the student holds [`FUNDS`],
    /// approved to the booking contract. Time starts at motsu's block timestamp.
    pub fn new(
        escrow: &'a Contract<SessionEscrow>,
        token: &'a Contract<TestToken>,
        booking: &'a Contract<Booking>,
    ) -> Self {
        let w = Self::bare(escrow, token, booking);
        escrow
            .sender(w.admin)
            .set_booking(booking.address())
            .motsu_unwrap();
        booking
            .sender(w.tutor)
            .set_rate(token.address(), u(RATE))
            .motsu_unwrap();
        booking
            .sender(w.tutor)
            .set_policy(NOTICE, LATE_BPS, NO_SHOW_BPS)
            .motsu_unwrap();
        w
    }

    /// As [`World::new`], without the escrow registering the booking contract and
    /// without the tutor's terms.
    pub fn bare(
        escrow: &'a Contract<SessionEscrow>,
        token: &'a Contract<TestToken>,
        booking: &'a Contract<Booking>,
    ) -> Self {
        clock::reset();
        let w = Self {
            escrow,
            token,
            booking,
            admin: Address::repeat_byte(0xad),
            treasury: Address::repeat_byte(0x7e),
            student: Address::repeat_byte(0x51),
            tutor: Address::repeat_byte(0x70),
            stranger: Address::repeat_byte(0x5e),
            student_key: Address::repeat_byte(0x5b),
            tutor_key: Address::repeat_byte(0x7b),
        };
        escrow
            .sender(w.admin)
            .constructor(
                w.admin,
                w.treasury,
                Address::ZERO,
                FEE_BPS,
                START_WINDOW,
                60,
            )
            .motsu_unwrap();
        escrow
            .sender(w.admin)
            .set_token_allowed(token.address(), true)
            .motsu_unwrap();
        booking
            .sender(w.admin)
            .constructor(escrow.address())
            .motsu_unwrap();
        token
            .sender(w.admin)
            .mint(w.student, u(FUNDS))
            .motsu_unwrap();
        token
            .sender(w.student)
            .approve(booking.address(), U256::MAX)
            .motsu_unwrap();
        w
    }

    /// Block time as the contracts under test see it.
    pub fn now(&self) -> u64 {
        T0 + clock::offset()
    }

    /// The start of a lesson requested at the beginning of a test.
    pub fn start(&self) -> u64 {
        T0 + LEAD
    }

    /// The student requests the standard lesson: [`DURATION`] at [`RATE`], starting
    /// [`LEAD`] from now, answered within [`ANSWER`], [`DEPOSIT`] deposited.
    pub fn request(&self) -> Result<U256, Error> {
        self.request_with(u(RATE), u(DEPOSIT), 0)
    }

    pub fn request_with(&self, rate: U256, deposit: U256, kind: u32) -> Result<U256, Error> {
        let now = self.now();
        self.booking.sender(self.student).request(
            self.tutor,
            self.token.address(),
            now + LEAD,
            DURATION,
            rate,
            deposit,
            kind,
            now + ANSWER,
            ANY_NOTICE,
            ANY_LATE_BPS,
            ANY_NO_SHOW_BPS,
        )
    }

    /// The student requests a series of `lessons` standard lessons, `interval` apart, the
    /// first [`LEAD`] from now, answered within [`ANSWER`], [`DEPOSIT`] each.
    pub fn series(&self, lessons: u16, interval: u32) -> Result<U256, Error> {
        self.series_with(self.now() + LEAD, interval, lessons, u(DEPOSIT), 0)
    }

    /// As [`World::series`], with the first start, the deposit a lesson and the funding
    /// lead (0: all funded now) given.
    pub fn series_with(
        &self,
        first_start: u64,
        interval: u32,
        lessons: u16,
        deposit: U256,
        fund_lead: u32,
    ) -> Result<U256, Error> {
        self.booking.sender(self.student).request_series(
            self.tutor,
            self.token.address(),
            first_start,
            interval,
            lessons,
            DURATION,
            u(RATE),
            deposit,
            0,
            self.now() + ANSWER,
            ANY_NOTICE,
            ANY_LATE_BPS,
            ANY_NO_SHOW_BPS,
            fund_lead,
        )
    }

    /// A requested and accepted lesson.
    pub fn accepted(&self) -> U256 {
        let id = self.request().motsu_unwrap();
        self.booking.sender(self.tutor).accept(id).motsu_unwrap();
        id
    }

    /// An accepted lesson the student joined at its start; returns (booking, session).
    pub fn joined(&self) -> (U256, U256) {
        let id = self.accepted();
        self.advance_to(self.start());
        let session = self
            .booking
            .sender(self.student)
            .join(id, self.student_key)
            .motsu_unwrap();
        (id, session)
    }

    /// A lesson requested now, accepted, joined at its start and started by the tutor;
    /// returns (booking, session).
    pub fn started(&self) -> (U256, U256) {
        let start = self.now() + LEAD;
        let id = self.accepted();
        self.advance_to(start);
        let session = self
            .booking
            .sender(self.student)
            .join(id, self.student_key)
            .motsu_unwrap();
        self.escrow
            .sender(self.tutor)
            .start(session, self.tutor_key)
            .motsu_unwrap();
        (id, session)
    }

    /// Moves the clock to `t` (never back).
    pub fn advance_to(&self, t: u64) {
        let now = self.now();
        assert!(t >= now, "the clock does not go back");
        clock::advance(t - now);
    }

    pub fn balance(&self, who: Address) -> u128 {
        self.token.sender(who).balance_of(who).to::<u128>()
    }

    pub fn state(&self, id: U256) -> u8 {
        self.booking
            .sender(self.stranger)
            .booking(id)
            .motsu_unwrap()
            .state
    }

    /// Every transition the booking contract has, tried on booking `id` (in `state`) by
    /// each party that could send it, is refused with exactly `BookingInvalidState{id,
    /// state}`, emitting nothing; no balance, state or tutor count moves. A joined
    /// booking's transitions left, `reportTutorNoShow` and `reportTutorEarlyEnd`, are not
    /// tried for `Joined`.
    #[track_caller]
    pub fn assert_every_transition_refused(&self, id: U256, state: State) {
        let before = (
            self.balances(),
            self.booking.sender(self.stranger).tutor_record(self.tutor),
        );
        let refused = || BookingInvalidState {
            id,
            state: state as u8,
        };
        let b = self.booking;
        assert_reverts(b, refused(), || b.sender(self.tutor).accept(id));
        assert_reverts(b, refused(), || b.sender(self.tutor).decline(id));
        assert_reverts(b, refused(), || b.sender(self.stranger).expire(id));
        assert_reverts(b, refused(), || b.sender(self.student).cancel(id));
        assert_reverts(b, refused(), || b.sender(self.tutor).cancel(id));
        assert_reverts(b, refused(), || {
            b.sender(self.student).join(id, self.student_key)
        });
        assert_reverts(b, refused(), || b.sender(self.stranger).claim_no_show(id));
        assert_reverts(b, refused(), || b.sender(self.tutor).claim_no_show(id));
        if state != State::Joined {
            assert_reverts(b, refused(), || {
                b.sender(self.stranger).report_tutor_no_show(id)
            });
            assert_reverts(b, refused(), || {
                b.sender(self.stranger).report_tutor_early_end(id)
            });
        }
        let after = (
            self.balances(),
            self.booking.sender(self.stranger).tutor_record(self.tutor),
        );
        assert_eq!(after, before, "balances and the tutor's record");
        assert_eq!(self.state(id), state as u8);
    }

    /// [`World::assert_every_transition_refused`] now, inside the join window, and after
    /// it has closed (so that no guard is met by a time check first).
    #[track_caller]
    pub fn assert_final(&self, id: U256, state: State) {
        self.assert_every_transition_refused(id, state);
        let (opens, closes) = rules::join_window(self.start());
        for t in [opens, self.start(), closes + 1] {
            if t >= self.now() {
                self.advance_to(t);
                self.assert_every_transition_refused(id, state);
            }
        }
    }

    /// Every holder's balance: student, tutor, treasury, booking, escrow.
    pub fn balances(&self) -> [u128; 5] {
        [
            self.balance(self.student),
            self.balance(self.tutor),
            self.balance(self.treasury),
            self.balance(self.booking.address()),
            self.balance(self.escrow.address()),
        ]
    }
}

/// The log of `event`, as alloy encodes it.
pub fn log<E: SolEvent>(event: E) -> alloy_primitives::LogData {
    event.encode_log_data()
}
