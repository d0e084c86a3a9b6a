//! Several instances behind one load balancer, sharing a Redis (or Valkey) — the same
//! store the relayer's instances share.
//!
//! A student may reach one instance and the tutor another, and a match needs one pool:
//! so at any time **one instance holds the pool** (the leader, by a lease in Redis that
//! it renews every second and that lapses three seconds after it stops), and the others
//! forward:
//! - a client's message reaching a follower is pushed to the `in` list, which the leader
//!   pops and handles as its own (chain checks included);
//! - every instance records in the `where` hash which addresses it holds sockets for; the
//!   leader delivers a message to a socket it does not hold by publishing it on that
//!   instance's `out` channel.
//!
//! When the lease changes hands the new leader starts from an empty pool and asks every
//! instance to re-send the profiles of the tutors online on it (`resync`); searches and
//! waitlist entries running at that moment are lost and their students must search again.
//! Nothing here holds money: the worst a failover costs is a repeated `find`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alloy_primitives::Address;
use futures_util::StreamExt;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::protocol::{ClientMsg, ServerMsg};

/// The Redis key of the pool's lease (its value: the holder's instance id).
pub const LEADER: &str = "minuto:matchmaker:leader";
/// The Redis list followers forward clients' messages through.
pub const INBOX: &str = "minuto:matchmaker:in";
/// At most this many forwarded messages wait in [`INBOX`]: beyond it (the pool's holder is
/// not keeping up, or no instance holds the pool) a client's message is refused with
/// `overloaded` instead of growing Redis without bound.
pub const INBOX_CAP: usize = 10_000;
const WHERE: &str = "minuto:matchmaker:where";
/// The prefix of the keys of sign-in nonces used (hex id after it), each kept until the
/// nonce expires and [`NONCE_SKEW`] more.
pub const NONCES: &str = "minuto:matchmaker:nonce:";
/// Seconds a used nonce's key outlives the nonce: the clock difference between instances
/// it covers.
pub const NONCE_SKEW: u64 = 60;
const RESYNC: &str = "minuto:matchmaker:resync";
/// How long a leader's lease lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(3);
/// How often the lease is renewed (or sought).
pub const RENEW: Duration = Duration::from_secs(1);

fn out_channel(instance: &str) -> String {
    format!("minuto:matchmaker:out:{instance}")
}

/// What a follower forwards to the leader.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Inbound {
    /// A client's message.
    Msg {
        /// Its signed-in address.
        from: Address,
        /// The message.
        msg: ClientMsg,
    },
    /// The client's socket closed.
    Leave {
        /// Its address.
        from: Address,
    },
}

/// What the leader publishes to the instance holding a socket.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Outbound {
    /// Addressee.
    pub to: Address,
    /// The message.
    pub msg: ServerMsg,
}

/// Cluster failures (Redis unreachable at start-up).
#[derive(Debug, thiserror::Error)]
#[error("redis: {0}")]
pub struct ClusterError(#[from] redis::RedisError);

/// This instance's membership.
pub struct Cluster {
    id: String,
    client: redis::Client,
    conn: redis::aio::ConnectionManager,
    leader: AtomicBool,
    remote: mpsc::Sender<Outbound>,
    remote_rx: std::sync::Mutex<Option<mpsc::Receiver<Outbound>>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("id", &self.id)
            .field("leader", &self.is_leader())
            .finish_non_exhaustive()
    }
}

/// What the cluster asks of the hub.
pub trait Member: Send + Sync + 'static {
    /// Handles a forwarded message as if it came from a local socket (leader only).
    fn inbound(
        self: &Arc<Self>,
        from: Address,
        msg: ClientMsg,
    ) -> impl std::future::Future<Output = ()> + Send;
    /// A forwarded socket close (leader only).
    fn left(&self, from: Address);
    /// Delivers to a local socket.
    fn deliver(&self, to: Address, msg: ServerMsg);
    /// This instance just became leader: start from an empty pool.
    fn reset(&self);
    /// Re-sends the profiles of the tutors online on this instance (`resync`).
    fn resync(self: &Arc<Self>) -> impl std::future::Future<Output = ()> + Send;
}

impl Cluster {
    /// Joins the cluster at `url` as a new instance (a random id).
    ///
    /// # Errors
    /// Redis cannot be reached.
    pub async fn join(url: &str) -> Result<Arc<Self>, ClusterError> {
        let client = redis::Client::open(url)?;
        let conn = client.get_connection_manager().await?;
        let id = alloy_primitives::hex::encode(rand::random::<[u8; 8]>());
        let (remote, rx) = mpsc::channel(4_096);
        Ok(Arc::new(Self {
            id,
            client,
            conn,
            leader: AtomicBool::new(false),
            remote,
            remote_rx: std::sync::Mutex::new(Some(rx)),
        }))
    }

    /// This instance's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether this instance holds the pool now.
    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Acquire)
    }

    /// Forwards a local client's message to the leader; `false` when it could not be
    /// queued ([`INBOX`] holds [`INBOX_CAP`] messages already, or Redis is unreachable).
    pub async fn forward(&self, inbound: &Inbound) -> bool {
        let json = serde_json::to_string(inbound).expect("inbound messages serialize");
        // Length check and push in one step, so instances racing cannot overshoot the cap.
        let script = redis::Script::new(
            "if redis.call('LLEN', KEYS[1]) < tonumber(ARGV[1]) then \
             return redis.call('RPUSH', KEYS[1], ARGV[2]) else return 0 end",
        );
        let mut c = self.conn.clone();
        let r: Result<i64, _> = script
            .key(INBOX)
            .arg(INBOX_CAP)
            .arg(json)
            .invoke_async(&mut c)
            .await;
        match r {
            Ok(0) => {
                warn!(cap = INBOX_CAP, "cluster inbox full: a message was refused");
                false
            }
            Ok(_) => true,
            Err(e) => {
                warn!(error = %e, "cannot forward a message to the leader");
                false
            }
        }
    }

    /// Claims a sign-in nonce (`id`, valid until `expiry`) for this cluster: `true` the
    /// first time any instance claims it, `false` after. The key is kept [`NONCE_SKEW`]
    /// past the nonce's expiry by this instance's clock, so an instance whose clock is
    /// behind by less than that still finds it.
    ///
    /// # Errors
    /// Redis cannot be reached.
    pub async fn claim_nonce(
        &self,
        (id, expiry): ([u8; 8], u64),
        unix_now: u64,
    ) -> Result<bool, ClusterError> {
        let key = format!("{NONCES}{}", alloy_primitives::hex::encode(id));
        let mut c = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(key)
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(expiry.saturating_sub(unix_now).saturating_add(NONCE_SKEW))
            .query_async(&mut c)
            .await?;
        Ok(set.is_some())
    }

    /// Records that this instance holds `who`'s socket.
    pub async fn hold(&self, who: Address) {
        let mut c = self.conn.clone();
        if let Err(e) = c
            .hset::<_, _, _, ()>(WHERE, who.to_string(), &self.id)
            .await
        {
            warn!(error = %e, "cannot record a socket in the cluster");
        }
    }

    /// Forgets `who`'s socket, if this instance still holds it.
    pub async fn release(&self, who: Address) {
        let script = redis::Script::new(
            "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then \
             return redis.call('HDEL', KEYS[1], ARGV[1]) else return 0 end",
        );
        let mut c = self.conn.clone();
        let r: Result<i64, _> = script
            .key(WHERE)
            .arg(who.to_string())
            .arg(&self.id)
            .invoke_async(&mut c)
            .await;
        if let Err(e) = r {
            warn!(error = %e, "cannot forget a socket in the cluster");
        }
    }

    /// Queues a message for a socket held by another instance (the leader's sends).
    pub fn send_remote(&self, to: Address, msg: ServerMsg) {
        if self.remote.try_send(Outbound { to, msg }).is_err() {
            warn!(%to, "cluster delivery queue full; message dropped");
        }
    }

    /// Runs the lease, the inbox (while leader), the delivery of remote sends and this
    /// instance's channel, until `cancel`.
    pub async fn run<M: Member>(self: Arc<Self>, member: Arc<M>, cancel: CancellationToken) {
        let rx = self.remote_rx.lock().unwrap().take();
        let Some(rx) = rx else { return };
        tokio::join!(
            Arc::clone(&self).lease(Arc::clone(&member), cancel.clone()),
            Arc::clone(&self).inbox(Arc::clone(&member), cancel.clone()),
            Arc::clone(&self).deliver_remote(rx, cancel.clone()),
            Arc::clone(&self).listen(member, cancel.clone()),
        );
        // Give the lease up at once, so another instance takes over without waiting.
        if self.is_leader() {
            let script = redis::Script::new(
                "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
            );
            let mut c = self.conn.clone();
            let _: Result<i64, _> = script.key(LEADER).arg(&self.id).invoke_async(&mut c).await;
        }
    }

    async fn lease<M: Member>(self: Arc<Self>, member: Arc<M>, cancel: CancellationToken) {
        let renew = redis::Script::new(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then \
             return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else \
             return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0 end",
        );
        let mut tick = tokio::time::interval(RENEW);
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                _ = tick.tick() => {}
            }
            let mut c = self.conn.clone();
            let held: Result<i64, _> = renew
                .key(LEADER)
                .arg(&self.id)
                .arg(LEASE.as_millis() as u64)
                .invoke_async(&mut c)
                .await;
            let now = matches!(held, Ok(1));
            let was = self.leader.swap(now, Ordering::AcqRel);
            if now && !was {
                info!(instance = %self.id, "this instance now holds the pool");
                member.reset();
                let _: Result<i64, _> = c.publish(RESYNC, &self.id).await;
            } else if was && !now {
                warn!(instance = %self.id, "this instance lost the pool's lease");
            }
        }
    }

    async fn inbox<M: Member>(self: Arc<Self>, member: Arc<M>, cancel: CancellationToken) {
        // A connection of its own: BLPOP blocks it.
        let mut conn = loop {
            match self.client.get_multiplexed_async_connection().await {
                Ok(c) => break c,
                Err(e) => {
                    warn!(error = %e, "cluster inbox: cannot connect; retrying");
                    tokio::select! {
                        () = cancel.cancelled() => return,
                        () = tokio::time::sleep(RENEW) => {}
                    }
                }
            }
        };
        loop {
            if cancel.is_cancelled() {
                return;
            }
            if !self.is_leader() {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
                continue;
            }
            let popped: Result<Option<(String, String)>, _> = tokio::select! {
                () = cancel.cancelled() => return,
                r = conn.blpop(INBOX, 0.5) => r,
            };
            match popped {
                Ok(Some((_, json))) => match serde_json::from_str::<Inbound>(&json) {
                    Ok(Inbound::Msg { from, msg }) => member.inbound(from, msg).await,
                    Ok(Inbound::Leave { from }) => member.left(from),
                    Err(e) => warn!(error = %e, "cluster inbox: not a message; skipped"),
                },
                Ok(None) => {}
                Err(e) => {
                    warn!(error = %e, "cluster inbox: read failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    async fn deliver_remote(
        self: Arc<Self>,
        mut rx: mpsc::Receiver<Outbound>,
        cancel: CancellationToken,
    ) {
        loop {
            let out = tokio::select! {
                () = cancel.cancelled() => return,
                o = rx.recv() => match o { Some(o) => o, None => return },
            };
            let mut c = self.conn.clone();
            let holder: Result<Option<String>, _> = c.hget(WHERE, out.to.to_string()).await;
            match holder {
                Ok(Some(instance)) if instance != self.id => {
                    let json = serde_json::to_string(&out).expect("outbound messages serialize");
                    if let Err(e) = c.publish::<_, _, i64>(out_channel(&instance), json).await {
                        warn!(error = %e, "cannot deliver to another instance");
                    }
                }
                // Not connected anywhere (or here, and gone meanwhile): nothing to do.
                Ok(_) => {}
                Err(e) => warn!(error = %e, "cannot look up a socket's instance"),
            }
        }
    }

    async fn listen<M: Member>(self: Arc<Self>, member: Arc<M>, cancel: CancellationToken) {
        loop {
            let mut pubsub = match self.client.get_async_pubsub().await {
                Ok(p) => p,
                Err(e) => {
                    warn!(error = %e, "cluster channel: cannot connect; retrying");
                    tokio::select! {
                        () = cancel.cancelled() => return,
                        () = tokio::time::sleep(RENEW) => continue,
                    }
                }
            };
            if pubsub.subscribe(out_channel(&self.id)).await.is_err()
                || pubsub.subscribe(RESYNC).await.is_err()
            {
                tokio::time::sleep(RENEW).await;
                continue;
            }
            let mut messages = pubsub.on_message();
            loop {
                let m = tokio::select! {
                    () = cancel.cancelled() => return,
                    m = messages.next() => match m { Some(m) => m, None => break },
                };
                if m.get_channel_name() == RESYNC {
                    let member = Arc::clone(&member);
                    tokio::spawn(async move { member.resync().await });
                    continue;
                }
                let Ok(payload) = m.get_payload::<String>() else {
                    continue;
                };
                match serde_json::from_str::<Outbound>(&payload) {
                    Ok(o) => member.deliver(o.to, o.msg),
                    Err(e) => warn!(error = %e, "cluster channel: not a message; skipped"),
                }
            }
        }
    }
}
