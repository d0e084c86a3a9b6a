//! Storage records read and written through one pair of functions.
//!
//! The SDK's `#[storage]` structs build an accessor per field every time a record is
//! reached (a 256-bit slot sum and a copy per field: about 2 KB of WASM for a 15-field
//! session record), and each integer width instantiates its own `get_uint`/`set_uint`,
//! whose slice bounds checks and `unwrap`s link panic locations. A [`Record`] instead
//! holds only its first slot; each [`Field`] names its slot, byte offset and width, and
//! every read and write, of any record size, goes through one pair of functions that copy
//! the field's bytes and cannot panic.
//!
//! The layout is the SDK's: fields packed in declaration order, each taking the
//! rightmost free bytes of its slot (`offset` counts from the left, as the SDK's does),
//! and a field that does not fit in what is left of a slot starting the next one. The
//! escrow's tests (`tests/layout.rs`) write each of its records through an SDK
//! `#[storage]` twin of the old declaration and read it back field by field here.

use alloc::vec::Vec;

use alloy_primitives::{Address, B256, U256};
use stylus_sdk::{
    host::VM,
    storage::{
        GlobalStorage, StorageB256, StorageCache, StorageGuard, StorageGuardMut, StorageKey,
        StorageMap, StorageType,
    },
};

/// Where a field lives in a [`Record`]: its slot (counted from the record's first), its
/// offset in bytes from the left of that slot, and its width in bytes (1 to 32).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// Slot within the record.
    pub slot: u8,
    /// Bytes from the left of the slot, as the SDK counts them.
    pub offset: u8,
    /// Width in bytes.
    pub bytes: u8,
}

impl Field {
    /// A field of `bytes` bytes at `offset` in the record's slot `slot`.
    ///
    /// # Panics
    /// If the field is empty or does not fit in its slot: at compile time, since fields
    /// are constants.
    pub const fn new(slot: u8, offset: u8, bytes: u8) -> Self {
        assert!(bytes >= 1 && offset as usize + bytes as usize <= 32);
        Self {
            slot,
            offset,
            bytes,
        }
    }
}

/// `SLOTS` consecutive storage slots holding packed [`Field`]s: a record in a
/// `StorageMap`, or a group of settings in a contract's `#[storage]` struct.
pub struct Record<const SLOTS: usize> {
    root: U256,
    vm: VM,
}

impl<const SLOTS: usize> StorageType for Record<SLOTS> {
    type Wraps<'a>
        = StorageGuard<'a, Self>
    where
        Self: 'a;
    type WrapsMut<'a>
        = StorageGuardMut<'a, Self>
    where
        Self: 'a;

    const REQUIRED_SLOTS: usize = SLOTS;

    unsafe fn new(slot: U256, offset: u8, vm: VM) -> Self {
        debug_assert!(offset == 0);
        Self { root: slot, vm }
    }

    fn load<'s>(self) -> Self::Wraps<'s>
    where
        Self: 's,
    {
        StorageGuard::new(self)
    }

    fn load_mut<'s>(self) -> Self::WrapsMut<'s>
    where
        Self: 's,
    {
        StorageGuardMut::new(self)
    }
}

impl<const SLOTS: usize> Record<SLOTS> {
    fn at(&self, field: Field) -> (&VM, U256) {
        debug_assert!((field.slot as usize) < SLOTS);
        (&self.vm, self.root)
    }

    /// The field's value, right-aligned in a word.
    pub fn read(&self, field: Field) -> U256 {
        U256::from_be_bytes(self.bytes(field))
    }

    /// Writes `value` (its low `field.bytes` bytes) into the field, keeping the rest of
    /// the slot.
    pub fn write(&mut self, field: Field, value: U256) {
        self.set_bytes(field, crate::Word::word(&value).0);
    }

    /// The field's bytes, right-aligned in a word.
    fn bytes(&self, field: Field) -> [u8; 32] {
        let (vm, root) = self.at(field);
        read_field(vm, root, field)
    }

    /// Writes the field from the low bytes of `value`, keeping the rest of the slot.
    fn set_bytes(&mut self, field: Field, value: [u8; 32]) {
        let (vm, root) = self.at(field);
        write_field(vm, root, field, &value);
    }

    /// A field of at most 8 bytes.
    pub fn uint(&self, field: Field) -> u64 {
        u64::from_be_bytes(crate::take::<24, 8, 32>(&self.bytes(field)))
    }

    /// A field of at most 16 bytes.
    pub fn wide(&self, field: Field) -> u128 {
        u128::from_be_bytes(crate::take::<16, 16, 32>(&self.bytes(field)))
    }

    /// A 20-byte address field.
    pub fn address(&self, field: Field) -> Address {
        // Not `Address::from_word`, whose `unwrap` links `Debug` formatting.
        Address::new(crate::take::<12, 20, 32>(&self.bytes(field)))
    }

    /// A one-byte boolean field (any non-zero byte reads as `true`).
    pub fn flag(&self, field: Field) -> bool {
        self.bytes(field) != [0; 32]
    }

    /// Writes a field of at most 8 bytes (higher bits of `value` are dropped).
    pub fn set_uint(&mut self, field: Field, value: u64) {
        let mut w = [0; 32];
        crate::put::<24, 8, 32>(&mut w, &value.to_be_bytes());
        self.set_bytes(field, w);
    }

    /// Writes a field of at most 16 bytes.
    pub fn set_wide(&mut self, field: Field, value: u128) {
        let mut w = [0; 32];
        crate::put::<16, 16, 32>(&mut w, &value.to_be_bytes());
        self.set_bytes(field, w);
    }

    /// Writes a 20-byte address field.
    pub fn set_address(&mut self, field: Field, value: Address) {
        self.set_bytes(field, crate::Word::word(&value).0);
    }

    /// Writes a one-byte boolean field.
    pub fn set_flag(&mut self, field: Field, value: bool) {
        self.set_uint(field, u64::from(value));
    }
}

/// The slot of `field` in the record whose first slot is `root`.
fn field_slot(root: U256, field: Field) -> U256 {
    root.wrapping_add(U256::from_limbs([field.slot as u64, 0, 0, 0]))
}

/// The bytes of `field` (in the record at `root`), right-aligned in a word: one function
/// for every record size, copying bytes rather than shifting and masking 256-bit words.
#[inline(never)]
fn read_field(vm: &VM, root: U256, field: Field) -> [u8; 32] {
    let word = StorageCache::get_word(vm.clone(), field_slot(root, field));
    let (at, n) = (field.offset as usize, field.bytes as usize);
    let mut out = [0; 32];
    // `& 31` changes nothing (`Field::new` keeps the field in its slot) and proves every
    // index in bounds: no check left to fail.
    for i in 0..n {
        out[(32 - n + i) & 31] = word[(at + i) & 31];
    }
    out
}

/// Writes the low `field.bytes` bytes of `value` into `field`, keeping the rest of the
/// slot.
#[inline(never)]
fn write_field(vm: &VM, root: U256, field: Field, value: &[u8; 32]) {
    let slot = field_slot(root, field);
    let mut word = StorageCache::get_word(vm.clone(), slot);
    let (at, n) = (field.offset as usize, field.bytes as usize);
    for i in 0..n {
        word[(at + i) & 31] = value[(32 - n + i) & 31];
    }
    // SAFETY: the record's slots belong to this accessor alone, as the SDK's own
    // accessors assume.
    unsafe { StorageCache::set_word(vm.clone(), slot, word) };
}

/// A map key as its ABI word: what the SDK's `Address` and `U256` keys hash to (the word,
/// then the map's slot, through keccak), through one function for every key type and
/// map, without the SDK's integer conversions and their panics. A `StorageMap<Key, V>`
/// keeps the slots of a `StorageMap<Address, V>` or `StorageMap<U256, V>` (tested).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key(pub B256);

/// The [`Key`] of an address, integer or word.
pub fn key(v: impl crate::Word) -> Key {
    Key(v.word())
}

impl StorageKey for Key {
    #[inline(never)]
    fn to_slot(&self, root: B256) -> U256 {
        let mut data = [0u8; 64];
        crate::put::<0, 32, 64>(&mut data, &self.0 .0);
        crate::put::<32, 32, 64>(&mut data, &root.0);
        U256::from_be_bytes(alloy_primitives::keccak256(data).0)
    }
}

/// A byte string in storage as 32-byte words (word `i` holds bytes `32 * i ..`,
/// zero-padded), its length kept by the caller. The SDK's `StorageString` links U256
/// division and Rust's formatting (~8 KB of WASM); this is what badges' base URI and
/// credentials' metadata URIs use instead.
pub type Chunks = StorageMap<u32, StorageB256>;

/// Stores `bytes` in `chunks` from word 0 (the caller keeps the length, and bounds it so
/// that the word index fits in 32 bits). Generic, like [`read_chunks`], so that it is
/// compiled only into the contracts that use it (a plain function here measured +370 B
/// of WASM in the ratings contract, which does not).
pub fn write_chunks(chunks: &mut Chunks, bytes: &(impl AsRef<[u8]> + ?Sized)) {
    let bytes = bytes.as_ref();
    for (i, chunk) in bytes.chunks(32).enumerate() {
        let mut word = B256::ZERO;
        word[..chunk.len()].copy_from_slice(chunk);
        // SAFETY (cast): the caller bounds the length.
        chunks.setter(i as u32).set(word);
    }
}

/// The first `len` bytes stored in `chunks`, in a vector with room for `SPARE` more.
pub fn read_chunks<const SPARE: usize>(chunks: &Chunks, len: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(len + SPARE);
    for (i, start) in (0..len).step_by(32).enumerate() {
        // SAFETY (cast): `i <= len / 32`, and the caller bounds `len`.
        let word = chunks.get(i as u32);
        bytes.extend_from_slice(&word[..core::cmp::min(32, len - start)]);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::{Admin, PackedAdmin, Roles};
    use alloc::boxed::Box;
    // motsu's host functions: `native_keccak256`, which map keys hash with.
    use motsu as _;
    use stylus_sdk::{storage::StorageBool, testing::TestVM};

    fn fresh() -> VM {
        VM {
            host: Box::new(TestVM::new()),
        }
    }

    fn root() -> U256 {
        U256::from(0x5eed_u64) << 200
    }

    #[test]
    fn keys_take_the_slots_of_the_sdks_address_and_integer_keys() {
        let root = B256::from(root());
        for a in [
            Address::ZERO,
            Address::repeat_byte(0xab),
            Address::repeat_byte(0xff),
        ] {
            assert_eq!(key(a).to_slot(root), a.to_slot(root));
        }
        for v in [U256::ZERO, U256::from(7), U256::MAX] {
            assert_eq!(key(v).to_slot(root), v.to_slot(root));
        }
        // A small integer's key is its `U256`'s.
        assert_eq!(key(9u64).to_slot(root), U256::from(9).to_slot(root));
    }

    fn write_roles<R: Roles + StorageType>(vm: &VM, admin: Address, pending: Address) {
        let mut roles = unsafe { R::new(root(), 0, vm.clone()) };
        roles.set_admin(admin);
        roles.set_pending(pending);
    }

    fn read_roles<R: Roles + StorageType>(vm: &VM) -> (Address, Address) {
        let roles = unsafe { R::new(root(), 0, vm.clone()) };
        (roles.admin(), roles.pending())
    }

    /// [`Admin`]'s layout, read and written through [`PackedAdmin`]'s record.
    #[test]
    fn the_packed_admin_keeps_the_admins_layout() {
        let (a, b) = (Address::repeat_byte(0xaa), Address::repeat_byte(0xbb));
        let vm = fresh();
        write_roles::<Admin>(&vm, a, b);
        assert_eq!(read_roles::<PackedAdmin>(&vm), (a, b));
        let packed = fresh();
        write_roles::<PackedAdmin>(&packed, a, b);
        assert_eq!(read_roles::<Admin>(&packed), (a, b));
        assert_eq!(words(&packed, 2), words(&vm, 2));
        assert_eq!(
            words(&vm, 2),
            [
                B256::left_padding_from(&a.0 .0),
                B256::left_padding_from(&b.0 .0)
            ]
        );
        assert_eq!(
            <Admin as StorageType>::REQUIRED_SLOTS,
            <PackedAdmin as StorageType>::REQUIRED_SLOTS
        );
    }

    fn words(vm: &VM, n: u64) -> Vec<B256> {
        (0..n)
            .map(|k| StorageCache::get_word(vm.clone(), root() + U256::from(k)))
            .collect()
    }

    #[test]
    fn construct_once_uses_the_sdks_constructor_flag() {
        let slot = stylus_sdk::abi::internal::CONSTRUCTOR_EXECUTED_SLOT;
        let vm = fresh();
        assert!(crate::router::construct_once(vm.clone()));
        assert!(!crate::router::construct_once(vm.clone()));
        let written = StorageCache::get_word(vm.clone(), slot);
        let sdk = fresh();
        unsafe { StorageBool::new(slot, 0, sdk.clone()) }.set(true);
        assert_eq!(written, StorageCache::get_word(sdk.clone(), slot));
        // A flag the SDK's router set is seen as well.
        assert!(!crate::router::construct_once(sdk));
    }
}
