//! Series: `requestSeries` books each lesson as a booking of its own with one pull; the
//! `…Series` calls apply `accept`, `decline`, `expire` and `cancel` to every lesson they
//! fit, on each lesson's own terms, and pay with one transfer a party.

use proptest::prelude::*;

use super::*;

/// The `BookingRequested` of lesson `i` (from 0) of the standard series requested at
/// [`T0`] with `interval`.
fn requested(w: &World<'_>, first: u64, i: u64, interval: u32) -> alloy_primitives::LogData {
    log(BookingRequested {
        id: id(first + i),
        student: w.student,
        tutor: w.tutor,
        token: w.token.address(),
        start: T0 + LEAD + i * u64::from(interval),
        duration: DURATION,
        rate: u(RATE),
        deposit: u(DEPOSIT),
        credentialKind: 0,
        answerDeadline: T0 + ANSWER,
        freeNotice: NOTICE,
        lateCancelFeeBps: LATE_BPS,
        noShowFeeBps: NO_SHOW_BPS,
    })
}

/// The `SeriesRequested` of a weekly series of `lessons` from booking 1.
fn series_requested(w: &World<'_>, lessons: u16) -> alloy_primitives::LogData {
    log(SeriesRequested {
        firstId: id(1),
        student: w.student,
        tutor: w.tutor,
        lessons,
        interval: WEEK,
    })
}

#[motsu::test]
fn a_series_books_each_lesson_an_interval_apart_with_one_pull(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let ((first, events), transfers) =
        with_events(&token, || with_events(&booking, || w.series(3, WEEK)));
    assert_eq!(first, Ok(id(1)));
    assert_eq!(
        events,
        [
            requested(&w, 1, 0, WEEK),
            requested(&w, 1, 1, WEEK),
            requested(&w, 1, 2, WEEK),
            series_requested(&w, 3),
        ]
    );
    // One pull of the three deposits.
    assert_eq!(transfers.len(), 1);
    assert_eq!(w.balance(w.student), FUNDS - 3 * DEPOSIT);
    assert_eq!(w.balance(booking.address()), 3 * DEPOSIT);
    assert_eq!(booking.sender(w.stranger).series(id(1)), Ok((3, WEEK)));
    for i in 0..3 {
        let b = booking.sender(w.stranger).booking(id(1 + i)).motsu_unwrap();
        assert_eq!(
            (b.start, b.deposit, b.state, b.answerDeadline),
            (
                T0 + LEAD + i * u64::from(WEEK),
                u(DEPOSIT),
                State::Requested as u8,
                T0 + ANSWER
            )
        );
    }
    // A lesson that is not a series' first is no series.
    assert_reverts(&booking, BookingUnknownSeries { firstId: id(2) }, || {
        booking.sender(w.stranger).series(id(2))
    });
    // A single request after it takes the next id and is no series.
    assert_eq!(w.request(), Ok(id(4)));
    assert_reverts(&booking, BookingUnknownSeries { firstId: id(4) }, || {
        booking.sender(w.stranger).series(id(4))
    });
    assert_eq!(booking.sender(w.stranger).config().1, 4);
}

#[motsu::test]
fn series_terms_out_of_range_are_refused_and_move_nothing(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let invalid = |lessons, interval| BookingInvalidSeries {
        lessons,
        interval,
        duration: DURATION,
        fundLead: 0,
    };
    for (lessons, interval) in [
        (0, WEEK),
        (1, WEEK),
        (MAX_SERIES_LESSONS + 1, WEEK),
        (2, DURATION - 1),
        (2, MAX_SERIES_INTERVAL + 1),
    ] {
        assert_reverts(&booking, invalid(lessons, interval), || {
            w.series(lessons, interval)
        });
    }
    // The deposits must add up within 128 bits.
    let half = u128::MAX / 2 + 1;
    assert_reverts(&booking, BookingInvalidAmount { amount: u(half) }, || {
        w.series_with(w.now() + LEAD, WEEK, 2, u(half), 0)
    });
    // The last lesson's start must fit in 64 bits.
    let late_start = u64::MAX - u64::from(WEEK) + 1;
    assert_reverts(&booking, invalid(2, WEEK), || {
        w.series_with(late_start, WEEK, 2, u(DEPOSIT), 0)
    });
    // A request's own checks hold for a series (here: the deposit).
    assert_reverts(
        &booking,
        BookingDepositTooLow {
            deposit: u(PRICE - 1),
            price: u(PRICE),
        },
        || w.series_with(w.now() + LEAD, WEEK, 2, u(PRICE - 1), 0),
    );
    assert_eq!(w.balance(w.student), FUNDS);
    assert_eq!(booking.sender(w.stranger).config().1, 0);
    // The bounds themselves are accepted: back to back (interval = duration), and the
    // most lessons at the longest interval.
    assert_eq!(w.series(2, DURATION), Ok(id(1)));
    token
        .sender(w.admin)
        .mint(w.student, u(52 * DEPOSIT))
        .motsu_unwrap();
    assert_eq!(w.series(MAX_SERIES_LESSONS, MAX_SERIES_INTERVAL), Ok(id(3)));
    let last = booking.sender(w.stranger).booking(id(54)).motsu_unwrap();
    assert_eq!(last.start, T0 + LEAD + 51 * u64::from(MAX_SERIES_INTERVAL));
}

#[motsu::test]
fn the_tutor_accepts_a_series_in_one_call_passing_over_cancelled_lessons(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let first = w.series(3, WEEK).motsu_unwrap();
    booking.sender(w.student).cancel(id(2)).motsu_unwrap();
    // Nobody but the tutor.
    assert_reverts(
        &booking,
        BookingUnauthorized {
            id: first,
            caller: w.stranger,
        },
        || booking.sender(w.stranger).accept_series(first),
    );
    // Series are named by their first booking.
    assert_reverts(&booking, BookingUnknownSeries { firstId: id(2) }, || {
        booking.sender(w.tutor).accept_series(id(2))
    });
    let ((), events) = with_events(&booking, || {
        booking.sender(w.tutor).accept_series(first).motsu_unwrap()
    });
    assert_eq!(
        events,
        [
            log(BookingAccepted {
                id: id(1),
                tutor: w.tutor
            }),
            log(BookingAccepted {
                id: id(3),
                tutor: w.tutor
            }),
        ]
    );
    assert_eq!(
        [w.state(id(1)), w.state(id(2)), w.state(id(3))],
        [2, 5, 2].map(|s| s as u8)
    );
    assert_reverts(
        &booking,
        BookingSeriesNothingLeft { firstId: first },
        || booking.sender(w.tutor).accept_series(first),
    );
    // Past the answer deadline, a series is not accepted.
    let late = w.series(2, WEEK).motsu_unwrap();
    w.advance_to(T0 + ANSWER + 1);
    assert_reverts(
        &booking,
        BookingAnswerDeadlinePassed {
            id: late,
            answerDeadline: T0 + ANSWER,
        },
        || booking.sender(w.tutor).accept_series(late),
    );
    assert_eq!(w.state(late), State::Requested as u8);
}

#[motsu::test]
fn the_tutor_declines_a_series_and_the_deposits_go_back_in_one_refund(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let first = w.series(3, WEEK).motsu_unwrap();
    booking.sender(w.tutor).accept(id(1)).motsu_unwrap();
    // The student's address is blocked: the one refund of both lessons is credited.
    token.sender(w.admin).set_blocked(w.student, true);
    let ((), events) = with_events(&booking, || {
        booking.sender(w.tutor).decline_series(first).motsu_unwrap()
    });
    assert_eq!(
        events,
        [
            log(BookingDeclined {
                id: id(2),
                tutor: w.tutor,
                refund: u(DEPOSIT)
            }),
            log(BookingDeclined {
                id: id(3),
                tutor: w.tutor,
                refund: u(DEPOSIT)
            }),
            log(PayoutCredited {
                token: token.address(),
                account: w.student,
                amount: u(2 * DEPOSIT)
            }),
        ]
    );
    assert_eq!(
        booking
            .sender(w.stranger)
            .claimable(token.address(), w.student),
        u(2 * DEPOSIT)
    );
    assert_eq!(w.state(id(1)), State::Accepted as u8);
    assert_reverts(
        &booking,
        BookingSeriesNothingLeft { firstId: first },
        || booking.sender(w.tutor).decline_series(first),
    );
    // The student may not decline.
    token.sender(w.admin).set_blocked(w.student, false);
    let other = w.series(2, WEEK).motsu_unwrap();
    assert_reverts(
        &booking,
        BookingUnauthorized {
            id: other,
            caller: w.student,
        },
        || booking.sender(w.student).decline_series(other),
    );
}

#[motsu::test]
fn anyone_expires_what_is_left_unanswered_of_a_series_after_its_deadline(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let first = w.series(3, WEEK).motsu_unwrap();
    booking.sender(w.tutor).accept(id(3)).motsu_unwrap();
    w.advance_to(T0 + ANSWER);
    assert_reverts(
        &booking,
        BookingAnswerDeadlineNotPassed {
            id: first,
            answerDeadline: T0 + ANSWER,
        },
        || booking.sender(w.stranger).expire_series(first),
    );
    w.advance_to(T0 + ANSWER + 1);
    let ((), events) = with_events(&booking, || {
        booking
            .sender(w.stranger)
            .expire_series(first)
            .motsu_unwrap()
    });
    assert_eq!(
        events,
        [1, 2].map(|i| log(BookingExpired {
            id: id(i),
            by: w.stranger,
            refund: u(DEPOSIT)
        }))
    );
    assert_eq!(w.balance(w.student), FUNDS - DEPOSIT);
    assert_eq!(w.state(id(3)), State::Accepted as u8);
}

#[motsu::test]
fn the_student_cancels_the_rest_of_a_series_each_lesson_on_its_own_terms(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let first = w.series(4, WEEK).motsu_unwrap();
    booking.sender(w.tutor).accept_series(first).motsu_unwrap();
    // Lesson 1 is joined; lesson 2 has started (too late to cancel); lesson 3 is within
    // its notice (late); lesson 4 is a week further (free).
    w.advance_to(T0 + LEAD);
    booking
        .sender(w.student)
        .join(id(1), w.student_key)
        .motsu_unwrap();
    let start2 = T0 + LEAD + u64::from(WEEK);
    let start3 = start2 + u64::from(WEEK);
    w.advance_to(start2 + 60);
    assert_reverts(
        &booking,
        BookingUnauthorized {
            id: first,
            caller: w.stranger,
        },
        || booking.sender(w.stranger).cancel_series(first),
    );
    // One hour before lesson 3: inside its 24 h notice.
    w.advance_to(start3 - 3_600);
    let before = w.balances();
    let ((), events) = with_events(&booking, || {
        booking
            .sender(w.student)
            .cancel_series(first)
            .motsu_unwrap()
    });
    let late_fee = PRICE * u128::from(LATE_BPS) / 10_000;
    assert_eq!(
        events,
        [
            log(BookingCancelled {
                id: id(3),
                by: w.student,
                tutorFee: u(late_fee),
                refund: u(DEPOSIT - late_fee)
            }),
            log(BookingCancelled {
                id: id(4),
                by: w.student,
                tutorFee: U256::ZERO,
                refund: u(DEPOSIT)
            }),
        ]
    );
    let after = w.balances();
    assert_eq!(after[0] - before[0], 2 * DEPOSIT - late_fee);
    assert_eq!(after[1] - before[1], late_fee);
    // Lesson 2 is still held (a no-show to settle), lesson 1 in the escrow.
    assert_eq!(after[3], DEPOSIT);
    assert_eq!(
        [1, 2, 3, 4].map(|i| w.state(id(i))),
        [6, 2, 5, 5].map(|s| s as u8)
    );
    assert_reverts(
        &booking,
        BookingSeriesNothingLeft { firstId: first },
        || booking.sender(w.student).cancel_series(first),
    );
    // Lesson 2 still settles on its own (its join window closed long ago).
    booking
        .sender(w.stranger)
        .claim_no_show(id(2))
        .motsu_unwrap();
    assert_eq!(w.state(id(2)), State::StudentNoShow as u8);
}

#[motsu::test]
fn the_tutor_cancels_the_rest_of_a_series_and_each_lesson_counts(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let first = w.series(3, WEEK).motsu_unwrap();
    booking.sender(w.tutor).accept(id(1)).motsu_unwrap();
    booking.sender(w.tutor).accept(id(2)).motsu_unwrap();
    // Lesson 3 is still only requested: the tutor declines it, not cancels.
    let ((), events) = with_events(&booking, || {
        booking.sender(w.tutor).cancel_series(first).motsu_unwrap()
    });
    assert_eq!(
        events,
        [1, 2].map(|i| log(BookingCancelled {
            id: id(i),
            by: w.tutor,
            tutorFee: U256::ZERO,
            refund: u(DEPOSIT)
        }))
    );
    assert_eq!(booking.sender(w.stranger).tutor_record(w.tutor), (2, 0, 0));
    assert_eq!(w.balance(w.student), FUNDS - DEPOSIT);
    assert_eq!(w.state(id(3)), State::Requested as u8);
}

/// Two days: the funding lead of the lesson-by-lesson tests (the policy's notice is one).
const FUND_LEAD: u32 = 2 * 24 * 60 * 60;

#[motsu::test]
fn a_series_funded_lesson_by_lesson_pulls_each_deposit_by_its_deadline(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let start = |i: u64| T0 + LEAD + i * u64::from(WEEK);
    let due = |i: u64| start(i) - u64::from(FUND_LEAD);
    // The first lesson starts within the lead (LEAD = FUND_LEAD): funded now; the others
    // are due two days before each.
    let ((first, events), transfers) = with_events(&token, || {
        with_events(&booking, || {
            w.series_with(T0 + LEAD, WEEK, 3, u(DEPOSIT), FUND_LEAD)
        })
    });
    let first = first.motsu_unwrap();
    assert_eq!(first, id(1));
    assert_eq!(
        events,
        [
            requested(&w, 1, 0, WEEK),
            requested(&w, 1, 1, WEEK),
            log(BookingFundingDue {
                id: id(2),
                fundBy: due(1)
            }),
            requested(&w, 1, 2, WEEK),
            log(BookingFundingDue {
                id: id(3),
                fundBy: due(2)
            }),
            series_requested(&w, 3),
        ]
    );
    assert_eq!(transfers.len(), 1);
    assert_eq!(w.balance(w.student), FUNDS - DEPOSIT);
    let fund_by = |i: u64| {
        booking
            .sender(w.stranger)
            .booking(id(i))
            .motsu_unwrap()
            .fundBy
    };
    assert_eq!([fund_by(1), fund_by(2), fund_by(3)], [0, due(1), due(2)]);
    booking.sender(w.tutor).accept_series(first).motsu_unwrap();

    // Only the student funds, only an unfunded lesson, only by its deadline.
    assert_reverts(
        &booking,
        BookingUnauthorized {
            id: id(2),
            caller: w.stranger,
        },
        || booking.sender(w.stranger).fund(id(2)),
    );
    assert_reverts(
        &booking,
        BookingFunding {
            id: id(1),
            fundBy: 0,
            funded: true,
        },
        || booking.sender(w.student).fund(id(1)),
    );
    w.advance_to(due(1));
    let ((), events) = with_events(&booking, || {
        booking.sender(w.student).fund(id(2)).motsu_unwrap()
    });
    assert_eq!(
        events,
        [log(BookingFunded {
            id: id(2),
            amount: u(DEPOSIT)
        })]
    );
    assert_eq!(w.balance(w.student), FUNDS - 2 * DEPOSIT);
    assert_eq!(w.balance(booking.address()), 2 * DEPOSIT);
    assert_eq!(fund_by(2), 0);
    // The funded lesson joins as any.
    w.advance_to(start(1));
    booking
        .sender(w.student)
        .join(id(2), w.student_key)
        .motsu_unwrap();

    // Lesson 3 is never funded: no fund, join or no-show claim after its deadline; it can
    // only be expired, for nothing.
    w.advance_to(due(2) + 1);
    let unfunded = BookingFunding {
        id: id(3),
        fundBy: due(2),
        funded: false,
    };
    assert_reverts(&booking, unfunded.clone(), || {
        booking.sender(w.student).fund(id(3))
    });
    w.advance_to(start(2));
    assert_reverts(&booking, unfunded.clone(), || {
        booking.sender(w.student).join(id(3), w.student_key)
    });
    w.advance_to(start(2) + JOIN_LATE + 1);
    assert_reverts(&booking, unfunded, || {
        booking.sender(w.tutor).claim_no_show(id(3))
    });
    let before = w.balances();
    let ((), events) = with_events(&booking, || {
        booking.sender(w.stranger).expire(id(3)).motsu_unwrap()
    });
    assert_eq!(
        events,
        [log(BookingExpired {
            id: id(3),
            by: w.stranger,
            refund: U256::ZERO
        })]
    );
    assert_eq!(w.balances(), before);
    w.assert_every_transition_refused(id(3), State::Expired);
}

#[motsu::test]
fn an_unfunded_lesson_ends_without_money_and_its_deadline_is_never_inside_the_notice(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    // A deadline inside the tutor's 24 h notice, or past 90 days, is refused.
    for lead in [NOTICE - 1, MAX_SERIES_INTERVAL + 1] {
        assert_reverts(
            &booking,
            BookingInvalidSeries {
                lessons: 3,
                interval: WEEK,
                duration: DURATION,
                fundLead: lead,
            },
            || w.series_with(T0 + LEAD, WEEK, 3, u(DEPOSIT), lead),
        );
    }
    // Exactly the notice is accepted. Lessons 2 and 3 are due a day before each.
    let first = w
        .series_with(T0 + LEAD, WEEK, 3, u(DEPOSIT), NOTICE)
        .motsu_unwrap();
    // Lesson 1 starts two days away (beyond the one-day lead): it is due too.
    assert_eq!(w.balance(w.student), FUNDS);
    booking.sender(w.tutor).accept(id(1)).motsu_unwrap();
    booking.sender(w.tutor).accept(id(2)).motsu_unwrap();
    // The tutor declines lesson 3 (refund 0), cancels lesson 2 (counted, nothing moves);
    // the student cancels lesson 1 inside its notice, after its deadline: nothing held,
    // no fee.
    let before = w.balances();
    booking.sender(w.tutor).decline(id(3)).motsu_unwrap();
    booking.assert_emitted(&BookingDeclined {
        id: id(3),
        tutor: w.tutor,
        refund: U256::ZERO,
    });
    booking.sender(w.tutor).cancel(id(2)).motsu_unwrap();
    assert_eq!(booking.sender(w.stranger).tutor_record(w.tutor), (1, 0, 0));
    w.advance_to(T0 + LEAD - 3_600);
    let ((), events) = with_events(&booking, || {
        booking.sender(w.student).cancel(id(1)).motsu_unwrap()
    });
    assert_eq!(
        events,
        [log(BookingCancelled {
            id: id(1),
            by: w.student,
            tutorFee: U256::ZERO,
            refund: U256::ZERO
        })]
    );
    assert_eq!(w.balances(), before);
    assert_eq!(
        [1, 2, 3].map(|i| w.state(id(i))),
        [5, 5, 3].map(|s| s as u8)
    );
    let _ = first;
}

#[derive(Clone, Copy, Debug)]
enum Before {
    /// Nothing happens to the lesson before the series is cancelled.
    Nothing,
    /// The student cancels it on its own first.
    Cancelled,
    /// The tutor cancels it on its own first.
    TutorCancelled,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Over random series (lessons, interval, surplus, policy, funded at once or lesson by
    /// lesson with a random lead, some later lessons funded and some not), lessons
    /// cancelled one by one before, and a random moment to cancel the rest: each lesson
    /// ends as an independent model of the single-lesson rules says (a lesson not funded
    /// moves nothing), the fees and refunds equal the model's sums to the base unit, and
    /// the contract holds exactly the deposits of the funded lessons left.
    #[test]
    fn cancelling_the_rest_of_a_series_conserves_every_deposit(
        lessons in 2u16..=6,
        interval in DURATION..=2 * WEEK,
        surplus in 0u128..=5_000_000,
        notice in 0u32..=rules::MAX_FREE_NOTICE,
        late_bps in 0u16..=rules::MAX_LATE_CANCEL_FEE_BPS,
        before in proptest::collection::vec(
            prop_oneof![
                Just(Before::Nothing),
                Just(Before::Cancelled),
                Just(Before::TutorCancelled)
            ],
            6,
        ),
        at in 0u64..=2 * LEAD + 12 * u64::from(WEEK),
        near in proptest::option::of((0u64..6, 0u64..=2 * u64::from(rules::MAX_FREE_NOTICE))),
        lead_beyond_notice in proptest::option::of(0u32..=WEEK),
        fund_later in proptest::collection::vec(any::<bool>(), 6),
    ) {
        let fund_lead = lead_beyond_notice.map_or(0, |x| notice + x);
        let escrow = Contract::<SessionEscrow>::new();
        let token = Contract::<TestToken>::new();
        let booking = Contract::<Booking>::new();
        let w = World::new(&escrow, &token, &booking);
        booking.sender(w.tutor).set_policy(notice, late_bps, 0).motsu_unwrap();
        let deposit = PRICE + surplus;
        let first = booking
            .sender(w.student)
            .request_series(
                w.tutor,
                token.address(),
                T0 + LEAD,
                interval,
                lessons,
                DURATION,
                u(RATE),
                u(deposit),
                0,
                T0 + ANSWER,
                ANY_NOTICE,
                ANY_LATE_BPS,
                ANY_NO_SHOW_BPS,
                fund_lead,
            )
            .motsu_unwrap();
        booking.sender(w.tutor).accept_series(first).motsu_unwrap();
        let start = |i: u64| T0 + LEAD + i * u64::from(interval);
        let deferred = |i: u64| fund_lead != 0 && start(i) > T0 + u64::from(fund_lead);
        let funded: Vec<bool> = (0..u64::from(lessons))
            .map(|i| !deferred(i) || fund_later[i as usize])
            .collect();
        for i in 0..u64::from(lessons) {
            if deferred(i) && funded[i as usize] {
                booking.sender(w.student).fund(first + U256::from(i)).motsu_unwrap();
            }
        }
        for (i, b) in before.iter().take(usize::from(lessons)).enumerate() {
            let lesson = first + U256::from(i);
            match b {
                Before::Nothing => {}
                Before::Cancelled => booking.sender(w.student).cancel(lesson).motsu_unwrap(),
                Before::TutorCancelled => booking.sender(w.tutor).cancel(lesson).motsu_unwrap(),
            }
        }
        // A random moment, or one shortly before a random lesson (where fees change).
        let now = match near {
            Some((k, before_it)) => start(k % u64::from(lessons)).saturating_sub(before_it).max(T0),
            None => T0 + at,
        };
        w.advance_to(now);
        // The model: which lessons the call takes, and what each pays.
        let (mut fees, mut refunds, mut taken, mut left) = (0u128, 0u128, 0u16, 0u128);
        let mut expected = Vec::new();
        for (i, b) in before.iter().take(usize::from(lessons)).enumerate() {
            let i = i as u64;
            if !matches!(b, Before::Nothing) {
                continue;
            }
            let held = if funded[i as usize] { deposit } else { 0 };
            if now >= start(i) {
                left += held;
                continue;
            }
            let fee = if held == 0 || now + u64::from(notice) <= start(i) {
                0
            } else {
                PRICE * u128::from(late_bps) / 10_000
            };
            fees += fee;
            refunds += held - fee;
            taken += 1;
            expected.push(log(BookingCancelled {
                id: first + U256::from(i),
                by: w.student,
                tutorFee: u(fee),
                refund: u(held - fee),
            }));
        }
        let before_balances = w.balances();
        let (result, events) =
            with_events(&booking, || booking.sender(w.student).cancel_series(first));
        if taken == 0 {
            prop_assert_eq!(result, Err(BookingSeriesNothingLeft { firstId: first }.into()));
            prop_assert!(events.is_empty());
            prop_assert_eq!(w.balances(), before_balances);
        } else {
            prop_assert!(result.is_ok());
            prop_assert_eq!(events, expected);
            let after = w.balances();
            prop_assert_eq!(after[0] - before_balances[0], refunds);
            prop_assert_eq!(after[1] - before_balances[1], fees);
        }
        // Whatever was not taken stays in the contract, to the base unit.
        prop_assert_eq!(w.balance(booking.address()), left);
        let total = w.balance(w.student) + w.balance(w.tutor) + w.balance(booking.address());
        prop_assert_eq!(total, FUNDS);
    }
}
