//! Benchmark (prints numbers; not a timed test). Run in release mode:
//!
//! ```text
//! cargo run --release --example bench
//! ```
//!
//! 1. Verified heartbeats per second: parse + clock check + EIP-712 hash + ecrecover +
//!    key check + replay check + billing figures, on every core, over 10,000 sessions.
//! 2. Stop latency after the last ping, with 10,000 live sessions on a fake chain, real
//!    time, the default 10 s silence timeout: p50 / p99 / max.
//! 3. Memory per watched session (resident set growth over 100,000 sessions).
//! 4. Mass drop on a real node (`-- drop [sessions]`, only run when asked; default
//!    10,000): anvil running the escrow double, the real relayer (`spawn`), every
//!    session's heartbeats stopping at once; last heartbeat → `stopAt` mined, how many
//!    within `maxBackdate`, stops/s, and any `at` other than the last heartbeat.
//!
//! Heartbeats through real HTTP, with the load generator in its own process: the
//! `http_load` example.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant as StdInstant};

use alloy_primitives::{Address, B256, U256};
use k256::ecdsa::SigningKey;
use minuto_relayer::api::{parse_heartbeat, ApiState};
use minuto_relayer::chain::{Chain, ChainError, Head, StopOutcome};
use minuto_relayer::clock::Clock;
use minuto_relayer::config::ApiLimits;
use minuto_relayer::escrow::{EscrowEvent, EscrowLog};
use minuto_relayer::follower::SyncStatus;
use minuto_relayer::heartbeat::{address_of, HeartbeatDomain, Role};
use minuto_relayer::liveness::LivenessConfig;
use minuto_relayer::metrics::Metrics;
use minuto_relayer::ratelimit::{IpLimiter, Rate};
use minuto_relayer::sessions::Registry;
use minuto_relayer::stopper::{run_engine, run_stopper, StopperConfig};
use serde_json::json;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const SESSIONS: u64 = 10_000;
/// The escrow's maxBackdate every rig here assumes, seconds.
const BACKDATE: u64 = 3600;
const GENEROUS: Rate = Rate {
    per_second: 1e9,
    burst: 1e9,
};

fn liveness(clock: &Clock) -> LivenessConfig {
    LivenessConfig {
        silence_timeout: Duration::from_secs(10),
        ping_interval: Duration::from_secs(5),
        grace_period: Duration::from_secs(10),
        started: clock.now(),
    }
}

fn add_session(r: &Registry, id: u64, student: Address, tutor: Address, start: u64) {
    r.apply(&EscrowEvent::Opened {
        id: U256::from(id),
        student_key: student,
        rate: minuto_accrual::rate_per_second(36_000_000, 3600).unwrap(),
        deposit: 1_000_000_000,
        fee_bps: 500,
    });
    r.apply(&EscrowEvent::Started {
        id: U256::from(id),
        tutor_key: tutor,
        start,
    });
}

/// A (student, tutor) session key pair per session, deterministic.
fn session_keys() -> Vec<(SigningKey, SigningKey)> {
    (0..SESSIONS)
        .map(|i| {
            let mut s = [0u8; 32];
            s[..8].copy_from_slice(&(i + 1).to_be_bytes());
            s[31] = 1;
            let mut t = s;
            t[31] = 2;
            (
                SigningKey::from_slice(&s).unwrap(),
                SigningKey::from_slice(&t).unwrap(),
            )
        })
        .collect()
}

/// Signature recovery alone, one core: the heartbeat path's own recovery next to alloy's
/// `Signature::recover_address_from_prehash` (k256), on the same 20,000 signatures.
fn bench_recover() {
    use minuto_relayer::heartbeat::{recover_address, sign_hash};
    let keys = session_keys();
    let signed: Vec<(B256, [u8; 65])> = keys
        .iter()
        .take(20_000)
        .flat_map(|(s, t)| [s, t])
        .take(20_000)
        .enumerate()
        .map(|(i, key)| {
            let hash = alloy_primitives::keccak256(i.to_be_bytes());
            (hash, sign_hash(key, hash).as_bytes())
        })
        .collect();
    let t0 = StdInstant::now();
    for (hash, sig) in &signed {
        recover_address(sig, *hash).unwrap();
    }
    let relayer_rate = signed.len() as f64 / t0.elapsed().as_secs_f64();
    let t0 = StdInstant::now();
    for (hash, sig) in &signed {
        alloy_primitives::Signature::from_raw(sig)
            .unwrap()
            .recover_address_from_prehash(hash)
            .unwrap();
    }
    let k256_rate = signed.len() as f64 / t0.elapsed().as_secs_f64();
    println!(
        "recovery, one core: heartbeat::recover_address {relayer_rate:.0}/s, alloy (k256) {k256_rate:.0}/s"
    );
}

fn bench_verify() {
    let clock = Clock::system();
    let chain_id = 42161;
    let escrow = Address::repeat_byte(0xe5);
    let domain = HeartbeatDomain::new(chain_id, escrow);
    let registry = Arc::new(Registry::new(clock, liveness(&clock), GENEROUS, BACKDATE));
    let keys = session_keys();
    let now = clock.now_unix();
    for (i, (s, t)) in keys.iter().enumerate() {
        add_session(&registry, i as u64, address_of(s), address_of(t), now);
    }
    // Pre-sign 4 heartbeats per party: 80,000 bodies.
    let per_party = 4u64;
    let bodies: Vec<Vec<u8>> = (0..SESSIONS)
        .flat_map(|i| {
            let (s, t) = &keys[i as usize];
            (1..=per_party).flat_map(move |seq| {
                [(Role::Student, s), (Role::Tutor, t)].map(|(role, key)| {
                    let sig = domain.sign(key, U256::from(i), role, seq, now);
                    json!({
                        "session": i.to_string(),
                        "role": role.as_str(),
                        "seq": seq,
                        "sent_at": now,
                        "signature": format!("0x{}", alloy_primitives::hex::encode(sig)),
                    })
                    .to_string()
                    .into_bytes()
                })
            })
        })
        .collect();
    let (sync_tx, sync_rx) = watch::channel(SyncStatus::default());
    let state = Arc::new(ApiState {
        registry: registry.clone(),
        domain,
        metrics: Arc::new(Metrics::new()),
        limits: ApiLimits {
            max_clock_skew: Duration::from_secs(300),
            max_body_bytes: 1024,
            ip_rate_per_second: GENEROUS.per_second,
            ip_burst: GENEROUS.burst,
            session_rate_per_second: GENEROUS.per_second,
            session_burst: GENEROUS.burst,
        },
        ip_limiter: IpLimiter::new(GENEROUS, 10),
        sync: sync_rx,
        clock,
        http: minuto_relayer::config::HttpSettings {
            header_read_timeout: Duration::from_secs(5),
            max_connections: 10_000,
            ..Default::default()
        },
    });
    drop(sync_tx);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    // Each thread takes whole sessions, so per-party sequences stay in order.
    let chunk = bodies.len().div_ceil(threads);
    let chunk = chunk
        + (2 * per_party as usize - chunk % (2 * per_party as usize)) % (2 * per_party as usize);
    let started = StdInstant::now();
    let cpu_before = cpu_seconds();
    let accepted: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = bodies
            .chunks(chunk)
            .map(|part| {
                let state = state.clone();
                scope.spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_time()
                        .build()
                        .unwrap();
                    let _guard = rt.enter();
                    part.iter()
                        .filter(|body| {
                            let hb = parse_heartbeat(body).expect("well-formed");
                            state.accept(&hb).is_ok()
                        })
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    assert_eq!(accepted, bodies.len(), "every heartbeat verifies");
    println!(
        "verified heartbeats: {accepted} in {secs:.2} s wall on {threads} threads = {:.0} heartbeats/s \
         ({:.1} µs CPU each = {:.0}/s per fully available core; other load on the machine lowers the wall figure)",
        accepted as f64 / secs,
        cpu * 1e6 / accepted as f64,
        accepted as f64 / cpu
    );
}

struct RecordingChain {
    clock: Clock,
    stops: Mutex<HashMap<U256, Instant>>,
}

impl Chain for RecordingChain {
    async fn head(&self) -> Result<Head, ChainError> {
        Ok(Head {
            number: 1,
            timestamp: self.clock.now_unix(),
        })
    }
    async fn logs(&self, _: u64, _: u64) -> Result<Vec<EscrowLog>, ChainError> {
        Ok(Vec::new())
    }
    async fn max_backdate(&self) -> Result<u64, ChainError> {
        Ok(BACKDATE)
    }
    async fn stop_at(&self, id: U256, at: u64, _: u8) -> Result<StopOutcome, ChainError> {
        self.stops.lock().unwrap().insert(id, Instant::now());
        Ok(StopOutcome::Stopped { tx: B256::ZERO, at })
    }
}

async fn bench_stop_latency() {
    let clock = Clock::system();
    let registry = Arc::new(Registry::new(clock, liveness(&clock), GENEROUS, BACKDATE));
    let now = clock.now_unix();
    for i in 0..SESSIONS {
        add_session(
            &registry,
            i,
            Address::repeat_byte(1),
            Address::repeat_byte(2),
            now,
        );
    }
    let chain = Arc::new(RecordingChain {
        clock,
        stops: Mutex::default(),
    });
    let metrics = Arc::new(Metrics::new());
    let cancel = CancellationToken::new();
    let (tx, rx) = mpsc::channel(minuto_relayer::STOP_QUEUE);
    tokio::spawn(run_engine(
        registry.clone(),
        metrics.clone(),
        tx,
        cancel.clone(),
    ));
    tokio::spawn(run_stopper(
        chain.clone(),
        registry.clone(),
        metrics,
        rx,
        StopperConfig {
            max_backdate: BACKDATE,
            concurrency: 64,
            retry_after: Duration::from_secs(5),
            drain: Duration::from_secs(1),
        },
        cancel.clone(),
    ));
    // Every party pings each second (the default cadence is 5 s: this is 5× the load).
    // From t = 12 s on, session i's tutor falls silent at 12 s + (i mod 50) × 100 ms.
    let started = Instant::now();
    let mut last_tutor: HashMap<u64, Instant> = HashMap::new();
    let mut seq = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    while started.elapsed() < Duration::from_secs(30) {
        tick.tick().await;
        let elapsed = started.elapsed();
        seq += 1;
        // A tenth of the sessions per 100 ms tick: each party once a second.
        let slot = seq % 10;
        for i in (slot..SESSIONS).step_by(10) {
            let _ = registry.record_heartbeat(U256::from(i), Role::Student, seq, 0);
            let drop_at = Duration::from_millis(12_000 + (i % 50) * 100);
            if elapsed < drop_at
                && registry
                    .record_heartbeat(U256::from(i), Role::Tutor, seq, 0)
                    .is_ok()
            {
                last_tutor.insert(i, Instant::now());
            }
        }
    }
    cancel.cancel();
    let stops = chain.stops.lock().unwrap().clone();
    let mut latencies: Vec<f64> = last_tutor
        .iter()
        .filter_map(|(i, last)| {
            stops
                .get(&U256::from(*i))
                .map(|at| at.duration_since(*last).as_secs_f64())
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "stop latency after last ping ({} of {SESSIONS} sessions stopped, timeout 10 s): p50 {:.3} s, p99 {:.3} s, max {:.3} s",
        latencies.len(),
        pct(0.50),
        pct(0.99),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
}

/// User + system CPU time of this process, seconds (Linux).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// User + system CPU time of this process's child processes that are still running
/// (anvil in the mass drop), seconds (Linux).
fn child_cpu_seconds() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|c| c.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let after = stat.rsplit(')').next().unwrap_or("");
            let fields: Vec<&str> = after.split_whitespace().collect();
            let ticks = |i: usize| {
                fields
                    .get(i)
                    .and_then(|f| f.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            (ticks(11) + ticks(12)) / 100.0
        })
        .sum()
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn bench_memory() {
    const N: u64 = 100_000;
    let clock = Clock::system();
    let before = rss_bytes();
    let registry = Registry::new(clock, liveness(&clock), GENEROUS, BACKDATE);
    let now = clock.now_unix();
    for i in 0..N {
        add_session(
            &registry,
            i,
            Address::repeat_byte(1),
            Address::repeat_byte(2),
            now,
        );
        let _ = registry.record_heartbeat(U256::from(i), Role::Student, 1, 0);
        let _ = registry.record_heartbeat(U256::from(i), Role::Tutor, 1, 0);
    }
    let after = rss_bytes();
    println!(
        "memory: {} sessions grew resident memory by {:.1} MiB = {} bytes per session",
        N,
        (after - before) as f64 / (1 << 20) as f64,
        (after - before) / N
    );
    drop(registry);
}

fn main() {
    minuto_chain::install_tls();
    let only = std::env::args().nth(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if only.as_deref() == Some("drop") {
        let n = std::env::args()
            .nth(2)
            .map_or(SESSIONS, |a| a.parse().expect("sessions: a number"));
        rt.block_on(bench_mass_drop(n));
        return;
    }
    if only.as_deref() == Some("verify") {
        bench_recover();
        bench_verify();
        return;
    }
    bench_memory();
    bench_verify();
    rt.block_on(bench_stop_latency());
}

alloy_sol_types::sol! {
    interface IEscrowDouble {
        function setRelayer(address account, bool allowed) external;
        function openAccepted(address tutor, address token, uint256 rate, uint256 deposit, address studentKey, uint32 credentialKind, address tutorKey, uint256 nonce, uint64 deadline, bytes signature) external returns (uint256 id);
        function nextId() external view returns (uint256);
    }
}

/// anvil's development accounts (mnemonic "test test … junk"): deployer, relayer, student.
const ANVIL_DEPLOYER: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const ANVIL_RELAYER_KEY: &str =
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const ANVIL_STUDENT: &str = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const ANVIL_TUTOR: &str = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
/// The deploy tool's default `maxBackdate`.
const DROP_BACKDATE: u32 = 60;

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// One JSON-RPC batch; panics on any error answer.
async fn rpc_batch(
    http: &reqwest::Client,
    url: &str,
    calls: &[serde_json::Value],
) -> Vec<serde_json::Value> {
    let body: Vec<serde_json::Value> = calls
        .iter()
        .enumerate()
        .map(|(i, c)| json!({"jsonrpc": "2.0", "id": i, "method": c[0], "params": c[1]}))
        .collect();
    let mut out: Vec<serde_json::Value> = http
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    out.sort_by_key(|r| r["id"].as_u64());
    for r in &out {
        assert!(r.get("error").is_none(), "rpc error: {r}");
    }
    out.into_iter().map(|mut r| r["result"].take()).collect()
}

async fn next_id(http: &reqwest::Client, url: &str, escrow: Address) -> u64 {
    use alloy_sol_types::{SolCall, SolValue};
    let input = alloy_primitives::Bytes::from(IEscrowDouble::nextIdCall {}.abi_encode());
    let call = json!(["eth_call", [{"to": escrow, "input": input}, "latest"]]);
    let got = rpc_batch(http, url, &[call]).await;
    let got = alloy_primitives::hex::decode(got[0].as_str().unwrap()).unwrap();
    U256::abi_decode(&got).unwrap().to::<u64>()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Mass drop on a real node: `n` Active sessions on anvil (the escrow double, one block a
/// second once set up), the real relayer (`spawn`, default transaction settings) hearing
/// both parties of every session over HTTP, then every heartbeat stops at once. Measures
/// the last heartbeat → `stopAt` mined, how many landed within `maxBackdate`, stops/s,
/// and whether any `at` differs from the relayer's record of the last heartbeat.
async fn bench_mass_drop(n: u64) {
    use alloy::providers::Provider;
    use alloy_sol_types::{SolCall, SolEvent, SolValue};
    use minuto_chain::bindings::ISessionEscrow::SessionEnded;

    const CHAIN: u64 = 31337;
    const CLIENTS: u64 = 64;
    let Some(bin) = minuto_anvil::find() else {
        println!("mass drop: anvil not found (npm ci at the repository root, or ANVIL_BIN)");
        return;
    };
    // A block per transaction while setting up, then one a second.
    let anvil = minuto_anvil::Anvil::start(&bin, CHAIN, 0).await;
    let url = anvil.url.to_string();
    let p = minuto_chain::http_provider(&anvil.url, Duration::from_secs(30)).unwrap();
    let http = reqwest::Client::new();
    let setup = StdInstant::now();
    let code = std::fs::read_to_string(
        minuto_anvil::repo_root().join("relayer/tests/fixtures/EscrowDouble.bin"),
    )
    .unwrap();
    let mut code = alloy_primitives::hex::decode(code.trim()).unwrap();
    code.extend((DROP_BACKDATE, 500u16).abi_encode_params());
    let tx = |from: &str, to: Option<Address>, input: Vec<u8>| {
        let mut t =
            json!({"from": from, "input": alloy_primitives::Bytes::from(input), "gas": "0x4c4b40"});
        if let Some(to) = to {
            t["to"] = json!(to);
        }
        json!(["eth_sendTransaction", [t]])
    };
    let hash = rpc_batch(&http, &url, &[tx(ANVIL_DEPLOYER, None, code)]).await;
    // Automine answers before mining: wait for each result.
    let mut receipt = vec![serde_json::Value::Null];
    while receipt[0].is_null() {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let get = json!(["eth_getTransactionReceipt", [hash[0]]]);
        receipt = rpc_batch(&http, &url, &[get]).await;
    }
    assert_eq!(receipt[0]["status"], "0x1", "escrow double deployed");
    let escrow: Address = receipt[0]["contractAddress"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let deploy_block = u64::from_str_radix(
        receipt[0]["blockNumber"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap();
    let relayer_key = minuto_relayer::config::parse_private_key(ANVIL_RELAYER_KEY).unwrap();
    let set = IEscrowDouble::setRelayerCall {
        account: relayer_key.address(),
        allowed: true,
    };
    rpc_batch(
        &http,
        &url,
        &[tx(ANVIL_DEPLOYER, Some(escrow), set.abi_encode())],
    )
    .await;
    // Session keys, deterministic; sessions are numbered from 1.
    let keys: Vec<(SigningKey, SigningKey)> = (0..n)
        .map(|i| {
            let mut s = [0u8; 32];
            s[..8].copy_from_slice(&(i + 1).to_be_bytes());
            s[31] = 1;
            let mut t = s;
            t[31] = 2;
            (
                SigningKey::from_slice(&s).unwrap(),
                SigningKey::from_slice(&t).unwrap(),
            )
        })
        .collect();
    // 1,000 base units an hour against 10^12: no session runs out during the run.
    let rate = U256::from(minuto_accrual::rate_per_second(1000, 3600).unwrap());
    // Explicit nonces (anvil handles a batch's requests concurrently), into the pool
    // with automine off, then mined block after block.
    rpc_batch(&http, &url, &[json!(["evm_setAutomine", [false]])]).await;
    for (c, chunk) in keys.chunks(500).enumerate() {
        let calls: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(j, (s, t))| {
                let open = IEscrowDouble::openAcceptedCall {
                    tutor: ANVIL_TUTOR.parse().unwrap(),
                    token: Address::ZERO,
                    rate,
                    deposit: U256::from(1_000_000_000_000u64),
                    studentKey: address_of(s),
                    credentialKind: 0,
                    tutorKey: address_of(t),
                    nonce: U256::ZERO,
                    deadline: 0,
                    signature: Default::default(),
                };
                let mut t = tx(ANVIL_STUDENT, Some(escrow), open.abi_encode());
                t[1][0]["nonce"] = json!(format!("{:#x}", c * 500 + j));
                t[1][0]["gas"] = json!("0x61a80");
                t[1][0]["maxFeePerGas"] = json!("0x174876e800");
                t
            })
            .collect();
        rpc_batch(&http, &url, &calls).await;
        // Mine this batch before the next: anvil's pool stalls when it holds thousands.
        let opened = (c * 500 + chunk.len()) as u64;
        let wait_from = StdInstant::now();
        while next_id(&http, &url, escrow).await < opened + 1 {
            assert!(
                wait_from.elapsed() < Duration::from_secs(60),
                "sessions not all opened: {} of {opened}",
                next_id(&http, &url, escrow).await - 1
            );
            // Full blocks raise the base fee 12.5 % each: keep it at 1 gwei while
            // setting up, so no opening is priced out.
            let base = json!(["anvil_setNextBlockBaseFeePerGas", ["0x3b9aca00"]]);
            rpc_batch(&http, &url, &[base, json!(["evm_mine", []])]).await;
        }
    }
    // Anvil's blocks hold 30,000,000 gas: ~675 `stopAt`s. `BENCH_BLOCK_GAS` raises it, to
    // see what bounds the stops once block space does not.
    if let Ok(gas) = std::env::var("BENCH_BLOCK_GAS") {
        let gas: u64 = gas.parse().expect("BENCH_BLOCK_GAS: a number");
        rpc_batch(
            &http,
            &url,
            &[json!(["evm_setBlockGasLimit", [format!("{gas:#x}")]])],
        )
        .await;
    }
    rpc_batch(&http, &url, &[json!(["evm_setIntervalMining", [1]])]).await;
    println!(
        "mass drop: {n} sessions opened and started on anvil in {:.1} s (JSON-RPC batches of 500)",
        setup.elapsed().as_secs_f64()
    );

    let dir = std::env::temp_dir().join(format!("minuto-bench-drop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = minuto_relayer::config::Config::with_defaults(
        anvil.url.clone(),
        escrow,
        CHAIN,
        relayer_key,
    );
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.admin_listen = "127.0.0.1:0".parse().unwrap();
    config.cursor_file = dir.join("cursor.json");
    config.start_block = deploy_block;
    config.confirmations = 0;
    config.poll_interval = Duration::from_millis(500);
    config.ping_interval = Duration::from_secs(5);
    config.silence_timeout = Duration::from_secs(10);
    config.grace_period = Duration::from_secs(15);
    (config.api.ip_rate_per_second, config.api.ip_burst) = (GENEROUS.per_second, GENEROUS.burst);
    (config.api.session_rate_per_second, config.api.session_burst) =
        (GENEROUS.per_second, GENEROUS.burst);
    if let Ok(c) = std::env::var("BENCH_TX_CONCURRENCY") {
        config.tx.concurrency = c.parse().expect("BENCH_TX_CONCURRENCY: a number");
    }
    let tx_cfg = config.tx;
    // Every heartbeat signed before the relayer starts, so the clients only post: signing
    // 20,000 a round in the rounds themselves slowed them past the silence timeout on a
    // loaded machine. `sent_at` is the round's planned second (well within the clock
    // skew the relayer accepts).
    const ROUNDS: u64 = 4;
    let domain = HeartbeatDomain::new(CHAIN, escrow);
    let planned = Clock::system().now_unix();
    let signing = StdInstant::now();
    let signed: Vec<Vec<[Vec<u8>; 2]>> = std::thread::scope(|scope| {
        let parts: Vec<_> = keys
            .chunks(keys.len().div_ceil(2).max(1))
            .enumerate()
            .map(|(part, chunk)| {
                let first = part * keys.len().div_ceil(2).max(1);
                scope.spawn(move || {
                    chunk
                        .iter()
                        .enumerate()
                        .map(|(j, (s, t))| {
                            let id = U256::from(first + j + 1);
                            (1..=ROUNDS)
                                .map(|round| {
                                    let sent_at = planned + 5 * (round - 1);
                                    [(Role::Student, s), (Role::Tutor, t)].map(|(role, key)| {
                                        let sig = domain.sign(key, id, role, round, sent_at);
                                        json!({
                                            "session": id.to_string(), "role": role.as_str(),
                                            "seq": round, "sent_at": sent_at,
                                            "signature": format!("0x{}", alloy_primitives::hex::encode(sig)),
                                        })
                                        .to_string()
                                        .into_bytes()
                                    })
                                })
                                .collect()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts.into_iter().flat_map(|p| p.join().unwrap()).collect()
    });
    println!(
        "mass drop: {} heartbeats signed in {:.1} s",
        2 * ROUNDS * n,
        signing.elapsed().as_secs_f64()
    );
    let signed = Arc::new(signed);
    let mut handle = minuto_relayer::spawn(config).await.unwrap();
    handle.wait_synced().await;
    assert_eq!(
        handle.registry.watched() as u64,
        n,
        "relayer watches every session"
    );

    // Four rounds of heartbeats, five seconds apart (the last after the grace period, so
    // it does not delay the stops); each client owns every 64th session
    // and posts the student's then the tutor's heartbeat on one keep-alive connection.
    let hb_url = format!("http://{}/v1/heartbeat", handle.local_addr);
    let mut last_reply_ms = vec![0u64; n as usize];
    for round in 1..=ROUNDS {
        let began = StdInstant::now();
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (signed, hb_url) = (signed.clone(), hb_url.clone());
                tokio::spawn(async move {
                    let http = reqwest::Client::builder()
                        .pool_max_idle_per_host(1)
                        .build()
                        .unwrap();
                    let mut replies = Vec::new();
                    for i in (c..n).step_by(CLIENTS as usize) {
                        let mut first_ms = u64::MAX;
                        for body in &signed[i as usize][(round - 1) as usize] {
                            let r = http
                                .post(&hb_url)
                                .header("content-type", "application/json")
                                .body(body.clone())
                                .send()
                                .await
                                .unwrap();
                            assert!(
                                r.status().is_success(),
                                "heartbeat refused: {}",
                                r.text().await.unwrap()
                            );
                            let _ = r.bytes().await;
                            first_ms = first_ms.min(unix_ms());
                        }
                        replies.push((i as usize, first_ms));
                    }
                    replies
                })
            })
            .collect();
        for t in tasks {
            for (i, ms) in t.await.unwrap() {
                last_reply_ms[i] = ms;
            }
        }
        println!(
            "mass drop: heartbeat round {round}: {} heartbeats in {:.1} s",
            2 * n,
            began.elapsed().as_secs_f64()
        );
        if round < ROUNDS {
            tokio::time::sleep(Duration::from_secs(5).saturating_sub(began.elapsed())).await;
        }
    }
    let silence_from = unix_ms();
    // CPU from here on, the node's and this process's (the relayer, and the bench's own
    // log poll) apart.
    let cpu_from = (cpu_seconds(), child_cpu_seconds());
    let mut all_sent_ms = None;
    // What the relayer will stop each session at: its record of the party heard least
    // recently.
    let expected_at: Vec<u64> = (1..=n)
        .map(|id| {
            let s = handle.registry.status(U256::from(id)).unwrap().session;
            s.seen.iter().map(|x| x.unwrap().unix).min().unwrap()
        })
        .collect();

    // Watch SessionEnded logs block by block until every session ended.
    let mut from = p.get_block_number().await.unwrap() + 1;
    let mut ended: HashMap<u64, (u64, u64, u64)> = HashMap::new(); // id → (at, block ts, seen ms)
    let give_up = StdInstant::now() + Duration::from_secs(10 + 4 * u64::from(DROP_BACKDATE) + 60);
    while (ended.len() as u64) < n && StdInstant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if all_sent_ms.is_none() && handle.metrics.stops_submitted.get() >= n {
            all_sent_ms = Some(unix_ms().saturating_sub(silence_from));
        }
        let head = p.get_block_number().await.unwrap();
        if head < from {
            continue;
        }
        let filter = alloy::rpc::types::Filter::new()
            .address(escrow)
            .event_signature(SessionEnded::SIGNATURE_HASH)
            .from_block(from)
            .to_block(head);
        let logs = p.get_logs(&filter).await.unwrap();
        let seen_ms = unix_ms();
        let mut stamps = HashMap::new();
        for log in logs {
            let block = log.block_number.unwrap();
            let ts = match stamps.get(&block) {
                Some(&ts) => ts,
                None => {
                    let b = p.get_block_by_number(block.into()).await.unwrap().unwrap();
                    stamps.insert(block, b.header.timestamp);
                    b.header.timestamp
                }
            };
            let e = SessionEnded::decode_raw_log(log.topics().iter().copied(), &log.data().data)
                .unwrap();
            ended.insert(e.id.to::<u64>(), (e.end, ts, seen_ms));
        }
        from = head + 1;
    }
    let cpu = (cpu_seconds() - cpu_from.0, child_cpu_seconds() - cpu_from.1);
    let submitted = handle.metrics.stops_submitted.get();
    let failed = handle.metrics.stops_failed.get();
    handle.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);

    let mut wall = Vec::new();
    let mut chain_secs = Vec::new();
    let (mut within, mut at_differs) = (0u64, 0u64);
    let (mut first_ts, mut last_ts) = (u64::MAX, 0u64);
    let mut per_block: HashMap<u64, u64> = HashMap::new();
    for (id, &(at, ts, seen_ms)) in &ended {
        *per_block.entry(ts).or_default() += 1;
        let i = (*id - 1) as usize;
        wall.push(seen_ms.saturating_sub(last_reply_ms[i]) as f64 / 1000.0);
        let lag = ts.saturating_sub(expected_at[i]);
        chain_secs.push(lag as f64);
        within += u64::from(lag <= u64::from(DROP_BACKDATE));
        at_differs += u64::from(at != expected_at[i]);
        first_ts = first_ts.min(ts);
        last_ts = last_ts.max(ts);
    }
    wall.sort_by(f64::total_cmp);
    chain_secs.sort_by(f64::total_cmp);
    if wall.is_empty() {
        println!("mass drop: no session was stopped");
        return;
    }
    println!(
        "mass drop: {} of {n} sessions stopped on chain ({submitted} stops submitted, {failed} \
         failed attempts; tx concurrency {}, receipt poll {:?}); last heartbeat → stopAt mined \
         (seen by a 100 ms log poll): p50 {:.2} s, p99 {:.2} s, max {:.2} s; block timestamp − \
         last heartbeat second: p50 {:.0} s, p99 {:.0} s, max {:.0} s; {within} within \
         maxBackdate ({DROP_BACKDATE} s); {:.0} stops/s over blocks {}..{} s after silence; \
         {at_differs} with `at` ≠ last heartbeat",
        ended.len(),
        tx_cfg.concurrency,
        tx_cfg.receipt_poll_interval,
        percentile(&wall, 0.5),
        percentile(&wall, 0.99),
        wall[wall.len() - 1],
        percentile(&chain_secs, 0.5),
        percentile(&chain_secs, 0.99),
        chain_secs[chain_secs.len() - 1],
        ended.len() as f64 / (last_ts + 1 - first_ts) as f64,
        (first_ts * 1000).saturating_sub(silence_from) / 1000,
        (last_ts * 1000).saturating_sub(silence_from) / 1000,
    );
    println!(
        "mass drop: every stop sent {} after silence; most stops in one block (second): {}; \
         CPU from silence to the last stop seen: anvil {:.1} s, relayer + bench {:.1} s \
         ({:.2} ms and {:.2} ms per stop)",
        all_sent_ms.map_or("never".into(), |ms| format!("{:.1} s", ms as f64 / 1000.0)),
        per_block.values().max().copied().unwrap_or(0),
        cpu.1,
        cpu.0,
        cpu.1 * 1000.0 / ended.len() as f64,
        cpu.0 * 1000.0 / ended.len() as f64,
    );
}
