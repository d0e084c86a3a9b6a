//! The storage layout did not move when the escrow's records left the SDK's `#[storage]`
//! field accessors for `minuto_wire::storage::Record`: each field, written at its widest
//! value through an SDK `#[storage]` twin of the old layout, lands in exactly the bytes
//! the record's `Field` names, and reads back the same.

use alloc::{boxed::Box, vec::Vec};
use alloy_primitives::{Address, Uint, B256, U256};
use minuto_wire::storage::{Field, Record};
use stylus_sdk::{
    host::VM,
    prelude::*,
    storage::{
        GlobalStorage, StorageAddress, StorageBool, StorageCache, StorageKey, StorageMap,
        StorageType, StorageU128, StorageU16, StorageU256, StorageU32, StorageU8, StorageUint,
    },
    testing::TestVM,
};

use crate::{session, settings, token_entry, value};

/// The session record as it was declared with the SDK's accessors.
#[storage]
struct SessionTwin {
    student: StorageAddress,
    start: StorageUint<40, 1>,
    token_id: StorageU16,
    state: StorageU8,
    fee_bps: StorageU16,
    booked: StorageU16,
    tutor: StorageAddress,
    end: StorageUint<40, 1>,
    credential_kind: StorageU32,
    start_window: StorageUint<24, 1>,
    rate: StorageU128,
    deposited: StorageU128,
    withdrawn: StorageU128,
    withdrawn_through: StorageUint<40, 1>,
}

/// The escrow's settings as they were declared, first in the contract's storage.
#[storage]
struct SettingsTwin {
    treasury: StorageAddress,
    fee_bps: StorageU16,
    start_window: StorageUint<24, 1>,
    max_backdate: StorageU16,
    paused: StorageBool,
    session_count: StorageU32,
    credentials: StorageAddress,
    token_count: StorageU16,
}

/// A token's allowlist entry as it was declared.
#[storage]
struct TokenEntryTwin {
    id: StorageU16,
    allowed: StorageBool,
}

/// The map values as they were declared.
#[storage]
struct ValuesTwin {
    flag: StorageMap<U256, StorageBool>,
    address: StorageMap<U256, StorageAddress>,
    word: StorageMap<U256, StorageU256>,
}

/// Where the records under test start: any slot far from zero.
fn root() -> U256 {
    U256::from(0x5eed_u64) << 200
}

fn words(vm: &VM, slot: U256, n: usize) -> Vec<B256> {
    (0..n)
        .map(|k| StorageCache::get_word(vm.clone(), slot + U256::from(k)))
        .collect()
}

fn fresh() -> VM {
    VM {
        host: Box::new(TestVM::new()),
    }
}

/// Writes the widest value of one field through the twin (`set_twin`) and through the
/// record (`field`), then compares the raw slots and reads each back the other way.
fn check<T: StorageType, const SLOTS: usize>(
    field: Field,
    slot: U256,
    set_twin: impl FnOnce(&mut T),
) {
    let mask = if field.bytes == 32 {
        U256::MAX
    } else {
        (U256::from(1) << (8 * field.bytes as usize)) - U256::from(1)
    };
    compare::<T, SLOTS>(field, slot, mask, set_twin);
}

/// [`check`] for a boolean, which the twin writes as `true` and the SDK stores as 1.
fn check_flag<T: StorageType, const SLOTS: usize>(
    field: Field,
    slot: U256,
    set_twin: impl FnOnce(&mut T),
) {
    compare::<T, SLOTS>(field, slot, U256::from(1), set_twin);
}

fn compare<T: StorageType, const SLOTS: usize>(
    field: Field,
    slot: U256,
    mask: U256,
    set_twin: impl FnOnce(&mut T),
) {
    let twin_vm = fresh();
    let mut twin = unsafe { T::new(root(), 0, twin_vm.clone()) };
    set_twin(&mut twin);
    let by_twin = words(&twin_vm, slot, SLOTS);

    let record_vm = fresh();
    let mut record = unsafe { Record::<SLOTS>::new(slot, 0, record_vm.clone()) };
    record.write(field, mask);
    assert_eq!(words(&record_vm, slot, SLOTS), by_twin, "{field:?}");
    assert_eq!(record.read(field), mask, "{field:?}");

    let record = unsafe { Record::<SLOTS>::new(slot, 0, twin_vm) };
    assert_eq!(record.read(field), mask, "{field:?}");
}

fn max<const B: usize>() -> Uint<B, 1> {
    Uint::MAX
}

#[test]
fn session_fields_keep_the_sdk_layout() {
    let a = Address::repeat_byte(0xff);
    let r = root();
    check::<SessionTwin, 4>(session::STUDENT, r, |t| t.student.set(a));
    check::<SessionTwin, 4>(session::START, r, |t| t.start.set(max()));
    check::<SessionTwin, 4>(session::TOKEN_ID, r, |t| t.token_id.set(max()));
    check::<SessionTwin, 4>(session::STATE, r, |t| t.state.set(max()));
    check::<SessionTwin, 4>(session::FEE_BPS, r, |t| t.fee_bps.set(max()));
    check::<SessionTwin, 4>(session::BOOKED, r, |t| t.booked.set(max()));
    check::<SessionTwin, 4>(session::TUTOR, r, |t| t.tutor.set(a));
    check::<SessionTwin, 4>(session::END, r, |t| t.end.set(max()));
    check::<SessionTwin, 4>(session::CREDENTIAL_KIND, r, |t| {
        t.credential_kind.set(max())
    });
    check::<SessionTwin, 4>(session::START_WINDOW, r, |t| t.start_window.set(max()));
    check::<SessionTwin, 4>(session::RATE, r, |t| t.rate.set(StorageU128Max::MAX));
    check::<SessionTwin, 4>(session::DEPOSITED, r, |t| {
        t.deposited.set(StorageU128Max::MAX)
    });
    check::<SessionTwin, 4>(session::WITHDRAWN, r, |t| {
        t.withdrawn.set(StorageU128Max::MAX)
    });
    check::<SessionTwin, 4>(session::WITHDRAWN_THROUGH, r, |t| {
        t.withdrawn_through.set(max())
    });
}

type StorageU128Max = Uint<128, 2>;

#[test]
fn settings_and_token_entries_keep_the_sdk_layout() {
    let a = Address::repeat_byte(0xff);
    let r = root();
    check::<SettingsTwin, 2>(settings::TREASURY, r, |t| t.treasury.set(a));
    check::<SettingsTwin, 2>(settings::FEE_BPS, r, |t| t.fee_bps.set(max()));
    check::<SettingsTwin, 2>(settings::START_WINDOW, r, |t| t.start_window.set(max()));
    check::<SettingsTwin, 2>(settings::MAX_BACKDATE, r, |t| t.max_backdate.set(max()));
    check_flag::<SettingsTwin, 2>(settings::PAUSED, r, |t| t.paused.set(true));
    check::<SettingsTwin, 2>(settings::CREDENTIALS, r, |t| t.credentials.set(a));
    check::<SettingsTwin, 2>(settings::SESSION_COUNT, r, |t| t.session_count.set(max()));
    check::<SettingsTwin, 2>(settings::TOKEN_COUNT, r, |t| t.token_count.set(max()));
    check::<TokenEntryTwin, 1>(token_entry::ID, r, |t| t.id.set(max()));
    check_flag::<TokenEntryTwin, 1>(token_entry::ALLOWED, r, |t| t.allowed.set(true));
}

#[test]
fn map_values_keep_the_sdk_layout() {
    let key = U256::from(7);
    // Each twin map sits at the slot its field has in `ValuesTwin`.
    let at = |k: u64| key.to_slot(B256::from(root() + U256::from(k)));
    check_flag::<ValuesTwin, 1>(value::FLAG, at(0), |t| t.flag.setter(key).set(true));
    check::<ValuesTwin, 1>(value::ADDRESS, at(1), |t| {
        t.address.setter(key).set(Address::repeat_byte(0xff))
    });
    check::<ValuesTwin, 1>(value::WORD, at(2), |t| t.word.setter(key).set(U256::MAX));
}

#[test]
fn a_write_keeps_the_other_fields_of_its_slot() {
    use session::*;
    let fields = [
        STUDENT,
        START,
        TOKEN_ID,
        STATE,
        FEE_BPS,
        BOOKED,
        TUTOR,
        END,
        CREDENTIAL_KIND,
        START_WINDOW,
        RATE,
        DEPOSITED,
        WITHDRAWN,
        WITHDRAWN_THROUGH,
    ];
    let mut record = unsafe { Record::<4>::new(root(), 0, fresh()) };
    for (i, f) in fields.iter().enumerate() {
        record.write(*f, U256::from(i + 1));
    }
    record.write(STATE, U256::ZERO);
    for (i, f) in fields.iter().enumerate() {
        let want = if *f == STATE { 0 } else { i + 1 };
        assert_eq!(record.read(*f), U256::from(want), "{f:?}");
    }
    // A value wider than its field keeps to its own bytes.
    record.write(TOKEN_ID, U256::MAX);
    assert_eq!(record.uint(TOKEN_ID), 0xffff);
    assert_eq!(record.uint(START), 2);
    assert_eq!(record.uint(STATE), 0);
}
