//! Every ending is final (audit 15, M3): once a booking is declined, expired, cancelled
//! (unanswered, by the student, by the tutor), joined, settled as a student no-show or
//! reported as a tutor no-show, every other transition is refused with the exact
//! `BookingInvalidState`, at any time, and no base unit moves. A joined booking's price is
//! in the escrow: paying it out again (a no-show claim or a cancel of a joined lesson)
//! would spend other bookings' deposits.

use super::*;

#[motsu::test]
fn a_declined_booking_takes_no_other_transition(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let id = w.request().motsu_unwrap();
    booking.sender(w.tutor).decline(id).motsu_unwrap();
    w.assert_final(id, State::Declined);
}

#[motsu::test]
fn an_expired_booking_takes_no_other_transition(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let id = w.request().motsu_unwrap();
    w.advance_to(w.now() + ANSWER + 1);
    booking.sender(w.stranger).expire(id).motsu_unwrap();
    w.assert_final(id, State::Expired);
}

#[motsu::test]
fn a_cancelled_booking_takes_no_other_transition(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    // Unanswered, withdrawn by the student.
    let unanswered = w.request().motsu_unwrap();
    booking.sender(w.student).cancel(unanswered).motsu_unwrap();
    // Accepted, cancelled late by the student (a fee paid) and by the tutor (counted).
    let late = w.accepted();
    let by_tutor = w.accepted();
    w.advance_to(w.start() - 1);
    booking.sender(w.student).cancel(late).motsu_unwrap();
    booking.sender(w.tutor).cancel(by_tutor).motsu_unwrap();
    assert_eq!(booking.sender(w.stranger).tutor_record(w.tutor), (1, 0, 0));
    for id in [unanswered, late, by_tutor] {
        w.assert_every_transition_refused(id, State::Cancelled);
    }
    w.assert_final(late, State::Cancelled);
    for id in [unanswered, by_tutor] {
        w.assert_every_transition_refused(id, State::Cancelled);
    }
}

#[motsu::test]
fn a_joined_booking_cannot_be_cancelled_or_claimed_as_a_no_show(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let (id, session) = w.joined();
    // The booking contract holds nothing of this booking any more: the price is in the
    // escrow, the surplus went back.
    assert_eq!(w.balances(), [FUNDS - PRICE, 0, 0, 0, PRICE]);
    // Right after the join: the student's cancel (a late fee's worth refunded twice) and
    // the tutor's (the deposit again) are refused.
    assert_reverts(&booking, BookingInvalidState { id, state: 6 }, || {
        booking.sender(w.student).cancel(id)
    });
    assert_reverts(&booking, BookingInvalidState { id, state: 6 }, || {
        booking.sender(w.tutor).cancel(id)
    });
    // The lesson runs in the escrow as any session; the booking stays Joined.
    escrow
        .sender(w.tutor)
        .start(session, w.tutor_key)
        .motsu_unwrap();
    // After the join window: no no-show fee out of a deposit that is in the escrow.
    w.advance_to(w.start() + JOIN_LATE + 1);
    assert_reverts(&booking, BookingInvalidState { id, state: 6 }, || {
        booking.sender(w.tutor).claim_no_show(id)
    });
    w.assert_final(id, State::Joined);
    escrow.sender(w.student).stop(session).motsu_unwrap();
    w.assert_every_transition_refused(id, State::Joined);
}

#[motsu::test]
fn a_student_no_show_takes_no_other_transition(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let id = w.accepted();
    w.advance_to(w.start() + JOIN_LATE + 1);
    booking.sender(w.tutor).claim_no_show(id).motsu_unwrap();
    w.assert_final(id, State::StudentNoShow);
}

#[motsu::test]
fn a_tutor_no_show_takes_no_other_transition(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let (id, _) = w.joined();
    w.advance_to(w.now() + u64::from(START_WINDOW) + 1);
    booking
        .sender(w.stranger)
        .report_tutor_no_show(id)
        .motsu_unwrap();
    assert_eq!(w.balances(), [FUNDS, 0, 0, 0, 0]);
    w.assert_final(id, State::TutorNoShow);
}
