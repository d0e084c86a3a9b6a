//! Token buckets for flood control: one per session (in the session record) and one per
//! client IP.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use tokio::time::Instant;

/// A sustained rate and a burst.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Tokens added per second.
    pub per_second: f64,
    pub burst: f64,
}

/// One token bucket.
#[derive(Clone, Copy, Debug)]
pub struct Bucket {
    tokens: f32,
    last: Instant,
}

impl Bucket {
    /// A bucket that starts full.
    pub fn full(rate: Rate, now: Instant) -> Self {
        Self {
            tokens: rate.burst as f32,
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, rate: Rate, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        let refilled = (f64::from(self.tokens) + elapsed * rate.per_second).min(rate.burst);
        if refilled >= 1.0 {
            self.tokens = (refilled - 1.0) as f32;
            true
        } else {
            self.tokens = refilled as f32;
            false
        }
    }
}

/// Per-client buckets, an IPv4 address or an IPv6 /64 each (one host commonly holds a
/// whole /64). When the map has grown to `max_tracked`, idle (refilled) buckets are
/// pruned, at most once a second; meanwhile a new client is refused. Memory and the work
/// under the lock stay bounded under address churn.
#[derive(Debug)]
pub struct IpLimiter {
    rate: Rate,
    max_tracked: usize,
    /// The buckets, and when they were last pruned.
    buckets: Mutex<(HashMap<IpAddr, Bucket>, Option<Instant>)>,
}

/// How often a full table is pruned at most.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl IpLimiter {
    /// A limiter allowing `rate` per client.
    pub fn new(rate: Rate, max_tracked: usize) -> Self {
        Self {
            rate,
            max_tracked,
            buckets: Mutex::new((HashMap::new(), None)),
        }
    }

    /// Whether `ip` may make one more request now.
    pub fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
            v4 => v4,
        };
        let mut guard = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let (buckets, pruned) = &mut *guard;
        if buckets.len() >= self.max_tracked && !buckets.contains_key(&ip) {
            if pruned.is_some_and(|at| now.saturating_duration_since(at) < PRUNE_EVERY) {
                return false;
            }
            *pruned = Some(now);
            let full_after = self.rate.burst / self.rate.per_second.max(f64::MIN_POSITIVE);
            buckets.retain(|_, b| now.saturating_duration_since(b.last).as_secs_f64() < full_after);
            if buckets.len() >= self.max_tracked {
                return false;
            }
        }
        buckets
            .entry(ip)
            .or_insert_with(|| Bucket::full(self.rate, now))
            .take(self.rate, now)
    }
}
