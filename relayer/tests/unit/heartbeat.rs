//! Tests of `minuto_relayer::heartbeat` through its public API.

use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_sol_types::SolStruct;
use k256::ecdsa::SigningKey;
use minuto_relayer::heartbeat::*;

fn key(byte: u8) -> SigningKey {
    SigningKey::from_slice(&[byte; 32]).unwrap()
}

#[test]
fn sign_then_recover_gives_signer() {
    let d = HeartbeatDomain::new(31337, Address::repeat_byte(0xee));
    let k = key(7);
    let sig = d.sign(&k, U256::from(1), Role::Tutor, 3, 1_700_000_000);
    let hash = d.signing_hash(U256::from(1), Role::Tutor, 3, 1_700_000_000);
    let who = recover_address(&sig, hash).unwrap();
    assert_eq!(who, address_of(&k));
}

#[test]
fn signature_is_bound_to_every_field_and_the_domain() {
    let d = HeartbeatDomain::new(31337, Address::repeat_byte(0xee));
    let k = key(7);
    let me = address_of(&k);
    let sig = d.sign(&k, U256::from(1), Role::Tutor, 3, 100);
    let other_chain = HeartbeatDomain::new(1, Address::repeat_byte(0xee));
    let other_escrow = HeartbeatDomain::new(31337, Address::repeat_byte(0xef));
    for (dom, s, r, q, t) in [
        (d, U256::from(2), Role::Tutor, 3, 100),
        (d, U256::from(1), Role::Student, 3, 100),
        (d, U256::from(1), Role::Tutor, 4, 100),
        (d, U256::from(1), Role::Tutor, 3, 101),
        (other_chain, U256::from(1), Role::Tutor, 3, 100),
        (other_escrow, U256::from(1), Role::Tutor, 3, 100),
    ] {
        let who = recover_address(&sig, dom.signing_hash(s, r, q, t));
        assert!(who.map(|a| a != me).unwrap_or(true));
    }
}

#[test]
fn libsecp_recovery_agrees_with_k256_and_accepts_both_v_forms() {
    for b in 1..=20u8 {
        let k = key(b);
        let hash = keccak256([b; 7]);
        let sig = sign_hash(&k, hash);
        let mut bytes = sig.as_bytes();
        let expected = sig.recover_address_from_prehash(&hash).unwrap();
        assert_eq!(expected, address_of(&k));
        assert_eq!(recover_address(&bytes, hash), Ok(expected));
        bytes[64] -= 27;
        assert_eq!(recover_address(&bytes, hash), Ok(expected));
        bytes[64] = 2;
        assert_eq!(recover_address(&bytes, hash), Err(InvalidSignature));
    }
    assert_eq!(
        recover_address(&[0u8; 64], B256::ZERO),
        Err(InvalidSignature)
    );
    let mut zero = [0u8; 65];
    zero[64] = 27;
    assert_eq!(recover_address(&zero, B256::ZERO), Err(InvalidSignature));
}

#[test]
fn signing_hash_matches_generic_eip712() {
    let d = HeartbeatDomain::new(42161, Address::repeat_byte(0x11));
    let message = Heartbeat {
        session: U256::from(9),
        role: 1,
        seq: 5,
        sentAt: 77,
    };
    let generic = message.eip712_signing_hash(&minuto_chain::eip712::heartbeat_domain(
        42161,
        Address::repeat_byte(0x11),
    ));
    assert_eq!(d.signing_hash(U256::from(9), Role::Tutor, 5, 77), generic);
    assert_eq!(
        Heartbeat::eip712_encode_type(),
        "Heartbeat(uint256 session,uint8 role,uint64 seq,uint64 sentAt)"
    );
}

#[test]
fn verify_key_accepts_the_recovered_key_only() {
    let (k, other) = (key(3), key(4));
    let hash = keccak256(b"heartbeat");
    let bytes = sign_hash(&k, hash).as_bytes();
    let (address, public) = recover_key(&bytes, hash).unwrap();
    assert_eq!(address, address_of(&k));
    assert!(verify_key(&bytes, hash, &public));
    // The other `s` of the same signature (n − s, parity flipped) recovers the same key,
    // and verifies too.
    let n = U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )
    .unwrap();
    let s = U256::from_be_slice(&bytes[32..64]);
    let mut high = bytes;
    high[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
    high[64] = if bytes[64] == 27 { 28 } else { 27 };
    assert_eq!(recover_key(&high, hash).unwrap().0, address);
    assert!(verify_key(&high, hash, &public));
    // Another message, another signer's signature, malformed bytes: no.
    assert!(!verify_key(&bytes, keccak256(b"other"), &public));
    let theirs = sign_hash(&other, hash).as_bytes();
    assert!(!verify_key(&theirs, hash, &public));
    let mut bad_v = bytes;
    bad_v[64] = 29;
    assert!(!verify_key(&bad_v, hash, &public));
    assert!(!verify_key(&bytes[..64], hash, &public));
}
