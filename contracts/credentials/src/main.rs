//! Prints the contract's Solidity interface (`cargo run --features export-abi`).
//!
//! The SDK's export leaves out events, errors' parameter names and the functions that come
//! from trait impls; `cargo xtask abi` adds them from the fragments marked in the source.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]

#[cfg(not(any(test, feature = "export-abi")))]
#[no_mangle]
pub extern "C" fn main() {}

#[cfg(feature = "export-abi")]
fn main() {
    minuto_credentials::print_from_args();
}
