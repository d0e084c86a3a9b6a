//! Signed heartbeats: the EIP-712 message, its domain, signing and verification.
//!
//! Domain: `{ name: "Minuto Heartbeat", version: "1", chainId, verifyingContract: escrow }`.
//! Type: `Heartbeat(uint256 session,uint8 role,uint64 seq,uint64 sentAt)`, role 0 for the
//! student and 1 for the tutor.

use std::fmt;
use std::str::FromStr;

use alloy_primitives::{keccak256, Address, Signature, B256, U256};
use alloy_sol_types::SolStruct;
use k256::ecdsa::SigningKey;
use serde::{Deserialize, Serialize};

pub use minuto_chain::eip712::Heartbeat;

/// Which party of a session a heartbeat speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The paying party (EIP-712 `role = 0`).
    Student = 0,
    /// The paid party (EIP-712 `role = 1`).
    Tutor = 1,
}

impl Role {
    /// Both roles, student first.
    pub const ALL: [Role; 2] = [Role::Student, Role::Tutor];

    /// The `uint8` in the signed message; also an index into per-role arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The role's name on the wire.
    pub fn as_str(self) -> &'static str {
        ["student", "tutor"][self.index()]
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        (Role::ALL.into_iter().find(|r| r.as_str() == s)).ok_or(format!("unknown role {s:?}"))
    }
}

/// Computes signing hashes for one domain (its separator is hashed once).
#[derive(Clone, Copy, Debug)]
pub struct HeartbeatDomain {
    separator: B256,
}

impl HeartbeatDomain {
    /// The domain bound to `chain_id` and the escrow at `escrow`.
    pub fn new(chain_id: u64, escrow: Address) -> Self {
        Self {
            separator: minuto_chain::eip712::heartbeat_domain(chain_id, escrow).separator(),
        }
    }

    /// `keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(heartbeat))`.
    pub fn signing_hash(&self, session: U256, role: Role, seq: u64, sent_at: u64) -> B256 {
        let message = Heartbeat {
            session,
            role: role.index() as u8,
            seq,
            sentAt: sent_at,
        };
        let mut buf = [0u8; 66];
        buf[0] = 0x19;
        buf[1] = 0x01;
        buf[2..34].copy_from_slice(self.separator.as_slice());
        buf[34..66].copy_from_slice(message.eip712_hash_struct().as_slice());
        keccak256(buf)
    }

    /// Signs a heartbeat with a session key; returns the 65-byte `r ‖ s ‖ v` signature
    /// (v = 27 or 28).
    pub fn sign(&self, key: &SigningKey, session: U256, role: Role, seq: u64, at: u64) -> [u8; 65] {
        sign_hash(key, self.signing_hash(session, role, seq, at)).as_bytes()
    }
}

/// A signature that does not recover to any key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid signature")]
pub struct InvalidSignature;

/// A signer's public key (libsecp256k1's).
pub type PublicKey = secp256k1::PublicKey;

fn recoverable(
    signature: &[u8],
) -> Result<secp256k1::ecdsa::RecoverableSignature, InvalidSignature> {
    use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
    if signature.len() != 65 {
        return Err(InvalidSignature);
    }
    let parity = match signature[64] {
        0 | 27 => 0,
        1 | 28 => 1,
        _ => return Err(InvalidSignature),
    };
    let id = RecoveryId::from_i32(parity).map_err(|_| InvalidSignature)?;
    RecoverableSignature::from_compact(&signature[..64], id).map_err(|_| InvalidSignature)
}

/// Recovers the signer of a 32-byte prehash from a 65-byte `r ‖ s ‖ v` signature
/// (v = 0, 1, 27 or 28): its address and public key. libsecp256k1 (the API's hot path);
/// signing stays on k256.
///
/// # Errors
/// [`InvalidSignature`] for a wrong length, a bad `v`, or an `r`/`s` with no key.
pub fn recover_key(signature: &[u8], hash: B256) -> Result<(Address, PublicKey), InvalidSignature> {
    let message = secp256k1::Message::from_digest(hash.0);
    let key = secp256k1::SECP256K1
        .recover_ecdsa(&message, &recoverable(signature)?)
        .map_err(|_| InvalidSignature)?;
    let uncompressed = key.serialize_uncompressed();
    Ok((
        Address::from_slice(&keccak256(&uncompressed[1..])[12..]),
        key,
    ))
}

/// As [`recover_key`], the address only.
///
/// # Errors
/// As [`recover_key`].
pub fn recover_address(signature: &[u8], hash: B256) -> Result<Address, InvalidSignature> {
    recover_key(signature, hash).map(|(address, _)| address)
}

/// Whether a well-formed 65-byte signature of `hash` was made by `key`: ECDSA
/// verification, ~10 % cheaper here than recovery (no square root, no hashing of the
/// key). Either `s` is accepted, as recovery does; `v` is not consulted, `(r, s)` alone
/// prove the signer.
pub fn verify_key(signature: &[u8], hash: B256, key: &PublicKey) -> bool {
    let message = secp256k1::Message::from_digest(hash.0);
    recoverable(signature).is_ok_and(|sig| {
        let mut sig = sig.to_standard();
        sig.normalize_s();
        secp256k1::SECP256K1
            .verify_ecdsa(&message, &sig, key)
            .is_ok()
    })
}

/// Signs a 32-byte prehash with secp256k1 (recoverable).
pub fn sign_hash(key: &SigningKey, hash: B256) -> Signature {
    let (sig, recid) = key
        .sign_prehash_recoverable(hash.as_slice())
        // SAFETY of the expect: signing a 32-byte prehash with a valid key cannot fail.
        .expect("prehash signing of 32 bytes");
    Signature::from((sig, recid))
}

/// The Ethereum address of a key.
pub fn address_of(key: &SigningKey) -> Address {
    Address::from_private_key(key)
}
