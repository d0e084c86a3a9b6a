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

#[tokio::test(start_paused = true)]
async fn ip_limiter_keys_ipv6_by_64_and_prunes_a_full_table_once_a_second() {
    let rate = Rate {
        per_second: 2.0,
        burst: 1.0,
    };
    let limiter = IpLimiter::new(rate, 2);
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    // One host's /64 is one client, whichever of its addresses it uses.
    assert!(limiter.allow(ip("2001:db8:1:2::1"), Instant::now()));
    assert!(!limiter.allow(ip("2001:db8:1:2:ffff::9"), Instant::now()));
    assert!(limiter.allow(ip("2001:db8:1:3::1"), Instant::now()));
    // Full of busy buckets: refused, after one prune.
    assert!(!limiter.allow(ip("10.0.0.1"), Instant::now()));
    // Idle after 0.5 s, but the last prune is less than a second old: still refused.
    tokio::time::advance(Duration::from_millis(600)).await;
    assert!(!limiter.allow(ip("10.0.0.2"), Instant::now()));
    tokio::time::advance(Duration::from_millis(500)).await;
    assert!(limiter.allow(ip("10.0.0.3"), Instant::now()));
}
