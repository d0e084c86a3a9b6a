//! `openFor`: the registered booking contract opens a session for its student, paying the
//! deposit itself (issue #15). The session is then the student's like any other.

use super::*;
use alloy_sol_types::SolEvent;
use minuto_test_support::{assert_reverts, with_events};

const FUNDS: u128 = 100_000_000;

/// Registers `booking` and gives it [`FUNDS`] approved to the escrow, as the booking
/// contract holds a booked lesson's deposit before the student joins.
fn register(
    escrow: &Contract<SessionEscrow>,
    token: &Contract<TestToken>,
    p: &Parties,
    booking: Address,
) {
    escrow.sender(p.admin).set_booking(booking).motsu_unwrap();
    token.sender(p.admin).mint(booking, u(FUNDS)).motsu_unwrap();
    token
        .sender(booking)
        .approve(escrow.address(), U256::MAX)
        .motsu_unwrap();
}

/// The test parties (the student holding `funds`) and a booking contract registered
/// as [`register`] does.
fn registered(
    escrow: &Contract<SessionEscrow>,
    token: &Contract<TestToken>,
    creds: &Contract<TestCredentials>,
    funds: u128,
) -> (Parties, Address) {
    let p = Parties::new();
    setup(escrow, token, creds.address(), &p, funds);
    let booking = Address::random();
    register(escrow, token, &p, booking);
    (p, booking)
}

fn open_for(
    escrow: &Contract<SessionEscrow>,
    token: &Contract<TestToken>,
    p: &Parties,
    caller: Address,
) -> Result<U256, Error> {
    open_for_within(escrow, token, p, caller, 0)
}

/// `openFor` asking for a start window of at least `min_start_window` seconds.
fn open_for_within(
    escrow: &Contract<SessionEscrow>,
    token: &Contract<TestToken>,
    p: &Parties,
    caller: Address,
    min_start_window: u32,
) -> Result<U256, Error> {
    escrow.sender(caller).open_for(
        p.student,
        p.tutor,
        token.address(),
        u(RATE),
        u(DEPOSIT),
        p.student_key,
        0,
        min_start_window,
        0,
    )
}

/// A booked session of `deposit` at `rate_per_sec` base units a second with a minimum
/// time of `min_billed`, opened by `booking` and started by the tutor; returns its id and
/// its start.
fn booked_lesson(
    escrow: &Contract<SessionEscrow>,
    token: &Contract<TestToken>,
    p: &Parties,
    booking: Address,
    (rate_per_sec, deposit, min_billed): (u128, u128, u16),
) -> (U256, u64) {
    let id = escrow
        .sender(booking)
        .open_for(
            p.student,
            p.tutor,
            token.address(),
            u(rate_per_sec * minuto_accrual::RATE_SCALE),
            u(deposit),
            p.student_key,
            0,
            0,
            min_billed,
        )
        .motsu_unwrap();
    escrow.sender(p.tutor).start(id, p.tutor_key).motsu_unwrap();
    (id, now())
}

/// What a party holds of `token` now, for the balance checks below.
fn held(token: &Contract<TestToken>, p: &Parties) -> [u128; 3] {
    [p.student, p.tutor, p.treasury].map(|a| balance(token, a))
}

/// `SessionEnded` of `id` was emitted: by `by` at `end`, with `[billed, tutorPaid, fee,
/// refund]`.
fn ended(escrow: &Contract<SessionEscrow>, id: U256, by: Address, end: u64, split: [u128; 4]) {
    let [billed, tutor_paid, fee, refund] = split.map(u);
    escrow.assert_emitted(&SessionEnded {
        id,
        by,
        end,
        billed,
        tutorPaid: tutor_paid,
        fee,
        refund,
    });
}

/// Audit 15, H1: a student who joins a booked lesson and ends it early pays its minimum
/// time (the booking's no-show or late share), whether by `stop` or by going silent;
/// the real end stays the session's `end`.
#[motsu::test]
fn a_student_ending_a_booked_session_early_pays_its_minimum_time(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let (p, booking) = registered(&escrow, &token, &creds, 0);

    // 300 s minimum at 10,000 a second: 3,000,000 billed, 2.5 % fee, after 10 s held.
    let (id, start) = booked_lesson(&escrow, &token, &p, booking, (RATE_PER_SEC, DEPOSIT, 300));
    clock::advance(10);
    escrow.sender(p.student).stop(id).motsu_unwrap();
    ended(
        &escrow,
        id,
        p.student,
        start + 10,
        [3_000_000, 2_925_000, 75_000, 7_000_000],
    );
    assert_eq!(held(&token, &p), [7_000_000, 2_925_000, 75_000]);
    assert_eq!(
        escrow.sender(p.student).billed(id).motsu_unwrap(),
        u(3_000_000)
    );
    let s = escrow.sender(p.student).session(id).motsu_unwrap();
    assert_eq!((s.start, s.end, s.state), (start, start + 10, 3));

    // The relayer's stop for the student's silence, backdated: the same minimum.
    let (id, start) = booked_lesson(&escrow, &token, &p, booking, (RATE_PER_SEC, DEPOSIT, 300));
    clock::advance(20);
    escrow
        .sender(p.relayer)
        .stop_at(id, start + 5, SILENT_STUDENT)
        .motsu_unwrap();
    ended(
        &escrow,
        id,
        p.relayer,
        start + 5,
        [3_000_000, 2_925_000, 75_000, 7_000_000],
    );
    assert_eq!(held(&token, &p), [14_000_000, 5_850_000, 150_000]);

    // What the tutor withdrew counts towards it: 40 s withdrawable after 100 s (60 s
    // backdate), 400,000 less the fee; the rest of the minimum at the stop.
    let (id, start) = booked_lesson(&escrow, &token, &p, booking, (RATE_PER_SEC, DEPOSIT, 300));
    clock::advance(100);
    assert_eq!(
        escrow.sender(p.tutor).withdraw(id).motsu_unwrap(),
        u(390_000)
    );
    escrow.sender(p.student).stop(id).motsu_unwrap();
    ended(
        &escrow,
        id,
        p.student,
        start + 100,
        [3_000_000, 2_535_000, 75_000, 7_000_000],
    );
    assert_eq!(held(&token, &p), [21_000_000, 8_775_000, 225_000]);

    // After the minimum, the seconds held: 400 s.
    let (id, start) = booked_lesson(&escrow, &token, &p, booking, (RATE_PER_SEC, DEPOSIT, 300));
    clock::advance(400);
    escrow.sender(p.student).stop(id).motsu_unwrap();
    ended(
        &escrow,
        id,
        p.student,
        start + 400,
        [4_000_000, 3_900_000, 100_000, 6_000_000],
    );
    assert_eq!(balance(&token, escrow.address()), 0);
}

/// Ended by the tutor, for the tutor's silence, or by anyone once the deposit is used up,
/// a booked session bills the seconds held, and its `billed` view says so.
#[motsu::test]
fn a_booked_session_ended_by_the_tutor_or_the_tutors_silence_bills_the_seconds_held(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let (p, booking) = registered(&escrow, &token, &creds, 0);

    let (id, start) = booked_lesson(&escrow, &token, &p, booking, (RATE_PER_SEC, DEPOSIT, 300));
    clock::advance(10);
    escrow.sender(p.tutor).stop(id).motsu_unwrap();
    ended(
        &escrow,
        id,
        p.tutor,
        start + 10,
        [100_000, 97_500, 2_500, 9_900_000],
    );
    assert_eq!(
        escrow.sender(p.student).billed(id).motsu_unwrap(),
        u(100_000)
    );
    assert!(escrow.sender(p.student).ended_by_tutor(id).motsu_unwrap());

    let (id, start) = booked_lesson(&escrow, &token, &p, booking, (RATE_PER_SEC, DEPOSIT, 300));
    clock::advance(20);
    escrow
        .sender(p.relayer)
        .stop_at(id, start + 5, SILENT_TUTOR)
        .motsu_unwrap();
    ended(
        &escrow,
        id,
        p.relayer,
        start + 5,
        [50_000, 48_750, 1_250, 9_950_000],
    );
    assert_eq!(
        escrow.sender(p.student).billed(id).motsu_unwrap(),
        u(50_000)
    );
    assert!(escrow.sender(p.student).ended_by_tutor(id).motsu_unwrap());
    assert_eq!(held(&token, &p), [19_850_000, 146_250, 3_750]);

    // Used up (1,000 s), then stopped by a stranger: the whole deposit, as for any session.
    let (id, start) = booked_lesson(&escrow, &token, &p, booking, (RATE_PER_SEC, DEPOSIT, 300));
    clock::advance(2_000);
    escrow.sender(p.stranger()).stop(id).motsu_unwrap();
    ended(
        &escrow,
        id,
        p.stranger(),
        start + 1_000,
        [DEPOSIT, 9_750_000, 250_000, 0],
    );
    assert!(!escrow.sender(p.student).ended_by_tutor(id).motsu_unwrap());
}

/// Audit 15, L2: `endedByTutor` marks exactly the booked sessions the tutor ended (own
/// stop or silence) while the deposit still ran, whatever the minimum time (a tutor
/// with no fees too); the booking contract counts those shorter than booked. A relayer's
/// stop naming nobody marks nobody.
#[motsu::test]
fn ended_by_tutor_marks_only_a_booked_session_the_tutor_ended_early(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let (p, booking) = registered(&escrow, &token, &creds, DEPOSIT);
    let ended_by_tutor = |id| escrow.sender(p.stranger()).ended_by_tutor(id);

    // No minimum (no fees): started and stopped at once by the tutor, marked; while it
    // ran, not.
    let (id, _) = booked_lesson(&escrow, &token, &p, booking, (RATE_PER_SEC, DEPOSIT, 0));
    assert!(!ended_by_tutor(id).motsu_unwrap());
    escrow.sender(p.tutor).stop(id).motsu_unwrap();
    assert!(ended_by_tutor(id).motsu_unwrap());
    assert_eq!(
        escrow.sender(p.student).billed(id).motsu_unwrap(),
        U256::ZERO
    );

    // The student's stop, or the relayer's for the student's silence: not marked.
    let (id, _) = booked_lesson(&escrow, &token, &p, booking, (RATE_PER_SEC, DEPOSIT, 300));
    clock::advance(10);
    escrow.sender(p.student).stop(id).motsu_unwrap();
    assert!(!ended_by_tutor(id).motsu_unwrap());
    let (id, start) = booked_lesson(&escrow, &token, &p, booking, (RATE_PER_SEC, DEPOSIT, 0));
    clock::advance(10);
    escrow
        .sender(p.relayer)
        .stop_at(id, start + 4, SILENT_STUDENT)
        .motsu_unwrap();
    assert!(!ended_by_tutor(id).motsu_unwrap());

    // The relayer cannot tell who fell silent (both at once): the seconds held, no
    // minimum, nobody marked.
    let (id, start) = booked_lesson(&escrow, &token, &p, booking, (RATE_PER_SEC, DEPOSIT, 300));
    clock::advance(30);
    escrow
        .sender(p.relayer)
        .stop_at(id, start + 20, SILENT_UNKNOWN)
        .motsu_unwrap();
    assert!(!ended_by_tutor(id).motsu_unwrap());
    assert_eq!(
        escrow.sender(p.student).billed(id).motsu_unwrap(),
        u(20 * RATE_PER_SEC)
    );

    // The tutor's stop once the deposit ran out (1,000 s): the lesson was held in full.
    let (id, _) = booked_lesson(&escrow, &token, &p, booking, (RATE_PER_SEC, DEPOSIT, 300));
    clock::advance(1_000);
    escrow.sender(p.tutor).stop(id).motsu_unwrap();
    assert!(!ended_by_tutor(id).motsu_unwrap());
    // One second before: marked.
    let (id, _) = booked_lesson(&escrow, &token, &p, booking, (RATE_PER_SEC, DEPOSIT, 300));
    clock::advance(999);
    escrow.sender(p.tutor).stop(id).motsu_unwrap();
    assert!(ended_by_tutor(id).motsu_unwrap());

    // A session opened with `open`, ended by its tutor, is no booking's: not marked.
    let id = open_and_start(&escrow, &token, &p);
    escrow.sender(p.tutor).stop(id).motsu_unwrap();
    assert!(!ended_by_tutor(id).motsu_unwrap());

    let unknown = id + U256::from(1);
    assert_eq!(
        ended_by_tutor(unknown).motsu_unwrap_err(),
        EscrowUnknownSession { id: unknown }.into()
    );
}

/// The minimum never bills past the deposit, and counts at most [`MAX_MIN_BILLED`].
#[motsu::test]
fn the_minimum_time_is_capped_by_the_deposit_and_by_max_min_billed(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let (p, booking) = registered(&escrow, &token, &creds, 0);

    // 100 s of deposit, 300 s minimum: the deposit, and nothing back.
    let (id, _) = booked_lesson(&escrow, &token, &p, booking, (RATE_PER_SEC, 1_000_000, 300));
    clock::advance(1);
    escrow.sender(p.student).stop(id).motsu_unwrap();
    assert_eq!(
        escrow.sender(p.student).billed(id).motsu_unwrap(),
        u(1_000_000)
    );
    assert_eq!(held(&token, &p), [0, 975_000, 25_000]);

    // 100 a second for up to 100,000 s; a minimum of 65,535 s or 65,534 s counts as
    // 65,533 (the field's last value is the mark `TUTOR_ENDED`).
    assert_eq!(u128::from(MAX_MIN_BILLED) * 100, 6_553_300);
    for min_billed in [u16::MAX, u16::MAX - 1] {
        let (id, _) = booked_lesson(&escrow, &token, &p, booking, (100, DEPOSIT, min_billed));
        clock::advance(1);
        escrow.sender(p.student).stop(id).motsu_unwrap();
        assert_eq!(
            escrow.sender(p.student).billed(id).motsu_unwrap(),
            u(6_553_300)
        );
        assert!(!escrow.sender(p.student).ended_by_tutor(id).motsu_unwrap());
    }
    assert_eq!(balance(&token, p.student), 2 * (DEPOSIT - 6_553_300));
}

#[motsu::test]
fn open_for_opens_a_session_of_the_student_paid_by_the_booking_contract(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let (p, booking) = registered(&escrow, &token, &creds, 0);

    let (id, events) = with_events(&escrow, || {
        open_for(&escrow, &token, &p, booking).motsu_unwrap()
    });
    assert_eq!(id, U256::from(1));
    assert_eq!(
        events,
        [SessionOpened {
            id,
            student: p.student,
            tutor: p.tutor,
            token: token.address(),
            rate: u(RATE),
            deposit: u(DEPOSIT),
            studentKey: p.student_key,
            credentialKind: 0,
            feeBps: FEE_BPS,
        }
        .encode_log_data()]
    );
    // The booking contract paid; the student paid nothing here.
    assert_eq!(balance(&token, booking), FUNDS - DEPOSIT);
    assert_eq!(balance(&token, escrow.address()), DEPOSIT);
    assert_eq!(balance(&token, p.student), 0);
    let s = escrow.sender(p.tutor).session(id).motsu_unwrap();
    assert_eq!(
        (s.student, s.tutor, s.token, s.rate, s.deposited),
        (p.student, p.tutor, token.address(), u(RATE), u(DEPOSIT))
    );
    assert_eq!((s.start, s.end, s.feeBps, s.state), (now(), 0, FEE_BPS, 1));

    // The session is the student's: the tutor starts it, the student stops it and gets
    // the refund; the booking contract is no party (no cancel inside the window).
    let deadline = now() + u64::from(START_WINDOW);
    assert_reverts(&escrow, EscrowStartWindowOpen { id, deadline }, || {
        escrow.sender(booking).cancel(id)
    });
    // An ordinary session opened alongside is untouched by the booked flag.
    token
        .sender(p.admin)
        .mint(p.student, u(DEPOSIT))
        .motsu_unwrap();
    token
        .sender(p.student)
        .approve(escrow.address(), U256::MAX)
        .motsu_unwrap();
    let plain = open(&escrow, &token, &p);
    escrow.sender(p.tutor).cancel(plain).motsu_unwrap();
    assert_eq!(balance(&token, p.student), DEPOSIT);
    token
        .sender(p.student)
        .transfer(Address::repeat_byte(0xee), u(DEPOSIT))
        .motsu_unwrap();
    escrow.sender(p.tutor).start(id, p.tutor_key).motsu_unwrap();
    clock::advance(100);
    escrow.sender(p.student).stop(id).motsu_unwrap();
    // 100 s at 10,000 a second: 1,000,000 billed, 2.5 % fee.
    assert_eq!(balance(&token, p.student), DEPOSIT - 1_000_000);
    assert_eq!(balance(&token, p.tutor), 975_000);
    assert_eq!(balance(&token, p.treasury), 25_000);
    assert_eq!(balance(&token, booking), FUNDS - DEPOSIT);
    assert_eq!(balance(&token, escrow.address()), 0);
}

#[motsu::test]
fn open_for_refunds_a_cancelled_session_to_the_student(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let (p, booking) = registered(&escrow, &token, &creds, 0);
    let id = open_for(&escrow, &token, &p, booking).motsu_unwrap();
    // After the start window anyone (the booking contract too) may cancel; the refund
    // goes to the student, never back to the payer.
    clock::advance(u64::from(START_WINDOW) + 1);
    escrow.sender(booking).cancel(id).motsu_unwrap();
    escrow.assert_emitted(&SessionCancelled {
        id,
        by: booking,
        refund: u(DEPOSIT),
    });
    assert_eq!(balance(&token, p.student), DEPOSIT);
    assert_eq!(balance(&token, booking), FUNDS - DEPOSIT);
    assert_eq!(state_of(&escrow, id), State::Cancelled as u8);
}

#[motsu::test]
fn a_booked_session_cannot_be_cancelled_by_a_party_inside_its_start_window(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    // Its fees and counts are the booking contract's: a student who joined cannot cancel
    // to dodge a late fee, nor a tutor to dodge a no-show.
    let (p, booking) = registered(&escrow, &token, &creds, 0);
    let id = open_for(&escrow, &token, &p, booking).motsu_unwrap();
    let deadline = now() + u64::from(START_WINDOW);
    clock::advance(u64::from(START_WINDOW));
    for who in [p.student, p.tutor, booking, p.stranger()] {
        assert_reverts(&escrow, EscrowStartWindowOpen { id, deadline }, || {
            escrow.sender(who).cancel(id)
        });
    }
    // The tutor may still start it until the deadline.
    assert_eq!(state_of(&escrow, id), State::Open as u8);
    // After it, anyone may, the student included; the refund is the student's.
    clock::advance(1);
    escrow.sender(p.student).cancel(id).motsu_unwrap();
    escrow.assert_emitted(&SessionCancelled {
        id,
        by: p.student,
        refund: u(DEPOSIT),
    });
    assert_eq!(balance(&token, p.student), DEPOSIT);
}

/// Audit 15, M1: the booking contract keeps the tutor's start deadline from running out
/// before the lesson's join window does, whatever the configured window and however early
/// the student joined.
#[motsu::test]
fn open_for_keeps_the_start_window_open_at_least_min_start_window(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let (p, booking) = registered(&escrow, &token, &creds, 0);
    let opened = now();
    // Shorter than the configured window: the configured one holds.
    let short = open_for_within(&escrow, &token, &p, booking, START_WINDOW - 1).motsu_unwrap();
    // Longer: the asked one.
    let long = open_for_within(&escrow, &token, &p, booking, 900).motsu_unwrap();
    let started = open_for_within(&escrow, &token, &p, booking, 900).motsu_unwrap();
    // Above the largest window a session can keep: capped there.
    let huge = open_for_within(&escrow, &token, &p, booking, u32::MAX).motsu_unwrap();
    let deadline = |id| {
        let err = escrow.sender(p.stranger()).cancel(id).motsu_unwrap_err();
        let open = <EscrowStartWindowOpen as alloy_sol_types::SolError>::abi_decode(
            &Vec::<u8>::from(err),
            true,
        )
        .unwrap();
        assert_eq!(open.id, id);
        open.deadline
    };
    assert_eq!(deadline(short), opened + u64::from(START_WINDOW));
    assert_eq!(deadline(long), opened + 900);
    assert_eq!(deadline(huge), opened + u64::from(MAX_START_WINDOW));
    // The tutor may start until the later deadline, not after it.
    clock::advance(900);
    escrow
        .sender(p.tutor)
        .start(started, p.tutor_key)
        .motsu_unwrap();
    assert_reverts(
        &escrow,
        EscrowStartWindowExpired {
            id: short,
            deadline: opened + u64::from(START_WINDOW),
        },
        || escrow.sender(p.tutor).start(short, p.tutor_key),
    );
    assert_reverts(
        &escrow,
        EscrowStartWindowOpen {
            id: long,
            deadline: opened + 900,
        },
        || escrow.sender(p.student).cancel(long),
    );
    clock::advance(1);
    assert_reverts(
        &escrow,
        EscrowStartWindowExpired {
            id: long,
            deadline: opened + 900,
        },
        || escrow.sender(p.tutor).start(long, p.tutor_key),
    );
    escrow.sender(p.student).cancel(long).motsu_unwrap();
}

#[motsu::test]
fn open_for_rejects_everyone_but_the_registered_booking_contract(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let booking = Address::random();
    // None registered: nobody may, the student included.
    for caller in [booking, p.student, p.admin] {
        assert_reverts(&escrow, EscrowNotBooking { caller }, || {
            open_for(&escrow, &token, &p, caller)
        });
    }
    register(&escrow, &token, &p, booking);
    assert_eq!(escrow.sender(p.stranger()).booking(), booking);
    for caller in [p.student, p.tutor, p.admin, p.relayer] {
        assert_reverts(&escrow, EscrowNotBooking { caller }, || {
            open_for(&escrow, &token, &p, caller)
        });
    }
    // Unregistered again: refused again.
    escrow
        .sender(p.admin)
        .set_booking(Address::ZERO)
        .motsu_unwrap();
    assert_reverts(&escrow, EscrowNotBooking { caller: booking }, || {
        open_for(&escrow, &token, &p, booking)
    });
    assert_eq!(escrow.sender(p.stranger()).config().8, 0);
    assert_eq!(balance(&token, booking), FUNDS);
    assert_eq!(balance(&token, escrow.address()), 0);
}

#[motsu::test]
fn open_for_keeps_every_check_of_open(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let (p, booking) = registered(&escrow, &token, &creds, 0);
    let f = |student: Address, tutor: Address, tok: Address, rate: u128, deposit: u128| {
        escrow.sender(booking).open_for(
            student,
            tutor,
            tok,
            u(rate),
            u(deposit),
            p.student_key,
            0,
            0,
            0,
        )
    };
    let t = token.address();
    assert_reverts(
        &escrow,
        EscrowInvalidAddress {
            account: Address::ZERO,
        },
        || f(Address::ZERO, p.tutor, t, RATE, DEPOSIT),
    );
    assert_reverts(&escrow, EscrowInvalidAddress { account: p.tutor }, || {
        f(p.tutor, p.tutor, t, RATE, DEPOSIT)
    });
    let other = Address::random();
    assert_reverts(&escrow, EscrowTokenNotAllowed { token: other }, || {
        f(p.student, p.tutor, other, RATE, DEPOSIT)
    });
    assert_reverts(&escrow, EscrowInvalidRate { rate: U256::ZERO }, || {
        f(p.student, p.tutor, t, 0, DEPOSIT)
    });
    assert_reverts(&escrow, EscrowInvalidAmount { amount: U256::ZERO }, || {
        f(p.student, p.tutor, t, RATE, 0)
    });
    // More than the booking contract holds: the token refuses the pull.
    let err = f(p.student, p.tutor, t, RATE, FUNDS + 1).motsu_unwrap_err();
    assert_eq!(
        err,
        EscrowTransferFailed {
            token: t,
            to: escrow.address(),
            amount: u(FUNDS + 1)
        }
        .into()
    );
    // Pause stops it like any new money.
    escrow.sender(p.admin).set_paused(true).motsu_unwrap();
    assert_reverts(&escrow, EscrowPaused {}, || {
        f(p.student, p.tutor, t, RATE, DEPOSIT)
    });
    assert_eq!(escrow.sender(p.stranger()).config().8, 0);
    assert_eq!(balance(&token, booking), FUNDS);
}

#[motsu::test]
fn set_booking_is_admin_only_and_emits_booking_updated(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, 0);
    let booking = Address::random();
    for caller in [p.student, p.tutor, p.relayer, booking] {
        assert_reverts(&escrow, EscrowNotAdmin { caller }, || {
            escrow.sender(caller).set_booking(booking)
        });
    }
    assert_eq!(escrow.sender(p.stranger()).booking(), Address::ZERO);
    let ((), events) = with_events(&escrow, || {
        escrow.sender(p.admin).set_booking(booking).motsu_unwrap()
    });
    assert_eq!(events, [BookingUpdated { booking }.encode_log_data()]);
    assert_eq!(escrow.sender(p.stranger()).booking(), booking);
}
