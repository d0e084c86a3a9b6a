//! `openAccepted`: the tutor's EIP-712 signed acceptance makes a session Active in the
//! student's one transaction.

use super::*;
use alloy_primitives::{Bytes as AlloyBytes, B256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use stylus_sdk::alloy_sol_types::{eip712_domain, sol, SolStruct};

sol! {
    struct Acceptance {
        address student;
        address token;
        uint256 rate;
        address tutorKey;
        uint16 maxFeeBps;
        uint256 nonce;
        uint64 expiry;
    }
}

const FUNDS: u128 = 100_000_000;

/// Signs with alloy's own EIP-712 hashing, independent of the contract's.
fn sign(signer: &PrivateKeySigner, escrow: Address, a: &Acceptance) -> stylus_sdk::abi::Bytes {
    let domain = eip712_domain! {
        name: "Minuto SessionEscrow",
        version: "1",
        chain_id: 42161,
        verifying_contract: escrow,
    };
    let digest: B256 = a.eip712_signing_hash(&domain);
    let sig = signer.sign_hash_sync(&digest).unwrap();
    let bytes: AlloyBytes = sig.as_bytes().to_vec().into();
    stylus_sdk::abi::Bytes::from(bytes.to_vec())
}

struct Signed {
    tutor: PrivateKeySigner,
    acceptance: Acceptance,
}

fn signed(p: &mut Parties, token: Address, nonce: u64) -> Signed {
    let tutor = PrivateKeySigner::random();
    p.tutor = tutor.address();
    Signed {
        acceptance: Acceptance {
            student: p.student,
            token,
            rate: u(RATE),
            tutorKey: p.tutor_key,
            maxFeeBps: FEE_BPS,
            nonce: U256::from(nonce),
            expiry: now() + 300,
        },
        tutor,
    }
}

fn open_accepted(
    escrow: &Contract<SessionEscrow>,
    p: &Parties,
    a: &Acceptance,
    sig: stylus_sdk::abi::Bytes,
) -> Result<U256, Error> {
    escrow.sender(p.student).open_accepted(
        p.tutor,
        a.token,
        a.rate,
        u(DEPOSIT),
        p.student_key,
        0,
        a.tutorKey,
        a.maxFeeBps,
        a.nonce,
        a.expiry,
        sig,
    )
}

#[motsu::test]
fn open_accepted_starts_the_session_in_one_transaction(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let mut p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let s = signed(&mut p, token.address(), 7);
    let sig = sign(&s.tutor, escrow.address(), &s.acceptance);
    let id = open_accepted(&escrow, &p, &s.acceptance, sig).motsu_unwrap();
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
    escrow.assert_emitted(&SessionStarted {
        id,
        tutorKey: p.tutor_key,
        start: now(),
    });
    assert_eq!(state_of(&escrow, id), State::Active as u8);
    assert!(escrow.sender(p.tutor).nonce_used(p.tutor, U256::from(7)));
    assert!(!escrow.sender(p.tutor).nonce_used(p.tutor, U256::from(8)));
    clock::advance(10);
    assert_eq!(
        escrow.sender(p.student).billed(id).motsu_unwrap(),
        u(100_000)
    );
}

#[motsu::test]
fn open_accepted_rejects_a_reused_nonce(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let mut p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let s = signed(&mut p, token.address(), 300);
    let sig = sign(&s.tutor, escrow.address(), &s.acceptance);
    open_accepted(&escrow, &p, &s.acceptance, sig.clone()).motsu_unwrap();
    let err = open_accepted(&escrow, &p, &s.acceptance, sig).motsu_unwrap_err();
    assert_eq!(
        err,
        EscrowNonceUsed {
            tutor: p.tutor,
            nonce: U256::from(300)
        }
        .into()
    );
    assert_eq!(balance(&token, p.student), FUNDS - DEPOSIT, "charged once");
}

#[motsu::test]
fn open_accepted_rejects_a_signature_for_other_terms(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let mut p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let s = signed(&mut p, token.address(), 1);
    let sig = sign(&s.tutor, escrow.address(), &s.acceptance);
    let invalid: Error = EscrowInvalidSignature { tutor: p.tutor }.into();

    // A cheaper rate than the tutor signed.
    let mut cheaper = s.acceptance.clone();
    cheaper.rate = u(RATE - 1);
    assert_eq!(
        open_accepted(&escrow, &p, &cheaper, sig.clone()).motsu_unwrap_err(),
        invalid
    );
    // Another heartbeat key than the tutor's.
    let mut other_key = s.acceptance.clone();
    other_key.tutorKey = Address::random();
    assert_eq!(
        open_accepted(&escrow, &p, &other_key, sig.clone()).motsu_unwrap_err(),
        invalid
    );
    // Another student presenting the acceptance.
    let thief = Parties {
        student: Address::random(),
        ..Parties::new()
    };
    let thief = Parties {
        tutor: p.tutor,
        ..thief
    };
    assert_eq!(
        open_accepted(&escrow, &thief, &s.acceptance, sig.clone()).motsu_unwrap_err(),
        invalid
    );
    // Signed for another escrow (another verifying contract).
    let elsewhere = sign(&s.tutor, Address::random(), &s.acceptance);
    assert_eq!(
        open_accepted(&escrow, &p, &s.acceptance, elsewhere).motsu_unwrap_err(),
        invalid
    );
    // Signed by someone else.
    let forged = sign(&PrivateKeySigner::random(), escrow.address(), &s.acceptance);
    assert_eq!(
        open_accepted(&escrow, &p, &s.acceptance, forged).motsu_unwrap_err(),
        invalid
    );
    // Malformed.
    let short = stylus_sdk::abi::Bytes::from(vec![1u8; 64]);
    assert_eq!(
        open_accepted(&escrow, &p, &s.acceptance, short).motsu_unwrap_err(),
        invalid
    );
    assert_eq!(balance(&token, p.student), FUNDS);
    // The genuine one still works: nothing above spent the nonce.
    open_accepted(&escrow, &p, &s.acceptance, sig).motsu_unwrap();
}

#[motsu::test]
fn open_accepted_rejects_an_expired_acceptance(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let mut p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let s = signed(&mut p, token.address(), 1);
    let sig = sign(&s.tutor, escrow.address(), &s.acceptance);
    clock::advance(301);
    let err = open_accepted(&escrow, &p, &s.acceptance, sig).motsu_unwrap_err();
    assert_eq!(
        err,
        EscrowAcceptanceExpired {
            expiry: s.acceptance.expiry
        }
        .into()
    );
}

#[motsu::test]
fn cancel_acceptance_voids_an_unused_signature(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let mut p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let s = signed(&mut p, token.address(), 1_000);
    let sig = sign(&s.tutor, escrow.address(), &s.acceptance);
    escrow
        .sender(p.tutor)
        .cancel_acceptance(U256::from(1_000))
        .motsu_unwrap();
    escrow.assert_emitted(&AcceptanceCancelled {
        tutor: p.tutor,
        nonce: U256::from(1_000),
    });
    let err = open_accepted(&escrow, &p, &s.acceptance, sig).motsu_unwrap_err();
    assert_eq!(
        err,
        EscrowNonceUsed {
            tutor: p.tutor,
            nonce: U256::from(1_000)
        }
        .into()
    );
}

#[motsu::test]
fn open_accepted_checks_the_required_credential(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let mut p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let s = signed(&mut p, token.address(), 1);
    let sig = sign(&s.tutor, escrow.address(), &s.acceptance);
    let a = &s.acceptance;
    let call = |sig: stylus_sdk::abi::Bytes| {
        escrow.sender(p.student).open_accepted(
            p.tutor,
            a.token,
            a.rate,
            u(DEPOSIT),
            p.student_key,
            5,
            a.tutorKey,
            a.maxFeeBps,
            a.nonce,
            a.expiry,
            sig,
        )
    };
    let err = call(sig.clone()).motsu_unwrap_err();
    assert_eq!(
        err,
        EscrowCredentialRequired {
            id: U256::from(1),
            tutor: p.tutor,
            kind: 5
        }
        .into()
    );
    creds.sender(p.admin).set_valid(p.tutor, 5, true);
    let id = call(sig).motsu_unwrap();
    assert_eq!(state_of(&escrow, id), State::Active as u8);
}

#[motsu::test]
fn open_accepted_is_blocked_by_pause(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let mut p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let s = signed(&mut p, token.address(), 1);
    let sig = sign(&s.tutor, escrow.address(), &s.acceptance);
    escrow.sender(p.admin).set_paused(true).motsu_unwrap();
    let err = open_accepted(&escrow, &p, &s.acceptance, sig).motsu_unwrap_err();
    assert_eq!(err, EscrowPaused {}.into());
    assert!(
        !escrow.sender(p.tutor).nonce_used(p.tutor, U256::from(1)),
        "nonce kept"
    );
}

#[motsu::test]
fn open_accepted_rejects_malleable_and_malformed_signatures(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let mut p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let s = signed(&mut p, token.address(), 1);
    let sig = sign(&s.tutor, escrow.address(), &s.acceptance);
    let invalid: Error = EscrowInvalidSignature { tutor: p.tutor }.into();
    // The high-s twin of a valid signature: s' = n − s, v flipped.
    let n = U256::from_be_slice(&[
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36,
        0x41, 0x41,
    ]);
    let mut twin = sig.to_vec();
    let s_low = U256::from_be_slice(&twin[32..64]);
    twin[32..64].copy_from_slice(&(n - s_low).to_be_bytes::<32>());
    twin[64] = if twin[64] == 27 { 28 } else { 27 };
    let twin = stylus_sdk::abi::Bytes::from(twin);
    assert_eq!(
        open_accepted(&escrow, &p, &s.acceptance, twin).motsu_unwrap_err(),
        invalid
    );
    // v outside {0, 1, 27, 28}.
    let mut bad_v = sig.to_vec();
    bad_v[64] = 29;
    let bad_v = stylus_sdk::abi::Bytes::from(bad_v);
    assert_eq!(
        open_accepted(&escrow, &p, &s.acceptance, bad_v).motsu_unwrap_err(),
        invalid
    );
    // v as 0/1 (as some wallets return it) is the same signature.
    let mut v01 = sig.to_vec();
    v01[64] -= 27;
    open_accepted(
        &escrow,
        &p,
        &s.acceptance,
        stylus_sdk::abi::Bytes::from(v01),
    )
    .motsu_unwrap();
}

#[motsu::test]
fn acceptance_is_bound_to_the_chain(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let mut p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let s = signed(&mut p, token.address(), 1);
    let sig = sign(&s.tutor, escrow.address(), &s.acceptance); // signed for chain 42161
    motsu::prelude::VM::context().set_chain_id(421_614);
    let err = open_accepted(&escrow, &p, &s.acceptance, sig).motsu_unwrap_err();
    assert_eq!(err, EscrowInvalidSignature { tutor: p.tutor }.into());
}

#[motsu::test]
fn open_accepted_rejects_a_fee_raised_above_the_signed_maximum(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
) {
    let mut p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    let s = signed(&mut p, token.address(), 1);
    let sig = sign(&s.tutor, escrow.address(), &s.acceptance);
    // The admin raises the fee after the tutor signed for at most FEE_BPS.
    escrow
        .sender(p.admin)
        .set_config(
            p.treasury,
            creds.address(),
            FEE_BPS + 1,
            START_WINDOW,
            MAX_BACKDATE,
        )
        .motsu_unwrap();
    let err = open_accepted(&escrow, &p, &s.acceptance, sig.clone()).motsu_unwrap_err();
    assert_eq!(
        err,
        Error::FeeTooHigh(EscrowFeeTooHigh {
            feeBps: FEE_BPS + 1,
            maxFeeBps: FEE_BPS,
        })
    );
    assert!(!escrow.sender(p.tutor).nonce_used(p.tutor, U256::from(1)));
    // Claiming a higher maximum than the tutor signed breaks the signature.
    let mut higher = s.acceptance.clone();
    higher.maxFeeBps = FEE_BPS + 1;
    assert_eq!(
        open_accepted(&escrow, &p, &higher, sig.clone()).motsu_unwrap_err(),
        Error::InvalidSignature(EscrowInvalidSignature { tutor: p.tutor })
    );
    // Back at the signed fee, the same acceptance opens the session.
    escrow
        .sender(p.admin)
        .set_config(
            p.treasury,
            creds.address(),
            FEE_BPS,
            START_WINDOW,
            MAX_BACKDATE,
        )
        .motsu_unwrap();
    let id = open_accepted(&escrow, &p, &s.acceptance, sig).motsu_unwrap();
    assert_eq!(
        escrow.sender(p.student).session(id).motsu_unwrap().feeBps,
        FEE_BPS
    );
}
