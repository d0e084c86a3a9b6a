//! The tutor's published terms: a rate per token and one cancellation policy, each capped,
//! snapshotted into every booking at request.

use super::*;

#[motsu::test]
fn set_rate_publishes_a_rate_per_token(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::bare(&escrow, &token, &booking);
    let t = token.address();
    assert_eq!(booking.sender(w.stranger).rate_of(w.tutor, t), U256::ZERO);
    let ((), events) = with_events(&booking, || {
        booking.sender(w.tutor).set_rate(t, u(RATE)).motsu_unwrap()
    });
    assert_eq!(
        events,
        [log(RateSet {
            tutor: w.tutor,
            token: t,
            rate: u(RATE)
        })]
    );
    assert_eq!(booking.sender(w.stranger).rate_of(w.tutor, t), u(RATE));
    // Another token, another tutor: untouched.
    assert_eq!(
        booking.sender(w.stranger).rate_of(w.tutor, w.stranger),
        U256::ZERO
    );
    assert_eq!(booking.sender(w.stranger).rate_of(w.student, t), U256::ZERO);
    // Zero withdraws the offer; the largest 128-bit rate is allowed, one more is not.
    booking
        .sender(w.tutor)
        .set_rate(t, U256::ZERO)
        .motsu_unwrap();
    assert_eq!(booking.sender(w.stranger).rate_of(w.tutor, t), U256::ZERO);
    booking
        .sender(w.tutor)
        .set_rate(t, u(u128::MAX))
        .motsu_unwrap();
    let too_big = u(u128::MAX) + U256::from(1);
    assert_reverts(&booking, BookingInvalidRate { rate: too_big }, || {
        booking.sender(w.tutor).set_rate(t, too_big)
    });
    assert_eq!(booking.sender(w.stranger).rate_of(w.tutor, t), u(u128::MAX));
}

#[motsu::test]
fn set_policy_keeps_every_cap(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::bare(&escrow, &token, &booking);
    assert_eq!(booking.sender(w.stranger).policy_of(w.tutor), (0, 0, 0));
    let max = (
        rules::MAX_FREE_NOTICE,
        rules::MAX_LATE_CANCEL_FEE_BPS,
        MAX_NO_SHOW_FEE_BPS,
    );
    assert_eq!(max, (604_800, 5_000, 10_000));
    for (notice, late, no_show) in [
        (max.0 + 1, max.1, max.2),
        (max.0, max.1 + 1, max.2),
        (max.0, max.1, max.2 + 1),
        (u32::MAX, u16::MAX, u16::MAX),
    ] {
        assert_reverts(
            &booking,
            BookingInvalidPolicy {
                freeNotice: notice,
                lateCancelFeeBps: late,
                noShowFeeBps: no_show,
            },
            || booking.sender(w.tutor).set_policy(notice, late, no_show),
        );
    }
    let ((), events) = with_events(&booking, || {
        booking
            .sender(w.tutor)
            .set_policy(max.0, max.1, max.2)
            .motsu_unwrap()
    });
    assert_eq!(
        events,
        [log(PolicySet {
            tutor: w.tutor,
            freeNotice: max.0,
            lateCancelFeeBps: max.1,
            noShowFeeBps: max.2
        })]
    );
    assert_eq!(booking.sender(w.stranger).policy_of(w.tutor), max);
    assert_eq!(booking.sender(w.stranger).policy_of(w.student), (0, 0, 0));
}

#[motsu::test]
fn a_booking_keeps_the_policy_and_rate_of_its_request(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let id = w.accepted();
    // The tutor turns harsher and dearer afterwards: this booking is not affected.
    booking
        .sender(w.tutor)
        .set_policy(rules::MAX_FREE_NOTICE, 5_000, 10_000)
        .motsu_unwrap();
    booking
        .sender(w.tutor)
        .set_rate(token.address(), u(2 * RATE))
        .motsu_unwrap();
    let b = booking.sender(w.stranger).booking(id).motsu_unwrap();
    assert_eq!(
        (b.freeNotice, b.lateCancelFeeBps, b.noShowFeeBps, b.rate),
        (NOTICE, LATE_BPS, NO_SHOW_BPS, u(RATE))
    );
    // A late cancellation pays the snapshotted 25 %, not 50 %.
    w.advance_to(w.start() - 60);
    booking.sender(w.student).cancel(id).motsu_unwrap();
    assert_eq!(w.balance(w.tutor), PRICE / 4);
    assert_eq!(w.balance(w.student), FUNDS - PRICE / 4);
}
