//! Black-box tests of the HTTP API over real sockets: the relayer's own `spawn_with` on
//! port 0, a fake chain feeding it escrow events. Every refusal path has a test that
//! checks the status, the stable error code and the rejection metric.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy_primitives::{Address, B256, U256};
use k256::ecdsa::SigningKey;
use minuto_relayer::chain::{Chain, ChainError, Head, StopOutcome};
use minuto_relayer::clock::Clock;
use minuto_relayer::config::{Config, ForwardedHeader};
use minuto_relayer::escrow::{EscrowEvent, EscrowLog};
use minuto_relayer::evm::RelayerKey;
use minuto_relayer::heartbeat::{address_of, HeartbeatDomain, Role};
use minuto_relayer::{spawn_with, Handle};
use serde_json::{json, Value};

const CHAIN_ID: u64 = 31337;
/// The fake escrow's `maxBackdate()`, seconds.
const MAX_BACKDATE: u64 = 300;

fn escrow() -> Address {
    Address::repeat_byte(0xe5)
}

struct FakeChain {
    events: Mutex<Vec<EscrowLog>>,
    down: std::sync::atomic::AtomicBool,
    removed: std::sync::atomic::AtomicBool,
}

impl Chain for FakeChain {
    async fn head(&self) -> Result<Head, ChainError> {
        if self.down.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(ChainError::Unexpected("node down".into()));
        }
        let now = Clock::system().now_unix();
        let number = self
            .events
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.block)
            .max()
            .unwrap_or(1);
        Ok(Head {
            number,
            timestamp: now,
        })
    }
    async fn logs(&self, from: u64, to: u64) -> Result<Vec<EscrowLog>, ChainError> {
        Ok(self
            .events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| (from..=to).contains(&e.block))
            .cloned()
            .collect())
    }
    async fn max_backdate(&self) -> Result<u64, ChainError> {
        Ok(MAX_BACKDATE)
    }
    async fn stop_at(&self, _id: U256, at: u64, _: u8) -> Result<StopOutcome, ChainError> {
        Ok(StopOutcome::Stopped { tx: B256::ZERO, at })
    }
    async fn is_relayer(&self) -> Result<bool, ChainError> {
        Ok(!self.removed.load(std::sync::atomic::Ordering::Relaxed))
    }
}

struct Rig {
    chain: Arc<FakeChain>,
    handle: Handle,
    base: String,
    admin: String,
    http: reqwest::Client,
    domain: HeartbeatDomain,
    student: SigningKey,
    tutor: SigningKey,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn key(b: u8) -> SigningKey {
    SigningKey::from_slice(&[b; 32]).unwrap()
}

fn now() -> u64 {
    Clock::system().now_unix()
}

/// Sessions: 1 Active (1 unit/s, 100,000 deposit), 2 Open only, 3 ended, 4 Active with
/// 500 s of runway left.
async fn rig(tweak: impl FnOnce(&mut Config)) -> Rig {
    let student = key(0x51);
    let tutor = key(0x52);
    let start = now();
    let opened = |id: u64, deposit: u128| EscrowEvent::Opened {
        id: U256::from(id),
        student_key: address_of(&student),
        rate: minuto_accrual::RATE_SCALE,
        deposit,
        fee_bps: 1_000,
    };
    let started = |id: u64, start: u64| EscrowEvent::Started {
        id: U256::from(id),
        tutor_key: address_of(&tutor),
        start,
    };
    let events = vec![
        opened(1, 100_000),
        started(1, start),
        opened(2, 100_000),
        opened(3, 100_000),
        started(3, start),
        EscrowEvent::Ended {
            id: U256::from(3),
            end: start,
        },
        opened(4, 1_000),
        started(4, start - 500),
    ];
    let events = events
        .into_iter()
        .enumerate()
        .map(|(i, event)| EscrowLog {
            block: 1,
            log_index: i as u64,
            event,
        })
        .collect();
    let dir = std::env::temp_dir().join(format!(
        "minuto-http-{}-{}",
        std::process::id(),
        start.wrapping_mul(1000) + u64::from(rand_byte())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = Config::with_defaults(
        "http://127.0.0.1:1".parse().unwrap(),
        escrow(),
        CHAIN_ID,
        RelayerKey::new(key(0x77)),
    );
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.cursor_file = dir.join("cursor.json");
    config.confirmations = 0;
    config.poll_interval = Duration::from_millis(50);
    // Long enough that nothing is stopped during a test.
    config.silence_timeout = Duration::from_secs(600);
    config.grace_period = Duration::from_secs(600);
    tweak(&mut config);
    let chain = Arc::new(FakeChain {
        events: Mutex::new(events),
        down: std::sync::atomic::AtomicBool::new(false),
        removed: std::sync::atomic::AtomicBool::new(false),
    });
    let mut handle = spawn_with(config, chain.clone(), Clock::system())
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), handle.wait_synced())
        .await
        .unwrap();
    Rig {
        chain,
        base: format!("http://{}", handle.local_addr),
        admin: format!("http://{}", handle.admin_addr),
        handle,
        http: reqwest::Client::new(),
        domain: HeartbeatDomain::new(CHAIN_ID, escrow()),
        student,
        tutor,
        _dir: TempDir(dir),
    }
}

fn rand_byte() -> u8 {
    use std::sync::atomic::{AtomicU8, Ordering};
    static N: AtomicU8 = AtomicU8::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

impl Rig {
    fn body(&self, key: &SigningKey, session: u64, role: Role, seq: u64, sent_at: u64) -> Value {
        let sig = self
            .domain
            .sign(key, U256::from(session), role, seq, sent_at);
        json!({
            "session": session.to_string(),
            "role": role.as_str(),
            "seq": seq,
            "sent_at": sent_at,
            "signature": format!("0x{}", alloy_primitives::hex::encode(sig)),
        })
    }

    async fn post_raw(&self, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/v1/heartbeat", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, body: &Value) -> (u16, Value) {
        self.post_raw(body.to_string()).await
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// A GET on the admin listener.
    async fn admin_get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.admin))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// A heartbeat sent through a proxy at 127.0.0.1 that names the client.
    /// Posts `body` with the headers a proxy (or a client) wrote: (name, value) pairs.
    async fn post_forwarded(&self, body: &Value, headers: &[(&str, &str)]) -> (u16, Value) {
        let mut request = self.http.post(format!("{}/v1/heartbeat", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let r = request.json(body).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    fn rejected(&self, code: &str) -> u64 {
        self.handle
            .metrics
            .heartbeats_rejected
            .with_label_values(&[code])
            .get()
    }

    async fn expect_refusal(&self, body: impl Into<reqwest::Body>, status: u16, code: &str) {
        let before = self.rejected(code);
        let (s, v) = self.post_raw(body).await;
        assert_eq!(s, status, "{v}");
        assert_eq!(v["error"], code, "{v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
        assert_eq!(self.rejected(code), before + 1);
    }
}

#[tokio::test]
async fn heartbeat_accepted_replies_with_billing_from_accrual_math() {
    let rig = rig(|_| {}).await;
    let t = now();
    let (s, v) = rig
        .post(&rig.body(&rig.student, 1, Role::Student, 1, t))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["session"], "1");
    assert_eq!(v["role"], "student");
    assert_eq!(v["seq"], 1);
    assert_eq!(v["deposited"], "100000");
    assert_eq!(v["low_funds"], "none");
    assert_eq!(v["silence_timeout_seconds"], 600);
    let billed: u128 = v["billed"].as_str().unwrap().parse().unwrap();
    let runway = v["runway_seconds"].as_u64().unwrap();
    // 1 unit/s since start (a second or two ago): billed + runway == deposit.
    assert!(billed <= 3, "{v}");
    assert_eq!(u128::from(runway) + billed, 100_000);
    // Like the escrow, withdrawable counts only what was earned by now − maxBackdate:
    // nothing yet, a second or two into the session.
    assert_eq!(v["withdrawable"], "0", "{v}");
    let (s, v) = rig.post(&rig.body(&rig.tutor, 1, Role::Tutor, 1, t)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(rig.handle.metrics.heartbeats_accepted.get(), 2);

    let (s, text) = rig.admin_get("/v1/sessions/1").await;
    assert_eq!(s, 200);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["phase"], "active");
    assert_eq!(v["last_seen"]["student"]["seq"], 1);
    assert_eq!(v["last_seen"]["tutor"]["seq"], 1);
    rig.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn heartbeat_low_funds_warns_below_ten_minutes() {
    let rig = rig(|_| {}).await;
    let (s, v) = rig
        .post(&rig.body(&rig.student, 4, Role::Student, 1, now()))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["low_funds"], "warn10m");
    let runway = v["runway_seconds"].as_u64().unwrap();
    assert!((498..=500).contains(&runway), "{v}");
    // Started 500 s ago at 1 unit/s: billed ≈ 500, but withdrawable is what was earned
    // by now − 300 s (≈ 200 billed, less the 10 % fee), as the escrow's `withdrawable`.
    let billed: u64 = v["billed"].as_str().unwrap().parse().unwrap();
    let withdrawable: u64 = v["withdrawable"].as_str().unwrap().parse().unwrap();
    assert!((500..=502).contains(&billed), "{v}");
    let through = billed - MAX_BACKDATE;
    assert_eq!(withdrawable, through - through / 10, "{v}");
    rig.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn heartbeat_rejects_malformed_bodies() {
    let rig = rig(|_| {}).await;
    rig.expect_refusal("{not json", 400, "malformed").await;
    rig.expect_refusal(r#"{"session":1}"#, 400, "malformed")
        .await;
    let mut b = rig.body(&rig.student, 1, Role::Student, 1, now());
    b["role"] = json!("teacher");
    rig.expect_refusal(b.to_string(), 400, "malformed").await;
    let mut b = rig.body(&rig.student, 1, Role::Student, 1, now());
    b["signature"] = json!("0x1234");
    rig.expect_refusal(b.to_string(), 400, "malformed").await;
    rig.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn heartbeat_rejects_oversized_body() {
    let rig = rig(|_| {}).await;
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(4096));
    rig.expect_refusal(big, 413, "payload_too_large").await;
    rig.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn heartbeat_rejects_unknown_ended_and_unstarted_sessions() {
    let rig = rig(|_| {}).await;
    let t = now();
    rig.expect_refusal(
        rig.body(&rig.student, 99, Role::Student, 1, t).to_string(),
        404,
        "unknown_session",
    )
    .await;
    rig.expect_refusal(
        rig.body(&rig.student, 3, Role::Student, 1, t).to_string(),
        409,
        "session_ended",
    )
    .await;
    rig.expect_refusal(
        rig.body(&rig.student, 2, Role::Student, 1, t).to_string(),
        409,
        "session_not_active",
    )
    .await;
    let (s, _) = rig.admin_get("/v1/sessions/99").await;
    assert_eq!(s, 404);
    let (s, _) = rig.admin_get("/v1/sessions/3").await;
    assert_eq!(s, 409);
    rig.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn heartbeat_rejects_wrong_key_and_invalid_signature() {
    let rig = rig(|_| {}).await;
    let t = now();
    // The tutor's key signing as the student.
    rig.expect_refusal(
        rig.body(&rig.tutor, 1, Role::Student, 1, t).to_string(),
        401,
        "wrong_key",
    )
    .await;
    // A stranger's key.
    rig.expect_refusal(
        rig.body(&key(0x99), 1, Role::Tutor, 1, t).to_string(),
        401,
        "wrong_key",
    )
    .await;
    // Signed for seq 1, sent as seq 2: recovers to some other address.
    let mut b = rig.body(&rig.student, 1, Role::Student, 1, t);
    b["seq"] = json!(2);
    rig.expect_refusal(b.to_string(), 401, "wrong_key").await;
    // r = s = 0 is not a signature at all.
    let mut b = rig.body(&rig.student, 1, Role::Student, 1, t);
    b["signature"] = json!(format!("0x{}1b", "00".repeat(64)));
    rig.expect_refusal(b.to_string(), 401, "bad_signature")
        .await;
    rig.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn heartbeat_after_the_key_is_known_is_still_checked_against_it() {
    // The first accepted heartbeat of a role keeps its public key; later ones are
    // verified against it, and anything else gets the same answers as before.
    let rig = rig(|_| {}).await;
    let t = now();
    let (s, v) = rig
        .post(&rig.body(&rig.student, 1, Role::Student, 1, t))
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = rig
        .post(&rig.body(&rig.student, 1, Role::Student, 2, t))
        .await;
    assert_eq!((s, v["seq"].clone()), (200, json!(2)), "{v}");
    // The tutor's key signing as the student: refused, naming the tutor's address.
    let (s, v) = rig
        .post(&rig.body(&rig.tutor, 1, Role::Student, 3, t))
        .await;
    assert_eq!((s, v["error"].clone()), (401, json!("wrong_key")), "{v}");
    let tutor = address_of(&rig.tutor);
    assert_eq!(
        v["message"],
        json!(format!(
            "signed by {tutor}, not by the student key registered on chain"
        ))
    );
    // Signed for seq 3, sent as seq 4.
    let mut b = rig.body(&rig.student, 1, Role::Student, 3, t);
    b["seq"] = json!(4);
    rig.expect_refusal(b.to_string(), 401, "wrong_key").await;
    let mut b = rig.body(&rig.student, 1, Role::Student, 3, t);
    b["signature"] = json!(format!("0x{}1b", "00".repeat(64)));
    rig.expect_refusal(b.to_string(), 401, "bad_signature")
        .await;
    let (s, v) = rig
        .post(&rig.body(&rig.student, 1, Role::Student, 3, t))
        .await;
    assert_eq!((s, v["seq"].clone()), (200, json!(3)), "{v}");
    rig.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn heartbeat_rejects_replayed_and_stale_seq() {
    let rig = rig(|_| {}).await;
    let t = now();
    let first = rig.body(&rig.student, 1, Role::Student, 5, t);
    assert_eq!(rig.post(&first).await.0, 200);
    rig.expect_refusal(first.to_string(), 409, "replay").await;
    rig.expect_refusal(
        rig.body(&rig.student, 1, Role::Student, 4, t).to_string(),
        409,
        "replay",
    )
    .await;
    // Sequences are per role: the tutor starts at 1.
    assert_eq!(
        rig.post(&rig.body(&rig.tutor, 1, Role::Tutor, 1, t))
            .await
            .0,
        200
    );
    rig.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn heartbeat_rejects_skewed_clocks() {
    let rig = rig(|_| {}).await;
    let t = now();
    rig.expect_refusal(
        rig.body(&rig.student, 1, Role::Student, 1, t + 120)
            .to_string(),
        422,
        "clock_skew",
    )
    .await;
    rig.expect_refusal(
        rig.body(&rig.student, 1, Role::Student, 2, t - 120)
            .to_string(),
        422,
        "clock_skew",
    )
    .await;
    // Within 30 s is fine.
    assert_eq!(
        rig.post(&rig.body(&rig.student, 1, Role::Student, 3, t - 20))
            .await
            .0,
        200
    );
    rig.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn heartbeat_floods_are_limited_per_session_and_role() {
    let rig = rig(|c| {
        c.api.session_rate_per_second = 0.01;
        c.api.session_burst = 3.0;
    })
    .await;
    let t = now();
    for seq in 1..=3 {
        assert_eq!(
            rig.post(&rig.body(&rig.student, 1, Role::Student, seq, t))
                .await
                .0,
            200
        );
    }
    rig.expect_refusal(
        rig.body(&rig.student, 1, Role::Student, 4, t).to_string(),
        429,
        "rate_limited_session",
    )
    .await;
    // The student's flood spent only the student's allowance: the tutor of the same
    // session is still heard (before, one bucket per session let either party get the
    // other stopped).
    for seq in 1..=3 {
        let (s, v) = rig
            .post(&rig.body(&rig.tutor, 1, Role::Tutor, seq, t))
            .await;
        assert_eq!(s, 200, "{v}");
    }
    // Another session is not affected.
    assert_eq!(
        rig.post(&rig.body(&rig.student, 4, Role::Student, 1, t))
            .await
            .0,
        200
    );
    rig.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn heartbeat_huge_seq_does_not_lock_the_role_out() {
    let rig = rig(|_| {}).await;
    let t = now() - 5;
    // A buggy (or compromised) client signs seq = u64::MAX.
    let (s, v) = rig
        .post(&rig.body(&rig.student, 1, Role::Student, u64::MAX, t))
        .await;
    assert_eq!(s, 200, "{v}");
    // Same second: still a replay.
    rig.expect_refusal(
        rig.body(&rig.student, 1, Role::Student, 1, t).to_string(),
        409,
        "replay",
    )
    .await;
    // A later sent_at is newer whatever its seq: the role is not locked out for good.
    let (s, v) = rig
        .post(&rig.body(&rig.student, 1, Role::Student, 1, t + 1))
        .await;
    assert_eq!(s, 200, "{v}");
    rig.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn per_client_limit_keys_on_the_forwarded_address_only_behind_trusted_proxies() {
    let limit = |c: &mut Config| {
        c.api.ip_rate_per_second = 0.01;
        c.api.ip_burst = 1.0;
    };
    // Behind a trusted proxy (127.0.0.1) writing X-Forwarded-For (the default), two
    // clients have two buckets.
    let rig = rig(|c| {
        limit(c);
        c.http.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let t = now();
    let hb = |seq| rig.body(&rig.student, 1, Role::Student, seq, t);
    let xff = |client| [("x-forwarded-for", client)];
    let (s, v) = rig.post_forwarded(&hb(1), &xff("198.51.100.1")).await;
    assert_eq!(s, 200, "{v}");
    let limited = |(s, v): (u16, Value)| {
        assert_eq!(
            (s, v["error"].as_str()),
            (429, Some("rate_limited_ip")),
            "{v}"
        )
    };
    limited(rig.post_forwarded(&hb(2), &xff("198.51.100.1")).await);
    // A `Forwarded` header is the client's own word when the proxy writes only
    // X-Forwarded-For (nginx passes it on as it came): it buys no fresh bucket.
    let spoof = [
        ("forwarded", "for=203.0.113.50"),
        ("x-forwarded-for", "198.51.100.1"),
    ];
    limited(rig.post_forwarded(&hb(2), &spoof).await);
    // A second client behind the same proxy is not in the first one's bucket.
    let (s, v) = rig
        .post_forwarded(&hb(3), &xff("6.6.6.6, 198.51.100.2"))
        .await;
    assert_eq!(s, 200, "{v}");

    // A proxy that wrote no X-Forwarded-For: its clients share its bucket, and the
    // metric an operator alerts on says so.
    let missing = || rig.handle.metrics.forwarded_header_missing.get();
    assert_eq!(missing(), 0);
    let (s, v) = rig
        .post_forwarded(&hb(4), &[("forwarded", "for=6.6.6.7")])
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(missing(), 1);
    limited(rig.post_forwarded(&hb(5), &[]).await);
    assert_eq!(missing(), 2);
    rig.post_forwarded(&hb(5), &xff("198.51.100.3")).await;
    assert_eq!(missing(), 2);
    rig.handle.shutdown().await.unwrap();

    // A proxy configured to write RFC 7239 `Forwarded`: that header alone names the
    // client, and an X-Forwarded-For beside it is the client's word.
    let rig = crate::rig(|c| {
        limit(c);
        c.http.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        c.http.forwarded_header = ForwardedHeader::Forwarded;
    })
    .await;
    let hb = |seq| rig.body(&rig.student, 1, Role::Student, seq, t);
    let v6 = [("forwarded", "for=\"[2001:db8::7]:4711\"")];
    let (s, v) = rig.post_forwarded(&hb(1), &v6).await;
    assert_eq!(s, 200, "{v}");
    limited(rig.post_forwarded(&hb(2), &v6).await);
    let spoof = [
        ("forwarded", "for=\"[2001:db8::7]:4711\""),
        ("x-forwarded-for", "203.0.113.50"),
    ];
    limited(rig.post_forwarded(&hb(2), &spoof).await);
    let (s, v) = rig
        .post_forwarded(&hb(3), &[("forwarded", "for=198.51.100.2")])
        .await;
    assert_eq!(s, 200, "{v}");
    rig.handle.shutdown().await.unwrap();

    // Without trusted proxies the header is the client's word: ignored, and both
    // requests share the peer's bucket.
    let rig = crate::rig(limit).await;
    let hb = |seq| rig.body(&rig.student, 1, Role::Student, seq, t);
    let (s, v) = rig
        .post_forwarded(&hb(1), &[("x-forwarded-for", "198.51.100.1")])
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = rig
        .post_forwarded(&hb(2), &[("x-forwarded-for", "198.51.100.2")])
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (429, Some("rate_limited_ip")),
        "{v}"
    );
    rig.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn cors_preflight_is_answered_for_allowed_origins() {
    let preflight = |rig: &Rig, origin: &'static str| {
        rig.http
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/v1/heartbeat", rig.base),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    // Default: any origin (heartbeats carry their own signature, no cookies).
    let rig = rig(|_| {}).await;
    let r = preflight(&rig, "https://app.example").await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(r.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    rig.handle.shutdown().await.unwrap();

    let rig = crate::rig(|c| {
        c.http.cors_allowed_origins =
            minuto_relayer::config::CorsOrigins::List(vec!["https://app.example".parse().unwrap()]);
    })
    .await;
    let r = preflight(&rig, "https://app.example").await.unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let r = preflight(&rig, "https://evil.example").await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    rig.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn admin_endpoints_are_off_the_public_listener_and_want_the_token() {
    let token = "an-admin-token-of-some-length";
    let rig = rig(|c| {
        c.http.admin_token = Some(minuto_relayer::config::AdminToken::new(token.into()));
    })
    .await;
    for path in ["/metrics", "/v1/sessions/1"] {
        assert_eq!(rig.get(path).await.0, 404, "{path} on the public listener");
        let (s, text) = rig.admin_get(path).await;
        assert_eq!(s, 401, "{text}");
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap()["error"],
            "unauthorized"
        );
        let r = rig
            .http
            .get(format!("{}{path}", rig.admin))
            .bearer_auth("wrong-token-of-the-same-size!")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
        let r = rig
            .http
            .get(format!("{}{path}", rig.admin))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
    }
    // Probes need no token, on either listener.
    assert_eq!(rig.admin_get("/healthz").await.0, 200);
    assert_eq!(rig.get("/readyz").await.0, 200);
    rig.handle.shutdown().await.unwrap();
}

/// Sends `request` on a new connection to the public listener, reads what comes back,
/// and says whether the server then closed the connection within 10 s.
async fn closed_after(rig: &Rig, request: &[u8], expect_response: bool) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(rig.handle.local_addr)
        .await
        .unwrap();
    conn.write_all(request).await.unwrap();
    let mut buf = [0u8; 4096];
    if expect_response {
        assert!(conn.read(&mut buf).await.unwrap() > 0);
    }
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    read.is_ok()
}

#[tokio::test]
async fn slow_and_idle_connections_are_closed_after_the_header_timeout() {
    let rig = rig(|c| {
        c.http.header_read_timeout = Duration::from_millis(500);
    })
    .await;
    // Half a request line, then nothing (slow loris): hung up (with or without a 408).
    assert!(
        closed_after(&rig, b"POST /v1/heartbeat HTTP/1.1\r\nHost: x\r\n", false).await,
        "slow connection still open after the header timeout"
    );
    // An idle keep-alive connection is closed too, which is why the config wants the
    // header timeout above the clients' ping interval.
    assert!(
        closed_after(&rig, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", true).await,
        "idle keep-alive connection still open after the header timeout"
    );
    rig.handle.shutdown().await.unwrap();
}

/// Reads one HTTP/1.1 response (status line, headers, `Content-Length` body) from `conn`.
async fn read_response(
    conn: &mut (impl tokio::io::AsyncRead + Unpin),
) -> (String, Vec<String>, String) {
    use tokio::io::AsyncReadExt;
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8(raw[..end].to_vec()).unwrap();
            let mut lines = head.split("\r\n").map(str::to_owned);
            let status = lines.next().unwrap();
            let headers: Vec<String> = lines.map(|l| l.to_ascii_lowercase()).collect();
            let len: usize = headers
                .iter()
                .find_map(|h| h.strip_prefix("content-length: "))
                .map_or(0, |v| v.parse().unwrap());
            if raw.len() >= end + 4 + len {
                let body = String::from_utf8(raw[end + 4..end + 4 + len].to_vec()).unwrap();
                return (status, headers, body);
            }
        }
        let n = conn.read(&mut buf).await.unwrap();
        assert!(
            n > 0,
            "closed mid-response: {:?}",
            String::from_utf8_lossy(&raw)
        );
        raw.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test]
async fn a_body_trickled_past_the_request_timeout_gets_408_request_timeout() {
    use tokio::io::AsyncWriteExt;
    let rig = rig(|c| {
        c.http.request_timeout = Duration::from_millis(500);
    })
    .await;
    // A heartbeat sent whole is served well within the bound.
    let t = now();
    let (status, v) = rig
        .post(&rig.body(&rig.student, 1, Role::Student, 1, t))
        .await;
    assert_eq!(status, 200, "{v}");

    // The headers at once, then the body one byte every 100 ms: 3 s for 30 bytes.
    let mut conn = tokio::net::TcpStream::connect(rig.handle.local_addr)
        .await
        .unwrap();
    conn.write_all(
        b"POST /v1/heartbeat HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 30\r\n\r\n",
    )
    .await
    .unwrap();
    let (mut read, mut write) = conn.into_split();
    let trickle = tokio::spawn(async move {
        for _ in 0..30 {
            if write.write_all(b" ").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let started = std::time::Instant::now();
    let (status, headers, body) =
        tokio::time::timeout(Duration::from_secs(5), read_response(&mut read))
            .await
            .expect("no answer while the body trickles");
    let waited = started.elapsed();
    assert_eq!(status, "HTTP/1.1 408 Request Timeout");
    assert!(
        headers
            .iter()
            .any(|h| h == "content-type: application/json"),
        "{headers:?}"
    );
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v,
        json!({ "error": "request_timeout", "message": "request not completed in time" })
    );
    // Answered at the bound, long before the body could have been complete.
    assert!(
        waited >= Duration::from_millis(350) && waited < Duration::from_millis(2_000),
        "answered after {waited:?}"
    );
    trickle.abort();
    rig.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn connections_above_the_limit_are_refused_at_once_with_503() {
    use tokio::io::AsyncWriteExt;
    let rig = rig(|c| {
        c.http.max_connections = 2;
        c.http.header_read_timeout = Duration::from_secs(30);
    })
    .await;
    // Two idle connections hold both slots.
    let mut idle = Vec::new();
    for _ in 0..2 {
        let mut c = tokio::net::TcpStream::connect(rig.handle.local_addr)
            .await
            .unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
        idle.push(c);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A third is answered, not left waiting: through a client library...
    let started = std::time::Instant::now();
    let refused = reqwest::Client::new()
        .get(format!("{}/healthz", rig.base))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(refused.status().as_u16(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(refused.headers()["content-type"], "application/json");
    let expected = json!({ "error": "too_many_connections", "message": "connection limit reached; retry shortly" });
    assert_eq!(refused.json::<Value>().await.unwrap(), expected);
    // ...on a raw socket, after its request; then the connection is closed.
    let mut raw = tokio::net::TcpStream::connect(rig.handle.local_addr)
        .await
        .unwrap();
    raw.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (status, _, body) = tokio::time::timeout(Duration::from_secs(1), read_response(&mut raw))
        .await
        .expect("no answer within 1 s");
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), expected);
    assert!(
        closed_after_answer(&mut raw).await,
        "refused connection left open"
    );
    // One slot frees: the next client is served.
    drop(idle.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = reqwest::Client::new()
        .get(format!("{}/healthz", rig.base))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    drop(idle);
    rig.handle.shutdown().await.unwrap();
}

/// Whether the peer closes `conn` within 2 s (EOF or reset), discarding what it sends.
async fn closed_after_answer(conn: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 256];
    tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn heartbeat_floods_are_limited_per_ip() {
    let rig = rig(|c| {
        c.api.ip_rate_per_second = 0.01;
        c.api.ip_burst = 2.0;
    })
    .await;
    let t = now();
    assert_eq!(
        rig.post(&rig.body(&rig.student, 1, Role::Student, 1, t))
            .await
            .0,
        200
    );
    // Even junk spends the address's budget.
    assert_eq!(rig.post_raw("junk").await.0, 400);
    rig.expect_refusal(
        rig.body(&rig.student, 1, Role::Student, 2, t).to_string(),
        429,
        "rate_limited_ip",
    )
    .await;
    rig.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn health_ready_metrics_and_unknown_route() {
    let rig = rig(|_| {}).await;
    assert_eq!(
        rig.get("/healthz").await,
        (200, r#"{"status":"ok"}"#.to_owned())
    );
    let (s, text) = rig.get("/readyz").await;
    assert_eq!(s, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["status"], "ready");
    assert_eq!(
        rig.post(&rig.body(&rig.student, 1, Role::Student, 1, now()))
            .await
            .0,
        200
    );
    let (s, text) = rig.admin_get("/metrics").await;
    assert_eq!(s, 200);
    assert!(
        text.contains("minuto_heartbeats_accepted_total 1"),
        "{text}"
    );
    assert!(text.contains("minuto_sessions_watched 2"), "{text}");
    assert!(text.contains("minuto_stops_submitted_total 0"), "{text}");
    assert!(
        text.contains("minuto_detection_latency_seconds_count 0"),
        "{text}"
    );
    let (s, text) = rig.get("/nope").await;
    assert_eq!(s, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["error"],
        "not_found"
    );
    rig.handle.shutdown().await.unwrap();
}

/// Polls `/readyz` until it answers `want`.
async fn wait_ready(rig: &Rig, want: u16) {
    for _ in 0..250 {
        if rig.get("/readyz").await.0 == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("/readyz never answered {want}");
}

#[tokio::test]
async fn a_session_not_read_yet_is_syncing_while_the_relayer_is_behind_the_chain() {
    let rig = rig(|_| {}).await;
    let t = now();
    rig.chain
        .down
        .store(true, std::sync::atomic::Ordering::Relaxed);
    wait_ready(&rig, 503).await;
    // Unknown, or opened but not known started: maybe only not read yet. 503 with
    // Retry-After, so a balancer passes the heartbeat to an instance that has read it.
    for (session, seq) in [(99, 1), (2, 1)] {
        let before = rig.rejected("syncing");
        let r = (rig.http)
            .post(format!("{}/v1/heartbeat", rig.base))
            .json(&rig.body(&rig.student, session, Role::Student, seq, t))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 503);
        assert_eq!(r.headers()["retry-after"], "1");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "syncing", "{v}");
        assert_eq!(rig.rejected("syncing"), before + 1);
    }
    // What it knows stands: an ended session is ended, a live one is served.
    rig.expect_refusal(
        rig.body(&rig.student, 3, Role::Student, 1, t).to_string(),
        409,
        "session_ended",
    )
    .await;
    let (s, v) = rig
        .post(&rig.body(&rig.student, 1, Role::Student, 1, t))
        .await;
    assert_eq!(s, 200, "{v}");
    // Caught up again: the same heartbeats get the lasting answers.
    rig.chain
        .down
        .store(false, std::sync::atomic::Ordering::Relaxed);
    wait_ready(&rig, 200).await;
    rig.expect_refusal(
        rig.body(&rig.student, 99, Role::Student, 2, t).to_string(),
        404,
        "unknown_session",
    )
    .await;
    rig.expect_refusal(
        rig.body(&rig.student, 2, Role::Student, 2, t).to_string(),
        409,
        "session_not_active",
    )
    .await;
    rig.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn readyz_turns_unavailable_when_the_chain_fails() {
    let rig = rig(|_| {}).await;
    assert_eq!(rig.get("/readyz").await.0, 200);
    rig.chain
        .down
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let mut status = 0;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (s, text) = rig.get("/readyz").await;
        status = s;
        if s == 503 {
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["status"], "syncing");
            assert_eq!(v["chain_ok"], false);
            break;
        }
    }
    assert_eq!(status, 503);
    // Liveness is separate from readiness.
    assert_eq!(rig.get("/healthz").await.0, 200);
    rig.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn readyz_turns_unavailable_when_removed_from_the_relayer_set() {
    let rig = rig(|_| {}).await;
    assert_eq!(rig.get("/readyz").await.0, 200);
    rig.chain
        .removed
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let mut seen = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (s, text) = rig.get("/readyz").await;
        if s == 503 {
            seen = Some(serde_json::from_str::<Value>(&text).unwrap());
            break;
        }
    }
    let v = seen.expect("still ready after removal from the relayer set");
    assert_eq!(v["status"], "not_a_relayer");
    assert_eq!(v["authorized"], false);
    assert!(!rig.handle.registry.authorized());
    // Put back: ready again.
    rig.chain
        .removed
        .store(false, std::sync::atomic::Ordering::Relaxed);
    let mut status = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        status = rig.get("/readyz").await.0;
        if status == 200 {
            break;
        }
    }
    assert_eq!(status, 200);
    rig.handle.shutdown().await.unwrap();
}

/// `node` and the repository's `node_modules/viem`, or `None` (skipped loudly; a failure
/// under `CI`).
fn node_with_viem(test: &str) -> Option<std::path::PathBuf> {
    let root = minuto_anvil::repo_root();
    let node = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("node"))
            .find(|p| p.is_file())
    });
    match node {
        Some(node) if root.join("node_modules/viem/package.json").is_file() => Some(node),
        _ if std::env::var_os("CI").is_some() => {
            panic!("node or node_modules/viem missing (CI is set): run `npm ci` at the repository root")
        }
        _ => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: node or node_modules/viem missing; run `npm ci` at the repository root"
            );
            None
        }
    }
}

#[tokio::test]
async fn heartbeat_signed_by_the_viem_example_is_accepted() {
    let Some(node) = node_with_viem("heartbeat_signed_by_the_viem_example_is_accepted") else {
        return;
    };
    let rig = rig(|_| {}).await;
    let script = minuto_anvil::repo_root().join("relayer/examples/heartbeat.mjs");
    let out = tokio::process::Command::new(&node)
        .arg(&script)
        .args(["--relayer", &rig.base, "--chain-id", &CHAIN_ID.to_string()])
        .args(["--escrow", &escrow().to_string(), "--session", "1"])
        .args(["--role", "student", "--seq", "7"])
        .arg("--key")
        .arg(format!("0x{}", "51".repeat(32)))
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reply: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(reply["status"], 200, "{reply}");
    assert_eq!(reply["seq"], 7);
    assert_eq!(reply["role"], "student");
    assert_eq!(rig.handle.metrics.heartbeats_accepted.get(), 1);
    // The same signed fields with the wrong key are refused, and the script says so.
    let out = tokio::process::Command::new(&node)
        .arg(&script)
        .args(["--relayer", &rig.base, "--chain-id", &CHAIN_ID.to_string()])
        .args(["--escrow", &escrow().to_string(), "--session", "1"])
        .args(["--role", "tutor", "--seq", "8"])
        .arg("--key")
        .arg(format!("0x{}", "51".repeat(32)))
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let reply: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(reply["error"], "wrong_key", "{reply}");
    rig.handle.shutdown().await.unwrap();
}
