//! Two real `minuto-relayer` processes behind a round-robin balancer, sharing a real
//! `redis-server`, against anvil running the escrow double: configured as an operator
//! would (a TOML file; one key from the environment, the other from an encrypted
//! keystore whose password is in a file), heartbeats signed with EIP-712 by each party's
//! session key and posted over HTTP. Over a run of about a minute: no false stop through
//! a Redis restart and a Redis outage longer than the silence timeout (what the admin
//! `/metrics` reports for it is checked), and after one process is SIGKILLed the other
//! stops a silent session at the last heartbeat only the dead one heard. Then the same
//! two behind a real nginx running `deploy/nginx/minuto.conf`: heartbeats spread, a
//! preflight, a flood with forged forwarding headers limited on the flooder's own
//! address, and a replica killed without the apps noticing.
//!
//! Without anvil, redis-server or nginx the tests fail under `CI` and are skipped loudly
//! otherwise.

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use k256::ecdsa::SigningKey;
use minuto_anvil::systemd::Unit;
use minuto_relayer::heartbeat::Role;
use serde_json::Value;
use support::chain::*;
use tokio::process::{Child, Command};

/// Silence timeout of both processes (grace 4 s, pings every second).
const SILENCE: Duration = Duration::from_secs(3);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One relayer process.
struct Process {
    name: &'static str,
    child: Child,
    api: SocketAddr,
    admin: SocketAddr,
    log: std::path::PathBuf,
}

impl Process {
    /// Starts the binary with `config.toml` written to `dir` and `env` set (every other
    /// `MINUTO_RELAYER_*` variable of the test's environment removed), and waits until
    /// `/readyz` answers 200.
    async fn start(name: &'static str, dir: &Path, toml: &str, env: &[(&str, &str)]) -> Process {
        let api = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let p = Process::launch(name, dir, toml, env, api, None).await;
        p.wait_ready(200).await;
        p
    }

    /// Starts the binary as `deploy/systemd/minuto-relayer.service` does: its
    /// `ExecStart=` arguments and `Environment=`, `%d` being `credentials`, which holds
    /// the unit's credentials (the config file is written there as `relayer.toml`);
    /// waits until `/readyz` answers 200.
    async fn start_as_unit(
        name: &'static str,
        dir: &Path,
        toml: &str,
        unit: &Unit,
        credentials: &Path,
    ) -> Process {
        let api = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let p = Process::launch(name, dir, toml, &[], api, Some((unit, credentials))).await;
        p.wait_ready(200).await;
        p
    }

    /// Starts the binary with its public API on `api` (with `--config`, or as `unit`
    /// says), and waits until `/healthz` answers.
    async fn launch(
        name: &'static str,
        dir: &Path,
        toml: &str,
        env: &[(&str, &str)],
        api: SocketAddr,
        unit: Option<(&Unit, &Path)>,
    ) -> Process {
        let admin = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let config = match unit {
            Some((_, credentials)) => credentials.join("relayer.toml"),
            None => dir.join(format!("{name}.toml")),
        };
        let cursor = dir.join(format!("{name}.cursor.json"));
        std::fs::write(
            &config,
            format!(
                "listen = \"{api}\"\nadmin_listen = \"{admin}\"\ncursor_file = \"{}\"\n{toml}",
                cursor.display()
            ),
        )
        .unwrap();
        let log = dir.join(format!("{name}.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_minuto-relayer"));
        for (k, _) in std::env::vars() {
            if k.starts_with("MINUTO_RELAYER_") {
                cmd.env_remove(k);
            }
        }
        match unit {
            Some((unit, credentials)) => cmd
                .args(unit.args(credentials))
                .envs(unit.environment(credentials)),
            None => cmd.arg("--config").arg(&config),
        };
        cmd.envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let child = cmd.spawn().expect("start minuto-relayer");
        let p = Process {
            name,
            child,
            api,
            admin,
            log,
        };
        p.wait_for("/healthz", 200).await;
        p
    }

    /// Waits until `/readyz` answers `status`.
    async fn wait_ready(&self, status: u16) {
        self.wait_for("/readyz", status).await;
    }

    async fn wait_for(&self, path: &str, status: u16) {
        let (http, started) = (reqwest::Client::new(), Instant::now());
        loop {
            if let Ok(r) = http.get(format!("http://{}{path}", self.api)).send().await {
                if r.status() == status {
                    return;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{}: {path} did not answer {status} within 30 s; log: {}",
                self.name,
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `/metrics` of the admin listener, as name (with labels) → value.
    async fn metrics(&self) -> HashMap<String, f64> {
        let text = reqwest::get(format!("http://{}/metrics", self.admin))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (name, value) = l.rsplit_once(' ')?;
                Some((name.to_owned(), value.parse().ok()?))
            })
            .collect()
    }

    /// What the admin endpoint says this process last heard from `role` of session
    /// `id` (Unix seconds).
    async fn last_seen(&self, id: u64, role: &str) -> Option<u64> {
        let status: Value = reqwest::get(format!("http://{}/v1/sessions/{id}", self.admin))
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        status["last_seen"][role]["at"].as_u64()
    }

    /// SIGTERM, then the exit status within `bound`.
    async fn terminate(mut self, bound: Duration) -> std::process::ExitStatus {
        let pid = self.child.id().expect("running").to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
        tokio::time::timeout(bound, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not exit within {bound:?}", self.name))
            .unwrap()
    }
}

/// The part of every instance's config file that they share (one Redis), with `tables`
/// (TOML tables other than `[tx]`) added.
fn shared_config(
    rpc: &str,
    escrow: alloy_primitives::Address,
    redis: &minuto_anvil::redis::Redis,
    tables: &str,
) -> String {
    format!(
        r#"rpc_url = "{rpc}"
escrow = "{escrow}"
chain_id = {CHAIN_ID}
redis_url = "{redis}"
ping_interval = "1s"
silence_timeout = "{silence}s"
grace_period = "4s"
confirmations = 0
poll_interval = "200ms"
log_format = "text"

{tables}
[tx]
receipt_poll_interval = "200ms"
"#,
        redis = redis.url(),
        silence = SILENCE.as_secs(),
    )
}

fn metric(m: &HashMap<String, f64>, name: &str) -> f64 {
    *m.get(name)
        .unwrap_or_else(|| panic!("{name} missing from /metrics"))
}

/// The parties' apps behind a round-robin balancer.
struct Apps {
    client: Client,
    /// Per session: (id, student key, tutor key).
    sessions: Vec<(u64, SigningKey, SigningKey)>,
    seq: u64,
    /// Requests sent so far: request k goes to relayer k mod 2.
    sent: usize,
    /// Requests that found their relayer gone and were sent to the other one.
    failed_over: usize,
    /// The last accepted heartbeat's `sent_at` per (session, role).
    last_ok: HashMap<(u64, &'static str), u64>,
    /// (session, role) whose app has gone silent.
    silent: Vec<(u64, Role)>,
}

impl Apps {
    /// One second of every lesson: each party of each session not silent sends a
    /// heartbeat; every one must be accepted (a false stop shows as `session_ended`).
    /// With two parties per session the balancer's order sends every student's
    /// heartbeats to relayer 0 and every tutor's to relayer 1: alone, each relayer would
    /// judge the other party of every session silent.
    async fn round(&mut self, relayers: [SocketAddr; 2], dead: Option<usize>) {
        self.seq += 1;
        for (id, student, tutor) in &self.sessions {
            for (role, key) in [(Role::Student, student), (Role::Tutor, tutor)] {
                if self.silent.contains(&(*id, role)) {
                    continue;
                }
                let mut to = self.sent % 2;
                self.sent += 1;
                if dead == Some(to) {
                    // The balancer's health check took the dead one out.
                    to = 1 - to;
                    self.failed_over += 1;
                }
                let sent_at = minuto_relayer::clock::Clock::system().now_unix();
                let (s, v) = self
                    .client
                    .ping_session(relayers[to], *id, key, role, self.seq)
                    .await
                    .unwrap_or_else(|e| panic!("relayer {to} unreachable: {e}"));
                assert_eq!(
                    s,
                    200,
                    "session {id} {} via relayer {to}: {v}",
                    role.as_str()
                );
                self.last_ok.insert((*id, role.as_str()), sent_at);
            }
        }
    }

    /// Rounds, one a second, for `secs` seconds.
    async fn run(&mut self, relayers: [SocketAddr; 2], dead: Option<usize>, secs: u64) {
        let until = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < until {
            self.round(relayers, dead).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relayer_processes_sharing_redis_never_false_stop_and_the_survivor_stops_at_the_last_heartbeat(
) {
    let test = "two_relayer_processes_sharing_redis_never_false_stop_and_the_survivor_stops_at_the_last_heartbeat";
    let Some(bin) = anvil_or_skip(test) else {
        return;
    };
    let Some(redis_bin) = support::redis::or_skip(test) else {
        return;
    };
    let began = Instant::now();
    let mut redis = support::redis::Redis::start(&redis_bin).await;
    let node = start_anvil(&bin).await;
    let d = deploy(&node).await;
    let mut sessions = vec![(1, d.student_key.clone(), d.tutor_key.clone())];
    for _ in 0..3 {
        sessions.push(open_session(&node, d.escrow).await);
    }
    assert_eq!(
        sessions.iter().map(|s| s.0).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let dir = temp_dir("processes");

    // What an operator writes: one file per instance, the same Redis for both.
    let shared = shared_config(node.url.as_str(), d.escrow, &redis, "");
    // Instance 0: key from the environment. Instance 1 as the systemd unit runs it: its
    // config file, an encrypted keystore and its password, all credentials (the files
    // systemd copies into the service's credentials directory, `%d`).
    let unit = Unit::load("minuto-relayer");
    unit.verify(Path::new(env!("CARGO_BIN_EXE_minuto-relayer")));
    let credentials = dir.join("credentials-1");
    std::fs::create_dir_all(&credentials).unwrap();
    let names: Vec<String> = unit.credentials().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["relayer.toml", "keystore", "keystore-password"]);
    let second_key = alloy_primitives::hex::decode(SECOND_RELAYER_KEY).unwrap();
    eth_keystore::encrypt_key(
        &credentials,
        &mut rand::thread_rng(),
        &second_key,
        "correct horse",
        Some("keystore"),
    )
    .unwrap();
    std::fs::write(credentials.join("keystore-password"), "correct horse").unwrap();
    let zero = Process::start(
        "relayer-0",
        &dir,
        &shared,
        &[("MINUTO_RELAYER_PRIVATE_KEY", RELAYER_KEY)],
    )
    .await;
    let one = Process::start_as_unit("relayer-1", &dir, &shared, &unit, &credentials).await;
    let relayers = [zero.api, one.api];
    let mut apps = Apps {
        client: Client::new(d.escrow),
        sessions,
        seq: 0,
        sent: 0,
        failed_over: 0,
        last_ok: HashMap::new(),
        silent: Vec::new(),
    };
    let started = Instant::now();

    // Lessons run well past the grace period.
    apps.run(relayers, None, 20).await;
    for p in [&zero, &one] {
        let m = p.metrics().await;
        assert_eq!(metric(&m, "minuto_sessions_watched"), 4.0, "{}", p.name);
        assert_eq!(metric(&m, "minuto_liveness_store_up"), 1.0, "{}", p.name);
        // Each judged the party it never hears silent, and the store said otherwise.
        assert!(
            metric(&m, "minuto_stops_averted_by_store_total") > 0.0,
            "{}",
            p.name
        );
    }

    // Redis dies and comes back empty (no persistence) at once. Each instance notices
    // (a request fails) and, for one silence timeout after, defers the stops it judges
    // due instead of trusting the emptied store.
    let deferred = |m: &HashMap<String, f64>| metric(m, "minuto_stops_deferred_total");
    let before_restart = [
        deferred(&zero.metrics().await),
        deferred(&one.metrics().await),
    ];
    assert_eq!(before_restart, [0.0, 0.0]);
    redis.restart().await;
    apps.run(relayers, None, 8).await;

    // Redis is down for longer than the silence timeout: heartbeats are still accepted,
    // each instance hears only one party of every session, and nobody is stopped.
    let deferred_before = [
        deferred(&zero.metrics().await),
        deferred(&one.metrics().await),
    ];
    for (p, n) in [&zero, &one].into_iter().zip(deferred_before) {
        assert!(
            n >= 1.0,
            "{}: no stop deferred after the Redis restart",
            p.name
        );
    }
    redis.stop().await;
    let outage = SILENCE * 2 + Duration::from_secs(2);
    apps.run(relayers, None, outage.as_secs()).await;
    for p in [&zero, &one] {
        let m = p.metrics().await;
        assert_eq!(metric(&m, "minuto_liveness_store_up"), 0.0, "{}", p.name);
        assert_eq!(
            metric(&m, "minuto_stops_submitted_total"),
            0.0,
            "{}",
            p.name
        );
    }
    redis.resume().await;
    apps.run(relayers, None, 8).await;
    let mut outage_deferred = Vec::new();
    for (p, before) in [&zero, &one].into_iter().zip(deferred_before) {
        let m = p.metrics().await;
        assert_eq!(metric(&m, "minuto_liveness_store_up"), 1.0, "{}", p.name);
        // The stops each judged due during the outage (and for one silence timeout
        // after it) were put off, not sent.
        let deferred = metric(&m, "minuto_stops_deferred_total") - before;
        outage_deferred.push(deferred);
        assert!(
            deferred >= 4.0,
            "{}: {deferred} stops deferred across the outage",
            p.name
        );
        assert_eq!(
            metric(&m, "minuto_stops_submitted_total"),
            0.0,
            "{}",
            p.name
        );
        assert_eq!(
            metric(&m, "minuto_heartbeats_accepted_total"),
            // One party of each of 4 sessions per round, every round.
            (apps.seq * 4) as f64,
            "{}",
            p.name
        );
    }

    // Session 4's tutor drops. Their heartbeats all reached relayer 1, which is then
    // killed outright (SIGKILL: no shutdown, no last flush); relayer 0 never heard that
    // tutor itself and must stop the session at that last heartbeat from what relayer 1
    // had written to Redis.
    apps.silent.push((4, Role::Tutor));
    let tutor_last_sent = apps.last_ok[&(4, "tutor")];
    let tutor_last = one.last_seen(4, "tutor").await.unwrap();
    assert!(
        (tutor_last_sent..=tutor_last_sent + 1).contains(&tutor_last),
        "relayer 1 heard the tutor at {tutor_last}, signed at {tutor_last_sent}"
    );
    apps.run(relayers, None, 1).await;
    let m = one.metrics().await;
    assert_eq!(metric(&m, "minuto_stops_submitted_total"), 0.0);
    let mut one = one;
    one.child.start_kill().unwrap();
    let status = one.child.wait().await.unwrap();
    assert!(!status.success(), "relayer 1 was killed: {status}");
    let killed_at = Instant::now();

    // The session's student goes on pinging (now through relayer 0 alone) until the
    // relayer answers that it ended; every other party too.
    let mut ended = false;
    while !ended {
        assert!(
            killed_at.elapsed() < Duration::from_secs(20),
            "session 4 not stopped 20 s after the kill; log of relayer 0: {}",
            zero.log_text()
        );
        // The session's remaining party may learn it ended from the refusal.
        apps.silent.push((4, Role::Student));
        apps.round(relayers, Some(1)).await;
        apps.silent.pop();
        let (s, v) = apps
            .client
            .ping_session(zero.api, 4, &apps.sessions[3].1, Role::Student, apps.seq)
            .await
            .unwrap();
        match s {
            200 => {}
            409 => {
                assert_eq!(v["error"], "session_ended", "{v}");
                ended = true;
            }
            _ => panic!("session 4's student: {s} {v}"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let on_chain = ended_on_chain(&node, d.escrow, 4).await;
    assert_eq!(
        on_chain.end, tutor_last,
        "stopped at {}, relayer 1 last heard the tutor at {tutor_last}",
        on_chain.end
    );
    // The others go on for a few more seconds, through relayer 0 only.
    apps.silent.push((4, Role::Student));
    apps.run(relayers, Some(1), 5).await;
    for id in 1..=3 {
        let s = session(&node, d.escrow, id).await;
        assert_eq!((s.state, s.end), (2, 0), "session {id} stopped falsely");
    }
    assert!(apps.failed_over > 0);
    // Exactly one stop, sent by relayer 0 and mined; nothing failed.
    let mut m = zero.metrics().await;
    for _ in 0..50 {
        if metric(&m, "minuto_stops_confirmed_total") > 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        m = zero.metrics().await;
    }
    assert_eq!(metric(&m, "minuto_stops_submitted_total"), 1.0);
    assert_eq!(metric(&m, "minuto_stops_confirmed_total"), 1.0);
    assert_eq!(metric(&m, "minuto_stops_failed_total"), 0.0);
    assert_eq!(metric(&m, "minuto_sessions_watched"), 3.0);
    let lesson = started.elapsed();

    // An operator's SIGTERM: a clean exit.
    let status = zero.terminate(Duration::from_secs(15)).await;
    assert!(status.success(), "relayer 0 exited with {status}");
    eprintln!(
        "{test}: {:.0} s of lessons ({:.0} s in all), {} heartbeat rounds, stops deferred \
         per instance after the Redis restart {deferred_before:?} and across the outage \
         {outage_deferred:?}, {} requests failed over after the kill",
        lesson.as_secs_f64(),
        began.elapsed().as_secs_f64(),
        apps.seq,
        apps.failed_over
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A JSON-RPC proxy in front of anvil that holds back every `eth_getLogs` until
/// [`GatedRpc::open`]: a relayer behind it cannot read the chain's events.
struct GatedRpc {
    url: String,
    open: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl GatedRpc {
    async fn start(upstream: &str) -> GatedRpc {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let (open, gate) = tokio::sync::watch::channel(false);
        let (client, upstream) = (reqwest::Client::new(), upstream.to_owned());
        let forward = move |body: String| {
            let (client, upstream, mut gate) = (client.clone(), upstream.clone(), gate.clone());
            async move {
                if body.contains("eth_getLogs") {
                    let _ = gate.wait_for(|open| *open).await;
                }
                let answer = (client.post(&upstream))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let json = [("content-type", "application/json")];
                (json, answer.text().await.unwrap())
            }
        };
        let app = axum::Router::new().route("/", axum::routing::post(forward));
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        GatedRpc { url, open, task }
    }

    /// Lets `eth_getLogs` through from now on.
    fn open(&self) {
        self.open.send_replace(true);
    }
}

impl Drop for GatedRpc {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The relayer's host name in `deploy/nginx/minuto.conf`.
const RELAYER_HOST: &str = "relayer.minuto.example";

/// An app (or an attacker) on loopback address `ip`, reaching nginx by the relayer's
/// host name.
fn behind_nginx(escrow: alloy_primitives::Address, ip: [u8; 4]) -> Client {
    let mut host = reqwest::header::HeaderMap::new();
    host.insert(reqwest::header::HOST, RELAYER_HOST.parse().unwrap());
    Client {
        http: reqwest::Client::builder()
            .local_address(std::net::IpAddr::from(ip))
            .default_headers(host)
            .build()
            .unwrap(),
        ..Client::new(escrow)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relayers_behind_nginx_key_floods_on_the_real_client_and_fail_over_without_a_false_stop(
) {
    let test = "two_relayers_behind_nginx_key_floods_on_the_real_client_and_fail_over_without_a_false_stop";
    let Some(bin) = anvil_or_skip(test) else {
        return;
    };
    let Some(redis_bin) = support::redis::or_skip(test) else {
        return;
    };
    let Some(nginx_bin) = minuto_anvil::nginx::or_skip(test) else {
        return;
    };
    let redis = support::redis::Redis::start(&redis_bin).await;
    let node = start_anvil(&bin).await;
    let d = deploy(&node).await;
    let sessions = vec![
        (1, d.student_key.clone(), d.tutor_key.clone()),
        open_session(&node, d.escrow).await,
    ];
    let dir = temp_dir("nginx");
    // nginx reaches the replicas from 127.0.0.1; the apps are at 127.0.0.3, an attacker
    // at 127.0.0.2. The apps' four heartbeats a second pass the limit easily, even all
    // on one replica.
    let (rate, burst) = (6.0, 12.0);
    let tables = format!(
        "[api]\nip_rate_per_second = {rate:.1}\nip_burst = {burst:.1}\n\n\
         [http]\ntrusted_proxies = [\"127.0.0.1/32\"]\n"
    );
    let shared = shared_config(node.url.as_str(), d.escrow, &redis, &tables);
    let zero = Process::start(
        "relayer-0",
        &dir,
        &shared,
        &[("MINUTO_RELAYER_PRIVATE_KEY", RELAYER_KEY)],
    )
    .await;
    let one = Process::start(
        "relayer-1",
        &dir,
        &shared,
        &[("MINUTO_RELAYER_PRIVATE_KEY", SECOND_RELAYER_KEY)],
    )
    .await;
    let nginx = minuto_anvil::nginx::Nginx::start(
        &nginx_bin,
        &[
            ("127.0.0.1:8080", zero.api.to_string()),
            ("127.0.0.1:8081", one.api.to_string()),
        ],
    )
    .await;
    // Every request goes to nginx: "relayer k" below is only the balancer's input.
    let through = [nginx.addr; 2];
    let mut apps = Apps {
        client: behind_nginx(d.escrow, [127, 0, 0, 3]),
        sessions,
        seq: 0,
        sent: 0,
        failed_over: 0,
        last_ok: HashMap::new(),
        silent: Vec::new(),
    };

    // Lessons run past the grace period through nginx; both replicas hear heartbeats.
    apps.run(through, None, 8).await;
    let accepted = |m: &HashMap<String, f64>| metric(m, "minuto_heartbeats_accepted_total");
    let spread = [
        accepted(&zero.metrics().await),
        accepted(&one.metrics().await),
    ];
    assert_eq!(spread[0] + spread[1], (apps.seq * 4) as f64, "{spread:?}");
    assert!(
        spread.iter().all(|&n| n > 0.0),
        "nginx sent all to one: {spread:?}"
    );

    // A browser dApp's preflight passes through nginx and is answered by the relayer.
    let preflight = apps
        .client
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("http://{}/v1/heartbeat", nginx.addr),
        )
        .header("origin", "https://app.minuto.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "*",
        "{:?}",
        preflight.headers()
    );

    // Only heartbeats are public: readiness and health are for the operator's checks on
    // each replica, and a host nginx does not serve gets no answer at all.
    let readyz = apps
        .client
        .http
        .get(format!("http://{}/readyz", nginx.addr));
    assert_eq!(readyz.send().await.unwrap().status(), 404);
    let unknown_host = reqwest::Client::new()
        .post(format!("http://{}/v1/heartbeat", nginx.addr))
        .send()
        .await;
    assert!(unknown_host.is_err(), "{unknown_host:?}");

    // An attacker floods, claiming in both headers to be the apps' address so as to
    // spend their allowance. nginx appends the attacker's real address to
    // X-Forwarded-For and drops its `Forwarded`; the relayers key on 127.0.0.2.
    let attacker = behind_nginx(d.escrow, [127, 0, 0, 2]);
    let (mut limited, mut malformed) = (0, 0);
    let flood = Instant::now();
    for _ in 0..60 {
        let r = attacker
            .http
            .post(format!("http://{}/v1/heartbeat", nginx.addr))
            .header("x-forwarded-for", "127.0.0.3")
            .header("forwarded", "for=127.0.0.3")
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        match (status, v["error"].as_str()) {
            (429, Some("rate_limited_ip")) => limited += 1,
            (400, Some("malformed")) => malformed += 1,
            other => panic!("flood request answered {other:?}: {v}"),
        }
    }
    // What passed the limiter (and was then found malformed) is at most two replicas'
    // bursts and what they refilled while the flood lasted.
    let passable = 2.0 * (burst + rate * flood.elapsed().as_secs_f64());
    assert!(
        limited > 0 && f64::from(malformed) <= passable,
        "{limited} of 60 limited, {malformed} malformed (at most {passable:.1} could pass)"
    );
    let rejected = |m: &HashMap<String, f64>| {
        m.get(r#"minuto_heartbeats_rejected_total{reason="rate_limited_ip"}"#)
            .copied()
            .unwrap_or(0.0)
    };
    let counted = rejected(&zero.metrics().await) + rejected(&one.metrics().await);
    assert_eq!(counted, f64::from(limited));
    // The apps' own allowance is untouched: every heartbeat of theirs is accepted.
    apps.run(through, None, 2).await;

    // Replica 1 dies (SIGKILL). nginx finds it refusing connections and sends every
    // request to replica 0: the apps see nothing but 200s and nobody is stopped.
    let mut one = one;
    one.child.start_kill().unwrap();
    let status = one.child.wait().await.unwrap();
    assert!(!status.success(), "relayer 1 was killed: {status}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    apps.run(through, None, SILENCE.as_secs() + 2).await;
    assert!(
        nginx.error_log().contains("Connection refused"),
        "nginx never met the dead replica: {}",
        nginx.error_log()
    );
    for id in [1, 2] {
        let s = session(&node, d.escrow, id).await;
        assert_eq!((s.state, s.end), (2, 0), "session {id} stopped falsely");
    }

    // Session 1's student drops: the survivor stops it at that last heartbeat, naming
    // the student; its tutor learns it ended through nginx.
    apps.silent.push((1, Role::Student));
    let student_last = zero.last_seen(1, "student").await.unwrap();
    let dropped = Instant::now();
    let mut ended = false;
    while !ended {
        assert!(
            dropped.elapsed() < Duration::from_secs(20),
            "session 1 not stopped 20 s after its student dropped; log: {}",
            zero.log_text()
        );
        apps.silent.push((1, Role::Tutor));
        apps.round(through, None).await;
        apps.silent.pop();
        let (s, v) = apps
            .client
            .ping_session(nginx.addr, 1, &apps.sessions[0].2, Role::Tutor, apps.seq)
            .await
            .unwrap();
        match (s, v["error"].as_str()) {
            (200, _) => {}
            (409, Some("session_ended")) => ended = true,
            _ => panic!("session 1's tutor: {s} {v}"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let on_chain = ended_on_chain(&node, d.escrow, 1).await;
    assert_eq!(on_chain.end, student_last);
    assert_eq!(
        stopped_for(&node, d.escrow, 1).await,
        1,
        "the student named"
    );
    let s = session(&node, d.escrow, 2).await;
    assert_eq!((s.state, s.end), (2, 0), "session 2 stopped falsely");
    apps.silent.push((1, Role::Tutor));

    // A new replica takes the dead one's place, with no cursor and a node that answers
    // everything but the logs: it stays behind the chain, as one catching up after
    // joining does, and knows no session. nginx offers it heartbeats; it answers 503
    // `syncing` and nginx passes each to replica 0 (and leaves it out for a while): the
    // apps still see only 200s.
    let gate = GatedRpc::start(node.url.as_str()).await;
    let joining_config = shared_config(&gate.url, d.escrow, &redis, &tables);
    let joining = Process::launch(
        "relayer-2",
        &dir,
        &joining_config,
        &[("MINUTO_RELAYER_PRIVATE_KEY", SECOND_RELAYER_KEY)],
        one.api,
        None,
    )
    .await;
    joining.wait_ready(503).await;
    let logged = nginx.access_log().lines().count();
    apps.run(through, None, 7).await;
    let m = joining.metrics().await;
    let syncing = |m: &HashMap<String, f64>| {
        m.get(r#"minuto_heartbeats_rejected_total{reason="syncing"}"#)
            .copied()
            .unwrap_or(0.0)
    };
    // Every other heartbeat was offered to it: a replica's 503s never take it out of
    // rotation (nor could anyone's requests take both out at once).
    assert!(syncing(&m) >= 4.0, "offered {} heartbeats", syncing(&m));
    assert_eq!(metric(&m, "minuto_heartbeats_accepted_total"), 0.0);
    let passed_on = format!("{}, {} 200 \"POST /v1/heartbeat ", one.api, zero.api);
    let lines: Vec<String> = (nginx.access_log().lines())
        .skip(logged)
        .map(str::to_owned)
        .collect();
    assert!(lines.iter().any(|l| l.starts_with(&passed_on)), "{lines:?}");
    // The logs released, it catches up, and nginx gives it its share again.
    gate.open();
    joining.wait_ready(200).await;
    apps.run(through, None, 8).await;
    let m = joining.metrics().await;
    assert!(metric(&m, "minuto_heartbeats_accepted_total") > 0.0);
    let joined = joining.terminate(Duration::from_secs(15)).await;
    assert!(joined.success(), "relayer 2 exited with {joined}");
    let s = session(&node, d.escrow, 2).await;
    assert_eq!((s.state, s.end), (2, 0), "session 2 stopped falsely");

    let status = zero.terminate(Duration::from_secs(15)).await;
    assert!(status.success(), "relayer 0 exited with {status}");
    eprintln!(
        "{test}: heartbeats spread {spread:?} over the replicas, {limited} of 60 flood \
         requests limited, {} offered to the syncing replica and passed on, {} rounds",
        syncing(&m),
        apps.seq
    );
    drop(nginx);
    let _ = std::fs::remove_dir_all(dir);
}
