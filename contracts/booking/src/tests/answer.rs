//! The tutor's answer: `accept` or `decline` by the deadline; after it anyone may
//! `expire` the request for the student's full refund.

use super::*;

#[motsu::test]
fn accept_by_the_tutor_before_the_deadline(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let id = w.request().motsu_unwrap();
    for caller in [w.student, w.stranger] {
        assert_reverts(&booking, BookingUnauthorized { id, caller }, || {
            booking.sender(caller).accept(id)
        });
    }
    assert_reverts(&booking, BookingUnknown { id: super::id(2) }, || {
        booking.sender(w.tutor).accept(super::id(2))
    });
    // The deadline itself is still in time.
    w.advance_to(T0 + ANSWER);
    let ((), events) = with_events(&booking, || {
        booking.sender(w.tutor).accept(id).motsu_unwrap()
    });
    assert_eq!(events, [log(BookingAccepted { id, tutor: w.tutor })]);
    assert_eq!(w.state(id), State::Accepted as u8);
    assert_reverts(&booking, BookingInvalidState { id, state: 2 }, || {
        booking.sender(w.tutor).accept(id)
    });
    // Accepting moves no money.
    assert_eq!(w.balance(booking.address()), DEPOSIT);
}

#[motsu::test]
fn accept_after_the_deadline_is_refused(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let id = w.request().motsu_unwrap();
    w.advance_to(T0 + ANSWER + 1);
    assert_reverts(
        &booking,
        BookingAnswerDeadlinePassed {
            id,
            answerDeadline: T0 + ANSWER,
        },
        || booking.sender(w.tutor).accept(id),
    );
    assert_eq!(w.state(id), State::Requested as u8);
}

#[motsu::test]
fn decline_refunds_the_whole_deposit(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let id = w.request().motsu_unwrap();
    assert_reverts(
        &booking,
        BookingUnauthorized {
            id,
            caller: w.student,
        },
        || booking.sender(w.student).decline(id),
    );
    let ((), events) = with_events(&booking, || {
        booking.sender(w.tutor).decline(id).motsu_unwrap()
    });
    assert_eq!(
        events,
        [log(BookingDeclined {
            id,
            tutor: w.tutor,
            refund: u(DEPOSIT)
        })]
    );
    assert_eq!(w.balance(w.student), FUNDS);
    assert_eq!(w.balance(booking.address()), 0);
    assert_eq!(w.state(id), State::Declined as u8);
    assert_reverts(&booking, BookingInvalidState { id, state: 3 }, || {
        booking.sender(w.tutor).decline(id)
    });
    // An accepted lesson is cancelled, not declined.
    let id = w.accepted();
    assert_reverts(&booking, BookingInvalidState { id, state: 2 }, || {
        booking.sender(w.tutor).decline(id)
    });
    // Declining counts nothing against the tutor.
    assert_eq!(booking.sender(w.stranger).tutor_record(w.tutor), (0, 0, 0));
}

#[motsu::test]
fn expire_by_anyone_after_the_deadline_refunds_the_whole_deposit(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let id = w.request().motsu_unwrap();
    w.advance_to(T0 + ANSWER);
    assert_reverts(
        &booking,
        BookingAnswerDeadlineNotPassed {
            id,
            answerDeadline: T0 + ANSWER,
        },
        || booking.sender(w.stranger).expire(id),
    );
    w.advance_to(T0 + ANSWER + 1);
    let ((), events) = with_events(&booking, || {
        booking.sender(w.stranger).expire(id).motsu_unwrap()
    });
    assert_eq!(
        events,
        [log(BookingExpired {
            id,
            by: w.stranger,
            refund: u(DEPOSIT)
        })]
    );
    assert_eq!(w.balance(w.student), FUNDS);
    assert_eq!(w.state(id), State::Expired as u8);
    assert_reverts(&booking, BookingInvalidState { id, state: 4 }, || {
        booking.sender(w.stranger).expire(id)
    });
    assert_reverts(&booking, BookingInvalidState { id, state: 4 }, || {
        booking.sender(w.tutor).accept(id)
    });
    // An accepted lesson does not expire.
    let id = w.accepted();
    w.advance_to(w.now() + ANSWER + 1);
    assert_reverts(&booking, BookingInvalidState { id, state: 2 }, || {
        booking.sender(w.stranger).expire(id)
    });
}

#[motsu::test]
fn a_refund_the_token_refuses_is_credited_and_claimed_elsewhere(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let id = w.request().motsu_unwrap();
    token.sender(w.admin).set_blocked(w.student, true);
    let ((), events) = with_events(&booking, || {
        booking.sender(w.tutor).decline(id).motsu_unwrap()
    });
    assert_eq!(
        events,
        [
            log(BookingDeclined {
                id,
                tutor: w.tutor,
                refund: u(DEPOSIT)
            }),
            log(PayoutCredited {
                token: token.address(),
                account: w.student,
                amount: u(DEPOSIT)
            })
        ]
    );
    let t = token.address();
    assert_eq!(
        booking.sender(w.stranger).claimable(t, w.student),
        u(DEPOSIT)
    );
    assert_reverts(
        &booking,
        BookingInvalidAddress {
            account: Address::ZERO,
        },
        || booking.sender(w.student).claim(t, Address::ZERO),
    );
    assert_reverts(
        &booking,
        BookingNothingToClaim {
            token: t,
            account: w.stranger,
        },
        || booking.sender(w.stranger).claim(t, w.stranger),
    );
    // Still blocked: the claim to the student's own address fails and the credit stays.
    let err = booking
        .sender(w.student)
        .claim(t, w.student)
        .motsu_unwrap_err();
    assert_eq!(
        err,
        BookingTransferFailed {
            token: t,
            to: w.student,
            amount: u(DEPOSIT)
        }
        .into()
    );
    assert_eq!(
        booking.sender(w.stranger).claimable(t, w.student),
        u(DEPOSIT)
    );
    let fresh = Address::repeat_byte(0xf0);
    let (amount, events) = with_events(&booking, || {
        booking.sender(w.student).claim(t, fresh).motsu_unwrap()
    });
    assert_eq!(amount, u(DEPOSIT));
    assert_eq!(
        events,
        [log(Claimed {
            token: t,
            account: w.student,
            to: fresh,
            amount: u(DEPOSIT)
        })]
    );
    assert_eq!(w.balance(fresh), DEPOSIT);
    assert_eq!(w.balance(booking.address()), 0);
    assert_eq!(
        booking.sender(w.stranger).claimable(t, w.student),
        U256::ZERO
    );
}
