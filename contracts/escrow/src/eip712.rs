//! EIP-712 hashing of the tutor's signed acceptance, bound to this chain and contract.

use alloy_primitives::{keccak256, Address, B256, U256};
use minuto_wire::{encode, put, Word};
use stylus_sdk::{block, contract};

/// `keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")`
const DOMAIN_TYPEHASH: &[u8] =
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
/// The signed type. The tutor binds the student, token, rate, the key that will sign the
/// tutor's heartbeats and the highest protocol fee the tutor accepts; the student picks
/// the deposit.
pub(crate) const ACCEPTANCE_TYPE: &[u8] =
    b"Acceptance(address student,address token,uint256 rate,address tutorKey,uint16 maxFeeBps,uint256 nonce,uint64 expiry)";
/// The domain's name.
pub(crate) const NAME: &[u8] = b"Minuto SessionEscrow";
/// The domain's version.
pub(crate) const VERSION: &[u8] = b"1";

fn hash_words(words: &[B256]) -> B256 {
    keccak256(encode(&[], words))
}

/// The domain separator for this chain and this contract.
pub(crate) fn domain_separator() -> B256 {
    hash_words(&[
        keccak256(DOMAIN_TYPEHASH),
        keccak256(NAME),
        keccak256(VERSION),
        block::chainid().word(),
        contract::address().word(),
    ])
}

/// The digest a tutor signs to accept a session proposal.
pub(crate) fn acceptance_digest(
    student: Address,
    token: Address,
    rate: U256,
    tutor_key: Address,
    max_fee_bps: u16,
    nonce: U256,
    expiry: u64,
) -> B256 {
    let struct_hash = hash_words(&[
        keccak256(ACCEPTANCE_TYPE),
        student.word(),
        token.word(),
        rate.word(),
        tutor_key.word(),
        max_fee_bps.word(),
        nonce.word(),
        expiry.word(),
    ]);
    let mut buf = [0u8; 66];
    buf[0] = 0x19;
    buf[1] = 0x01;
    put::<2, 32, 66>(&mut buf, &domain_separator().0);
    put::<34, 32, 66>(&mut buf, &struct_hash.0);
    keccak256(buf)
}
