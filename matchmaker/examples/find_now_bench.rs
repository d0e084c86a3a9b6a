//! Load benchmark: N tutors online, N students searching at once, tutors auto-accepting.
//!
//! ```sh
//! cargo run --release --example find_now_bench -p minuto-matchmaker -- 1000
//! ```
//!
//! The matchmaker runs in a child process of its own (this binary with `serve`), so the
//! resident memory measured is the server's alone; the clients (real WebSockets, real
//! SIWE sign-ins, real EIP-712 acceptances) run in this process. Chain reads are answered
//! from memory: the numbers are the matchmaker's own cost, not a node's.
//! Prints sign-in rate, resident memory per online tutor, matches per second, and time
//! from `find` to `matched` (p50/p99).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use alloy_primitives::{Address, U256};
use minuto_chain::alloy::signers::local::PrivateKeySigner;
use minuto_matchmaker::auth::AuthConfig;
use minuto_matchmaker::chain::{ChainError, ChainView, Funds};
use minuto_matchmaker::client::{self, Client};
use minuto_matchmaker::hub::HubConfig;
use minuto_matchmaker::rooms::KeyedRooms;
use minuto_matchmaker::{spawn, Settings, Terms};
use serde_json::{json, Value};
use url::Url;

const DOMAIN: &str = "bench.minuto.test";
const CHAIN_ID: u64 = 31_337;
const ESCROW: Address = Address::repeat_byte(0xe5);
const TOKEN: Address = Address::repeat_byte(0xee);

struct MemChain;

impl ChainView for MemChain {
    async fn has_valid(&self, _: Address, _: u32) -> Result<bool, ChainError> {
        Ok(true)
    }
    async fn funds(&self, _: Address, _: Address) -> Result<Funds, ChainError> {
        Ok(Funds {
            balance: U256::MAX,
            allowance: U256::MAX,
        })
    }
    async fn fee_bps(&self) -> Result<u16, ChainError> {
        Ok(250)
    }
    async fn nonce_used(&self, _: Address, _: U256) -> Result<bool, ChainError> {
        Ok(false)
    }
}

async fn serve() {
    let settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        admin_listen: "127.0.0.1:0".parse().unwrap(),
        hub: HubConfig {
            pool: minuto_matchmaker::Config::default(),
            chain_id: CHAIN_ID,
            escrow: ESCROW,
            min_acceptance_validity: Duration::from_secs(120),
            max_acceptance_validity: Duration::from_secs(3_600),
            credential_refresh: Duration::from_secs(20),
            outbox: 64,
        },
        auth: AuthConfig {
            domain: DOMAIN.into(),
            chain_id: CHAIN_ID,
            nonce_ttl: Duration::from_secs(300),
            session_ttl: Duration::from_secs(3_600),
            capacity: 100_000,
            secret: [5; 32],
        },
        allowed_origins: vec![],
        max_connections: 100_000,
        messages_per_second: 100,
        rooms: Box::new(KeyedRooms::new([3; 32], 3_600)),
        follow: None,
        cluster_url: None,
    };
    let h = spawn(settings, MemChain).await.unwrap();
    println!("{}", h.local_addr);
    std::future::pending::<()>().await;
}

/// The server process, killed when the bench ends however it ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

async fn sign_in(http: &reqwest::Client, base: &Url, key: &PrivateKeySigner) -> Client {
    let token = client::sign_in(http, base, key, DOMAIN, CHAIN_ID)
        .await
        .unwrap();
    Client::connect(base, &token).await.unwrap()
}

/// The next message; `Null` once the socket is gone (the server was stopped).
async fn recv(c: &mut Client) -> Value {
    c.recv(Duration::from_secs(60)).await.unwrap_or(Value::Null)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("serve") {
        return serve().await;
    }
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1_000);
    let mut child = Server(
        Command::new(std::env::current_exe().unwrap())
            .arg("serve")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base: Url = format!("http://{}", line.trim()).parse().unwrap();
    let pid = child.0.id();
    minuto_chain::install_tls();
    let http = reqwest::Client::new();
    let rss_idle = rss_kib(pid);

    // Sign in everyone (batches of 100 in flight).
    let t = Instant::now();
    let tutor_keys: Vec<PrivateKeySigner> = (0..n).map(|_| PrivateKeySigner::random()).collect();
    let student_keys: Vec<PrivateKeySigner> = (0..n).map(|_| PrivateKeySigner::random()).collect();
    let mut tutors = Vec::with_capacity(n);
    for chunk in tutor_keys.chunks(100) {
        let f = chunk.iter().map(|k| sign_in(&http, &base, k));
        tutors.extend(futures_util::future::join_all(f).await);
    }
    let mut students = Vec::with_capacity(n);
    for chunk in student_keys.chunks(100) {
        let f = chunk.iter().map(|k| sign_in(&http, &base, k));
        students.extend(futures_util::future::join_all(f).await);
    }
    let sign_in_rate = (2 * n) as f64 / t.elapsed().as_secs_f64();
    let rss_connected = rss_kib(pid);

    // Tutors online; each then auto-accepts whatever it is proposed.
    let profile = json!({
        "languages": ["es"], "levels": ["B1"], "token": TOKEN,
        "rate": U256::from(1_000u64), "credentials": BTreeSet::<u32>::new(),
    });
    for c in &mut tutors {
        c.send(json!({ "type": "online", "profile": profile }))
            .await
            .unwrap();
        assert_eq!(recv(c).await["type"], "online");
    }
    let rss_online = rss_kib(pid);
    let expiry = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1_800;
    for (i, (mut c, key)) in tutors.into_iter().zip(tutor_keys).enumerate() {
        tokio::spawn(async move {
            loop {
                let v = recv(&mut c).await;
                if v.is_null() || v["type"] == "closed" {
                    return;
                }
                if v["type"] != "proposed" {
                    continue;
                }
                let terms: Terms = serde_json::from_value(v["terms"].clone()).unwrap();
                let a = client::sign_acceptance(
                    &key,
                    CHAIN_ID,
                    ESCROW,
                    &terms,
                    key.address(),
                    300,
                    U256::from(i),
                    expiry,
                );
                let accept =
                    json!({ "type": "accept", "proposal": v["proposal"], "acceptance": a });
                if c.send(accept).await.is_err() {
                    return;
                }
            }
        });
    }

    // Every student searches at once.
    let request = json!({
        "language": "es", "level": "B1", "token": TOKEN,
        "max_rate": U256::from(1_000u64), "credential": null, "cap": U256::from(1_000_000u64),
    });
    let start = Instant::now();
    let mut waits = Vec::with_capacity(n);
    for mut c in students {
        let request = request.clone();
        waits.push(tokio::spawn(async move {
            let t = Instant::now();
            c.send(json!({ "type": "find", "request": request }))
                .await
                .unwrap();
            loop {
                let v = recv(&mut c).await;
                match v["type"].as_str() {
                    Some("matched") => return Some(t.elapsed()),
                    Some("no_match" | "closed") | None => return None,
                    _ => {}
                }
            }
        }));
    }
    let mut times = Vec::with_capacity(n);
    for w in waits {
        if let Some(d) = w.await.unwrap() {
            times.push(d);
        }
    }
    let total = start.elapsed();
    times.sort();
    drop(child);
    println!("matchmaker bench: {n} tutors, {n} students, 2 cores, chain reads from memory");
    println!("  sign-ins (SIWE + WebSocket hello): {sign_in_rate:.0}/s");
    println!(
        "  resident memory: {} KiB idle, {} KiB with {} sockets, {} KiB with {n} tutors online",
        rss_idle,
        rss_connected,
        2 * n,
        rss_online
    );
    println!(
        "  memory per connected client: {:.1} KiB; per online tutor (profile, pool entry): {:.2} KiB",
        rss_connected.saturating_sub(rss_idle) as f64 / (2 * n) as f64,
        rss_online.saturating_sub(rss_connected) as f64 / n as f64
    );
    println!(
        "  matched {} of {n} in {:.2} s: {:.0} matches/s",
        times.len(),
        total.as_secs_f64(),
        times.len() as f64 / total.as_secs_f64()
    );
    if !times.is_empty() {
        println!(
            "  find → matched: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3
        );
    }
}
