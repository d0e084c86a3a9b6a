//! EIP-712 hashing of the tutor's signed acceptance, bound to this chain and contract.

use alloy_primitives::{keccak256, Address, B256, U256};
use stylus_sdk::{block, contract};

/// `keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")`
const DOMAIN_TYPEHASH: &[u8] =
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
/// The signed type. The tutor binds the student, token, rate and the key that will sign
/// the tutor's heartbeats; the student picks the deposit.
pub(crate) const ACCEPTANCE_TYPE: &[u8] =
    b"Acceptance(address student,address token,uint256 rate,address tutorKey,uint256 nonce,uint64 expiry)";
/// The domain's name.
pub(crate) const NAME: &[u8] = b"Minuto SessionEscrow";
/// The domain's version.
pub(crate) const VERSION: &[u8] = b"1";

fn address_word(a: Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a.as_slice());
    w
}

fn hash_words(words: &[[u8; 32]]) -> B256 {
    let mut buf = alloc::vec::Vec::with_capacity(words.len() * 32);
    for w in words {
        buf.extend_from_slice(w);
    }
    keccak256(&buf)
}

/// The domain separator for this chain and this contract.
pub(crate) fn domain_separator() -> B256 {
    hash_words(&[
        keccak256(DOMAIN_TYPEHASH).0,
        keccak256(NAME).0,
        keccak256(VERSION).0,
        U256::from(block::chainid()).to_be_bytes(),
        address_word(contract::address()),
    ])
}

/// The digest a tutor signs to accept a session proposal.
pub(crate) fn acceptance_digest(
    student: Address,
    token: Address,
    rate: U256,
    tutor_key: Address,
    nonce: U256,
    expiry: u64,
) -> B256 {
    let struct_hash = hash_words(&[
        keccak256(ACCEPTANCE_TYPE).0,
        address_word(student),
        address_word(token),
        rate.to_be_bytes(),
        address_word(tutor_key),
        nonce.to_be_bytes(),
        U256::from(expiry).to_be_bytes(),
    ]);
    let mut buf = [0u8; 66];
    buf[0] = 0x19;
    buf[1] = 0x01;
    buf[2..34].copy_from_slice(domain_separator().as_slice());
    buf[34..].copy_from_slice(struct_hash.as_slice());
    keccak256(buf)
}
