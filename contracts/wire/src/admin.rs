//! A two-step admin role: the admin names a successor, who must accept. A mistyped
//! address can never take the role, and the role can never be left empty.
//!
//! Two storage forms of the same role, with the same layout (two slots, an address
//! right-aligned in each) and the same methods: [`Admin`] on the SDK's `StorageAddress`,
//! and [`PackedAdmin`] on a [`Record`], whose accessors link no panic (and so no
//! formatting code) into a contract that has no other SDK accessor that would.

use alloc::vec::Vec;
use alloy_primitives::Address;
use alloy_sol_types::{sol, SolEvent};
use stylus_sdk::{prelude::*, storage::StorageAddress};

use crate::{
    log,
    storage::{Field, Record},
    Word,
};

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

/// [`Admin`] in a [`Record`]: the same slots (tested), the same methods.
#[storage]
pub struct PackedAdmin {
    roles: Record<2>,
}

/// [`PackedAdmin`]'s admin.
const ADMIN: Field = Field::new(0, 12, 20);
/// [`PackedAdmin`]'s successor named and not yet accepted.
const PENDING: Field = Field::new(1, 12, 20);

/// The role's two addresses in storage.
pub(crate) trait Roles {
    fn admin(&self) -> Address;
    fn pending(&self) -> Address;
    fn set_admin(&mut self, admin: Address);
    fn set_pending(&mut self, pending: Address);
}

impl Roles for Admin {
    fn admin(&self) -> Address {
        self.admin.get()
    }
    fn pending(&self) -> Address {
        self.pending.get()
    }
    fn set_admin(&mut self, admin: Address) {
        self.admin.set(admin);
    }
    fn set_pending(&mut self, pending: Address) {
        self.pending.set(pending);
    }
}

impl Roles for PackedAdmin {
    fn admin(&self) -> Address {
        self.roles.address(ADMIN)
    }
    fn pending(&self) -> Address {
        self.roles.address(PENDING)
    }
    fn set_admin(&mut self, admin: Address) {
        self.roles.set_address(ADMIN, admin);
    }
    fn set_pending(&mut self, pending: Address) {
        self.roles.set_address(PENDING, pending);
    }
}

macro_rules! admin_methods {
    ($($ty:ty),*) => {$(
        impl $ty {
            /// Gives the role to `admin` at deployment (the caller rejects zero); emits
            /// `AdminTransferred(0, admin)`.
            pub fn init(&mut self, admin: Address) {
                self.set_admin(admin);
                transferred(Address::ZERO, admin);
            }

            /// The admin.
            pub fn get(&self) -> Address {
                Roles::admin(self)
            }

            /// The successor named and not yet accepted (zero: none).
            pub fn pending(&self) -> Address {
                Roles::pending(self)
            }

            /// The caller, if it is the admin; otherwise `Err(caller)`.
            pub fn only_admin(&self) -> Result<Address, Address> {
                only_admin(self)
            }

            /// The admin names `successor` (zero cancels); emits `AdminTransferStarted`.
            /// `Err(caller)` unless the caller is the admin.
            pub fn transfer(&mut self, successor: Address) -> Result<(), Address> {
                transfer(self, successor)
            }

            /// The named successor takes the role; emits `AdminTransferred`. `Err(caller)`
            /// unless the caller is the named successor.
            pub fn accept(&mut self) -> Result<(), Address> {
                accept(self)
            }
        }
    )*};
}

admin_methods!(Admin, PackedAdmin);

#[allow(deprecated)]
fn only_admin(roles: &impl Roles) -> Result<Address, Address> {
    let caller = stylus_sdk::msg::sender();
    if caller != roles.admin() {
        return Err(caller);
    }
    Ok(caller)
}

fn transfer(roles: &mut impl Roles, successor: Address) -> Result<(), Address> {
    let admin = only_admin(roles)?;
    roles.set_pending(successor);
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

#[allow(deprecated)]
fn accept(roles: &mut impl Roles) -> Result<(), Address> {
    let caller = stylus_sdk::msg::sender();
    if caller.is_zero() || caller != roles.pending() {
        return Err(caller);
    }
    let previous = roles.admin();
    roles.set_admin(caller);
    roles.set_pending(Address::ZERO);
    transferred(previous, caller);
    Ok(())
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
