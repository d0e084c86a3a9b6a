//! Verified heartbeats through real HTTP, the load generator in a process of its own:
//!
//! ```text
//! cargo run --release --example http_load [-- rounds [connections]]
//! ```
//!
//! This process runs the relayer (`spawn_with` on loopback; a fake chain serves 10,000
//! Active sessions; in-memory store) and nothing else while the load runs, so its CPU
//! time (`/proc/self/stat`) is the server's. It pre-signs `rounds` heartbeats per party
//! (default 10: 200,000 distinct, valid, in replay order) and has `wrk` (Debian package
//! `wrk`) send each once over `connections` keep-alive connections (default 64, two wrk
//! threads), each wrk thread owning half of the sessions so every party's heartbeats
//! arrive in order. Prints verified heartbeats/s (wall, first answer to last), the
//! relayer's and wrk's CPU µs per request over that window, and the load average.
//! Without `wrk` it says so and exits.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256, U256};
use minuto_relayer::chain::{Chain, ChainError, Head, StopOutcome};
use minuto_relayer::clock::Clock;
use minuto_relayer::escrow::{EscrowEvent, EscrowLog};
use minuto_relayer::heartbeat::{HeartbeatDomain, Role};
use secp256k1::{Message, SecretKey, SECP256K1};

const SESSIONS: u64 = 10_000;
const WRK_THREADS: u64 = 2;

/// Serves `SESSIONS` Active sessions (one `Opened` + `Started` each, block 1).
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
        Ok(3600)
    }
    async fn stop_at(&self, _: U256, at: u64, _: u8) -> Result<StopOutcome, ChainError> {
        Ok(StopOutcome::Stopped { tx: B256::ZERO, at })
    }
}

/// Session `i`'s (student, tutor) keys, deterministic.
fn keys(i: u64) -> [SecretKey; 2] {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&(i + 1).to_be_bytes());
    s[31] = 1;
    let mut t = s;
    t[31] = 2;
    [
        SecretKey::from_slice(&s).unwrap(),
        SecretKey::from_slice(&t).unwrap(),
    ]
}

fn address(key: &SecretKey) -> Address {
    let public = key.public_key(SECP256K1).serialize_uncompressed();
    Address::from_slice(&alloy_primitives::keccak256(&public[1..])[12..])
}

const SELF: &str = "/proc/self/stat";

/// User + system CPU seconds of the process whose `/proc/<pid>/stat` is `path` (Linux).
fn cpu_seconds(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<f64> = after
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    let ticks = |i: usize| fields.get(i).copied().unwrap_or(0.0) / 100.0;
    ticks(11) + ticks(12)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Writes `bodies-<thread>.txt`: one JSON heartbeat per line, round by round, for the
/// sessions of that wrk thread (`id % WRK_THREADS`).
fn write_bodies(dir: &Path, domain: &HeartbeatDomain, rounds: u64, sent_at: u64) {
    std::thread::scope(|scope| {
        for thread in 0..WRK_THREADS {
            scope.spawn(move || {
                let ids: Vec<u64> = (thread..SESSIONS).step_by(WRK_THREADS as usize).collect();
                let keys: Vec<[SecretKey; 2]> = ids.iter().map(|&i| keys(i)).collect();
                let file = std::fs::File::create(dir.join(format!("bodies-{thread}.txt")))
                    .expect("bodies file");
                let mut out = std::io::BufWriter::new(file);
                for seq in 1..=rounds {
                    for (&i, pair) in ids.iter().zip(&keys) {
                        for role in Role::ALL {
                            let hash = domain.signing_hash(U256::from(i), role, seq, sent_at);
                            let (id, rs) = SECP256K1
                                .sign_ecdsa_recoverable(
                                    &Message::from_digest(hash.0),
                                    &pair[role.index()],
                                )
                                .serialize_compact();
                            let mut sig = [0u8; 65];
                            sig[..64].copy_from_slice(&rs);
                            sig[64] = 27 + id.to_i32() as u8;
                            writeln!(
                                out,
                                r#"{{"session":"{i}","role":"{role}","seq":{seq},"sent_at":{sent_at},"signature":"0x{}"}}"#,
                                alloy_primitives::hex::encode(sig)
                            )
                            .expect("write bodies");
                        }
                    }
                }
                out.flush().expect("write bodies");
            });
        }
    });
}

/// Each wrk thread loads its own file and sends every line once, then stops.
const SCRIPT: &str = r#"
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end
-- wrk calls request() once before the run on its first thread (to check the script):
-- that call, and the other thread's first, get a health check instead of a heartbeat.
local requests, n, i = {}, 0, -1
local health = wrk.format("GET", "/healthz")
function init(args)
  local headers = { ["Content-Type"] = "application/json" }
  for line in io.lines(args[1] .. "/bodies-" .. id .. ".txt") do
    n = n + 1
    requests[n] = wrk.format("POST", "/v1/heartbeat", headers, line)
  end
end
function request()
  i = i + 1
  if i > n then wrk.thread:stop() end
  return requests[i] or health
end
-- wrk ends at its duration or on SIGINT (sent once every heartbeat was answered).
function done(summary, latency, requests)
  io.write(string.format("WRK %d %d %d\n", latency:percentile(50), latency:percentile(99),
    latency.max))
end
"#;

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: u64 = args.next().map_or(10, |a| a.parse().expect("rounds"));
    let connections: u64 = args.next().map_or(64, |a| a.parse().expect("connections"));
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!(
            "SKIPPED: the HTTP load needs `wrk` on PATH (Debian package `wrk`, listed in \
             scripts/debian-packages.txt; scripts/setup installs it)"
        );
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(rounds, connections));
}

async fn run(rounds: u64, connections: u64) {
    let chain_id = 42161;
    let escrow = Address::repeat_byte(0xe5);
    let domain = HeartbeatDomain::new(chain_id, escrow);
    let now = Clock::system().now_unix();
    let mut events = Vec::new();
    for i in 0..SESSIONS {
        let [student, tutor] = keys(i);
        let id = U256::from(i);
        events.push(EscrowEvent::Opened {
            id,
            student_key: address(&student),
            rate: minuto_accrual::rate_per_second(36_000_000, 3600).unwrap(),
            deposit: 1_000_000_000,
            fee_bps: 500,
        });
        events.push(EscrowEvent::Started {
            id,
            tutor_key: address(&tutor),
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
    let dir = std::env::temp_dir().join(format!("minuto-http-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The bodies take ~20 MB per 100,000 heartbeats: removed even when a check fails.
    let _cleanup = RemoveOnDrop(dir.clone());
    let key = k256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let mut config = minuto_relayer::config::Config::with_defaults(
        "http://127.0.0.1:1".parse().unwrap(),
        escrow,
        chain_id,
        minuto_relayer::evm::RelayerKey::new(key),
    );
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.cursor_file = dir.join("cursor.json");
    config.confirmations = 0;
    config.silence_timeout = Duration::from_secs(600);
    config.grace_period = Duration::from_secs(600);
    // Signing takes a few seconds before the load starts.
    config.api.max_clock_skew = Duration::from_secs(600);
    (config.api.ip_rate_per_second, config.api.ip_burst) = (1e9, 1e9);
    (config.api.session_rate_per_second, config.api.session_burst) = (1e9, 1e9);
    let mut handle =
        minuto_relayer::spawn_with(config, Arc::new(SessionsChain { events }), Clock::system())
            .await
            .unwrap();
    handle.wait_synced().await;

    let signing = std::time::Instant::now();
    write_bodies(&dir, &domain, rounds, now);
    let total = rounds * SESSIONS * 2;
    eprintln!(
        "signed {total} heartbeats in {:.1} s",
        signing.elapsed().as_secs_f64()
    );
    std::fs::write(dir.join("load.lua"), SCRIPT).unwrap();

    let load_before = load_average();
    let url = format!("http://{}/v1/heartbeat", handle.local_addr);
    let wrk = std::process::Command::new("wrk")
        .args([
            "-t",
            &WRK_THREADS.to_string(),
            "-c",
            &connections.to_string(),
        ])
        .args(["-d", "600s", "--timeout", "10s", "-s"])
        .arg(dir.join("load.lua"))
        .arg(&url)
        .arg("--")
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("wrk starts");
    let wrk_stat = format!("/proc/{}/stat", wrk.id());
    // Measured from the first request the relayer answers to the last one: wrk's own
    // clock also counts loading its bodies, and it runs until its duration or SIGINT.
    let answered = || {
        let m = &handle.metrics;
        m.heartbeats_accepted.get() + m.heartbeats_rejected.with_label_values(&["replay"]).get()
    };
    while answered() == 0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (started, cpu_before, wrk_before) =
        (Instant::now(), cpu_seconds(SELF), cpu_seconds(&wrk_stat));
    let mut last = (answered(), Instant::now());
    while last.0 < total {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let n = answered();
        if n != last.0 {
            last = (n, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(5) {
            break;
        }
    }
    let (secs, cpu, wrk_cpu) = (
        started.elapsed().as_secs_f64(),
        cpu_seconds(SELF) - cpu_before,
        cpu_seconds(&wrk_stat) - wrk_before,
    );
    let answered = answered();
    let accepted = handle.metrics.heartbeats_accepted.get();
    // SIGINT ends wrk's run early, with its summary.
    let _ = std::process::Command::new("kill")
        .args(["-INT", &wrk.id().to_string()])
        .status();
    let out = wrk.wait_with_output().expect("wrk ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("WRK "))
        .unwrap_or_else(|| {
            panic!(
                "wrk printed no summary:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let f: Vec<u64> = line
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    let (p50, p99, max) = (f[0], f[1], f[2]);
    println!(
        "http (wrk in its own process, {connections} keep-alive connections, {SESSIONS} live \
         sessions): {accepted} of {answered} heartbeats accepted in {secs:.2} s = {:.0} verified \
         heartbeats/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms",
        accepted as f64 / secs,
        p50 as f64 / 1e3,
        p99 as f64 / 1e3,
        max as f64 / 1e3,
    );
    println!(
        "CPU per request: relayer {:.1} µs, wrk {:.1} µs; load average before {load_before}, \
         after {}",
        cpu * 1e6 / answered as f64,
        wrk_cpu * 1e6 / answered as f64,
        load_average(),
    );
    assert_eq!(accepted, total, "every heartbeat sent once and accepted");
    handle.shutdown().await.unwrap();
}

struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
