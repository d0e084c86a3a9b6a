//! Backfill throughput: how many events a second a fresh indexer reads from a node and
//! stores, on SQLite and (when its binaries are installed) PostgreSQL.
//!
//! Builds a chain on anvil with `SESSIONS` sessions (3 escrow events each, emitted by
//! `tests/fixtures/SessionFlood.sol` in calls of 500 sessions), then times a fresh
//! indexer (the real `spawn`: follower, `eth_getLogs` in 2,000-block ranges, decoding,
//! one transaction per range) from start until every block is stored, and a few API
//! requests on the result.
//!
//! ```sh
//! cd relayer && cargo run --release -p minuto-indexer --example backfill -- 20000
//! ```

use std::time::{Duration, Instant};

use minuto_anvil::postgres::Postgres;
use minuto_anvil::Anvil;
use minuto_chain::alloy::network::TransactionBuilder;
use minuto_chain::alloy::primitives::{Address, Bytes, U256};
use minuto_chain::alloy::providers::{DynProvider, Provider};
use minuto_chain::alloy::rpc::types::TransactionRequest;
use minuto_chain::alloy::signers::local::PrivateKeySigner;
use minuto_indexer::events::Source;
use minuto_indexer::ingest::Contracts;
use minuto_indexer::{spawn, IngestConfig, Settings, Store};

const ANVIL_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const PER_CALL: u64 = 500;

minuto_chain::alloy::sol! {
    #[sol(rpc)]
    interface IFlood {
        function flood(uint256 n, address token) external;
    }
}

async fn chain(sessions: u64) -> (Anvil, DynProvider, Address, u64) {
    let bin = minuto_anvil::find().expect("anvil not found: run `npm ci` at the repository root");
    let anvil = Anvil::start(&bin, 31_337, 0).await;
    let signer: PrivateKeySigner = ANVIL_KEY.parse().unwrap();
    let p = minuto_chain::signing_provider(&anvil.url, &signer);
    let code: Bytes = include_str!("../tests/fixtures/SessionFlood.bin")
        .trim()
        .parse()
        .unwrap();
    let r = p
        .send_transaction(TransactionRequest::default().with_deploy_code(code))
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let flood = IFlood::new(r.contract_address.unwrap(), p.clone());
    let mut left = sessions;
    while left > 0 {
        let n = left.min(PER_CALL);
        flood
            .flood(U256::from(n), Address::repeat_byte(0x70))
            .gas(25_000_000)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        left -= n;
    }
    // Empty blocks too, as a real chain has between sessions: 10 per call.
    let _: serde_json::Value = p
        .raw_request("anvil_mine".into(), [sessions.div_ceil(PER_CALL) * 10])
        .await
        .unwrap();
    let head = p.get_block_number().await.unwrap();
    (anvil, p, r.contract_address.unwrap(), head)
}

async fn run(name: &str, url: &str, anvil: &Anvil, escrow: Address, head: u64) {
    let store = Store::open(url).await.unwrap();
    let started = Instant::now();
    let ix = spawn(Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        provider: minuto_chain::http_provider(&anvil.url, Duration::from_secs(30)).unwrap(),
        store,
        contracts: Contracts {
            chain_id: 31_337,
            addresses: vec![(Source::Escrow, escrow)],
            escrow,
            start_block: 0,
        },
        ingest: IngestConfig {
            confirmations: 0,
            chunk_blocks: 2_000,
            poll_interval: Duration::from_millis(20),
            writer_lease: Duration::from_secs(10),
        },
        allowed_origins: vec![],
        notify: minuto_indexer::NotifyConfig::default(),
        webhooks: vec![],
    })
    .await
    .unwrap();
    assert!(ix.wait_for_block(head, Duration::from_secs(3_600)).await);
    let took = started.elapsed();
    let events = ix.store.event_count().await.unwrap();
    println!(
        "{name}: {events} events in {:.2} s: {:.0} events/s",
        took.as_secs_f64(),
        events as f64 / took.as_secs_f64()
    );
    minuto_chain::install_tls();
    let http = reqwest::Client::new();
    // One of SessionFlood's 101 tutors (0x…7001), with ~1/101 of the sessions.
    let tutor = format!("0x{:040x}", 0x7001);
    for path in [
        format!("/v1/accounts/{tutor}/sessions?limit=50"),
        format!("/v1/tutors/{tutor}/earnings?period=day"),
        "/v1/stats".to_string(),
    ] {
        let t = Instant::now();
        let r = http
            .get(format!("http://{}{path}", ix.local_addr))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let body = r.bytes().await.unwrap();
        println!(
            "{name}: GET {path}: {:.1} ms, {} bytes",
            t.elapsed().as_secs_f64() * 1e3,
            body.len()
        );
    }
    ix.shutdown().await.unwrap();
}

#[tokio::main]
async fn main() {
    let sessions: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("sessions: a number"))
        .unwrap_or(20_000);
    let t = Instant::now();
    let (anvil, _p, escrow, head) = chain(sessions).await;
    println!(
        "chain: {sessions} sessions ({} events) in {head} blocks, built in {:.1} s",
        sessions * 3,
        t.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("backfill.sqlite").display().to_string();
    run("sqlite", &sqlite, &anvil, escrow, head).await;
    match minuto_anvil::postgres::find() {
        Some(bin) => {
            let pg = Postgres::start(&bin).await;
            run("postgres", &pg.url("postgres"), &anvil, escrow, head).await;
        }
        None => println!("postgres: skipped (no binaries; set POSTGRES_BIN_DIR)"),
    }
}
