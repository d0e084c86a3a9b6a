//! `minuto-deploy`: deploys the Minuto contracts with `cargo stylus deploy`, in dependency
//! order, wires them, and records every address in `deployments/<chain-id>.json`.
//!
//! Order and wiring:
//! 1. **credentials** `constructor(deployer)`; then `grantRole(ISSUER_ROLE, issuer)` for
//!    each `--issuer`, and, when `--admin` is not the deployer, `grantRole(0x00, admin)` and
//!    `renounceRole(0x00, deployer)` — the latter only once the admin has accepted the
//!    escrow (step 2), which proves it holds its key; a re-run after `acceptAdmin` does it.
//! 2. **escrow** `constructor(deployer, treasury, credentials, fee_bps, start_window,
//!    max_backdate)`; then `setRelayer(r, true)` for each `--relayer`,
//!    `setTokenAllowed(t, true)` for each `--token`, `setConfig(…)` if the chain's config
//!    differs from the flags, and `transferAdmin(admin)` when `--admin` is not the deployer
//!    (the admin then calls `acceptAdmin()`; the tool prints that step).
//! 3. **badges** `constructor(admin, escrow, badge_min_duration, badge_base_uri)`.
//! 4. **ratings** `constructor(admin, escrow, rating_min_duration, rating_window)`;
//!    for both, `setMinDuration`/`setConfig` when the chain differs and the deployer is
//!    their admin.
//!
//! Re-running with the same output file deploys only what the file lacks (after checking
//! that every recorded address holds code) and sends only the wiring calls whose effect is
//! not already on chain: the wiring is read back from the contracts' views, so a re-run
//! converges and a second re-run sends nothing. `--dry-run` prints the plan without
//! sending; `--estimate-gas` prices it without sending.

pub mod plan;
pub mod stylus;
pub mod verify;

/// The contracts' bindings, from the shared crate (`minuto_chain::bindings`).
pub use minuto_chain::bindings;

use std::path::{Path, PathBuf};

use alloy::network::{ReceiptResponse, TransactionBuilder};
use alloy::primitives::{Address, Bytes, B256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use clap::Parser;
use url::Url;

pub use crate::plan::{Action, Sender};
pub use crate::stylus::{CargoStylus, StylusError};
pub use minuto_chain::deployment::{Contract, Deployed, Record, RecordError};

/// What the run does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Deploy and wire.
    Apply,
    /// Print the plan; send nothing, run no cargo-stylus.
    DryRun,
    /// Price the plan; send nothing.
    EstimateGas,
}

/// Command line (every flag also reads an environment variable). No `Debug`: it holds
/// the private key; [`Config`]'s `Debug` shows only the deployer's address.
#[derive(Clone, Parser)]
#[command(
    name = "minuto-deploy",
    version,
    about = "Deploy and wire the Minuto contracts with cargo stylus"
)]
pub struct Cli {
    /// Node JSON-RPC URL.
    #[arg(long, env = "MINUTO_RPC_URL")]
    pub rpc_url: Url,
    /// Deployer private key (hex). Prefer the environment variable to the flag.
    #[arg(long, env = "MINUTO_DEPLOYER_KEY", hide_env_values = true)]
    pub private_key: String,
    /// Final admin of every contract (a multisig in production). Default: the deployer,
    /// on dev nodes and testnets only; required (with --treasury) on any other chain.
    #[arg(long, env = "MINUTO_ADMIN")]
    pub admin: Option<Address>,
    /// Protocol fee recipient. Default: the admin.
    #[arg(long, env = "MINUTO_TREASURY")]
    pub treasury: Option<Address>,
    /// Relayer account allowed to call `stopAt` (repeat or comma-separate).
    #[arg(long = "relayer", env = "MINUTO_RELAYERS", value_delimiter = ',')]
    pub relayers: Vec<Address>,
    /// ERC-20 allowed for new sessions (repeat or comma-separate).
    #[arg(long = "token", env = "MINUTO_TOKENS", value_delimiter = ',')]
    pub tokens: Vec<Address>,
    /// Account given the credentials' ISSUER_ROLE (repeat or comma-separate).
    #[arg(long = "issuer", env = "MINUTO_ISSUERS", value_delimiter = ',')]
    pub issuers: Vec<Address>,
    /// Protocol fee in basis points (at most 1000).
    #[arg(long, env = "MINUTO_FEE_BPS", default_value_t = 0)]
    pub fee_bps: u16,
    /// Seconds an Open session may wait for the tutor before anyone may cancel it.
    #[arg(long, env = "MINUTO_START_WINDOW", default_value_t = 900)]
    pub start_window: u32,
    /// Seconds a relayer's `stopAt` may reach back (30 to 3600).
    #[arg(long, env = "MINUTO_MAX_BACKDATE", default_value_t = 60)]
    pub max_backdate: u32,
    /// Minimum billed seconds for an attendance badge.
    #[arg(long, env = "MINUTO_BADGE_MIN_DURATION", default_value_t = 300)]
    pub badge_min_duration: u64,
    /// Base URI of badge metadata (at most 256 bytes; fixed at deployment).
    #[arg(long, env = "MINUTO_BADGE_BASE_URI", default_value = "")]
    pub badge_base_uri: String,
    /// Minimum billed seconds for a session to be rated.
    #[arg(long, env = "MINUTO_RATING_MIN_DURATION", default_value_t = 300)]
    pub rating_min_duration: u64,
    /// Seconds after a session ends during which its parties may rate.
    #[arg(long, env = "MINUTO_RATING_WINDOW", default_value_t = 14 * 24 * 60 * 60)]
    pub rating_window: u64,
    /// Least a session must bill, in base units of its token, for badges and ratings; set
    /// for every `--token` (default 1,000,000: 1 USDC). Must be positive.
    #[arg(long, env = "MINUTO_MIN_BILLED", default_value_t = 1_000_000)]
    pub min_billed: u128,
    /// Deployment record. Default: `<root>/deployments/<chain-id>.json`.
    #[arg(long, env = "MINUTO_DEPLOYMENTS")]
    pub out: Option<PathBuf>,
    /// Repository root (holds `Stylus.toml`). Default: found from the working directory.
    #[arg(long, env = "MINUTO_ROOT")]
    pub root: Option<PathBuf>,
    /// The cargo-stylus command up to and including `stylus`, split on spaces: `cargo
    /// stylus`, or `/path/to/cargo-stylus stylus` (the binary expects the word cargo
    /// inserts).
    #[arg(long, env = "CARGO_STYLUS", default_value = "cargo stylus")]
    pub cargo_stylus: String,
    /// StylusDeployer contract, if not cargo-stylus's default.
    #[arg(long, env = "MINUTO_STYLUS_DEPLOYER")]
    pub deployer_address: Option<Address>,
    /// Fee cap per gas in gwei passed to cargo-stylus (default: the node's price).
    #[arg(long, env = "MINUTO_MAX_FEE_GWEI")]
    pub max_fee_per_gas_gwei: Option<String>,
    /// Print what would be done; send nothing.
    #[arg(long, conflicts_with = "estimate_gas")]
    pub dry_run: bool,
    /// Print the gas each step would use; send nothing.
    #[arg(long)]
    pub estimate_gas: bool,
}

/// A validated configuration.
#[derive(Clone)]
pub struct Config {
    /// Node.
    pub rpc_url: Url,
    /// Deployer.
    pub signer: PrivateKeySigner,
    /// Final admin.
    pub admin: Address,
    /// Fee recipient.
    pub treasury: Address,
    /// Whether `--admin` and `--treasury` were both given (required outside dev nodes
    /// and testnets: the defaults, the deployer's hot key, are no production admin).
    pub admin_and_treasury_given: bool,
    /// Relayers to allow.
    pub relayers: Vec<Address>,
    /// Tokens to allow.
    pub tokens: Vec<Address>,
    /// Credential issuers.
    pub issuers: Vec<Address>,
    /// Fee, basis points.
    pub fee_bps: u16,
    /// Start window, seconds.
    pub start_window: u32,
    /// Relayer backdate bound, seconds.
    pub max_backdate: u32,
    /// Badge minimum duration.
    pub badge_min_duration: u64,
    /// Badge base URI.
    pub badge_base_uri: String,
    /// Rating minimum duration.
    pub rating_min_duration: u64,
    /// Rating window.
    pub rating_window: u64,
    /// Minimum billed value per token for badges and ratings, base units.
    pub min_billed: u128,
    /// Record path (`None`: `<root>/deployments/<chain-id>.json`).
    pub out: Option<PathBuf>,
    /// Repository root.
    pub root: PathBuf,
    /// cargo-stylus command.
    pub cargo_stylus: Vec<String>,
    /// StylusDeployer override.
    pub deployer_address: Option<Address>,
    /// Fee cap, gwei (as given, for cargo-stylus).
    pub max_fee_per_gas_gwei: Option<String>,
    /// The same cap in wei, for the wiring transactions.
    pub max_fee_per_gas: Option<u128>,
    /// What to do.
    pub mode: Mode,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("deployer", &self.signer.address())
            .field("admin", &self.admin)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// A flag or variable with a value the contracts would reject.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The key is not a secp256k1 private key (the key itself is never printed).
    #[error("invalid --private-key / MINUTO_DEPLOYER_KEY: not a 32-byte hex secp256k1 key")]
    Key,
    /// A zero address where an account is needed.
    #[error("invalid --{0}: the zero address")]
    ZeroAddress(&'static str),
    /// A value outside what the contract accepts.
    #[error("invalid --{flag}: {value} ({rule})")]
    OutOfRange {
        /// Flag.
        flag: &'static str,
        /// Value given.
        value: String,
        /// What is allowed.
        rule: &'static str,
    },
    /// No `Stylus.toml` found from the working directory up.
    #[error("no Stylus.toml in {0} or above: run from the repository or pass --root")]
    NoRoot(PathBuf),
    /// Empty cargo-stylus command.
    #[error("invalid --cargo-stylus: empty command")]
    EmptyCommand,
}

fn dedup(mut v: Vec<Address>) -> Vec<Address> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|a| seen.insert(*a));
    v
}

/// Finds the repository root: the nearest directory at or above `start` holding
/// `Stylus.toml`.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join("Stylus.toml").is_file())
        .map(Path::to_path_buf)
}

impl Config {
    /// Validates the command line against the contracts' own rules.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first bad flag.
    pub fn from_cli(cli: Cli) -> Result<Self, ConfigError> {
        let signer: PrivateKeySigner = cli
            .private_key
            .trim()
            .parse()
            .map_err(|_| ConfigError::Key)?;
        let admin_and_treasury_given = cli.admin.is_some() && cli.treasury.is_some();
        let admin = cli.admin.unwrap_or(signer.address());
        let treasury = cli.treasury.unwrap_or(admin);
        for (flag, a) in [("admin", admin), ("treasury", treasury)] {
            if a.is_zero() {
                return Err(ConfigError::ZeroAddress(flag));
            }
        }
        for (flag, list) in [
            ("relayer", &cli.relayers),
            ("token", &cli.tokens),
            ("issuer", &cli.issuers),
        ] {
            if list.iter().any(|a| a.is_zero()) {
                return Err(ConfigError::ZeroAddress(flag));
            }
        }
        let range = |flag, value: &dyn ToString, rule| ConfigError::OutOfRange {
            flag,
            value: value.to_string(),
            rule,
        };
        if cli.fee_bps > 1_000 {
            return Err(range("fee-bps", &cli.fee_bps, "at most 1000"));
        }
        if cli.start_window == 0 {
            return Err(range("start-window", &cli.start_window, "must be positive"));
        }
        if !(30..=3_600).contains(&cli.max_backdate) {
            return Err(range(
                "max-backdate",
                &cli.max_backdate,
                "30 to 3600 seconds",
            ));
        }
        if cli.badge_min_duration == 0 {
            return Err(range(
                "badge-min-duration",
                &cli.badge_min_duration,
                "must be positive",
            ));
        }
        if cli.badge_base_uri.len() > 256 {
            return Err(range(
                "badge-base-uri",
                &format!("{} bytes", cli.badge_base_uri.len()),
                "at most 256 bytes",
            ));
        }
        if cli.badge_base_uri.contains('"') {
            return Err(range(
                "badge-base-uri",
                &cli.badge_base_uri,
                "must not contain a double quote",
            ));
        }
        if cli.rating_min_duration == 0 {
            return Err(range(
                "rating-min-duration",
                &cli.rating_min_duration,
                "must be positive",
            ));
        }
        if cli.rating_window == 0 {
            return Err(range(
                "rating-window",
                &cli.rating_window,
                "must be positive",
            ));
        }
        if cli.min_billed == 0 {
            return Err(range(
                "min-billed",
                &cli.min_billed,
                "must be positive (a session at a dust rate must not earn reputation)",
            ));
        }
        let root = match cli.root {
            Some(r) => r,
            None => {
                let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
                find_root(&cwd).ok_or(ConfigError::NoRoot(cwd))?
            }
        };
        let cargo_stylus: Vec<String> = cli
            .cargo_stylus
            .split_whitespace()
            .map(String::from)
            .collect();
        if cargo_stylus.is_empty() {
            return Err(ConfigError::EmptyCommand);
        }
        Ok(Self {
            rpc_url: cli.rpc_url,
            signer,
            admin,
            treasury,
            admin_and_treasury_given,
            relayers: dedup(cli.relayers),
            tokens: dedup(cli.tokens),
            issuers: dedup(cli.issuers),
            fee_bps: cli.fee_bps,
            start_window: cli.start_window,
            max_backdate: cli.max_backdate,
            badge_min_duration: cli.badge_min_duration,
            badge_base_uri: cli.badge_base_uri,
            rating_min_duration: cli.rating_min_duration,
            rating_window: cli.rating_window,
            min_billed: cli.min_billed,
            out: cli.out,
            root,
            cargo_stylus,
            deployer_address: cli.deployer_address,
            max_fee_per_gas: match &cli.max_fee_per_gas_gwei {
                None => None,
                Some(g) => Some(gwei_to_wei(g).ok_or_else(|| ConfigError::OutOfRange {
                    flag: "max-fee-per-gas-gwei",
                    value: g.clone(),
                    rule: "a decimal number of gwei, at most 9 decimals",
                })?),
            },
            max_fee_per_gas_gwei: cli.max_fee_per_gas_gwei,
            mode: if cli.dry_run {
                Mode::DryRun
            } else if cli.estimate_gas {
                Mode::EstimateGas
            } else {
                Mode::Apply
            },
        })
    }

    /// The deployer's address.
    pub fn deployer(&self) -> Address {
        self.signer.address()
    }
}

/// Everything that stops a deployment.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Deployment record trouble.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// cargo-stylus failed.
    #[error(transparent)]
    Stylus(#[from] StylusError),
    /// A node call failed.
    #[error("node: {0}")]
    Rpc(String),
    /// The record names an address without code on this chain (e.g. a reset dev node).
    #[error("{path} says {contract} is at {address}, but there is no code there (a reset node?): move the file away to deploy afresh")]
    NoCode {
        /// Record file.
        path: PathBuf,
        /// Contract name.
        contract: &'static str,
        /// Recorded address.
        address: Address,
    },
    /// A production chain (or one this tool does not know) without an explicit admin and
    /// treasury.
    #[error("chain {0} is not a dev node or a known testnet: pass --admin and --treasury (a multisig, not the deployer's key)")]
    AdminRequired(u64),
    /// The code at a recorded address is not the code recorded.
    #[error("{contract} at {address} has code hash {found}, but the record says {recorded}: the contract there is not the one deployed; move the record away to deploy afresh")]
    CodeChanged {
        /// Contract name.
        contract: &'static str,
        /// Address.
        address: Address,
        /// Hash in the record.
        recorded: B256,
        /// Hash of the code found.
        found: B256,
    },
    /// The recorded program is not (or no longer) activated.
    #[error("{contract} at {address} is not usable: {state}; activate it again with `cargo stylus activate --address {address}` (from contracts/{contract})")]
    NotActivated {
        /// Contract name.
        contract: &'static str,
        /// Address.
        address: Address,
        /// What ArbWasm said.
        state: String,
    },
    /// The record was made for another admin.
    #[error("{path} was deployed for admin {recorded}, not {requested}: use another --out")]
    AdminMismatch {
        /// Record file.
        path: PathBuf,
        /// Admin in the record.
        recorded: Address,
        /// Admin requested now.
        requested: Address,
    },
    /// Badges or ratings read another escrow than the recorded one (they cannot be
    /// re-pointed: redeploy them by removing their entries from the record).
    #[error("{contract} reads escrow {reads}, but the record's escrow is {recorded}: remove `{contract}` from the record to redeploy it")]
    StaleEscrow {
        /// `badges` or `ratings`.
        contract: &'static str,
        /// The escrow it reads.
        reads: Address,
        /// The recorded escrow.
        recorded: Address,
    },
    /// A wiring transaction was mined but reverted.
    #[error("{what}: transaction {tx} reverted")]
    Reverted {
        /// The step.
        what: String,
        /// Transaction.
        tx: B256,
    },
}

fn rpc_err(e: impl std::fmt::Display) -> DeployError {
    DeployError::Rpc(e.to_string())
}

/// A provider that signs with `signer` and asks the node for the nonce before every
/// transaction: cargo-stylus sends from the same key in between, so a locally counted
/// nonce would go stale.
pub fn signing_provider(url: &Url, signer: &PrivateKeySigner) -> DynProvider {
    minuto_chain::signing_provider(url, signer)
}

/// A connected deployer account.
pub fn provider(cfg: &Config) -> DynProvider {
    signing_provider(&cfg.rpc_url, &cfg.signer)
}

/// What a run did or would do.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The record after the run (for a dry run: as it stands).
    pub record: Option<Record>,
    /// Where it is written.
    pub path: PathBuf,
    /// Lines describing each step, in order.
    pub steps: Vec<String>,
    /// Gas used (apply) or estimated (estimate-gas), per step.
    pub gas: Vec<(String, u64)>,
    /// Calls only the admin can make (e.g. `acceptAdmin`), for a multisig to send.
    pub admin_calls: Vec<Action>,
    /// What is not finished and leaves a key more power than the plan gives it (admin
    /// calls still to send; the deployer still credentials admin). Also written to the
    /// record; `minuto-deploy` exits 3 while it is not empty.
    pub pending: Vec<String>,
}

fn ctor_args(cfg: &Config, c: Contract, addr: impl Fn(Contract) -> String) -> Vec<String> {
    let deployer = cfg.deployer().to_string();
    match c {
        Contract::Credentials => vec![deployer],
        Contract::Escrow => vec![
            deployer,
            cfg.treasury.to_string(),
            addr(Contract::Credentials),
            cfg.fee_bps.to_string(),
            cfg.start_window.to_string(),
            cfg.max_backdate.to_string(),
        ],
        Contract::Badges => vec![
            cfg.admin.to_string(),
            addr(Contract::Escrow),
            cfg.badge_min_duration.to_string(),
            // Quoted, so that an empty URI is still one argument cargo-stylus parses.
            format!("\"{}\"", cfg.badge_base_uri),
        ],
        Contract::Ratings => vec![
            cfg.admin.to_string(),
            addr(Contract::Escrow),
            cfg.rating_min_duration.to_string(),
            cfg.rating_window.to_string(),
        ],
    }
}

fn key_hex(cfg: &Config) -> String {
    format!("0x{}", alloy::hex::encode(cfg.signer.to_bytes()))
}

/// Parses a gas price in gwei (`0.1`, `2`, at most 9 decimals) into wei.
fn gwei_to_wei(s: &str) -> Option<u128> {
    let (int, frac) = s.trim().split_once('.').unwrap_or((s.trim(), ""));
    if int.is_empty() && frac.is_empty()
        || frac.len() > 9
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let int: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac: u128 = format!("{frac:0<9}").parse().ok()?;
    int.checked_mul(1_000_000_000)?.checked_add(frac)
}

/// How long a wiring transaction may take to be mined before the run stops.
const RECEIPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(180);

async fn send(
    p: &DynProvider,
    to: Address,
    data: Bytes,
    what: &str,
    max_fee_per_gas: Option<u128>,
) -> Result<(B256, u64), DeployError> {
    let mut tx = TransactionRequest::default().with_to(to).with_input(data);
    if let Some(cap) = max_fee_per_gas {
        // Arbitrum ignores the priority fee; the cap is the whole price.
        tx = tx
            .with_max_fee_per_gas(cap)
            .with_max_priority_fee_per_gas(0);
    }
    let receipt = p
        .send_transaction(tx)
        .await
        .map_err(|e| DeployError::Rpc(format!("{what}: {e}")))?
        .with_required_confirmations(1)
        .with_timeout(Some(RECEIPT_TIMEOUT))
        .get_receipt()
        .await
        .map_err(|e| DeployError::Rpc(format!("{what}: {e} (not mined within {RECEIPT_TIMEOUT:?}; the record holds what completed, run again)")))?;
    if !receipt.status() {
        return Err(DeployError::Reverted {
            what: what.into(),
            tx: receipt.transaction_hash(),
        });
    }
    Ok((receipt.transaction_hash(), receipt.gas_used()))
}

/// The receipt of `tx`, waiting up to 30 s for a node behind a load balancer to see it.
async fn receipt_of(
    p: &DynProvider,
    tx: B256,
) -> Result<alloy::rpc::types::TransactionReceipt, DeployError> {
    for _ in 0..30 {
        if let Some(r) = p.get_transaction_receipt(tx).await.map_err(rpc_err)? {
            return Ok(r);
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    Err(DeployError::Rpc(format!(
        "no receipt for deployment {tx} after 30 s"
    )))
}

impl DeployError {
    /// The same error with the RPC URL's secrets (path, query, user info) replaced in every
    /// message that can carry them: the node's errors and cargo-stylus's output.
    #[must_use]
    pub fn redacted(self, url: &Url) -> Self {
        use minuto_chain::network::redact;
        match self {
            Self::Rpc(m) => Self::Rpc(redact(&m, url)),
            Self::Stylus(StylusError::Failed {
                package,
                status,
                output,
            }) => Self::Stylus(StylusError::Failed {
                package,
                status,
                output: redact(&output, url),
            }),
            other => other,
        }
    }
}

/// Deploys, wires and records, as `cfg.mode` says. Progress goes to stdout. Errors never
/// show the RPC URL's secrets.
///
/// # Errors
/// [`DeployError`]; whatever completed before the error is in the record.
pub async fn run(cfg: &Config) -> Result<Report, DeployError> {
    run_unredacted(cfg)
        .await
        .map_err(|e| e.redacted(&cfg.rpc_url))
}

async fn run_unredacted(cfg: &Config) -> Result<Report, DeployError> {
    let p = provider(cfg);
    let chain_id = p.get_chain_id().await.map_err(rpc_err)?;
    if minuto_chain::network::kind(chain_id) == minuto_chain::network::ChainKind::Production
        && !cfg.admin_and_treasury_given
    {
        return Err(DeployError::AdminRequired(chain_id));
    }
    let path = cfg.out.clone().unwrap_or_else(|| {
        cfg.root
            .join("deployments")
            .join(format!("{chain_id}.json"))
    });
    let mut record = Record::load(&path, chain_id)?
        .unwrap_or_else(|| Record::new(chain_id, cfg.deployer(), cfg.admin));
    if record.admin != cfg.admin {
        return Err(DeployError::AdminMismatch {
            path,
            recorded: record.admin,
            requested: cfg.admin,
        });
    }
    let mut report = Report {
        path: path.clone(),
        ..Report::default()
    };
    let say = |line: String, report: &mut Report| {
        println!("{line}");
        report.steps.push(line);
    };
    say(
        format!(
            "chain {chain_id}, deployer {}, admin {}, record {}{}",
            cfg.deployer(),
            cfg.admin,
            path.display(),
            match cfg.mode {
                Mode::Apply => "",
                Mode::DryRun => " (dry run: nothing is sent)",
                Mode::EstimateGas => " (gas estimate: nothing is sent)",
            }
        ),
        &mut report,
    );

    if cfg.fee_bps == 0 {
        say(
            "note: --fee-bps 0: no session pays a protocol fee, so none earns a badge or a \
             rating (both require one; see the README's threat model)"
                .into(),
            &mut report,
        );
    }

    let stylus = CargoStylus {
        command: cfg.cargo_stylus.clone(),
        root: cfg.root.clone(),
        endpoint: cfg.rpc_url.to_string(),
        deployer_address: cfg.deployer_address,
        max_fee_per_gas_gwei: cfg.max_fee_per_gas_gwei.clone(),
    };

    for c in Contract::ALL {
        if let Some(d) = record.get(c) {
            let mut d = d.clone();
            let notes = verify::recorded(&p, &path, c.key(), &mut d).await?;
            say(
                format!("{}: already at {} (block {})", c.key(), d.address, d.block),
                &mut report,
            );
            for n in notes {
                say(n, &mut report);
            }
            record.set(c, d);
            continue;
        }
        let placeholder = |x: Contract| match record.get(x) {
            Some(d) => d.address.to_string(),
            // Estimates need a well-formed address; the deployer stands in.
            None if cfg.mode == Mode::EstimateGas => cfg.deployer().to_string(),
            None => format!("<{}>", x.key()),
        };
        let args = ctor_args(cfg, c, placeholder);
        match cfg.mode {
            Mode::DryRun => say(
                format!(
                    "{}: would deploy {} with constructor({})",
                    c.key(),
                    c.package(),
                    args.join(", ")
                ),
                &mut report,
            ),
            Mode::EstimateGas => {
                let gas = stylus.estimate(c, &key_hex(cfg), &args).await?;
                // cargo-stylus 0.10's figure: the deployment without the constructor, plus
                // the activation data fee counted as gas. A rough guide only.
                say(
                    format!(
                        "{}: cargo-stylus estimates {gas} (deploy + activation fee; excludes the constructor)",
                        c.key()
                    ),
                    &mut report,
                );
                report
                    .gas
                    .push((format!("deploy {} (cargo-stylus estimate)", c.key()), gas));
            }
            Mode::Apply => {
                say(
                    format!("{}: deploying {} …", c.key(), c.package()),
                    &mut report,
                );
                let out = stylus.deploy(c, &key_hex(cfg), &args).await?;
                // Recorded at once, so that a failure below never leads a re-run to deploy
                // a second copy; the block follows from the receipt.
                record.set(
                    c,
                    Deployed {
                        address: out.address,
                        block: 0,
                        tx: out.tx,
                        code_hash: None,
                    },
                );
                record.save(&path)?;
                let receipt = receipt_of(&p, out.tx).await?;
                let block = receipt.block_number().unwrap_or_default();
                let code = p.get_code_at(out.address).await.map_err(rpc_err)?;
                record.set(
                    c,
                    Deployed {
                        address: out.address,
                        block,
                        tx: out.tx,
                        code_hash: Some(alloy::primitives::keccak256(&code)),
                    },
                );
                record.save(&path)?;
                report
                    .gas
                    .push((format!("deploy {}", c.key()), receipt.gas_used()));
                say(
                    format!(
                        "{}: deployed at {} (block {block}, gas {})",
                        c.key(),
                        out.address,
                        receipt.gas_used()
                    ),
                    &mut report,
                );
            }
        }
    }

    // Wiring: read what is on chain (or, for contracts not deployed yet in a dry run or
    // estimate, what their constructors will leave) and act on the difference.
    let state = plan::read_state(&p, cfg, &record).await?;
    let actions = plan::actions(cfg, &record, &state);
    for action in actions {
        match (&action.sender, cfg.mode) {
            (Sender::Admin, _) => {
                say(
                    format!(
                        "admin must send: {} (to {}, data {})",
                        action.what,
                        action.to_label(),
                        action.data
                    ),
                    &mut report,
                );
                report.admin_calls.push(action);
            }
            (Sender::Deployer, Mode::DryRun) => {
                say(format!("would send: {}", action.what), &mut report)
            }
            (Sender::Deployer, Mode::EstimateGas) => match action.to {
                Some(to) => {
                    let tx = TransactionRequest::default()
                        .with_from(cfg.deployer())
                        .with_to(to)
                        .with_input(action.data.clone());
                    let gas = p
                        .estimate_gas(tx)
                        .await
                        .map_err(|e| DeployError::Rpc(format!("{}: {e}", action.what)))?;
                    say(format!("{}: about {gas} gas", action.what), &mut report);
                    report.gas.push((action.what.clone(), gas));
                }
                None => say(
                    format!("{}: priced after its contract is deployed", action.what),
                    &mut report,
                ),
            },
            (Sender::Deployer, Mode::Apply) => {
                let to = action.to.expect("deployed before wiring");
                let (tx, gas) = send(
                    &p,
                    to,
                    action.data.clone(),
                    &action.what,
                    cfg.max_fee_per_gas,
                )
                .await?;
                say(
                    format!("{}: done (tx {tx}, gas {gas})", action.what),
                    &mut report,
                );
                report.gas.push((action.what.clone(), gas));
            }
        }
    }
    report.pending = report
        .admin_calls
        .iter()
        .map(|a| format!("the admin ({}) must send {}", cfg.admin, a.what))
        .collect();
    if cfg.admin != cfg.deployer()
        && state.credentials.deployer_is_admin
        && state.escrow.admin != cfg.admin
    {
        let line = "the deployer keeps the credentials admin role until the admin accepts the \
                    escrow (acceptAdmin); run scripts/deploy again afterwards to renounce it";
        say(line.into(), &mut report);
        report.pending.push(line.into());
    }
    record.pending.clone_from(&report.pending);
    if cfg.mode == Mode::Apply {
        record.save(&path)?;
        say(format!("wrote {}", path.display()), &mut report);
    }
    report.record = Some(record);
    Ok(report)
}

#[cfg(test)]
mod tests {
    #[test]
    fn gas_price_caps_parse_in_gwei() {
        assert_eq!(gwei_to_wei("0.1"), Some(100_000_000));
        assert_eq!(gwei_to_wei("2"), Some(2_000_000_000));
        assert_eq!(gwei_to_wei(".5"), Some(500_000_000));
        assert_eq!(gwei_to_wei("1.000000001"), Some(1_000_000_001));
        for bad in ["", ".", "1.0000000001", "-1", "1e9", "0x10", "1,5"] {
            assert_eq!(gwei_to_wei(bad), None, "{bad}");
        }
    }

    use super::*;

    #[test]
    fn every_contract_directory_holds_its_package_and_a_stylus_toml() {
        let root = find_root(Path::new(env!("CARGO_MANIFEST_DIR"))).expect("repository root");
        for c in Contract::ALL {
            let dir = root.join(c.dir());
            let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
            assert!(
                manifest.contains(&format!("name = \"{}\"", c.package())),
                "{} is not {}",
                c.dir(),
                c.package()
            );
            assert!(
                dir.join("Stylus.toml").is_file(),
                "{} lacks Stylus.toml",
                c.dir()
            );
        }
    }
}
