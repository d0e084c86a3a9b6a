//! Typed configuration: flags, each with a `MINUTO_INDEXER_*` variable, and an optional
//! TOML file (`--config`) whose keys are the flags' names with underscores; flags and
//! variables win over the file. Contract addresses, chain id and start block come from the
//! deploy tool's record (`--deployment deployments/<chain-id>.json`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde::Deserialize;
use url::Url;

use crate::events::Source;
use crate::ingest::{Contracts, IngestConfig};

fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a duration ({e}): write e.g. 2s, 500ms, 1m"))
}

/// `minuto-indexer`: session history, earnings, progress, profiles and protocol stats
/// from the Minuto contracts' events.
#[derive(Clone, Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// A TOML file with any of the settings below (snake_case keys).
    #[arg(long, env = "MINUTO_INDEXER_CONFIG")]
    pub config: Option<PathBuf>,
    /// The deploy tool's record: chain id, addresses, deployment blocks.
    #[arg(long, env = "MINUTO_INDEXER_DEPLOYMENT")]
    pub deployment: Option<PathBuf>,
    /// JSON-RPC endpoint of the chain.
    #[arg(long, env = "MINUTO_INDEXER_RPC_URL")]
    pub rpc_url: Option<Url>,
    /// SQLite file (a path or sqlite://PATH; created if missing) or postgres://… URL.
    #[arg(long, env = "MINUTO_INDEXER_DATABASE_URL")]
    pub database_url: Option<String>,
    /// API listener.
    #[arg(long, env = "MINUTO_INDEXER_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Blocks a log must be buried under before it is stored.
    #[arg(long, env = "MINUTO_INDEXER_CONFIRMATIONS")]
    pub confirmations: Option<u64>,
    /// Largest block range per log query.
    #[arg(long, env = "MINUTO_INDEXER_CHUNK_BLOCKS")]
    pub chunk_blocks: Option<u64>,
    /// Pause between polls once caught up.
    #[arg(long, env = "MINUTO_INDEXER_POLL_INTERVAL", value_parser = duration)]
    pub poll_interval: Option<Duration>,
    /// With several indexers on one database: how long the writer's lease lasts without
    /// renewal (another instance takes over after it lapses); at least 3 poll intervals
    /// (default: 10s, or 3 poll intervals if longer).
    #[arg(long, env = "MINUTO_INDEXER_WRITER_LEASE", value_parser = duration)]
    pub writer_lease: Option<Duration>,
    /// This instance's name in the writer lease, unique among the indexers sharing the
    /// database (default: host name and listen address). Restarted under the same name,
    /// an instance takes its own lease back at once.
    #[arg(long, env = "MINUTO_INDEXER_INSTANCE")]
    pub instance: Option<String>,
    /// Log format: text or json.
    #[arg(long, env = "MINUTO_INDEXER_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Browser origins allowed to call the API (repeat or comma-separate, e.g.
    /// https://app.minuto.example); none: any origin.
    #[arg(long, env = "MINUTO_INDEXER_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
}

/// The file's content (every key optional).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// See [`Cli::deployment`].
    pub deployment: Option<PathBuf>,
    /// See [`Cli::rpc_url`].
    pub rpc_url: Option<Url>,
    /// See [`Cli::database_url`].
    pub database_url: Option<String>,
    /// See [`Cli::listen`].
    pub listen: Option<SocketAddr>,
    /// See [`Cli::confirmations`].
    pub confirmations: Option<u64>,
    /// See [`Cli::chunk_blocks`].
    pub chunk_blocks: Option<u64>,
    /// See [`Cli::poll_interval`] (`"2s"`).
    #[serde(default, deserialize_with = "de_duration")]
    pub poll_interval: Option<Duration>,
    /// See [`Cli::writer_lease`] (`"10s"`).
    #[serde(default, deserialize_with = "de_duration")]
    pub writer_lease: Option<Duration>,
    /// See [`Cli::instance`].
    pub instance: Option<String>,
    /// See [`Cli::log_format`].
    pub log_format: Option<String>,
    /// See [`Cli::allowed_origins`].
    pub allowed_origins: Option<Vec<String>>,
    /// Webhook endpoints (`[[webhooks]]` tables; only in the file, to keep secrets out
    /// of process listings).
    #[serde(default)]
    pub webhooks: Vec<WebhookFile>,
}

/// One `[[webhooks]]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookFile {
    /// Names its delivery cursors in the database.
    pub name: String,
    /// `http://` or `https://` URL the notifications are POSTed to.
    pub url: Url,
    /// The HMAC-SHA256 key (at least 16 bytes).
    pub secret: crate::webhook::Secret,
    /// The addresses whose notifications it receives.
    pub addresses: Vec<alloy_primitives::Address>,
    /// Per request (default `"10s"`).
    #[serde(default, deserialize_with = "de_duration")]
    pub timeout: Option<Duration>,
    /// First pause after a failed attempt (default `"1s"`), doubled after each.
    #[serde(default, deserialize_with = "de_duration")]
    pub retry_initial: Option<Duration>,
    /// The longest pause (default `"5m"`).
    #[serde(default, deserialize_with = "de_duration")]
    pub retry_max: Option<Duration>,
}

impl WebhookFile {
    /// Checks the values.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the endpoint and the setting.
    pub fn resolve(self) -> Result<crate::Webhook, ConfigError> {
        let bad = |what: &str| ConfigError::Invalid(format!("webhooks: {:?}: {what}", self.name));
        if self.name.trim().is_empty() {
            return Err(ConfigError::Invalid("webhooks: a name is required".into()));
        }
        if !matches!(self.url.scheme(), "http" | "https") {
            return Err(bad("url must be http:// or https://"));
        }
        if self.secret.len() < 16 {
            return Err(bad("secret must be at least 16 bytes"));
        }
        if self.addresses.is_empty() {
            return Err(bad("addresses must list at least one address"));
        }
        let timeout = self.timeout.unwrap_or(Duration::from_secs(10));
        let retry_initial = self.retry_initial.unwrap_or(Duration::from_secs(1));
        let retry_max = self.retry_max.unwrap_or(Duration::from_secs(300));
        if timeout.is_zero() || retry_initial.is_zero() {
            return Err(bad("timeout and retry_initial must be positive"));
        }
        if retry_max < retry_initial {
            return Err(bad("retry_max must not be below retry_initial"));
        }
        Ok(crate::Webhook {
            name: self.name,
            url: self.url,
            secret: self.secret,
            addresses: self.addresses,
            timeout,
            retry_initial,
            retry_max,
        })
    }
}

fn de_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    s.map(|s| duration(&s).map_err(serde::de::Error::custom))
        .transpose()
}

/// The settings, checked.
#[derive(Clone, Debug)]
pub struct Config {
    /// Deployment record.
    pub deployment: PathBuf,
    /// Node.
    pub rpc_url: Url,
    /// Database.
    pub database_url: String,
    /// API listener.
    pub listen: SocketAddr,
    /// Ingestion.
    pub ingest: IngestConfig,
    /// `text` or `json`.
    pub log_format: String,
    /// Browser origins the API answers (empty: any).
    pub allowed_origins: Vec<axum::http::HeaderValue>,
    /// Webhook endpoints.
    pub webhooks: Vec<crate::Webhook>,
    /// This instance's name in the writer lease.
    pub instance: String,
}

/// A configuration that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("config file {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for these settings. Only the line and the parser's
    /// message are kept: the file holds webhook secrets, and the parser's own display
    /// quotes the offending line.
    #[error("config file {path}, line {line}: {message}")]
    Parse {
        /// File.
        path: PathBuf,
        /// 1-based line of the error (0 when the parser gives no place).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A required setting is missing.
    #[error(
        "{0} is required (flag --{1}, variable MINUTO_INDEXER_{2}, or `{0}` in the config file)"
    )]
    Missing(&'static str, &'static str, &'static str),
    /// A value out of range.
    #[error("{0}")]
    Invalid(String),
    /// The deployment record is unusable.
    #[error("deployment record: {0}")]
    Deployment(#[from] minuto_chain::RecordError),
    /// The record lacks the escrow.
    #[error("deployment record {0} has no escrow address")]
    NoEscrow(PathBuf),
}

impl Cli {
    /// Merges flags, variables and the file, and checks the values.
    ///
    /// # Errors
    /// [`ConfigError`] naming the setting.
    pub fn resolve(self) -> Result<Config, ConfigError> {
        let file = match &self.config {
            None => File::default(),
            Some(path) => {
                // Holds webhook secrets: zeroized once parsed.
                let text =
                    zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|source| {
                        ConfigError::Read {
                            path: path.clone(),
                            source,
                        }
                    })?);
                toml::from_str(text.as_str()).map_err(|e: toml::de::Error| ConfigError::Parse {
                    path: path.clone(),
                    line: e.span().map_or(0, |r| {
                        text.get(..r.start)
                            .map_or(0, |t| t.matches('\n').count() + 1)
                    }),
                    message: e.message().to_owned(),
                })?
            }
        };
        let confirmations = self.confirmations.or(file.confirmations).unwrap_or(2);
        let chunk_blocks = self.chunk_blocks.or(file.chunk_blocks).unwrap_or(2_000);
        if !(1..=100_000).contains(&chunk_blocks) {
            return Err(ConfigError::Invalid(
                "chunk_blocks must be between 1 and 100000".into(),
            ));
        }
        let poll_interval = self
            .poll_interval
            .or(file.poll_interval)
            .unwrap_or(Duration::from_secs(2));
        if poll_interval.is_zero() {
            return Err(ConfigError::Invalid(
                "poll_interval must be positive".into(),
            ));
        }
        let writer_lease = self
            .writer_lease
            .or(file.writer_lease)
            .unwrap_or_else(|| (poll_interval * 3).max(Duration::from_secs(10)));
        if writer_lease < poll_interval * 3 {
            return Err(ConfigError::Invalid(format!(
                "writer_lease must be at least 3 poll intervals ({:?})",
                poll_interval * 3
            )));
        }
        let log_format = self
            .log_format
            .or(file.log_format)
            .unwrap_or_else(|| "text".into());
        if log_format != "text" && log_format != "json" {
            return Err(ConfigError::Invalid(
                "log_format must be text or json".into(),
            ));
        }
        let origins = if self.allowed_origins.is_empty() {
            file.allowed_origins.unwrap_or_default()
        } else {
            self.allowed_origins
        };
        let allowed_origins = origins
            .iter()
            .map(|o| {
                let url_like = (o.starts_with("https://") || o.starts_with("http://"))
                    && !o.trim_end_matches('/').contains(['?', '#'])
                    && o.matches('/').count() == 2;
                url_like
                    .then(|| axum::http::HeaderValue::from_str(o).ok())
                    .flatten()
                    .ok_or_else(|| {
                        ConfigError::Invalid(format!(
                            "allowed_origins: {o:?} is not an origin (scheme://host[:port], e.g. https://app.minuto.example)"
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let webhooks = file
            .webhooks
            .into_iter()
            .map(WebhookFile::resolve)
            .collect::<Result<Vec<_>, _>>()?;
        let mut names = std::collections::HashSet::new();
        if let Some(w) = webhooks.iter().find(|w| !names.insert(w.name.as_str())) {
            return Err(ConfigError::Invalid(format!(
                "webhooks: the name {:?} is used twice",
                w.name
            )));
        }
        let listen = self
            .listen
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:8095".parse().expect("a valid address"));
        let instance = match self.instance.or(file.instance) {
            Some(name) if name.trim().is_empty() => {
                return Err(ConfigError::Invalid("instance must not be empty".into()))
            }
            Some(name) => name,
            None => format!("{}/{listen}", host_name()),
        };
        Ok(Config {
            webhooks,
            instance,
            allowed_origins,
            deployment: self
                .deployment
                .or(file.deployment)
                .ok_or(ConfigError::Missing(
                    "deployment",
                    "deployment",
                    "DEPLOYMENT",
                ))?,
            rpc_url: self
                .rpc_url
                .or(file.rpc_url)
                .ok_or(ConfigError::Missing("rpc_url", "rpc-url", "RPC_URL"))?,
            database_url: self
                .database_url
                .or(file.database_url)
                .unwrap_or_else(|| "minuto-indexer.sqlite".into()),
            listen,
            ingest: IngestConfig {
                confirmations,
                chunk_blocks,
                poll_interval,
                writer_lease,
            },
            log_format,
        })
    }
}

/// The machine's host name (Linux), else `localhost`.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

impl Config {
    /// The followed contracts from the deployment record: the escrow (required) and
    /// whichever of credentials, badges, ratings and vetting it lists; ingestion starts at the
    /// earliest deployment block among them.
    ///
    /// # Errors
    /// [`ConfigError`] when the record cannot be read or has no escrow.
    pub fn contracts(&self) -> Result<Contracts, ConfigError> {
        contracts(
            &minuto_chain::Record::read(&self.deployment)?,
            &self.deployment,
        )
    }
}

/// The followed contracts in `record` (read from `path`).
///
/// # Errors
/// [`ConfigError::NoEscrow`].
pub fn contracts(
    record: &minuto_chain::Record,
    path: &std::path::Path,
) -> Result<Contracts, ConfigError> {
    use minuto_chain::Contract;
    let escrow = record
        .get(Contract::Escrow)
        .ok_or_else(|| ConfigError::NoEscrow(path.to_owned()))?;
    let mut addresses = vec![];
    let mut start_block = escrow.block;
    for (contract, source) in [
        (Contract::Escrow, Source::Escrow),
        (Contract::Credentials, Source::Credentials),
        (Contract::Badges, Source::Badges),
        (Contract::Ratings, Source::Ratings),
        (Contract::Vetting, Source::Vetting),
        (Contract::Booking, Source::Booking),
    ] {
        if let Some(d) = record.get(contract) {
            addresses.push((source, d.address));
            start_block = start_block.min(d.block);
        }
    }
    Ok(Contracts {
        chain_id: record.chain_id,
        addresses,
        escrow: escrow.address,
        start_block,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;

    use super::{Cli, Config, ConfigError};

    fn resolve(file: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("indexer.toml");
        std::fs::write(&path, file).unwrap();
        Cli::try_parse_from([
            "minuto-indexer",
            "--config",
            path.to_str().unwrap(),
            "--deployment",
            "x.json",
            "--rpc-url",
            "http://127.0.0.1:1",
        ])
        .unwrap()
        .resolve()
    }

    const HOOK: &str = r#"
        [[webhooks]]
        name = "mailer"
        url = "https://mailer.internal/minuto"
        secret = "whsec-0123456789abcdef"
        addresses = ["0x00000000000000000000000000000000000000aa"]
    "#;

    #[test]
    fn webhooks_come_from_the_file_with_defaults_and_a_redacted_secret() {
        let cfg = resolve(&format!("{HOOK}retry_max = \"30s\"\n")).unwrap();
        let [w] = cfg.webhooks.as_slice() else {
            panic!("{:?}", cfg.webhooks)
        };
        assert_eq!(w.name, "mailer");
        assert_eq!(w.url.as_str(), "https://mailer.internal/minuto");
        assert_eq!(
            w.addresses,
            [alloy_primitives::Address::with_last_byte(0xaa)]
        );
        assert_eq!(
            (w.timeout, w.retry_initial, w.retry_max),
            (
                Duration::from_secs(10),
                Duration::from_secs(1),
                Duration::from_secs(30)
            )
        );
        let shown = format!("{cfg:?}");
        assert!(shown.contains("Secret(redacted)"), "{shown}");
        assert!(!shown.contains("whsec-0123456789abcdef"), "{shown}");
    }

    #[test]
    fn the_writer_lease_defaults_to_10s_and_must_cover_three_polls() {
        assert_eq!(
            resolve("").unwrap().ingest.writer_lease,
            Duration::from_secs(10)
        );
        assert_eq!(
            resolve("poll_interval = \"5s\"\n")
                .unwrap()
                .ingest
                .writer_lease,
            Duration::from_secs(15),
            "3 poll intervals when longer than 10s"
        );
        let cfg = resolve("poll_interval = \"1s\"\nwriter_lease = \"3s\"\n").unwrap();
        assert_eq!(
            (cfg.ingest.poll_interval, cfg.ingest.writer_lease),
            (Duration::from_secs(1), Duration::from_secs(3))
        );
        assert_eq!(
            resolve("writer_lease = \"5999ms\"\n")
                .unwrap_err()
                .to_string(),
            "writer_lease must be at least 3 poll intervals (6s)"
        );
    }

    #[test]
    fn the_instance_is_named_by_host_and_listen_address_unless_set() {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(
            resolve("").unwrap().instance,
            format!("{}/127.0.0.1:8095", host.trim())
        );
        assert_eq!(
            resolve("listen = \"127.0.0.1:8096\"\n").unwrap().instance,
            format!("{}/127.0.0.1:8096", host.trim())
        );
        assert_eq!(resolve("instance = \"ix-a\"\n").unwrap().instance, "ix-a");
        assert_eq!(
            resolve("instance = \" \"\n").unwrap_err().to_string(),
            "instance must not be empty"
        );
    }

    #[test]
    fn webhooks_that_cannot_work_are_refused_by_name() {
        let err = |file: &str| resolve(file).unwrap_err().to_string();
        assert_eq!(
            err(&HOOK.replace("whsec-0123456789abcdef", "short")),
            "webhooks: \"mailer\": secret must be at least 16 bytes"
        );
        assert_eq!(
            err(&HOOK.replace("https://", "ftp://")),
            "webhooks: \"mailer\": url must be http:// or https://"
        );
        assert_eq!(
            err(&HOOK.replace(r#"["0x00000000000000000000000000000000000000aa"]"#, "[]")),
            "webhooks: \"mailer\": addresses must list at least one address"
        );
        assert_eq!(
            err(&format!(
                "{HOOK}retry_initial = \"1m\"\nretry_max = \"30s\"\n"
            )),
            "webhooks: \"mailer\": retry_max must not be below retry_initial"
        );
        assert_eq!(
            err(&format!("{HOOK}{HOOK}")),
            "webhooks: the name \"mailer\" is used twice"
        );
        assert!(matches!(
            resolve(&format!("{HOOK}retries = 3\n")),
            Err(ConfigError::Parse { .. })
        ));
        // A broken line holding a secret is named by number, never quoted.
        let broken = "[[webhooks]]\nname = \"mailer\"\nsecret = \"hunter2-hunter2-hunter2\nurl = \"http://x\"\n";
        let e = resolve(broken).unwrap_err().to_string();
        assert!(e.contains(", line 3: "), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }
}
