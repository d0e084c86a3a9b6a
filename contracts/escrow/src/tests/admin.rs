//! Admin rules: constructor checks, the settings record, roles, and the two-step hand-over.

use super::*;

#[motsu::test]
fn constructor_rejects_zero_admin_zero_treasury_high_fee_and_bad_windows(
    escrow: Contract<SessionEscrow>,
) {
    let p = Parties::new();
    let c = Address::ZERO;
    let zero: Error = EscrowInvalidAddress {
        account: Address::ZERO,
    }
    .into();
    let e = escrow
        .sender(p.admin)
        .constructor(Address::ZERO, p.treasury, c, 0, 1, 0);
    assert_eq!(e.motsu_unwrap_err(), zero);
    let e = escrow
        .sender(p.admin)
        .constructor(p.admin, Address::ZERO, c, 0, 1, 0);
    assert_eq!(e.motsu_unwrap_err(), zero);
    let e = escrow
        .sender(p.admin)
        .constructor(p.admin, p.treasury, c, 1_001, 1, 0);
    assert_eq!(
        e.motsu_unwrap_err(),
        EscrowFeeTooHigh {
            feeBps: 1_001,
            maxFeeBps: 1_000
        }
        .into()
    );
    let e = escrow
        .sender(p.admin)
        .constructor(p.admin, p.treasury, c, 0, 0, 0);
    assert_eq!(
        e.motsu_unwrap_err(),
        EscrowInvalidWindows {
            startWindow: 0,
            maxBackdate: 0
        }
        .into()
    );
    let e = escrow
        .sender(p.admin)
        .constructor(p.admin, p.treasury, c, 0, 1, 3_601);
    assert_eq!(
        e.motsu_unwrap_err(),
        EscrowInvalidWindows {
            startWindow: 1,
            maxBackdate: 3_601
        }
        .into()
    );
    escrow
        .sender(p.admin)
        .constructor(p.admin, p.treasury, c, 1_000, 1, 3_600)
        .motsu_unwrap();
    escrow.assert_emitted(&AdminTransferred {
        previousAdmin: Address::ZERO,
        admin: p.admin,
    });
    escrow.assert_emitted(&ConfigUpdated {
        treasury: p.treasury,
        credentials: c,
        feeBps: 1_000,
        startWindow: 1,
        maxBackdate: 3_600,
    });
    assert_eq!(
        escrow.sender(p.admin).config(),
        (
            p.admin,
            Address::ZERO,
            p.treasury,
            c,
            1_000,
            1,
            3_600,
            false,
            0
        )
    );
}

#[motsu::test]
fn admin_calls_reject_everyone_else(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, 0);
    for caller in [p.student, p.tutor, p.relayer, p.treasury] {
        let not_admin: Error = EscrowNotAdmin { caller }.into();
        let e = escrow.sender(caller).set_config(caller, caller, 0, 1, 30);
        assert_eq!(e.motsu_unwrap_err(), not_admin);
        let e = escrow
            .sender(caller)
            .set_token_allowed(token.address(), false);
        assert_eq!(e.motsu_unwrap_err(), not_admin);
        let e = escrow.sender(caller).set_relayer(caller, true);
        assert_eq!(e.motsu_unwrap_err(), not_admin);
        let e = escrow.sender(caller).set_paused(true);
        assert_eq!(e.motsu_unwrap_err(), not_admin);
        let e = escrow.sender(caller).transfer_admin(caller);
        assert_eq!(e.motsu_unwrap_err(), not_admin);
        let e = escrow.sender(caller).accept_admin();
        assert_eq!(e.motsu_unwrap_err(), not_admin);
    }
    assert!(escrow.sender(p.admin).token_allowed(token.address()));
    assert!(!escrow.sender(p.admin).is_relayer(p.student));
}

#[motsu::test]
fn set_config_validates_and_applies_the_fee_to_new_sessions_only(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, 100_000_000);
    let old = open_and_start(&escrow, &token, &p);
    let c = creds.address();
    let e = escrow.sender(p.admin).set_config(Address::ZERO, c, 0, 1, 0);
    assert_eq!(
        e.motsu_unwrap_err(),
        EscrowInvalidAddress {
            account: Address::ZERO
        }
        .into()
    );
    let e = escrow
        .sender(p.admin)
        .set_config(p.treasury, c, 1_001, 1, 0);
    assert_eq!(
        e.motsu_unwrap_err(),
        EscrowFeeTooHigh {
            feeBps: 1_001,
            maxFeeBps: 1_000
        }
        .into()
    );
    escrow
        .sender(p.admin)
        .set_config(p.treasury, c, 1_000, 900, 30)
        .motsu_unwrap();
    escrow.assert_emitted(&ConfigUpdated {
        treasury: p.treasury,
        credentials: c,
        feeBps: 1_000,
        startWindow: 900,
        maxBackdate: 30,
    });
    assert_eq!(escrow.sender(p.relayer).max_backdate(), 30);
    let new = open_and_start(&escrow, &token, &p);
    assert_eq!(
        escrow.sender(p.admin).session(old).motsu_unwrap().feeBps,
        FEE_BPS
    );
    assert_eq!(
        escrow.sender(p.admin).session(new).motsu_unwrap().feeBps,
        1_000
    );
    clock::advance(100);
    escrow.sender(p.student).stop(old).motsu_unwrap();
    escrow.sender(p.student).stop(new).motsu_unwrap();
    // 1,000,000 billed each: 2.5 % on the old one, 10 % on the new one.
    assert_eq!(balance(&token, p.treasury), 25_000 + 100_000);
}

#[motsu::test]
fn set_token_allowed_rejects_an_address_without_code(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, 0);
    let eoa = Address::random();
    let e = escrow.sender(p.admin).set_token_allowed(eoa, true);
    assert_eq!(
        e.motsu_unwrap_err(),
        EscrowInvalidAddress { account: eoa }.into()
    );
    assert!(!escrow.sender(p.admin).token_allowed(eoa));
    // Disallowing needs no code check.
    escrow
        .sender(p.admin)
        .set_token_allowed(eoa, false)
        .motsu_unwrap();
}

#[motsu::test]
fn set_relayer_rejects_the_zero_address(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, 0);
    let e = escrow.sender(p.admin).set_relayer(Address::ZERO, true);
    assert_eq!(
        e.motsu_unwrap_err(),
        EscrowInvalidAddress {
            account: Address::ZERO
        }
        .into()
    );
    let e = escrow
        .sender(p.admin)
        .set_token_allowed(Address::ZERO, true);
    assert_eq!(
        e.motsu_unwrap_err(),
        EscrowInvalidAddress {
            account: Address::ZERO
        }
        .into()
    );
}

#[motsu::test]
fn admin_hand_over_takes_two_steps(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, 0);
    let dao = Address::random();
    escrow.sender(p.admin).transfer_admin(dao).motsu_unwrap();
    escrow.assert_emitted(&AdminTransferStarted {
        admin: p.admin,
        pendingAdmin: dao,
    });
    // Until accepted, the old admin still rules and the new one does not.
    let e = escrow.sender(dao).set_paused(true);
    assert_eq!(e.motsu_unwrap_err(), EscrowNotAdmin { caller: dao }.into());
    let e = escrow.sender(p.student).accept_admin();
    assert_eq!(
        e.motsu_unwrap_err(),
        EscrowNotAdmin { caller: p.student }.into()
    );
    escrow.sender(dao).accept_admin().motsu_unwrap();
    escrow.assert_emitted(&AdminTransferred {
        previousAdmin: p.admin,
        admin: dao,
    });
    let e = escrow.sender(p.admin).set_paused(true);
    assert_eq!(
        e.motsu_unwrap_err(),
        EscrowNotAdmin { caller: p.admin }.into()
    );
    escrow.sender(dao).set_paused(true).motsu_unwrap();
    let cfg = escrow.sender(dao).config();
    assert_eq!((cfg.0, cfg.1, cfg.7), (dao, Address::ZERO, true));
}
