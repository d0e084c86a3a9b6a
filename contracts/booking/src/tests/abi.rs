//! The ABI cannot lie: the hand-written encodings equal alloy's, and the `abi:begin`
//! fragment declares every error the contract returns and every event it emits.

use alloy_sol_types::SolError;

use super::*;

/// One value of every error variant with alloy's encoding of it; the `match` fails to
/// compile when a variant is added and not listed here.
fn every_error() -> Vec<(Error, Vec<u8>)> {
    let (n, a) = (U256::MAX - U256::from(1), Address::repeat_byte(0xa1));
    macro_rules! pairs {
        ($($e:expr),* $(,)?) => {
            vec![$((Error::from($e), $e.abi_encode())),*]
        };
    }
    let all = pairs![
        BookingInvalidAddress { account: a },
        BookingUnknown { id: n },
        BookingInvalidState {
            id: n,
            state: u8::MAX
        },
        BookingUnauthorized { id: n, caller: a },
        BookingInvalidRate { rate: n },
        BookingInvalidPolicy {
            freeNotice: u32::MAX,
            lateCancelFeeBps: u16::MAX - 1,
            noShowFeeBps: u16::MAX
        },
        BookingRateAboveTutorRate {
            tutor: a,
            token: Address::repeat_byte(0xb2),
            rate: n,
            tutorRate: U256::MAX
        },
        BookingInvalidDuration { duration: u32::MAX },
        BookingInvalidTimes {
            start: u64::MAX,
            answerDeadline: u64::MAX - 1,
            now: u64::MAX - 2
        },
        BookingZeroPrice {
            rate: n,
            duration: u32::MAX
        },
        BookingInvalidAmount { amount: n },
        BookingDepositTooLow {
            deposit: n,
            price: U256::MAX
        },
        BookingTokenNotAllowed { token: a },
        BookingTransferFailed {
            token: a,
            to: Address::repeat_byte(0xb2),
            amount: n
        },
        BookingFeeOnTransfer {
            token: a,
            amount: n,
            received: U256::MAX
        },
        BookingCredentialRequired {
            id: n,
            tutor: a,
            kind: u32::MAX
        },
        BookingAnswerDeadlinePassed {
            id: n,
            answerDeadline: u64::MAX
        },
        BookingAnswerDeadlineNotPassed {
            id: n,
            answerDeadline: u64::MAX
        },
        BookingTooLateToCancel {
            id: n,
            start: u64::MAX
        },
        BookingOutsideJoinWindow {
            id: n,
            opens: u64::MAX - 1,
            closes: u64::MAX
        },
        BookingJoinWindowOpen {
            id: n,
            closes: u64::MAX
        },
        BookingPolicyAboveBounds {
            tutor: a,
            freeNotice: u32::MAX,
            lateCancelFeeBps: u16::MAX - 1,
            noShowFeeBps: u16::MAX
        },
        BookingInvalidSeries {
            lessons: u16::MAX,
            interval: u32::MAX - 1,
            duration: u32::MAX,
            fundLead: u32::MAX - 2
        },
        BookingFunding {
            id: n,
            fundBy: u64::MAX,
            funded: true
        },
        BookingUnknownSeries { firstId: n },
        BookingSeriesNothingLeft { firstId: n },
        BookingNotEndedEarly {
            id: n,
            sessionId: U256::MAX
        },
        BookingNothingToClaim {
            token: a,
            account: Address::repeat_byte(0xb2)
        },
        BookingAccounting {},
    ];
    for (error, _) in &all {
        match error {
            Error::InvalidAddress(_)
            | Error::Unknown(_)
            | Error::InvalidState(_)
            | Error::Unauthorized(_)
            | Error::InvalidRate(_)
            | Error::InvalidPolicy(_)
            | Error::RateAboveTutorRate(_)
            | Error::InvalidDuration(_)
            | Error::InvalidTimes(_)
            | Error::PolicyAboveBounds(_)
            | Error::ZeroPrice(_)
            | Error::InvalidAmount(_)
            | Error::DepositTooLow(_)
            | Error::TokenNotAllowed(_)
            | Error::TransferFailed(_)
            | Error::FeeOnTransfer(_)
            | Error::CredentialRequired(_)
            | Error::AnswerDeadlinePassed(_)
            | Error::AnswerDeadlineNotPassed(_)
            | Error::TooLateToCancel(_)
            | Error::OutsideJoinWindow(_)
            | Error::JoinWindowOpen(_)
            | Error::InvalidSeries(_)
            | Error::UnknownSeries(_)
            | Error::SeriesNothingLeft(_)
            | Error::Funding(_)
            | Error::NotEndedEarly(_)
            | Error::NothingToClaim(_)
            | Error::Accounting(_) => {}
            // Not a declaration of this contract: the escrow's revert data, passed on.
            Error::Escrow(_) => unreachable!(),
        }
    }
    all
}

#[test]
fn errors_encode_as_alloy_does() {
    for (error, expected) in every_error() {
        let name = format!("{error:?}");
        assert_eq!(Vec::<u8>::from(error), expected, "{name}");
    }
    // The escrow's revert data goes out byte for byte.
    let escrow = minuto_escrow::EscrowPaused {}.abi_encode();
    assert_eq!(
        Vec::<u8>::from(Error::Escrow(EscrowRevert(escrow.clone()))),
        escrow
    );
}

/// The declarations between `abi:begin` and `abi:end` in `lib.rs`, as the xtask reads
/// them.
fn fragment() -> &'static str {
    let source = include_str!("../lib.rs");
    // Spelled in two pieces so that the xtask does not take this file for a fragment.
    let begin = source.find(concat!("// abi:", "begin")).unwrap();
    let end = source.find(concat!("// abi:", "end")).unwrap();
    &source[begin..end]
}

#[test]
fn errors_are_all_declared_in_the_abi() {
    for (error, _) in every_error() {
        let name = format!("{error:?}");
        // `Variant(BookingVariant { .. })`: the Solidity name is the inner type's.
        let solidity = name.split(['(', ' ', ')']).nth(1).unwrap();
        assert!(
            fragment().contains(&format!("error {solidity}(")),
            "{solidity} is not declared in the abi fragment"
        );
    }
}

#[motsu::test]
fn events_are_all_declared_in_the_abi_and_emitted(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    booking: Contract<Booking>,
) {
    // Every kind of transition the contract has (World::new sets a rate and a policy).
    let w = World::new(&escrow, &token, &booking);
    let declined = w.request().motsu_unwrap();
    booking.sender(w.tutor).decline(declined).motsu_unwrap();
    w.series(3, WEEK).motsu_unwrap();
    // A series funded lesson by lesson: its later lessons are due, then one is funded.
    let first = w
        .series_with(w.now() + LEAD, WEEK, 2, u(DEPOSIT), NOTICE)
        .motsu_unwrap();
    booking
        .sender(w.student)
        .fund(first + U256::from(1))
        .motsu_unwrap();
    let expired = w.request().motsu_unwrap();
    let cancelled = w.request().motsu_unwrap();
    booking.sender(w.student).cancel(cancelled).motsu_unwrap();
    let no_show = w.accepted();
    let (joined, _) = w.joined();
    w.advance_to(w.now() + JOIN_LATE + u64::from(START_WINDOW) + 1);
    booking.sender(w.stranger).expire(expired).motsu_unwrap();
    booking
        .sender(w.stranger)
        .claim_no_show(no_show)
        .motsu_unwrap();
    booking
        .sender(w.stranger)
        .report_tutor_no_show(joined)
        .motsu_unwrap();
    let (early, session) = w.started();
    escrow.sender(w.tutor).stop(session).motsu_unwrap();
    booking
        .sender(w.stranger)
        .report_tutor_early_end(early)
        .motsu_unwrap();
    let refused = w.accepted();
    escrow.sender(w.admin).set_paused(true).motsu_unwrap();
    w.advance_to(w.now() + LEAD);
    booking
        .sender(w.student)
        .join(refused, w.student_key)
        .motsu_unwrap();
    let blocked = w.request().motsu_unwrap();
    token.sender(w.admin).set_blocked(w.student, true);
    booking.sender(w.tutor).decline(blocked).motsu_unwrap();
    booking
        .sender(w.student)
        .claim(token.address(), w.stranger)
        .motsu_unwrap();

    let declared = [
        (RateSet::SIGNATURE_HASH, RateSet::SIGNATURE),
        (PolicySet::SIGNATURE_HASH, PolicySet::SIGNATURE),
        (
            BookingRequested::SIGNATURE_HASH,
            BookingRequested::SIGNATURE,
        ),
        (SeriesRequested::SIGNATURE_HASH, SeriesRequested::SIGNATURE),
        (
            BookingFundingDue::SIGNATURE_HASH,
            BookingFundingDue::SIGNATURE,
        ),
        (BookingFunded::SIGNATURE_HASH, BookingFunded::SIGNATURE),
        (BookingAccepted::SIGNATURE_HASH, BookingAccepted::SIGNATURE),
        (BookingDeclined::SIGNATURE_HASH, BookingDeclined::SIGNATURE),
        (BookingExpired::SIGNATURE_HASH, BookingExpired::SIGNATURE),
        (
            BookingCancelled::SIGNATURE_HASH,
            BookingCancelled::SIGNATURE,
        ),
        (BookingJoined::SIGNATURE_HASH, BookingJoined::SIGNATURE),
        (
            BookingStudentNoShow::SIGNATURE_HASH,
            BookingStudentNoShow::SIGNATURE,
        ),
        (
            BookingTutorNoShow::SIGNATURE_HASH,
            BookingTutorNoShow::SIGNATURE,
        ),
        (
            BookingTutorEndedEarly::SIGNATURE_HASH,
            BookingTutorEndedEarly::SIGNATURE,
        ),
        (
            BookingJoinRefused::SIGNATURE_HASH,
            BookingJoinRefused::SIGNATURE,
        ),
        (PayoutCredited::SIGNATURE_HASH, PayoutCredited::SIGNATURE),
        (Claimed::SIGNATURE_HASH, Claimed::SIGNATURE),
    ];
    for (_, signature) in declared {
        let name = signature.split('(').next().unwrap();
        assert!(fragment().contains(&format!("event {name}(")), "{name}");
    }
    let events = booking.all_events();
    let emitted: std::collections::BTreeSet<_> = events.iter().map(|e| e.topics()[0]).collect();
    for (hash, signature) in declared {
        assert!(emitted.contains(&hash), "{signature} was never emitted");
    }
    for event in events {
        assert!(
            declared.iter().any(|(h, _)| *h == event.topics()[0]),
            "undeclared event {event:?}"
        );
    }
}
