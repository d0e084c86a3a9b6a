//! `minuto-matchmaker`: "find a tutor now".
//!
//! A student asks for a tutor now (language, level, maximum rate, optional credential, a
//! spending cap); the matchmaker proposes the lesson to one online tutor at a time, each
//! with a short deadline, and the first tutor to accept on the proposal's terms gets it.
//! The accept is the tutor's signed EIP-712 acceptance, which the student's
//! one-transaction `openAccepted` takes: the matchmaker never holds money nor keys.
//!
//! - [`pool`]: the matching rule, a state machine without I/O;
//! - [`hub`]: the pool behind a lock, the chain checks around it, the clients, the timers;
//! - [`auth`]: Sign-In with Ethereum and session tokens;
//! - [`protocol`]: the WebSocket messages; [`server`]: the HTTP and WebSocket front;
//! - [`chain`]: the chain reads, behind a trait; [`rooms`]: where a matched pair meets;
//! - [`sessions`]: who is teaching now, from the escrow's events (the shared follower);
//! - [`client`]: a client as a dApp would write one (examples, tests, the e2e suite).
//!
//! [`spawn`] starts everything and returns a [`Handle`].

pub mod auth;
pub mod chain;
pub mod client;
pub mod cluster;
pub mod config;
pub mod hub;
pub mod metrics;
pub mod pool;
pub mod protocol;
pub mod rooms;
pub mod server;
pub mod sessions;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use pool::{
    Closed, Config, Event, Language, Level, MatchError, NoMatch, Pool, Profile, Request, Terms,
};

use crate::auth::{Auth, AuthConfig};
use crate::chain::ChainView;
use crate::hub::{Hub, HubConfig};
use crate::metrics::Metrics;
use crate::rooms::Rooms;
use crate::sessions::{EscrowSource, Live, LiveSessions};
use minuto_chain::follower::{
    load_cursor, CursorError, Deployment, EventSink, Follower, FollowerConfig,
};

/// What [`spawn`] needs besides the chain.
pub struct Settings {
    /// Public listener.
    pub listen: SocketAddr,
    /// Admin listener (metrics).
    pub admin_listen: SocketAddr,
    /// The hub.
    pub hub: HubConfig,
    /// Sign-in.
    pub auth: AuthConfig,
    /// Browser origins for the sign-in endpoints (empty: any).
    pub allowed_origins: Vec<String>,
    /// Most WebSocket connections.
    pub max_connections: usize,
    /// Messages per second per client.
    pub messages_per_second: u32,
    /// The room provider.
    pub rooms: Box<dyn Rooms>,
    /// Where to follow the escrow's events (busy/free tutors); `None`: not followed.
    pub follow: Option<Follow>,
    /// Redis (or Valkey) shared by several instances; `None`: one instance.
    pub cluster_url: Option<String>,
}

/// Following the escrow's session events.
pub struct Follow {
    /// Read provider.
    pub provider: minuto_chain::alloy::providers::DynProvider,
    /// Confirmations, start block, cursor file, range size, poll interval.
    pub config: FollowerConfig,
    /// Chain and escrow (the cursor file is bound to them).
    pub deployment: Deployment,
}

/// Why [`spawn`] failed.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// A listener cannot be bound.
    #[error("cannot listen: {0}")]
    Bind(#[from] std::io::Error),
    /// The follower's cursor file is unusable.
    #[error(transparent)]
    Cursor(#[from] CursorError),
    /// The cluster's Redis cannot be reached.
    #[error(transparent)]
    Cluster(#[from] cluster::ClusterError),
}

/// A running matchmaker.
pub struct Handle<C> {
    /// Where the public listener listens.
    pub local_addr: SocketAddr,
    /// Where the admin listener listens.
    pub admin_addr: SocketAddr,
    /// The hub (for the escrow-event feed and tests).
    pub hub: Arc<Hub<C>>,
    cancel: CancellationToken,
    tasks: JoinSet<()>,
}

impl<C> Handle<C> {
    /// Stops the timers and listeners and waits for them (open sockets close).
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        let drain = async { while self.tasks.join_next().await.is_some() {} };
        let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
        self.tasks.abort_all();
    }
}

/// Binds the listeners and starts the hub's timers and the escrow follower.
///
/// # Errors
/// [`SpawnError`].
pub async fn spawn<C: ChainView>(settings: Settings, chain: C) -> Result<Handle<C>, SpawnError> {
    let metrics = Arc::new(Metrics::new());
    let cluster = match &settings.cluster_url {
        Some(url) => Some(cluster::Cluster::join(url).await?),
        None => None,
    };
    let hub = Arc::new(Hub::new(
        settings.hub,
        chain,
        settings.rooms,
        Arc::clone(&metrics),
        cluster.clone(),
    ));
    let app = server::App {
        hub: Arc::clone(&hub),
        auth: Arc::new(Auth::new(settings.auth)),
        cluster: cluster.clone(),
        metrics: Arc::clone(&metrics),
        slots: Arc::new(Semaphore::new(settings.max_connections)),
        messages_per_second: settings.messages_per_second,
    };
    let public = TcpListener::bind(settings.listen).await?;
    let admin = TcpListener::bind(settings.admin_listen).await?;
    let local_addr = public.local_addr()?;
    let admin_addr = admin.local_addr()?;
    let cancel = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let routes = server::public(app, &settings.allowed_origins);
    let stop = cancel.clone();
    tasks.spawn(async move {
        let serve = axum::serve(public, routes).with_graceful_shutdown(stop.cancelled_owned());
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "public listener failed");
        }
    });
    let stop = cancel.clone();
    let admin_routes = server::admin(metrics);
    tasks.spawn(async move {
        let serve = axum::serve(admin, admin_routes).with_graceful_shutdown(stop.cancelled_owned());
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "admin listener failed");
        }
    });
    tasks.spawn(Arc::clone(&hub).run_deadlines(cancel.clone()));
    tasks.spawn(Arc::clone(&hub).run_credential_refresh(cancel.clone()));
    if let Some(c) = cluster {
        tasks.spawn(c.run(Arc::clone(&hub), cancel.clone()));
    }
    if let Some(f) = settings.follow {
        let sink = LiveSessions::new(Arc::clone(&hub));
        let d = f.deployment;
        let cursor = load_cursor::<Vec<Live>>(&f.config.cursor_file, d.chain_id, d.escrow)?;
        let next = match cursor {
            Some(c) => {
                sink.rewind(Some(&c.sessions));
                c.next_block
            }
            None => f.config.start_block,
        };
        let source = Arc::new(EscrowSource::new(f.provider, d.escrow));
        let mut follower = Follower::new(source, sink, f.config, d, next);
        let stop = cancel.clone();
        tasks.spawn(async move {
            loop {
                if let Err(e) = follower.poll().await {
                    tracing::warn!(error = %e, "escrow follower poll failed");
                }
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(follower.config().poll_interval) => {}
                }
            }
            if let Err(e) = follower.save() {
                tracing::warn!(error = %e, "cannot save the follower's cursor");
            }
        });
    }
    Ok(Handle {
        local_addr,
        admin_addr,
        hub,
        cancel,
        tasks,
    })
}
