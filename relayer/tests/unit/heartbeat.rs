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
    let who = d
        .recover(&sig, U256::from(1), Role::Tutor, 3, 1_700_000_000)
        .unwrap();
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
        let who = dom.recover(&sig, s, r, q, t);
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
    let generic = message.eip712_signing_hash(&domain(42161, Address::repeat_byte(0x11)));
    assert_eq!(d.signing_hash(U256::from(9), Role::Tutor, 5, 77), generic);
    assert_eq!(
        Heartbeat::eip712_encode_type(),
        "Heartbeat(uint256 session,uint8 role,uint64 seq,uint64 sentAt)"
    );
}
