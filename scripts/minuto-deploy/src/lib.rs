//! `minuto-deploy`: deploys the Minuto contracts through the StylusDeployer contract, in
//! dependency order, wires them, and records every address in
//! `deployments/<chain-id>.json`.
//!
//! Each contract's code is the `.code` file `cargo xtask wasm` writes and measures (built
//! by the tool, or read from `--wasm-dir`); it is deployed with CREATE2 under `--salt`,
//! so its address is known before anything is sent and is the same on every chain for
//! the same code, salt and constructor arguments (see [`stylus`]). A run first checks
//! the chain (pre-flight: ArbWasm, the StylusDeployer, the balance the plan needs), then
//! looks for each contract in the record or at its CREATE2 address, and deploys only what
//! is in neither.
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
//! 5. **vetting** `constructor(admin, credentials, ratings, vetting_voting_period,
//!    vetting_cooldown)`; then `credentials.grantRole(ISSUER_ROLE, vetting)`, sent with
//!    the credentials wiring of step 1 (before the deployer hands that admin role over,
//!    or printed for the admin once it has), and `vetting.setConfig(…)` when the chain
//!    differs from the flags. Reviewers, quorum and credential kinds are the vetting
//!    admin's (the DAO's) to set.
//! 6. **booking** `constructor(escrow)` (it has no admin and no settings); then
//!    `escrow.setBooking(booking)`, sent with the escrow wiring of step 2 (before the
//!    escrow's admin handover, or printed for the admin once it holds the escrow), so that
//!    booked lessons can open sessions with `openFor`. Each re-run reads the escrow's
//!    `booking()` and booking's `config()` (another escrow than recorded stops the run).
//! 7. **cache bid** (`--cache-bid-wei`, optional): `placeBid(program)` in the chain's
//!    Stylus CacheManager for the escrow, or each program `--cache` lists, unless its code
//!    is cached already ([`cache`]).
//!
//! Re-running deploys only what is neither recorded nor at its CREATE2 address (after
//! checking that every recorded address holds this build's code, activated) and sends
//! only the wiring calls whose effect is not already on chain: the wiring is read back
//! from the contracts' views, so a re-run converges and a second re-run sends nothing.
//! `--dry-run` prints the plan without sending; `--estimate-gas` prices it without
//! sending.

pub mod cache;
pub mod key;
pub mod plan;
pub mod preflight;
pub mod stylus;
pub mod verify;

/// The contracts' bindings, from the shared crate (`minuto_chain::bindings`).
pub use minuto_chain::bindings;

use std::path::{Path, PathBuf};

use alloy::network::{ReceiptResponse, TransactionBuilder};
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use clap::Parser;
use url::Url;

pub use crate::key::{KeyError, KeySource};
pub use crate::plan::{Action, Sender};
pub use crate::stylus::{Module, StylusError};
pub use minuto_chain::deployment::{Contract, Deployed, Provenance, Record, RecordError};

/// What the run does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Deploy and wire.
    Apply,
    /// Print the plan; send nothing.
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
    about = "Deploy and wire the Minuto contracts through the StylusDeployer (CREATE2)"
)]
pub struct Cli {
    /// Node JSON-RPC URL.
    #[arg(long, env = "MINUTO_RPC_URL")]
    pub rpc_url: Url,
    /// Deployer key file: an encrypted JSON keystore. Its password comes from
    /// MINUTO_DEPLOYER_KEYSTORE_PASSWORD, else --keystore-password-file, else the first
    /// line of stdin.
    #[arg(long, env = "MINUTO_DEPLOYER_KEYSTORE", conflicts_with_all = ["private_key", "private_key_stdin"])]
    pub keystore: Option<PathBuf>,
    /// File holding the keystore's password.
    #[arg(
        long,
        env = "MINUTO_DEPLOYER_KEYSTORE_PASSWORD_FILE",
        requires = "keystore"
    )]
    pub keystore_password_file: Option<PathBuf>,
    /// Read the deployer's private key (hex) from the first line of stdin.
    #[arg(long, conflicts_with = "private_key")]
    pub private_key_stdin: bool,
    /// Deployer private key (hex) in plain text: dev nodes and testnets only (a
    /// production chain needs --keystore or --private-key-stdin). Prefer the variable.
    #[arg(long, env = "MINUTO_DEPLOYER_KEY", hide_env_values = true)]
    pub private_key: Option<String>,
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
    /// Seconds a vetting application takes reviewers' votes before it expires (default 7
    /// days). Must be positive.
    #[arg(long, env = "MINUTO_VETTING_VOTING_PERIOD", default_value_t = 7 * 24 * 60 * 60)]
    pub vetting_voting_period: u64,
    /// Seconds a tutor rejected for a credential kind waits before applying for it again
    /// (default 30 days; 0: no wait).
    #[arg(long, env = "MINUTO_VETTING_COOLDOWN", default_value_t = 30 * 24 * 60 * 60)]
    pub vetting_cooldown: u64,
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
    /// Directory holding the contracts' `.code` files, built from this checkout by
    /// `cargo xtask wasm --out-dir DIR`. Default: the tool runs that build itself into
    /// `<root>/target/minuto-deploy`.
    #[arg(long, env = "MINUTO_WASM_DIR")]
    pub wasm_dir: Option<PathBuf>,
    /// CREATE2 salt (32 bytes hex, not zero). Default: keccak256("minuto"). With the code
    /// and the constructor's arguments it fixes every address.
    #[arg(long, env = "MINUTO_SALT")]
    pub salt: Option<B256>,
    /// StylusDeployer contract. Default: its address on Arbitrum chains,
    /// 0xcEcba2F1DC234f70Dd89F2041029807F8D03A990.
    #[arg(long, alias = "deployer-address", env = "MINUTO_STYLUS_DEPLOYER")]
    pub stylus_deployer: Option<Address>,
    /// Fee cap per gas in gwei for every transaction (default: the node's price).
    #[arg(long, env = "MINUTO_MAX_FEE_GWEI")]
    pub max_fee_per_gas_gwei: Option<String>,
    /// Bid this many wei in the chain's Stylus CacheManager for each program `--cache`
    /// names, so that its calls skip program initialisation (about 17–23k gas each).
    /// Nothing is sent for a program whose code is cached; a bid below the manager's
    /// minimum stops the run before anything is sent. Default: no bid.
    #[arg(long, env = "MINUTO_CACHE_BID_WEI")]
    pub cache_bid_wei: Option<U256>,
    /// The programs `--cache-bid-wei` bids for, comma-separated (escrow, credentials,
    /// badges, ratings, vetting, booking). Default: escrow. Badges and ratings call the
    /// escrow's view on every claim and rating, so caching them too saves both inits.
    #[arg(
        long,
        env = "MINUTO_CACHE",
        value_delimiter = ',',
        requires = "cache_bid_wei"
    )]
    pub cache: Option<Vec<String>>,
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
    /// Where the key came from.
    pub key_source: KeySource,
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
    /// Vetting voting period, seconds.
    pub vetting_voting_period: u64,
    /// Vetting cooldown after a rejection, seconds.
    pub vetting_cooldown: u64,
    /// Minimum billed value per token for badges and ratings, base units.
    pub min_billed: u128,
    /// Record path (`None`: `<root>/deployments/<chain-id>.json`).
    pub out: Option<PathBuf>,
    /// Repository root.
    pub root: PathBuf,
    /// Prebuilt `.code` files (`None`: build them).
    pub wasm_dir: Option<PathBuf>,
    /// CREATE2 salt.
    pub salt: B256,
    /// StylusDeployer contract.
    pub stylus_deployer: Address,
    /// Fee cap per gas in wei, for every transaction.
    pub max_fee_per_gas: Option<u128>,
    /// Cache bid for each program in [`Config::cache`], wei.
    pub cache_bid: Option<U256>,
    /// The programs the cache bid is for (the escrow unless `--cache` says otherwise).
    pub cache: Vec<Contract>,
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
    /// The key could not be had.
    #[error(transparent)]
    Key(#[from] KeyError),
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
    /// A zero salt (the StylusDeployer would use CREATE: no fixed address).
    #[error("invalid --salt: zero (the StylusDeployer then uses CREATE, whose addresses depend on its nonce)")]
    ZeroSalt,
}

fn dedup(mut v: Vec<Address>) -> Vec<Address> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|a| seen.insert(*a));
    v
}

/// `--cache`'s names as contracts, each once, in the order given.
fn cache_list(names: &[String]) -> Result<Vec<Contract>, ConfigError> {
    let mut out = Vec::new();
    for name in names {
        let c = Contract::ALL
            .into_iter()
            .find(|c| c.key() == name.trim())
            .ok_or_else(|| ConfigError::OutOfRange {
                flag: "cache",
                value: name.clone(),
                rule: "escrow, credentials, badges, ratings, vetting or booking",
            })?;
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

/// The salt used without `--salt`: keccak256("minuto").
pub fn default_salt() -> B256 {
    alloy::primitives::keccak256("minuto")
}

/// Whether an environment variable's name says it holds a secret (keys, passwords,
/// mnemonics, tokens): such variables are not passed on to child processes.
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    ["KEY", "PASSWORD", "SECRET", "MNEMONIC", "TOKEN"]
        .iter()
        .any(|w| n.contains(w))
}

/// Removes from `cmd`'s environment every variable whose name says it holds a secret,
/// and the RPC URL: the builds and `git` this tool runs need neither (every `build.rs`
/// the contracts' build runs would otherwise see them).
pub fn child_env(cmd: &mut tokio::process::Command) {
    cmd.env_clear().envs(child_vars(std::env::vars_os()));
}

/// The variables of `vars` a child process may see: all but secrets and the RPC URL.
pub fn child_vars(
    vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    vars.into_iter()
        .filter(|(name, _)| {
            let n = name.to_string_lossy();
            !is_secret_name(&n) && n != "MINUTO_RPC_URL"
        })
        .collect()
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
    /// Validates the command line against the contracts' own rules; a key or password
    /// asked on stdin is read from this process's stdin.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first bad flag.
    pub fn from_cli(cli: Cli) -> Result<Self, ConfigError> {
        Self::from_cli_with_stdin(cli, &mut std::io::stdin().lock())
    }

    /// [`Config::from_cli`], reading what stdin would give from `stdin`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first bad flag.
    pub fn from_cli_with_stdin(
        cli: Cli,
        stdin: &mut dyn std::io::BufRead,
    ) -> Result<Self, ConfigError> {
        let (signer, key_source) = key::load(
            cli.private_key.as_deref(),
            cli.keystore.as_deref(),
            cli.keystore_password_file.as_deref(),
            cli.private_key_stdin,
            stdin,
        )?;
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
        // The ratings contract keeps it in 32 bits, in the slot every rating reads.
        if cli.rating_min_duration == 0 || cli.rating_min_duration > u64::from(u32::MAX) {
            return Err(range(
                "rating-min-duration",
                &cli.rating_min_duration,
                "1 to 4294967295 seconds",
            ));
        }
        if cli.rating_window == 0 {
            return Err(range(
                "rating-window",
                &cli.rating_window,
                "must be positive",
            ));
        }
        if cli.vetting_voting_period == 0 {
            return Err(range(
                "vetting-voting-period",
                &cli.vetting_voting_period,
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
        let salt = cli.salt.unwrap_or_else(default_salt);
        if salt.is_zero() {
            return Err(ConfigError::ZeroSalt);
        }
        Ok(Self {
            rpc_url: cli.rpc_url,
            signer,
            key_source,
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
            vetting_voting_period: cli.vetting_voting_period,
            vetting_cooldown: cli.vetting_cooldown,
            min_billed: cli.min_billed,
            out: cli.out,
            root,
            wasm_dir: cli.wasm_dir,
            salt,
            stylus_deployer: cli.stylus_deployer.unwrap_or(stylus::STYLUS_DEPLOYER),
            max_fee_per_gas: match &cli.max_fee_per_gas_gwei {
                None => None,
                Some(g) => Some(gwei_to_wei(g).ok_or_else(|| ConfigError::OutOfRange {
                    flag: "max-fee-per-gas-gwei",
                    value: g.clone(),
                    rule: "a decimal number of gwei, at most 9 decimals",
                })?),
            },
            cache_bid: cli.cache_bid_wei,
            cache: match &cli.cache {
                None => vec![Contract::Escrow],
                Some(names) => cache_list(names)?,
            },
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
    /// Building or reading a contract's code failed.
    #[error(transparent)]
    Stylus(#[from] StylusError),
    /// The node is not a Stylus chain (no ArbWasm precompile answering).
    #[error("chain {chain_id} is not a Stylus chain: {reason}")]
    NotStylusChain {
        /// Chain.
        chain_id: u64,
        /// What was found.
        reason: String,
    },
    /// No StylusDeployer contract at the address used.
    #[error("chain {chain_id} has no code at {address}, where the StylusDeployer should be: pass --stylus-deployer with its address on this chain")]
    NoStylusDeployer {
        /// Chain.
        chain_id: u64,
        /// Address looked at.
        address: Address,
    },
    /// The deployer cannot pay for the plan.
    #[error("the deployer holds {have} wei, but the plan needs about {need} wei ({detail}): fund it and run again")]
    InsufficientFunds {
        /// Balance.
        have: U256,
        /// Estimated need.
        need: U256,
        /// How the need was counted.
        detail: String,
    },
    /// The recorded contract runs other code than this build's.
    #[error("{contract} at {address} runs code {deployed}, but this build's ({path}) is {built}: the recorded contract is not this build. To keep using it, build the revision in the record's `build.gitRevision`; to deploy this build (at new addresses), use another --out or --salt")]
    ModuleChanged {
        /// Contract name.
        contract: &'static str,
        /// Recorded address.
        address: Address,
        /// Hash of the code there.
        deployed: B256,
        /// Hash of this build's code.
        built: B256,
        /// The `.code` file built.
        path: PathBuf,
    },
    /// The StylusDeployer reported another address than the CREATE2 prediction.
    #[error("deploy {contract}: transaction {tx} created {got:?}, not the predicted {expected}: is --stylus-deployer a StylusDeployer?")]
    WrongAddress {
        /// Contract name.
        contract: &'static str,
        /// Predicted.
        expected: Address,
        /// From the `ContractDeployed` log.
        got: Option<Address>,
        /// Transaction.
        tx: B256,
    },
    /// A plain-text key (flag or variable) on a production chain.
    #[error("chain {0} is not a dev node or a known testnet: give the deployer key with --keystore or --private-key-stdin, not --private-key / MINUTO_DEPLOYER_KEY")]
    PlainKey(u64),
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
    /// The program is still not activated after the run activated it.
    #[error("{contract} at {address} is not usable: {state}; activate it again with `cargo stylus activate --address {address}` (from contracts/{contract}), or run again")]
    NotActivated {
        /// Contract name.
        contract: &'static str,
        /// Address.
        address: Address,
        /// What ArbWasm said.
        state: String,
    },
    /// The recorded deployment transaction has no receipt yet and its address no code.
    #[error("{contract}: deployment transaction {tx} is not mined yet: wait and run again (if the node dropped it, remove `{contract}` from the record)")]
    DeploymentPending {
        /// Contract name.
        contract: &'static str,
        /// The transaction.
        tx: B256,
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
    /// Badges, ratings or booking read another escrow than the recorded one (they cannot
    /// be re-pointed: redeploy them by removing their entries from the record).
    #[error("{contract} reads escrow {reads}, but the record's escrow is {recorded}: remove `{contract}` from the record to redeploy it")]
    StaleEscrow {
        /// `badges`, `ratings` or `booking`.
        contract: &'static str,
        /// The escrow it reads.
        reads: Address,
        /// The recorded escrow.
        recorded: Address,
    },
    /// Vetting reads another credentials contract or rating registry than the recorded
    /// one (it cannot be re-pointed: redeploy it by removing its entry from the record).
    #[error("vetting reads {what} {reads}, but the record's {what} is {recorded}: remove `vetting` from the record to redeploy it")]
    StaleVetting {
        /// `credentials` or `ratings`.
        what: &'static str,
        /// The address it reads.
        reads: Address,
        /// The recorded one.
        recorded: Address,
    },
    /// `--cache-bid-wei` on a chain without a Stylus cache manager.
    #[error("--cache-bid-wei: this chain has no Stylus cache manager (ArbWasmCache lists none): drop the flag")]
    NoCacheManager,
    /// `--cache-bid-wei` below the cache manager's minimum for the program.
    #[error("--cache-bid-wei {bid}: the cache manager's minimum bid for {contract} is {min} wei now; bid at least that")]
    CacheBidTooLow {
        /// Contract name.
        contract: &'static str,
        /// The bid given.
        bid: U256,
        /// The manager's minimum.
        min: U256,
    },
    /// The bid was mined but the program's code is still not cached.
    #[error("{contract}: the cache bid (tx {tx}) was mined, but its code is not cached: see `cargo stylus cache status`")]
    NotCached {
        /// Contract name.
        contract: &'static str,
        /// The bid's transaction.
        tx: B256,
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
/// transaction: another program (a developer's `cargo stylus`, a wallet) may send from
/// the same key in between, so a locally counted nonce could go stale.
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
    /// The deployments the run sent (or, in a dry run or estimate, would send).
    pub planned: Vec<Planned>,
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
            cfg.badge_base_uri.clone(),
        ],
        Contract::Ratings => vec![
            cfg.admin.to_string(),
            addr(Contract::Escrow),
            cfg.rating_min_duration.to_string(),
            cfg.rating_window.to_string(),
        ],
        Contract::Vetting => vec![
            cfg.admin.to_string(),
            addr(Contract::Credentials),
            addr(Contract::Ratings),
            cfg.vetting_voting_period.to_string(),
            cfg.vetting_cooldown.to_string(),
        ],
        Contract::Booking => vec![addr(Contract::Escrow)],
    }
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

/// How long a transaction may take to be mined before the run stops.
const RECEIPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(180);

/// Gas allowed for a Stylus constructor on top of the estimate of a deployment without
/// it (the constructor's calls to other contracts cannot be estimated before those exist).
pub const CONSTRUCTOR_GAS: u64 = 1_000_000;
/// Gas allowed per wiring call in the balance check.
pub const WIRING_GAS: u64 = 300_000;

fn with_fee_cap(tx: TransactionRequest, max_fee_per_gas: Option<u128>) -> TransactionRequest {
    match max_fee_per_gas {
        // Arbitrum ignores the priority fee; the cap is the whole price.
        Some(cap) => tx
            .with_max_fee_per_gas(cap)
            .with_max_priority_fee_per_gas(0),
        None => tx,
    }
}

/// Sends `tx`; `sent` is told its hash before the receipt is awaited (so the record can
/// hold it if the wait is cut short). Returns the receipt of a successful transaction.
async fn send_tx(
    p: &DynProvider,
    tx: TransactionRequest,
    what: &str,
    max_fee_per_gas: Option<u128>,
    sent: impl FnOnce(B256) -> Result<(), DeployError>,
) -> Result<alloy::rpc::types::TransactionReceipt, DeployError> {
    let pending = p
        .send_transaction(with_fee_cap(tx, max_fee_per_gas))
        .await
        .map_err(|e| DeployError::Rpc(format!("{what}: {e}")))?;
    sent(*pending.tx_hash())?;
    let receipt = pending
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
    Ok(receipt)
}

async fn send(
    p: &DynProvider,
    to: Address,
    data: Bytes,
    what: &str,
    max_fee_per_gas: Option<u128>,
) -> Result<(B256, u64), DeployError> {
    let tx = TransactionRequest::default().with_to(to).with_input(data);
    let receipt = send_tx(p, tx, what, max_fee_per_gas, |_| Ok(())).await?;
    Ok((receipt.transaction_hash(), receipt.gas_used()))
}

impl DeployError {
    /// The same error with the RPC URL's secrets (path, query, user info) replaced in every
    /// message that can carry them: the node's errors.
    #[must_use]
    pub fn redacted(self, url: &Url) -> Self {
        use minuto_chain::network::redact;
        match self {
            Self::Rpc(m) => Self::Rpc(redact(&m, url)),
            Self::NotStylusChain { chain_id, reason } => Self::NotStylusChain {
                chain_id,
                reason: redact(&reason, url),
            },
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

/// A deployment the run will send (or, in a dry run, would).
#[derive(Clone, Debug)]
pub struct Planned {
    /// The contract.
    pub contract: Contract,
    /// Its CREATE2 address.
    pub address: Address,
    /// Constructor arguments, as text.
    pub args: Vec<String>,
    /// `stylus_constructor` calldata.
    pub init_data: Bytes,
    /// The init code (constructor prelude + the `.code` file).
    pub init_code: Bytes,
    /// The code the chain will store.
    pub code_hash: B256,
    /// Activation data fee to send (bumped; the deployer refunds what is not used).
    pub data_fee: U256,
}

/// A recorded (or found) program whose activation expired or is outdated: the run sends
/// `ArbWasm.activateProgram` for it again.
#[derive(Clone, Debug)]
pub struct Reactivation {
    /// The contract.
    pub contract: Contract,
    /// Its address.
    pub address: Address,
    /// What ArbWasm said of it.
    pub state: String,
    /// Data fee to send (bumped; ArbWasm refunds the rest).
    pub data_fee: U256,
}

impl Reactivation {
    /// The activation transaction.
    pub fn tx(&self, from: Address) -> TransactionRequest {
        use alloy::sol_types::SolCall;
        TransactionRequest::default()
            .with_from(from)
            .with_to(verify::ARB_WASM)
            .with_value(self.data_fee)
            .with_input(
                verify::ArbWasm::activateProgramCall {
                    program: self.address,
                }
                .abi_encode(),
            )
    }
}

/// The modules: built now (unless `--wasm-dir`), then read.
async fn modules(cfg: &Config) -> Result<Vec<Module>, DeployError> {
    let dir = match &cfg.wasm_dir {
        Some(d) => d.clone(),
        None => {
            let dir = cfg.root.join("target").join("minuto-deploy");
            eprintln!(
                "minuto-deploy: building the contracts (cargo xtask wasm --out-dir {})",
                dir.display()
            );
            stylus::build(&cfg.root, &dir).await?;
            dir
        }
    };
    Contract::ALL
        .into_iter()
        .map(|c| Module::load(&dir, c).map_err(DeployError::from))
        .collect()
}

/// The first block whose state holds code at `address`, by bisection over historical
/// `eth_getCode` (`None` when the node keeps no such history).
async fn first_block_with_code(p: &DynProvider, address: Address) -> Option<u64> {
    let latest = p.get_block_number().await.ok()?;
    let has_code = |n: u64| async move {
        p.get_code_at(address)
            .block_id(n.into())
            .await
            .map(|c| !c.is_empty())
    };
    let (mut lo, mut hi) = (0u64, latest);
    if !has_code(hi).await.ok()? {
        return None;
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if has_code(mid).await.ok()? {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(lo)
}

/// Collects what built and deploys: the toolchain `rust-toolchain.toml` pins, this tool's
/// version, the checkout's commit and whether tracked files differ from it. A part that
/// cannot be had (no git, say) is left out.
pub async fn provenance(root: &Path) -> Provenance {
    async fn out(root: &Path, program: &str, args: &[&str]) -> Option<String> {
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .current_dir(root)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        child_env(&mut cmd);
        let o = cmd.output().await.ok()?;
        o.status
            .success()
            .then(|| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    }
    let git_revision = out(root, "git", &["rev-parse", "HEAD"]).await;
    let git_dirty = match git_revision {
        Some(_) => out(
            root,
            "git",
            &["status", "--porcelain", "--untracked-files=no"],
        )
        .await
        .map(|s| !s.is_empty()),
        None => None,
    };
    Provenance {
        rustc: out(root, "rustc", &["--version"]).await,
        tool: Some(format!("minuto-deploy {}", env!("CARGO_PKG_VERSION"))),
        cargo_stylus: None,
        git_revision,
        git_dirty,
    }
}

async fn run_unredacted(cfg: &Config) -> Result<Report, DeployError> {
    use minuto_chain::network::{kind, ChainKind};
    let p = provider(cfg);
    let chain_id = p.get_chain_id().await.map_err(rpc_err)?;
    if kind(chain_id) == ChainKind::Production {
        if !cfg.admin_and_treasury_given {
            return Err(DeployError::AdminRequired(chain_id));
        }
        if cfg.key_source == KeySource::Plain {
            return Err(DeployError::PlainKey(chain_id));
        }
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

    // Pre-flight, part 1: a Stylus chain with the StylusDeployer.
    let stylus_version = preflight::chain(&p, chain_id, cfg.stylus_deployer).await?;
    say(
        format!(
            "pre-flight: ArbWasm answers (Stylus v{stylus_version}); StylusDeployer at {} holds code",
            cfg.stylus_deployer
        ),
        &mut report,
    );

    let modules = modules(cfg).await?;
    let build = provenance(&cfg.root).await;
    let module = |c: Contract| &modules[Contract::ALL.iter().position(|x| *x == c).unwrap()];

    // Each contract: in the record (checked), at its CREATE2 address (adopted), or planned.
    let mut planned: Vec<Planned> = Vec::new();
    let mut reactivate: Vec<Reactivation> = Vec::new();
    for c in Contract::ALL {
        let m = module(c);
        if let Some(d) = record.get(c) {
            let mut d = d.clone();
            let (notes, inactive) = match verify::recorded(&p, &path, c.key(), &mut d).await {
                Ok(notes) => (notes, None),
                Err(DeployError::NotActivated { state, .. }) => (Vec::new(), Some(state)),
                Err(e) => return Err(e),
            };
            if d.code_hash != Some(m.code_hash()) {
                return Err(DeployError::ModuleChanged {
                    contract: c.key(),
                    address: d.address,
                    deployed: d.code_hash.unwrap_or_default(),
                    built: m.code_hash(),
                    path: m.path.clone(),
                });
            }
            say(
                format!("{}: already at {} (block {})", c.key(), d.address, d.block),
                &mut report,
            );
            for n in notes {
                say(n, &mut report);
            }
            if let Some(state) = inactive {
                reactivate.push(Reactivation {
                    contract: c,
                    address: d.address,
                    state,
                    data_fee: stylus::data_fee(&p, d.address, &m.code)
                        .await
                        .map_err(DeployError::Rpc)?,
                });
            }
            record.set(c, d);
            continue;
        }
        let addr_of = |x: Contract| {
            record
                .get(x)
                .map(|d| d.address)
                .or_else(|| planned.iter().find(|p| p.contract == x).map(|p| p.address))
                .expect("deployed in dependency order")
        };
        let args = ctor_args(cfg, c, |x| addr_of(x).to_string());
        let init_data = stylus::init_data(c, &args)?;
        let init_code = stylus::init_code(&m.code);
        let address =
            stylus::create2_address(cfg.stylus_deployer, cfg.salt, &init_data, &init_code);
        let code = p.get_code_at(address).await.map_err(rpc_err)?;
        if !code.is_empty() {
            let found = alloy::primitives::keccak256(&code);
            if found != m.code_hash() {
                return Err(DeployError::CodeChanged {
                    contract: c.key(),
                    address,
                    recorded: m.code_hash(),
                    found,
                });
            }
            match verify::activation(&p, found).await? {
                verify::Activation::Active(_) => {}
                other => reactivate.push(Reactivation {
                    contract: c,
                    address,
                    state: format!("{other:?}"),
                    data_fee: stylus::data_fee(&p, address, &m.code)
                        .await
                        .map_err(DeployError::Rpc)?,
                }),
            }
            let block = first_block_with_code(&p, address).await;
            record.set(
                c,
                Deployed {
                    address,
                    block: block.unwrap_or_default(),
                    code_hash: Some(found),
                    salt: Some(cfg.salt),
                    stylus_deployer: Some(cfg.stylus_deployer),
                    ..Deployed::default()
                },
            );
            say(
                format!(
                    "{}: already at {address}, its CREATE2 address for this code, salt and \
                     configuration ({}); added to the record",
                    c.key(),
                    match block {
                        Some(b) => format!("code since block {b}"),
                        None => "block unknown: the node keeps no history; set `block` in the \
                                 record by hand, or the relayer starts from block 0"
                            .into(),
                    }
                ),
                &mut report,
            );
            if cfg.mode == Mode::Apply {
                record.save(&path)?;
            }
            continue;
        }
        let data_fee = stylus::data_fee(&p, address, &m.code)
            .await
            .map_err(DeployError::Rpc)?;
        planned.push(Planned {
            contract: c,
            address,
            args,
            init_data,
            init_code,
            code_hash: m.code_hash(),
            data_fee,
        });
    }

    // Pre-flight, part 2: the balance the plan needs.
    // At most the calls a fresh deployment needs (read before anything is sent, without
    // asking contracts that may need activating first).
    let fresh = plan::State::fresh(cfg, Address::ZERO, Address::ZERO, Address::ZERO);
    let wiring = plan::actions(cfg, &record, &fresh)
        .iter()
        .filter(|a| a.sender == Sender::Deployer)
        .count();
    let gas_price = match cfg.max_fee_per_gas {
        Some(cap) => cap,
        None => p.get_gas_price().await.map_err(rpc_err)?,
    };
    let balance = p.get_balance(cfg.deployer()).await.map_err(rpc_err)?;
    let fees: U256 = planned.iter().map(|d| d.data_fee).sum::<U256>()
        + reactivate.iter().map(|r| r.data_fee).sum::<U256>();
    let mut activation_gas = Vec::with_capacity(reactivate.len());
    for r in &reactivate {
        let gas = p.estimate_gas(r.tx(cfg.deployer())).await.map_err(|e| {
            DeployError::Rpc(format!("estimating activate {}: {e}", r.contract.key()))
        })?;
        activation_gas.push(gas);
    }
    if balance < fees {
        return Err(DeployError::InsufficientFunds {
            have: balance,
            need: fees,
            detail: "the activation data fees alone".into(),
        });
    }
    let mut deploy_gas = Vec::with_capacity(planned.len());
    for d in &planned {
        // Without the constructor (whose calls to contracts not deployed yet would fail);
        // CONSTRUCTOR_GAS stands in for it.
        let tx = stylus::deploy_tx(
            cfg.deployer(),
            cfg.stylus_deployer,
            d.init_code.clone(),
            Bytes::new(),
            cfg.salt,
            d.data_fee,
        );
        let gas = p.estimate_gas(tx).await.map_err(|e| {
            DeployError::Rpc(format!("estimating deploy {}: {e}", d.contract.key()))
        })?;
        deploy_gas.push(gas);
    }
    let gas: u64 = deploy_gas.iter().sum::<u64>()
        + activation_gas.iter().sum::<u64>()
        + CONSTRUCTOR_GAS * planned.len() as u64
        + WIRING_GAS * wiring as u64;
    let need = fees
        + U256::from(gas) * U256::from(gas_price)
        + cfg.cache_bid.map_or(U256::ZERO, |bid| {
            U256::from(cfg.cache.len()) * (bid + U256::from(WIRING_GAS) * U256::from(gas_price))
        });
    say(
        format!(
            "pre-flight: {} deployment(s){} and up to {wiring} wiring call(s) need about {need} wei \
             ({gas} gas at {gas_price} wei, data fees {fees} wei); the deployer holds {balance} wei",
            planned.len(),
            match reactivate.len() {
                0 => String::new(),
                n => format!(", {n} activation(s)"),
            }
        ),
        &mut report,
    );
    if balance < need {
        return Err(DeployError::InsufficientFunds {
            have: balance,
            need,
            detail: format!("{gas} gas at {gas_price} wei and data fees of {fees} wei"),
        });
    }

    for (r, gas) in reactivate.iter().zip(&activation_gas) {
        let c = r.contract;
        match cfg.mode {
            Mode::DryRun => say(
                format!(
                    "{}: would activate {} again (it is {}; activation fee up to {} wei)",
                    c.key(),
                    r.address,
                    r.state,
                    r.data_fee
                ),
                &mut report,
            ),
            Mode::EstimateGas => {
                say(
                    format!(
                        "{}: about {gas} gas to activate again, and up to {} wei of data fee",
                        c.key(),
                        r.data_fee
                    ),
                    &mut report,
                );
                report.gas.push((format!("activate {}", c.key()), *gas));
            }
            Mode::Apply => {
                let what = format!("activate {}", c.key());
                let receipt = send_tx(&p, r.tx(cfg.deployer()), &what, cfg.max_fee_per_gas, |_| {
                    Ok(())
                })
                .await?;
                let code = p.get_code_at(r.address).await.map_err(rpc_err)?;
                match verify::activation(&p, alloy::primitives::keccak256(&code)).await? {
                    verify::Activation::Active(v) => say(
                        format!(
                            "{}: activated again at {} (was {}; Stylus v{v}, tx {}, gas {})",
                            c.key(),
                            r.address,
                            r.state,
                            receipt.transaction_hash(),
                            receipt.gas_used()
                        ),
                        &mut report,
                    ),
                    other => {
                        return Err(DeployError::NotActivated {
                            contract: c.key(),
                            address: r.address,
                            state: format!("{other:?}"),
                        })
                    }
                }
                report.gas.push((what, receipt.gas_used()));
            }
        }
    }

    for (d, gas) in planned.iter().zip(&deploy_gas) {
        let c = d.contract;
        match cfg.mode {
            Mode::DryRun => say(
                format!(
                    "{}: would deploy {} to {} with constructor({}) ({} bytes of code, hash {}, \
                     activation fee up to {} wei)",
                    c.key(),
                    c.package(),
                    d.address,
                    d.args.join(", "),
                    module(c).code.len(),
                    d.code_hash,
                    d.data_fee
                ),
                &mut report,
            ),
            Mode::EstimateGas => {
                say(
                    format!(
                        "{}: about {gas} gas to deploy and activate, plus the constructor \
                         (allowed {CONSTRUCTOR_GAS}), and up to {} wei of data fee",
                        c.key(),
                        d.data_fee
                    ),
                    &mut report,
                );
                report
                    .gas
                    .push((format!("deploy {} (without constructor)", c.key()), *gas));
            }
            Mode::Apply => {
                say(
                    format!("{}: deploying {} to {} …", c.key(), c.package(), d.address),
                    &mut report,
                );
                let tx = stylus::deploy_tx(
                    cfg.deployer(),
                    cfg.stylus_deployer,
                    d.init_code.clone(),
                    d.init_data.clone(),
                    cfg.salt,
                    d.data_fee,
                );
                let entry = |tx: B256, block: u64, code_hash: Option<B256>| Deployed {
                    address: d.address,
                    block,
                    tx,
                    code_hash,
                    salt: Some(cfg.salt),
                    stylus_deployer: Some(cfg.stylus_deployer),
                    build: Some(build.clone()),
                };
                let what = format!("deploy {}", c.key());
                let sent = send_tx(&p, tx, &what, cfg.max_fee_per_gas, |tx| {
                    // Recorded at once: a re-run then finds the transaction (or the code at
                    // the address) instead of sending another.
                    record.set(c, entry(tx, 0, None));
                    record.save(&path).map_err(DeployError::from)
                })
                .await;
                let receipt = match sent {
                    Ok(r) => r,
                    Err(e @ DeployError::Reverted { .. }) => {
                        // Mined, nothing deployed: the entry would only mislead a re-run.
                        record.contracts.remove(c.key());
                        record.save(&path)?;
                        return Err(e);
                    }
                    Err(e) => return Err(e),
                };
                let tx = receipt.transaction_hash();
                let got = stylus::deployed_address(cfg.stylus_deployer, receipt.logs());
                if got != Some(d.address) {
                    return Err(DeployError::WrongAddress {
                        contract: c.key(),
                        expected: d.address,
                        got,
                        tx,
                    });
                }
                let code = p.get_code_at(d.address).await.map_err(rpc_err)?;
                let found = alloy::primitives::keccak256(&code);
                if found != d.code_hash {
                    return Err(DeployError::CodeChanged {
                        contract: c.key(),
                        address: d.address,
                        recorded: d.code_hash,
                        found,
                    });
                }
                let block = receipt.block_number().unwrap_or_default();
                record.set(c, entry(tx, block, Some(found)));
                record.save(&path)?;
                report.gas.push((what, receipt.gas_used()));
                say(
                    format!(
                        "{}: deployed at {} (block {block}, gas {}, tx {tx})",
                        c.key(),
                        d.address,
                        receipt.gas_used()
                    ),
                    &mut report,
                );
            }
        }
    }

    // Wiring: read what is on chain (or, for contracts not deployed yet in a dry run or
    // estimate, what their constructors will leave) and act on the difference.
    // A dry run or estimate knows the planned contracts' addresses only from the plan.
    let planned_at: Vec<(Contract, Address)> =
        planned.iter().map(|d| (d.contract, d.address)).collect();
    let state = plan::read_state(&p, cfg, &record, &planned_at).await?;
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
    for c in cfg.cache.iter().copied() {
        let Some(bid) = cfg.cache_bid else { break };
        let program = record
            .get(c)
            .map(|d| d.address)
            .or_else(|| planned_at.iter().find(|(x, _)| *x == c).map(|(_, a)| *a))
            .expect("every contract is recorded or planned");
        let code_hash = module(c).code_hash();
        match cache::plan(&p, c.key(), program, code_hash, bid).await? {
            cache::Step::Cached => say(
                format!("{}: its code is in the Stylus cache; no bid", c.key()),
                &mut report,
            ),
            cache::Step::Bid { manager, min } => {
                let what = format!("cacheManager.placeBid({program}) with {bid} wei");
                let tx = TransactionRequest::default()
                    .with_from(cfg.deployer())
                    .with_to(manager)
                    .with_value(bid)
                    .with_input(alloy::sol_types::SolCall::abi_encode(
                        &cache::CacheManager::placeBidCall { program },
                    ));
                let min_text = match min {
                    Some(m) => format!("minimum bid now {m} wei"),
                    None => format!("its minimum bid is checked once {} is deployed", c.key()),
                };
                match (cfg.mode, min) {
                    (Mode::DryRun, _) => say(
                        format!("would send: {what} (cache manager {manager}, {min_text})"),
                        &mut report,
                    ),
                    (Mode::EstimateGas, None) => say(
                        format!("{what}: priced after its contract is deployed"),
                        &mut report,
                    ),
                    (Mode::EstimateGas, Some(_)) => {
                        let gas = p
                            .estimate_gas(tx)
                            .await
                            .map_err(|e| DeployError::Rpc(format!("{what}: {e}")))?;
                        say(format!("{what}: about {gas} gas"), &mut report);
                        report.gas.push((what, gas));
                    }
                    (Mode::Apply, _) => {
                        let receipt =
                            send_tx(&p, tx, &what, cfg.max_fee_per_gas, |_| Ok(())).await?;
                        let hash = receipt.transaction_hash();
                        if !cache::is_cached(&p, code_hash).await? {
                            return Err(DeployError::NotCached {
                                contract: c.key(),
                                tx: hash,
                            });
                        }
                        say(
                            format!(
                                "{what}: done, {} cached (tx {hash}, gas {}, {min_text})",
                                c.key(),
                                receipt.gas_used()
                            ),
                            &mut report,
                        );
                        report.gas.push((what, receipt.gas_used()));
                    }
                }
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
    report.planned = planned;
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
    fn children_see_no_key_password_token_or_rpc_url() {
        let vars = [
            ("MINUTO_DEPLOYER_KEY", "0xkey"),
            ("MINUTO_DEPLOYER_KEYSTORE_PASSWORD", "pw"),
            ("STYLUS_PRIVATE_KEY", "0xkey"),
            ("MINUTO_MATCHMAKER_ROOM_SECRET", "s"),
            ("CARGO_REGISTRY_TOKEN", "t"),
            ("eth_mnemonic", "words"),
            ("MINUTO_RPC_URL", "https://rpc.example/v2/APIKEY"),
            ("PATH", "/usr/bin"),
            ("HOME", "/root"),
            ("CARGO_HOME", "/root/.cargo"),
            ("RUSTUP_TOOLCHAIN", "1.95.0"),
        ]
        .map(|(k, v)| (k.into(), v.into()));
        let kept: Vec<String> = child_vars(vars)
            .into_iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        assert_eq!(kept, ["PATH", "HOME", "CARGO_HOME", "RUSTUP_TOOLCHAIN"]);
    }

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
