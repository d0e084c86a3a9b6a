//! Prints the badges contract's Solidity interface (functions only; `cargo xtask abi` adds the
//! events and errors).
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]

#[cfg(feature = "export-abi")]
fn main() {
    minuto_badges::print_from_args();
}
