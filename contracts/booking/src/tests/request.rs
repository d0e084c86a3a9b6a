//! `request`: the student books a slot at most at the tutor's rate, the deposit is pulled
//! now and the tutor's policy snapshotted; every refusal changes nothing.

use super::*;

#[motsu::test]
fn request_pulls_the_deposit_and_records_the_terms(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let (id, events) = with_events(&booking, || w.request_with(u(RATE), u(DEPOSIT), 7));
    let id = id.motsu_unwrap();
    assert_eq!(id, super::id(1));
    assert_eq!(
        events,
        [log(BookingRequested {
            id,
            student: w.student,
            tutor: w.tutor,
            token: token.address(),
            start: T0 + LEAD,
            duration: DURATION,
            rate: u(RATE),
            deposit: u(DEPOSIT),
            credentialKind: 7,
            answerDeadline: T0 + ANSWER,
            freeNotice: NOTICE,
            lateCancelFeeBps: LATE_BPS,
            noShowFeeBps: NO_SHOW_BPS,
        })]
    );
    assert_eq!(w.balance(w.student), FUNDS - DEPOSIT);
    assert_eq!(w.balance(booking.address()), DEPOSIT);
    let b = booking.sender(w.stranger).booking(id).motsu_unwrap();
    assert_eq!(
        (b.student, b.tutor, b.token, b.start, b.duration, b.rate, b.deposit),
        (
            w.student,
            w.tutor,
            token.address(),
            T0 + LEAD,
            DURATION,
            u(RATE),
            u(DEPOSIT)
        )
    );
    assert_eq!(
        (
            b.credentialKind,
            b.answerDeadline,
            b.freeNotice,
            b.lateCancelFeeBps,
            b.noShowFeeBps,
            b.state,
            b.sessionId
        ),
        (
            7,
            T0 + ANSWER,
            NOTICE,
            LATE_BPS,
            NO_SHOW_BPS,
            State::Requested as u8,
            U256::ZERO
        )
    );
    assert_eq!(booking.sender(w.stranger).config(), (escrow.address(), 1));
    // A lower rate than published, and a deposit of exactly the price, are fine.
    let cheaper = w.request_with(u(RATE / 2), u(PRICE / 2), 0).motsu_unwrap();
    assert_eq!(cheaper, super::id(2));
    assert_eq!(w.balance(booking.address()), DEPOSIT + PRICE / 2);
}

#[motsu::test]
fn request_rejects_bad_parties_durations_and_times(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let t = token.address();
    let now = w.now();
    let (start, deadline) = (now + LEAD, now + ANSWER);
    let r = |tutor: Address, start: u64, duration: u32, deadline: u64| {
        booking.sender(w.student).request(
            tutor,
            t,
            start,
            duration,
            u(RATE),
            u(DEPOSIT),
            0,
            deadline,
            ANY_NOTICE,
            ANY_LATE_BPS,
            ANY_NO_SHOW_BPS,
        )
    };
    for tutor in [Address::ZERO, w.student] {
        assert_reverts(&booking, BookingInvalidAddress { account: tutor }, || {
            r(tutor, start, DURATION, deadline)
        });
    }
    for duration in [0, rules::MAX_DURATION + 1] {
        assert_reverts(&booking, BookingInvalidDuration { duration }, || {
            r(w.tutor, start, duration, deadline)
        });
    }
    // A deadline in the past, after the start, at the start (audit 15, L1: the tutor
    // cannot accept when the lesson begins), a start now or in the past.
    for (start, deadline) in [
        (start, now - 1),
        (start, start + 1),
        (start, start),
        (now + 1, now + 1),
        (now, now),
        (now - 1, now - 1),
    ] {
        assert_reverts(
            &booking,
            BookingInvalidTimes {
                start,
                answerDeadline: deadline,
                now,
            },
            || r(w.tutor, start, DURATION, deadline),
        );
    }
    // The bounds themselves are fine: a deadline now or a second before the start, a
    // day's lesson.
    booking
        .sender(w.student)
        .request(
            w.tutor,
            t,
            start,
            rules::MAX_DURATION,
            u(RATE),
            u(864_000_000),
            0,
            now,
            ANY_NOTICE,
            ANY_LATE_BPS,
            ANY_NO_SHOW_BPS,
        )
        .motsu_unwrap();
    r(w.tutor, now + 2, 1, now + 1).motsu_unwrap();
    r(w.tutor, start, 1, start - 1).motsu_unwrap();
}

#[motsu::test]
fn request_rejects_rates_above_the_tutors_and_deposits_below_the_price(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let t = token.address();
    assert_reverts(&booking, BookingInvalidRate { rate: U256::ZERO }, || {
        w.request_with(U256::ZERO, u(DEPOSIT), 0)
    });
    let huge = u(u128::MAX) + U256::from(1);
    assert_reverts(&booking, BookingInvalidRate { rate: huge }, || {
        w.request_with(huge, u(DEPOSIT), 0)
    });
    assert_reverts(
        &booking,
        BookingRateAboveTutorRate {
            tutor: w.tutor,
            token: t,
            rate: u(RATE + 1),
            tutorRate: u(RATE),
        },
        || w.request_with(u(RATE + 1), u(DEPOSIT), 0),
    );
    // A tutor without a rate in the token takes no bookings in it.
    booking
        .sender(w.tutor)
        .set_rate(t, U256::ZERO)
        .motsu_unwrap();
    assert_reverts(
        &booking,
        BookingRateAboveTutorRate {
            tutor: w.tutor,
            token: t,
            rate: u(RATE),
            tutorRate: U256::ZERO,
        },
        || w.request_with(u(RATE), u(DEPOSIT), 0),
    );
    booking.sender(w.tutor).set_rate(t, u(RATE)).motsu_unwrap();
    // An hour at 10^-18 base units a second prices at nothing.
    let dust = u(minuto_accrual::RATE_SCALE / 3_600 - 1);
    assert_reverts(
        &booking,
        BookingZeroPrice {
            rate: dust,
            duration: DURATION,
        },
        || w.request_with(dust, u(DEPOSIT), 0),
    );
    assert_reverts(
        &booking,
        BookingDepositTooLow {
            deposit: u(PRICE - 1),
            price: u(PRICE),
        },
        || w.request_with(u(RATE), u(PRICE - 1), 0),
    );
    assert_reverts(&booking, BookingInvalidAmount { amount: huge }, || {
        w.request_with(u(RATE), huge, 0)
    });
    assert_eq!(w.balance(w.student), FUNDS);
    assert_eq!(booking.sender(w.stranger).config().1, 0);
}

#[motsu::test]
fn request_rejects_a_token_the_escrow_does_not_take_and_failed_pulls(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    other: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    // The tutor publishes a rate in a token the escrow does not allow.
    let o = other.address();
    booking.sender(w.tutor).set_rate(o, u(RATE)).motsu_unwrap();
    let r = || {
        let now = w.now();
        booking.sender(w.student).request(
            w.tutor,
            o,
            now + LEAD,
            DURATION,
            u(RATE),
            u(DEPOSIT),
            0,
            now + ANSWER,
            ANY_NOTICE,
            ANY_LATE_BPS,
            ANY_NO_SHOW_BPS,
        )
    };
    assert_reverts(&booking, BookingTokenNotAllowed { token: o }, r);
    // Allowed, but the student has none of it: the pull fails.
    escrow
        .sender(w.admin)
        .set_token_allowed(o, true)
        .motsu_unwrap();
    let err = r().motsu_unwrap_err();
    assert_eq!(
        err,
        BookingTransferFailed {
            token: o,
            to: booking.address(),
            amount: u(DEPOSIT)
        }
        .into()
    );
    // A blocked student cannot pay either; nothing was recorded.
    token.sender(w.admin).set_blocked(w.student, true);
    let err = w.request().motsu_unwrap_err();
    assert_eq!(
        err,
        BookingTransferFailed {
            token: token.address(),
            to: booking.address(),
            amount: u(DEPOSIT)
        }
        .into()
    );
    assert_eq!(booking.sender(w.stranger).config().1, 0);
}

mod fee_token {
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

#[motsu::test]
fn request_refuses_a_fee_on_transfer_token(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    fee: Contract<fee_token::FeeToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let f = fee.address();
    escrow
        .sender(w.admin)
        .set_token_allowed(f, true)
        .motsu_unwrap();
    booking.sender(w.tutor).set_rate(f, u(RATE)).motsu_unwrap();
    fee.sender(w.admin).mint(w.student, u(FUNDS)).motsu_unwrap();
    fee.sender(w.student)
        .approve(booking.address(), U256::MAX)
        .motsu_unwrap();
    let now = w.now();
    let err = booking
        .sender(w.student)
        .request(
            w.tutor,
            f,
            now + LEAD,
            DURATION,
            u(RATE),
            u(DEPOSIT),
            0,
            now + ANSWER,
            ANY_NOTICE,
            ANY_LATE_BPS,
            ANY_NO_SHOW_BPS,
        )
        .motsu_unwrap_err();
    assert_eq!(
        err,
        BookingFeeOnTransfer {
            token: f,
            amount: u(DEPOSIT),
            received: u(DEPOSIT - DEPOSIT / 100)
        }
        .into()
    );
}

/// Audit 15, M4: the student bounds the policy the request snapshots; a tutor who made it
/// harsher while the request was on its way gets a typed refusal, and nothing moves.
#[motsu::test]
fn request_refuses_a_policy_harsher_than_the_students_bounds(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let now = w.now();
    let r = |notice: u32, late: u16, no_show: u16| {
        booking.sender(w.student).request(
            w.tutor,
            token.address(),
            now + LEAD,
            DURATION,
            u(RATE),
            u(DEPOSIT),
            0,
            now + ANSWER,
            notice,
            late,
            no_show,
        )
    };
    // The dApp showed the tutor's policy (24 h, 25 %, 50 %); the tutor raises it first.
    booking
        .sender(w.tutor)
        .set_policy(7 * 24 * 60 * 60, 5_000, 10_000)
        .motsu_unwrap();
    let harsher = BookingPolicyAboveBounds {
        tutor: w.tutor,
        freeNotice: 7 * 24 * 60 * 60,
        lateCancelFeeBps: 5_000,
        noShowFeeBps: 10_000,
    };
    assert_reverts(&booking, harsher, || r(NOTICE, LATE_BPS, NO_SHOW_BPS));
    assert_eq!(w.balances(), [FUNDS, 0, 0, 0, 0]);
    assert_eq!(booking.sender(w.stranger).config().1, 0);
    // Each term on its own is checked: one step over a bound is refused.
    booking
        .sender(w.tutor)
        .set_policy(NOTICE, LATE_BPS, NO_SHOW_BPS)
        .motsu_unwrap();
    let policy = BookingPolicyAboveBounds {
        tutor: w.tutor,
        freeNotice: NOTICE,
        lateCancelFeeBps: LATE_BPS,
        noShowFeeBps: NO_SHOW_BPS,
    };
    for (notice, late, no_show) in [
        (NOTICE - 1, LATE_BPS, NO_SHOW_BPS),
        (NOTICE, LATE_BPS - 1, NO_SHOW_BPS),
        (NOTICE, LATE_BPS, NO_SHOW_BPS - 1),
    ] {
        assert_reverts(&booking, policy.clone(), || r(notice, late, no_show));
    }
    // Exactly the bounds, or a milder policy, is taken and snapshotted.
    let id = r(NOTICE, LATE_BPS, NO_SHOW_BPS).motsu_unwrap();
    booking.sender(w.tutor).set_policy(0, 0, 0).motsu_unwrap();
    let milder = r(NOTICE, LATE_BPS, NO_SHOW_BPS).motsu_unwrap();
    let terms = |id| {
        let b = booking.sender(w.stranger).booking(id).motsu_unwrap();
        (b.freeNotice, b.lateCancelFeeBps, b.noShowFeeBps)
    };
    assert_eq!(terms(id), (NOTICE, LATE_BPS, NO_SHOW_BPS));
    assert_eq!(terms(milder), (0, 0, 0));
}
