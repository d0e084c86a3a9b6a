//! The deploy tool against a real node: anvil (from `npm ci`) under Berlin rules (the
//! last fork before EIP-3541 refused new code starting with 0xEF, which Arbitrum allows
//! for Stylus programs), with Solidity stand-ins of ArbWasm and the StylusDeployer put at
//! their canonical addresses (`tests/fixtures`, built by `build.sh`). The `.code` files
//! are made up here (the Stylus prefix and a few bytes): anvil cannot run them, so a run
//! that deploys stops at the wiring's first view call, after every deployment is sent,
//! checked and recorded — which is what these tests look at. The wiring's reads are
//! tested apart (`plan::read_state` against `RolesStandIn` and `ViewStandIn` put where a
//! record says the contracts are): the plan from chain state, and the re-run's check.

use std::path::{Path, PathBuf};

use alloy::primitives::{keccak256, Address, Bytes, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Filter;
use clap::Parser;
use minuto_deploy::stylus::{self, STYLUS_DEPLOYER};
use minuto_deploy::verify::ARB_WASM;
use minuto_deploy::{Cli, Config, Contract, DeployError, Record};

// anvil's second development account (0x7099…79C8), funded with 10,000 ETH.
const KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const CHAIN_ID: u64 = 31_337;

alloy::sol! {
    /// What the StylusDeployer stand-in emits in place of the init call it cannot make.
    event InitRecorded(address program, bytes32 salt, bytes initData, uint256 initValue, uint256 value, uint256 dataFee);
    function expire(bytes32 codehash) external;
    /// `fixtures/CacheStandIn.sol`: the cache manager's minimum bid from now on.
    function setMinBid(uint192 min) external;
    /// `fixtures/CacheStandIn.sol`: ArbWasmCache lists no manager (or its one again).
    function setNoManagers(bool none) external;
    /// `fixtures/RolesStandIn.sol`: names the first credentials admin.
    function seed(address admin) external;
    /// `fixtures/ViewStandIn.sol`: what a view with `selector` answers.
    function answer(bytes4 selector, bytes data) external;
}

/// Data fee the ArbWasm stand-in charges per byte of code.
const FEE_PER_BYTE: u64 = 1_000_000_000;

async fn set_code(p: &DynProvider, at: Address, hex: &str) {
    let code: Bytes = hex.trim().parse().unwrap();
    let _: () = p
        .raw_request("anvil_setCode".into(), (at, code))
        .await
        .unwrap();
}

/// anvil with Berlin rules; with `stand_ins`, ArbWasm and the StylusDeployer in place.
async fn node(
    test: &str,
    chain_id: u64,
    arb_wasm: bool,
    deployer: bool,
) -> Option<(minuto_anvil::Anvil, DynProvider)> {
    let bin = minuto_anvil::or_skip(test)?;
    let anvil = minuto_anvil::Anvil::start_with(&bin, chain_id, 0, &["--hardfork", "berlin"]).await;
    let p = minuto_chain::http_provider(&anvil.url, std::time::Duration::from_secs(10)).unwrap();
    if arb_wasm {
        set_code(
            &p,
            ARB_WASM,
            include_str!("fixtures/ArbWasmStandIn.runtime.hex"),
        )
        .await;
    }
    if deployer {
        set_code(
            &p,
            STYLUS_DEPLOYER,
            include_str!("fixtures/StylusDeployerStandIn.runtime.hex"),
        )
        .await;
    }
    Some((anvil, p))
}

/// Made-up `.code` files: the Stylus prefix, then the package name and `tag`.
fn write_modules(dir: &Path, tag: &str) {
    for c in Contract::ALL {
        let mut code = vec![0xEF, 0xF0, 0x00, 0x00];
        code.extend(format!("{} {tag}", c.package()).bytes());
        std::fs::write(stylus::Module::path_in(dir, c), code).unwrap();
    }
}

fn module(dir: &Path, c: Contract) -> Bytes {
    std::fs::read(stylus::Module::path_in(dir, c))
        .unwrap()
        .into()
}

fn config(url: &url::Url, out: &Path, wasm: &Path, extra: &[&str]) -> Config {
    let mut args = vec![
        "minuto-deploy".to_string(),
        "--rpc-url".into(),
        url.to_string(),
        "--out".into(),
        out.display().to_string(),
        "--root".into(),
        minuto_anvil::repo_root().display().to_string(),
        "--wasm-dir".into(),
        wasm.display().to_string(),
    ];
    if !extra.contains(&"--private-key-stdin") {
        args.extend(["--private-key".into(), KEY.into()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    Config::from_cli_with_stdin(
        Cli::try_parse_from(args).unwrap(),
        &mut format!("{KEY}\n").as_bytes(),
    )
    .unwrap()
}

async fn nonce(p: &DynProvider, cfg: &Config) -> u64 {
    p.get_transaction_count(cfg.deployer()).await.unwrap()
}

/// The addresses and init data a fresh run with `cfg` must use, computed here from the
/// definitions (EIP-1014, the StylusDeployer's salt rule, the constructors in `abi/`).
fn predicted(cfg: &Config, wasm: &Path) -> Vec<(Contract, Address, Bytes)> {
    let d = cfg.deployer().to_string();
    let mut out: Vec<(Contract, Address, Bytes)> = Vec::new();
    for c in Contract::ALL {
        let addr = |x: Contract| out.iter().find(|(y, ..)| *y == x).unwrap().1.to_string();
        let args: Vec<String> = match c {
            Contract::Credentials => vec![d.clone()],
            Contract::Escrow => vec![
                d.clone(),
                cfg.treasury.to_string(),
                addr(Contract::Credentials),
                cfg.fee_bps.to_string(),
                "900".into(),
                "60".into(),
            ],
            Contract::Badges => vec![
                cfg.admin.to_string(),
                addr(Contract::Escrow),
                "300".into(),
                String::new(),
            ],
            Contract::Ratings => vec![
                cfg.admin.to_string(),
                addr(Contract::Escrow),
                "300".into(),
                "1209600".into(),
            ],
            // The defaults: a week to vote, thirty days after a rejection.
            Contract::Vetting => vec![
                cfg.admin.to_string(),
                addr(Contract::Credentials),
                addr(Contract::Ratings),
                "604800".into(),
                "2592000".into(),
            ],
            Contract::Booking => vec![addr(Contract::Escrow)],
        };
        let init_data = stylus::init_data(c, &args).unwrap();
        let init_code = stylus::init_code(&module(wasm, c));
        let a = stylus::create2_address(STYLUS_DEPLOYER, cfg.salt, &init_data, &init_code);
        out.push((c, a, init_data));
    }
    out
}

fn wiring_stop(err: &DeployError) -> bool {
    matches!(err, DeployError::Rpc(m) if m.starts_with("reading hasRole"))
}

#[tokio::test]
async fn deploys_each_contract_at_its_create2_address_and_a_second_run_sends_nothing() {
    let test = "deploys_each_contract_at_its_create2_address_and_a_second_run_sends_nothing";
    let Some((anvil, p)) = node(test, CHAIN_ID, true, true).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("wasm");
    std::fs::create_dir(&wasm).unwrap();
    write_modules(&wasm, "v1");
    let out = dir.path().join("31337.json");
    let cfg = config(&anvil.url, &out, &wasm, &[]);
    let expected = predicted(&cfg, &wasm);
    let balance_before = p.get_balance(cfg.deployer()).await.unwrap();

    let err = minuto_deploy::run(&cfg).await.unwrap_err();
    assert!(wiring_stop(&err), "{err}");
    assert_eq!(nonce(&p, &cfg).await, 6, "one transaction per contract");

    let record = Record::read(&out).unwrap();
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(minuto_anvil::repo_root())
        .output()
        .unwrap();
    let head = String::from_utf8(head.stdout).unwrap().trim().to_owned();
    let logs = p
        .get_logs(&Filter::new().address(STYLUS_DEPLOYER).from_block(0))
        .await
        .unwrap();
    let inits: Vec<InitRecorded> = logs
        .iter()
        .filter_map(|l| l.log_decode::<InitRecorded>().ok().map(|d| d.inner.data))
        .collect();
    assert_eq!(inits.len(), 6);
    let mut fees = U256::ZERO;
    let mut gas_cost = U256::ZERO;
    for (i, (c, address, init_data)) in expected.iter().enumerate() {
        let code = module(&wasm, *c);
        // The init code returned exactly the measured bytes.
        assert_eq!(p.get_code_at(*address).await.unwrap(), code, "{c:?}");
        let d = record.get(*c).unwrap();
        assert_eq!(d.address, *address, "{c:?}: the CREATE2 prediction");
        assert_eq!(d.code_hash, Some(keccak256(&code)));
        assert_eq!(d.salt, Some(minuto_deploy::default_salt()));
        assert_eq!(d.stylus_deployer, Some(STYLUS_DEPLOYER));
        let receipt = p.get_transaction_receipt(d.tx).await.unwrap().unwrap();
        assert_eq!(d.block, receipt.block_number.unwrap());
        gas_cost += U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
        let build = d.build.as_ref().unwrap();
        assert_eq!(build.tool.as_deref(), Some("minuto-deploy 0.1.0"));
        assert!(
            build.rustc.as_deref().unwrap().starts_with("rustc 1.95"),
            "{build:?}"
        );
        assert_eq!(build.git_revision.as_deref(), Some(head.as_str()));
        assert!(build.git_dirty.is_some());
        assert_eq!(build.cargo_stylus, None);
        // Salt and init data reached the deployer; the value was the quoted fee + 20 %.
        let fee = U256::from(code.len() as u64 * FEE_PER_BYTE);
        let init = &inits[i];
        assert_eq!(
            (
                init.program,
                init.salt,
                &init.initData,
                init.initValue,
                init.value,
                init.dataFee
            ),
            (
                *address,
                minuto_deploy::default_salt(),
                init_data,
                U256::ZERO,
                fee * U256::from(120u64) / U256::from(100u64),
                fee
            ),
            "{c:?}"
        );
        fees += fee;
    }
    // Only the data fee was kept; the bump came back.
    assert_eq!(
        p.get_balance(cfg.deployer()).await.unwrap(),
        balance_before - fees - gas_cost
    );

    // A second run finds everything where the record says and sends nothing.
    let err = minuto_deploy::run(&cfg).await.unwrap_err();
    assert!(wiring_stop(&err), "{err}");
    assert_eq!(nonce(&p, &cfg).await, 6);
    assert_eq!(Record::read(&out).unwrap(), record);

    // Without the record, the CREATE2 addresses are found again, blocks included.
    std::fs::remove_file(&out).unwrap();
    let err = minuto_deploy::run(&cfg).await.unwrap_err();
    assert!(wiring_stop(&err), "{err}");
    assert_eq!(nonce(&p, &cfg).await, 6);
    let found = Record::read(&out).unwrap();
    for c in Contract::ALL {
        let (a, b) = (record.get(c).unwrap(), found.get(c).unwrap());
        assert_eq!(
            (b.address, b.block, b.code_hash),
            (a.address, a.block, a.code_hash),
            "{c:?}"
        );
        assert_eq!(
            (b.tx, &b.build),
            (B256::ZERO, &None),
            "not deployed by this run"
        );
    }

    // A changed module is reported, nothing sent.
    std::fs::write(
        stylus::Module::path_in(&wasm, Contract::Escrow),
        [0xEF, 0xF0, 0x00, 0x00, 0x01, 0x02],
    )
    .unwrap();
    let err = minuto_deploy::run(&cfg).await.unwrap_err();
    let escrow = record.get(Contract::Escrow).unwrap();
    assert!(
        matches!(&err, DeployError::ModuleChanged { contract: "escrow", address, deployed, built, .. }
            if *address == escrow.address && Some(*deployed) == escrow.code_hash
               && *built == keccak256([0xEF, 0xF0, 0x00, 0x00, 0x01, 0x02])),
        "{err}"
    );
    assert_eq!(nonce(&p, &cfg).await, 6);

    // An expired activation is renewed: one activateProgram, then nothing more to send.
    write_modules(&wasm, "v1");
    let credentials = record.get(Contract::Credentials).unwrap();
    let hash = credentials.code_hash.unwrap();
    let tx = alloy::rpc::types::TransactionRequest::default()
        .from(cfg.deployer())
        .to(ARB_WASM)
        .input(alloy::sol_types::SolCall::abi_encode(&expireCall { codehash: hash }).into());
    let signer = minuto_deploy::provider(&cfg);
    signer
        .send_transaction(tx)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert_eq!(
        minuto_deploy::verify::activation(&p, hash).await.unwrap(),
        minuto_deploy::verify::Activation::Expired {
            age_seconds: 31_536_000
        }
    );
    let dry = config(&anvil.url, &out, &wasm, &["--dry-run"]);
    let err = minuto_deploy::run(&dry).await.unwrap_err();
    assert!(wiring_stop(&err), "{err}");
    assert_eq!(nonce(&p, &cfg).await, 7, "the dry run sent nothing");
    let err = minuto_deploy::run(&cfg).await.unwrap_err();
    assert!(wiring_stop(&err), "{err}");
    assert_eq!(nonce(&p, &cfg).await, 8, "one activation");
    assert_eq!(
        minuto_deploy::verify::activation(&p, hash).await.unwrap(),
        minuto_deploy::verify::Activation::Active(2)
    );
    let err = minuto_deploy::run(&cfg).await.unwrap_err();
    assert!(wiring_stop(&err), "{err}");
    assert_eq!(nonce(&p, &cfg).await, 8, "nothing more");
}

#[tokio::test]
async fn dry_run_plans_create2_deployments_and_every_step_and_sends_nothing() {
    let test = "dry_run_plans_create2_deployments_and_every_step_and_sends_nothing";
    let Some((anvil, p)) = node(test, CHAIN_ID, true, true).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write_modules(dir.path(), "v1");
    let out = dir.path().join("31337.json");
    let admin = "0x5555555555555555555555555555555555555555";
    let salt = format!("{}", B256::repeat_byte(0x5a));
    let cfg = config(
        &anvil.url,
        &out,
        dir.path(),
        &[
            "--dry-run",
            "--admin",
            admin,
            "--relayer",
            "0x1111111111111111111111111111111111111111",
            "--token",
            "0x2222222222222222222222222222222222222222",
            "--salt",
            &salt,
        ],
    );
    let deployer = cfg.deployer();
    let report = minuto_deploy::run(&cfg).await.unwrap();
    let expected = predicted(&cfg, dir.path());
    let at = |c: Contract| expected.iter().find(|(x, ..)| *x == c).unwrap().1;
    let line = |c: Contract, args: String| {
        let code = module(dir.path(), c);
        format!(
            "{}: would deploy {} to {} with constructor({args}) ({} bytes of code, hash {}, activation fee up to {} wei)",
            c.key(),
            c.package(),
            at(c),
            code.len(),
            keccak256(&code),
            code.len() as u64 * FEE_PER_BYTE * 12 / 10
        )
    };
    let steps: Vec<&str> = report.steps.iter().map(String::as_str).collect();
    assert_eq!(
        steps[1],
        "note: --fee-bps 0: no session pays a protocol fee, so none earns a badge or a \
         rating (both require one; see the README's threat model)"
    );
    assert_eq!(
        steps[2],
        format!("pre-flight: ArbWasm answers (Stylus v2); StylusDeployer at {STYLUS_DEPLOYER} holds code")
    );
    assert!(
        steps[3].starts_with("pre-flight: 6 deployment(s) and up to 6 wiring call(s) need about "),
        "{}",
        steps[3]
    );
    assert_eq!(
        steps[4..],
        [
            line(Contract::Credentials, format!("{deployer}")).as_str(),
            line(Contract::Escrow, format!("{deployer}, {admin}, {}, 0, 900, 60", at(Contract::Credentials))).as_str(),
            line(Contract::Badges, format!("{admin}, {}, 300, ", at(Contract::Escrow))).as_str(),
            line(Contract::Ratings, format!("{admin}, {}, 300, 1209600", at(Contract::Escrow))).as_str(),
            line(
                Contract::Vetting,
                format!("{admin}, {}, {}, 604800, 2592000", at(Contract::Credentials), at(Contract::Ratings)),
            )
            .as_str(),
            line(Contract::Booking, format!("{}", at(Contract::Escrow))).as_str(),
            // The vetting contract's issuer role, while the deployer is credentials admin.
            format!("would send: credentials.grantRole(ISSUER_ROLE, {}) (vetting)", at(Contract::Vetting)).as_str(),
            format!("would send: credentials.grantRole(DEFAULT_ADMIN_ROLE, {admin})").as_str(),
            "would send: escrow.setRelayer(0x1111111111111111111111111111111111111111, true)",
            "would send: escrow.setTokenAllowed(0x2222222222222222222222222222222222222222, true)",
            // Booking registered while the deployer is still the escrow's admin.
            format!("would send: escrow.setBooking({})", at(Contract::Booking)).as_str(),
            format!("would send: escrow.transferAdmin({admin})").as_str(),
            "admin must send: escrow.acceptAdmin() (to <escrow>, data 0x0e18b681)",
            "admin must send: badges.setMinBilled(0x2222222222222222222222222222222222222222, 1000000) \
             (to <badges>, data 0x10904ac8000000000000000000000000222222222222222222222222222222222222222200000000000000000000000000000000000000000000000000000000000f4240)",
            "admin must send: ratings.setMinBilled(0x2222222222222222222222222222222222222222, 1000000) \
             (to <ratings>, data 0x10904ac8000000000000000000000000222222222222222222222222222222222222222200000000000000000000000000000000000000000000000000000000000f4240)",
            "the deployer keeps the credentials admin role until the admin accepts the escrow \
             (acceptAdmin); run scripts/deploy again afterwards to renounce it",
        ]
    );
    assert!(
        steps[0].starts_with("chain 31337, deployer "),
        "{}",
        steps[0]
    );
    assert!(report.gas.is_empty());
    assert_eq!(
        report
            .planned
            .iter()
            .map(|d| (d.contract, d.address))
            .collect::<Vec<_>>(),
        expected
            .iter()
            .map(|(c, a, _)| (*c, *a))
            .collect::<Vec<_>>()
    );
    assert_eq!(report.pending.len(), 4);
    assert_eq!(nonce(&p, &cfg).await, 0, "a dry run sent a transaction");
    assert!(!out.exists(), "a dry run wrote the record");
}

#[tokio::test]
async fn pre_flight_refuses_a_chain_without_stylus_or_the_deployer_or_funds() {
    let test = "pre_flight_refuses_a_chain_without_stylus_or_the_deployer_or_funds";
    let dir = tempfile::tempdir().unwrap();
    write_modules(dir.path(), "v1");
    let out = dir.path().join("x.json");
    // Plain anvil: no ArbWasm.
    let Some((anvil, p)) = node(test, CHAIN_ID, false, false).await else {
        return;
    };
    for mode in [&[][..], &["--dry-run"][..]] {
        let cfg = config(&anvil.url, &out, dir.path(), mode);
        let err = minuto_deploy::run(&cfg).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "chain 31337 is not a Stylus chain: no code at ArbWasm \
             (0x0000000000000000000000000000000000000071); a plain EVM node cannot run Stylus programs"
        );
        assert_eq!(nonce(&p, &cfg).await, 0);
    }
    // ArbWasm, no StylusDeployer.
    set_code(
        &p,
        ARB_WASM,
        include_str!("fixtures/ArbWasmStandIn.runtime.hex"),
    )
    .await;
    let cfg = config(&anvil.url, &out, dir.path(), &["--dry-run"]);
    let err = minuto_deploy::run(&cfg).await.unwrap_err();
    assert!(
        matches!(err, DeployError::NoStylusDeployer { chain_id: 31_337, address } if address == STYLUS_DEPLOYER),
        "{err}"
    );
    // Both, but a deployer with 1,000 wei: less than the data fees alone.
    set_code(
        &p,
        STYLUS_DEPLOYER,
        include_str!("fixtures/StylusDeployerStandIn.runtime.hex"),
    )
    .await;
    let _: () = p
        .raw_request(
            "anvil_setBalance".into(),
            (cfg.deployer(), U256::from(1_000u64)),
        )
        .await
        .unwrap();
    let fees: u64 = Contract::ALL
        .iter()
        .map(|c| module(dir.path(), *c).len() as u64 * FEE_PER_BYTE * 12 / 10)
        .sum();
    for mode in [&[][..], &["--dry-run"][..]] {
        let cfg = config(&anvil.url, &out, dir.path(), mode);
        let err = minuto_deploy::run(&cfg).await.unwrap_err();
        assert!(
            matches!(&err, DeployError::InsufficientFunds { have, need, .. }
                if *have == U256::from(1_000u64) && *need == U256::from(fees)),
            "{err}"
        );
        assert_eq!(nonce(&p, &cfg).await, 0);
        assert!(!out.exists());
    }
}

#[tokio::test]
async fn a_production_chain_needs_an_admin_a_treasury_and_a_key_not_in_plain_text() {
    let test = "a_production_chain_needs_an_admin_a_treasury_and_a_key_not_in_plain_text";
    // anvil answering as Arbitrum One.
    let Some((anvil, p)) = node(test, 42_161, true, true).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write_modules(dir.path(), "v1");
    let out = dir.path().join("42161.json");
    let admin = "0x5555555555555555555555555555555555555555";
    for extra in [
        vec!["--dry-run"],
        vec!["--dry-run", "--admin", admin],
        vec!["--dry-run", "--treasury", admin],
    ] {
        let err = minuto_deploy::run(&config(&anvil.url, &out, dir.path(), &extra))
            .await
            .unwrap_err();
        assert!(
            matches!(err, DeployError::AdminRequired(42_161)),
            "{extra:?}: {err}"
        );
    }
    let both = ["--dry-run", "--admin", admin, "--treasury", admin];
    let err = minuto_deploy::run(&config(&anvil.url, &out, dir.path(), &both))
        .await
        .unwrap_err();
    assert!(matches!(err, DeployError::PlainKey(42_161)), "{err}");
    // With the key on stdin, the dry run plans as on any chain.
    let mut extra = both.to_vec();
    extra.push("--private-key-stdin");
    let cfg = config(&anvil.url, &out, dir.path(), &extra);
    assert_eq!(cfg.key_source, minuto_deploy::KeySource::Stdin);
    let report = minuto_deploy::run(&cfg).await.unwrap();
    assert!(
        report.steps[0].starts_with("chain 42161,"),
        "{:?}",
        report.steps
    );
    assert_eq!(report.planned.len(), 6);
    assert_eq!(nonce(&p, &cfg).await, 0);
    assert!(!out.exists());
}

#[tokio::test]
async fn a_deployment_the_node_refuses_leaves_no_entry_in_the_record() {
    let test = "a_deployment_the_node_refuses_leaves_no_entry_in_the_record";
    let Some((anvil, p)) = node(test, CHAIN_ID, true, false).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write_modules(dir.path(), "v1");
    let out = dir.path().join("31337.json");
    let cfg = config(&anvil.url, &out, dir.path(), &[]);
    // A "deployer" that passes the estimate (no init data) and reverts the real call (the
    // constructor's init data makes the calldata longer): CALLDATASIZE > limit → REVERT.
    let estimate_len = stylus::deploy_tx(
        cfg.deployer(),
        STYLUS_DEPLOYER,
        stylus::init_code(&module(dir.path(), Contract::Credentials)),
        Bytes::new(),
        cfg.salt,
        U256::ZERO,
    )
    .input
    .input()
    .unwrap()
    .len();
    let limit = u16::try_from(estimate_len).unwrap().to_be_bytes();
    let code = format!(
        "0x3661{:02x}{:02x}10600957005b60006000fd",
        limit[0], limit[1]
    );
    set_code(&p, STYLUS_DEPLOYER, &code).await;
    let err = minuto_deploy::run(&cfg).await.unwrap_err();
    // The send's own gas estimate meets the revert: nothing is sent, nothing recorded.
    assert!(
        matches!(&err, DeployError::Rpc(m) if m.starts_with("deploy credentials: ") && m.contains("execution reverted")),
        "{err}"
    );
    assert_eq!(nonce(&p, &cfg).await, 0);
    assert!(!out.exists());
}

#[tokio::test]
async fn record_naming_an_address_without_code_stops_the_run() {
    let test = "record_naming_an_address_without_code_stops_the_run";
    let Some((anvil, p)) = node(test, CHAIN_ID, true, true).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write_modules(dir.path(), "v1");
    let out: PathBuf = dir.path().join("31337.json");
    let cfg = config(&anvil.url, &out, dir.path(), &[]);
    let mut record = Record::new(CHAIN_ID, cfg.deployer(), cfg.admin);
    let nowhere = Address::repeat_byte(0x77);
    record.set(
        Contract::Credentials,
        minuto_deploy::Deployed {
            address: nowhere,
            block: 1,
            ..Default::default()
        },
    );
    record.save(&out).unwrap();
    let err = minuto_deploy::run(&cfg).await.unwrap_err();
    assert!(
        matches!(err, DeployError::NoCode { contract: "credentials", address, .. } if address == nowhere),
        "{err:?}"
    );
    // Recorded when sent (block 0, its transaction), no receipt yet: wait, not "no code".
    let tx = B256::repeat_byte(0x99);
    record.set(
        Contract::Credentials,
        minuto_deploy::Deployed {
            address: nowhere,
            block: 0,
            tx,
            ..Default::default()
        },
    );
    record.save(&out).unwrap();
    let err = minuto_deploy::run(&cfg).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "credentials: deployment transaction {tx} is not mined yet: wait and run again (if \
             the node dropped it, remove `credentials` from the record)"
        )
    );
    assert_eq!(nonce(&p, &cfg).await, 0);
}

/// Sends `data` to `to` from the deployer and returns the receipt (which must succeed).
async fn send_as(
    cfg: &Config,
    to: Address,
    data: Vec<u8>,
) -> alloy::rpc::types::TransactionReceipt {
    let tx = alloy::rpc::types::TransactionRequest::default()
        .from(cfg.deployer())
        .to(to)
        .input(Bytes::from(data).into());
    let r = minuto_deploy::provider(cfg)
        .send_transaction(tx)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(r.status(), "{to}: reverted");
    r
}

/// The wiring's reads on a real node: Stylus programs cannot run on anvil, so the recorded
/// contracts are Solidity stand-ins answering what the deployed ones would (the roles of
/// credentials for real, the others' `config()` as constructed). The plan grants vetting
/// the issuer role from what `hasRole` says; once granted, the re-run's read finds it and
/// plans nothing; vetting reading another credentials contract stops the run. Likewise the
/// escrow's `booking()`: none or another registered plans `setBooking(booking)`, the
/// recorded one plans nothing; booking reading another escrow stops the run.
#[tokio::test]
async fn the_vetting_issuer_role_and_the_escrows_booking_are_planned_from_chain_state_and_set_once()
{
    use alloy::sol_types::{SolCall, SolValue};
    use minuto_deploy::bindings::{
        IBadges, IBooking, ICredentials, IRatings, ISessionEscrow, IVetting,
    };
    use minuto_deploy::plan::{self, Sender};
    let test =
        "the_vetting_issuer_role_and_the_escrows_booking_are_planned_from_chain_state_and_set_once";
    let Some((anvil, p)) = node(test, CHAIN_ID, false, false).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&anvil.url, &dir.path().join("31337.json"), dir.path(), &[]);
    let d = cfg.deployer();
    let at = |i: u8| Address::repeat_byte(0xc0 + i);
    let (credentials, escrow, ratings, vetting, booking) = (at(0), at(1), at(3), at(4), at(5));
    let mut record = Record::new(CHAIN_ID, d, cfg.admin);
    for (i, c) in Contract::ALL.into_iter().enumerate() {
        record.set(
            c,
            minuto_deploy::Deployed {
                address: at(i as u8),
                block: 1,
                ..Default::default()
            },
        );
    }
    set_code(
        &p,
        credentials,
        include_str!("fixtures/RolesStandIn.runtime.hex"),
    )
    .await;
    send_as(&cfg, credentials, seedCall { admin: d }.abi_encode()).await;
    let answers: [(Address, [u8; 4], Vec<u8>); 6] = [
        (
            escrow,
            ISessionEscrow::configCall::SELECTOR,
            (
                d,
                Address::ZERO,
                cfg.treasury,
                credentials,
                0u16,
                900u32,
                60u32,
                false,
                0u64,
            )
                .abi_encode_params(),
        ),
        (
            at(2),
            IBadges::configCall::SELECTOR,
            (d, escrow, 300u64).abi_encode_params(),
        ),
        (
            ratings,
            IRatings::configCall::SELECTOR,
            (d, escrow, 300u64, 1_209_600u64).abi_encode_params(),
        ),
        (
            vetting,
            IVetting::configCall::SELECTOR,
            (
                d,
                credentials,
                ratings,
                604_800u64,
                2_592_000u64,
                0u32,
                0u32,
            )
                .abi_encode_params(),
        ),
        // The escrow registers the recorded booking contract, which reads the escrow.
        (
            escrow,
            ISessionEscrow::bookingCall::SELECTOR,
            booking.abi_encode(),
        ),
        (
            booking,
            IBooking::configCall::SELECTOR,
            (escrow, 0u64).abi_encode_params(),
        ),
    ];
    for (to, selector, data) in &answers {
        if p.get_code_at(*to).await.unwrap().is_empty() {
            set_code(&p, *to, include_str!("fixtures/ViewStandIn.runtime.hex")).await;
        }
        let call = answerCall {
            selector: (*selector).into(),
            data: data.clone().into(),
        };
        send_as(&cfg, *to, call.abi_encode()).await;
    }

    // Read from the chain: vetting lacks the role, and the deployer, credentials admin,
    // is to grant it — the only call missing.
    let state = plan::read_state(&p, &cfg, &record, &[]).await.unwrap();
    assert_eq!(state.credentials.vetting_issuer_missing, Some(vetting));
    assert_eq!(state.escrow.booking_missing, None);
    assert_eq!(
        (
            state.vetting.admin,
            state.vetting.voting_period,
            state.vetting.cooldown
        ),
        (d, 604_800, 2_592_000)
    );
    let actions = plan::actions(&cfg, &record, &state);
    let grant = ICredentials::grantRoleCall {
        role: keccak256("ISSUER_ROLE"),
        account: vetting,
    }
    .abi_encode();
    assert_eq!(
        actions
            .iter()
            .map(|a| (a.what.as_str(), a.to, &a.data[..], a.sender))
            .collect::<Vec<_>>(),
        vec![(
            format!("credentials.grantRole(ISSUER_ROLE, {vetting}) (vetting)").as_str(),
            Some(credentials),
            &grant[..],
            Sender::Deployer
        )]
    );
    let r = send_as(&cfg, credentials, actions[0].data.to_vec()).await;
    let granted = r
        .decoded_log::<ICredentials::RoleGranted>()
        .expect("RoleGranted");
    assert_eq!(
        (granted.role, granted.account, granted.sender),
        (keccak256("ISSUER_ROLE"), vetting, d)
    );

    // The re-run reads the role back: nothing left to send.
    let state = plan::read_state(&p, &cfg, &record, &[]).await.unwrap();
    assert_eq!(state.credentials.vetting_issuer_missing, None);
    assert_eq!(plan::actions(&cfg, &record, &state), vec![]);

    // Vetting reading another credentials contract than the recorded one stops the run.
    let elsewhere = Address::repeat_byte(0x0e);
    let call = answerCall {
        selector: IVetting::configCall::SELECTOR.into(),
        data: (d, elsewhere, ratings, 604_800u64, 2_592_000u64, 0u32, 0u32)
            .abi_encode_params()
            .into(),
    };
    send_as(&cfg, vetting, call.abi_encode()).await;
    let err = plan::read_state(&p, &cfg, &record, &[]).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "vetting reads credentials {elsewhere}, but the record's credentials is \
             {credentials}: remove `vetting` from the record to redeploy it"
        )
    );
    let call = answerCall {
        selector: IVetting::configCall::SELECTOR.into(),
        data: (
            d,
            credentials,
            ratings,
            604_800u64,
            2_592_000u64,
            0u32,
            0u32,
        )
            .abi_encode_params()
            .into(),
    };
    send_as(&cfg, vetting, call.abi_encode()).await;

    // The escrow registers no booking contract (an escrow deployed before booking existed),
    // then another one: either way the plan is setBooking(the recorded one) to the
    // escrow, from the deployer, its admin.
    let set_booking = ISessionEscrow::setBookingCall { booking }.abi_encode();
    for registered in [Address::ZERO, Address::repeat_byte(0x0b)] {
        let call = answerCall {
            selector: ISessionEscrow::bookingCall::SELECTOR.into(),
            data: registered.abi_encode().into(),
        };
        send_as(&cfg, escrow, call.abi_encode()).await;
        let state = plan::read_state(&p, &cfg, &record, &[]).await.unwrap();
        assert_eq!(state.escrow.booking_missing, Some(booking), "{registered}");
        let actions = plan::actions(&cfg, &record, &state);
        assert_eq!(
            actions
                .iter()
                .map(|a| (a.what.as_str(), a.to, &a.data[..], a.sender))
                .collect::<Vec<_>>(),
            vec![(
                format!("escrow.setBooking({booking})").as_str(),
                Some(escrow),
                &set_booking[..],
                Sender::Deployer
            )],
            "{registered}"
        );
    }
    // A record from before booking existed: the planned (CREATE2) address is the one to
    // register (a dry run, before it is deployed); with neither, nothing to register.
    let mut older = record.clone();
    older.contracts.remove("booking");
    let state = plan::read_state(&p, &cfg, &older, &[(Contract::Booking, booking)])
        .await
        .unwrap();
    assert_eq!(state.escrow.booking_missing, Some(booking));
    let state = plan::read_state(&p, &cfg, &older, &[]).await.unwrap();
    assert_eq!(state.escrow.booking_missing, None);
    // What the escrow answers once the call went through: nothing left to send.
    let call = answerCall {
        selector: ISessionEscrow::bookingCall::SELECTOR.into(),
        data: booking.abi_encode().into(),
    };
    send_as(&cfg, escrow, call.abi_encode()).await;
    let state = plan::read_state(&p, &cfg, &record, &[]).await.unwrap();
    assert_eq!(plan::actions(&cfg, &record, &state), vec![]);

    // Booking reading another escrow than the recorded one stops the run.
    let call = answerCall {
        selector: IBooking::configCall::SELECTOR.into(),
        data: (elsewhere, 3u64).abi_encode_params().into(),
    };
    send_as(&cfg, booking, call.abi_encode()).await;
    let err = plan::read_state(&p, &cfg, &record, &[]).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "booking reads escrow {elsewhere}, but the record's escrow is {escrow}: remove \
             `booking` from the record to redeploy it"
        )
    );
}

/// `--cache-bid-wei`, against a stand-in of ArbWasmCache and its CacheManager at 0x…72: a
/// chain without one (no code there, or no manager listed) stops the run with
/// `NoCacheManager`; a dry run of a fresh deployment plans the bid for the escrow's CREATE2
/// address (its minimum is checked once it is deployed), or with `--cache` one bid for
/// each program listed, in order; for a deployed program a bid
/// below the manager's minimum is refused before anything is sent, naming both figures,
/// and one at the minimum, placed as the run places it, caches the program's code, after
/// which nothing more is planned. (A full apply run stops at the made-up modules' wiring
/// first, so the apply path is driven here through the same `cache::plan`.)
#[tokio::test]
async fn a_cache_bid_is_refused_below_the_minimum_and_placed_once() {
    use alloy::network::TransactionBuilder;
    use alloy::sol_types::SolCall;
    use minuto_deploy::cache::{self, CacheManager, Step, ARB_WASM_CACHE};
    let test = "a_cache_bid_is_refused_below_the_minimum_and_placed_once";
    let Some((anvil, p)) = node(test, CHAIN_ID, true, true).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write_modules(dir.path(), "v1");
    let out = dir.path().join("31337.json");
    let dry = |bid: &str| {
        config(
            &anvil.url,
            &out,
            dir.path(),
            &["--dry-run", "--cache-bid-wei", bid],
        )
    };

    let err = minuto_deploy::run(&dry("5000")).await.unwrap_err();
    assert!(matches!(err, DeployError::NoCacheManager), "{err}");
    set_code(
        &p,
        ARB_WASM_CACHE,
        include_str!("fixtures/CacheStandIn.runtime.hex"),
    )
    .await;
    let cfg = dry("5000");
    send_as(
        &cfg,
        ARB_WASM_CACHE,
        setNoManagersCall { none: true }.abi_encode(),
    )
    .await;
    let err = minuto_deploy::run(&cfg).await.unwrap_err();
    assert!(matches!(err, DeployError::NoCacheManager), "{err}");
    send_as(
        &cfg,
        ARB_WASM_CACHE,
        setNoManagersCall { none: false }.abi_encode(),
    )
    .await;
    send_as(
        &cfg,
        ARB_WASM_CACHE,
        setMinBidCall {
            min: alloy::primitives::aliases::U192::from(5_000),
        }
        .abi_encode(),
    )
    .await;
    let sent = nonce(&p, &cfg).await;

    let report = minuto_deploy::run(&cfg).await.unwrap();
    let escrow = predicted(&cfg, dir.path())
        .into_iter()
        .find(|(c, ..)| *c == Contract::Escrow)
        .unwrap()
        .1;
    assert_eq!(
        report.steps.last().unwrap(),
        &format!(
            "would send: cacheManager.placeBid({escrow}) with 5000 wei (cache manager \
             {ARB_WASM_CACHE}, its minimum bid is checked once escrow is deployed)"
        )
    );
    assert_eq!(nonce(&p, &cfg).await, sent, "a dry run sends nothing");

    // `--cache` names the programs: one bid each, in the order given, the same amount.
    let listed = config(
        &anvil.url,
        &out,
        dir.path(),
        &[
            "--dry-run",
            "--cache-bid-wei",
            "6000",
            "--cache",
            "ratings,escrow,badges",
        ],
    );
    let report = minuto_deploy::run(&listed).await.unwrap();
    let at = predicted(&listed, dir.path());
    let bids: Vec<String> = [Contract::Ratings, Contract::Escrow, Contract::Badges]
        .into_iter()
        .map(|c| {
            let program = at.iter().find(|(x, ..)| *x == c).unwrap().1;
            format!(
                "would send: cacheManager.placeBid({program}) with 6000 wei (cache manager \
                 {ARB_WASM_CACHE}, its minimum bid is checked once {} is deployed)",
                c.key()
            )
        })
        .collect();
    assert_eq!(report.steps[report.steps.len() - 3..], bids[..]);
    assert_eq!(nonce(&p, &cfg).await, sent, "a dry run sends nothing");

    // The apply path: a program with code, its bid placed as the run sends it.
    let program = Address::repeat_byte(0xcc);
    let code = "0xeff00000c0de";
    set_code(&p, program, code).await;
    let hash = keccak256(code.parse::<Bytes>().unwrap());
    let bid = U256::from(5_000);
    let err = cache::plan(&p, "escrow", program, hash, bid - U256::from(1))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "--cache-bid-wei 4999: the cache manager's minimum bid for escrow is 5000 wei now; bid at least that"
    );
    let step = cache::plan(&p, "escrow", program, hash, bid).await.unwrap();
    assert_eq!(
        step,
        Step::Bid {
            manager: ARB_WASM_CACHE,
            min: Some(bid)
        }
    );
    let tx = alloy::rpc::types::TransactionRequest::default()
        .with_from(cfg.deployer())
        .with_to(ARB_WASM_CACHE)
        .with_value(bid)
        .with_input(CacheManager::placeBidCall { program }.abi_encode());
    let receipt = minuto_deploy::provider(&cfg)
        .send_transaction(tx)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    assert_eq!(p.get_balance(ARB_WASM_CACHE).await.unwrap(), bid);
    assert!(cache::is_cached(&p, hash).await.unwrap());
    assert_eq!(
        cache::plan(&p, "escrow", program, hash, bid).await.unwrap(),
        Step::Cached
    );
}
