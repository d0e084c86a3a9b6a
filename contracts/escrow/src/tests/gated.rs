//! Credential-gated sessions against the real `minuto-credentials` contract.

use super::*;
use minuto_credentials::{Credentials, ISSUER_ROLE};
use openzeppelin_stylus::access::control::IAccessControl;

const KIND: u32 = 7; // e.g. "certified native Spanish speaker, C2"

fn deploy(
    escrow: &Contract<SessionEscrow>,
    token: &Contract<TestToken>,
    creds: &Contract<Credentials>,
    p: &Parties,
) {
    creds.sender(p.admin).constructor(p.admin).motsu_unwrap();
    creds
        .sender(p.admin)
        .grant_role(ISSUER_ROLE.into(), p.admin)
        .motsu_unwrap();
    setup(escrow, token, creds.address(), p, DEPOSIT);
}

#[motsu::test]
fn gated_start_needs_a_valid_credential_from_the_credentials_contract(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<Credentials>,
) {
    let p = Parties::new();
    deploy(&escrow, &token, &creds, &p);
    let id = escrow
        .sender(p.student)
        .open(
            p.tutor,
            token.address(),
            u(RATE),
            u(DEPOSIT),
            p.student_key,
            KIND,
        )
        .motsu_unwrap();
    let refused: Error = EscrowCredentialRequired {
        id,
        tutor: p.tutor,
        kind: KIND,
    }
    .into();
    assert_eq!(
        escrow
            .sender(p.tutor)
            .start(id, p.tutor_key)
            .motsu_unwrap_err(),
        refused
    );

    // A revoked credential does not count.
    let now = now();
    let old = creds
        .sender(p.admin)
        .issue(p.tutor, KIND, now + 1, "ipfs://old".into())
        .motsu_unwrap();
    assert!(creds.sender(p.tutor).has_valid(p.tutor, KIND));
    creds.sender(p.admin).revoke(old).motsu_unwrap();
    assert_eq!(
        escrow
            .sender(p.tutor)
            .start(id, p.tutor_key)
            .motsu_unwrap_err(),
        refused
    );

    creds
        .sender(p.admin)
        .issue(p.tutor, KIND, 0, "ipfs://cred".into())
        .motsu_unwrap();
    escrow.sender(p.tutor).start(id, p.tutor_key).motsu_unwrap();
    assert_eq!(state_of(&escrow, id), State::Active as u8);
}

#[motsu::test]
fn gated_start_refuses_a_credential_of_another_kind_or_holder(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<Credentials>,
) {
    let p = Parties::new();
    deploy(&escrow, &token, &creds, &p);
    creds
        .sender(p.admin)
        .issue(p.tutor, KIND + 1, 0, "ipfs://other-kind".into())
        .motsu_unwrap();
    creds
        .sender(p.admin)
        .issue(p.student, KIND, 0, "ipfs://other-holder".into())
        .motsu_unwrap();
    let id = escrow
        .sender(p.student)
        .open(
            p.tutor,
            token.address(),
            u(RATE),
            u(DEPOSIT),
            p.student_key,
            KIND,
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
            kind: KIND
        }
        .into()
    );
}
