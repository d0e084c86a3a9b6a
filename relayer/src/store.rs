//! Where liveness is shared between relayer instances.
//!
//! Several relayers may serve one escrow, each receiving only some heartbeats (a load
//! balancer, DNS round-robin). Each writes the time it heard a party to a
//! [`LivenessStore`]; before stopping a session it reads what *all* of them heard, and
//! only stops when that, too, is older than the silence timeout. The single-instance
//! default is [`MemoryStore`]: the registry's own record is then the whole truth.
//! [`RedisStore`] shares it through Redis (or Valkey), which operators already run.
//!
//! Failure rule: a store that does not answer never causes a stop. While it is down, or
//! for one silence timeout after it answers again (other instances' writes made during
//! the outage may be missing), sessions are not judged silent; they are judged again
//! once the store has been healthy long enough.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy_primitives::{Address, U256};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use url::Url;

use crate::heartbeat::Role;

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Redis refused or did not answer.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer in time.
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
}

/// A future returned by a store.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Last-seen times per session and role, shared by every relayer instance.
pub trait LivenessStore: Send + Sync + std::fmt::Debug + 'static {
    /// Notes that `role` of session `id` was heard at `unix_ms`. Never blocks the
    /// request: writes may be buffered and retried.
    fn record(&self, id: U256, role: Role, unix_ms: u64);

    /// Claims `(sent_at, seq)` as the latest heartbeat of `role` in session `id` across
    /// every instance, atomically: `None` when it is after every pair claimed before (it
    /// is now the latest), or the latest pair `(sent_at, seq)` when some instance already
    /// accepted this heartbeat or a later one (a replay).
    fn claim(
        &self,
        id: U256,
        role: Role,
        sent_at: u64,
        seq: u64,
    ) -> StoreFuture<'_, Option<(u64, u64)>>;

    /// The latest time any instance heard each role (student, tutor), Unix ms.
    fn last_seen(&self, id: U256) -> StoreFuture<'_, [Option<u64>; 2]>;

    /// Whether the store has been answering, and since when.
    fn health(&self) -> Health;
}

/// A store's health, as liveness judging needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Nothing can be missing from it (the in-memory store).
    Always,
    /// Answering without interruption since this instant.
    Since(Instant),
    /// Not answering now.
    Down,
}

/// The single-instance store: nothing to share, the registry's record is complete.
#[derive(Debug, Default)]
pub struct MemoryStore;

impl LivenessStore for MemoryStore {
    fn record(&self, _id: U256, _role: Role, _unix_ms: u64) {}

    fn claim(&self, _: U256, _: Role, _: u64, _: u64) -> StoreFuture<'_, Option<(u64, u64)>> {
        // One instance: the registry's own replay check is the whole truth.
        Box::pin(async { Ok(None) })
    }

    fn last_seen(&self, _id: U256) -> StoreFuture<'_, [Option<u64>; 2]> {
        Box::pin(async { Ok([None, None]) })
    }

    fn health(&self) -> Health {
        Health::Always
    }
}

/// Keeps the larger of the stored and the new time, and refreshes the expiry, for each
/// key: instances racing never move a last-seen time backwards.
const MAX_SET: &str = r"
for i, key in ipairs(KEYS) do
  local v = tonumber(ARGV[i])
  local cur = tonumber(redis.call('GET', key) or '0')
  if v > cur then
    redis.call('SET', key, ARGV[i], 'PX', ARGV[#KEYS + 1])
  else
    redis.call('PEXPIRE', key, ARGV[#KEYS + 1])
  end
end
return #KEYS
";

/// Sets the key to the new `(sent_at, seq)` pair if it is after the stored one and
/// answers `""`, else answers the stored pair. Pairs are two zero-padded 20-digit
/// decimals, so comparing the strings compares the numbers (Lua's own numbers are doubles
/// and would round a large `seq`).
const CLAIM: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur and cur >= ARGV[1] then
  return cur
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ''
";

/// How long shutdown waits for the last writes.
pub const LAST_FLUSH: Duration = Duration::from_secs(2);

/// Keys written per script call.
const BATCH: usize = 512;
/// How long a write waits to be batched with others.
const FLUSH_EVERY: Duration = Duration::from_millis(50);

#[derive(Debug, Default)]
struct Shared {
    pending: Mutex<HashMap<(U256, Role), u64>>,
    wake: Notify,
    healthy_since: Mutex<Option<Instant>>,
}

/// Keeps the later of the pending and the new time for `key`.
fn latest(pending: &mut HashMap<(U256, Role), u64>, key: (U256, Role), ms: u64) {
    pending
        .entry(key)
        .and_modify(|t| *t = ms.max(*t))
        .or_insert(ms);
}

/// A lock that a panic elsewhere never poisons for good: the map and the instant it
/// guards are valid after any update.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<(U256, Role), u64>> {
        lock(&self.pending)
    }

    fn mark(&self, ok: bool) {
        let mut h = lock(&self.healthy_since);
        match (ok, *h) {
            (true, None) => {
                info!("liveness store answering again");
                *h = Some(Instant::now());
            }
            (false, Some(_)) => {
                warn!("liveness store not answering: no session is judged silent until it is back");
                *h = None;
            }
            _ => {}
        }
    }
}

/// Liveness shared through Redis (or Valkey): one key per session and role holding the
/// latest Unix ms any instance heard it, expiring after `ttl` without news.
#[derive(Clone, Debug)]
pub struct RedisStore {
    conn: redis::aio::ConnectionManager,
    prefix: String,
    ttl: Duration,
    timeout: Duration,
    shared: Arc<Shared>,
    script: Arc<redis::Script>,
    claim_script: Arc<redis::Script>,
}

impl RedisStore {
    /// Connects (checking with a `PING`) and starts the background writer, which stops
    /// when `cancel` is cancelled after writing what is pending (within
    /// [`LAST_FLUSH`]); await the returned handle for that. Keys are namespaced by chain
    /// and escrow, so one Redis can serve several deployments.
    ///
    /// # Errors
    /// [`StoreError`] when Redis cannot be reached at start-up.
    pub async fn connect(
        url: &Url,
        chain_id: u64,
        escrow: Address,
        ttl: Duration,
        cancel: CancellationToken,
    ) -> Result<(Self, tokio::task::JoinHandle<()>), StoreError> {
        let timeout = Duration::from_secs(1);
        let client = redis::Client::open(url.as_str())?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = redis::aio::ConnectionManager::new_with_config(client, config).await?;
        let store = Self {
            conn,
            prefix: format!("minuto:relayer:{chain_id}:{escrow}"),
            ttl,
            timeout,
            shared: Arc::default(),
            script: Arc::new(redis::Script::new(MAX_SET)),
            claim_script: Arc::new(redis::Script::new(CLAIM)),
        };
        let mut conn = store.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        store.shared.mark(true);
        let writer = tokio::spawn(store.clone().run_writer(cancel));
        Ok((store, writer))
    }

    fn key(&self, id: U256, role: Role) -> String {
        format!("{}:{id}:{}", self.prefix, ["s", "t"][role.index()])
    }

    async fn with_timeout<T>(
        &self,
        f: impl Future<Output = Result<T, redis::RedisError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(r) => r.map_err(StoreError::from),
            Err(_) => Err(StoreError::Timeout(self.timeout)),
        }
    }

    /// Writes what is pending; on failure puts it back (keeping the later times).
    async fn flush(&self) -> Result<(), StoreError> {
        let batch: Vec<((U256, Role), u64)> = {
            let mut p = self.shared.pending();
            p.drain().collect()
        };
        for (i, chunk) in batch.chunks(BATCH).enumerate() {
            let mut invocation = self.script.prepare_invoke();
            for ((id, role), _) in chunk {
                invocation.key(self.key(*id, *role));
            }
            for (_, ms) in chunk {
                invocation.arg(*ms);
            }
            invocation.arg(self.ttl.as_millis() as u64);
            let mut conn = self.conn.clone();
            let written: Result<i64, StoreError> =
                self.with_timeout(invocation.invoke_async(&mut conn)).await;
            if let Err(e) = written {
                let mut p = self.shared.pending();
                for &(key, ms) in &batch[i * BATCH..] {
                    latest(&mut p, key, ms);
                }
                return Err(e);
            }
        }
        Ok(())
    }

    async fn run_writer(self, cancel: CancellationToken) {
        loop {
            tokio::select! {
                () = self.shared.wake.notified() => {}
                () = tokio::time::sleep(FLUSH_EVERY) => {}
                () = cancel.cancelled() => break,
            }
            // Let a burst of heartbeats gather into one script call.
            tokio::time::sleep(Duration::from_millis(5)).await;
            let empty = self.shared.pending().is_empty();
            if empty {
                continue;
            }
            match self.flush().await {
                Ok(()) => self.shared.mark(true),
                Err(e) => {
                    warn!(error = %e, "liveness store write failed; will retry");
                    self.shared.mark(false);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        // Last writes on the way out, so the other instances see them.
        match tokio::time::timeout(LAST_FLUSH, self.flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!(error = %e, "liveness store: last writes lost at shutdown"),
            Err(_) => warn!("liveness store: last writes not done within {LAST_FLUSH:?}, lost"),
        }
    }
}

impl LivenessStore for RedisStore {
    fn record(&self, id: U256, role: Role, unix_ms: u64) {
        let mut p = self.shared.pending();
        latest(&mut p, (id, role), unix_ms);
        let first = p.len() == 1;
        drop(p);
        if first {
            self.shared.wake.notify_one();
        }
    }

    fn claim(
        &self,
        id: U256,
        role: Role,
        sent_at: u64,
        seq: u64,
    ) -> StoreFuture<'_, Option<(u64, u64)>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let mut invocation = self.claim_script.prepare_invoke();
            invocation
                .key(format!("{}:seq", self.key(id, role)))
                .arg(format!("{sent_at:020}{seq:020}"))
                .arg(self.ttl.as_millis() as u64);
            let got: Result<String, StoreError> =
                self.with_timeout(invocation.invoke_async(&mut conn)).await;
            self.shared.mark(got.is_ok());
            let got = got?;
            if got.is_empty() {
                return Ok(None);
            }
            let pair = (got.len() == 40)
                .then(|| Some((got[..20].parse().ok()?, got[20..].parse().ok()?)))
                .flatten();
            // Anything else under our key was not written by us: refuse, never accept.
            Ok(Some(pair.unwrap_or((u64::MAX, u64::MAX))))
        })
    }

    fn last_seen(&self, id: U256) -> StoreFuture<'_, [Option<u64>; 2]> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let keys = [self.key(id, Role::Student), self.key(id, Role::Tutor)];
            let got: Result<(Option<u64>, Option<u64>), StoreError> = self
                .with_timeout(redis::cmd("MGET").arg(&keys).query_async(&mut conn))
                .await;
            self.shared.mark(got.is_ok());
            let (student, tutor) = got?;
            Ok([student, tutor])
        })
    }

    fn health(&self) -> Health {
        let since = *lock(&self.shared.healthy_since);
        since.map_or(Health::Down, Health::Since)
    }
}
