//! Tests of `minuto_relayer::clock` through its public API.

use minuto_relayer::clock::*;
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn unix_follows_paused_time() {
    let clock = Clock::starting_at(1_700_000_000_500);
    assert_eq!(clock.now_unix(), 1_700_000_000);
    tokio::time::advance(Duration::from_millis(600)).await;
    assert_eq!(clock.now_unix(), 1_700_000_001);
    assert_eq!(clock.unix_ms_of(clock.now()), 1_700_000_001_100);
    let at = clock.instant_of(1_700_000_005);
    assert_eq!(clock.unix_ms_of(at), 1_700_000_005_000);
}
