//! A clock for host tests (motsu fixes `block.timestamp`): the escrow reads time only
//! through `now()`, which in test builds adds this thread's offset. Other crates' tests
//! (badges, ratings) turn it on with the `test-clock` feature; it cannot be compiled
//! into WASM.

use core::cell::Cell;

std::thread_local! {
    static OFFSET: Cell<u64> = const { Cell::new(0) };
}

/// Seconds added to `block.timestamp` on this thread.
pub fn offset() -> u64 {
    OFFSET.with(Cell::get)
}

/// Moves time forward on this thread.
pub fn advance(secs: u64) {
    OFFSET.with(|o| o.set(o.get() + secs));
}

/// Back to motsu's block timestamp.
pub fn reset() {
    OFFSET.with(|o| o.set(0));
}
