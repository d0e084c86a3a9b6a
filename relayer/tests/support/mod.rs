//! Test support shared by the integration tests: a real Redis server (the harness lives
//! in `minuto-anvil`, shared with the matchmaker's tests) and the chain side (anvil, the
//! escrow double, sessions, heartbeat clients). Each test binary uses part of it.
#![allow(dead_code)]

pub mod chain;

pub use minuto_anvil::redis;
