//! The deployed program's hand-written router (`dispatch`), driven with alloy's encoding
//! of `abi/IBooking.sol`: every function decodes its arguments, runs, and encodes its
//! result or typed error as the interface says.

use alloy_sol_types::{sol, SolCall, SolError, SolValue};

use super::*;

mod abi {
    super::sol!(
        #![sol(all_derives)]
        "../../abi/IBooking.sol"
    );
}
use abi::IBooking as I;
use minuto_test_support::{assert_routes_all, call, call_with_value, reverted, Dispatch};

impl Dispatch for Booking {
    fn dispatch(&mut self, input: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
        Booking::dispatch(self, input)
    }
}

#[motsu::test]
fn dispatch_routes_every_function_as_the_interface_declares(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
    fresh: Contract<Booking>,
) {
    let w = World::bare(&escrow, &token, &booking);
    escrow
        .sender(w.admin)
        .set_booking(booking.address())
        .motsu_unwrap();
    let (student, tutor, s) = (w.student, w.tutor, w.stranger);
    let t = token.address();

    // The constructor through the router, on a fresh contract; only once.
    let mut ctor = stylus_sdk::abi::CONSTRUCTOR_SELECTOR.to_be_bytes().to_vec();
    ctor.extend((escrow.address(),).abi_encode_params());
    assert_eq!(fresh.sender(w.admin).dispatch(&ctor), Ok(Vec::new()));
    assert_eq!(fresh.sender(w.admin).dispatch(&ctor), Err(Vec::new()));
    let c = call(&fresh, s, I::configCall {}).unwrap();
    assert_eq!((c._0, c._1), (escrow.address(), 0));
    // A constructor given an address without code is refused with its typed error.
    let mut bad = stylus_sdk::abi::CONSTRUCTOR_SELECTOR.to_be_bytes().to_vec();
    bad.extend((s,).abi_encode_params());
    let other: Contract<Booking> = Contract::new();
    assert_eq!(
        other.sender(w.admin).dispatch(&bad),
        Err(BookingInvalidAddress { account: s }.abi_encode())
    );

    call(
        &booking,
        tutor,
        I::setRateCall {
            token: t,
            rate: u(RATE),
        },
    )
    .unwrap();
    assert_eq!(
        call(&booking, s, I::rateOfCall { tutor, token: t })
            .unwrap()
            ._0,
        u(RATE)
    );
    call(
        &booking,
        tutor,
        I::setPolicyCall {
            free_notice: NOTICE,
            late_cancel_fee_bps: LATE_BPS,
            no_show_fee_bps: NO_SHOW_BPS,
        },
    )
    .unwrap();
    let p = call(&booking, s, I::policyOfCall { tutor }).unwrap();
    assert_eq!((p._0, p._1, p._2), (NOTICE, LATE_BPS, NO_SHOW_BPS));
    assert_eq!(
        reverted(call(
            &booking,
            tutor,
            I::setPolicyCall {
                free_notice: 0,
                late_cancel_fee_bps: 5_001,
                no_show_fee_bps: 0,
            }
        )),
        BookingInvalidPolicy {
            freeNotice: 0,
            lateCancelFeeBps: 5_001,
            noShowFeeBps: 0
        }
        .abi_encode()
    );

    let request = |deposit: u128| {
        let now = w.now();
        I::requestCall {
            tutor,
            token: t,
            start: now + LEAD,
            duration: DURATION,
            rate: u(RATE),
            deposit: u(deposit),
            credential_kind: 0,
            answer_deadline: now + ANSWER,
            // Exactly the tutor's policy: the bounds are met.
            max_free_notice: NOTICE,
            max_late_cancel_fee_bps: LATE_BPS,
            max_no_show_fee_bps: NO_SHOW_BPS,
        }
    };
    // Each bound one below the policy is refused, so each argument is routed.
    for (notice, late, no_show) in [
        (NOTICE - 1, LATE_BPS, NO_SHOW_BPS),
        (NOTICE, LATE_BPS - 1, NO_SHOW_BPS),
        (NOTICE, LATE_BPS, NO_SHOW_BPS - 1),
    ] {
        let mut call_data = request(DEPOSIT);
        call_data.max_free_notice = notice;
        call_data.max_late_cancel_fee_bps = late;
        call_data.max_no_show_fee_bps = no_show;
        assert_eq!(
            reverted(call(&booking, student, call_data)),
            BookingPolicyAboveBounds {
                tutor,
                freeNotice: NOTICE,
                lateCancelFeeBps: LATE_BPS,
                noShowFeeBps: NO_SHOW_BPS
            }
            .abi_encode()
        );
    }
    assert_eq!(
        reverted(call(&booking, student, request(PRICE - 1))),
        BookingDepositTooLow {
            deposit: u(PRICE - 1),
            price: u(PRICE)
        }
        .abi_encode()
    );
    let id = call(&booking, student, request(DEPOSIT)).unwrap()._0;
    assert_eq!(id, super::id(1));
    let b = call(&booking, s, I::bookingCall { id }).unwrap()._0;
    assert_eq!(
        (b.student, b.tutor, b.token, b.start, b.duration, b.rate, b.deposit),
        (student, tutor, t, T0 + LEAD, DURATION, u(RATE), u(DEPOSIT))
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
        (0, T0 + ANSWER, NOTICE, LATE_BPS, NO_SHOW_BPS, 1, U256::ZERO)
    );
    assert_eq!(
        reverted(call(&booking, s, I::bookingCall { id: super::id(2) })),
        BookingUnknown { id: super::id(2) }.abi_encode()
    );
    call(&booking, tutor, I::acceptCall { id }).unwrap();
    w.advance_to(T0 + LEAD);
    let session = call(
        &booking,
        student,
        I::joinCall {
            id,
            student_key: w.student_key,
        },
    )
    .unwrap()
    ._0;
    assert_eq!(session, super::id(1));
    w.advance_to(w.now() + u64::from(START_WINDOW) + 1);
    call(&booking, s, I::reportTutorNoShowCall { id }).unwrap();
    let r = call(&booking, s, I::tutorRecordCall { tutor }).unwrap();
    assert_eq!((r._0, r._1, r._2), (0, 1, 0));

    // decline, expire, cancel, claimNoShow on fresh requests.
    let declined = call(&booking, student, request(DEPOSIT)).unwrap()._0;
    call(&booking, tutor, I::declineCall { id: declined }).unwrap();
    let cancelled = call(&booking, student, request(DEPOSIT)).unwrap()._0;
    call(&booking, student, I::cancelCall { id: cancelled }).unwrap();
    let expired = call(&booking, student, request(DEPOSIT)).unwrap()._0;
    let no_show = call(&booking, student, request(DEPOSIT)).unwrap()._0;
    call(&booking, tutor, I::acceptCall { id: no_show }).unwrap();
    w.advance_to(w.now() + LEAD + JOIN_LATE + 1);
    call(&booking, s, I::expireCall { id: expired }).unwrap();
    call(&booking, s, I::claimNoShowCall { id: no_show }).unwrap();
    for (id, state) in [(declined, 3), (expired, 4), (cancelled, 5), (no_show, 7)] {
        assert_eq!(
            call(&booking, s, I::bookingCall { id }).unwrap()._0.state,
            state
        );
    }

    // A refused refund is credited, then claimed.
    let blocked = call(&booking, student, request(DEPOSIT)).unwrap()._0;
    token.sender(w.admin).set_blocked(student, true);
    call(&booking, tutor, I::declineCall { id: blocked }).unwrap();
    assert_eq!(
        call(
            &booking,
            s,
            I::claimableCall {
                token: t,
                account: student
            }
        )
        .unwrap()
        ._0,
        u(DEPOSIT)
    );
    assert_eq!(
        call(&booking, student, I::claimCall { token: t, to: s })
            .unwrap()
            ._0,
        u(DEPOSIT)
    );
    let c = call(&booking, s, I::configCall {}).unwrap();
    assert_eq!((c._0, c._1), (escrow.address(), 6));

    // Series: requested, read, answered, cancelled and expired through the router.
    token.sender(w.admin).set_blocked(student, false);
    let series = |lessons: u16, interval: u32, fund_lead: u32| {
        let now = w.now();
        I::requestSeriesCall {
            tutor,
            token: t,
            first_start: now + LEAD,
            interval,
            lessons,
            duration: DURATION,
            rate: u(RATE),
            deposit_per_lesson: u(DEPOSIT),
            credential_kind: 0,
            answer_deadline: now + ANSWER,
            max_free_notice: NOTICE,
            max_late_cancel_fee_bps: LATE_BPS,
            max_no_show_fee_bps: NO_SHOW_BPS,
            fund_lead,
        }
    };
    assert_eq!(
        reverted(call(&booking, student, series(1, WEEK - 1, 0))),
        BookingInvalidSeries {
            lessons: 1,
            interval: WEEK - 1,
            duration: DURATION,
            fundLead: 0
        }
        .abi_encode()
    );
    let first = call(&booking, student, series(3, WEEK, 0)).unwrap()._0;
    assert_eq!(first, super::id(7));
    let v = call(&booking, s, I::seriesCall { first_id: first }).unwrap();
    assert_eq!((v._0, v._1), (3, WEEK));
    assert_eq!(
        reverted(call(
            &booking,
            s,
            I::seriesCall {
                first_id: super::id(8)
            }
        )),
        BookingUnknownSeries {
            firstId: super::id(8)
        }
        .abi_encode()
    );
    let last = call(&booking, s, I::bookingCall { id: super::id(9) })
        .unwrap()
        ._0;
    assert_eq!(
        (last.start, last.answerDeadline, last.deposit, last.state),
        (
            w.now() + LEAD + 2 * u64::from(WEEK),
            w.now() + ANSWER,
            u(DEPOSIT),
            1
        )
    );
    call(&booking, tutor, I::acceptSeriesCall { first_id: first }).unwrap();
    let accepted = call(&booking, s, I::bookingCall { id: super::id(8) }).unwrap();
    assert_eq!(accepted._0.state, 2);
    call(&booking, student, I::cancelSeriesCall { first_id: first }).unwrap();
    let declined = call(&booking, student, series(2, WEEK, 0)).unwrap()._0;
    call(&booking, tutor, I::declineSeriesCall { first_id: declined }).unwrap();
    let expired = call(&booking, student, series(2, WEEK, 0)).unwrap()._0;
    w.advance_to(w.now() + ANSWER + 1);
    call(&booking, s, I::expireSeriesCall { first_id: expired }).unwrap();
    for (id, state) in [(7, 5), (8, 5), (9, 5), (10, 3), (11, 3), (12, 4), (13, 4)] {
        let id = super::id(id);
        assert_eq!(
            call(&booking, s, I::bookingCall { id }).unwrap()._0.state,
            state
        );
    }
    // A series funded lesson by lesson: the second lesson is due a day before it, and
    // funded through the router.
    let due = call(&booking, student, series(2, WEEK, NOTICE)).unwrap()._0;
    let second = due + U256::from(1);
    let b = call(&booking, s, I::bookingCall { id: second }).unwrap()._0;
    assert_eq!(
        b.fundBy,
        w.now() + LEAD + u64::from(WEEK) - u64::from(NOTICE)
    );
    call(&booking, student, I::fundCall { id: second }).unwrap();
    assert_eq!(
        call(&booking, s, I::bookingCall { id: second })
            .unwrap()
            ._0
            .fundBy,
        0
    );
    assert_eq!(
        reverted(call(&booking, student, I::fundCall { id: second })),
        BookingFunding {
            id: second,
            fundBy: 0,
            funded: true
        }
        .abi_encode()
    );
    let c = call(&booking, s, I::configCall {}).unwrap();
    assert_eq!((c._0, c._1), (escrow.address(), 15));
    // A lesson the tutor starts and stops at once: an early end, reported.
    let (early, session) = w.started();
    w.escrow.sender(tutor).stop(session).motsu_unwrap();
    call(&booking, s, I::reportTutorEarlyEndCall { id: early }).unwrap();
    let r = call(&booking, s, I::tutorRecordCall { tutor }).unwrap();
    assert_eq!((r._0, r._1, r._2), (0, 1, 1));
    assert_eq!(
        call(&booking, s, I::bookingCall { id: early })
            .unwrap()
            ._0
            .state,
        State::TutorEndedEarly as u8
    );
}

#[motsu::test]
fn dispatch_passes_on_the_escrows_revert_data(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let id = w.accepted();
    w.advance_to(w.start());
    // A zero heartbeat key: the escrow's own error, unchanged.
    assert_eq!(
        reverted(call(
            &booking,
            w.student,
            I::joinCall {
                id,
                student_key: Address::ZERO
            }
        )),
        minuto_escrow::EscrowInvalidAddress {
            account: Address::ZERO
        }
        .abi_encode()
    );
}

#[motsu::test]
fn dispatch_rejects_attached_value(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    // No function is payable: value would be stuck in the contract.
    let w = World::new(&escrow, &token, &booking);
    let one = U256::from(1);
    let now = w.now();
    let request = I::requestCall {
        tutor: w.tutor,
        token: token.address(),
        start: now + LEAD,
        duration: DURATION,
        rate: u(RATE),
        deposit: u(DEPOSIT),
        credential_kind: 0,
        answer_deadline: now + ANSWER,
        max_free_notice: ANY_NOTICE,
        max_late_cancel_fee_bps: ANY_LATE_BPS,
        max_no_show_fee_bps: ANY_NO_SHOW_BPS,
    };
    assert_eq!(
        call_with_value(&booking, w.student, one, request.clone()),
        Err(Vec::new())
    );
    assert_eq!(
        call_with_value(&booking, w.stranger, one, I::configCall {}),
        Err(Vec::new())
    );
    // Nothing happened; the same call without value goes through.
    assert_eq!(w.balance(w.student), FUNDS);
    assert_eq!(call(&booking, w.student, request).unwrap()._0, id(1));
}

#[motsu::test]
fn dispatch_refuses_malformed_calls(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let mut calldata = I::setPolicyCall {
        free_notice: 1,
        late_cancel_fee_bps: 1,
        no_show_fee_bps: 1,
    }
    .abi_encode();
    // A uint16 with a high byte set.
    calldata[4 + 32 + 29] = 1;
    assert_eq!(booking.sender(w.tutor).dispatch(&calldata), Err(Vec::new()));
    // An address cut short.
    let data = I::rateOfCall {
        tutor: w.tutor,
        token: token.address(),
    }
    .abi_encode();
    assert_eq!(
        booking.sender(w.tutor).dispatch(&data[..data.len() - 1]),
        Err(Vec::new())
    );
    // Unknown selector, and no selector at all.
    assert_eq!(
        booking.sender(w.tutor).dispatch(&[0xde, 0xad, 0xbe, 0xef]),
        Err(Vec::new())
    );
    assert_eq!(booking.sender(w.tutor).dispatch(&[0xde]), Err(Vec::new()));
    assert_eq!(
        booking.sender(w.stranger).policy_of(w.tutor),
        (NOTICE, LATE_BPS, NO_SHOW_BPS)
    );
}

#[motsu::test]
fn the_sdk_router_routes_every_function_of_the_interface(booking: Contract<Booking>) {
    // The host tests' VM uses the `#[public]` router: it must know the same selectors.
    let selectors = [
        I::setRateCall::SELECTOR,
        I::setPolicyCall::SELECTOR,
        I::requestCall::SELECTOR,
        I::acceptCall::SELECTOR,
        I::declineCall::SELECTOR,
        I::expireCall::SELECTOR,
        I::cancelCall::SELECTOR,
        I::joinCall::SELECTOR,
        I::claimNoShowCall::SELECTOR,
        I::reportTutorNoShowCall::SELECTOR,
        I::reportTutorEarlyEndCall::SELECTOR,
        I::claimCall::SELECTOR,
        I::requestSeriesCall::SELECTOR,
        I::acceptSeriesCall::SELECTOR,
        I::declineSeriesCall::SELECTOR,
        I::expireSeriesCall::SELECTOR,
        I::cancelSeriesCall::SELECTOR,
        I::fundCall::SELECTOR,
        I::bookingCall::SELECTOR,
        I::seriesCall::SELECTOR,
        I::rateOfCall::SELECTOR,
        I::policyOfCall::SELECTOR,
        I::tutorRecordCall::SELECTOR,
        I::claimableCall::SELECTOR,
        I::configCall::SELECTOR,
    ];
    assert_routes_all(&booking, Address::repeat_byte(1), &selectors);
}
