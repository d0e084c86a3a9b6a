//! API latency with many sessions stored: fills a fresh database with `SESSIONS` ended
//! sessions (default 1,000,000) through the store's own write path (`Store::write`, the
//! batches ingestion writes: `SessionOpened`, `SessionStarted`, `SessionEnded` each,
//! without a node), then times the real API (the router `spawn` serves) one request at a
//! time and prints p50, p99 and the slowest per endpoint. SQLite, then PostgreSQL when its
//! binaries are installed (a throw-away server from minuto-anvil's harness, fsync off).
//!
//! The data: 1,000 tutors, 20,000 students, two tokens, sessions one every ~32 s over a
//! year (5–60 minutes long; the student, the tutor or an allowed relayer stops them), so a
//! tutor has ~1,000 sessions on ~365 days and a student ~50.
//!
//! ```sh
//! cd relayer && cargo build --release -p minuto-indexer --example api_latency
//! target/release/examples/api_latency 1000000 [sqlite|postgres|both] [requests] [only]
//! ```
//!
//! `only`: time just the endpoints whose label contains it (`stats`: `GET /v1/stats`).

use std::time::{Duration, Instant};

use minuto_anvil::postgres::Postgres;
use minuto_chain::alloy::primitives::{Address, B256, U256};
use minuto_chain::follower::Located;
use minuto_indexer::events::{Fact, Indexed, Source};
use minuto_indexer::store::Batch;
use minuto_indexer::{api, NotifyConfig, Status, Store};
use tokio::net::TcpListener;
use tokio::sync::watch;

const TUTORS: u64 = 1_000;
const STUDENTS: u64 = 20_000;
/// 2029-01-01T00:00:00Z.
const DAY0: u64 = 1_861_920_000;
const YEAR: u64 = 365 * 86_400;
/// Sessions per database transaction.
const PER_BATCH: u64 = 2_000;

fn party(base: u8, i: u64) -> Address {
    let mut b = [0u8; 20];
    b[0] = base;
    b[12..].copy_from_slice(&i.to_be_bytes());
    Address::from(b)
}

fn relayer() -> Address {
    Address::repeat_byte(0x4e)
}

fn log(block: u64, log_index: u64, ts: u64, name: &'static str, fact: Fact) -> Located<Indexed> {
    Located {
        block,
        log_index,
        event: Indexed {
            block_hash: B256::from(U256::from(block)),
            tx_hash: B256::from(U256::from(block * 8 + log_index)),
            ts,
            source: Source::Escrow,
            name,
            fact: Some(fact),
        },
    }
}

/// Session `i` (from 1): block `i + 1`, three logs.
fn session(i: u64, n: u64) -> [Located<Indexed>; 3] {
    let id = i as i64;
    let (tutor, student) = (party(0x7a, i % TUTORS), party(0x5a, (i * 7_919) % STUDENTS));
    let token = party(0x70, i % 2);
    let opened = DAY0 + i * YEAR / n;
    let start = opened + 5;
    let seconds = 300 + (i * 37) % 3_300;
    let billed = U256::from(seconds * 10_000);
    let fee = billed * U256::from(250) / U256::from(10_000);
    let deposit = U256::from(50_000_000u64);
    let (by, end, settled) = match i % 10 {
        0 => (relayer(), start + seconds, start + seconds + 20),
        1 | 2 => (tutor, start + seconds, start + seconds),
        _ => (student, start + seconds, start + seconds),
    };
    let block = i + 1;
    [
        log(
            block,
            0,
            opened,
            "SessionOpened",
            Fact::Opened {
                id,
                student,
                tutor,
                token,
                rate: U256::from(10_000u64) * U256::from(10u64).pow(U256::from(18)),
                deposit,
                student_key: student,
                credential_kind: (i % 3) as u32,
                fee_bps: 250,
            },
        ),
        log(
            block,
            1,
            start,
            "SessionStarted",
            Fact::Started {
                id,
                tutor_key: tutor,
                start,
            },
        ),
        log(
            block,
            2,
            settled,
            "SessionEnded",
            Fact::Ended {
                id,
                by,
                end,
                billed,
                tutor_paid: billed - fee,
                fee,
                refund: deposit - billed,
            },
        ),
    ]
}

async fn fill(store: &Store, n: u64) {
    let t = Instant::now();
    let allow = log(
        1,
        0,
        DAY0 - 60,
        "RelayerUpdated",
        Fact::RelayerUpdated {
            relayer: relayer(),
            allowed: true,
        },
    );
    store
        .write(&Batch {
            events: vec![allow],
            ..Batch::default()
        })
        .await
        .unwrap();
    let mut i = 1;
    while i <= n {
        let last = (i + PER_BATCH - 1).min(n);
        let events = (i..=last).flat_map(|k| session(k, n)).collect();
        store
            .write(&Batch {
                events,
                ..Batch::default()
            })
            .await
            .unwrap();
        if last.is_multiple_of(100_000) || last == n {
            eprintln!(
                "  {last} sessions stored ({:.0} s)",
                t.elapsed().as_secs_f64()
            );
        }
        i = last + 1;
    }
    // Vacuumed and with the planner's statistics, as PostgreSQL's autovacuum keeps a
    // database that grew over a year (else it works on the new rows during the first
    // requests); SQLite keeps statistics only when asked.
    let upkeep = match store.backend() {
        minuto_indexer::store::Backend::Postgres => "VACUUM ANALYZE",
        minuto_indexer::store::Backend::Sqlite => "ANALYZE",
    };
    sqlx::query(upkeep).execute(store.pool()).await.unwrap();
    println!(
        "filled: {n} sessions ({} events) in {:.0} s, analyzed",
        n * 3 + 1,
        t.elapsed().as_secs_f64()
    );
}

/// A small deterministic generator (xorshift), so both databases get the same requests.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let at = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[at].as_secs_f64() * 1e3
}

async fn measure(name: &str, url: &str, n: u64, requests: u64, only: Option<&str>) {
    let store = Store::open(url).await.unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(store
        .claim_writer(
            now_ms,
            Duration::from_secs(3_600),
            &Status::default(),
            false
        )
        .await
        .unwrap());
    fill(&store, n).await;
    let (_tx, status) = watch::channel(Status::default());
    let app = api::App {
        store: store.clone(),
        writer: watch::channel(true).1,
        status,
        notify: NotifyConfig::default(),
        booking: None,
        chain_id: 31_337,
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, api::router(app, &[])).await.unwrap();
    });
    minuto_chain::install_tls();
    let http = reqwest::Client::new();
    let a = |x: Address| format!("{x:#x}");
    type Path = Box<dyn Fn(&mut Rng) -> String>;
    let endpoints: Vec<(&str, u64, Path)> = vec![
        (
            "GET /v1/sessions/{id}",
            requests,
            Box::new(move |r| format!("/v1/sessions/{}", 1 + r.below(n))),
        ),
        (
            "GET /v1/accounts/{student}/sessions?limit=50",
            requests,
            Box::new(move |r| {
                format!(
                    "/v1/accounts/{}/sessions?limit=50",
                    a(party(0x5a, r.below(STUDENTS)))
                )
            }),
        ),
        (
            "GET /v1/accounts/{tutor}/sessions?role=tutor&limit=50",
            requests,
            Box::new(move |r| {
                format!(
                    "/v1/accounts/{}/sessions?role=tutor&limit=50",
                    a(party(0x7a, r.below(TUTORS)))
                )
            }),
        ),
        (
            "GET /v1/tutors/{tutor}/earnings?period=day",
            requests,
            Box::new(move |r| {
                format!(
                    "/v1/tutors/{}/earnings?period=day",
                    a(party(0x7a, r.below(TUTORS)))
                )
            }),
        ),
        (
            "GET /v1/students/{student}/progress",
            requests,
            Box::new(move |r| {
                format!(
                    "/v1/students/{}/progress",
                    a(party(0x5a, r.below(STUDENTS)))
                )
            }),
        ),
        (
            "GET /v1/accounts/{tutor}/profile",
            requests,
            Box::new(move |r| format!("/v1/accounts/{}/profile", a(party(0x7a, r.below(TUTORS))))),
        ),
        (
            "GET /v1/stats",
            requests,
            Box::new(|_| "/v1/stats".to_string()),
        ),
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (label, count, path) in &endpoints {
        if only.is_some_and(|o| !label.contains(o)) {
            continue;
        }
        let mut took = Vec::with_capacity(*count as usize);
        let mut bytes = 0;
        for _ in 0..*count {
            let p = path(&mut rng);
            let t = Instant::now();
            let r = http.get(format!("http://{addr}{p}")).send().await.unwrap();
            assert_eq!(r.status(), 200, "{p}");
            bytes += r.bytes().await.unwrap().len();
            took.push(t.elapsed());
        }
        took.sort();
        println!(
            "{name}: {label}: {count} requests, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {} bytes on average",
            pct(&took, 0.50),
            pct(&took, 0.99),
            pct(&took, 1.0),
            bytes / *count as usize
        );
    }
    server.abort();
    store.close().await;
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args
        .next()
        .map(|s| s.parse().expect("sessions: a number"))
        .unwrap_or(1_000_000);
    let which = args.next().unwrap_or_else(|| "both".into());
    let requests: u64 = args
        .next()
        .map(|s| s.parse().expect("requests: a number"))
        .unwrap_or(500);
    let only = args.next();
    if which == "sqlite" || which == "both" {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("latency.sqlite").display().to_string();
        measure("sqlite", &url, n, requests, only.as_deref()).await;
    }
    if which == "postgres" || which == "both" {
        match minuto_anvil::postgres::find() {
            Some(bin) => {
                let pg = Postgres::start(&bin).await;
                measure(
                    "postgres",
                    &pg.url("postgres"),
                    n,
                    requests,
                    only.as_deref(),
                )
                .await;
            }
            None => println!("postgres: skipped (no binaries; set POSTGRES_BIN_DIR)"),
        }
    }
}
