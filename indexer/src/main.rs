//! `minuto-indexer` binary: read the configuration, ingest and serve until SIGTERM or
//! Ctrl-C.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use minuto_indexer::config::Cli;
use minuto_indexer::{spawn, Settings, Store};
use tracing::{error, info};

#[tokio::main]
async fn main() -> ExitCode {
    let cfg = match Cli::parse().resolve() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("minuto-indexer: {e}");
            return ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    if cfg.log_format == "json" {
        logs.json().init();
    } else {
        logs.init();
    }
    match run(cfg).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cfg: minuto_indexer::config::Config) -> anyhow::Result<()> {
    let contracts = cfg.contracts()?;
    let provider = minuto_chain::http_provider(&cfg.rpc_url, Duration::from_secs(30))?;
    let store = Store::open(&cfg.database_url).await?.named(&cfg.instance);
    let mut handle = spawn(Settings {
        listen: cfg.listen,
        provider,
        store,
        contracts: contracts.clone(),
        ingest: cfg.ingest.clone(),
        allowed_origins: cfg.allowed_origins.clone(),
        notify: minuto_indexer::NotifyConfig::default(),
        webhooks: cfg.webhooks.clone(),
    })
    .await?;
    info!(
        listen = %handle.local_addr,
        chain_id = contracts.chain_id,
        rpc = %minuto_chain::network::shown(&cfg.rpc_url),
        backend = ?handle.store.backend(),
        webhooks = cfg.webhooks.len(),
        "indexer running"
    );
    tokio::select! {
        () = shutdown_signal() => {
            info!("shutting down");
            handle.shutdown().await?;
        }
        r = handle.ingestion_stopped() => {
            r?;
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
