//! The Minuto contracts' hand-written ABI encoding, in one place.
//!
//! Every error and event of the contracts has static fields only (plus, for a few events,
//! one trailing `string`), so each encodes as a selector or topic followed by 32-byte
//! words. Encoding them here, by hand, instead of with alloy's generic encoders (one
//! instance per type, about 1 KB of WASM each) or `#[derive(SolidityError)]` keeps the
//! contracts small; each contract's tests check its errors and events byte for byte
//! against alloy's encoding.
//!
//! - [`Word`]: one ABI word per field; [`revert_data`] and [`calldata`]: `selector ‖
//!   words`; [`log`]: topics, data words and an optional dynamic tail.
//! - [`errors!`](crate::errors): declares a contract's `Error` enum and its revert data.
//! - [`small`], [`uint`], [`wide`], [`u128_slot`], [`word`], [`to_u128`]: storage integer
//!   conversions without `Uint::from`/`Uint::to`, whose panic paths link Rust's
//!   formatting code (several KB of WASM).
//! - [`take`], [`put`]: fixed byte ranges of fixed arrays, with no check left to fail.
//! - [`static_call`]: a read-only call with bounded return data.
//! - [`admin::Admin`]: the two-step admin role the escrow, badges and ratings share.
//! - [`router`]: reading call data and encoding results for the hand-written routers.
//! - [`storage`]: packed storage records read and written through one pair of functions.
#![cfg_attr(not(test), no_std)]
// The free host functions are deprecated in favour of `self.vm()`, whose `dyn Host`
// vtable links every host import into the WASM. They are the same host calls.
#![allow(deprecated)]

#[macro_use]
extern crate alloc;

pub mod admin;
pub mod router;
pub mod storage;

use alloc::vec::Vec;
use alloy_primitives::{Address, Uint, B256, U128, U256};

/// One ABI word: how a static field of an error, event or call encodes.
pub trait Word {
    /// The field as a 32-byte ABI word.
    fn word(&self) -> B256;

    /// Appends the field's word to `out`. An encoder that pushes each field costs a call
    /// per field, where one that first gathers the words in an array also copies each
    /// returned word into it.
    #[inline(never)]
    fn push_to(&self, out: &mut Vec<u8>) {
        push_word(out, &self.word());
    }
}

/// Appends `word` to `out`.
#[inline(never)]
pub fn push_word(out: &mut Vec<u8>, word: &B256) {
    out.extend_from_slice(word.as_slice());
}

impl Word for U256 {
    #[inline(never)]
    fn word(&self) -> B256 {
        B256::from(*self)
    }
}

impl Word for B256 {
    fn word(&self) -> B256 {
        *self
    }
}

impl Word for Address {
    #[inline(never)]
    fn word(&self) -> B256 {
        // Not `into_word`, whose `copy_from_slice` keeps a length check and its panic.
        let mut w = B256::ZERO;
        put::<12, 20, 32>(&mut w.0, &self.0 .0);
        w
    }
}

impl Word for bool {
    fn word(&self) -> B256 {
        u64::from(*self).word()
    }
}

impl Word for u64 {
    #[inline(never)]
    fn word(&self) -> B256 {
        let mut w = B256::ZERO;
        put::<24, 8, 32>(&mut w.0, &self.to_be_bytes());
        w
    }
}

impl Word for u128 {
    #[inline(never)]
    fn word(&self) -> B256 {
        let mut w = B256::ZERO;
        put::<16, 16, 32>(&mut w.0, &self.to_be_bytes());
        w
    }
}

macro_rules! word_via_u64 {
    ($($t:ty),*) => {$(
        impl Word for $t {
            fn word(&self) -> B256 {
                u64::from(*self).word()
            }
        }
    )*};
}
word_via_u64!(u8, u16, u32);

/// Bytes `AT..AT + N` of `src`, copied without a length check that could fail: with
/// `opt-level = "z"` a `copy_from_slice` keeps its check and its caller's source
/// location in the program, even where the lengths are constants. `AT + N <= M` is
/// checked at compile time.
#[inline(always)]
pub fn take<const AT: usize, const N: usize, const M: usize>(src: &[u8; M]) -> [u8; N] {
    const { assert!(AT + N <= M) };
    // `.min(M - 1)` changes nothing (the assertion above) and proves the index in bounds.
    core::array::from_fn(|i| src[(AT + i).min(M - 1)])
}

/// Writes `src` over bytes `AT..AT + N` of `dst`, like [`take`] without a check that
/// could fail.
#[inline(always)]
pub fn put<const AT: usize, const N: usize, const M: usize>(dst: &mut [u8; M], src: &[u8; N]) {
    const { assert!(AT + N <= M) };
    for (i, b) in src.iter().enumerate() {
        dst[(AT + i).min(M - 1)] = *b;
    }
}

/// `prefix ‖ words`: the encoding of static values after an optional selector.
#[inline(never)]
pub fn encode(prefix: &[u8], words: &[B256]) -> Vec<u8> {
    let mut data = Vec::with_capacity(prefix.len() + 32 * words.len());
    data.extend_from_slice(prefix);
    for w in words {
        data.extend_from_slice(w.as_slice());
    }
    data
}

/// `selector ‖ words`: the revert data of a Solidity custom error with static fields.
pub fn revert_data(selector: [u8; 4], words: &[B256]) -> Vec<u8> {
    encode(&selector, words)
}

/// `selector`, in a vector with room for `words` words more (pushed with
/// [`Word::push_to`]).
#[inline(never)]
pub fn with_selector(selector: [u8; 4], words: usize) -> Vec<u8> {
    let mut data = Vec::with_capacity(4 + 32 * words);
    data.extend_from_slice(&selector);
    data
}

/// `selector ‖ words`: the call data of a function with static arguments.
pub fn calldata(selector: [u8; 4], words: &[B256]) -> Vec<u8> {
    encode(&selector, words)
}

/// Emits a log: `topics` (the event's signature hash first, then the indexed fields),
/// the `head` words as data, then `tail` zero-padded to a whole word (the bytes of a
/// trailing dynamic field, whose offset and length the caller put in `head`).
#[inline(never)]
pub fn log(topics: &[B256], head: &[B256], tail: &[u8]) {
    let mut data = Vec::with_capacity(32 * (topics.len() + head.len()) + tail.len() + 31);
    for w in topics.iter().chain(head) {
        push_word(&mut data, w);
    }
    data.extend_from_slice(tail);
    data.resize(data.len().div_ceil(32) * 32, 0);
    emit_log(&data, topics.len());
}

/// Emits a log from `data`: its `topics` topic words (the event's signature hash first,
/// then the indexed fields, at most four in all), then its data. The host call the SDK's
/// `raw_log` makes, without `raw_log`'s copy of the topics and data into a new buffer.
pub fn emit_log(data: &[u8], topics: usize) {
    debug_assert!(topics <= 4 && data.len() >= 32 * topics);
    // SAFETY: `data` is valid for its length. The host refuses more than four topics (no
    // event has more) and logging inside a static call, where nothing that logs runs.
    unsafe { stylus_sdk::hostio::emit_log(data.as_ptr(), data.len(), topics) }
}

/// Declares `pub enum Error` with one variant per Solidity error (each a `sol!` error
/// type with static fields), `From` for each, and the revert data: the error's selector
/// and one word per field, in declaration order. Extra variants (with their own
/// encoding) may follow after `;` as `Variant(Type) => encode_fn,`; attributes before the
/// first variant (`#[derive(Debug)]`) go on the enum.
#[macro_export]
macro_rules! errors {
    (
        $(#[$meta:meta])*
        $($variant:ident($ty:ident { $($field:ident),* }),)*
        $(; $($xvariant:ident($xty:ty) => $xencode:path,)*)?
    ) => {
        /// Every way a call can fail. Each variant reverts with the Solidity error it wraps.
        $(#[$meta])*
        pub enum Error {
            $(#[allow(missing_docs)] $variant($ty),)*
            $($(#[allow(missing_docs)] $xvariant($xty),)*)?
        }
        $(
            impl From<$ty> for Error {
                fn from(e: $ty) -> Self {
                    Error::$variant(e)
                }
            }
        )*
        // The errors reach `abi/` through the `abi:begin` fragment, with parameter names.
        #[cfg(feature = "export-abi")]
        impl stylus_sdk::abi::export::internal::InnerTypes for Error {}
        impl From<Error> for alloc::vec::Vec<u8> {
            fn from(e: Error) -> alloc::vec::Vec<u8> {
                #[allow(unused_imports)]
                use $crate::Word as _;
                match e {
                    $(Error::$variant(ref _e) => {
                        let mut data = $crate::with_selector(
                            <$ty as alloy_sol_types::SolError>::SELECTOR,
                            <[&str]>::len(&[$(stringify!($field)),*]),
                        );
                        $(_e.$field.push_to(&mut data);)*
                        data
                    })*
                    $($(Error::$xvariant(e) => $xencode(e),)*)?
                }
            }
        }
    };
}

/// The value of a storage integer of at most 64 bits.
pub fn small<const B: usize, const L: usize>(v: Uint<B, L>) -> u64 {
    v.as_limbs()[0]
}

/// A storage integer of at most 64 bits from `v` (the callers keep `v` within `B` bits).
pub fn uint<const B: usize>(v: impl Into<u64>) -> Uint<B, 1> {
    Uint::from_limbs([v.into()])
}

/// The value of a 128-bit storage integer.
pub fn wide(v: U128) -> u128 {
    let l = v.as_limbs();
    u128::from(l[0]) | (u128::from(l[1]) << 64)
}

/// A 128-bit storage integer.
pub fn u128_slot(v: u128) -> U128 {
    U128::from_limbs([v as u64, (v >> 64) as u64])
}

/// A `u128` (or narrower) as a `U256`.
pub fn word(v: impl Into<u128>) -> U256 {
    let v = v.into();
    U256::from_limbs([v as u64, (v >> 64) as u64, 0, 0])
}

/// `v` if it fits in 128 bits.
pub fn to_u128(v: U256) -> Option<u128> {
    let l = v.as_limbs();
    (l[2] == 0 && l[3] == 0).then(|| u128::from(l[0]) | (u128::from(l[1]) << 64))
}

/// The address in an ABI word (its low 20 bytes).
pub fn address_at(out: &[u8], index: usize) -> Address {
    Address::from_slice(&out[32 * index + 12..32 * (index + 1)])
}

/// The low 64 bits of an ABI word.
pub fn u64_at(out: &[u8], index: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&out[32 * index + 24..32 * (index + 1)]);
    u64::from_be_bytes(bytes)
}

/// The low 128 bits of an ABI word.
pub fn u128_at(out: &[u8], index: usize) -> u128 {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&out[32 * index + 16..32 * (index + 1)]);
    u128::from_be_bytes(bytes)
}

/// A static call to `to` with `data`: its return data if it succeeded with exactly
/// `len` bytes of it, `None` otherwise.
///
/// The whole return data is read, then checked: the callees (tokens on the allowlist, the
/// configured credentials contract and escrow, a precompile) are contracts an admin
/// chose. Reading a bounded prefix instead (`limit_return_data`) is what a real Stylus
/// VM allows, but motsu's test VM then copies past the end of shorter answers.
pub fn static_call(to: Address, data: &[u8], len: usize) -> Option<Vec<u8>> {
    // SAFETY: a static call cannot change state, here or anywhere it reaches.
    let out = unsafe { stylus_sdk::call::RawCall::new_static().call(to, data) }.ok()?;
    (out.len() == len).then_some(out)
}

/// Whether return data means "yes": an ABI `true`, or empty when `empty_ok` (ERC-20s
/// such as USDT return nothing from `transfer`).
pub fn returned_true(data: &[u8], empty_ok: bool) -> bool {
    if data.is_empty() {
        return empty_ok;
    }
    data.len() >= 32 && data[..31].iter().all(|b| *b == 0) && data[31] == 1
}

/// Whether `account` holds code (a contract), by its code hash: an account that does not
/// exist hashes to zero, one without code to `keccak256("")`.
pub fn has_code(account: Address) -> bool {
    use stylus_sdk::types::AddressVM;
    let code = account.code_hash();
    !(code.is_zero() || code == KECCAK_EMPTY)
}

/// `keccak256("")`: the code hash of an account without code.
pub const KECCAK_EMPTY: B256 =
    alloy_primitives::b256!("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_sol_types::SolValue;

    #[test]
    fn words_encode_like_alloy() {
        let a = Address::repeat_byte(0xab);
        assert_eq!(a.word().0.to_vec(), a.abi_encode());
        assert_eq!(U256::MAX.word().0.to_vec(), U256::MAX.abi_encode());
        assert_eq!(true.word().0.to_vec(), true.abi_encode());
        assert_eq!(u8::MAX.word(), B256::with_last_byte(0xff));
        assert_eq!(u16::MAX.word().0.to_vec(), u16::MAX.abi_encode());
        assert_eq!(u32::MAX.word().0.to_vec(), u32::MAX.abi_encode());
        assert_eq!(u64::MAX.word().0.to_vec(), u64::MAX.abi_encode());
        assert_eq!(u128::MAX.word().0.to_vec(), u128::MAX.abi_encode());
    }

    #[test]
    fn conversions_round_trip() {
        for v in [0u128, 1, u64::MAX as u128, u128::MAX] {
            assert_eq!(wide(u128_slot(v)), v);
            assert_eq!(to_u128(word(v)), Some(v));
            let w = word(v).to_be_bytes::<32>();
            assert_eq!(u128_at(&w, 0), v);
        }
        assert_eq!(to_u128(U256::MAX), None);
        assert_eq!(small(uint::<40>(7u64)), 7);
        let mut out = [0u8; 64];
        out[32 + 24..].copy_from_slice(&9u64.to_be_bytes());
        assert_eq!(u64_at(&out, 1), 9);
        assert_eq!(
            address_at(&Address::repeat_byte(3).word().0, 0),
            Address::repeat_byte(3)
        );
    }

    #[test]
    fn take_and_put_copy_exactly_their_range() {
        let src: [u8; 65] = core::array::from_fn(|i| i as u8);
        assert_eq!(take::<12, 20, 65>(&src)[..], src[12..32]);
        assert_eq!(take::<33, 32, 65>(&src)[..], src[33..]);
        let mut dst = [0xffu8; 66];
        put::<2, 32, 66>(&mut dst, &[7u8; 32]);
        assert_eq!(dst[..2], [0xff; 2]);
        assert_eq!(dst[2..34], [7; 32]);
        assert_eq!(dst[34..], [0xff; 32]);
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
