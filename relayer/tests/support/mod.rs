//! Test support shared by the integration tests: a real Redis server (the harness lives
//! in `minuto-anvil`, shared with the matchmaker's tests).

pub use minuto_anvil::redis;
