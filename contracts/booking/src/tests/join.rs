//! The start window: the student `join`s (the price becomes an ordinary escrow session
//! between the same parties at the locked rate, the rest comes back); a student who never
//! joins pays the no-show fee (`claimNoShow`); a tutor who never starts the session is
//! reported (`reportTutorNoShow`): the escrow refunds everything, the tutor is counted.

use alloy_sol_types::SolError;

use super::*;
use minuto_escrow::{
    EscrowInvalidAddress, EscrowInvalidState, EscrowStartWindowOpen, SessionCancelled,
    SessionOpened, SILENT_STUDENT, SILENT_TUTOR,
};

fn escrow_error(e: impl alloy_sol_types::SolError) -> Error {
    Error::Escrow(EscrowRevert(e.abi_encode()))
}

#[motsu::test]
fn join_opens_an_escrow_session_for_the_price_and_refunds_the_rest(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let id = w.request_with(u(RATE), u(DEPOSIT), 0).motsu_unwrap();
    booking.sender(w.tutor).accept(id).motsu_unwrap();
    // The window opens five minutes before the start.
    w.advance_to(w.start() - JOIN_EARLY);
    let (session, events) = with_events(&booking, || {
        booking
            .sender(w.student)
            .join(id, w.student_key)
            .motsu_unwrap()
    });
    assert_eq!(session, super::id(1));
    assert_eq!(
        events,
        [log(BookingJoined {
            id,
            sessionId: session,
            escrowed: u(PRICE),
            refund: u(DEPOSIT - PRICE)
        })]
    );
    escrow.assert_emitted(&SessionOpened {
        id: session,
        student: w.student,
        tutor: w.tutor,
        token: token.address(),
        rate: u(RATE),
        deposit: u(PRICE),
        studentKey: w.student_key,
        credentialKind: 0,
        feeBps: FEE_BPS,
    });
    assert_eq!(
        w.balances(),
        [FUNDS - PRICE, 0, 0, 0, PRICE],
        "student, tutor, treasury, booking, escrow"
    );
    let b = booking.sender(w.stranger).booking(id).motsu_unwrap();
    assert_eq!((b.state, b.sessionId), (State::Joined as u8, session));
    let s = escrow.sender(w.stranger).session(session).motsu_unwrap();
    assert_eq!(
        (s.student, s.tutor, s.token, s.rate, s.deposited, s.state),
        (w.student, w.tutor, token.address(), u(RATE), u(PRICE), 1)
    );
    // No allowance is left behind.
    assert_eq!(
        token
            .sender(w.stranger)
            .allowance(booking.address(), escrow.address()),
        U256::ZERO
    );
    // From here it is an ordinary session: the tutor starts, the booked hour runs out,
    // anyone stops it; the tutor is paid the price less the protocol fee.
    escrow
        .sender(w.tutor)
        .start(session, w.tutor_key)
        .motsu_unwrap();
    w.advance_to(w.now() + u64::from(DURATION));
    assert_eq!(escrow.sender(w.stranger).runway(session).motsu_unwrap(), 0);
    escrow.sender(w.stranger).stop(session).motsu_unwrap();
    let fee = PRICE * u128::from(FEE_BPS) / 10_000;
    assert_eq!(
        w.balances(),
        [FUNDS - PRICE, PRICE - fee, fee, 0, 0],
        "student, tutor, treasury, booking, escrow"
    );
    assert_reverts(&booking, BookingInvalidState { id, state: 6 }, || {
        booking.sender(w.student).join(id, w.student_key)
    });
}

#[motsu::test]
fn join_only_by_the_student_inside_the_window(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let requested = w.request().motsu_unwrap();
    let id = w.accepted();
    let start = w.start();
    let (opens, closes) = (start - JOIN_EARLY, start + JOIN_LATE);
    assert_eq!((opens, closes), (start - 300, start + 600));
    w.advance_to(opens - 1);
    assert_reverts(
        &booking,
        BookingOutsideJoinWindow { id, opens, closes },
        || booking.sender(w.student).join(id, w.student_key),
    );
    w.advance_to(opens);
    for caller in [w.tutor, w.stranger] {
        assert_reverts(&booking, BookingUnauthorized { id, caller }, || {
            booking.sender(caller).join(id, w.student_key)
        });
    }
    assert_reverts(
        &booking,
        BookingInvalidState {
            id: requested,
            state: 1,
        },
        || booking.sender(w.student).join(requested, w.student_key),
    );
    w.advance_to(closes + 1);
    assert_reverts(
        &booking,
        BookingOutsideJoinWindow { id, opens, closes },
        || booking.sender(w.student).join(id, w.student_key),
    );
    let second = {
        // The last second of a fresh booking's window is still in.
        let id = w.accepted();
        w.advance_to(w.now() + LEAD + JOIN_LATE);
        booking
            .sender(w.student)
            .join(id, w.student_key)
            .motsu_unwrap()
    };
    assert_eq!(second, super::id(1));
}

#[motsu::test]
fn join_passes_on_the_escrows_refusal_of_the_students_own_mistake(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let id = w.accepted();
    w.advance_to(w.start());
    let before = w.balances();
    // A zero heartbeat key is the student's to fix: the call reverts, nothing moves.
    let err = booking
        .sender(w.student)
        .join(id, Address::ZERO)
        .motsu_unwrap_err();
    assert_eq!(
        err,
        escrow_error(EscrowInvalidAddress {
            account: Address::ZERO
        })
    );
    assert_eq!(w.balances(), before);
    assert_eq!(w.state(id), State::Accepted as u8);
    booking
        .sender(w.student)
        .join(id, w.student_key)
        .motsu_unwrap();
    assert_eq!(w.state(id), State::Joined as u8);
}

/// Audit 15, M2: a join the escrow would refuse for a reason outside the student's
/// control ends the booking with the whole deposit back, no fee, no revert.
fn join_refused(w: &World<'_>, reason: u8, refuse: impl FnOnce()) {
    let id = w.accepted();
    refuse();
    w.advance_to(w.start() - JOIN_EARLY);
    let before = w.balances();
    assert_eq!(before, [FUNDS - DEPOSIT, 0, 0, DEPOSIT, 0]);
    let (session, events) = with_events(w.booking, || {
        w.booking
            .sender(w.student)
            .join(id, w.student_key)
            .motsu_unwrap()
    });
    assert_eq!(session, U256::ZERO);
    assert_eq!(
        events,
        [log(BookingJoinRefused {
            id,
            reason,
            refund: u(DEPOSIT)
        })]
    );
    assert_eq!(w.balances(), [FUNDS, 0, 0, 0, 0]);
    let b = w.booking.sender(w.stranger).booking(id).motsu_unwrap();
    assert_eq!((b.state, b.sessionId), (9, U256::ZERO));
    assert_eq!(
        w.escrow.sender(w.stranger).config().8,
        0,
        "no escrow session was opened"
    );
    // Nothing is owed to anyone: no no-show fee after the window, no second refund.
    w.assert_final(id, State::JoinRefused);
    assert_eq!(
        w.booking.sender(w.stranger).tutor_record(w.tutor),
        (0, 0, 0)
    );
}

#[motsu::test]
fn a_join_while_this_contract_is_not_the_escrows_booking_refunds_in_full(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    // A migration: the escrow registered another booking contract.
    join_refused(&w, 1, || {
        escrow
            .sender(w.admin)
            .set_booking(Address::repeat_byte(0xb0))
            .motsu_unwrap()
    });
}

#[motsu::test]
fn a_join_while_the_escrow_is_paused_refunds_in_full(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    join_refused(&w, 2, || {
        escrow.sender(w.admin).set_paused(true).motsu_unwrap()
    });
}

#[motsu::test]
fn a_join_in_a_token_the_escrow_no_longer_takes_refunds_in_full(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    join_refused(&w, 3, || {
        escrow
            .sender(w.admin)
            .set_token_allowed(token.address(), false)
            .motsu_unwrap()
    });
}

#[motsu::test]
fn join_refusals_are_checked_in_order_and_outside_the_window_still_revert(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let id = w.accepted();
    escrow.sender(w.admin).set_paused(true).motsu_unwrap();
    escrow
        .sender(w.admin)
        .set_token_allowed(token.address(), false)
        .motsu_unwrap();
    let (opens, closes) = rules::join_window(w.start());
    // Before the window the call is refused as ever: nothing ends.
    assert_reverts(
        &booking,
        BookingOutsideJoinWindow { id, opens, closes },
        || booking.sender(w.student).join(id, w.student_key),
    );
    assert_reverts(
        &booking,
        BookingUnauthorized {
            id,
            caller: w.tutor,
        },
        || booking.sender(w.tutor).join(id, w.student_key),
    );
    w.advance_to(opens);
    // Paused and the token delisted: the pause is named.
    booking
        .sender(w.student)
        .join(id, w.student_key)
        .motsu_unwrap();
    booking.assert_emitted(&BookingJoinRefused {
        id,
        reason: 2,
        refund: u(DEPOSIT),
    });
}

#[motsu::test]
fn claim_no_show_charges_nothing_while_this_contract_is_not_the_escrows_booking(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let id = w.accepted();
    let kept = w.accepted();
    escrow
        .sender(w.admin)
        .set_booking(Address::ZERO)
        .motsu_unwrap();
    w.advance_to(w.start() + JOIN_LATE + 1);
    let ((), events) = with_events(&booking, || {
        booking.sender(w.tutor).claim_no_show(id).motsu_unwrap()
    });
    assert_eq!(
        events,
        [log(BookingStudentNoShow {
            id,
            by: w.tutor,
            tutorFee: U256::ZERO,
            refund: u(DEPOSIT)
        })]
    );
    assert_eq!(w.balances(), [FUNDS - DEPOSIT, 0, 0, DEPOSIT, 0]);
    // Registered again, the fee is due as ever.
    escrow
        .sender(w.admin)
        .set_booking(booking.address())
        .motsu_unwrap();
    booking.sender(w.tutor).claim_no_show(kept).motsu_unwrap();
    let fee = PRICE * u128::from(NO_SHOW_BPS) / 10_000;
    booking.assert_emitted(&BookingStudentNoShow {
        id: kept,
        by: w.tutor,
        tutorFee: u(fee),
        refund: u(DEPOSIT - fee),
    });
    assert_eq!(w.balances(), [FUNDS - fee, fee, 0, 0, 0]);
}

#[motsu::test]
fn claim_no_show_after_the_window_pays_the_no_show_fee(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let requested = w.request().motsu_unwrap();
    let id = w.accepted();
    let closes = w.start() + JOIN_LATE;
    w.advance_to(closes);
    assert_reverts(&booking, BookingJoinWindowOpen { id, closes }, || {
        booking.sender(w.tutor).claim_no_show(id)
    });
    assert_reverts(
        &booking,
        BookingInvalidState {
            id: requested,
            state: 1,
        },
        || booking.sender(w.tutor).claim_no_show(requested),
    );
    w.advance_to(closes + 1);
    let ((), events) = with_events(&booking, || {
        booking.sender(w.tutor).claim_no_show(id).motsu_unwrap()
    });
    let fee = PRICE * u128::from(NO_SHOW_BPS) / 10_000;
    assert_eq!(fee, 18_000_000);
    assert_eq!(
        events,
        [log(BookingStudentNoShow {
            id,
            by: w.tutor,
            tutorFee: u(fee),
            refund: u(DEPOSIT - fee)
        })]
    );
    assert_eq!(w.balance(w.tutor), fee);
    // The unanswered request's deposit is still held; this booking's is paid out.
    assert_eq!(w.balance(booking.address()), DEPOSIT);
    assert_eq!(w.balance(w.student), FUNDS - DEPOSIT - fee);
    assert_eq!(w.state(id), State::StudentNoShow as u8);
    assert_reverts(&booking, BookingInvalidState { id, state: 7 }, || {
        booking.sender(w.stranger).claim_no_show(id)
    });
    assert_reverts(&booking, BookingInvalidState { id, state: 7 }, || {
        booking.sender(w.student).join(id, w.student_key)
    });
    // A student no-show counts nothing against the tutor.
    assert_eq!(booking.sender(w.stranger).tutor_record(w.tutor), (0, 0, 0));
}

#[motsu::test]
fn claim_no_show_may_be_sent_by_anyone_and_a_zero_fee_refunds_all(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    booking.sender(w.tutor).set_policy(0, 0, 0).motsu_unwrap();
    let id = w.accepted();
    w.advance_to(w.start() + JOIN_LATE + 1);
    booking.sender(w.stranger).claim_no_show(id).motsu_unwrap();
    booking.assert_emitted(&BookingStudentNoShow {
        id,
        by: w.stranger,
        tutorFee: U256::ZERO,
        refund: u(DEPOSIT),
    });
    assert_eq!(w.balance(w.student), FUNDS);
}

#[motsu::test]
fn report_tutor_no_show_has_the_escrow_refund_all_and_counts_the_tutor(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let (id, session) = w.joined();
    let deadline = w.now() + u64::from(START_WINDOW);
    // While the tutor may still start, the escrow refuses, and so does this call.
    w.advance_to(deadline);
    let err = booking
        .sender(w.stranger)
        .report_tutor_no_show(id)
        .motsu_unwrap_err();
    assert_eq!(
        err,
        escrow_error(EscrowStartWindowOpen {
            id: session,
            deadline
        })
    );
    assert_eq!(booking.sender(w.stranger).tutor_record(w.tutor), (0, 0, 0));
    assert_eq!(w.state(id), State::Joined as u8);
    w.advance_to(deadline + 1);
    let ((), events) = with_events(&booking, || {
        booking
            .sender(w.stranger)
            .report_tutor_no_show(id)
            .motsu_unwrap()
    });
    assert_eq!(
        events,
        [log(BookingTutorNoShow {
            id,
            sessionId: session,
            by: w.stranger
        })]
    );
    escrow.assert_emitted(&SessionCancelled {
        id: session,
        by: booking.address(),
        refund: u(PRICE),
    });
    assert_eq!(w.balances(), [FUNDS, 0, 0, 0, 0]);
    assert_eq!(booking.sender(w.stranger).tutor_record(w.tutor), (0, 1, 0));
    assert_eq!(w.state(id), State::TutorNoShow as u8);
    assert_reverts(&booking, BookingInvalidState { id, state: 8 }, || {
        booking.sender(w.stranger).report_tutor_no_show(id)
    });
}

#[motsu::test]
fn a_joined_lesson_cannot_be_cancelled_in_the_escrow_to_dodge_the_fees(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let (id, session) = w.joined();
    let deadline = w.now() + u64::from(START_WINDOW);
    // Neither the student (a late fee or no-show fee dodged) nor the tutor (a no-show
    // dodged) may cancel the booked session while the tutor may still start it.
    for who in [w.student, w.tutor] {
        let err = escrow.sender(who).cancel(session).motsu_unwrap_err();
        assert_eq!(
            Vec::<u8>::from(err),
            EscrowStartWindowOpen {
                id: session,
                deadline
            }
            .abi_encode()
        );
    }
    // After the window the student may cancel it in the escrow (full refund); the
    // tutor never started, and is still counted when the booking is reported.
    w.advance_to(deadline + 1);
    escrow.sender(w.student).cancel(session).motsu_unwrap();
    assert_eq!(w.balances(), [FUNDS, 0, 0, 0, 0]);
    let ((), events) = with_events(&escrow, || {
        booking
            .sender(w.stranger)
            .report_tutor_no_show(id)
            .motsu_unwrap()
    });
    assert!(
        events.is_empty(),
        "the escrow was not called again: {events:?}"
    );
    booking.assert_emitted(&BookingTutorNoShow {
        id,
        sessionId: session,
        by: w.stranger,
    });
    assert_eq!(booking.sender(w.stranger).tutor_record(w.tutor), (0, 1, 0));
    assert_eq!(w.balances(), [FUNDS, 0, 0, 0, 0]);
}

#[motsu::test]
fn report_tutor_no_show_is_refused_once_the_tutor_started(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let (id, session) = w.joined();
    escrow
        .sender(w.tutor)
        .start(session, w.tutor_key)
        .motsu_unwrap();
    w.advance_to(w.now() + u64::from(START_WINDOW) + 1);
    let err = booking
        .sender(w.student)
        .report_tutor_no_show(id)
        .motsu_unwrap_err();
    assert_eq!(
        err,
        escrow_error(EscrowInvalidState {
            id: session,
            state: 2
        })
    );
    assert_eq!(booking.sender(w.stranger).tutor_record(w.tutor), (0, 0, 0));
    assert_eq!(w.state(id), State::Joined as u8);
    // A booking that was never joined has no session to report.
    let other = w.accepted();
    assert_reverts(
        &booking,
        BookingInvalidState {
            id: other,
            state: 2,
        },
        || booking.sender(w.student).report_tutor_no_show(other),
    );
}

/// Audit 15, M1: the tutor's start deadline runs to the end of the join window at least,
/// not from the student's early join, whatever the escrow's configured start window.
#[motsu::test]
fn an_early_join_leaves_the_tutor_the_whole_join_window_to_start(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let closes = w.start() + JOIN_LATE;
    // The admin shortens the escrow's start window to 1 s (instant matching).
    escrow
        .sender(w.admin)
        .set_config(w.treasury, Address::ZERO, FEE_BPS, 1, 60)
        .motsu_unwrap();
    let on_time = w.accepted();
    let absent = w.accepted();
    w.advance_to(w.start() - JOIN_EARLY);
    let session = booking
        .sender(w.student)
        .join(on_time, w.student_key)
        .motsu_unwrap();
    let other = booking
        .sender(w.student)
        .join(absent, w.student_key)
        .motsu_unwrap();
    // T + 6 min: inside the booking's window; the tutor is not late, nobody may report.
    w.advance_to(w.start() + 360);
    assert_eq!(
        booking
            .sender(w.stranger)
            .report_tutor_no_show(on_time)
            .motsu_unwrap_err(),
        escrow_error(EscrowStartWindowOpen {
            id: session,
            deadline: closes
        })
    );
    escrow
        .sender(w.tutor)
        .start(session, w.tutor_key)
        .motsu_unwrap();
    // The other lesson's tutor still has until the join window closes, and no longer.
    w.advance_to(closes);
    assert_eq!(
        booking
            .sender(w.stranger)
            .report_tutor_no_show(absent)
            .motsu_unwrap_err(),
        escrow_error(EscrowStartWindowOpen {
            id: other,
            deadline: closes
        })
    );
    w.advance_to(closes + 1);
    booking
        .sender(w.stranger)
        .report_tutor_no_show(absent)
        .motsu_unwrap();
    assert_eq!(booking.sender(w.stranger).tutor_record(w.tutor), (0, 1, 0));
    assert_eq!(w.state(on_time), State::Joined as u8);
}

/// A joined lesson, started by the tutor and ended by `by` one second in: the balances
/// of student, tutor, treasury, booking and escrow.
fn joined_and_left_a_second_in(
    escrow: &Contract<SessionEscrow>,
    token: &Contract<TestToken>,
    booking: &Contract<Booking>,
    by_student: bool,
) -> ([u128; 5], u64) {
    let w = World::new(escrow, token, booking);
    let (_, session) = w.joined();
    escrow
        .sender(w.tutor)
        .start(session, w.tutor_key)
        .motsu_unwrap();
    w.advance_to(w.now() + 1);
    let by = if by_student { w.student } else { w.tutor };
    escrow.sender(by).stop(session).motsu_unwrap();
    let s = escrow.sender(w.stranger).session(session).motsu_unwrap();
    (w.balances(), s.end - s.start)
}

/// Audit 15, H1: joining and then leaving costs what not showing up would. The lesson
/// (36 USDC, one hour, 25 % late, 50 % no-show) is joined and started; the student stops
/// it a second in: it bills half the hour (the larger fee's share), 18 USDC, the protocol
/// fee taken as on any billing.
#[motsu::test]
fn joining_then_leaving_costs_the_no_show_share(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let (balances, held) = joined_and_left_a_second_in(&escrow, &token, &booking, true);
    let billed = PRICE * u128::from(NO_SHOW_BPS) / 10_000;
    assert_eq!(billed, 18_000_000);
    let fee = billed * u128::from(FEE_BPS) / 10_000;
    assert_eq!(balances, [FUNDS - billed, billed - fee, fee, 0, 0]);
    assert_eq!(held, 1, "the real end stays the session's end");
}

#[motsu::test]
fn a_tutor_leaving_a_joined_lesson_bills_only_the_seconds_held(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let (balances, _) = joined_and_left_a_second_in(&escrow, &token, &booking, false);
    // One second at 10,000 a second, 2.5 % fee.
    assert_eq!(balances, [FUNDS - 10_000, 9_750, 250, 0, 0]);
}

/// Audit 15, L2: a tutor who starts a joined lesson and stops it at once (here with a
/// policy without fees, so no minimum time either) is counted, once reported, as ending
/// it early; the report moves no money and ends the booking.
#[motsu::test]
fn a_tutor_starting_and_stopping_a_joined_lesson_at_once_is_counted(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    booking.sender(w.tutor).set_policy(0, 0, 0).motsu_unwrap();
    let (id, session) = w.started();
    let not_early = BookingNotEndedEarly {
        id,
        sessionId: session,
    };
    // While it runs there is nothing to report.
    assert_reverts(&booking, not_early.clone(), || {
        booking.sender(w.stranger).report_tutor_early_end(id)
    });
    escrow.sender(w.tutor).stop(session).motsu_unwrap();
    assert_eq!(w.balances(), [FUNDS, 0, 0, 0, 0]);
    let ((), escrow_events) = with_events(&escrow, || {
        let ((), events) = with_events(&booking, || {
            booking
                .sender(w.stranger)
                .report_tutor_early_end(id)
                .motsu_unwrap()
        });
        assert_eq!(
            events,
            [log(BookingTutorEndedEarly {
                id,
                sessionId: session,
                by: w.stranger,
                held: 0,
            })]
        );
    });
    assert!(escrow_events.is_empty(), "{escrow_events:?}");
    assert_eq!(w.balances(), [FUNDS, 0, 0, 0, 0]);
    assert_eq!(booking.sender(w.stranger).tutor_record(w.tutor), (0, 0, 1));
    w.assert_final(id, State::TutorEndedEarly);
}

/// The early end is the tutor's side only: a relayer's stop for the tutor's silence
/// counts (after the seconds held), the student's own stop or silence does not, nor a
/// lesson held for its booked duration (the deposit used up, or topped up and stopped by
/// the tutor at the booked end).
#[motsu::test]
fn only_the_tutors_end_short_of_the_booked_duration_is_counted(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let relayer = Address::repeat_byte(0x4e);
    escrow
        .sender(w.admin)
        .set_relayer(relayer, true)
        .motsu_unwrap();
    token
        .sender(w.student)
        .approve(escrow.address(), U256::MAX)
        .motsu_unwrap();
    let report = |id| booking.sender(w.stranger).report_tutor_early_end(id);
    let refused = |id, session| {
        assert_eq!(
            report(id).motsu_unwrap_err(),
            BookingNotEndedEarly {
                id,
                sessionId: session
            }
            .into()
        );
        assert_eq!(w.state(id), State::Joined as u8);
    };

    // The relayer stops for the tutor's silence, backdated 20 s: 580 s held.
    let (id, session) = w.started();
    let start = w.now();
    w.advance_to(start + 600);
    escrow
        .sender(relayer)
        .stop_at(session, start + 580, SILENT_TUTOR)
        .motsu_unwrap();
    report(id).motsu_unwrap();
    booking.assert_emitted(&BookingTutorEndedEarly {
        id,
        sessionId: session,
        by: w.stranger,
        held: 580,
    });
    assert_eq!(booking.sender(w.stranger).tutor_record(w.tutor), (0, 0, 1));

    // The student's own stop, and the relayer's for the student's silence.
    for student_silent in [false, true] {
        let (id, session) = w.started();
        w.advance_to(w.now() + 600);
        if student_silent {
            let at = w.now() - 10;
            escrow
                .sender(relayer)
                .stop_at(session, at, SILENT_STUDENT)
                .motsu_unwrap();
        } else {
            escrow.sender(w.student).stop(session).motsu_unwrap();
        }
        refused(id, session);
    }

    // The tutor stops once the price ran out: the whole hour was held.
    let (id, session) = w.started();
    w.advance_to(w.now() + u64::from(DURATION) + 60);
    escrow.sender(w.tutor).stop(session).motsu_unwrap();
    assert!(!escrow
        .sender(w.stranger)
        .ended_by_tutor(session)
        .motsu_unwrap());
    refused(id, session);

    // Topped up by 1 USDC, the tutor stops at the booked end: the escrow marks it (money
    // was left), the booking does not count it (the hour was held); a second earlier it
    // does.
    for (held, counted) in [
        (u64::from(DURATION), false),
        (u64::from(DURATION) - 1, true),
    ] {
        let (id, session) = w.started();
        escrow
            .sender(w.student)
            .top_up(session, u(1_000_000))
            .motsu_unwrap();
        w.advance_to(w.now() + held);
        escrow.sender(w.tutor).stop(session).motsu_unwrap();
        assert!(escrow
            .sender(w.stranger)
            .ended_by_tutor(session)
            .motsu_unwrap());
        if counted {
            report(id).motsu_unwrap();
            assert_eq!(w.state(id), State::TutorEndedEarly as u8);
        } else {
            refused(id, session);
        }
    }
    assert_eq!(booking.sender(w.stranger).tutor_record(w.tutor), (0, 0, 2));
}
