//! Typed configuration: command-line flags, each with a `MINUTO_MATCHMAKER_*` variable,
//! checked once at start-up. Contract addresses and the chain id come from the deploy
//! tool's record (`--deployment deployments/<chain-id>.json`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use alloy_primitives::{hex, Address};
use clap::Parser;
use url::Url;

use crate::pool;

/// Environment variable holding the 32-byte hex secret that keys sign-in nonces and
/// session tokens (the same on every instance).
pub const ENV_SESSION_SECRET: &str = "MINUTO_MATCHMAKER_SESSION_SECRET";
/// Environment variable holding the 32-byte hex secret that keys room join tokens.
pub const ENV_ROOM_SECRET: &str = "MINUTO_MATCHMAKER_ROOM_SECRET";

fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a duration ({e}): write e.g. 30s, 2m, 1h"))
}

/// `minuto-matchmaker`: find a tutor now.
#[derive(Clone, Debug, Parser)]
#[command(version, about)]
pub struct Config {
    /// Public listener: sign-in, WebSocket, health.
    #[arg(long, env = "MINUTO_MATCHMAKER_LISTEN", default_value = "0.0.0.0:8090")]
    pub listen: SocketAddr,
    /// Admin listener: metrics.
    #[arg(
        long,
        env = "MINUTO_MATCHMAKER_ADMIN_LISTEN",
        default_value = "127.0.0.1:9091"
    )]
    pub admin_listen: SocketAddr,
    /// JSON-RPC endpoint of the chain.
    #[arg(long, env = "MINUTO_MATCHMAKER_RPC_URL")]
    pub rpc_url: Url,
    /// The deploy tool's record: chain id, escrow and credentials addresses.
    #[arg(long, env = "MINUTO_MATCHMAKER_DEPLOYMENT")]
    pub deployment: PathBuf,
    /// The dApp's domain that sign-in messages must name (e.g. `app.minuto.example`).
    #[arg(long, env = "MINUTO_MATCHMAKER_SIWE_DOMAIN")]
    pub siwe_domain: String,
    /// Browser origins allowed to call the sign-in endpoints (repeat or comma-separate);
    /// none: any origin.
    #[arg(long, env = "MINUTO_MATCHMAKER_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// How long a tutor has to accept a proposal.
    #[arg(long, env = "MINUTO_MATCHMAKER_PROPOSAL_TTL", default_value = "30s", value_parser = duration)]
    pub proposal_ttl: Duration,
    /// Proposals per search before it ends with no match.
    #[arg(long, env = "MINUTO_MATCHMAKER_MAX_ATTEMPTS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
    /// How long a matched tutor is held for the student's open+start.
    #[arg(long, env = "MINUTO_MATCHMAKER_RESERVATION", default_value = "2m", value_parser = duration)]
    pub reservation: Duration,
    /// How long a waitlisted student waits for a ping.
    #[arg(long, env = "MINUTO_MATCHMAKER_WAITLIST_TTL", default_value = "15m", value_parser = duration)]
    pub waitlist_ttl: Duration,
    /// How long a credential confirmed on chain counts as valid.
    #[arg(long, env = "MINUTO_MATCHMAKER_CREDENTIAL_TTL", default_value = "60s", value_parser = duration)]
    pub credential_ttl: Duration,
    /// Shortest validity an accepted signature must have left.
    #[arg(long, env = "MINUTO_MATCHMAKER_MIN_ACCEPTANCE_VALIDITY", default_value = "2m", value_parser = duration)]
    pub min_acceptance_validity: Duration,
    /// Longest validity an accepted signature may have.
    #[arg(long, env = "MINUTO_MATCHMAKER_MAX_ACCEPTANCE_VALIDITY", default_value = "1h", value_parser = duration)]
    pub max_acceptance_validity: Duration,
    /// How long a sign-in lasts.
    #[arg(long, env = "MINUTO_MATCHMAKER_SESSION_TTL", default_value = "12h", value_parser = duration)]
    pub session_ttl: Duration,
    /// Most WebSocket connections at once.
    #[arg(
        long,
        env = "MINUTO_MATCHMAKER_MAX_CONNECTIONS",
        default_value_t = 10_000
    )]
    pub max_connections: usize,
    /// Messages a client may send per second (burst: twice that).
    #[arg(long, env = "MINUTO_MATCHMAKER_MESSAGES_PER_SECOND", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub messages_per_second: u32,
    /// Room join tokens' lifetime.
    #[arg(long, env = "MINUTO_MATCHMAKER_ROOM_TTL", default_value = "3h", value_parser = duration)]
    pub room_ttl: Duration,
    /// Redis (or Valkey) shared by several instances behind one load balancer (the
    /// relayer's will do); unset: one instance.
    #[arg(long, env = "MINUTO_MATCHMAKER_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Where the escrow follower saves its cursor (next block and live sessions).
    #[arg(
        long,
        env = "MINUTO_MATCHMAKER_CURSOR_FILE",
        default_value = "minuto-matchmaker.cursor.json"
    )]
    pub cursor_file: PathBuf,
    /// Blocks an escrow event must be buried under before it counts.
    #[arg(long, env = "MINUTO_MATCHMAKER_CONFIRMATIONS", default_value_t = 1)]
    pub confirmations: u64,
    /// Pause between polls of the escrow's events.
    #[arg(long, env = "MINUTO_MATCHMAKER_POLL_INTERVAL", default_value = "2s", value_parser = duration)]
    pub poll_interval: Duration,
    /// Largest block range per log query.
    #[arg(long, env = "MINUTO_MATCHMAKER_CHUNK_BLOCKS", default_value_t = 2_000,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub chunk_blocks: u64,
    /// Log format.
    #[arg(long, env = "MINUTO_MATCHMAKER_LOG_FORMAT", default_value = "text",
          value_parser = ["text", "json"])]
    pub log_format: String,
}

/// A configuration value that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The deployment record is unusable.
    #[error("deployment record: {0}")]
    Deployment(#[from] minuto_chain::RecordError),
    /// The record lacks a contract.
    #[error("deployment record has no {0} address")]
    Missing(&'static str),
    /// A secret is missing or malformed.
    #[error("{0} must be 32 bytes of hex (64 hex digits)")]
    Secret(&'static str),
    /// Inconsistent timings.
    #[error("{0}")]
    Invalid(String),
}

/// What the record gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Contracts {
    /// Chain id.
    pub chain_id: u64,
    /// Escrow.
    pub escrow: Address,
    /// Credentials.
    pub credentials: Address,
    /// The escrow's deployment block (the follower starts there).
    pub escrow_block: u64,
}

impl Config {
    /// The matching rule's timing.
    pub fn pool(&self) -> pool::Config {
        pool::Config {
            proposal_ttl: self.proposal_ttl,
            max_attempts: self.max_attempts,
            reservation: self.reservation,
            credential_ttl: self.credential_ttl,
            waitlist_ttl: self.waitlist_ttl,
        }
    }

    /// Checks the values against each other and reads the deployment record.
    ///
    /// # Errors
    /// [`ConfigError`] naming the value.
    pub fn contracts(&self) -> Result<Contracts, ConfigError> {
        let positive = [
            ("proposal_ttl", self.proposal_ttl),
            ("reservation", self.reservation),
            ("waitlist_ttl", self.waitlist_ttl),
            ("credential_ttl", self.credential_ttl),
            ("session_ttl", self.session_ttl),
            ("room_ttl", self.room_ttl),
            ("poll_interval", self.poll_interval),
        ];
        for (name, d) in positive {
            if d.is_zero() {
                return Err(ConfigError::Invalid(format!("{name} must be positive")));
            }
        }
        if self.min_acceptance_validity >= self.max_acceptance_validity {
            return Err(ConfigError::Invalid(
                "min_acceptance_validity must be below max_acceptance_validity".into(),
            ));
        }
        if self.siwe_domain.is_empty() || self.siwe_domain.contains('/') {
            return Err(ConfigError::Invalid(
                "siwe_domain must be a host[:port], e.g. app.minuto.example".into(),
            ));
        }
        let record = minuto_chain::Record::read(&self.deployment)?;
        let at = |key: &'static str| record.contracts.get(key).ok_or(ConfigError::Missing(key));
        Ok(Contracts {
            chain_id: record.chain_id,
            escrow: at("escrow")?.address,
            escrow_block: at("escrow")?.block,
            credentials: at("credentials")?.address,
        })
    }
}

/// A 32-byte secret from the environment variable `name` ([`ENV_ROOM_SECRET`],
/// [`ENV_SESSION_SECRET`]).
///
/// # Errors
/// [`ConfigError::Secret`] naming the variable.
pub fn secret(name: &'static str) -> Result<[u8; 32], ConfigError> {
    let v = std::env::var(name).map_err(|_| ConfigError::Secret(name))?;
    let bytes = hex::decode(v.trim()).map_err(|_| ConfigError::Secret(name))?;
    bytes.try_into().map_err(|_| ConfigError::Secret(name))
}
