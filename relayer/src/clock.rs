//! One source of time for the relayer.
//!
//! Silence is measured on tokio's monotonic clock, so liveness tests run on paused time.
//! Unix timestamps (what `stopAt` takes and what clients put in `sent_at`) are derived
//! from the same monotonic clock and a wall-clock reading taken once at start-up: a
//! wall-clock step (NTP, an operator's `date`) can therefore neither fire nor hide a stop.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Maps tokio instants to Unix time and back.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    base: Instant,
    base_unix_ms: u64,
}

impl Clock {
    /// A clock anchored at the system's wall time now.
    pub fn system() -> Self {
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Self::starting_at(unix_ms)
    }

    /// A clock whose `now` is `unix_ms` milliseconds after the epoch (tests).
    pub fn starting_at(unix_ms: u64) -> Self {
        Self {
            base: Instant::now(),
            base_unix_ms: unix_ms,
        }
    }

    /// The monotonic now.
    pub fn now(&self) -> Instant {
        Instant::now()
    }

    /// Unix milliseconds at `instant`.
    pub fn unix_ms_of(&self, instant: Instant) -> u64 {
        match instant.checked_duration_since(self.base) {
            Some(after) => self.base_unix_ms.saturating_add(after.as_millis() as u64),
            None => self
                .base_unix_ms
                .saturating_sub(self.base.duration_since(instant).as_millis() as u64),
        }
    }

    /// Unix seconds at `instant` (rounded down).
    pub fn unix_of(&self, instant: Instant) -> u64 {
        self.unix_ms_of(instant) / 1000
    }

    /// Unix seconds now.
    pub fn now_unix(&self) -> u64 {
        self.unix_of(Instant::now())
    }

    /// The instant at which Unix second `unix` begins (clamped to the clock's range).
    pub fn instant_of(&self, unix: u64) -> Instant {
        self.instant_of_ms(unix.saturating_mul(1000))
    }

    /// The instant of Unix millisecond `target_ms` (clamped to the clock's range).
    pub fn instant_of_ms(&self, target_ms: u64) -> Instant {
        if target_ms >= self.base_unix_ms {
            let ahead = Duration::from_millis(target_ms - self.base_unix_ms);
            // Far-future dates (a session that never runs dry) saturate to ~30 years.
            let ahead = ahead.min(Duration::from_secs(30 * 365 * 24 * 3600));
            self.base + ahead
        } else {
            let behind = Duration::from_millis(self.base_unix_ms - target_ms);
            self.base.checked_sub(behind).unwrap_or(self.base)
        }
    }
}
