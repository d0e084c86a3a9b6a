//! What of the deploy tool and the e2e harness a plain EVM node can check: anvil (from
//! `npm ci`) cannot run Stylus WASM, so nothing here deploys a contract of ours; it runs
//! the tool's record checks against a real node, and the harness's funding, test token
//! and gas ledger. The deploy tool's runs against anvil with stand-ins of ArbWasm and the
//! StylusDeployer are in `scripts/minuto-deploy/tests/anvil.rs`.

use std::path::Path;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use clap::Parser;
use minuto_deploy::{Cli, Config, DeployError};
use minuto_e2e::{ITestToken, Node};

// anvil's second development account (0x7099…79C8), funded with 10,000 ETH.
const KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const CHAIN_ID: u64 = 31_337;

fn config(url: &url::Url, out: &Path, extra: &[&str]) -> Config {
    let root = minuto_anvil::repo_root();
    let mut args = vec![
        "minuto-deploy".to_string(),
        "--rpc-url".into(),
        url.to_string(),
        "--private-key".into(),
        KEY.into(),
        "--out".into(),
        out.display().to_string(),
        "--root".into(),
        root.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    Config::from_cli(Cli::try_parse_from(args).unwrap()).unwrap()
}

async fn nonce(url: &url::Url) -> u64 {
    let p = alloy::providers::ProviderBuilder::new().connect_http(url.clone());
    let signer: PrivateKeySigner = KEY.parse().unwrap();
    p.get_transaction_count(signer.address()).await.unwrap()
}

#[tokio::test]
async fn harness_funds_accounts_deploys_the_token_and_keeps_the_gas_ledger() {
    let Some(bin) =
        minuto_anvil::or_skip("harness_funds_accounts_deploys_the_token_and_keeps_the_gas_ledger")
    else {
        return;
    };
    let anvil = minuto_anvil::Anvil::start(&bin, CHAIN_ID, 0).await;
    let node = Node::connect(anvil.url.clone(), KEY.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(node.chain_id, CHAIN_ID);
    let student = node.account("student").await.unwrap();
    assert_eq!(
        node.deployer
            .p
            .get_balance(student.address())
            .await
            .unwrap(),
        U256::from(10u64.pow(16))
    );
    let token = node.deploy_token().await.unwrap();
    let t = ITestToken::new(token, student.p.clone());
    let r = t
        .mint(student.address(), U256::from(1_234_567u64))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    node.mined("token.mint", &r).unwrap();
    assert_eq!(
        t.balanceOf(student.address()).call().await.unwrap(),
        U256::from(1_234_567u64)
    );
    assert!(node.block_time(&r).await.unwrap() > 0);
    // Another sender using the deployer key in between (as cargo-stylus and the deploy
    // tool do) must not leave the harness with a stale nonce.
    let other = minuto_deploy::signing_provider(&anvil.url, &KEY.parse().unwrap());
    let tx = alloy::rpc::types::TransactionRequest::default()
        .with_to(Address::repeat_byte(0x42))
        .with_value(U256::from(1u64));
    other
        .send_transaction(tx)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    node.account("tutor").await.unwrap();
    let table = node.gas_table(&[], false);
    let rows: Vec<&str> = table
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        rows,
        ["operation", "fund", "deploy", "token.mint", "fund"],
        "{table}"
    );
}

#[tokio::test]
async fn node_errors_never_show_the_rpc_urls_secrets() {
    // Nothing listens there: the error is the HTTP client's, quoting the URL.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url: url::Url = format!("http://user:hunter22@127.0.0.1:{port}/v2/APIKEY123?token=abc")
        .parse()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&url, &dir.path().join("x.json"), &["--dry-run"]);
    let err = minuto_deploy::run(&cfg).await.unwrap_err().to_string();
    assert!(matches!(
        minuto_deploy::run(&cfg).await.unwrap_err(),
        DeployError::Rpc(_)
    ));
    for secret in ["hunter22", "APIKEY123", "token=abc"] {
        assert!(!err.contains(secret), "{secret} in {err}");
    }
}

#[tokio::test]
async fn the_e2e_harness_refuses_a_production_chain() {
    let Some(bin) = minuto_anvil::or_skip("the_e2e_harness_refuses_a_production_chain") else {
        return;
    };
    let anvil = minuto_anvil::Anvil::start(&bin, 42_161, 0).await;
    let err = Node::connect(anvil.url.clone(), KEY.parse().unwrap())
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string()
            .starts_with("chain 42161 is not a dev node or a known testnet"),
        "{err}"
    );
    assert_eq!(nonce(&anvil.url).await, 0);
}

#[tokio::test]
async fn a_rerun_checks_the_recorded_code_and_repairs_a_missing_block() {
    let Some(bin) =
        minuto_anvil::or_skip("a_rerun_checks_the_recorded_code_and_repairs_a_missing_block")
    else {
        return;
    };
    let anvil = minuto_anvil::Anvil::start(&bin, CHAIN_ID, 0).await;
    let node = Node::connect(anvil.url.clone(), KEY.parse().unwrap())
        .await
        .unwrap();
    let token = node.deploy_token().await.unwrap();
    let p = minuto_chain::http_provider(&anvil.url, std::time::Duration::from_secs(5)).unwrap();
    // The deployment transaction: the deployer's first.
    let block = p.get_block_by_number(1.into()).await.unwrap().unwrap();
    let tx = block.transactions.hashes().next().unwrap();
    let code = p.get_code_at(token).await.unwrap();
    let path = Path::new("31337.json");
    // Written before the receipt came (block 0), by a tool that did not hash the code.
    let mut d = minuto_deploy::Deployed {
        address: token,
        block: 0,
        tx,
        code_hash: None,
        ..Default::default()
    };
    let notes = minuto_deploy::verify::recorded(&p, path, "escrow", &mut d)
        .await
        .unwrap();
    let hash = alloy::primitives::keccak256(&code);
    assert_eq!((d.block, d.code_hash), (1, Some(hash)));
    assert_eq!(
        notes,
        [
            format!("escrow: code hash {hash} recorded"),
            "escrow: block 1 recorded (from the deployment's receipt)".to_string(),
        ]
    );
    // A second check has nothing to add; plain anvil has no ArbWasm to ask.
    assert_eq!(
        minuto_deploy::verify::activation(&p, hash).await.unwrap(),
        minuto_deploy::verify::Activation::NoArbWasm
    );
    let again = minuto_deploy::verify::recorded(&p, path, "escrow", &mut d)
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    // Other code at the address than recorded: stop.
    d.code_hash = Some(alloy::primitives::B256::repeat_byte(7));
    let err = minuto_deploy::verify::recorded(&p, path, "escrow", &mut d)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeployError::CodeChanged { found, .. } if found == hash),
        "{err}"
    );
}

#[tokio::test]
async fn the_quirk_token_blocks_and_charges_as_the_e2e_suite_expects() {
    let Some(bin) =
        minuto_anvil::or_skip("the_quirk_token_blocks_and_charges_as_the_e2e_suite_expects")
    else {
        return;
    };
    let anvil = minuto_anvil::Anvil::start(&bin, CHAIN_ID, 0).await;
    let node = Node::connect(anvil.url.clone(), KEY.parse().unwrap())
        .await
        .unwrap();
    let q = node
        .deploy_evm("QuirkToken", minuto_e2e::QUIRK_TOKEN_BIN)
        .await
        .unwrap();
    let me = node.deployer.address();
    let (a, b) = (Address::repeat_byte(0xa1), Address::repeat_byte(0xb2));
    let t = ITestToken::new(q, &node.deployer.p);
    let quirk = minuto_e2e::IQuirkToken::new(q, &node.deployer.p);
    let mined = |r: alloy::rpc::types::TransactionReceipt| assert!(r.status());
    mined(
        t.mint(me, U256::from(10_000))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap(),
    );
    mined(
        quirk
            .setFeeBps(100)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap(),
    );
    mined(
        t.transfer(a, U256::from(1_000))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap(),
    );
    assert_eq!(t.balanceOf(a).call().await.unwrap(), U256::from(990));
    mined(
        quirk
            .setBlocked(b, true)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap(),
    );
    assert!(
        t.transfer(b, U256::from(1)).call().await.is_err(),
        "blocked"
    );
    // USDT-style: the transfer happens and returns no data at all.
    let r = quirk.setNoReturn(true).send().await.unwrap();
    mined(r.get_receipt().await.unwrap());
    let call = alloy::rpc::types::TransactionRequest::default()
        .with_from(me)
        .with_to(q)
        .with_input(t.transfer(a, U256::from(100)).calldata().clone());
    let out = node.deployer.p.call(call.clone()).await.unwrap();
    assert!(out.is_empty(), "returned {out}");
    let r = node.deployer.p.send_transaction(call).await.unwrap();
    mined(r.get_receipt().await.unwrap());
    assert_eq!(t.balanceOf(a).call().await.unwrap(), U256::from(990 + 99));
}
