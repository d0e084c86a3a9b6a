//! The deployed program's hand-written router (`dispatch`), driven with alloy's encoding
//! of `abi/ISessionEscrow.sol`: every function decodes its arguments, runs, and encodes
//! its result or typed error as the interface says.

use super::*;
use alloy_sol_types::{sol, SolCall};

mod abi {
    super::sol!(
        #![sol(all_derives)]
        "../../abi/ISessionEscrow.sol"
    );
}
use abi::ISessionEscrow as I;
use minuto_test_support::{call, call_with_value, reverted, Dispatch};

impl Dispatch for SessionEscrow {
    fn dispatch(&mut self, input: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
        SessionEscrow::dispatch(self, input)
    }
}

#[motsu::test]
fn dispatch_routes_every_function_as_the_interface_declares(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    // Constructor through the router, then once more: refused.
    let ctor = |escrow: &Contract<SessionEscrow>| {
        let mut data = stylus_sdk::abi::CONSTRUCTOR_SELECTOR.to_be_bytes().to_vec();
        for w in [
            p.admin.into_word(),
            p.treasury.into_word(),
            creds.address().into_word(),
            U256::from(FEE_BPS).into(),
            U256::from(START_WINDOW).into(),
            U256::from(MAX_BACKDATE).into(),
        ] {
            data.extend_from_slice(w.as_slice());
        }
        escrow.sender(p.admin).dispatch(&data)
    };
    assert_eq!(ctor(&escrow), Ok(Vec::new()));
    assert_eq!(ctor(&escrow), Err(Vec::new()));

    call(
        &escrow,
        p.admin,
        I::setTokenAllowedCall {
            token: token.address(),
            allowed: true,
        },
    )
    .unwrap();
    call(
        &escrow,
        p.admin,
        I::setRelayerCall {
            relayer: p.relayer,
            allowed: true,
        },
    )
    .unwrap();
    token
        .sender(p.admin)
        .mint(p.student, u(DEPOSIT * 3))
        .motsu_unwrap();
    token
        .sender(p.student)
        .approve(escrow.address(), U256::MAX)
        .motsu_unwrap();
    let cfg = call(&escrow, p.student, I::configCall {}).unwrap();
    assert_eq!(
        (cfg._0, cfg._2, cfg._3, cfg._4, cfg._5, cfg._6, cfg._7, cfg._8),
        (
            p.admin,
            p.treasury,
            creds.address(),
            FEE_BPS,
            START_WINDOW,
            MAX_BACKDATE,
            false,
            0
        )
    );
    assert_eq!(
        call(&escrow, p.student, I::maxBackdateCall {}).unwrap()._0,
        MAX_BACKDATE
    );
    assert!(
        call(
            &escrow,
            p.student,
            I::tokenAllowedCall {
                token: token.address()
            }
        )
        .unwrap()
        ._0
    );
    assert!(
        call(&escrow, p.student, I::isRelayerCall { account: p.relayer })
            .unwrap()
            ._0
    );

    let open = I::openCall {
        tutor: p.tutor,
        token: token.address(),
        rate: u(RATE),
        deposit: u(DEPOSIT),
        student_key: p.student_key,
        credential_kind: 0,
    };
    let id = call(&escrow, p.student, open.clone()).unwrap()._0;
    assert_eq!(id, U256::from(1));
    assert_eq!(
        call(&escrow, p.student, I::runwayCall { id }).unwrap()._0,
        1_000
    );
    call(
        &escrow,
        p.student,
        I::topUpCall {
            id,
            amount: u(DEPOSIT),
        },
    )
    .unwrap();
    call(
        &escrow,
        p.tutor,
        I::startCall {
            id,
            tutor_key: p.tutor_key,
        },
    )
    .unwrap();
    clock::advance(100);
    assert_eq!(
        call(&escrow, p.student, I::billedCall { id }).unwrap()._0,
        u(1_000_000)
    );
    assert_eq!(
        call(&escrow, p.student, I::withdrawableCall { id })
            .unwrap()
            ._0,
        u(390_000)
    );
    assert_eq!(
        call(&escrow, p.tutor, I::withdrawCall { id }).unwrap()._0,
        u(390_000)
    );
    let at = now() - 10;
    call(
        &escrow,
        p.relayer,
        I::stopAtCall {
            id,
            at,
            silent: SILENT_TUTOR,
        },
    )
    .unwrap();
    let view = call(&escrow, p.student, I::sessionCall { id }).unwrap()._0;
    assert_eq!(
        (
            view.student,
            view.tutor,
            view.token,
            view.rate,
            view.deposited,
            view.withdrawn
        ),
        (
            p.student,
            p.tutor,
            token.address(),
            u(RATE),
            u(2 * DEPOSIT),
            u(390_000)
        )
    );
    assert_eq!(
        (
            view.start,
            view.end,
            view.feeBps,
            view.credentialKind,
            view.state
        ),
        (at - 90, at, FEE_BPS, 0, State::Ended as u8)
    );

    // The booking contract's path: registered by the admin, it opens a session for the
    // student and pays the deposit.
    let booking = Address::repeat_byte(0xb0);
    let open_for = I::openForCall {
        student: p.student,
        tutor: p.tutor,
        token: token.address(),
        rate: u(RATE),
        deposit: u(DEPOSIT),
        student_key: p.student_key,
        credential_kind: 0,
        min_start_window: 7_200,
        min_billed: 300,
    };
    assert_eq!(
        reverted(call(&escrow, booking, open_for.clone())),
        Vec::<u8>::from(Error::from(EscrowNotBooking { caller: booking }))
    );
    call(&escrow, p.admin, I::setBookingCall { booking }).unwrap();
    assert_eq!(
        call(&escrow, p.student, I::bookingCall {}).unwrap()._0,
        booking
    );
    token
        .sender(p.admin)
        .mint(booking, u(DEPOSIT))
        .motsu_unwrap();
    token
        .sender(booking)
        .approve(escrow.address(), U256::MAX)
        .motsu_unwrap();
    let booked = call(&escrow, booking, open_for.clone()).unwrap()._0;
    let view = call(&escrow, p.tutor, I::sessionCall { id: booked })
        .unwrap()
        ._0;
    assert_eq!(
        (booked, view.student, view.deposited, view.state),
        (id + u(1), p.student, u(DEPOSIT), State::Open as u8)
    );
    // The asked start window, longer than the configured one, holds.
    assert_eq!(
        reverted(call(&escrow, p.student, I::cancelCall { id: booked })),
        Vec::<u8>::from(Error::from(EscrowStartWindowOpen {
            id: booked,
            deadline: now() + 7_200
        }))
    );
    assert_eq!(balance(&token, booking), 0);
    // Its minimum time (300 s) and the relayer's `silent` (the student) come through: stopped
    // for the student's silence 2 s in, it bills 300 s.
    let start = |id| {
        let tutor_key = p.tutor_key;
        call(&escrow, p.tutor, I::startCall { id, tutor_key }).unwrap();
    };
    start(booked);
    clock::advance(2);
    let stop = I::stopAtCall {
        id: booked,
        at: now(),
        silent: SILENT_STUDENT,
    };
    call(&escrow, p.relayer, stop).unwrap();
    assert_eq!(
        call(&escrow, p.student, I::billedCall { id: booked })
            .unwrap()
            ._0,
        u(3_000_000)
    );
    let ended_by_tutor = |id| {
        call(&escrow, p.stranger(), I::endedByTutorCall { id })
            .unwrap()
            ._0
    };
    assert!(!ended_by_tutor(booked));
    // Another, stopped by its tutor at once: marked for the booking contract.
    token
        .sender(p.admin)
        .mint(booking, u(DEPOSIT))
        .motsu_unwrap();
    let booked = call(&escrow, booking, open_for).unwrap()._0;
    start(booked);
    call(&escrow, p.tutor, I::stopCall { id: booked }).unwrap();
    assert!(ended_by_tutor(booked));

    // A typed error comes back as its ABI encoding.
    let id2 = call(&escrow, p.student, open).unwrap()._0;
    let err = reverted(call(&escrow, p.relayer, I::stopCall { id: id2 }));
    assert_eq!(err, Vec::<u8>::from(invalid_state(id2, State::Open)));
    reverted(call(&escrow, p.stranger(), I::cancelCall { id: id2 }));
    call(&escrow, p.student, I::cancelCall { id: id2 }).unwrap();
    assert_eq!(
        call(
            &escrow,
            p.student,
            I::claimableCall {
                token: token.address(),
                account: p.student
            }
        )
        .unwrap()
        ._0,
        U256::ZERO
    );
    let err = call(
        &escrow,
        p.student,
        I::claimCall {
            token: token.address(),
            to: p.student,
        },
    )
    .unwrap_err();
    assert_eq!(
        err,
        Vec::<u8>::from(Error::from(EscrowNothingToClaim {
            token: token.address(),
            account: p.student
        }))
    );
    call(&escrow, p.tutor, I::cancelAcceptanceCall { nonce: u(5) }).unwrap();
    assert!(
        call(
            &escrow,
            p.student,
            I::nonceUsedCall {
                tutor: p.tutor,
                nonce: u(5)
            }
        )
        .unwrap()
        ._0
    );
    call(&escrow, p.admin, I::setPausedCall { paused: true }).unwrap();
    call(
        &escrow,
        p.admin,
        I::setConfigCall {
            treasury: p.treasury,
            credentials: creds.address(),
            fee_bps: 0,
            start_window: 1,
            max_backdate: 30,
        },
    )
    .unwrap();
    call(
        &escrow,
        p.admin,
        I::transferAdminCall { new_admin: p.tutor },
    )
    .unwrap();
    call(&escrow, p.tutor, I::acceptAdminCall {}).unwrap();
    assert_eq!(
        call(&escrow, p.student, I::configCall {}).unwrap()._0,
        p.tutor
    );
    // openAccepted's dynamic `bytes`: a bad signature reaches the signature check.
    let err = call(
        &escrow,
        p.student,
        I::openAcceptedCall {
            tutor: p.tutor,
            token: token.address(),
            rate: u(RATE),
            deposit: u(DEPOSIT),
            student_key: p.student_key,
            credential_kind: 0,
            tutor_key: p.tutor_key,
            max_fee_bps: 0,
            nonce: u(1),
            expiry: now() + 1,
            signature: vec![7u8; 65].into(),
        },
    )
    .unwrap_err();
    assert_eq!(
        err,
        Vec::<u8>::from(Error::from(EscrowInvalidSignature { tutor: p.tutor }))
    );
}

#[motsu::test]
fn dispatch_rejects_attached_value(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    // Audit L2: no function is payable (the escrow moves ERC-20s only); value sent
    // along would be stuck.
    let p = Parties::new();
    let one = U256::from(1);
    escrow
        .sender(p.admin)
        .constructor(
            p.admin,
            p.treasury,
            creds.address(),
            FEE_BPS,
            START_WINDOW,
            MAX_BACKDATE,
        )
        .motsu_unwrap();
    escrow
        .sender(p.admin)
        .set_token_allowed(token.address(), true)
        .motsu_unwrap();
    assert_eq!(
        call_with_value(&escrow, p.admin, one, I::setPausedCall { paused: true }),
        Err(Vec::new())
    );
    assert_eq!(
        call_with_value(&escrow, p.stranger(), one, I::configCall {}),
        Err(Vec::new())
    );
    let open = I::openCall {
        tutor: p.tutor,
        token: token.address(),
        rate: u(RATE),
        deposit: u(DEPOSIT),
        student_key: p.student_key,
        credential_kind: 0,
    };
    assert_eq!(
        call_with_value(&escrow, p.student, one, open.clone()),
        Err(Vec::new())
    );
    // Nothing happened: not paused, no session opened.
    let config = call(&escrow, p.stranger(), I::configCall {}).unwrap();
    assert!(!config._7);
    assert_eq!(config._8, 0);
    call(&escrow, p.admin, I::setPausedCall { paused: true }).unwrap();
}

#[motsu::test]
fn dispatch_reverts_empty_on_unknown_selectors_and_malformed_arguments(
    escrow: Contract<SessionEscrow>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    escrow
        .sender(p.admin)
        .constructor(
            p.admin,
            p.treasury,
            creds.address(),
            FEE_BPS,
            START_WINDOW,
            MAX_BACKDATE,
        )
        .motsu_unwrap();
    let d = |data: &[u8]| escrow.sender(p.admin).dispatch(data);
    assert_eq!(d(&[]), Err(Vec::new()));
    assert_eq!(d(&[1, 2, 3]), Err(Vec::new()));
    assert_eq!(d(&[0xde, 0xad, 0xbe, 0xef]), Err(Vec::new()));
    // Too short, and an address with its high bytes set.
    let mut data = I::isRelayerCall { account: p.relayer }.abi_encode();
    assert_eq!(d(&data[..data.len() - 1]), Err(Vec::new()));
    data[4] = 1;
    assert_eq!(d(&data), Err(Vec::new()));
    // A bool that is neither 0 nor 1.
    let mut data = I::setPausedCall { paused: true }.abi_encode();
    data[35] = 2;
    assert_eq!(d(&data), Err(Vec::new()));
    // A `silent` other than 0, 1 or 2 (before any check of the caller or the session).
    let mut data = I::stopAtCall {
        id: u(1),
        at: 1,
        silent: SILENT_TUTOR,
    }
    .abi_encode();
    for silent in [3, 255] {
        data[4 + 32 * 3 - 1] = silent;
        assert_eq!(d(&data), Err(Vec::new()), "silent {silent}");
    }
    // A `bytes` offset pointing past the end.
    let mut data = I::openAcceptedCall {
        tutor: p.tutor,
        token: p.tutor,
        rate: u(RATE),
        deposit: u(DEPOSIT),
        student_key: p.student_key,
        credential_kind: 0,
        tutor_key: p.tutor_key,
        max_fee_bps: 0,
        nonce: u(1),
        expiry: 1,
        signature: vec![7u8; 65].into(),
    }
    .abi_encode();
    data[4 + 32 * 10 + 30] = 0xff;
    assert_eq!(d(&data), Err(Vec::new()));
}
