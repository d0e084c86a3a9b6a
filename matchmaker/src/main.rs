//! `minuto-matchmaker` binary: parse the configuration, run until SIGTERM or Ctrl-C.

use std::process::ExitCode;

use clap::Parser;
use minuto_chain::follower::{Deployment, FollowerConfig};
use minuto_matchmaker::auth::AuthConfig;
use minuto_matchmaker::chain::EvmChain;
use minuto_matchmaker::config::{secret, Config, ENV_ROOM_SECRET, ENV_SESSION_SECRET};
use minuto_matchmaker::hub::HubConfig;
use minuto_matchmaker::rooms::KeyedRooms;
use minuto_matchmaker::{spawn, Follow, Settings};
use tracing::{error, info};

#[tokio::main]
async fn main() -> ExitCode {
    let cfg = Config::parse();
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

async fn run(cfg: Config) -> anyhow::Result<()> {
    let contracts = cfg.contracts()?;
    let room_secret = secret(ENV_ROOM_SECRET)?;
    let session_secret = secret(ENV_SESSION_SECRET)?;
    let provider = minuto_chain::http_provider(&cfg.rpc_url, std::time::Duration::from_secs(10))?;
    let chain = EvmChain::new(provider.clone(), contracts.escrow, contracts.credentials);
    let follow = Follow {
        provider,
        config: FollowerConfig {
            confirmations: cfg.confirmations,
            start_block: contracts.escrow_block,
            cursor_file: cfg.cursor_file.clone(),
            chunk_blocks: cfg.chunk_blocks,
            poll_interval: cfg.poll_interval,
        },
        deployment: Deployment {
            chain_id: contracts.chain_id,
            escrow: contracts.escrow,
        },
    };
    let settings = Settings {
        listen: cfg.listen,
        admin_listen: cfg.admin_listen,
        hub: HubConfig {
            pool: cfg.pool(),
            chain_id: contracts.chain_id,
            escrow: contracts.escrow,
            min_acceptance_validity: cfg.min_acceptance_validity,
            max_acceptance_validity: cfg.max_acceptance_validity,
            credential_refresh: cfg.credential_ttl / 3,
            outbox: 64,
        },
        auth: AuthConfig {
            domain: cfg.siwe_domain.clone(),
            chain_id: contracts.chain_id,
            nonce_ttl: std::time::Duration::from_secs(300),
            session_ttl: cfg.session_ttl,
            capacity: 100_000,
            secret: session_secret,
        },
        allowed_origins: cfg.allowed_origins.clone(),
        max_connections: cfg.max_connections,
        messages_per_second: cfg.messages_per_second,
        rooms: Box::new(KeyedRooms::new(room_secret, cfg.room_ttl.as_secs())),
        follow: Some(follow),
        cluster_url: cfg.redis_url.clone(),
    };
    let handle = spawn(settings, chain).await?;
    info!(listen = %handle.local_addr, admin = %handle.admin_addr, chain_id = contracts.chain_id, "matchmaker running");
    shutdown_signal().await;
    info!("shutting down");
    handle.shutdown().await;
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
