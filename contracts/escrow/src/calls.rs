//! The escrow's only external calls: ERC-20 transfers and balances, the credentials
//! check and the `ecrecover` precompile. Calldata is encoded by hand ([`minuto_wire`]):
//! a few fixed layouts are a few dozen bytes of WASM, where a generic encoder would be
//! kilobytes.

use alloy_primitives::{Address, B256, U256};
#[allow(deprecated)]
use stylus_sdk::call::RawCall;

use minuto_wire::{calldata, encode, returned_true, static_call, take, Word};

/// `transfer(address,uint256)`
const TRANSFER: [u8; 4] = [0xa9, 0x05, 0x9c, 0xbb];
/// `transferFrom(address,address,uint256)`
const TRANSFER_FROM: [u8; 4] = [0x23, 0xb8, 0x72, 0xdd];
/// `balanceOf(address)`
const BALANCE_OF: [u8; 4] = [0x70, 0xa0, 0x82, 0x31];
/// `hasValid(address,uint32)`, the credentials contract's check.
pub(crate) const HAS_VALID: [u8; 4] = [0x29, 0x83, 0x6f, 0x3e];
/// The `ecrecover` precompile.
const ECRECOVER: Address = Address::with_last_byte(1);

/// Calls `token` with ERC-20 semantics as OpenZeppelin's SafeERC20 reads them: the call
/// must succeed and return nothing (USDT-style tokens) or `true`. Returns whether it
/// did; never reverts.
#[allow(deprecated)]
fn erc20_call(token: Address, data: &[u8]) -> bool {
    // SAFETY: a plain call; the storage cache is flushed first so the token (or anything
    // it calls) sees the escrow's committed state, and Stylus rejects re-entry. The whole
    // return data is read (see `minuto_wire::static_call` for why).
    let result = unsafe { RawCall::new().flush_storage_cache().call(token, data) };
    matches!(result, Ok(ref ret) if returned_true(ret, true))
}

/// `token.transfer(to, amount)`; whether it succeeded.
pub(crate) fn transfer(token: Address, to: Address, amount: U256) -> bool {
    erc20_call(token, &calldata(TRANSFER, &[to.word(), amount.word()]))
}

/// `token.transferFrom(from, to, amount)`; whether it succeeded.
pub(crate) fn transfer_from(token: Address, from: Address, to: Address, amount: U256) -> bool {
    erc20_call(
        token,
        &calldata(TRANSFER_FROM, &[from.word(), to.word(), amount.word()]),
    )
}

/// `token.balanceOf(account)`; zero if the call fails or answers something else (the
/// caller then sees a balance that did not grow).
pub(crate) fn balance_of(token: Address, account: Address) -> U256 {
    // `static_call` returned exactly 32 bytes: the conversion cannot fail, and reading
    // a fixed array links no panic (as `U256::from_be_slice` would).
    match static_call(token, &calldata(BALANCE_OF, &[account.word()]), 32)
        .and_then(|out| <[u8; 32]>::try_from(out.as_slice()).ok())
    {
        Some(out) => U256::from_be_bytes(out),
        None => U256::ZERO,
    }
}

/// `credentials.hasValid(holder, kind)`; a failing or malformed answer counts as `false`.
pub(crate) fn has_valid(credentials: Address, holder: Address, kind: u32) -> bool {
    let data = calldata(HAS_VALID, &[holder.word(), kind.word()]);
    matches!(static_call(credentials, &data, 32), Some(ref ret) if returned_true(ret, false))
}

/// Half the secp256k1 group order: signatures with a larger `s` are malleable copies.
const S_MAX: U256 = U256::from_be_bytes([
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
]);

/// The signer of `digest` from a 65-byte `r ‖ s ‖ v` signature, or `None` for a
/// malformed, malleable or invalid one.
pub(crate) fn recover(digest: B256, signature: &[u8]) -> Option<Address> {
    // Fixed-size arrays from here on: no slice bounds check is left to fail.
    let signature: &[u8; 65] = signature.try_into().ok()?;
    let v = signature[64];
    let v = if v < 27 { v + 27 } else { v };
    if v != 27 && v != 28 {
        return None;
    }
    let r = B256::new(take::<0, 32, 65>(signature));
    let s = B256::new(take::<32, 32, 65>(signature));
    if U256::from_be_bytes(s.0) > S_MAX {
        return None;
    }
    let input = encode(&[], &[digest, v.word(), r, s]);
    let out: [u8; 32] = static_call(ECRECOVER, &input, 32)?
        .as_slice()
        .try_into()
        .ok()?;
    let signer = Address::new(take::<12, 20, 32>(&out));
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
        assert_eq!(keccak256("balanceOf(address)")[..4], BALANCE_OF);
        assert_eq!(keccak256("hasValid(address,uint32)")[..4], HAS_VALID);
    }
}
