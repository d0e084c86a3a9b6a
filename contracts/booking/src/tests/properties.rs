//! Money conservation, the core invariant: over random terms (duration, rate with a
//! sub-unit part, surplus deposit, policy) and every way a booking can end (decline,
//! expire, cancel unanswered, student cancel at any time before the start, tutor cancel,
//! student no-show, tutor no-show after the join, a join the paused escrow would refuse, a
//! joined lesson run for a random time),
//! every base unit of the deposit ends with the student, the tutor or the treasury,
//! exactly as an independent model of the rules says; nothing stays in the booking
//! contract or the escrow, and each closing event splits the deposit to the base unit.
//! After each ending every other transition is refused and moves nothing.

use alloy_sol_types::SolError;
use proptest::prelude::*;

use super::*;

#[derive(Clone, Copy, Debug)]
enum Path {
    /// The tutor declines `at` seconds after the request (within the answer window).
    Decline(u64),
    /// Nobody answers; someone expires the request `at` seconds after its deadline.
    Expire(u64),
    /// The student withdraws the unanswered request.
    CancelRequest(u64),
    /// The student cancels the accepted lesson `at` seconds after the request.
    StudentCancel(u64),
    /// The tutor cancels the accepted lesson `at` seconds after the request.
    TutorCancel(u64),
    /// The student never joins; settled `at` seconds after the window closed.
    StudentNoShow(u64),
    /// The student joins `at` seconds into the window; the tutor never starts.
    TutorNoShow(u64),
    /// The escrow is paused; the student comes to join `at` seconds into the window.
    JoinRefused(u64),
    /// The student joins `at` seconds into the window; the tutor starts and the session
    /// is stopped `run` seconds later, by the student (`true`: it bills at least the
    /// larger fee's share of the lesson) or by the tutor (an early end, reported, if
    /// short of the price).
    Lesson(u64, u64, bool),
}

fn path() -> impl Strategy<Value = Path> {
    let window = JOIN_EARLY + JOIN_LATE;
    prop_oneof![
        (0..=ANSWER).prop_map(Path::Decline),
        (1..=LEAD).prop_map(Path::Expire),
        (0..LEAD).prop_map(Path::CancelRequest),
        (0..LEAD).prop_map(Path::StudentCancel),
        (0..=LEAD + JOIN_LATE).prop_map(Path::TutorCancel),
        (1..=LEAD).prop_map(Path::StudentNoShow),
        (0..=window).prop_map(Path::TutorNoShow),
        (0..=window).prop_map(Path::JoinRefused),
        (
            (0..=window),
            (0..=2 * u64::from(rules::MAX_DURATION / 12)),
            any::<bool>()
        )
            .prop_map(|(a, r, s)| Path::Lesson(a, r, s)),
    ]
}

/// `floor(a × b / d)` in 256 bits: the model's own arithmetic, not the contract's.
fn mul_div(a: u128, b: u128, d: u128) -> u128 {
    (U256::from(a) * U256::from(b) / U256::from(d)).to::<u128>()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_ending_splits_the_deposit_to_the_base_unit(
        duration in 1u32..=7_200,
        per_second in 0u128..=100_000,
        sub_unit in 0u128..minuto_accrual::RATE_SCALE,
        surplus in 0u128..=10_000_000,
        notice in 0u32..=rules::MAX_FREE_NOTICE,
        late_bps in 0u16..=5_000,
        no_show_bps in 0u16..=10_000,
        path in path(),
    ) {
        let rate = per_second * minuto_accrual::RATE_SCALE + sub_unit;
        let price = mul_div(u128::from(duration), rate, minuto_accrual::RATE_SCALE);
        prop_assume!(price > 0);
        let deposit = price + surplus;

        let escrow = Contract::<SessionEscrow>::new();
        let token = Contract::<TestToken>::new();
        let booking = Contract::<Booking>::new();
        let w = World::new(&escrow, &token, &booking);
        let t = token.address();
        booking.sender(w.tutor).set_rate(t, u(rate)).motsu_unwrap();
        booking
            .sender(w.tutor)
            .set_policy(notice, late_bps, no_show_bps)
            .motsu_unwrap();
        let start = T0 + LEAD;
        let id = booking
            .sender(w.student)
            .request(w.tutor, t, start, duration, u(rate), u(deposit), 0, T0 + ANSWER, ANY_NOTICE, ANY_LATE_BPS, ANY_NO_SHOW_BPS)
            .motsu_unwrap();
        prop_assert_eq!(w.balances(), [FUNDS - deposit, 0, 0, deposit, 0]);
        let accept = || booking.sender(w.tutor).accept(id).motsu_unwrap();
        let opens = start - JOIN_EARLY;

        // What the model says each party ends with: (tutor, treasury); the student gets
        // the rest of FUNDS. And the split the closing event must show.
        let fee_of = |bps: u16| mul_div(price, u128::from(bps), 10_000);
        let (tutor, treasury, counts) = match path {
            Path::Decline(at) => {
                w.advance_to(T0 + at);
                booking.sender(w.tutor).decline(id).motsu_unwrap();
                booking.assert_emitted(&BookingDeclined { id, tutor: w.tutor, refund: u(deposit) });
                (0, 0, (0, 0, 0))
            }
            Path::Expire(at) => {
                w.advance_to(T0 + ANSWER + at);
                booking.sender(w.stranger).expire(id).motsu_unwrap();
                booking.assert_emitted(&BookingExpired { id, by: w.stranger, refund: u(deposit) });
                (0, 0, (0, 0, 0))
            }
            Path::CancelRequest(at) => {
                w.advance_to(T0 + at);
                booking.sender(w.student).cancel(id).motsu_unwrap();
                booking.assert_emitted(&BookingCancelled {
                    id, by: w.student, tutorFee: U256::ZERO, refund: u(deposit),
                });
                (0, 0, (0, 0, 0))
            }
            Path::StudentCancel(at) => {
                accept();
                w.advance_to(T0 + at);
                let late = T0 + at + u64::from(notice) > start;
                let fee = if late { fee_of(late_bps) } else { 0 };
                booking.sender(w.student).cancel(id).motsu_unwrap();
                booking.assert_emitted(&BookingCancelled {
                    id, by: w.student, tutorFee: u(fee), refund: u(deposit - fee),
                });
                (fee, 0, (0, 0, 0))
            }
            Path::TutorCancel(at) => {
                accept();
                w.advance_to(T0 + at);
                booking.sender(w.tutor).cancel(id).motsu_unwrap();
                booking.assert_emitted(&BookingCancelled {
                    id, by: w.tutor, tutorFee: U256::ZERO, refund: u(deposit),
                });
                (0, 0, (1, 0, 0))
            }
            Path::StudentNoShow(at) => {
                accept();
                w.advance_to(start + JOIN_LATE + at);
                let fee = fee_of(no_show_bps);
                booking.sender(w.stranger).claim_no_show(id).motsu_unwrap();
                booking.assert_emitted(&BookingStudentNoShow {
                    id, by: w.stranger, tutorFee: u(fee), refund: u(deposit - fee),
                });
                (fee, 0, (0, 0, 0))
            }
            Path::TutorNoShow(at) => {
                accept();
                w.advance_to(opens + at);
                let session = booking.sender(w.student).join(id, w.student_key).motsu_unwrap();
                booking.assert_emitted(&BookingJoined {
                    id, sessionId: session, escrowed: u(price), refund: u(surplus),
                });
                // The tutor may start until the escrow's window or the join window,
                // whichever ends later, has passed; a report before that is refused.
                let deadline = (w.now() + u64::from(START_WINDOW)).max(start + JOIN_LATE);
                w.advance_to(deadline);
                prop_assert_eq!(
                    booking.sender(w.stranger).report_tutor_no_show(id).motsu_unwrap_err(),
                    Error::Escrow(EscrowRevert(
                        minuto_escrow::EscrowStartWindowOpen { id: session, deadline }.abi_encode()
                    ))
                );
                w.advance_to(deadline + 1);
                booking.sender(w.stranger).report_tutor_no_show(id).motsu_unwrap();
                (0, 0, (0, 1, 0))
            }
            Path::JoinRefused(at) => {
                accept();
                escrow.sender(w.admin).set_paused(true).motsu_unwrap();
                w.advance_to(opens + at);
                let session = booking.sender(w.student).join(id, w.student_key).motsu_unwrap();
                prop_assert_eq!(session, U256::ZERO);
                booking.assert_emitted(&BookingJoinRefused { id, reason: 2, refund: u(deposit) });
                (0, 0, (0, 0, 0))
            }
            Path::Lesson(at, run, by_student) => {
                accept();
                w.advance_to(opens + at);
                let session = booking.sender(w.student).join(id, w.student_key).motsu_unwrap();
                booking.assert_emitted(&BookingJoined {
                    id, sessionId: session, escrowed: u(price), refund: u(surplus),
                });
                escrow.sender(w.tutor).start(session, w.tutor_key).motsu_unwrap();
                w.advance_to(w.now() + run);
                let ender = if by_student { w.student } else { w.tutor };
                escrow.sender(ender).stop(session).motsu_unwrap();
                // The escrow bills up to the price it holds, never more; ended by the
                // student, no less than the larger fee's share of the lesson's seconds.
                let least = u64::from(duration) * u64::from(late_bps.max(no_show_bps)) / 10_000;
                let secs = if by_student { run.max(least) } else { run };
                let billed = mul_div(u128::from(secs), rate, minuto_accrual::RATE_SCALE).min(price);
                let fee = mul_div(billed, u128::from(FEE_BPS), 10_000);
                // Audit 15, L2: ended by the tutor before the price ran out (so short of
                // the booked duration), anyone may count it against the tutor.
                let early = !by_student
                    && mul_div(u128::from(run), rate, minuto_accrual::RATE_SCALE) < price;
                let report = booking.sender(w.stranger).report_tutor_early_end(id);
                if early {
                    report.motsu_unwrap();
                    booking.assert_emitted(&BookingTutorEndedEarly {
                        id, sessionId: session, by: w.stranger, held: run,
                    });
                } else {
                    prop_assert_eq!(
                        report.motsu_unwrap_err(),
                        BookingNotEndedEarly { id, sessionId: session }.into()
                    );
                }
                (billed - fee, fee, (0, 0, u64::from(early)))
            }
        };
        prop_assert_eq!(
            w.balances(),
            [FUNDS - tutor - treasury, tutor, treasury, 0, 0],
            "student, tutor, treasury, booking, escrow after {:?}", path
        );
        prop_assert_eq!(booking.sender(w.stranger).tutor_record(w.tutor), counts);
        prop_assert!(w.state(id) >= State::Declined as u8);
        // The ending is final: every other transition is refused and moves nothing.
        w.assert_every_transition_refused(id, State::from_u64(w.state(id).into()));
    }
}
