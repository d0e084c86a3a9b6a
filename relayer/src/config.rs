//! Typed configuration, validated once at start-up: a TOML file, overridden by flags and
//! their `MINUTO_RELAYER_*` environment variables. [`Cli`] is both the clap parser and
//! the file's serde schema; [`Config`] is the checked result. A bad value stops start-up
//! naming its key; nothing falls back silently. The relayer's key comes only from the
//! environment or an encrypted keystore, never from a flag (flags show in `ps`) nor the
//! file; chain id, escrow and start block may come from a deployment file, which an
//! explicit `escrow` or `chain_id` must agree with (relayer/README.md, Running).

use std::fmt::Display;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::signers::local::PrivateKeySigner;
use alloy_primitives::Address;
use clap::Parser;
use k256::ecdsa::SigningKey;
use secrecy::ExposeSecret;
use serde::Deserialize;
use url::Url;
use zeroize::Zeroizing;

use crate::ratelimit::Rate;
use crate::submit::SubmitConfig;

/// Default `http.max_connections` per listener: the keep-alive connections of both
/// parties of 10,000 live sessions, and room for reconnects (sizing: the README).
pub const DEFAULT_MAX_CONNECTIONS: usize = 32_768;

/// Environment variable holding the relayer's hex private key.
pub const ENV_PRIVATE_KEY: &str = "MINUTO_RELAYER_PRIVATE_KEY";
/// Environment variable holding the keystore's password.
pub const ENV_KEYSTORE_PASSWORD: &str = "MINUTO_RELAYER_KEYSTORE_PASSWORD";
/// Environment variable holding the bearer token of the admin endpoints.
pub const ENV_ADMIN_TOKEN: &str = "MINUTO_RELAYER_ADMIN_TOKEN";

/// The relayer's account. `Debug` shows the address only; the key (k256's, wiped on
/// drop) is never logged.
#[derive(Clone, derive_more::Debug)]
#[debug("RelayerKey {{ address: {}, key: \"<redacted>\" }}", signer.address())]
pub struct RelayerKey {
    signer: PrivateKeySigner,
}

impl RelayerKey {
    /// Wraps a signing key.
    pub fn new(key: SigningKey) -> Self {
        Self {
            signer: PrivateKeySigner::from_signing_key(key),
        }
    }

    /// The account address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// The signing key (never log it).
    pub fn signing_key(&self) -> &SigningKey {
        self.signer.credential()
    }

    /// A wallet that signs with this key.
    pub fn wallet(&self) -> EthereumWallet {
        EthereumWallet::from(self.signer.clone())
    }
}

/// Parses a human-readable duration: `500ms`, `10s`, `2m`, `1h`, `1h 30m` (humantime).
///
/// # Errors
/// A message naming the value and the accepted forms; a bare number has no unit and is
/// refused rather than guessed.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a duration ({e}): write e.g. 10s, 500ms, 2m, 1h"))
}

/// A duration in the config file, as [`parse_duration`] reads it.
fn de_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    parse_duration(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable.
    Text,
}

/// The settings as given, one struct for both sources: flags and their
/// `MINUTO_RELAYER_<NAME>` environment variables (clap), and the TOML config file
/// (serde). [`Config::load`] lays the flags over the file, then applies defaults and
/// checks. The `[api]`, `[http]` and `[tx]` tables and the keys marked file-only have
/// no flag.
#[derive(Clone, Debug, Default, Parser, Deserialize)]
#[command(
    name = "minuto-relayer",
    version,
    about = "Turns lost heartbeats into an on-chain stopAt"
)]
#[serde(deny_unknown_fields)]
pub struct Cli {
    /// TOML config file.
    #[arg(long, env = "MINUTO_RELAYER_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// JSON-RPC endpoint of the chain.
    #[arg(long, env = "MINUTO_RELAYER_RPC_URL")]
    pub rpc_url: Option<Url>,
    /// Escrow contract address.
    #[arg(long, env = "MINUTO_RELAYER_ESCROW")]
    pub escrow: Option<Address>,
    /// Deployment file (`deployments/<chain-id>.json`): chain id, escrow, start block.
    #[arg(long, env = "MINUTO_RELAYER_DEPLOYMENT")]
    pub deployment: Option<PathBuf>,
    /// Chain id (checked against the node).
    #[arg(long, env = "MINUTO_RELAYER_CHAIN_ID")]
    pub chain_id: Option<u64>,
    /// Encrypted JSON keystore holding the relayer key.
    #[arg(long, env = "MINUTO_RELAYER_KEYSTORE")]
    pub keystore: Option<PathBuf>,
    /// File holding the keystore password.
    #[arg(long, env = "MINUTO_RELAYER_KEYSTORE_PASSWORD_FILE")]
    pub keystore_password_file: Option<PathBuf>,
    /// HTTP listen address.
    #[arg(long, env = "MINUTO_RELAYER_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Expected client ping cadence (e.g. 5s).
    #[arg(long, env = "MINUTO_RELAYER_PING_INTERVAL", value_parser = parse_duration)]
    #[serde(default, deserialize_with = "de_duration")]
    pub ping_interval: Option<Duration>,
    /// Silence after which a party is considered gone (e.g. 10s).
    #[arg(long, env = "MINUTO_RELAYER_SILENCE_TIMEOUT", value_parser = parse_duration)]
    #[serde(default, deserialize_with = "de_duration")]
    pub silence_timeout: Option<Duration>,
    /// No one is judged for this long after start-up or a session's start.
    #[arg(long, env = "MINUTO_RELAYER_GRACE_PERIOD", value_parser = parse_duration)]
    #[serde(default, deserialize_with = "de_duration")]
    pub grace_period: Option<Duration>,
    /// Upper bound on how far back stopAt may date (the escrow's maxBackdate if unset).
    #[arg(long, env = "MINUTO_RELAYER_MAX_BACKDATE", value_parser = parse_duration)]
    #[serde(default, deserialize_with = "de_duration")]
    pub max_backdate: Option<Duration>,
    /// Blocks an event must be buried under before it is read.
    #[arg(long, env = "MINUTO_RELAYER_CONFIRMATIONS")]
    pub confirmations: Option<u64>,
    /// First block to read when there is no cursor file.
    #[arg(long, env = "MINUTO_RELAYER_START_BLOCK")]
    pub start_block: Option<u64>,
    /// Cursor file (atomically rewritten).
    #[arg(long, env = "MINUTO_RELAYER_CURSOR_FILE")]
    pub cursor_file: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "MINUTO_RELAYER_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Listen address of the admin endpoints (`/metrics`, session status).
    #[arg(long, env = "MINUTO_RELAYER_ADMIN_LISTEN")]
    pub admin_listen: Option<SocketAddr>,
    /// Redis (or Valkey) shared by every relayer instance of this escrow; unset: the
    /// in-memory store of a single instance.
    #[arg(long, env = "MINUTO_RELAYER_REDIS_URL")]
    pub redis_url: Option<Url>,
    /// File-only: largest `eth_getLogs` block range.
    #[arg(skip)]
    pub log_chunk_blocks: Option<u64>,
    /// File-only: pause between follower polls.
    #[arg(skip)]
    #[serde(default, deserialize_with = "de_duration")]
    pub poll_interval: Option<Duration>,
    /// File-only: timeout of one JSON-RPC request.
    #[arg(skip)]
    #[serde(default, deserialize_with = "de_duration")]
    pub rpc_timeout: Option<Duration>,
    /// File-only: time shutdown gives in-flight stops.
    #[arg(skip)]
    #[serde(default, deserialize_with = "de_duration")]
    pub shutdown_drain: Option<Duration>,
    #[arg(skip)]
    #[serde(default)]
    pub api: FileApi,
    #[arg(skip)]
    #[serde(default)]
    pub http: FileHttp,
    #[arg(skip)]
    #[serde(default)]
    pub tx: FileTx,
}

/// `[api]` table of the config file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileApi {
    #[serde(default, deserialize_with = "de_duration")]
    max_clock_skew: Option<Duration>,
    max_body_bytes: Option<usize>,
    ip_rate_per_second: Option<f64>,
    ip_burst: Option<f64>,
    session_rate_per_second: Option<f64>,
    session_burst: Option<f64>,
}

/// `[http]` table of the config file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileHttp {
    #[serde(default)]
    trusted_proxies: Vec<String>,
    cors_allowed_origins: Option<Vec<String>>,
    #[serde(default, deserialize_with = "de_duration")]
    header_read_timeout: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration")]
    request_timeout: Option<Duration>,
    max_connections: Option<usize>,
}

/// `[tx]` table of the config file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTx {
    #[serde(default, deserialize_with = "de_duration")]
    receipt_timeout: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration")]
    receipt_poll_interval: Option<Duration>,
    max_attempts: Option<u32>,
    fee_bump_percent: Option<u32>,
    max_fee_per_gas_gwei: Option<u64>,
    gas_margin_percent: Option<u32>,
    concurrency: Option<usize>,
    #[serde(default, deserialize_with = "de_duration")]
    retry_after: Option<Duration>,
}

impl Cli {
    /// Every value set here (flag or environment), else the one in `file`; the
    /// file-only tables are the file's. The struct literal names every field, so a key
    /// added to [`Cli`] and not here does not compile.
    fn over(self, file: Cli) -> Cli {
        macro_rules! or {
            ($($key:ident)*) => { Cli { $($key: self.$key.or(file.$key),)* config: self.config, api: file.api, http: file.http, tx: file.tx } };
        }
        or!(rpc_url escrow deployment chain_id keystore keystore_password_file listen ping_interval
            silence_timeout grace_period max_backdate confirmations start_block cursor_file log_format
            admin_listen redis_url log_chunk_blocks poll_interval rpc_timeout shutdown_drain)
    }
}

/// HTTP API limits.
#[derive(Clone, Copy, Debug)]
pub struct ApiLimits {
    /// Largest accepted `|sent_at − now|`.
    pub max_clock_skew: Duration,
    pub max_body_bytes: usize,
    /// Per client IP.
    pub ip_rate: Rate,
    /// Per session and role (accepted heartbeats).
    pub session_rate: Rate,
}

/// The admin endpoints' bearer token (wiped on drop; `Debug` never shows it).
pub type AdminToken = secrecy::SecretString;

/// Which browser origins may call the API (CORS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorsOrigins {
    /// Any origin (`*`): heartbeats carry their own signature and no cookie is used.
    Any,
    /// Only these exact origins (`https://app.example`); empty: no CORS headers at all.
    List(Vec<axum::http::HeaderValue>),
}

/// The HTTP front: proxies, CORS, timeouts, connection limit, admin listener.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Peers whose `Forwarded` / `X-Forwarded-For` headers name the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub cors_allowed_origins: CorsOrigins,
    /// A request's headers must arrive within this.
    pub header_read_timeout: Duration,
    /// A whole request (body included) must be handled within this.
    pub request_timeout: Duration,
    /// Open connections per listener at most.
    pub max_connections: usize,
    /// Listen address of `/metrics` and `/v1/sessions/{id}` (port 0 picks one; see
    /// `Handle::admin_addr`).
    pub admin_listen: SocketAddr,
    /// When set, the admin endpoints want `Authorization: Bearer <token>`.
    pub admin_token: Option<AdminToken>,
}

/// Transaction settings.
#[derive(Clone, Copy, Debug)]
pub struct TxSettings {
    /// Submission of one stop.
    pub submit: SubmitConfig,
    /// Stops in flight at once.
    pub concurrency: usize,
    /// Wait before re-judging a session whose stop failed.
    pub retry_after: Duration,
}

/// The validated configuration; the keys' meanings are on [`Cli`]. `Debug` shows the
/// RPC and Redis hosts only (hosted URLs often carry an API key or password) and the
/// relayer's address, never its key.
#[derive(Clone, derive_more::Debug)]
pub struct Config {
    #[debug("{:?}", rpc_url.host_str())]
    pub rpc_url: Url,
    pub escrow: Address,
    pub chain_id: u64,
    pub key: RelayerKey,
    /// Port 0 picks one; see `Handle::local_addr`.
    pub listen: SocketAddr,
    pub ping_interval: Duration,
    pub silence_timeout: Duration,
    pub grace_period: Duration,
    /// Operator's bound on backdating (the escrow's own bound always applies).
    pub max_backdate: Option<Duration>,
    pub confirmations: u64,
    pub start_block: u64,
    pub cursor_file: PathBuf,
    pub log_chunk_blocks: u64,
    pub poll_interval: Duration,
    pub rpc_timeout: Duration,
    pub shutdown_drain: Duration,
    pub api: ApiLimits,
    pub tx: TxSettings,
    pub log_format: LogFormat,
    pub http: HttpSettings,
    /// Shared liveness store (`None`: in memory, one instance).
    #[debug("{:?}", redis_url.as_ref().map(Url::host_str))]
    pub redis_url: Option<Url>,
}

/// Configuration errors, each naming the offending field (and file).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required key is missing; its flag and environment variable are named after it.
    #[error("missing `{0}` (set it in the config file, as --{flag}, or in MINUTO_RELAYER_{env})", flag = .0.replace('_', "-"), env = .0.to_uppercase())]
    Missing(&'static str),
    #[error("invalid `{field}`: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The config file is not valid TOML for this schema.
    #[error("config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    /// No key, two keys, or an unusable one.
    #[error("relayer key: {0}")]
    Key(String),
    #[error("cannot read deployment file {path}: {source}")]
    DeploymentRead {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The deployment file is not JSON of the deploy tool's shape.
    #[error("deployment file {path}: {source}")]
    DeploymentParse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("deployment file {path} has no `contracts.escrow` entry")]
    DeploymentNoEscrow { path: PathBuf },
    /// A value in the deployment file (`field`: its JSON path) is present but wrong.
    #[error("deployment file {path}: invalid `{field}`: {reason}")]
    DeploymentInvalid {
        path: PathBuf,
        field: &'static str,
        reason: String,
    },
    /// An explicit value (flag, environment or config file) disagrees with the
    /// deployment file: the relayer would watch the wrong contract or chain.
    #[error("`{field}` is {configured} but deployment file {path} says {deployed}; remove one or make them agree")]
    DeploymentMismatch {
        field: &'static str,
        configured: String,
        deployed: String,
        path: PathBuf,
    },
}

/// What the relayer takes from a deployment file written by the deploy tool
/// (`deployments/<chain-id>.json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// `chainId`.
    pub chain_id: u64,
    /// `contracts.escrow.address`.
    pub escrow: Address,
    /// `contracts.escrow.block`: the escrow's deployment block (no session predates it).
    pub escrow_block: u64,
}

impl Deployment {
    /// Reads a deployment record ([`minuto_chain::Record`], the deploy tool's own type)
    /// and checks what the relayer takes from it.
    ///
    /// # Errors
    /// [`ConfigError::DeploymentRead`], [`ConfigError::DeploymentParse`],
    /// [`ConfigError::DeploymentNoEscrow`] or [`ConfigError::DeploymentInvalid`] (zero
    /// escrow address, chain id 0), each naming the file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        use minuto_chain::RecordError;
        let record = minuto_chain::Record::read(path).map_err(|e| match e {
            RecordError::Parse { path, source } => ConfigError::DeploymentParse { path, source },
            RecordError::Read { path, source } => ConfigError::DeploymentRead { path, source },
            // `read` neither writes nor compares chains.
            other => ConfigError::DeploymentRead {
                path: path.to_owned(),
                source: std::io::Error::other(other.to_string()),
            },
        })?;
        let bad = |field, reason: &str| ConfigError::DeploymentInvalid {
            path: path.to_owned(),
            field,
            reason: reason.to_owned(),
        };
        if record.chain_id == 0 {
            return Err(bad("chainId", "must not be 0"));
        }
        let escrow = record.get(minuto_chain::Contract::Escrow).ok_or_else(|| {
            ConfigError::DeploymentNoEscrow {
                path: path.to_owned(),
            }
        })?;
        if escrow.address == Address::ZERO {
            let reason = "must not be the zero address";
            return Err(bad("contracts.escrow.address", reason));
        }
        Ok(Deployment {
            chain_id: record.chain_id,
            escrow: escrow.address,
            escrow_block: escrow.block,
        })
    }
}

/// The explicit value if any, else the deployment's; both present and different is an
/// error; neither is [`ConfigError::Missing`].
fn agree<T: PartialEq + Display>(
    field: &'static str,
    configured: Option<T>,
    deployed: Option<(T, &Path)>,
) -> Result<T, ConfigError> {
    match (configured, deployed) {
        (Some(c), Some((d, path))) if c != d => Err(ConfigError::DeploymentMismatch {
            field,
            configured: c.to_string(),
            deployed: d.to_string(),
            path: path.to_owned(),
        }),
        (Some(c), _) | (None, Some((c, _))) => Ok(c),
        (None, None) => Err(ConfigError::Missing(field)),
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// `value` if it lies in `range`, else [`ConfigError::Invalid`] naming `field`.
fn within<T: PartialOrd + Display>(
    field: &'static str,
    value: T,
    range: RangeInclusive<T>,
) -> Result<T, ConfigError> {
    if range.contains(&value) {
        return Ok(value);
    }
    let (start, end) = range.into_inner();
    Err(invalid(field, format!("must be within {start}..={end}")))
}

/// `value` if above zero, else [`ConfigError::Invalid`] naming `field`.
fn positive(field: &'static str, value: Duration) -> Result<Duration, ConfigError> {
    ensure(!value.is_zero(), field, "must be above zero").map(|()| value)
}

/// `Ok` when `ok`, else [`ConfigError::Invalid`] naming `field`.
fn ensure(ok: bool, field: &'static str, reason: impl Into<String>) -> Result<(), ConfigError> {
    ok.then_some(()).ok_or_else(|| invalid(field, reason))
}

/// A rate from the `[api]` table (default `default`), finite and above zero.
fn rate(field: &'static str, value: Option<f64>, default: f64) -> Result<f64, ConfigError> {
    match value.unwrap_or(default) {
        v if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(invalid(field, "must be a positive number")),
    }
}

/// Parses a hex private key (with or without `0x`).
///
/// # Errors
/// [`ConfigError::Key`] without echoing the value.
pub fn parse_private_key(hex: &str) -> Result<RelayerKey, ConfigError> {
    let hex = hex.trim();
    let hex = hex.strip_prefix("0x").unwrap_or(hex);
    // The decoded key bytes are wiped when dropped (the `SigningKey` wipes its own).
    let bytes = Zeroizing::new(
        alloy_primitives::hex::decode(hex)
            .map_err(|_| ConfigError::Key(format!("{ENV_PRIVATE_KEY} is not hex")))?,
    );
    if bytes.len() != 32 {
        let len = bytes.len();
        return key_error(format!("{ENV_PRIVATE_KEY} must be 32 bytes, got {len}"));
    }
    let key = SigningKey::from_slice(&bytes)
        .map_err(|_| ConfigError::Key(format!("{ENV_PRIVATE_KEY} is not a valid secp256k1 key")))?;
    Ok(RelayerKey::new(key))
}

/// Decrypts an encrypted JSON keystore (Web3 Secret Storage).
///
/// # Errors
/// [`ConfigError::Key`] when the file is unreadable or the password wrong.
pub fn load_keystore(path: &Path, password: &str) -> Result<RelayerKey, ConfigError> {
    let shown = path.display();
    // The decrypted secret is wiped when this returns, whichever way.
    let bytes = Zeroizing::new(
        eth_keystore::decrypt_key(path, password)
            .map_err(|e| ConfigError::Key(format!("cannot decrypt keystore {shown}: {e}")))?,
    );
    let key = SigningKey::from_slice(&bytes)
        .map_err(|_| ConfigError::Key(format!("keystore {shown} holds no valid key")))?;
    Ok(RelayerKey::new(key))
}

/// [`ConfigError::Key`] with `message`.
fn key_error<T>(message: String) -> Result<T, ConfigError> {
    Err(ConfigError::Key(message))
}

/// The relayer key: from the environment, or a keystore with its password from the
/// environment or a file. Secrets read as text are wiped once parsed.
fn relayer_key(s: &Cli, env: &impl Fn(&str) -> Option<String>) -> Result<RelayerKey, ConfigError> {
    let env_key = env(ENV_PRIVATE_KEY)
        .filter(|k| !k.trim().is_empty())
        .map(Zeroizing::new);
    let path = match (env_key, &s.keystore) {
        (Some(_), Some(_)) => {
            let both = format!("both {ENV_PRIVATE_KEY} and a keystore are set; choose one");
            return key_error(both);
        }
        (Some(hex), None) => return parse_private_key(&hex),
        (None, None) => return key_error(format!("set {ENV_PRIVATE_KEY} or a keystore")),
        (None, Some(path)) => path,
    };
    let password = match (env(ENV_KEYSTORE_PASSWORD), &s.keystore_password_file) {
        (Some(p), _) => Zeroizing::new(p),
        (None, Some(pf)) => {
            let text = Zeroizing::new(
                std::fs::read_to_string(pf)
                    .map_err(|e| ConfigError::Key(format!("cannot read {}: {e}", pf.display())))?,
            );
            Zeroizing::new(text.trim_end_matches(['\n', '\r']).to_owned())
        }
        (None, None) => {
            let shown = path.display();
            return key_error(format!(
                "keystore {shown} needs {ENV_KEYSTORE_PASSWORD} or keystore_password_file"
            ));
        }
    };
    load_keystore(path, &password)
}

/// `cors_allowed_origins`: `["*"]` alone, or exact origins such as `https://app.example`.
fn cors_origins(origins: Option<Vec<String>>) -> Result<CorsOrigins, ConfigError> {
    const FIELD: &str = "http.cors_allowed_origins";
    let origins = origins.unwrap_or_else(|| vec!["*".to_owned()]);
    if origins.iter().any(|o| o == "*") {
        let reason = "\"*\" allows every origin; list no others with it";
        return ensure(origins.len() == 1, FIELD, reason).map(|()| CorsOrigins::Any);
    }
    let origin = |o: &String| {
        Url::parse(o)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.path() == "/")
            .filter(|_| !o.ends_with('/'))
            .and_then(|_| axum::http::HeaderValue::from_str(o).ok())
            .ok_or_else(|| {
                invalid(
                    FIELD,
                    format!("{o:?} is not an origin like https://app.example"),
                )
            })
    };
    Ok(CorsOrigins::List(
        origins.iter().map(origin).collect::<Result<_, _>>()?,
    ))
}

/// `trusted_proxies`: CIDRs, a bare address being a /32 (or /128).
fn proxies(list: &[String]) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    let net = |s: &String| {
        s.parse::<ipnet::IpNet>()
            .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| {
                let reason = format!("{s:?} is not an address or CIDR (e.g. 10.0.0.0/8)");
                invalid("http.trusted_proxies", reason)
            })
    };
    list.iter().map(net).collect()
}

impl Config {
    /// Reads the file named by `cli.config` (if any), applies flags and environment
    /// (already folded into `cli` by clap) and the key from the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first bad or missing value.
    pub fn load(cli: &Cli) -> Result<Self, ConfigError> {
        Self::load_with_env(cli, |name| std::env::var(name).ok())
    }

    /// As [`Config::load`] with an explicit environment lookup (tests).
    ///
    /// # Errors
    /// [`ConfigError`] naming the first bad or missing value.
    pub fn load_with_env(
        cli: &Cli,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let Some(path) = &cli.config else {
            return Self::check(cli.clone(), env);
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        let file = toml::from_str::<Cli>(&text).map_err(|source| ConfigError::Parse {
            path: path.clone(),
            source,
        })?;
        Self::check(cli.clone().over(file), env)
    }

    /// Applies the defaults and checks every value.
    fn check(s: Cli, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let rpc_url = s.rpc_url.clone().ok_or(ConfigError::Missing("rpc_url"))?;
        let http_scheme = matches!(rpc_url.scheme(), "http" | "https");
        ensure(http_scheme, "rpc_url", "must be an http:// or https:// URL")?;
        // A relative `deployment` path is taken from the working directory, like
        // `keystore` and `cursor_file`.
        let deployment = (s.deployment.as_deref())
            .map(|path| Deployment::load(path).map(|d| (d, path)))
            .transpose()?;
        let escrow = agree(
            "escrow",
            s.escrow,
            deployment.map(|(d, path)| (d.escrow, path)),
        )?;
        let zero = "must not be the zero address";
        ensure(escrow != Address::ZERO, "escrow", zero)?;
        let chain_id = agree(
            "chain_id",
            s.chain_id,
            deployment.map(|(d, path)| (d.chain_id, path)),
        )?;
        ensure(chain_id != 0, "chain_id", "must not be 0")?;
        let key = relayer_key(&s, &env)?;

        let listen = s.listen.unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080)));
        let ping_interval = positive("ping_interval", s.ping_interval.unwrap_or(secs(5)))?;
        let silence_timeout = s.silence_timeout.unwrap_or(secs(10));
        let grace_period = s.grace_period.unwrap_or(secs(20));
        ensure(
            silence_timeout > ping_interval,
            "silence_timeout",
            format!("{silence_timeout:?} must be longer than ping_interval {ping_interval:?}, or every late ping stops a session"),
        )?;
        ensure(
            grace_period >= silence_timeout,
            "grace_period",
            format!("{grace_period:?} must be at least silence_timeout {silence_timeout:?}"),
        )?;
        let backdate_ok = s.max_backdate.is_none_or(|d| d.as_secs() != 0);
        ensure(backdate_ok, "max_backdate", "must be at least 1s")?;
        let confirmations_ok = s.confirmations.is_none_or(|c| c <= 10_000);
        ensure(confirmations_ok, "confirmations", "above 10000 blocks")?;

        let a = &s.api;
        let api = ApiLimits {
            max_clock_skew: a.max_clock_skew.unwrap_or(secs(30)),
            max_body_bytes: within(
                "api.max_body_bytes",
                a.max_body_bytes.unwrap_or(1024),
                256..=65_536,
            )?,
            ip_rate: Rate {
                per_second: rate("api.ip_rate_per_second", a.ip_rate_per_second, 50.0)?,
                burst: rate("api.ip_burst", a.ip_burst, 100.0)?,
            },
            session_rate: Rate {
                per_second: rate(
                    "api.session_rate_per_second",
                    a.session_rate_per_second,
                    2.0,
                )?,
                burst: rate("api.session_burst", a.session_burst, 10.0)?,
            },
        };

        let t = &s.tx;
        let bump_ok = t.fee_bump_percent.is_none_or(|p| p >= 10);
        let bump = "nodes refuse replacements below +10 %";
        ensure(bump_ok, "tx.fee_bump_percent", bump)?;
        let tx = TxSettings {
            submit: SubmitConfig {
                receipt_timeout: t.receipt_timeout.unwrap_or(secs(15)),
                poll_interval: t
                    .receipt_poll_interval
                    .unwrap_or(Duration::from_millis(500)),
                max_attempts: within("tx.max_attempts", t.max_attempts.unwrap_or(5), 1..=20)?,
                fee_bump_percent: t.fee_bump_percent.unwrap_or(25),
                max_fee_per_gas: t
                    .max_fee_per_gas_gwei
                    .map(|g| u128::from(g) * 1_000_000_000),
                gas_margin_percent: t.gas_margin_percent.unwrap_or(20),
            },
            concurrency: within("tx.concurrency", t.concurrency.unwrap_or(16), 1..=1024)?,
            retry_after: t.retry_after.unwrap_or(secs(5)),
        };

        let h = &s.http;
        let header_read_timeout = h.header_read_timeout.unwrap_or(secs(15));
        let http = HttpSettings {
            trusted_proxies: proxies(&h.trusted_proxies)?,
            cors_allowed_origins: cors_origins(h.cors_allowed_origins.clone())?,
            header_read_timeout: positive("http.header_read_timeout", header_read_timeout)?,
            request_timeout: positive(
                "http.request_timeout",
                h.request_timeout.unwrap_or(secs(10)),
            )?,
            max_connections: within(
                "http.max_connections",
                h.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
                1..=1_000_000,
            )?,
            admin_listen: s
                .admin_listen
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 9090))),
            admin_token: env(ENV_ADMIN_TOKEN)
                .filter(|t| !t.trim().is_empty())
                .map(AdminToken::from),
        };
        // hyper applies it to idle keep-alive connections too: they would be closed
        // between two pings, and a ping racing the close would be lost.
        ensure(
            header_read_timeout > ping_interval,
            "http.header_read_timeout",
            format!("{header_read_timeout:?} must be longer than ping_interval {ping_interval:?}: idle keep-alive connections are closed after it"),
        )?;
        ensure(
            http.admin_listen != listen || listen.port() == 0,
            "admin_listen",
            format!(
                "{listen} is the public listener's address; the admin endpoints need their own"
            ),
        )?;
        if (http.admin_token.as_ref()).is_some_and(|t| t.expose_secret().len() < 16) {
            return key_error(format!("{ENV_ADMIN_TOKEN} must be at least 16 characters"));
        }
        let redis_ok = (s.redis_url.as_ref())
            .is_none_or(|u| matches!(u.scheme(), "redis" | "rediss" | "valkey" | "valkeys"));
        ensure(redis_ok, "redis_url", "must be a redis:// or rediss:// URL")?;

        Ok(Config {
            rpc_url,
            escrow,
            chain_id,
            key,
            listen,
            ping_interval,
            silence_timeout,
            grace_period,
            max_backdate: s.max_backdate,
            confirmations: s.confirmations.unwrap_or(1),
            // An explicit start block wins over the deployment's: it only saves reads.
            start_block: (s.start_block)
                .or(deployment.map(|(d, _)| d.escrow_block))
                .unwrap_or(0),
            cursor_file: (s.cursor_file)
                .unwrap_or_else(|| PathBuf::from("minuto-relayer.cursor.json")),
            log_chunk_blocks: within(
                "log_chunk_blocks",
                s.log_chunk_blocks.unwrap_or(2_000),
                1..=1_000_000,
            )?,
            poll_interval: positive("poll_interval", s.poll_interval.unwrap_or(secs(2)))?,
            rpc_timeout: positive("rpc_timeout", s.rpc_timeout.unwrap_or(secs(10)))?,
            shutdown_drain: s.shutdown_drain.unwrap_or(secs(10)),
            api,
            tx,
            log_format: s.log_format.unwrap_or(LogFormat::Json),
            http,
            redis_url: s.redis_url,
        })
    }

    /// Defaults for everything but the chain, escrow and key (tests and embedding).
    pub fn with_defaults(rpc_url: Url, escrow: Address, chain_id: u64, key: RelayerKey) -> Self {
        let cli = Cli {
            rpc_url: Some(rpc_url),
            escrow: Some(escrow),
            chain_id: Some(chain_id),
            // A free port: several embedded relayers (tests) must not collide.
            admin_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            ..Cli::default()
        };
        let bytes: Zeroizing<[u8; 32]> = Zeroizing::new(key.signing_key().to_bytes().into());
        let hex = Zeroizing::new(alloy_primitives::hex::encode(*bytes));
        let env = |name: &str| (name == ENV_PRIVATE_KEY).then(|| String::clone(&hex));
        // SAFETY of the expect: every other value is a valid default.
        Self::check(cli, env).expect("defaults are valid")
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
