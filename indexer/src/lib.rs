//! `minuto-indexer`: every event of the Minuto contracts (escrow, credentials, badges,
//! ratings) in SQLite or PostgreSQL, served as JSON.
//!
//! - [`events`]: decoding a log into what is stored;
//! - [`ingest`]: the shared reorg-safe follower (`minuto_chain::follower`) feeding the
//!   store;
//! - [`store`]: the database (one schema, embedded migrations, both backends);
//! - [`query`]: session history, earnings, progress, profiles, protocol stats;
//! - [`booking`]: bookings, favourite tutors, rebooking and reminders;
//!   [`calendar`]: the iCalendar feed;
//! - [`notify`]: the per-address server-sent-events stream;
//! - [`webhook`]: the same notifications POSTed, signed, to configured endpoints;
//! - [`api`]: the HTTP front; [`dashboard`]: the page it serves at `/dashboard`;
//!   [`config`]: the binary's configuration.
//!
//! [`spawn`] starts ingestion and the API and returns a [`Handle`].

pub mod api;
pub mod booking;
pub mod calendar;
pub mod config;
pub mod dashboard;
pub mod events;
pub mod ingest;
pub mod notify;
pub mod query;
pub mod store;
pub mod webhook;

use std::net::SocketAddr;
use std::time::Duration;

use minuto_chain::alloy::providers::DynProvider;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use ingest::{Contracts, IngestConfig, IngestError, Status};
pub use notify::NotifyConfig;
pub use store::{Store, StoreError};
pub use webhook::Webhook;

/// What [`spawn`] needs.
pub struct Settings {
    /// Where the API listens.
    pub listen: SocketAddr,
    /// Node to read.
    pub provider: DynProvider,
    /// The database.
    pub store: Store,
    /// The followed contracts.
    pub contracts: Contracts,
    /// Confirmations, range size, poll interval.
    pub ingest: IngestConfig,
    /// Browser origins the API answers (empty: any).
    pub allowed_origins: Vec<axum::http::HeaderValue>,
    /// The clock and the notification streams' tick and keep-alive.
    pub notify: NotifyConfig,
    /// Endpoints the notifications are POSTed to.
    pub webhooks: Vec<Webhook>,
}

/// Why [`spawn`] failed.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The listener cannot be bound.
    #[error("cannot listen: {0}")]
    Bind(#[from] std::io::Error),
}

/// A running indexer.
pub struct Handle {
    /// Where the API listens.
    pub local_addr: SocketAddr,
    /// Ingestion's progress (the writer's, on an instance that does not hold the lease).
    pub status: watch::Receiver<Status>,
    /// Whether this instance holds the database's writer lease (ingests and delivers
    /// webhooks); with one instance per database, from its first tick on.
    pub writer: watch::Receiver<bool>,
    /// The database.
    pub store: Store,
    cancel: CancellationToken,
    ingest: JoinHandle<Result<(), IngestError>>,
    server: JoinHandle<()>,
    webhooks: JoinHandle<()>,
}

impl Handle {
    /// Waits until every row of blocks up to `block` (inclusive) is stored, at most
    /// `timeout`. Returns whether it was.
    pub async fn wait_for_block(&self, block: u64, timeout: Duration) -> bool {
        let mut rx = self.status.clone();
        tokio::time::timeout(timeout, rx.wait_for(|s| s.stored > block))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Stops ingestion (between two batches: the database stays consistent), then the
    /// API (requests in flight finish, at most 5 s), then closes the database.
    ///
    /// # Errors
    /// Ingestion's fatal error, if it had stopped on one.
    pub async fn shutdown(self) -> Result<(), IngestError> {
        self.cancel.cancel();
        let ingested = match tokio::time::timeout(Duration::from_secs(10), self.ingest).await {
            Ok(Ok(r)) => r,
            Ok(Err(join)) => {
                tracing::error!(error = %join, "ingestion task panicked");
                Ok(())
            }
            Err(_) => {
                tracing::warn!("ingestion did not stop within 10 s");
                Ok(())
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), self.server).await;
        // Cancelled: a delivery in flight is dropped (its cursor not advanced).
        let _ = self.webhooks.await;
        self.store.close().await;
        ingested
    }

    /// Resolves when ingestion stopped on its own (a fatal error: another deployment's
    /// database).
    pub async fn ingestion_stopped(&mut self) -> Result<(), IngestError> {
        match (&mut self.ingest).await {
            Ok(r) => r,
            Err(_) => Ok(()),
        }
    }
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Binds the API and starts ingestion.
///
/// # Errors
/// [`SpawnError`].
pub async fn spawn(settings: Settings) -> Result<Handle, SpawnError> {
    let listener = TcpListener::bind(settings.listen).await?;
    let local_addr = listener.local_addr()?;
    let cancel = CancellationToken::new();
    // Where the database stands before anything is served: notification streams opened
    // now must not take the rewinds stored before this start for new ones.
    let stored = match settings.store.writer().await {
        Ok(w) => Status {
            stored: w.status.stored,
            rewinds: w.status.rewinds,
            rewound_from: w.status.rewound_from,
            ..Status::default()
        },
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the writer lease at start");
            Status::default()
        }
    };
    let (status_tx, status) = watch::channel(stored);
    let (writer_tx, writer) = watch::channel(false);
    let booking = settings
        .contracts
        .addresses
        .iter()
        .find(|(s, _)| *s == events::Source::Booking)
        .map(|(_, a)| *a);
    let chain_id = settings.contracts.chain_id;
    let ingest = tokio::spawn(ingest::run(
        settings.provider,
        settings.store.clone(),
        settings.contracts,
        settings.ingest,
        settings.notify.clock.clone(),
        status_tx,
        writer_tx,
        cancel.clone(),
    ));
    let shared = webhook::Shared {
        store: settings.store.clone(),
        status: status.clone(),
        notify: settings.notify.clone(),
        client: webhook::client(),
        cancel: cancel.clone(),
    };
    let hooks = settings
        .webhooks
        .into_iter()
        .flat_map(|hook| {
            let hook = std::sync::Arc::new(hook);
            hook.addresses
                .clone()
                .into_iter()
                .map(move |who| (hook.clone(), who))
        })
        .collect();
    let webhooks = tokio::spawn(webhook::serve(hooks, shared, writer.clone()));
    let app = api::App {
        store: settings.store.clone(),
        status: status.clone(),
        writer: writer.clone(),
        notify: settings.notify,
        booking,
        chain_id,
    };
    let stop = cancel.clone();
    let server = tokio::spawn(async move {
        let serve = axum::serve(listener, api::router(app, &settings.allowed_origins))
            .with_graceful_shutdown(stop.cancelled_owned());
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "API listener failed");
        }
    });
    Ok(Handle {
        local_addr,
        status,
        writer,
        store: settings.store,
        cancel,
        ingest,
        server,
        webhooks,
    })
}
