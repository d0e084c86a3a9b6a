//! Test support shared by the integration tests: a real Redis server.

pub mod redis;
