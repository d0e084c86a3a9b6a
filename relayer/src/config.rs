//! The configuration: one struct, [`Config`], that is the clap parser of flags and their
//! `MINUTO_RELAYER_*` environment variables, the serde schema of the TOML file, and the
//! checked result. [`Config::load`] reads the file into it (absent keys keep
//! [`Config::default`]), lays flags and environment over it (clap's update), then checks
//! every value once; a bad value stops start-up naming its key, nothing falls back
//! silently. The relayer's key comes only from the environment or an encrypted keystore,
//! never from a flag (flags show in `ps`) nor the file; chain id, escrow and start block
//! may come from a deployment file, which an explicit `escrow` or `chain_id` must agree
//! with (relayer/README.md, Running).

use std::fmt::Display;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::signers::local::PrivateKeySigner;
use alloy_primitives::Address;
use clap::{ArgMatches, FromArgMatches, Parser};
use k256::ecdsa::SigningKey;
use secrecy::ExposeSecret;
use serde::{de::Error as _, Deserialize, Deserializer};
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

/// A duration in the config file, as [`parse_duration`] reads it (`T`: `Duration`, or
/// `Option<Duration>` for `max_backdate`).
fn de_duration<'de, D: Deserializer<'de>, T: From<Duration>>(d: D) -> Result<T, D::Error> {
    let text = String::deserialize(d)?;
    parse_duration(&text).map(T::from).map_err(D::Error::custom)
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

/// Every setting, as flag (and `MINUTO_RELAYER_<NAME>` environment variable), as key of
/// the TOML file, and checked. Precedence: flag > environment > file > [`Default`]. The
/// `[api]`, `[http]` and `[tx]` tables and the keys marked file-only have no flag. Get
/// one from [`Config::load`] or [`Config::with_defaults`]. `Debug` shows the RPC and
/// Redis hosts only (hosted URLs often carry an API key or password) and the relayer's
/// address, never its key.
#[derive(Clone, derive_more::Debug, Parser, Deserialize)]
#[command(
    name = "minuto-relayer",
    version,
    about = "Turns lost heartbeats into an on-chain stopAt"
)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// TOML config file.
    #[arg(long, env = "MINUTO_RELAYER_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// JSON-RPC endpoint of the chain (required).
    #[arg(long, env = "MINUTO_RELAYER_RPC_URL", required = false)]
    #[debug("{:?}", rpc_url.host_str())]
    pub rpc_url: Url,
    /// Escrow contract address (required, or from `deployment`).
    #[arg(long, env = "MINUTO_RELAYER_ESCROW", required = false)]
    pub escrow: Address,
    /// Deployment file (`deployments/<chain-id>.json`): chain id, escrow, start block.
    #[arg(long, env = "MINUTO_RELAYER_DEPLOYMENT")]
    pub deployment: Option<PathBuf>,
    /// Chain id, checked against the node (required, or from `deployment`).
    #[arg(long, env = "MINUTO_RELAYER_CHAIN_ID", required = false)]
    pub chain_id: u64,
    /// Encrypted JSON keystore holding the relayer key.
    #[arg(long, env = "MINUTO_RELAYER_KEYSTORE")]
    pub keystore: Option<PathBuf>,
    /// File holding the keystore password.
    #[arg(long, env = "MINUTO_RELAYER_KEYSTORE_PASSWORD_FILE")]
    pub keystore_password_file: Option<PathBuf>,
    /// The relayer's account: from the environment or `keystore`, set by
    /// [`Config::load`] (never a flag nor a file key).
    #[arg(skip)]
    #[serde(skip)]
    pub key: Option<RelayerKey>,
    /// HTTP listen address (port 0 picks one; see `Handle::local_addr`).
    #[arg(long, env = "MINUTO_RELAYER_LISTEN", required = false)]
    pub listen: SocketAddr,
    /// Listen address of the admin endpoints (`/metrics`, session status).
    #[arg(long, env = "MINUTO_RELAYER_ADMIN_LISTEN", required = false)]
    pub admin_listen: SocketAddr,
    /// Expected client ping cadence (e.g. 5s).
    #[arg(long, env = "MINUTO_RELAYER_PING_INTERVAL", required = false, value_parser = parse_duration)]
    #[serde(deserialize_with = "de_duration")]
    pub ping_interval: Duration,
    /// Silence after which a party is considered gone (e.g. 10s).
    #[arg(long, env = "MINUTO_RELAYER_SILENCE_TIMEOUT", required = false, value_parser = parse_duration)]
    #[serde(deserialize_with = "de_duration")]
    pub silence_timeout: Duration,
    /// No one is judged for this long after start-up or a session's start.
    #[arg(long, env = "MINUTO_RELAYER_GRACE_PERIOD", required = false, value_parser = parse_duration)]
    #[serde(deserialize_with = "de_duration")]
    pub grace_period: Duration,
    /// Operator's bound on how far back stopAt may date (the escrow's own always applies).
    #[arg(long, env = "MINUTO_RELAYER_MAX_BACKDATE", value_parser = parse_duration)]
    #[serde(deserialize_with = "de_duration")]
    pub max_backdate: Option<Duration>,
    /// Blocks an event must be buried under before it is read.
    #[arg(long, env = "MINUTO_RELAYER_CONFIRMATIONS", required = false)]
    pub confirmations: u64,
    /// First block to read when there is no cursor file (default: the deployment's).
    #[arg(long, env = "MINUTO_RELAYER_START_BLOCK", required = false)]
    pub start_block: u64,
    /// Cursor file (atomically rewritten).
    #[arg(long, env = "MINUTO_RELAYER_CURSOR_FILE", required = false)]
    pub cursor_file: PathBuf,
    /// Log format.
    #[arg(long, env = "MINUTO_RELAYER_LOG_FORMAT", required = false, value_enum)]
    pub log_format: LogFormat,
    /// Redis (or Valkey) shared by every relayer instance of this escrow; unset: the
    /// in-memory store of a single instance.
    #[arg(long, env = "MINUTO_RELAYER_REDIS_URL")]
    #[debug("{:?}", redis_url.as_ref().map(Url::host_str))]
    pub redis_url: Option<Url>,
    /// File-only: largest `eth_getLogs` block range.
    #[arg(skip)]
    pub log_chunk_blocks: u64,
    /// File-only: pause between follower polls.
    #[arg(skip)]
    #[serde(deserialize_with = "de_duration")]
    pub poll_interval: Duration,
    /// File-only: timeout of one JSON-RPC request.
    #[arg(skip)]
    #[serde(deserialize_with = "de_duration")]
    pub rpc_timeout: Duration,
    /// File-only: time shutdown gives in-flight stops.
    #[arg(skip)]
    #[serde(deserialize_with = "de_duration")]
    pub shutdown_drain: Duration,
    #[arg(skip)]
    pub api: ApiLimits,
    #[arg(skip)]
    pub http: HttpSettings,
    #[arg(skip)]
    pub tx: TxSettings,
}

/// The `[api]` table: HTTP API limits.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiLimits {
    /// Largest accepted `|sent_at − now|`.
    #[serde(deserialize_with = "de_duration")]
    pub max_clock_skew: Duration,
    pub max_body_bytes: usize,
    /// Per client IP.
    pub ip_rate_per_second: f64,
    pub ip_burst: f64,
    /// Per session and role (accepted heartbeats).
    pub session_rate_per_second: f64,
    pub session_burst: f64,
}

impl ApiLimits {
    /// Requests per client IP.
    pub fn ip_rate(&self) -> Rate {
        Rate {
            per_second: self.ip_rate_per_second,
            burst: self.ip_burst,
        }
    }

    /// Accepted heartbeats per session and role.
    pub fn session_rate(&self) -> Rate {
        Rate {
            per_second: self.session_rate_per_second,
            burst: self.session_burst,
        }
    }
}

/// The admin endpoints' bearer token (wiped on drop; `Debug` never shows it).
pub type AdminToken = secrecy::SecretString;

/// Which browser origins may call the API (CORS): `["*"]` alone, or exact origins.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CorsOrigins {
    /// Any origin (`*`): heartbeats carry their own signature and no cookie is used.
    #[default]
    Any,
    /// Only these exact origins (`https://app.example`); empty: no CORS headers at all.
    List(Vec<axum::http::HeaderValue>),
}

impl<'de> Deserialize<'de> for CorsOrigins {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let origins = Vec::<String>::deserialize(d)?;
        let bad =
            |why: String| D::Error::custom(format!("invalid `http.cors_allowed_origins`: {why}"));
        if origins.iter().any(|o| o == "*") {
            let reason = "\"*\" allows every origin; list no others with it";
            return (origins.len() == 1)
                .then_some(Self::Any)
                .ok_or_else(|| bad(reason.into()));
        }
        let origin = |o: &String| {
            (Url::parse(o).ok())
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.path() == "/")
                .filter(|_| !o.ends_with('/'))
                .and_then(|_| axum::http::HeaderValue::from_str(o).ok())
                .ok_or_else(|| bad(format!("{o:?} is not an origin like https://app.example")))
        };
        origins
            .iter()
            .map(origin)
            .collect::<Result<_, _>>()
            .map(Self::List)
    }
}

/// `trusted_proxies`: CIDRs, a bare address being a /32 (or /128).
fn de_proxies<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ipnet::IpNet>, D::Error> {
    let net = |s: &String| {
        (s.parse::<ipnet::IpNet>())
            .or_else(|_| s.parse::<IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| {
                let why = format!("{s:?} is not an address or CIDR (e.g. 10.0.0.0/8)");
                D::Error::custom(format!("invalid `http.trusted_proxies`: {why}"))
            })
    };
    Vec::<String>::deserialize(d)?.iter().map(net).collect()
}

/// The one header in which the trusted proxies name the client (`http.forwarded_header`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// `X-Forwarded-For`, as nginx (`$proxy_add_x_forwarded_for`), HAProxy, cloud load
    /// balancers and CDNs write it.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded` (its `for=` parameters), for proxies configured to write it.
    Forwarded,
}

impl ForwardedHeader {
    /// The header's name, lower-case.
    pub fn name(self) -> &'static str {
        match self {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        }
    }
}

/// The `[http]` table: proxies, CORS, timeouts, connection limit; and the admin token.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Peers whose `forwarded_header` names the client.
    #[serde(deserialize_with = "de_proxies")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The header the trusted proxies write; the other one is never read (a proxy passes
    /// on whatever a client put in a header it does not write itself).
    pub forwarded_header: ForwardedHeader,
    pub cors_allowed_origins: CorsOrigins,
    /// A request's headers must arrive within this.
    #[serde(deserialize_with = "de_duration")]
    pub header_read_timeout: Duration,
    /// A whole request (body included) must be handled within this.
    #[serde(deserialize_with = "de_duration")]
    pub request_timeout: Duration,
    /// Open connections per listener at most.
    pub max_connections: usize,
    /// When set (from [`ENV_ADMIN_TOKEN`] only), the admin endpoints want
    /// `Authorization: Bearer <token>`.
    #[serde(skip)]
    pub admin_token: Option<AdminToken>,
}

/// The `[tx]` table: submission of stops.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TxSettings {
    #[serde(deserialize_with = "de_duration")]
    pub receipt_timeout: Duration,
    #[serde(deserialize_with = "de_duration")]
    pub receipt_poll_interval: Duration,
    pub max_attempts: u32,
    pub fee_bump_percent: u32,
    pub max_fee_per_gas_gwei: Option<u64>,
    pub gas_margin_percent: u32,
    /// Stops in flight at once.
    pub concurrency: usize,
    /// Wait before re-judging a session whose stop failed.
    #[serde(deserialize_with = "de_duration")]
    pub retry_after: Duration,
}

impl TxSettings {
    /// The submitter's settings.
    pub fn submit(&self) -> SubmitConfig {
        SubmitConfig {
            receipt_timeout: self.receipt_timeout,
            poll_interval: self.receipt_poll_interval,
            max_attempts: self.max_attempts,
            fee_bump_percent: self.fee_bump_percent,
            max_fee_per_gas: (self.max_fee_per_gas_gwei).map(|g| u128::from(g) * 1_000_000_000),
            gas_margin_percent: self.gas_margin_percent,
        }
    }
}

/// The defaults (relayer/README.md, Configuration). `rpc_url`, `escrow` and `chain_id`
/// have none: [`Config::load`] refuses a config that does not set them.
impl Default for Config {
    fn default() -> Self {
        let local = |port| SocketAddr::from(([127, 0, 0, 1], port));
        Self {
            config: None,
            rpc_url: Url::parse("http://127.0.0.1:8545").expect("a URL"),
            escrow: Address::ZERO,
            deployment: None,
            chain_id: 0,
            keystore: None,
            keystore_password_file: None,
            key: None,
            listen: local(8080),
            admin_listen: local(9090),
            ping_interval: secs(5),
            silence_timeout: secs(10),
            grace_period: secs(20),
            max_backdate: None,
            confirmations: 1,
            start_block: 0,
            cursor_file: PathBuf::from("minuto-relayer.cursor.json"),
            log_format: LogFormat::Json,
            redis_url: None,
            log_chunk_blocks: 2_000,
            poll_interval: secs(2),
            rpc_timeout: secs(10),
            shutdown_drain: secs(10),
            api: ApiLimits::default(),
            http: HttpSettings::default(),
            tx: TxSettings::default(),
        }
    }
}

impl Default for ApiLimits {
    fn default() -> Self {
        Self {
            max_clock_skew: secs(30),
            max_body_bytes: 1024,
            ip_rate_per_second: 50.0,
            ip_burst: 100.0,
            session_rate_per_second: 2.0,
            session_burst: 10.0,
        }
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::XForwardedFor,
            cors_allowed_origins: CorsOrigins::Any,
            header_read_timeout: secs(15),
            request_timeout: secs(10),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            admin_token: None,
        }
    }
}

impl Default for TxSettings {
    fn default() -> Self {
        Self {
            receipt_timeout: secs(15),
            receipt_poll_interval: Duration::from_millis(500),
            max_attempts: 5,
            fee_bump_percent: 25,
            max_fee_per_gas_gwei: None,
            gas_margin_percent: 20,
            concurrency: 16,
            retry_after: secs(5),
        }
    }
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
    /// The config file is not valid TOML for this schema, or a value in it does not
    /// parse (a duration, an address, a proxy CIDR, a CORS origin): serde's message
    /// with the key's line.
    #[error("config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    /// The matches given to [`Config::load`] are not from [`Config::command`].
    #[error("arguments: {0}")]
    Args(#[from] clap::Error),
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

/// `Ok` when `ok`, else [`ConfigError::Invalid`] naming `field`.
fn ensure(ok: bool, field: &'static str, reason: impl Into<String>) -> Result<(), ConfigError> {
    let invalid = || ConfigError::Invalid {
        field,
        reason: reason.into(),
    };
    ok.then_some(()).ok_or_else(invalid)
}

/// `value` lies in `range`, else [`ConfigError::Invalid`] naming `field`.
fn within<T: PartialOrd + Display>(
    field: &'static str,
    value: T,
    range: RangeInclusive<T>,
) -> Result<(), ConfigError> {
    let reason = format!("must be within {}..={}", range.start(), range.end());
    ensure(range.contains(&value), field, reason)
}

/// `value` is above zero, else [`ConfigError::Invalid`] naming `field`.
fn positive(field: &'static str, value: Duration) -> Result<(), ConfigError> {
    ensure(!value.is_zero(), field, "must be above zero")
}

/// A rate of the `[api]` table is finite and above zero.
fn rate(field: &'static str, value: f64) -> Result<(), ConfigError> {
    ensure(
        value.is_finite() && value > 0.0,
        field,
        "must be a positive number",
    )
}

/// [`ConfigError::Key`] with `message`.
fn key_error<T>(message: String) -> Result<T, ConfigError> {
    Err(ConfigError::Key(message))
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

/// The relayer key: from the environment, or a keystore with its password from the
/// environment or a file. Secrets read as text are wiped once parsed.
fn relayer_key(
    c: &Config,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<RelayerKey, ConfigError> {
    let env_key = env(ENV_PRIVATE_KEY)
        .filter(|k| !k.trim().is_empty())
        .map(Zeroizing::new);
    let path = match (env_key, &c.keystore) {
        (Some(_), Some(_)) => {
            let both = format!("both {ENV_PRIVATE_KEY} and a keystore are set; choose one");
            return key_error(both);
        }
        (Some(hex), None) => return parse_private_key(&hex),
        (None, None) => return key_error(format!("set {ENV_PRIVATE_KEY} or a keystore")),
        (None, Some(path)) => path,
    };
    let password = match (env(ENV_KEYSTORE_PASSWORD), &c.keystore_password_file) {
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

impl Config {
    /// The file named by `--config` (if any) under the flags and environment in
    /// `matches` (from [`Config::command`]), checked; the relayer key and the admin
    /// token are looked up with `env` (`|name| std::env::var(name).ok()` in `main`).
    ///
    /// # Errors
    /// [`ConfigError`] naming the first bad or missing value.
    pub fn load(
        matches: &ArgMatches,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let (mut config, file) = match matches.get_one::<PathBuf>("config") {
            None => (Config::default(), toml::Table::new()),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                let parse = |source| ConfigError::Parse {
                    path: path.clone(),
                    source,
                };
                let file = toml::from_str::<toml::Table>(&text).map_err(parse)?;
                (toml::from_str(&text).map_err(parse)?, file)
            }
        };
        config.update_from_arg_matches(matches)?;
        config.check(
            |key| matches.contains_id(key) || file.contains_key(key),
            env,
        )
    }

    /// Defaults for everything but the chain, escrow and key (tests and embedding).
    pub fn with_defaults(rpc_url: Url, escrow: Address, chain_id: u64, key: RelayerKey) -> Self {
        Self {
            rpc_url,
            escrow,
            chain_id,
            key: Some(key),
            // A free port: several embedded relayers (tests) must not collide.
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..Self::default()
        }
    }

    /// Resolves the deployment file and the key, then checks every value. `given`
    /// tells whether a flag, the environment or the file set a key.
    fn check(
        mut self,
        given: impl Fn(&str) -> bool,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        if !given("rpc_url") {
            return Err(ConfigError::Missing("rpc_url"));
        }
        let http_scheme = matches!(self.rpc_url.scheme(), "http" | "https");
        ensure(http_scheme, "rpc_url", "must be an http:// or https:// URL")?;
        // A relative `deployment` path is taken from the working directory, like
        // `keystore` and `cursor_file`.
        let deployment = (self.deployment.as_deref())
            .map(|path| Deployment::load(path).map(|d| (d, path)))
            .transpose()?;
        let escrow = given("escrow").then_some(self.escrow);
        let deployed = deployment.map(|(d, path)| (d.escrow, path));
        self.escrow = agree("escrow", escrow, deployed)?;
        ensure(
            self.escrow != Address::ZERO,
            "escrow",
            "must not be the zero address",
        )?;
        let chain_id = given("chain_id").then_some(self.chain_id);
        let deployed = deployment.map(|(d, path)| (d.chain_id, path));
        self.chain_id = agree("chain_id", chain_id, deployed)?;
        ensure(self.chain_id != 0, "chain_id", "must not be 0")?;
        // An explicit start block wins over the deployment's: it only saves reads.
        if let Some((d, _)) = deployment.filter(|_| !given("start_block")) {
            self.start_block = d.escrow_block;
        }
        self.key = Some(relayer_key(&self, &env)?);

        let (ping, silence, grace) = (self.ping_interval, self.silence_timeout, self.grace_period);
        positive("ping_interval", ping)?;
        ensure(
            silence > ping,
            "silence_timeout",
            format!("{silence:?} must be longer than ping_interval {ping:?}, or every late ping stops a session"),
        )?;
        ensure(
            grace >= silence,
            "grace_period",
            format!("{grace:?} must be at least silence_timeout {silence:?}"),
        )?;
        let backdate_ok = self.max_backdate.is_none_or(|d| d.as_secs() != 0);
        ensure(backdate_ok, "max_backdate", "must be at least 1s")?;
        ensure(
            self.confirmations <= 10_000,
            "confirmations",
            "above 10000 blocks",
        )?;

        let a = &self.api;
        within("api.max_body_bytes", a.max_body_bytes, 256..=65_536)?;
        rate("api.ip_rate_per_second", a.ip_rate_per_second)?;
        rate("api.ip_burst", a.ip_burst)?;
        rate("api.session_rate_per_second", a.session_rate_per_second)?;
        rate("api.session_burst", a.session_burst)?;

        let t = &self.tx;
        let bump = "nodes refuse replacements below +10 %";
        ensure(t.fee_bump_percent >= 10, "tx.fee_bump_percent", bump)?;
        within("tx.max_attempts", t.max_attempts, 1..=20)?;
        within("tx.concurrency", t.concurrency, 1..=1024)?;

        let h = &mut self.http;
        positive("http.header_read_timeout", h.header_read_timeout)?;
        positive("http.request_timeout", h.request_timeout)?;
        within("http.max_connections", h.max_connections, 1..=1_000_000)?;
        // hyper applies it to idle keep-alive connections too: they would be closed
        // between two pings, and a ping racing the close would be lost.
        let header = h.header_read_timeout;
        ensure(
            header > ping,
            "http.header_read_timeout",
            format!("{header:?} must be longer than ping_interval {ping:?}: idle keep-alive connections are closed after it"),
        )?;
        let listen = self.listen;
        ensure(
            self.admin_listen != listen || listen.port() == 0,
            "admin_listen",
            format!(
                "{listen} is the public listener's address; the admin endpoints need their own"
            ),
        )?;
        h.admin_token = env(ENV_ADMIN_TOKEN)
            .filter(|t| !t.trim().is_empty())
            .map(AdminToken::from);
        if (h.admin_token.as_ref()).is_some_and(|t| t.expose_secret().len() < 16) {
            return key_error(format!("{ENV_ADMIN_TOKEN} must be at least 16 characters"));
        }
        let redis_ok = (self.redis_url.as_ref())
            .is_none_or(|u| matches!(u.scheme(), "redis" | "rediss" | "valkey" | "valkeys"));
        ensure(redis_ok, "redis_url", "must be a redis:// or rediss:// URL")?;
        within("log_chunk_blocks", self.log_chunk_blocks, 1..=1_000_000)?;
        positive("poll_interval", self.poll_interval)?;
        positive("rpc_timeout", self.rpc_timeout)?;
        Ok(self)
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
