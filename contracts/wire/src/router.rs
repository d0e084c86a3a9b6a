//! Pieces of the contracts' hand-written call routers: reading ABI-encoded arguments in
//! place, and encoding results.
//!
//! The SDK's `#[public]` router decodes and encodes each function's arguments and results
//! with alloy's generic codec, one instance per signature: kilobytes of WASM per
//! contract. A deployed program instead matches the selector itself and reads each
//! argument word here; anything malformed reverts with empty data, as the SDK's router
//! does.
//!
//! What is checked: each static argument's word as alloy's strict decoder checks it (the
//! unused high bytes of an address, small integer or `bytes4` zero, a bool 0 or 1, the
//! word present), and a `bytes`/`string` argument, always the last and only dynamic one,
//! in its canonical encoding (offset right after the head, length, zero padding, nothing
//! after). Where this is looser than alloy's strict decoder, which re-encodes and
//! compares: a function without a dynamic argument ignores call data after its last
//! word, and the badges' and credentials' routers replace invalid UTF-8 in a `string`
//! instead of refusing it. Neither lets a caller do anything a well-formed call could
//! not.

use alloc::vec::Vec;
use alloy_primitives::{Address, B256, U256};

use crate::{
    encode,
    storage::{Field, Record},
    take,
};

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

    /// A `bytes` or `string` argument that is the last of `i + 1` parameters (so it is
    /// the only dynamic one), in alloy's canonical encoding: word `i` holds the offset
    /// `32 × (i + 1)`, right after the head; there its length follows, then its data,
    /// zero-padded to a whole word, and nothing after.
    pub fn bytes(&self, i: usize) -> Option<Vec<u8>> {
        // Offsets and lengths that do not fit in 32 bits cannot point inside call data.
        let at = self.uint(i, 4)? as usize;
        if at != i.checked_add(1)?.checked_mul(32)? {
            return None;
        }
        let tail = Args(self.0.get(at..)?);
        let len = tail.uint(0, 4)? as usize;
        let data = tail.0.get(32..)?;
        if data.len() != len.div_ceil(32).checked_mul(32)?
            || data.get(len..)?.iter().any(|b| *b != 0)
        {
            return None;
        }
        Some(data.get(..len)?.to_vec())
    }
}

/// The ABI encoding of static results, one word each.
pub fn out(words: &[B256]) -> Vec<u8> {
    encode(&[], words)
}

/// The ABI encoding of one static result.
pub fn out_one(v: &impl crate::Word) -> Vec<u8> {
    let mut o = Vec::with_capacity(32);
    v.push_to(&mut o);
    o
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

/// `pendingAdmin()`, `transferAdmin(address)` and `acceptAdmin()` of the two-step admin
/// role ([`crate::admin::Admin`]), for the routers of the contracts that hold one.
pub const PENDING_ADMIN: u32 = selector!("pendingAdmin");
/// See [`PENDING_ADMIN`].
pub const TRANSFER_ADMIN: u32 = selector!("transferAdmin", Address);
/// See [`PENDING_ADMIN`].
pub const ACCEPT_ADMIN: u32 = selector!("acceptAdmin");

/// Marks the constructor as run, in the slot and byte where the SDK's `#[public]` router
/// keeps its flag (`CONSTRUCTOR_EXECUTED_SLOT`, byte 0, as a `StorageBool`); `false` if it
/// already was. The same storage reads and write as the SDK's `check_constructor_slot`,
/// without its accessors' panics.
pub fn construct_once(vm: stylus_sdk::host::VM) -> bool {
    const RAN: Field = Field::new(0, 0, 1);
    // SAFETY: the SDK's router, which would also use this slot, is not in the program.
    let mut flag = unsafe {
        <Record<1> as stylus_sdk::storage::StorageType>::new(
            stylus_sdk::abi::internal::CONSTRUCTOR_EXECUTED_SLOT,
            0,
            vm,
        )
    };
    if flag.flag(RAN) {
        return false;
    }
    flag.set_flag(RAN, true);
    true
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

    #[test]
    fn bytes_needs_the_canonical_encoding() {
        // Audit L1: a `bytes` argument reads only as alloy encodes it.
        let data = (
            Address::repeat_byte(7),
            alloy_primitives::Bytes::from(vec![1u8, 2, 3]),
        )
            .abi_encode_params();
        assert_eq!(Args(&data).bytes(1), Some(vec![1, 2, 3]));
        // Anything after the padded data.
        let mut long = data.clone();
        long.push(0);
        assert_eq!(Args(&long).bytes(1), None);
        long.extend([0u8; 31]);
        assert_eq!(Args(&long).bytes(1), None);
        // Padding that is not zero, or cut short.
        let mut dirty = data.clone();
        *dirty.last_mut().unwrap() = 1;
        assert_eq!(Args(&dirty).bytes(1), None);
        assert_eq!(Args(&data[..data.len() - 1]).bytes(1), None);
        // An offset elsewhere than right after the head: here one word further, with the
        // length and data moved along.
        let mut moved = data[..64].to_vec();
        moved[63] = 96;
        moved.extend([0u8; 32]);
        moved.extend(&data[64..]);
        assert_eq!(Args(&moved).bytes(1), None);
        // A length that leaves data words over.
        let mut short = data.clone();
        short[95] = 0;
        assert_eq!(Args(&short).bytes(1), None);
        // Empty: offset, length 0, nothing more.
        let empty = (Address::ZERO, alloy_primitives::Bytes::new()).abi_encode_params();
        assert_eq!(empty.len(), 96);
        assert_eq!(Args(&empty).bytes(1), Some(vec![]));
    }
}
