//! `cancel`: by the student (free with notice, the late fee after, never from the start
//! on) or by the tutor (full refund, counted); nobody else.

use super::*;

#[motsu::test]
fn student_cancels_an_unanswered_request_for_a_full_refund(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let id = w.request().motsu_unwrap();
    // Even inside the tutor's notice period: nothing was agreed yet.
    w.advance_to(w.start() - 1);
    let ((), events) = with_events(&booking, || {
        booking.sender(w.student).cancel(id).motsu_unwrap()
    });
    assert_eq!(
        events,
        [log(BookingCancelled {
            id,
            by: w.student,
            tutorFee: U256::ZERO,
            refund: u(DEPOSIT)
        })]
    );
    assert_eq!(w.balance(w.student), FUNDS);
    assert_eq!(w.state(id), State::Cancelled as u8);
    assert_reverts(&booking, BookingInvalidState { id, state: 5 }, || {
        booking.sender(w.student).cancel(id)
    });
}

#[motsu::test]
fn student_cancels_with_notice_for_free(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let id = w.accepted();
    // Exactly the free notice before the start.
    w.advance_to(w.start() - u64::from(NOTICE));
    booking.sender(w.student).cancel(id).motsu_unwrap();
    booking.assert_emitted(&BookingCancelled {
        id,
        by: w.student,
        tutorFee: U256::ZERO,
        refund: u(DEPOSIT),
    });
    assert_eq!(w.balance(w.student), FUNDS);
    assert_eq!(w.balance(w.tutor), 0);
}

#[motsu::test]
fn student_cancels_late_and_pays_the_late_fee_on_the_price(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let id = w.accepted();
    // One second inside the notice: 25 % of the 36 USDC price, the rest of the deposit back.
    w.advance_to(w.start() - u64::from(NOTICE) + 1);
    let ((), events) = with_events(&booking, || {
        booking.sender(w.student).cancel(id).motsu_unwrap()
    });
    let fee = PRICE * u128::from(LATE_BPS) / 10_000;
    assert_eq!(fee, 9_000_000);
    assert_eq!(
        events,
        [log(BookingCancelled {
            id,
            by: w.student,
            tutorFee: u(fee),
            refund: u(DEPOSIT - fee)
        })]
    );
    assert_eq!(w.balance(w.tutor), fee);
    assert_eq!(w.balance(w.student), FUNDS - fee);
    assert_eq!(w.balance(booking.address()), 0);
    // A late cancellation counts nothing against the tutor.
    assert_eq!(booking.sender(w.stranger).tutor_record(w.tutor), (0, 0, 0));
}

#[motsu::test]
fn student_cannot_cancel_from_the_start_on(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let id = w.accepted();
    let start = w.start();
    w.advance_to(start);
    assert_reverts(&booking, BookingTooLateToCancel { id, start }, || {
        booking.sender(w.student).cancel(id)
    });
    w.advance_to(start + 10_000);
    assert_reverts(&booking, BookingTooLateToCancel { id, start }, || {
        booking.sender(w.student).cancel(id)
    });
}

#[motsu::test]
fn tutor_cancels_an_accepted_lesson_for_the_students_full_refund_and_is_counted(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    // A request is declined, not cancelled.
    let requested = w.request().motsu_unwrap();
    assert_reverts(
        &booking,
        BookingInvalidState {
            id: requested,
            state: 1,
        },
        || booking.sender(w.tutor).cancel(requested),
    );
    let id = w.accepted();
    // Even at the last minute: the student loses nothing.
    w.advance_to(w.start() + 60);
    let ((), events) = with_events(&booking, || {
        booking.sender(w.tutor).cancel(id).motsu_unwrap()
    });
    assert_eq!(
        events,
        [log(BookingCancelled {
            id,
            by: w.tutor,
            tutorFee: U256::ZERO,
            refund: u(DEPOSIT)
        })]
    );
    assert_eq!(w.balance(w.student), FUNDS - DEPOSIT);
    assert_eq!(booking.sender(w.stranger).tutor_record(w.tutor), (1, 0, 0));
    let again = w.accepted();
    booking.sender(w.tutor).cancel(again).motsu_unwrap();
    assert_eq!(booking.sender(w.stranger).tutor_record(w.tutor), (2, 0, 0));
    assert_eq!(w.balance(w.student), FUNDS - DEPOSIT);
    assert_eq!(w.balance(w.tutor), 0);
}

#[motsu::test]
fn nobody_else_may_cancel(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let id = w.request().motsu_unwrap();
    for caller in [w.stranger, w.admin, escrow.address()] {
        assert_reverts(&booking, BookingUnauthorized { id, caller }, || {
            booking.sender(caller).cancel(id)
        });
    }
    assert_reverts(&booking, BookingUnknown { id: super::id(9) }, || {
        booking.sender(w.student).cancel(super::id(9))
    });
}
