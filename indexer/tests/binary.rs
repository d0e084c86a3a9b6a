//! The `minuto-indexer` binary as an operator runs it: with the command line of
//! `deploy/systemd/minuto-indexer.service` (checked by `systemd-analyze verify`), its
//! TOML file as the unit's credential, and flags; ready once it has read the chain,
//! stopped by SIGTERM with exit code 0; a configuration that cannot work stops it with
//! exit code 2 and a message naming the setting.

use std::process::Stdio;
use std::time::Duration;

use minuto_anvil::Anvil;
use serde_json::Value;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_minuto-indexer");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn the_binary_serves_until_sigterm_and_exits_cleanly() {
    let Some(anvil_bin) =
        minuto_anvil::or_skip("the_binary_serves_until_sigterm_and_exits_cleanly")
    else {
        return;
    };
    let anvil = Anvil::start(&anvil_bin, 31_337, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("31337.json");
    std::fs::write(
        &record,
        r#"{"chainId": 31337, "contracts": {"escrow": {"address": "0xe5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5", "block": 0}}}"#,
    )
    .unwrap();
    let port = free_port();
    // As the systemd unit runs it: the config file is a credential in `%d`.
    let unit = minuto_anvil::systemd::Unit::load("minuto-indexer");
    unit.verify(std::path::Path::new(BIN));
    assert_eq!(unit.program(), "/usr/local/bin/minuto-indexer");
    let credentials = dir.path().join("credentials");
    std::fs::create_dir_all(&credentials).unwrap();
    let names: Vec<String> = unit.credentials().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["indexer.toml"]);
    let config = credentials.join("indexer.toml");
    std::fs::write(
        &config,
        format!(
            "deployment = {:?}\nrpc_url = \"{}\"\nlisten = \"127.0.0.1:{port}\"\n\
             poll_interval = \"100ms\"\nconfirmations = 0\n",
            record.display().to_string(),
            anvil.url
        ),
    )
    .unwrap();
    let db = dir.path().join("index.sqlite");
    let mut child = Command::new(BIN)
        .args(unit.args(&credentials))
        .envs(unit.environment(&credentials))
        .arg("--database-url")
        .arg(&db)
        .args([
            "--allowed-origins",
            "https://app.minuto.example,http://localhost:5173",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    minuto_chain::install_tls();
    let http = reqwest::Client::new();
    let mut ready = None;
    for _ in 0..100 {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            if r.status() == 200 {
                ready = Some(r.json::<Value>().await.unwrap());
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready = ready.expect("the indexer never became ready");
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["undecodable"], 0);
    assert!(db.is_file(), "the SQLite file was not created");
    let stats: Value = http
        .get(format!("http://127.0.0.1:{port}/v1/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["sessionsOpened"], 0);
    // Browsers: an allowed origin is named back, another gets no CORS header.
    for (origin, allowed) in [
        (
            "https://app.minuto.example",
            Some("https://app.minuto.example"),
        ),
        ("https://evil.example", None),
    ] {
        let r = http
            .get(format!("http://127.0.0.1:{port}/v1/stats"))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        let got = r.headers().get("access-control-allow-origin");
        assert_eq!(got.map(|v| v.to_str().unwrap()), allowed, "{origin}");
    }

    let pid = child.id().unwrap().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("the indexer did not stop within 15 s of SIGTERM")
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

/// `/readyz` of the indexer on `port`, once it answers at all (within 10 s).
async fn readyz(http: &reqwest::Client, port: u16) -> Value {
    for _ in 0..100 {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            return r.json().await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the indexer on port {port} never answered");
}

/// Polls the indexer on `port` until `/readyz` satisfies `f` (at most `within`).
async fn until_ready(
    http: &reqwest::Client,
    port: u16,
    within: Duration,
    what: &str,
    f: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let r = readyz(http, port).await;
        if f(&r) {
            return r;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {r}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Two indexer processes on one database: the first holds the writer lease, the second
/// only serves; the first is killed (SIGKILL: it cannot give the lease up), and once its
/// lease lapses the second takes it and ingests the blocks mined since.
#[tokio::test]
async fn a_killed_writer_is_replaced_once_its_lease_lapses() {
    let test = "a_killed_writer_is_replaced_once_its_lease_lapses";
    let Some(anvil_bin) = minuto_anvil::or_skip(test) else {
        return;
    };
    let anvil = Anvil::start(&anvil_bin, 31_337, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("31337.json");
    std::fs::write(
        &record,
        r#"{"chainId": 31337, "contracts": {"escrow": {"address": "0xe5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5", "block": 0}}}"#,
    )
    .unwrap();
    let db = dir.path().join("index.sqlite");
    let start_with = |port: u16, rpc: &str| {
        Command::new(BIN)
            .arg("--deployment")
            .arg(&record)
            .args(["--rpc-url", rpc])
            .arg("--database-url")
            .arg(&db)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--poll-interval", "100ms", "--writer-lease", "3s"])
            .args(["--confirmations", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    };
    let start = |port: u16| start_with(port, anvil.url.as_str());
    minuto_chain::install_tls();
    let http = reqwest::Client::new();
    let mine = |n: u64| {
        let http = http.clone();
        let url = anvil.url.clone();
        async move {
            let r: Value = http
                .post(url)
                .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "anvil_mine", "params": [n]}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert!(r.get("error").is_none(), "{r}");
        }
    };
    mine(3).await;
    let (pa, pb) = (free_port(), free_port());
    let mut a = start(pa);
    let r = until_ready(&http, pa, Duration::from_secs(10), "the first", |r| {
        r["writer"] == true && r["storedThrough"] == 3
    })
    .await;
    assert_eq!(r["ready"], true);
    let mut b = start(pb);
    let r = until_ready(&http, pb, Duration::from_secs(10), "the second", |r| {
        r["ready"] == true
    })
    .await;
    assert_eq!(
        (&r["writer"], &r["storedThrough"]),
        (&Value::from(false), &Value::from(3))
    );
    // Still not the writer after a few of its ticks.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(readyz(&http, pb).await["writer"], false);

    a.kill().await.unwrap();
    mine(2).await;
    let r = until_ready(&http, pb, Duration::from_secs(10), "the takeover", |r| {
        r["writer"] == true && r["storedThrough"] == 5
    })
    .await;
    assert_eq!(r["ready"], true);

    // Killed too, and restarted under its name with its node unreachable: it takes its
    // lease back, and is not ready (what the killed one published says nothing of this
    // one's node).
    b.kill().await.unwrap();
    let _b = start_with(pb, "http://127.0.0.1:1");
    let r = until_ready(&http, pb, Duration::from_secs(10), "the restart", |r| {
        r["writer"] == true
    })
    .await;
    assert_eq!(
        (&r["ready"], &r["storedThrough"]),
        (&Value::from(false), &Value::from(5))
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(readyz(&http, pb).await["ready"], false);
}

#[tokio::test]
async fn a_configuration_that_cannot_work_exits_with_2_naming_the_setting() {
    let out = Command::new(BIN)
        .args(["--deployment", "/nonexistent.json"])
        .env_remove("MINUTO_INDEXER_RPC_URL")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "minuto-indexer: rpc_url is required (flag --rpc-url, variable MINUTO_INDEXER_RPC_URL, \
         or `rpc_url` in the config file)"
    );
    let out = Command::new(BIN)
        .args(["--deployment", "x.json", "--rpc-url", "http://127.0.0.1:1"])
        .args(["--chunk-blocks", "0"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "minuto-indexer: chunk_blocks must be between 1 and 100000"
    );
    let out = Command::new(BIN)
        .args(["--deployment", "x.json", "--rpc-url", "http://127.0.0.1:1"])
        .args(["--allowed-origins", "https://app.minuto.example/path"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "minuto-indexer: allowed_origins: \"https://app.minuto.example/path\" is not an origin \
         (scheme://host[:port], e.g. https://app.minuto.example)"
    );
}
