//! EIP-1559 transactions: encoding, signing and hashing (EIP-2718 type 2).

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_rlp::{Encodable, Header};
use k256::ecdsa::SigningKey;

use crate::heartbeat::sign_hash;

/// An unsigned EIP-1559 call with an empty access list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eip1559Tx {
    /// Chain id.
    pub chain_id: u64,
    /// Sender nonce.
    pub nonce: u64,
    /// Tip per gas.
    pub max_priority_fee_per_gas: u128,
    /// Fee cap per gas.
    pub max_fee_per_gas: u128,
    /// Gas limit.
    pub gas_limit: u64,
    /// Target.
    pub to: Address,
    /// Value sent.
    pub value: U256,
    /// Calldata.
    pub input: Bytes,
}

impl Eip1559Tx {
    fn fields(&self, out: &mut Vec<u8>) {
        self.chain_id.encode(out);
        self.nonce.encode(out);
        self.max_priority_fee_per_gas.encode(out);
        self.max_fee_per_gas.encode(out);
        self.gas_limit.encode(out);
        self.to.encode(out);
        self.value.encode(out);
        self.input.encode(out);
        // Empty access list.
        Header {
            list: true,
            payload_length: 0,
        }
        .encode(out);
    }

    fn typed(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(payload.len() + 4);
        out.push(0x02);
        Header {
            list: true,
            payload_length: payload.len(),
        }
        .encode(&mut out);
        out.extend_from_slice(payload);
        out
    }

    /// The hash the sender signs: `keccak256(0x02 ‖ rlp([fields…]))`.
    pub fn signing_hash(&self) -> B256 {
        let mut payload = Vec::new();
        self.fields(&mut payload);
        keccak256(Self::typed(&payload))
    }

    /// Signs the transaction; returns the raw bytes for `eth_sendRawTransaction` and the
    /// transaction hash.
    pub fn sign(&self, key: &SigningKey) -> (Bytes, B256) {
        let sig = sign_hash(key, self.signing_hash());
        let mut payload = Vec::new();
        self.fields(&mut payload);
        sig.v().encode(&mut payload);
        sig.r().encode(&mut payload);
        sig.s().encode(&mut payload);
        let raw = Self::typed(&payload);
        let hash = keccak256(&raw);
        (raw.into(), hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{hex, Signature};

    #[test]
    fn signed_tx_recovers_to_sender_and_hash_covers_signature() {
        let key = SigningKey::from_slice(&[3u8; 32]).unwrap();
        let tx = Eip1559Tx {
            chain_id: 31337,
            nonce: 7,
            max_priority_fee_per_gas: 1_000_000_000,
            max_fee_per_gas: 3_000_000_000,
            gas_limit: 100_000,
            to: Address::repeat_byte(0x55),
            value: U256::ZERO,
            input: Bytes::from(hex!("deadbeef")),
        };
        let (raw, hash) = tx.sign(&key);
        assert_eq!(raw[0], 0x02);
        assert_eq!(hash, keccak256(&raw));
        // The last 67 bytes are 0x01|0x80 (v), 0xa0 ‖ r (33), 0xa0 ‖ s (33).
        let n = raw.len();
        let r = U256::from_be_slice(&raw[n - 65..n - 33]);
        let s = U256::from_be_slice(&raw[n - 32..]);
        let v = raw[n - 67] == 0x01;
        let sig = Signature::new(r, s, v);
        let who = sig
            .recover_address_from_prehash(&tx.signing_hash())
            .unwrap();
        assert_eq!(who, Address::from_private_key(&key));
    }
}
