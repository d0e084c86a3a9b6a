//! The EIP-712 messages of Minuto, as `sol!` structs with their domains.
//!
//! - [`Heartbeat`]: a party's liveness ping to the relayer, signed by its session key
//!   under [`heartbeat_domain`] (`"Minuto Heartbeat"`, bound to chain and escrow).
//! - [`Acceptance`]: a tutor's offer the student redeems with `openAccepted`, signed by
//!   the tutor under [`acceptance_domain`] (`"Minuto SessionEscrow"`, the escrow's own).
//!
//! ```
//! use alloy::primitives::{Address, B256, U256};
//! use alloy::sol_types::SolStruct;
//! use minuto_chain::eip712::{heartbeat_domain, Heartbeat};
//!
//! let ping = Heartbeat { session: U256::from(1), role: 0, seq: 42, sentAt: 1_767_225_600 };
//! let digest = ping.eip712_signing_hash(&heartbeat_domain(31337, Address::repeat_byte(0xee)));
//! assert_ne!(digest, B256::ZERO);
//! ```

use alloy::primitives::Address;
use alloy::sol;
use alloy::sol_types::{eip712_domain, Eip712Domain};

sol! {
    /// A signed heartbeat; `role` 0 is the student, 1 the tutor.
    #[derive(Debug, PartialEq, Eq)]
    struct Heartbeat {
        uint256 session;
        uint8 role;
        uint64 seq;
        uint64 sentAt;
    }

    /// A tutor's signed acceptance of a session proposal (`openAccepted`). The tutor binds
    /// the student, token, rate, the key that will sign the tutor's heartbeats and the
    /// highest protocol fee accepted; the student picks the deposit.
    #[derive(Debug, PartialEq, Eq)]
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

/// The domain heartbeats are signed under: `{ name: "Minuto Heartbeat", version: "1",
/// chainId, verifyingContract: escrow }`.
pub fn heartbeat_domain(chain_id: u64, escrow: Address) -> Eip712Domain {
    eip712_domain! {
        name: "Minuto Heartbeat",
        version: "1",
        chain_id: chain_id,
        verifying_contract: escrow,
    }
}

/// The escrow's own domain, which acceptances are signed under: `{ name: "Minuto
/// SessionEscrow", version: "1", chainId, verifyingContract: escrow }`.
pub fn acceptance_domain(chain_id: u64, escrow: Address) -> Eip712Domain {
    eip712_domain! {
        name: "Minuto SessionEscrow",
        version: "1",
        chain_id: chain_id,
        verifying_contract: escrow,
    }
}

#[cfg(test)]
mod tests {
    use alloy::sol_types::SolStruct;

    use super::*;

    /// The type strings are the contract's (`contracts/escrow/src/eip712.rs`, whose unit
    /// test checks its constant hashes against these very strings) and the relayer
    /// README's, byte for byte.
    #[test]
    fn type_strings_match_the_escrow_and_the_readme() {
        let escrow = include_str!("../../contracts/escrow/src/eip712.rs");
        assert!(escrow.contains(&format!("\"{}\"", Acceptance::eip712_encode_type())));
        assert!(escrow.contains("keccak256(\"Minuto SessionEscrow\")"));
        assert!(escrow.contains("keccak256(\"1\")"));
        assert_eq!(
            Heartbeat::eip712_encode_type(),
            "Heartbeat(uint256 session,uint8 role,uint64 seq,uint64 sentAt)"
        );
    }
}
