//! One test per rule of the session life cycle (DESIGN.md §1).

use super::*;

const FUNDS: u128 = 100_000_000;

fn id1() -> U256 {
    U256::from(1)
}

#[motsu::test]
fn open_pulls_deposit_locks_terms_and_emits_session_opened(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open(&escrow, &token, &p);
    assert_eq!(id, id1());
    assert_eq!(balance(&token, p.student), FUNDS - DEPOSIT);
    assert_eq!(balance(&token, escrow.address()), DEPOSIT);
    escrow.assert_emitted(&SessionOpened {
        id,
        student: p.student,
        tutor: p.tutor,
        token: token.address(),
        rate: u(RATE),
        deposit: u(DEPOSIT),
        studentKey: p.student_key,
        credentialKind: 0,
        feeBps: FEE_BPS,
    });
    let s = escrow.sender(p.tutor).session(id).motsu_unwrap();
    assert_eq!(
        (
            s.student,
            s.tutor,
            s.token,
            s.rate,
            s.deposited,
            s.withdrawn
        ),
        (
            p.student,
            p.tutor,
            token.address(),
            u(RATE),
            u(DEPOSIT),
            U256::ZERO
        )
    );
    assert_eq!((s.start, s.end, s.feeBps, s.state), (now(), 0, FEE_BPS, 1));
    // Open: nothing billed, the whole deposit's worth of runway.
    assert_eq!(
        escrow.sender(p.student).billed(id).motsu_unwrap(),
        U256::ZERO
    );
    assert_eq!(escrow.sender(p.student).runway(id).motsu_unwrap(), 1_000);
}

#[motsu::test]
fn open_rejects_a_token_off_the_allowlist(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let other = Address::random();
    let err = escrow
        .sender(p.student)
        .open(p.tutor, other, u(RATE), u(DEPOSIT), p.student_key, 0)
        .motsu_unwrap_err();
    assert_eq!(err, EscrowTokenNotAllowed { token: other }.into());
    // Removing a token stops new sessions with it.
    escrow
        .sender(p.admin)
        .set_token_allowed(token.address(), false)
        .motsu_unwrap();
    escrow.assert_emitted(&TokenAllowed {
        token: token.address(),
        allowed: false,
    });
    let err = try_open(&escrow, token.address(), &p).motsu_unwrap_err();
    assert_eq!(
        err,
        EscrowTokenNotAllowed {
            token: token.address()
        }
        .into()
    );
}

#[motsu::test]
fn open_rejects_bad_terms_with_typed_errors_and_takes_nothing(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let t = token.address();
    let too_big = U256::from(u128::MAX) + U256::from(1);
    let cases: Vec<(Address, U256, U256, Address, Error)> = vec![
        (
            p.tutor,
            U256::ZERO,
            u(DEPOSIT),
            p.student_key,
            EscrowInvalidRate { rate: U256::ZERO }.into(),
        ),
        (
            p.tutor,
            too_big,
            u(DEPOSIT),
            p.student_key,
            EscrowInvalidRate { rate: too_big }.into(),
        ),
        (
            p.tutor,
            u(RATE),
            U256::ZERO,
            p.student_key,
            EscrowInvalidAmount { amount: U256::ZERO }.into(),
        ),
        (
            p.tutor,
            u(RATE),
            too_big,
            p.student_key,
            EscrowInvalidAmount { amount: too_big }.into(),
        ),
        (
            Address::ZERO,
            u(RATE),
            u(DEPOSIT),
            p.student_key,
            EscrowInvalidAddress {
                account: Address::ZERO,
            }
            .into(),
        ),
        (
            p.student,
            u(RATE),
            u(DEPOSIT),
            p.student_key,
            EscrowInvalidAddress { account: p.student }.into(),
        ),
        (
            p.tutor,
            u(RATE),
            u(DEPOSIT),
            Address::ZERO,
            EscrowInvalidAddress {
                account: Address::ZERO,
            }
            .into(),
        ),
    ];
    for (tutor, rate, deposit, key, want) in cases {
        let err = escrow
            .sender(p.student)
            .open(tutor, t, rate, deposit, key, 0)
            .motsu_unwrap_err();
        assert_eq!(err, want);
    }
    assert_eq!(balance(&token, p.student), FUNDS);
    assert_eq!(
        escrow.sender(p.student).config().8,
        0,
        "no session was recorded"
    );
}

/// The session count is 32 bits, packed beside the settings an open reads: the last id
/// opens, the next open is refused and moves nothing, and neither the count nor a
/// settings change bleeds into the other's bytes.
#[motsu::test]
fn the_session_count_stops_at_its_32_bit_limit(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    escrow
        .sender(p.admin)
        .settings
        .set_uint(crate::settings::SESSION_COUNT, MAX_SESSIONS - 1);
    let before = escrow.sender(p.student).config();
    let id = open(&escrow, &token, &p);
    assert_eq!(id, U256::from(u32::MAX));
    let after = escrow.sender(p.student).config();
    assert_eq!(after.8, MAX_SESSIONS);
    assert_eq!(
        (after.2, after.3, after.4, after.5, after.6, after.7),
        (before.2, before.3, before.4, before.5, before.6, before.7),
        "the count's write left the other settings alone"
    );

    let err = try_open(&escrow, token.address(), &p).motsu_unwrap_err();
    assert_eq!(err, EscrowAccounting { id: U256::ZERO }.into());
    assert_eq!(balance(&token, p.student), FUNDS - DEPOSIT);
    assert_eq!(escrow.sender(p.student).config().8, MAX_SESSIONS);

    escrow
        .sender(p.admin)
        .set_config(
            p.treasury,
            creds.address(),
            MAX_FEE_BPS,
            MAX_START_WINDOW,
            MAX_BACKDATE_LIMIT,
        )
        .motsu_unwrap();
    let cfg = escrow.sender(p.student).config();
    assert_eq!(
        (cfg.4, cfg.5, cfg.6, cfg.7, cfg.8),
        (
            MAX_FEE_BPS,
            MAX_START_WINDOW,
            MAX_BACKDATE_LIMIT,
            false,
            MAX_SESSIONS
        )
    );
    escrow.sender(p.admin).set_paused(true).motsu_unwrap();
    assert!(escrow.sender(p.student).config().7);
    assert_eq!(escrow.sender(p.student).config().8, MAX_SESSIONS);
}

#[motsu::test]
fn open_without_funds_fails_and_records_nothing(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, DEPOSIT - 1);
    let err = try_open(&escrow, token.address(), &p).motsu_unwrap_err();
    assert_eq!(
        err,
        EscrowTransferFailed {
            token: token.address(),
            to: escrow.address(),
            amount: u(DEPOSIT)
        }
        .into()
    );
    assert_eq!(balance(&token, p.student), DEPOSIT - 1);
    let err = escrow.sender(p.student).session(id1()).motsu_unwrap_err();
    assert_eq!(err, EscrowUnknownSession { id: id1() }.into());
}

#[motsu::test]
fn start_by_tutor_begins_accrual_and_emits_session_started(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open(&escrow, &token, &p);
    clock::advance(30); // waiting in the room costs nothing
    escrow.sender(p.tutor).start(id, p.tutor_key).motsu_unwrap();
    let started = now();
    escrow.assert_emitted(&SessionStarted {
        id,
        tutorKey: p.tutor_key,
        start: started,
    });
    assert_eq!(state_of(&escrow, id), State::Active as u8);
    assert_eq!(
        escrow.sender(p.student).billed(id).motsu_unwrap(),
        U256::ZERO
    );
    clock::advance(60);
    assert_eq!(
        escrow.sender(p.student).billed(id).motsu_unwrap(),
        u(60 * RATE_PER_SEC)
    );
    assert_eq!(escrow.sender(p.student).runway(id).motsu_unwrap(), 940);
    // Withdrawals count billing up to now − maxBackdate (60 s): nothing yet.
    assert_eq!(
        escrow.sender(p.tutor).withdrawable(id).motsu_unwrap(),
        U256::ZERO
    );
    clock::advance(40);
    // 40 s withdrawable: 400,000 billed minus the 2.5 % fee.
    assert_eq!(
        escrow.sender(p.tutor).withdrawable(id).motsu_unwrap(),
        u(390_000)
    );
}

#[motsu::test]
fn start_rejects_anyone_but_the_tutor(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open(&escrow, &token, &p);
    for caller in [p.student, p.relayer, p.admin] {
        let err = escrow
            .sender(caller)
            .start(id, p.tutor_key)
            .motsu_unwrap_err();
        assert_eq!(err, EscrowUnauthorized { id, caller }.into());
    }
    let err = escrow
        .sender(p.tutor)
        .start(id, Address::ZERO)
        .motsu_unwrap_err();
    assert_eq!(
        err,
        EscrowInvalidAddress {
            account: Address::ZERO
        }
        .into()
    );
    let err = escrow
        .sender(p.tutor)
        .start(U256::from(99), p.tutor_key)
        .motsu_unwrap_err();
    assert_eq!(err, EscrowUnknownSession { id: U256::from(99) }.into());
}

#[motsu::test]
fn start_rejects_after_the_start_window(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open(&escrow, &token, &p);
    let deadline = now() + u64::from(START_WINDOW);
    clock::advance(u64::from(START_WINDOW) + 1);
    let err = escrow
        .sender(p.tutor)
        .start(id, p.tutor_key)
        .motsu_unwrap_err();
    assert_eq!(err, EscrowStartWindowExpired { id, deadline }.into());
}

#[motsu::test]
fn start_window_is_fixed_per_session_at_open(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let early = open(&escrow, &token, &p);
    let deadline = now() + u64::from(START_WINDOW);
    // Shrinking the window does not cut short a session already open...
    escrow
        .sender(p.admin)
        .set_config(p.treasury, creds.address(), FEE_BPS, 10, MAX_BACKDATE)
        .motsu_unwrap();
    let late = open(&escrow, &token, &p);
    clock::advance(u64::from(START_WINDOW));
    escrow
        .sender(p.tutor)
        .start(early, p.tutor_key)
        .motsu_unwrap();
    // ...and the session opened after the change has the new, shorter one.
    let err = escrow
        .sender(p.tutor)
        .start(late, p.tutor_key)
        .motsu_unwrap_err();
    assert_eq!(
        err,
        EscrowStartWindowExpired {
            id: late,
            deadline: deadline - u64::from(START_WINDOW) + 10
        }
        .into()
    );
    // Widening it does not extend an open session's deadline for strangers' cancels.
    let third = open(&escrow, &token, &p);
    escrow
        .sender(p.admin)
        .set_config(p.treasury, creds.address(), FEE_BPS, 100_000, MAX_BACKDATE)
        .motsu_unwrap();
    clock::advance(11);
    escrow
        .sender(Address::random())
        .cancel(third)
        .motsu_unwrap();
}

#[motsu::test]
fn set_config_rejects_a_start_window_that_does_not_fit_a_session(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let err = escrow
        .sender(p.admin)
        .set_config(
            p.treasury,
            creds.address(),
            FEE_BPS,
            MAX_START_WINDOW + 1,
            MAX_BACKDATE,
        )
        .motsu_unwrap_err();
    assert_eq!(
        err,
        EscrowInvalidWindows {
            startWindow: MAX_START_WINDOW + 1,
            maxBackdate: MAX_BACKDATE
        }
        .into()
    );
    escrow
        .sender(p.admin)
        .set_config(
            p.treasury,
            creds.address(),
            FEE_BPS,
            MAX_START_WINDOW,
            MAX_BACKDATE,
        )
        .motsu_unwrap();
}

#[motsu::test]
fn start_at_the_last_second_of_the_window_is_accepted(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open(&escrow, &token, &p);
    clock::advance(u64::from(START_WINDOW));
    escrow.sender(p.tutor).start(id, p.tutor_key).motsu_unwrap();
    let err = escrow
        .sender(p.tutor)
        .start(id, p.tutor_key)
        .motsu_unwrap_err();
    assert_eq!(err, EscrowInvalidState { id, state: 2 }.into());
}

#[motsu::test]
fn cancel_by_student_refunds_the_whole_deposit(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open(&escrow, &token, &p);
    escrow.sender(p.student).cancel(id).motsu_unwrap();
    escrow.assert_emitted(&SessionCancelled {
        id,
        by: p.student,
        refund: u(DEPOSIT),
    });
    assert_eq!(balance(&token, p.student), FUNDS);
    assert_eq!(balance(&token, escrow.address()), 0);
    assert_eq!(state_of(&escrow, id), State::Cancelled as u8);
    // Cancelled is final: no start, no second refund.
    let err = escrow
        .sender(p.tutor)
        .start(id, p.tutor_key)
        .motsu_unwrap_err();
    assert_eq!(err, EscrowInvalidState { id, state: 4 }.into());
    let err = escrow.sender(p.student).cancel(id).motsu_unwrap_err();
    assert_eq!(err, EscrowInvalidState { id, state: 4 }.into());
}

#[motsu::test]
fn cancel_by_tutor_declines_and_refunds_the_student(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open(&escrow, &token, &p);
    escrow.sender(p.tutor).cancel(id).motsu_unwrap();
    assert_eq!(balance(&token, p.student), FUNDS);
    assert_eq!(balance(&token, p.tutor), 0);
}

#[motsu::test]
fn cancel_by_anyone_else_waits_for_the_start_window(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open(&escrow, &token, &p);
    let deadline = now() + u64::from(START_WINDOW);
    let stranger = Address::random();
    let err = escrow.sender(stranger).cancel(id).motsu_unwrap_err();
    assert_eq!(err, EscrowStartWindowOpen { id, deadline }.into());
    clock::advance(u64::from(START_WINDOW) + 1);
    escrow.sender(stranger).cancel(id).motsu_unwrap();
    assert_eq!(
        balance(&token, p.student),
        FUNDS,
        "the refund goes to the student"
    );
    assert_eq!(balance(&token, stranger), 0);
}

#[motsu::test]
fn cancel_rejects_an_active_session(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open_and_start(&escrow, &token, &p);
    let err = escrow.sender(p.student).cancel(id).motsu_unwrap_err();
    assert_eq!(err, EscrowInvalidState { id, state: 2 }.into());
}

#[motsu::test]
fn top_up_extends_the_runway(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open_and_start(&escrow, &token, &p);
    clock::advance(100);
    escrow
        .sender(p.student)
        .top_up(id, u(5_000_000))
        .motsu_unwrap();
    escrow.assert_emitted(&SessionToppedUp {
        id,
        amount: u(5_000_000),
        deposited: u(DEPOSIT + 5_000_000),
    });
    assert_eq!(escrow.sender(p.student).runway(id).motsu_unwrap(), 1_400);
    assert_eq!(balance(&token, escrow.address()), DEPOSIT + 5_000_000);
}

#[motsu::test]
fn top_up_rejects_others_zero_and_overflow(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open(&escrow, &token, &p);
    let err = escrow.sender(p.tutor).top_up(id, u(1)).motsu_unwrap_err();
    assert_eq!(
        err,
        EscrowUnauthorized {
            id,
            caller: p.tutor
        }
        .into()
    );
    let err = escrow
        .sender(p.student)
        .top_up(id, U256::ZERO)
        .motsu_unwrap_err();
    assert_eq!(err, EscrowInvalidAmount { amount: U256::ZERO }.into());
    let big = u(u128::MAX - DEPOSIT + 1);
    let err = escrow.sender(p.student).top_up(id, big).motsu_unwrap_err();
    assert_eq!(err, EscrowInvalidAmount { amount: big }.into());
    // Topping up an Open session works and is refunded in full on cancel.
    escrow.sender(p.student).top_up(id, u(7)).motsu_unwrap();
    escrow.sender(p.student).cancel(id).motsu_unwrap();
    escrow.assert_emitted(&SessionCancelled {
        id,
        by: p.student,
        refund: u(DEPOSIT + 7),
    });
    assert_eq!(balance(&token, p.student), FUNDS);
}

#[motsu::test]
fn top_up_rejects_once_funds_are_exhausted(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open_and_start(&escrow, &token, &p);
    clock::advance(1_000);
    let err = escrow.sender(p.student).top_up(id, u(1)).motsu_unwrap_err();
    assert_eq!(err, EscrowFundsExhausted { id }.into());
}

#[motsu::test]
fn withdraw_pays_the_tutor_what_accrued_minus_fee(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open_and_start(&escrow, &token, &p);
    clock::advance(100);
    let got = escrow.sender(p.tutor).withdraw(id).motsu_unwrap();
    // Counted up to now − 60 s: 40 s × 10,000 = 400,000 billed; fee 10,000.
    assert_eq!(got, u(390_000));
    assert_eq!(balance(&token, p.tutor), 390_000);
    escrow.assert_emitted(&Withdrawn {
        id,
        tutor: p.tutor,
        amount: u(390_000),
    });
    // Nothing new accrued in the same second.
    let err = escrow.sender(p.tutor).withdraw(id).motsu_unwrap_err();
    assert_eq!(err, EscrowNothingToWithdraw { id }.into());
    clock::advance(10);
    assert_eq!(
        escrow.sender(p.tutor).withdraw(id).motsu_unwrap(),
        u(97_500)
    );
    let s = escrow.sender(p.tutor).session(id).motsu_unwrap();
    assert_eq!(s.withdrawn, u(487_500));
}

#[motsu::test]
fn withdraw_rejects_anyone_but_the_tutor(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open_and_start(&escrow, &token, &p);
    clock::advance(100);
    for caller in [p.student, p.relayer, p.admin, p.treasury] {
        let err = escrow.sender(caller).withdraw(id).motsu_unwrap_err();
        assert_eq!(err, EscrowUnauthorized { id, caller }.into());
    }
}

#[motsu::test]
fn withdraw_to_a_blocked_tutor_fails_and_keeps_the_earnings_owed(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open_and_start(&escrow, &token, &p);
    clock::advance(100);
    token.sender(p.admin).set_blocked(p.tutor, true);
    let err = escrow.sender(p.tutor).withdraw(id).motsu_unwrap_err();
    assert_eq!(
        err,
        EscrowTransferFailed {
            token: token.address(),
            to: p.tutor,
            amount: u(390_000)
        }
        .into()
    );
    assert_eq!(
        escrow.sender(p.tutor).withdrawable(id).motsu_unwrap(),
        u(390_000)
    );
}

#[motsu::test]
fn stop_by_student_settles_every_party_to_the_base_unit(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open_and_start(&escrow, &token, &p);
    clock::advance(100);
    escrow.sender(p.tutor).withdraw(id).motsu_unwrap();
    clock::advance(23);
    escrow.sender(p.student).stop(id).motsu_unwrap();
    // 123 s: billed 1,230,000; fee 30,750; tutor total 1,199,250 of which 390,000 earlier.
    escrow.assert_emitted(&SessionEnded {
        id,
        by: p.student,
        end: now(),
        billed: u(1_230_000),
        tutorPaid: u(809_250),
        fee: u(30_750),
        refund: u(DEPOSIT - 1_230_000),
    });
    assert_eq!(balance(&token, p.tutor), 1_199_250);
    assert_eq!(balance(&token, p.treasury), 30_750);
    assert_eq!(balance(&token, p.student), FUNDS - 1_230_000);
    assert_eq!(balance(&token, escrow.address()), 0);
    let s = escrow.sender(p.student).session(id).motsu_unwrap();
    assert_eq!((s.state, s.end), (3, now()));
    assert_eq!(
        escrow.sender(p.student).billed(id).motsu_unwrap(),
        u(1_230_000)
    );
    assert_eq!(
        escrow.sender(p.student).withdrawable(id).motsu_unwrap(),
        U256::ZERO
    );
    assert_eq!(escrow.sender(p.student).runway(id).motsu_unwrap(), 0);
}

#[motsu::test]
fn stop_by_tutor_is_allowed(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open_and_start(&escrow, &token, &p);
    clock::advance(1);
    escrow.sender(p.tutor).stop(id).motsu_unwrap();
    assert_eq!(balance(&token, p.tutor), 9_750);
    assert_eq!(balance(&token, p.treasury), 250);
}

#[motsu::test]
fn stop_settles_exactly_once(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open_and_start(&escrow, &token, &p);
    clock::advance(5);
    escrow.sender(p.student).stop(id).motsu_unwrap();
    let after = balance(&token, p.student);
    clock::advance(5);
    for caller in [p.student, p.tutor] {
        let err = escrow.sender(caller).stop(id).motsu_unwrap_err();
        assert_eq!(err, EscrowInvalidState { id, state: 3 }.into());
    }
    let err = escrow
        .sender(p.relayer)
        .stop_at(id, now(), SILENT_STUDENT)
        .motsu_unwrap_err();
    assert_eq!(err, EscrowInvalidState { id, state: 3 }.into());
    let err = escrow.sender(p.tutor).withdraw(id).motsu_unwrap_err();
    assert_eq!(err, EscrowInvalidState { id, state: 3 }.into());
    assert_eq!(balance(&token, p.student), after);
}

#[motsu::test]
fn stop_by_a_stranger_is_rejected_while_funds_last(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open_and_start(&escrow, &token, &p);
    clock::advance(999);
    let err = escrow.sender(p.relayer).stop(id).motsu_unwrap_err();
    assert_eq!(
        err,
        EscrowUnauthorized {
            id,
            caller: p.relayer
        }
        .into()
    );
}

#[motsu::test]
fn stop_after_funds_run_out_ends_at_exhaustion(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open_and_start(&escrow, &token, &p);
    let exhausted = now() + 1_000;
    clock::advance(5_000);
    assert_eq!(
        escrow.sender(p.student).billed(id).motsu_unwrap(),
        u(DEPOSIT)
    );
    assert_eq!(escrow.sender(p.student).runway(id).motsu_unwrap(), 0);
    // Nothing is left to bill: anyone may settle, so the fee and the tutor's pay do not
    // wait for a party to come back. (A payout that runs out of gas is credited, not
    // lost: see `settle_credits_*`.)
    let keeper = Address::random();
    escrow.sender(keeper).stop(id).motsu_unwrap();
    escrow.assert_emitted(&SessionEnded {
        id,
        by: keeper,
        end: exhausted,
        billed: u(DEPOSIT),
        tutorPaid: u(9_750_000),
        fee: u(250_000),
        refund: U256::ZERO,
    });
    assert_eq!(
        escrow.sender(p.student).session(id).motsu_unwrap().end,
        exhausted
    );
}

#[motsu::test]
fn stop_at_bills_up_to_the_silent_peers_last_heartbeat(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open_and_start(&escrow, &token, &p);
    clock::advance(200);
    let last_seen = now();
    clock::advance(12); // the relayer's detection window
    escrow
        .sender(p.relayer)
        .stop_at(id, last_seen, SILENT_STUDENT)
        .motsu_unwrap();
    escrow.assert_emitted(&SessionEnded {
        id,
        by: p.relayer,
        end: last_seen,
        billed: u(2_000_000),
        tutorPaid: u(1_950_000),
        fee: u(50_000),
        refund: u(DEPOSIT - 2_000_000),
    });
    assert_eq!(balance(&token, p.student), FUNDS - 2_000_000);
}

#[motsu::test]
fn stop_at_rejects_anyone_but_a_relayer(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open_and_start(&escrow, &token, &p);
    clock::advance(10);
    for caller in [p.student, p.tutor, p.admin] {
        let err = escrow
            .sender(caller)
            .stop_at(id, now(), SILENT_STUDENT)
            .motsu_unwrap_err();
        assert_eq!(err, EscrowNotRelayer { caller }.into());
    }
    // A revoked relayer is a stranger again.
    escrow
        .sender(p.admin)
        .set_relayer(p.relayer, false)
        .motsu_unwrap();
    escrow.assert_emitted(&RelayerUpdated {
        relayer: p.relayer,
        allowed: false,
    });
    let err = escrow
        .sender(p.relayer)
        .stop_at(id, now(), SILENT_STUDENT)
        .motsu_unwrap_err();
    assert_eq!(err, EscrowNotRelayer { caller: p.relayer }.into());
}

#[motsu::test]
fn stop_at_rejects_future_before_start_and_too_old_times(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open_and_start(&escrow, &token, &p);
    let start = now();
    clock::advance(30);
    let latest = now();
    // Within the first minute the earliest allowed is the start.
    for at in [latest + 1, start - 1] {
        let err = escrow
            .sender(p.relayer)
            .stop_at(id, at, SILENT_STUDENT)
            .motsu_unwrap_err();
        assert_eq!(
            err,
            EscrowStopAtOutOfRange {
                id,
                at,
                earliest: start,
                latest
            }
            .into()
        );
    }
    clock::advance(300);
    let latest = now();
    let earliest = latest - u64::from(MAX_BACKDATE);
    let err = escrow
        .sender(p.relayer)
        .stop_at(id, earliest - 1, SILENT_STUDENT)
        .motsu_unwrap_err();
    assert_eq!(
        err,
        EscrowStopAtOutOfRange {
            id,
            at: earliest - 1,
            earliest,
            latest
        }
        .into()
    );
    escrow
        .sender(p.relayer)
        .stop_at(id, earliest, SILENT_STUDENT)
        .motsu_unwrap();
    assert_eq!(
        escrow.sender(p.relayer).session(id).motsu_unwrap().end,
        earliest
    );
}

#[motsu::test]
fn settle_credits_a_blocked_tutor_and_still_refunds_the_student(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open_and_start(&escrow, &token, &p);
    clock::advance(100);
    token.sender(p.admin).set_blocked(p.tutor, true);
    escrow.sender(p.student).stop(id).motsu_unwrap();
    escrow.assert_emitted(&PayoutCredited {
        token: token.address(),
        account: p.tutor,
        amount: u(975_000),
    });
    assert_eq!(balance(&token, p.student), FUNDS - 1_000_000);
    assert_eq!(balance(&token, p.treasury), 25_000);
    assert_eq!(
        balance(&token, escrow.address()),
        975_000,
        "escrow keeps what it owes"
    );
    assert_eq!(
        escrow.sender(p.tutor).claimable(token.address(), p.tutor),
        u(975_000)
    );
    // The tutor claims to another address of theirs.
    let fresh = Address::random();
    let got = escrow
        .sender(p.tutor)
        .claim(token.address(), fresh)
        .motsu_unwrap();
    assert_eq!(got, u(975_000));
    escrow.assert_emitted(&Claimed {
        token: token.address(),
        account: p.tutor,
        to: fresh,
        amount: u(975_000),
    });
    assert_eq!(balance(&token, fresh), 975_000);
    assert_eq!(balance(&token, escrow.address()), 0);
    let err = escrow
        .sender(p.tutor)
        .claim(token.address(), fresh)
        .motsu_unwrap_err();
    assert_eq!(
        err,
        EscrowNothingToClaim {
            token: token.address(),
            account: p.tutor
        }
        .into()
    );
}

#[motsu::test]
fn settle_credits_a_blocked_student_and_still_pays_the_tutor(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open_and_start(&escrow, &token, &p);
    clock::advance(100);
    token.sender(p.admin).set_blocked(p.student, true);
    escrow.sender(p.tutor).stop(id).motsu_unwrap();
    assert_eq!(balance(&token, p.tutor), 975_000);
    assert_eq!(
        escrow
            .sender(p.student)
            .claimable(token.address(), p.student),
        u(DEPOSIT - 1_000_000)
    );
    // A claim the token still refuses fails and keeps the credit.
    let err = escrow
        .sender(p.student)
        .claim(token.address(), p.student)
        .motsu_unwrap_err();
    assert_eq!(
        err,
        EscrowTransferFailed {
            token: token.address(),
            to: p.student,
            amount: u(DEPOSIT - 1_000_000)
        }
        .into()
    );
    assert_eq!(
        escrow
            .sender(p.student)
            .claimable(token.address(), p.student),
        u(DEPOSIT - 1_000_000)
    );
    let err = escrow
        .sender(p.student)
        .claim(token.address(), Address::ZERO)
        .motsu_unwrap_err();
    assert_eq!(
        err,
        EscrowInvalidAddress {
            account: Address::ZERO
        }
        .into()
    );
}

#[motsu::test]
fn cancel_credits_a_blocked_student(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open(&escrow, &token, &p);
    token.sender(p.admin).set_blocked(p.student, true);
    escrow.sender(p.tutor).cancel(id).motsu_unwrap();
    assert_eq!(
        escrow
            .sender(p.student)
            .claimable(token.address(), p.student),
        u(DEPOSIT)
    );
}

#[motsu::test]
fn gated_session_starts_only_once_the_tutor_holds_the_credential(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let kind = 42u32;
    let id = escrow
        .sender(p.student)
        .open(
            p.tutor,
            token.address(),
            u(RATE),
            u(DEPOSIT),
            p.student_key,
            kind,
        )
        .motsu_unwrap();
    let err = escrow
        .sender(p.tutor)
        .start(id, p.tutor_key)
        .motsu_unwrap_err();
    assert_eq!(
        err,
        EscrowCredentialRequired {
            id,
            tutor: p.tutor,
            kind
        }
        .into()
    );
    // A credential of another kind does not count.
    creds.sender(p.admin).set_valid(p.tutor, kind + 1, true);
    let err = escrow
        .sender(p.tutor)
        .start(id, p.tutor_key)
        .motsu_unwrap_err();
    assert_eq!(
        err,
        EscrowCredentialRequired {
            id,
            tutor: p.tutor,
            kind
        }
        .into()
    );
    creds.sender(p.admin).set_valid(p.tutor, kind, true);
    escrow.sender(p.tutor).start(id, p.tutor_key).motsu_unwrap();
    assert_eq!(state_of(&escrow, id), State::Active as u8);
}

#[motsu::test]
fn pause_blocks_new_money_but_never_money_leaving(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let active = open_and_start(&escrow, &token, &p);
    let waiting = open(&escrow, &token, &p);
    let ending = open_and_start(&escrow, &token, &p);
    let by_student = open_and_start(&escrow, &token, &p);
    let by_tutor = open_and_start(&escrow, &token, &p);
    token.sender(p.admin).set_blocked(p.tutor, true);
    clock::advance(100);
    escrow.sender(p.tutor).stop(ending).motsu_unwrap(); // credits the blocked tutor
    token.sender(p.admin).set_blocked(p.tutor, false);

    escrow.sender(p.admin).set_paused(true).motsu_unwrap();
    escrow.assert_emitted(&PauseUpdated { paused: true });
    let paused: Error = EscrowPaused {}.into();
    let err = try_open(&escrow, token.address(), &p).motsu_unwrap_err();
    assert_eq!(err, paused);
    let err = escrow
        .sender(p.tutor)
        .start(waiting, p.tutor_key)
        .motsu_unwrap_err();
    assert_eq!(err, paused);
    let err = escrow
        .sender(p.student)
        .top_up(active, u(1))
        .motsu_unwrap_err();
    assert_eq!(err, paused);

    // Money can always leave.
    escrow.sender(p.tutor).withdraw(active).motsu_unwrap();
    escrow
        .sender(p.tutor)
        .claim(token.address(), p.tutor)
        .motsu_unwrap();
    escrow.sender(p.student).cancel(waiting).motsu_unwrap();
    clock::advance(5);
    escrow
        .sender(p.relayer)
        .stop_at(active, now(), SILENT_STUDENT)
        .motsu_unwrap();
    escrow.sender(p.student).stop(by_student).motsu_unwrap();
    escrow.sender(p.tutor).stop(by_tutor).motsu_unwrap();
    assert_eq!(balance(&token, escrow.address()), 0);

    escrow.sender(p.admin).set_paused(false).motsu_unwrap();
    open(&escrow, &token, &p);
}

#[motsu::test]
fn withdraw_never_pays_for_time_a_relayer_stop_can_take_back(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open_and_start(&escrow, &token, &p);
    let start = now();
    clock::advance(200);
    let last_seen = now() - u64::from(MAX_BACKDATE); // the student went silent
                                                     // The tutor withdraws during the detection window: only up to now − 60 s is paid.
    assert_eq!(
        escrow.sender(p.tutor).withdraw(id).motsu_unwrap(),
        u(1_365_000)
    );
    escrow
        .sender(p.relayer)
        .stop_at(id, last_seen, SILENT_STUDENT)
        .motsu_unwrap();
    let billed = u128::from(last_seen - start) * RATE_PER_SEC;
    escrow.assert_emitted(&SessionEnded {
        id,
        by: p.relayer,
        end: last_seen,
        billed: u(billed),
        tutorPaid: U256::ZERO,
        fee: u(35_000),
        refund: u(DEPOSIT - billed),
    });
    assert_eq!(
        balance(&token, p.tutor) + balance(&token, p.treasury),
        billed
    );
}

#[motsu::test]
fn stop_at_cannot_reach_before_what_withdrawals_paid_out(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let id = open_and_start(&escrow, &token, &p);
    clock::advance(200);
    escrow.sender(p.tutor).withdraw(id).motsu_unwrap();
    let paid_through = now() - u64::from(MAX_BACKDATE);
    // The admin lengthens the backdate; a stop still cannot undo what was paid out.
    escrow
        .sender(p.admin)
        .set_config(p.treasury, creds.address(), FEE_BPS, START_WINDOW, 600)
        .motsu_unwrap();
    let latest = now();
    let err = escrow
        .sender(p.relayer)
        .stop_at(id, paid_through - 1, SILENT_STUDENT)
        .motsu_unwrap_err();
    assert_eq!(
        err,
        EscrowStopAtOutOfRange {
            id,
            at: paid_through - 1,
            earliest: paid_through,
            latest
        }
        .into()
    );
    escrow
        .sender(p.relayer)
        .stop_at(id, paid_through, SILENT_STUDENT)
        .motsu_unwrap();
    assert_eq!(balance(&token, escrow.address()), 0);
}
