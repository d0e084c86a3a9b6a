//! EIP-712 hashing of the tutor's signed acceptance, bound to this chain and contract.
//!
//! The type and domain strings are fixed, so their hashes are constants: the program
//! carries four 32-byte hashes instead of the strings' 222 bytes, and an `openAccepted`
//! makes three keccak calls, not seven. `the_constant_hashes_are_the_strings_hashes`
//! below checks each against its string.

use alloy_primitives::{b256, keccak256, Address, B256, U256};
use minuto_wire::{encode, put, Word};
use stylus_sdk::{block, contract};

/// `keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")`.
const DOMAIN_TYPEHASH: B256 =
    b256!("8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f");
/// `keccak256` of the signed type, `Acceptance(address student,address token,uint256
/// rate,address tutorKey,uint16 maxFeeBps,uint256 nonce,uint64 expiry)`: the tutor binds
/// the student, token, rate, the key that will sign the tutor's heartbeats and the highest
/// protocol fee the tutor accepts; the student picks the deposit.
const ACCEPTANCE_TYPEHASH: B256 =
    b256!("fa0b97248e5d290687f9a9f7c4e384d2a06aa40551221f0dc2824a78c319abe2");
/// `keccak256` of the domain's name, `Minuto SessionEscrow`.
const NAME_HASH: B256 = b256!("7f79edfc7fd8b65921b9ed68baef719b90b08fcf56409f10afe0094d33b647b9");
/// `keccak256` of the domain's version, `1`.
const VERSION_HASH: B256 =
    b256!("c89efdaa54c0f20c7adf612882df0950f5a951637e0307cdcb4c672f298b8bc6");

fn hash_words(words: &[B256]) -> B256 {
    keccak256(encode(&[], words))
}

/// The domain separator for this chain and this contract.
pub(crate) fn domain_separator() -> B256 {
    hash_words(&[
        DOMAIN_TYPEHASH,
        NAME_HASH,
        VERSION_HASH,
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
        ACCEPTANCE_TYPEHASH,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_constant_hashes_are_the_strings_hashes() {
        let domain =
            "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
        assert_eq!(DOMAIN_TYPEHASH, keccak256(domain));
        let acceptance = "Acceptance(address student,address token,uint256 rate,address tutorKey,uint16 maxFeeBps,uint256 nonce,uint64 expiry)";
        assert_eq!(ACCEPTANCE_TYPEHASH, keccak256(acceptance));
        assert_eq!(NAME_HASH, keccak256("Minuto SessionEscrow"));
        assert_eq!(VERSION_HASH, keccak256("1"));
    }
}
