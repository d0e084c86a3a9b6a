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
//! 4. Verified heartbeats per second through real HTTP: the relayer's own `spawn_with`
//!    on loopback, 10,000 live sessions, 64 keep-alive client connections in the same
//!    process (`cargo run --release --example bench -- http` runs only this one).

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
            ip_rate: GENEROUS,
            session_rate: GENEROUS,
        },
        ip_limiter: IpLimiter::new(GENEROUS, 10),
        sync: sync_rx,
        clock,
        http: minuto_relayer::config::HttpSettings {
            trusted_proxies: Vec::new(),
            cors_allowed_origins: minuto_relayer::config::CorsOrigins::Any,
            header_read_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            admin_listen: "127.0.0.1:0".parse().unwrap(),
            admin_token: None,
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
    async fn stop_at(&self, id: U256, at: u64) -> Result<StopOutcome, ChainError> {
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
    if only.as_deref() == Some("http") {
        rt.block_on(bench_http());
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
    rt.block_on(bench_http());
}

/// Serves 10,000 Active sessions (one `Opened` + `Started` each, block 1).
struct SessionsChain {
    events: Vec<EscrowLog>,
}

impl Chain for SessionsChain {
    async fn head(&self) -> Result<Head, ChainError> {
        Ok(Head {
            number: 1,
            timestamp: Clock::system().now_unix(),
        })
    }
    async fn logs(&self, from: u64, to: u64) -> Result<Vec<EscrowLog>, ChainError> {
        Ok(if (from..=to).contains(&1) {
            self.events.clone()
        } else {
            Vec::new()
        })
    }
    async fn max_backdate(&self) -> Result<u64, ChainError> {
        Ok(BACKDATE)
    }
    async fn stop_at(&self, _: U256, at: u64) -> Result<StopOutcome, ChainError> {
        Ok(StopOutcome::Stopped { tx: B256::ZERO, at })
    }
}

async fn bench_http() {
    const CLIENTS: u64 = 64;
    const ROUNDS: u64 = 3;
    let chain_id = 42161;
    let escrow = Address::repeat_byte(0xe5);
    let domain = HeartbeatDomain::new(chain_id, escrow);
    let now = Clock::system().now_unix();
    let keys = session_keys();
    let mut events = Vec::new();
    for (i, (s, t)) in keys.iter().enumerate() {
        let id = U256::from(i);
        events.push(EscrowEvent::Opened {
            id,
            student_key: address_of(s),
            rate: minuto_accrual::rate_per_second(36_000_000, 3600).unwrap(),
            deposit: 1_000_000_000,
            fee_bps: 500,
        });
        events.push(EscrowEvent::Started {
            id,
            tutor_key: address_of(t),
            start: now,
        });
    }
    let events = events
        .into_iter()
        .enumerate()
        .map(|(i, event)| EscrowLog {
            block: 1,
            log_index: i as u64,
            event,
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("minuto-bench-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = minuto_relayer::config::Config::with_defaults(
        "http://127.0.0.1:1".parse().unwrap(),
        escrow,
        chain_id,
        minuto_relayer::evm::RelayerKey::new(SigningKey::from_slice(&[7u8; 32]).unwrap()),
    );
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.cursor_file = dir.join("cursor.json");
    config.confirmations = 0;
    config.silence_timeout = Duration::from_secs(600);
    config.grace_period = Duration::from_secs(600);
    config.api.ip_rate = GENEROUS;
    config.api.session_rate = GENEROUS;
    let mut handle =
        minuto_relayer::spawn_with(config, Arc::new(SessionsChain { events }), Clock::system())
            .await
            .unwrap();
    handle.wait_synced().await;
    // Pre-signed bodies, per client: the sessions it owns, round by round, so each
    // party's heartbeats arrive in order on one keep-alive connection.
    let bodies: Vec<Vec<Vec<u8>>> = (0..CLIENTS)
        .map(|c| {
            let mut out = Vec::new();
            for seq in 1..=ROUNDS {
                for i in (c..SESSIONS).step_by(CLIENTS as usize) {
                    let (s, t) = &keys[i as usize];
                    for (role, key) in [(Role::Student, s), (Role::Tutor, t)] {
                        let sig = domain.sign(key, U256::from(i), role, seq, now);
                        out.push(
                            json!({
                                "session": i.to_string(),
                                "role": role.as_str(),
                                "seq": seq,
                                "sent_at": now,
                                "signature": format!("0x{}", alloy_primitives::hex::encode(sig)),
                            })
                            .to_string()
                            .into_bytes(),
                        );
                    }
                }
            }
            out
        })
        .collect();
    let total: usize = bodies.iter().map(Vec::len).sum();
    let url = format!("http://{}/v1/heartbeat", handle.local_addr);
    let started = StdInstant::now();
    let cpu_before = cpu_seconds();
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|mine| {
            let url = url.clone();
            tokio::spawn(async move {
                // One client per task: one keep-alive connection each.
                let http = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .build()
                    .unwrap();
                let mut ok = 0usize;
                for body in mine {
                    let r = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    ok += usize::from(r.status().is_success());
                    let _ = r.bytes().await;
                }
                ok
            })
        })
        .collect();
    let mut accepted = 0;
    for t in tasks {
        accepted += t.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    assert_eq!(accepted, total, "every heartbeat accepted");
    println!(
        "http: {accepted} verified heartbeats over {CLIENTS} keep-alive connections, {SESSIONS} \
         live sessions, in {secs:.2} s wall = {:.0} heartbeats/s; {:.1} µs CPU per request \
         (relayer and its clients together, in one process)",
        accepted as f64 / secs,
        cpu * 1e6 / accepted as f64,
    );
    handle.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
