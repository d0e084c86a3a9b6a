//! Tests of `minuto_relayer::ratelimit` through its public API.

use minuto_relayer::ratelimit::*;
use std::net::IpAddr;
use std::time::Duration;
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn bucket_allows_burst_then_refills_at_rate() {
    let rate = Rate {
        per_second: 2.0,
        burst: 3.0,
    };
    let mut b = Bucket::full(rate, Instant::now());
    assert!(b.take(rate, Instant::now()));
    assert!(b.take(rate, Instant::now()));
    assert!(b.take(rate, Instant::now()));
    assert!(!b.take(rate, Instant::now()));
    tokio::time::advance(Duration::from_millis(500)).await;
    assert!(b.take(rate, Instant::now()));
    assert!(!b.take(rate, Instant::now()));
}

#[tokio::test(start_paused = true)]
async fn ip_limiter_is_per_address_and_bounded() {
    let rate = Rate {
        per_second: 1.0,
        burst: 1.0,
    };
    let limiter = IpLimiter::new(rate, 2);
    let a: IpAddr = "10.0.0.1".parse().unwrap();
    let b: IpAddr = "10.0.0.2".parse().unwrap();
    let c: IpAddr = "10.0.0.3".parse().unwrap();
    assert!(limiter.allow(a, Instant::now()));
    assert!(!limiter.allow(a, Instant::now()));
    assert!(limiter.allow(b, Instant::now()));
    // Table full of busy buckets: a new address is refused rather than growing it.
    assert!(!limiter.allow(c, Instant::now()));
    tokio::time::advance(Duration::from_secs(2)).await;
    assert!(limiter.allow(c, Instant::now()));
}
