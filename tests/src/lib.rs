//! `minuto-e2e`: the end-to-end suite against a real Stylus node.
//!
//! Run with `STYLUS_RPC_URL` (a nitro dev node, Arbitrum Sepolia, …) and
//! `STYLUS_PRIVATE_KEY` (a funded account) set; `cargo test -p minuto-e2e` then deploys
//! the suite with the deploy tool's own logic ([`minuto_deploy::run`]: the contracts built
//! by `cargo xtask wasm`, deployed through the StylusDeployer), a test ERC-20 (EVM code from `fixtures/TestToken.sol`), and
//! runs every scenario in `tests/e2e.rs` on chain, printing a gas table at the end.
//! Without those variables every scenario prints that it was skipped and why, and the
//! run passes.
//!
//! Optional variables: `MINUTO_STYLUS_DEPLOYER` (StylusDeployer address if not the
//! canonical one),
//! `MINUTO_E2E_RECORD` (a deployment record to reuse across runs instead of a fresh
//! temporary one), `MINUTO_E2E_FUND_WEI` (ETH given to each test account, default
//! 10^16 wei).

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use anyhow::{anyhow, bail, Context, Result};
use url::Url;

pub use minuto_chain::bindings;

alloy::sol! {
    /// The quirks of `fixtures/QuirkToken.sol` (the rest is [`ITestToken`]'s).
    #[sol(rpc)]
    interface IQuirkToken {
        function setBlocked(address account, bool isBlocked) external;
        function setFeeBps(uint16 fee) external;
        function setNoReturn(bool on) external;
    }
}

alloy::sol! {
    /// The test token's interface (`fixtures/TestToken.sol`).
    #[sol(rpc)]
    interface ITestToken {
        function mint(address to, uint256 value) external;
        function approve(address spender, uint256 value) external returns (bool);
        function balanceOf(address account) external view returns (uint256);
        function transfer(address to, uint256 value) external returns (bool);
    }
}

/// Creation code of `fixtures/TestToken.sol` (regenerate with `fixtures/build.sh`).
pub const TEST_TOKEN_BIN: &str = include_str!("../fixtures/TestToken.bin");
/// Creation code of `fixtures/QuirkToken.sol`: a block list and a fee on transfer.
pub const QUIRK_TOKEN_BIN: &str = include_str!("../fixtures/QuirkToken.bin");

/// Why the suite cannot run here, if it cannot.
pub fn skip_reason() -> Option<String> {
    let missing: Vec<&str> = ["STYLUS_RPC_URL", "STYLUS_PRIVATE_KEY"]
        .into_iter()
        .filter(|v| std::env::var(v).map_or(true, |s| s.trim().is_empty()))
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "{} not set: no Stylus node to run on (plain anvil cannot execute Stylus WASM). \
             Set STYLUS_RPC_URL to a nitro dev node or Arbitrum Sepolia and \
             STYLUS_PRIVATE_KEY to a funded key to run it",
            missing.join(" and ")
        )
    })
}

/// A funded account with its own signing provider.
#[derive(Clone)]
pub struct Account {
    /// Label in the gas table and messages.
    pub name: &'static str,
    /// Key.
    pub signer: PrivateKeySigner,
    /// Provider that signs with it.
    pub p: DynProvider,
}

impl Account {
    /// Address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }
}

/// The node, the deployer and the gas ledger.
pub struct Node {
    /// URL.
    pub url: Url,
    /// Chain id.
    pub chain_id: u64,
    /// The funded account from `STYLUS_PRIVATE_KEY`.
    pub deployer: Account,
    gas: Mutex<Vec<(String, u64)>>,
}

fn connect(url: &Url, signer: &PrivateKeySigner) -> DynProvider {
    // Nonces from the node each time: the deploy tool sends from the deployer key too.
    minuto_deploy::signing_provider(url, signer)
}

impl Node {
    /// Connects with the variables [`skip_reason`] checks.
    ///
    /// # Errors
    /// A bad URL or key, or an unreachable node.
    pub async fn from_env() -> Result<Self> {
        let url: Url = std::env::var("STYLUS_RPC_URL")?
            .trim()
            .parse()
            .context("STYLUS_RPC_URL is not a URL")?;
        let signer: PrivateKeySigner = std::env::var("STYLUS_PRIVATE_KEY")?
            .trim()
            .parse()
            .map_err(|_| anyhow!("STYLUS_PRIVATE_KEY is not a hex secp256k1 key"))?;
        Self::connect(url, signer).await
    }

    /// Connects to `url` with `signer` as the deployer.
    ///
    /// # Errors
    /// An unreachable node.
    pub async fn connect(url: Url, signer: PrivateKeySigner) -> Result<Self> {
        let p = connect(&url, &signer);
        let chain_id = p.get_chain_id().await.context("eth_chainId")?;
        if minuto_chain::network::kind(chain_id) == minuto_chain::network::ChainKind::Production {
            bail!(
                "chain {chain_id} is not a dev node or a known testnet: the e2e suite deploys \
                 test contracts and spends the key's funds, and refuses to run there"
            );
        }
        Ok(Self {
            url,
            chain_id,
            deployer: Account {
                name: "deployer",
                signer,
                p,
            },
            gas: Mutex::new(Vec::new()),
        })
    }

    /// A fresh account funded from the deployer.
    ///
    /// # Errors
    /// The funding transfer failed.
    pub async fn account(&self, name: &'static str) -> Result<Account> {
        let signer = PrivateKeySigner::random();
        let fund: U256 = std::env::var("MINUTO_E2E_FUND_WEI")
            .ok()
            .map(|v| v.parse())
            .transpose()
            .context("MINUTO_E2E_FUND_WEI")?
            .unwrap_or(U256::from(10u64.pow(16)));
        let tx = TransactionRequest::default()
            .with_to(signer.address())
            .with_value(fund);
        self.send_from_deployer(&format!("fund {name}"), tx).await?;
        Ok(Account {
            name,
            p: connect(&self.url, &signer),
            signer,
        })
    }

    /// Records `gas` for `op` in the table.
    pub fn record_gas(&self, op: impl Into<String>, gas: u64) {
        self.gas.lock().unwrap().push((op.into(), gas));
    }

    /// Checks a receipt succeeded and records its gas under `op`.
    ///
    /// # Errors
    /// The transaction reverted.
    pub fn mined(&self, op: &str, r: &TransactionReceipt) -> Result<()> {
        if !r.status() {
            bail!("{op}: transaction {} reverted", r.transaction_hash);
        }
        self.record_gas(op, r.gas_used);
        Ok(())
    }

    /// The gas table, one row per transaction sent, with the figure `model` gives the
    /// operation (if any) and the difference.
    pub fn gas_table(&self, model: &[(&str, u64)], markdown: bool) -> String {
        gas_table(&self.gas.lock().unwrap(), model, markdown)
    }

    /// Every recorded operation over its budget in `budgets`, as a line naming the
    /// operation, its gas and the budget. A budget's name matches an operation of that
    /// exact name, or, ending in `*`, every operation starting with the rest.
    pub fn over_budget(&self, budgets: &[(&str, u64)]) -> Vec<String> {
        over_budget(&self.gas.lock().unwrap(), budgets)
    }

    /// The timestamp of the block `r` was mined in.
    ///
    /// # Errors
    /// The block cannot be read.
    pub async fn block_time(&self, r: &TransactionReceipt) -> Result<u64> {
        let n = r.block_number.context("receipt without block")?;
        let b = self
            .deployer
            .p
            .get_block_by_number(n.into())
            .await?
            .context("block not found")?;
        Ok(b.header.timestamp)
    }

    /// Deploys the test token (EVM code) and returns its address.
    ///
    /// # Errors
    /// The deployment failed.
    pub async fn deploy_token(&self) -> Result<Address> {
        self.deploy_evm("TestToken", TEST_TOKEN_BIN).await
    }

    /// Deploys EVM creation code `bin` (hex) from the deployer and returns the address.
    ///
    /// # Errors
    /// Bad hex, or the deployment failed.
    pub async fn deploy_evm(&self, name: &str, bin: &str) -> Result<Address> {
        let code: Bytes = bin.trim().parse().with_context(|| format!("{name}.bin"))?;
        let tx = TransactionRequest::default().with_deploy_code(code);
        let r = self
            .send_from_deployer(&format!("deploy {name} (EVM)"), tx)
            .await?;
        r.contract_address
            .with_context(|| format!("no {name} address"))
    }

    /// Sends `tx` from the deployer, waits for it, checks it succeeded and records its
    /// gas under `op`.
    async fn send_from_deployer(
        &self,
        op: &str,
        tx: TransactionRequest,
    ) -> Result<TransactionReceipt> {
        let r = self
            .deployer
            .p
            .send_transaction(tx)
            .await?
            .get_receipt()
            .await?;
        self.mined(op, &r)?;
        Ok(r)
    }
}

/// Seconds since the Unix epoch by this machine's clock.
/// What [`Node::over_budget`] computes, over `rows` (operation, gas).
pub fn over_budget(rows: &[(String, u64)], budgets: &[(&str, u64)]) -> Vec<String> {
    rows.iter()
        .filter_map(|(op, gas)| {
            let (name, budget) = lookup(budgets, op)?;
            (*gas > budget)
                .then(|| format!("{op}: {gas} gas, over the {budget} budget of `{name}`"))
        })
        .collect()
}

/// The first entry of `table` naming `op`: exactly, or, ending in `*`, by a prefix.
fn lookup<'t>(table: &[(&'t str, u64)], op: &str) -> Option<(&'t str, u64)> {
    table
        .iter()
        .find(|(name, _)| match name.strip_suffix('*') {
            Some(prefix) => op.starts_with(prefix),
            None => *name == op,
        })
        .copied()
}

/// One line per row: the operation, its gas, and where `model` names it, the model's
/// figure and the measured gas's difference from it; aligned text, or with `markdown` a
/// Markdown table (for the README's gas table).
pub fn gas_table(rows: &[(String, u64)], model: &[(&str, u64)], markdown: bool) -> String {
    let line = |cells: [&str; 4]| {
        if markdown {
            format!("| {} |\n", cells.join(" | "))
        } else {
            let [op, gas, m, diff] = cells;
            format!("{op:<56} {gas:>10} {m:>10} {diff:>8}")
                .trim_end()
                .to_string()
                + "\n"
        }
    };
    let mut out = line(["operation", "gas", "model", "diff"]);
    if markdown {
        out.push_str("|---|---:|---:|---:|\n");
    }
    for (op, gas) in rows {
        let (m, diff) = match lookup(model, op) {
            Some((_, m)) => (m.to_string(), format!("{:+}", *gas as i64 - m as i64)),
            None => (String::new(), String::new()),
        };
        out.push_str(&line([op, &gas.to_string(), &m, &diff]));
    }
    out
}

/// `model` for a run with `cached` programs in the Stylus cache: each operation
/// (`<program>.<call> …`) saves its own program's init (`savings`) if that is cached, and
/// a claim or rating (badges, ratings) also the escrow's, whose view it calls.
pub fn cached_model(
    model: &[(&'static str, u64)],
    savings: &[(&str, u64)],
    cached: &[String],
) -> Vec<(&'static str, u64)> {
    let saving = |program: &str| {
        savings
            .iter()
            .find(|(p, _)| *p == program && cached.iter().any(|c| c == p))
            .map_or(0, |(_, s)| *s)
    };
    model
        .iter()
        .map(|&(op, gas)| {
            let program = op.split('.').next().unwrap_or_default();
            let nested = if program == "badges" || program == "ratings" {
                saving("escrow")
            } else {
                0
            };
            (op, gas.saturating_sub(saving(program) + nested))
        })
        .collect()
}

/// The rows of a Markdown gas table as [`gas_table`] writes it: operation, gas, and the
/// model's figure where it had one.
///
/// # Errors
/// A row that is not `| operation | gas | model | diff |` with numbers where they belong.
pub fn parse_gas_md(md: &str) -> Result<Vec<(String, u64, Option<u64>)>> {
    let number = |cell: &str, what: &str, line: &str| -> Result<Option<u64>> {
        match cell {
            "" => Ok(None),
            _ => cell
                .parse()
                .map(Some)
                .with_context(|| format!("{what} {cell:?} is not a number in {line:?}")),
        }
    };
    md.lines()
        .skip(2)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let cells: Vec<&str> = line
                .trim()
                .strip_prefix('|')
                .and_then(|l| l.strip_suffix('|'))
                .with_context(|| format!("not a table row: {line:?}"))?
                .split('|')
                .map(str::trim)
                .collect();
            let [op, gas, model, _diff] = cells[..] else {
                bail!("not four cells: {line:?}");
            };
            let gas = number(gas, "gas", line)?.with_context(|| format!("no gas in {line:?}"))?;
            Ok((op.to_string(), gas, number(model, "model", line)?))
        })
        .collect()
}

/// The contracts' operations whose gas the README's table shows (not deployments, funding
/// or token set-up).
const CONTRACTS: [&str; 6] = [
    "escrow.",
    "credentials.",
    "badges.",
    "ratings.",
    "vetting.",
    "booking.",
];

/// The whole sessions (open + start + stop by the student) the README's table sums, on a
/// fresh deployment and on a running escrow.
const WHOLE_SESSIONS: [(&str, [&str; 3]); 2] = [
    (
        "whole session (open + start + stop)",
        ["escrow.open", "escrow.start", "escrow.stop (student)"],
    ),
    (
        "whole session (steady)",
        [
            "escrow.open (steady)",
            "escrow.start (steady)",
            "escrow.stop (student, steady)",
        ],
    ),
];

/// Issue #17's gas table for the README from two runs of the suite (`MINUTO_E2E_GAS_MD`
/// files): one uncached, one with the programs in the Stylus cache. The n-th row of an
/// operation in one run is set beside its n-th row in the other (both run the same
/// scenarios in the same order; the cached run's bids are left out with the other
/// set-up rows), with each run's model figure, then the whole sessions summed.
///
/// # Errors
/// A table [`parse_gas_md`] refuses, or an operation one run has more rows of than the
/// other (not the same suite).
pub fn merge_gas_tables(uncached: &str, cached: &str) -> Result<String> {
    let keep = |rows: Vec<(String, u64, Option<u64>)>| -> Vec<(String, u64, Option<u64>)> {
        rows.into_iter()
            .filter(|(op, _, _)| CONTRACTS.iter().any(|c| op.starts_with(c)))
            .collect()
    };
    let (plain, cached) = (keep(parse_gas_md(uncached)?), keep(parse_gas_md(cached)?));
    if plain.len() != cached.len() {
        bail!(
            "the runs differ: {} contract operations uncached, {} cached",
            plain.len(),
            cached.len()
        );
    }
    let cell = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
    let mut out = String::from(
        "| operation | uncached | cached | model, uncached | model, cached |\n|---|---:|---:|---:|---:|\n",
    );
    let mut seen: Vec<&str> = Vec::new();
    for (i, (op, gas, model)) in plain.iter().enumerate() {
        let nth = seen.iter().filter(|s| **s == op.as_str()).count();
        seen.push(op);
        let (_, cached_gas, cached_model) = cached
            .iter()
            .filter(|(o, _, _)| o == op)
            .nth(nth)
            .with_context(|| {
                format!("row {} ({op}) has no counterpart in the cached run", i + 1)
            })?;
        out.push_str(&format!(
            "| {op} | {gas} | {cached_gas} | {} | {} |\n",
            cell(*model),
            cell(*cached_model)
        ));
    }
    for (name, ops) in WHOLE_SESSIONS {
        let first = |rows: &[(String, u64, Option<u64>)], op: &str| {
            rows.iter().find(|(o, _, _)| o == op).map(|r| (r.1, r.2))
        };
        let sum = |rows: &[(String, u64, Option<u64>)], model: bool| {
            ops.iter()
                .map(|op| first(rows, op).and_then(|(g, m)| if model { m } else { Some(g) }))
                .sum::<Option<u64>>()
        };
        if sum(&plain, false).is_none() {
            continue;
        }
        out.push_str(&format!(
            "| **{name}** | {} | {} | {} | {} |\n",
            cell(sum(&plain, false)),
            cell(sum(&cached, false)),
            cell(sum(&plain, true)),
            cell(sum(&cached, true))
        ));
    }
    Ok(out)
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

#[cfg(test)]
mod tests {
    use alloy::primitives::B256;

    #[test]
    fn gas_over_a_budget_is_named_exactly_and_prefixes_match_with_a_star() {
        let rows: Vec<(String, u64)> = [
            ("escrow.open", 184_427),
            ("escrow.open (dust)", 500_000),
            ("escrow.start", 79_393),
            ("badges.claim (student)", 228_910),
            ("badges.claim (tutor)", 100),
            ("token.mint", 1_000_000),
        ]
        .into_iter()
        .map(|(op, gas)| (op.to_string(), gas))
        .collect();
        let budgets = [
            ("escrow.open", 184_426),
            ("escrow.start", 79_393),
            ("badges.claim*", 228_909),
        ];
        assert_eq!(
            super::over_budget(&rows, &budgets),
            [
                "escrow.open: 184427 gas, over the 184426 budget of `escrow.open`",
                "badges.claim (student): 228910 gas, over the 228909 budget of `badges.claim*`",
            ]
        );
        assert!(super::over_budget(&rows, &[("escrow.start", 79_393)]).is_empty());
    }

    #[test]
    fn a_cached_program_takes_its_init_off_its_calls_and_the_escrow_off_claims() {
        let model = [
            ("escrow.open", 100_000),
            ("badges.claim*", 90_000),
            ("ratings.rate (student)", 80_000),
            ("credentials.issue", 70_000),
        ];
        let savings = [("escrow", 20_000), ("badges", 3_000), ("ratings", 500)];
        let run = |cached: &[&str]| {
            let cached: Vec<String> = cached.iter().map(|c| c.to_string()).collect();
            super::cached_model(&model, &savings, &cached)
                .into_iter()
                .map(|(_, gas)| gas)
                .collect::<Vec<_>>()
        };
        assert_eq!(run(&[]), [100_000, 90_000, 80_000, 70_000]);
        assert_eq!(run(&["escrow"]), [80_000, 70_000, 60_000, 70_000]);
        assert_eq!(run(&["badges"]), [100_000, 87_000, 80_000, 70_000]);
        assert_eq!(
            run(&["escrow", "badges", "ratings"]),
            [80_000, 67_000, 59_500, 70_000]
        );
    }

    #[test]
    fn gas_table_sets_each_row_beside_its_model_figure() {
        let rows: Vec<(String, u64)> = [
            ("escrow.open", 170_000),
            ("escrow.open (dust)", 150_000),
            ("badges.claim (tutor)", 140_000),
        ]
        .into_iter()
        .map(|(op, gas)| (op.to_string(), gas))
        .collect();
        let model = [("escrow.open", 168_115), ("badges.claim*", 144_900)];
        let table = super::gas_table(&rows, &model, false);
        let lines: Vec<Vec<&str>> = table
            .lines()
            .map(|l| {
                l.split("  ")
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .collect()
            })
            .collect();
        assert_eq!(
            lines,
            [
                vec!["operation", "gas", "model", "diff"],
                vec!["escrow.open", "170000", "168115", "+1885"],
                vec!["escrow.open (dust)", "150000"],
                vec!["badges.claim (tutor)", "140000", "144900", "-4900"],
            ]
        );
        assert_eq!(
            super::gas_table(&rows, &model, true),
            "| operation | gas | model | diff |\n|---|---:|---:|---:|\n\
             | escrow.open | 170000 | 168115 | +1885 |\n\
             | escrow.open (dust) | 150000 |  |  |\n\
             | badges.claim (tutor) | 140000 | 144900 | -4900 |\n"
        );
    }
    #[test]
    fn two_runs_merge_into_the_readme_table_row_by_row_with_whole_sessions() {
        let plain = "| operation | gas | model | diff |\n|---|---:|---:|---:|\n\
             | fund student | 21000 |  |  |\n\
             | escrow.open | 170000 | 165838 | +4162 |\n\
             | escrow.start | 65000 | 62905 | +2095 |\n\
             | escrow.open | 171000 | 165838 | +5162 |\n\
             | escrow.stop (student) | 95000 | 91276 | +3724 |\n\
             | badges.claim (tutor) | 140000 | 144723 | -4723 |\n";
        let cached = "| operation | gas | model | diff |\n|---|---:|---:|---:|\n\
             | escrow cache bid | 60000 |  |  |\n\
             | fund student | 21000 |  |  |\n\
             | escrow.open | 150000 | 145708 | +4292 |\n\
             | escrow.start | 45000 | 42775 | +2225 |\n\
             | escrow.open | 151000 | 145708 | +5292 |\n\
             | escrow.stop (student) | 75000 | 71146 | +3854 |\n\
             | badges.claim (tutor) | 100000 | 101000 | -1000 |\n";
        assert_eq!(
            super::merge_gas_tables(plain, cached).unwrap(),
            "| operation | uncached | cached | model, uncached | model, cached |\n\
             |---|---:|---:|---:|---:|\n\
             | escrow.open | 170000 | 150000 | 165838 | 145708 |\n\
             | escrow.start | 65000 | 45000 | 62905 | 42775 |\n\
             | escrow.open | 171000 | 151000 | 165838 | 145708 |\n\
             | escrow.stop (student) | 95000 | 75000 | 91276 | 71146 |\n\
             | badges.claim (tutor) | 140000 | 100000 | 144723 | 101000 |\n\
             | **whole session (open + start + stop)** | 330000 | 270000 | 320019 | 259629 |\n"
        );
        let short = plain.replace("| badges.claim (tutor) | 140000 | 144723 | -4723 |\n", "");
        assert_eq!(
            super::merge_gas_tables(&short, cached)
                .unwrap_err()
                .to_string(),
            "the runs differ: 4 contract operations uncached, 5 cached"
        );
        let renamed = plain.replace("badges.claim (tutor)", "badges.claim (student)");
        assert_eq!(
            super::merge_gas_tables(&renamed, cached)
                .unwrap_err()
                .to_string(),
            "row 5 (badges.claim (student)) has no counterpart in the cached run"
        );
        let bad = plain.replace("| 65000 |", "| 65k |");
        assert_eq!(
            super::merge_gas_tables(&bad, cached)
                .unwrap_err()
                .to_string(),
            "gas \"65k\" is not a number in \"| escrow.start | 65k | 62905 | +2095 |\""
        );
    }

    use minuto_deploy::{Contract, Deployed, Record};

    /// The deploy tool writes the record; the relayer's `--deployment` reads it.
    #[test]
    fn relayer_reads_the_record_the_deploy_tool_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("412346.json");
        let mut record = Record::new(
            412_346,
            super::Address::repeat_byte(1),
            super::Address::repeat_byte(2),
        );
        for (i, c) in Contract::ALL.into_iter().enumerate() {
            record.set(
                c,
                Deployed {
                    address: super::Address::repeat_byte(0x10 + i as u8),
                    block: 100 + i as u64,
                    tx: B256::repeat_byte(i as u8),
                    code_hash: None,
                    ..Deployed::default()
                },
            );
        }
        record.save(&path).unwrap();
        let d = minuto_relayer::config::Deployment::load(&path).unwrap();
        assert_eq!(d.chain_id, 412_346);
        assert_eq!(d.escrow, super::Address::repeat_byte(0x11));
        assert_eq!(d.escrow_block, 101);
    }
}
