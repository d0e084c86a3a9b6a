//! A two-step admin role: the admin names a successor, who must accept. A mistyped
//! address can never take the role, and the role can never be left empty.

use alloc::vec::Vec;
use alloy_primitives::Address;
use alloy_sol_types::{sol, SolEvent};
use stylus_sdk::{prelude::*, storage::StorageAddress};

use crate::{log, Word};

sol! {
    /// `admin` named `pendingAdmin` as its successor (zero: the hand-over was cancelled).
    event AdminTransferStarted(address indexed admin, address indexed pendingAdmin);
    /// `admin` took the role from `previousAdmin` (zero at deployment).
    event AdminTransferred(address indexed previousAdmin, address indexed admin);
}

/// The admin and the successor it named, if any.
#[storage]
pub struct Admin {
    admin: StorageAddress,
    pending: StorageAddress,
}

impl Admin {
    /// Gives the role to `admin` at deployment (the caller rejects zero); emits
    /// `AdminTransferred(0, admin)`.
    pub fn init(&mut self, admin: Address) {
        self.admin.set(admin);
        transferred(Address::ZERO, admin);
    }

    /// The admin.
    pub fn get(&self) -> Address {
        self.admin.get()
    }

    /// The successor named and not yet accepted (zero: none).
    pub fn pending(&self) -> Address {
        self.pending.get()
    }

    /// The caller, if it is the admin; otherwise `Err(caller)`.
    #[allow(deprecated)]
    pub fn only_admin(&self) -> Result<Address, Address> {
        let caller = stylus_sdk::msg::sender();
        if caller != self.admin.get() {
            return Err(caller);
        }
        Ok(caller)
    }

    /// The admin names `successor` (zero cancels); emits `AdminTransferStarted`.
    /// `Err(caller)` unless the caller is the admin.
    pub fn transfer(&mut self, successor: Address) -> Result<(), Address> {
        let admin = self.only_admin()?;
        self.pending.set(successor);
        log(
            &[
                AdminTransferStarted::SIGNATURE_HASH,
                admin.word(),
                successor.word(),
            ],
            &[],
            &[],
        );
        Ok(())
    }

    /// The named successor takes the role; emits `AdminTransferred`. `Err(caller)`
    /// unless the caller is the named successor.
    #[allow(deprecated)]
    pub fn accept(&mut self) -> Result<(), Address> {
        let caller = stylus_sdk::msg::sender();
        if caller.is_zero() || caller != self.pending.get() {
            return Err(caller);
        }
        let previous = self.admin.get();
        self.admin.set(caller);
        self.pending.set(Address::ZERO);
        transferred(previous, caller);
        Ok(())
    }
}

fn transferred(previous: Address, admin: Address) {
    log(
        &[
            AdminTransferred::SIGNATURE_HASH,
            previous.word(),
            admin.word(),
        ],
        &[],
        &[],
    );
}
