//! The escrow's only external calls: ERC-20 transfers, the credentials check and the
//! `ecrecover` precompile. Calldata is encoded by hand: three fixed layouts are a few
//! dozen bytes of WASM, where a generic encoder would be kilobytes.

use alloc::vec::Vec;
use alloy_primitives::{Address, B256, U256};
#[allow(deprecated)]
use stylus_sdk::call::RawCall;

/// `transfer(address,uint256)`
const TRANSFER: [u8; 4] = [0xa9, 0x05, 0x9c, 0xbb];
/// `transferFrom(address,address,uint256)`
const TRANSFER_FROM: [u8; 4] = [0x23, 0xb8, 0x72, 0xdd];
/// `hasValid(address,uint32)`, the credentials contract's check.
pub(crate) const HAS_VALID: [u8; 4] = [0x29, 0x83, 0x6f, 0x3e];
/// The `ecrecover` precompile.
const ECRECOVER: Address = Address::with_last_byte(1);

fn word_address(a: Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a.as_slice());
    w
}

fn calldata(selector: [u8; 4], words: &[[u8; 32]]) -> Vec<u8> {
    let mut data = Vec::with_capacity(4 + 32 * words.len());
    data.extend_from_slice(&selector);
    for w in words {
        data.extend_from_slice(w);
    }
    data
}

/// True when return data means "yes": empty (tokens that return nothing) or an ABI `true`.
fn returned_true(data: &[u8], empty_ok: bool) -> bool {
    if data.is_empty() {
        return empty_ok;
    }
    data.len() >= 32 && data[..31].iter().all(|b| *b == 0) && data[31] == 1
}

/// Calls `token` with ERC-20 semantics as OpenZeppelin's SafeERC20 reads them: the call
/// must succeed and return nothing or `true`. Returns whether it did; never reverts.
#[allow(deprecated)]
fn erc20_call(token: Address, data: &[u8]) -> bool {
    // SAFETY: a plain call; the storage cache is flushed first so the token (or anything
    // it calls) sees the escrow's committed state, and Stylus rejects re-entry.
    let result = unsafe {
        RawCall::new()
            .flush_storage_cache()
            .limit_return_data(0, 32)
            .call(token, data)
    };
    matches!(result, Ok(ref ret) if returned_true(ret, true))
}

/// `token.transfer(to, amount)`; whether it succeeded.
pub(crate) fn transfer(token: Address, to: Address, amount: U256) -> bool {
    erc20_call(
        token,
        &calldata(TRANSFER, &[word_address(to), amount.to_be_bytes()]),
    )
}

/// `token.transferFrom(from, to, amount)`; whether it succeeded.
pub(crate) fn transfer_from(token: Address, from: Address, to: Address, amount: U256) -> bool {
    erc20_call(
        token,
        &calldata(
            TRANSFER_FROM,
            &[word_address(from), word_address(to), amount.to_be_bytes()],
        ),
    )
}

/// `credentials.hasValid(holder, kind)`; a failing or malformed answer counts as `false`.
#[allow(deprecated)]
pub(crate) fn has_valid(credentials: Address, holder: Address, kind: u32) -> bool {
    let data = calldata(
        HAS_VALID,
        &[word_address(holder), U256::from(kind).to_be_bytes()],
    );
    // SAFETY: a static call cannot change state.
    let result = unsafe {
        RawCall::new_static()
            .limit_return_data(0, 32)
            .call(credentials, &data)
    };
    matches!(result, Ok(ref ret) if returned_true(ret, false))
}

/// Half the secp256k1 group order: signatures with a larger `s` are malleable copies.
const S_MAX: U256 = U256::from_be_bytes([
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
]);

/// The signer of `digest` from a 65-byte `r ‖ s ‖ v` signature, or `None` for a
/// malformed, malleable or invalid one.
#[allow(deprecated)]
pub(crate) fn recover(digest: B256, signature: &[u8]) -> Option<Address> {
    if signature.len() != 65 {
        return None;
    }
    let v = signature[64];
    let v = if v < 27 { v + 27 } else { v };
    if v != 27 && v != 28 {
        return None;
    }
    let mut r = [0u8; 32];
    let mut s = [0u8; 32];
    r.copy_from_slice(&signature[..32]);
    s.copy_from_slice(&signature[32..64]);
    if U256::from_be_bytes(s) > S_MAX {
        return None;
    }
    let mut v_word = [0u8; 32];
    v_word[31] = v;
    let input = calldata([0; 4], &[digest.0, v_word, r, s]);
    // SAFETY: a static call to a precompile.
    let out = unsafe { RawCall::new_static().call(ECRECOVER, &input[4..]) }.ok()?;
    if out.len() != 32 {
        return None;
    }
    let signer = Address::from_slice(&out[12..]);
    (!signer.is_zero()).then_some(signer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;

    #[test]
    fn selectors_match_their_signatures() {
        assert_eq!(keccak256("transfer(address,uint256)")[..4], TRANSFER);
        assert_eq!(
            keccak256("transferFrom(address,address,uint256)")[..4],
            TRANSFER_FROM
        );
        assert_eq!(keccak256("hasValid(address,uint32)")[..4], HAS_VALID);
    }

    #[test]
    fn returned_true_reads_abi_bools() {
        let mut t = [0u8; 32];
        t[31] = 1;
        assert!(returned_true(&t, false));
        assert!(returned_true(&[], true));
        assert!(!returned_true(&[], false));
        assert!(!returned_true(&[0u8; 32], true));
        t[0] = 1;
        assert!(!returned_true(&t, true));
    }
}
