//! `minuto-relayer`: signed heartbeats in, on-chain `stopAt` out when a peer goes silent.
//!
//! - [`follower`] reads the escrow's events (confirmations, bounded ranges, reorg
//!   checkpoints, a saved cursor: `minuto_chain::follower`) into the
//!   [`sessions::Registry`];
//! - [`api`] serves `POST /v1/heartbeat` (EIP-712 signed, see [`heartbeat`]), health and
//!   readiness publicly, status and metrics on the admin listener; [`server`] is the
//!   HTTP front (timeouts, connection limit, client address behind trusted proxies);
//! - [`store`] shares what each instance heard (in memory, or Redis for several);
//! - [`liveness`] holds the rule that decides when and at what time a session stops,
//!   [`stopper`] applies it (deadline engine, shared-store check, stop submission);
//! - [`submit`] sends `stopAt` safely (nonces, fee bumping, retries, idempotence) through
//!   the [`chain::Chain`] trait, implemented for JSON-RPC nodes by [`evm::EvmChain`]
//!   (an alloy provider, the escrow's bindings from `minuto-chain`).
//!
//! [`spawn`] starts everything and returns a [`Handle`]; `main` only parses the config
//! and waits for a signal.

pub mod api;
pub mod chain;
pub mod clock;
pub mod config;
pub mod escrow;
pub mod evm;
pub mod follower;
pub mod heartbeat;
pub mod liveness;
pub mod metrics;
pub mod ratelimit;
pub mod server;
pub mod sessions;
pub mod stopper;
pub mod store;
pub mod submit;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::api::ApiState;
use crate::chain::{Chain, ChainError};
use crate::clock::Clock;
use crate::config::Config;
use crate::evm::{ConnectError, EvmChain};
use crate::follower::{CursorError, Deployment, Follower, FollowerConfig, SyncStatus};
use crate::heartbeat::HeartbeatDomain;
use crate::liveness::LivenessConfig;
use crate::metrics::Metrics;
use crate::ratelimit::IpLimiter;
use crate::sessions::Registry;
use crate::stopper::StopperConfig;

/// Everything that can stop the relayer from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The chain or escrow failed a start-up check.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// A chain call failed at start-up.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The cursor file is unusable.
    #[error(transparent)]
    Cursor(#[from] CursorError),
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The shared liveness store is unreachable at start-up.
    #[error("liveness store: {0}")]
    Store(#[from] store::StoreError),
    /// The HTTP server failed.
    #[error("http server: {0}")]
    Server(std::io::Error),
    /// A task panicked.
    #[error("task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Capacity of the queue between the liveness engine and the stop submitter.
pub const STOP_QUEUE: usize = 1024;

/// How long a shared last-seen time outlives its last update (sessions end; keys go).
pub const STORE_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// A running relayer.
#[derive(Debug)]
pub struct Handle {
    /// Where the public HTTP API (heartbeats, health) listens.
    pub local_addr: SocketAddr,
    /// Where the admin endpoints (session status, metrics) listen.
    pub admin_addr: SocketAddr,
    /// Watched sessions (for tests and embedding).
    pub registry: Arc<Registry>,
    pub metrics: Arc<Metrics>,
    sync: watch::Receiver<SyncStatus>,
    cancel: CancellationToken,
    server_stop: CancellationToken,
    workers: Vec<JoinHandle<()>>,
    servers: Vec<JoinHandle<std::io::Result<()>>>,
    store_stop: CancellationToken,
    store_writer: Option<JoinHandle<()>>,
}

impl Handle {
    /// A token that, when cancelled, starts the shutdown (what a signal handler does).
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// The follower's progress.
    pub fn sync_status(&self) -> SyncStatus {
        *self.sync.borrow()
    }

    /// Waits until the follower has caught up with the confirmed head.
    pub async fn wait_synced(&mut self) {
        let _ = self.sync.wait_for(|s| s.caught_up).await;
    }

    /// Stops the workers (follower saves its cursor; in-flight stops get the drain
    /// bound), then the HTTP server, then writes what is pending to the shared store
    /// (within [`store::LAST_FLUSH`]).
    ///
    /// # Errors
    /// [`Error::Task`] if a worker panicked, [`Error::Server`] if the server failed.
    pub async fn shutdown(self) -> Result<(), Error> {
        self.cancel.cancel();
        self.finish().await
    }

    /// Waits for [`Handle::cancel_token`] to be cancelled, then shuts down.
    ///
    /// # Errors
    /// As [`Handle::shutdown`].
    pub async fn wait(self) -> Result<(), Error> {
        self.cancel.cancelled().await;
        self.finish().await
    }

    async fn finish(self) -> Result<(), Error> {
        let mut result = Ok(());
        // The first error is reported; every part is still stopped.
        let mut keep =
            |r: Result<(), Error>| result = std::mem::replace(&mut result, Ok(())).and(r);
        for worker in self.workers {
            keep(worker.await.map_err(Error::Task));
        }
        self.server_stop.cancel();
        for server in self.servers {
            keep(
                server
                    .await
                    .map_err(Error::Task)
                    .and_then(|r| r.map_err(Error::Server)),
            );
        }
        self.store_stop.cancel();
        if let Some(writer) = self.store_writer {
            keep(writer.await.map_err(Error::Task));
        }
        info!("relayer stopped");
        result
    }
}

/// Starts the relayer against the JSON-RPC node in `config`.
///
/// # Errors
/// [`Error`] when a start-up check fails (node, chain id, escrow, relayer role, cursor
/// file, listen address).
pub async fn spawn(config: Config) -> Result<Handle, Error> {
    let chain = EvmChain::connect(&config).await?;
    // `connect` refuses a config without a key.
    let relayer = config.key.as_ref().map(config::RelayerKey::address);
    info!(relayer = %relayer.unwrap_or_default(), escrow = %config.escrow, chain_id = config.chain_id, "connected");
    spawn_with(config, Arc::new(chain), Clock::system()).await
}

/// Starts the relayer over any [`Chain`] (tests use fakes) and clock.
///
/// # Errors
/// As [`spawn`].
pub async fn spawn_with<C: Chain>(
    config: Config,
    chain: Arc<C>,
    clock: Clock,
) -> Result<Handle, Error> {
    // reqwest (alloy's transport) is built without a TLS crypto provider of its own.
    minuto_chain::install_tls();
    let chain_backdate = chain.max_backdate().await?;
    let configured = config.max_backdate.map(|d| d.as_secs());
    if configured.is_some_and(|d| d > chain_backdate) {
        warn!(
            ?configured,
            escrow = chain_backdate,
            "max_backdate above the escrow's; using the escrow's"
        );
    }
    let max_backdate = configured.map_or(chain_backdate, |d| d.min(chain_backdate));
    let deployment = Deployment {
        chain_id: config.chain_id,
        escrow: config.escrow,
    };
    let cursor: Option<follower::Cursor> =
        follower::load_cursor(&config.cursor_file, config.chain_id, config.escrow)?;
    let liveness = LivenessConfig {
        silence_timeout: config.silence_timeout,
        ping_interval: config.ping_interval,
        grace_period: config.grace_period,
        started: clock.now(),
    };
    let cancel = CancellationToken::new();
    // The store's writer stops after the HTTP server, so heartbeats accepted while it
    // drains still reach the other instances.
    let store_stop = CancellationToken::new();
    let mut store_writer = None;
    let store: Arc<dyn store::LivenessStore> = match &config.redis_url {
        Some(url) => {
            let (s, writer) = store::RedisStore::connect(
                url,
                config.chain_id,
                config.escrow,
                STORE_TTL,
                store_stop.clone(),
            )
            .await?;
            info!(redis = ?url.host_str(), "liveness shared through redis");
            store_writer = Some(writer);
            Arc::new(s)
        }
        None => Arc::new(store::MemoryStore),
    };
    // Withdrawable figures follow the escrow's own window, not the operator's bound.
    let registry = Arc::new(
        Registry::new(clock, liveness, config.api.session_rate(), chain_backdate).with_store(store),
    );
    let next_block = match &cursor {
        Some(c) => {
            registry.rewind(&c.sessions);
            info!(
                next_block = c.next_block,
                sessions = c.sessions.len(),
                "resumed from cursor"
            );
            c.next_block
        }
        None => config.start_block,
    };
    let metrics = Arc::new(Metrics::new());
    let (listener, local_addr) = bind(config.listen).await?;
    let (admin_listener, admin_addr) = bind(config.admin_listen).await?;

    let (sync_tx, sync_rx) = watch::channel(SyncStatus {
        next_block,
        // `spawn` checked the relayer set at start-up; the follower re-checks each poll.
        authorized: true,
        ..SyncStatus::default()
    });
    let server_stop = CancellationToken::new();
    let (stop_tx, stop_rx) = mpsc::channel(STOP_QUEUE);

    let follower = Follower::new(
        chain.clone(),
        registry.clone(),
        metrics.clone(),
        FollowerConfig {
            confirmations: config.confirmations,
            start_block: config.start_block,
            cursor_file: config.cursor_file.clone(),
            chunk_blocks: config.log_chunk_blocks,
            poll_interval: config.poll_interval,
        },
        deployment,
        next_block,
        sync_tx,
    );
    let stopper_cfg = StopperConfig {
        max_backdate,
        concurrency: config.tx.concurrency,
        retry_after: config.tx.retry_after,
        drain: config.shutdown_drain,
    };
    let workers = vec![
        tokio::spawn(follower.run(cancel.clone())),
        tokio::spawn(stopper::run_engine(
            registry.clone(),
            metrics.clone(),
            stop_tx,
            cancel.clone(),
        )),
        tokio::spawn(stopper::run_stopper(
            chain,
            registry.clone(),
            metrics.clone(),
            stop_rx,
            stopper_cfg,
            cancel.clone(),
        )),
    ];

    let state = Arc::new(ApiState {
        registry: registry.clone(),
        domain: HeartbeatDomain::new(config.chain_id, config.escrow),
        metrics: metrics.clone(),
        limits: config.api,
        ip_limiter: IpLimiter::new(config.api.ip_rate(), 100_000),
        sync: sync_rx.clone(),
        clock,
        http: config.http.clone(),
    });
    let apps = [
        (listener, api::router(state.clone())),
        (admin_listener, api::admin_router(state)),
    ];
    let servers = Vec::from(apps.map(|(listener, app)| {
        let (http, drain, stop) = (
            config.http.clone(),
            config.shutdown_drain,
            server_stop.clone(),
        );
        tokio::spawn(async move { server::serve(listener, app, &http, drain, stop).await })
    }));
    info!(%local_addr, %admin_addr, max_backdate, "relayer running");
    Ok(Handle {
        local_addr,
        admin_addr,
        registry,
        metrics,
        sync: sync_rx,
        cancel,
        server_stop,
        workers,
        servers,
        store_stop,
        store_writer,
    })
}

async fn bind(addr: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), Error> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| Error::Bind { addr, source })?;
    Ok((listener, local))
}
