//! Pieces of the contracts' hand-written call routers: reading ABI-encoded arguments in
//! place with the checks alloy's strict decoder makes, and encoding results.
//!
//! The SDK's `#[public]` router decodes and encodes each function's arguments and results
//! with alloy's generic codec, one instance per signature: kilobytes of WASM per
//! contract. A deployed program instead matches the selector itself and reads each
//! argument word here; anything malformed reverts with empty data, as the SDK's router
//! does.

use alloc::vec::Vec;
use alloy_primitives::{Address, B256, U256};

use crate::{encode, take};

/// Call data after the selector, read one ABI word at a time.
pub struct Args<'a>(pub &'a [u8]);

impl<'a> Args<'a> {
    /// Word `i`, if the call data has it. Every reader below works on this fixed-size
    /// word, so none of them has a bounds check to fail (whose panic would link
    /// formatting code and a source location).
    pub fn word(&self, i: usize) -> Option<&'a [u8; 32]> {
        let start = i.checked_mul(32)?;
        self.0.get(start..start.checked_add(32)?)?.try_into().ok()
    }

    /// Word `i` as an unsigned integer of `bytes` bytes (at most 8): every higher byte
    /// must be zero.
    pub fn uint(&self, i: usize, bytes: usize) -> Option<u64> {
        let w = self.word(i)?;
        let high = 32usize.saturating_sub(bytes.min(8));
        if w.iter().take(high).any(|b| *b != 0) {
            return None;
        }
        Some(u64::from_be_bytes(take::<24, 8, 32>(w)))
    }

    /// Word `i` as a `uint128`.
    pub fn u128(&self, i: usize) -> Option<u128> {
        let w = self.word(i)?;
        if w[..16].iter().any(|b| *b != 0) {
            return None;
        }
        Some(u128::from_be_bytes(take::<16, 16, 32>(w)))
    }

    /// Word `i` as a `uint256`.
    pub fn u256(&self, i: usize) -> Option<U256> {
        Some(U256::from_be_bytes(*self.word(i)?))
    }

    /// Word `i` as a `bytes32`.
    pub fn b256(&self, i: usize) -> Option<B256> {
        Some(B256::new(*self.word(i)?))
    }

    /// Word `i` as a `bytes4` (left-aligned; the rest must be zero).
    pub fn bytes4(&self, i: usize) -> Option<[u8; 4]> {
        let w = self.word(i)?;
        if w[4..].iter().any(|b| *b != 0) {
            return None;
        }
        Some(take::<0, 4, 32>(w))
    }

    /// Word `i` as an `address`.
    pub fn address(&self, i: usize) -> Option<Address> {
        let w = self.word(i)?;
        if w[..12].iter().any(|b| *b != 0) {
            return None;
        }
        Some(Address::new(take::<12, 20, 32>(w)))
    }

    /// Word `i` as a `bool` (0 or 1).
    pub fn bool(&self, i: usize) -> Option<bool> {
        match self.uint(i, 1)? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    /// A `bytes` or `string` argument: word `i` holds its offset, where its length and
    /// data follow.
    pub fn bytes(&self, i: usize) -> Option<Vec<u8>> {
        // Offsets and lengths that do not fit in 32 bits cannot point inside call data.
        let at = self.uint(i, 4)? as usize;
        let tail = Args(self.0.get(at..)?);
        let len = tail.uint(0, 4)? as usize;
        Some(tail.0.get(32..32usize.checked_add(len)?)?.to_vec())
    }
}

/// The ABI encoding of static results, one word each.
pub fn out(words: &[B256]) -> Vec<u8> {
    encode(&[], words)
}

/// The ABI encoding of a single `string` or `bytes` result.
pub fn out_bytes(data: &[u8]) -> Vec<u8> {
    let mut v = encode(
        &[],
        &[
            B256::with_last_byte(32),
            crate::Word::word(&(data.len() as u64)),
        ],
    );
    v.extend_from_slice(data);
    v.resize(v.len().div_ceil(32) * 32, 0);
    v
}

/// `selector` of `name(types…)` as a number, for `match` arms.
#[macro_export]
macro_rules! selector {
    ($name:literal $(, $ty:ty)*) => {
        u32::from_be_bytes(stylus_sdk::function_selector!($name $(, $ty)*))
    };
}

/// Runs one call as a deployed program does: rejects attached value (no function of
/// these contracts, constructors included, is payable), splits off the selector and hands
/// it to `route`, which answers `None` for an unknown selector or malformed arguments
/// (empty revert data) or the function's result (its typed error's encoding on failure).
#[allow(deprecated)]
pub fn dispatch<E: Into<Vec<u8>>>(
    input: &[u8],
    route: impl FnOnce(u32, &Args<'_>) -> Option<Result<Vec<u8>, E>>,
) -> Result<Vec<u8>, Vec<u8>> {
    if !stylus_sdk::msg::value().is_zero() {
        return Err(Vec::new());
    }
    let Some((selector, args)) = input.split_first_chunk::<4>() else {
        return Err(Vec::new());
    };
    match route(u32::from_be_bytes(*selector), &Args(args)) {
        Some(result) => result.map_err(Into::into),
        None => Err(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_sol_types::SolValue;

    #[test]
    fn out_bytes_encodes_like_alloy() {
        for s in ["", "a", &"x".repeat(32), &"y".repeat(33)] {
            assert_eq!(
                out_bytes(s.as_bytes()),
                (s.to_string(),).abi_encode_params()
            );
        }
    }

    #[test]
    fn args_read_alloys_encoding_strictly() {
        let a = Address::repeat_byte(7);
        let data = (
            a,
            true,
            5u16,
            u128::MAX,
            alloy_primitives::Bytes::from(vec![1u8, 2, 3]),
        )
            .abi_encode_params();
        let args = Args(&data);
        assert_eq!(args.address(0), Some(a));
        assert_eq!(args.bool(1), Some(true));
        assert_eq!(args.uint(2, 2), Some(5));
        assert_eq!(args.uint(2, 1), Some(5));
        assert_eq!(args.u128(3), Some(u128::MAX));
        assert_eq!(args.uint(3, 8), None);
        assert_eq!(args.bytes(4), Some(vec![1, 2, 3]));
        assert_eq!(args.bool(2), None);
        assert_eq!(args.word(9), None);
        // An index whose offset overflows, and a last word cut short, are absent too.
        assert_eq!(args.word(usize::MAX / 16), None);
        assert_eq!(
            Args(&data[..data.len() - 1]).word(data.len() / 32 - 1),
            None
        );
        let mut bad = data.clone();
        bad[0] = 1;
        assert_eq!(Args(&bad).address(0), None);
    }
}
