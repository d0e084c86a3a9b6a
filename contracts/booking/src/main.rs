//! Prints the booking contract's Solidity interface (functions only; `cargo xtask abi` adds
//! the events and errors).
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]

#[cfg(not(any(test, feature = "export-abi")))]
#[no_mangle]
pub extern "C" fn main() {}

#[cfg(feature = "export-abi")]
fn main() {
    minuto_booking::print_from_args();
}
